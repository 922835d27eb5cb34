"""Per-browser state on the server: each browser session (a cookie) owns at most one training run.

Tabs of one browser share its cookie, so its session and its run: each start gives the run a new
id (:attr:`BrowserSession.run_id`), which every answer about the run carries and a step may name,
so a tab learns when another replaced the run it started.

A session is created only by an explicit request (``POST /api/train/start``); any other request
without a valid cookie gets no session, so it can neither grow the store nor evict anyone. The
store keeps at most ``max_sessions`` sessions and forgets the least recently used one when a new
run starts. A session is found only by its own random token: nothing of one is reachable from
another. Each session runs one request at a time and queues at most :data:`MAX_QUEUED` more, so
one browser's queued steps cannot hold the server's worker threads.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

COOKIE_NAME = "chainrule_session"
DEFAULT_MAX_SESSIONS = 32
_TOKEN_BYTES = 24
#: Requests of one session that may wait while one of its requests runs (more: 429).
MAX_QUEUED = 4


@dataclass
class BrowserSession:
    """What the server keeps for one browser: its training run, guarded by its own lock."""

    token: str
    created: float = field(default_factory=time.monotonic)
    training: Any = None
    #: ``training``'s id, new at each start: every answer about the run carries it, and a step
    #: asked for another id is refused, so a page whose run a second tab of the same browser
    #: (the same cookie, so the same session) replaced learns so instead of stepping that one
    run_id: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0  # requests of this session admitted and not yet finished (guarded by _admit)
    _admit: threading.Lock = field(default_factory=threading.Lock)

    def start_training(self, run: Any) -> str:
        """Make ``run`` this session's training run (replacing any other); returns its new id."""
        self.training = run
        self.run_id = secrets.token_hex(6)
        return self.run_id

    def reset_training(self) -> bool:
        """Forget the training run; returns whether there was one."""
        had = self.training is not None
        self.training = self.run_id = None
        return had

    def admit(self) -> bool:
        """Count one more request of this session in, unless :data:`MAX_QUEUED` already wait
        behind the running one."""
        with self._admit:
            if self.waiting > MAX_QUEUED:
                return False
            self.waiting += 1
            return True

    def leave(self) -> None:
        """A request admitted by :meth:`admit` has finished."""
        with self._admit:
            self.waiting -= 1


class SessionStore:
    """Sessions by token, least recently used first; thread-safe (endpoints run in a threadpool)."""

    def __init__(self, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        if max_sessions < 1:
            raise ValueError(f"SessionStore: max_sessions must be at least 1, not {max_sessions}")
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, token: object) -> bool:
        return token in self._sessions

    def get(self, token: str | None) -> BrowserSession | None:
        """The session for ``token`` (marked as recently used), or None; never creates one."""
        with self._lock:
            if token is None or token not in self._sessions:
                return None
            self._sessions.move_to_end(token)
            return self._sessions[token]

    def get_or_create(self, token: str | None) -> tuple[BrowserSession, bool]:
        """The session for ``token``, or a new one (evicting the least recently used when full).

        Returns the session and whether it is new (the caller then sets the cookie)."""
        with self._lock:
            if token is not None and token in self._sessions:
                self._sessions.move_to_end(token)
                return self._sessions[token], False
            while len(self._sessions) >= self.max_sessions:
                self._sessions.popitem(last=False)
            session = BrowserSession(token=secrets.token_urlsafe(_TOKEN_BYTES))
            self._sessions[session.token] = session
            return session, True
