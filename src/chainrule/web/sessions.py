"""Per-browser state on the server: each browser session (a cookie) owns at most one training run.

Tabs of one browser share its cookie, so its session and its run: each start gives the run a new
id (:attr:`BrowserSession.run_id`), which every answer about the run carries and a step may name,
so a tab learns when another replaced the run it started.

A session is created only by an explicit request (``POST /api/train/start``); any other request
without a valid cookie gets no session, so it can neither grow the store nor evict anyone. The
store keeps at most ``max_sessions`` sessions (``chainrule serve --max-sessions``). When it is
full, a new session takes the place of the least recently used one only if that one has been
idle (no request) for ``idle_seconds`` (``--session-idle``); while every session was used more
recently, the new one is refused (:class:`SessionsFull`, a 503 saying when to try again) rather
than wiping a run in use: a class of browsers, or anyone sending starts without a cookie, cannot
push out the runs people are working on. A session is found only by its own random token:
nothing of one is reachable from another. Each session runs one request at a time and queues at
most :data:`MAX_QUEUED` more, so one browser's queued steps cannot hold the server's worker
threads.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The session cookie's name on a server at its scheme's own port (:func:`cookie_name`).
COOKIE_NAME = "chainrule_session"
#: A path prefix a cookie may be given (``X-Forwarded-Prefix: /chainrule``): segments of URL
#: path characters, none of them ``;`` or ``,`` (which would end the cookie's Path).
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+=:@%-]+)+")
#: Sessions kept at once by default: a class of 40 with a few browsers each, and room to spare. A
#: session holds at most about 1.6 MB (measured for the largest run the API allows: digits,
#: 64-128-128-29-10 with Adam's two moments, 5000 losses kept), so 128 stay near 210 MB; the
#: datasets' arrays are one read-only copy all sessions share (the digits' 1 MB in float64,
#: ``web.training.shared_dataset``).
DEFAULT_MAX_SESSIONS = 128
#: How long a session must have been idle before a new browser's session may take its place.
DEFAULT_IDLE_SECONDS = 15 * 60
_TOKEN_BYTES = 24
#: Requests of one session that may wait while one of its requests runs (more: 429).
MAX_QUEUED = 4
#: Tokens of forgotten sessions a store remembers (the oldest dropped first; about 60 bytes
#: each): a browser whose run was forgotten is told so, and one whose token the server never
#: gave out (it was restarted since) is told that instead (:meth:`SessionStore.forgot`).
FORGOTTEN_REMEMBERED = 4096
#: The ids of a session's runs it remembers having issued, its latest among them: a step naming
#: one of the others is for a run replaced since; one naming none of them, for no run it had.
RUN_IDS_REMEMBERED = 16


def cookie_name(server: tuple | None, scheme: str = "http") -> str:
    """The session cookie's name on a server listening at ``server`` (ASGI's ``(host, port)``)
    for a request made over ``scheme``: ``chainrule_session_8001``. A browser keeps cookies by
    host name, not by port, so two servers on one machine (two sections, on ports 8000 and 8001)
    shared one cookie: a Start on one replaced the session the other knew the browser by, and
    that run vanished. The listening port tells them apart behind a proxy as well (the Host
    header is then the proxy's). At the scheme's own port (80 for http, 443 for https), which
    an address leaves out, or with none (a Unix socket): :data:`COOKIE_NAME` alone."""
    port = server[1] if server and len(server) > 1 else None
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return COOKIE_NAME
    return f"{COOKIE_NAME}_{port}"


def cookie_path(forwarded_prefix: str | None, root_path: str = "") -> str:
    """The session cookie's Path: the page's own prefix, so that two servers behind one proxy
    under two prefixes (``/a/``, ``/b/``) keep a cookie each, and neither goes to the site's
    other pages. ``forwarded_prefix``: the proxy's ``X-Forwarded-Prefix`` (the part of the
    public address it strips), ignored unless it is a plain path (it only places the asking
    browser's own cookie, so it needs no trust); ``root_path``: the app's own, ASGI's (a
    server or mount that serves it below its root). ``/`` for a server at the root.

    One prefix, not both, where the server was told the proxy's: uvicorn ``--root-path
    /chainrule`` behind a proxy that strips ``/chainrule`` and says so (Traefik's StripPrefix)
    has both the same, and their join (``/chainrule/chainrule``) is a path the browser never
    sends the cookie to. A ``root_path`` that begins with the forwarded prefix is the public
    path already; one that does not (a mount at ``/mounted`` of an app behind a proxy that
    strips ``/site``) lies below it (``/site/mounted``)."""
    prefix = (forwarded_prefix or "").strip().rstrip("/")
    if not _PREFIX.fullmatch(prefix):
        prefix = ""
    root = root_path.rstrip("/")
    if root and not _PREFIX.fullmatch(root):  # pragma: no cover - the server's own setting
        root = ""
    if prefix and (root == prefix or root.startswith(f"{prefix}/")):
        return root
    return f"{prefix}{root}" or "/"


@dataclass
class BrowserSession:
    """What the server keeps for one browser: its training run, guarded by its own lock."""

    token: str
    created: float = field(default_factory=time.monotonic)
    #: when a request last found it (the store's clock): sessions idle longer may be forgotten
    used: float = field(default_factory=time.monotonic)
    training: Any = None
    #: ``training``'s id, new at each start: every answer about the run carries it, and a step
    #: asked for another id is refused, so a page whose run a second tab of the same browser
    #: (the same cookie, so the same session) replaced learns so instead of stepping that one
    run_id: str | None = None
    #: the last :data:`RUN_IDS_REMEMBERED` ids it issued (``run_id`` the latest), so a step for
    #: a replaced run is told from one for an id this session never issued
    issued: deque = field(default_factory=lambda: deque(maxlen=RUN_IDS_REMEMBERED))
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0  # requests of this session admitted and not yet finished (guarded by _admit)
    _admit: threading.Lock = field(default_factory=threading.Lock)

    def start_training(self, run: Any) -> str:
        """Make ``run`` this session's training run (replacing any other); returns its new id."""
        self.training = run
        self.run_id = secrets.token_hex(6)
        self.issued.append(self.run_id)
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


class SessionsFull(Exception):
    """Every session of a full store was used within its idle time: no new one now. The app
    answers 503 with this message and ``Retry-After: retry_after`` (seconds until the least
    recently used session has been idle long enough to be forgotten)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionStore:
    """Sessions by token, least recently used first; thread-safe (endpoints run in a threadpool).

    ``idle_seconds``: how long a session must have gone unused before a new one may take its
    place in a full store (0: the least recently used is always forgotten). ``clock`` gives the
    time in seconds (``time.monotonic``; tests pass their own)."""

    def __init__(
        self,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1:
            raise ValueError(f"SessionStore: max_sessions must be at least 1, not {max_sessions}")
        if not (idle_seconds >= 0 and math.isfinite(idle_seconds)):  # inf: no Retry-After
            raise ValueError(
                f"SessionStore: idle_seconds must be a finite number, 0 or more, not {idle_seconds}"
            )
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._forgotten: OrderedDict[str, None] = OrderedDict()  # at most FORGOTTEN_REMEMBERED
        self._lock = threading.Lock()

    def kept(self) -> str:
        """How many sessions this store keeps and when it forgets one, in words (what the
        explorer says of a run it no longer has)."""
        forgets = (
            f"one idle for {_duration(self.idle_seconds)}" if self.idle_seconds else "the oldest"
        )
        kept = (
            "the most recently used browser session, with its run"
            if self.max_sessions == 1
            else f"the {self.max_sessions} most recently used browser sessions, one run each"
        )
        return f"this server keeps {kept}, and forgets {forgets} when another browser starts a run"

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, token: object) -> bool:
        return token in self._sessions

    def forgot(self, token: str | None) -> bool:
        """Whether ``token`` named a session this store forgot to make room for another (among
        the last :data:`FORGOTTEN_REMEMBERED` it forgot); False for a token it never gave out,
        such as one a browser kept from before the server was restarted."""
        with self._lock:
            return token is not None and token in self._forgotten

    def get(self, token: str | None) -> BrowserSession | None:
        """The session for ``token`` (marked as recently used), or None; never creates one."""
        with self._lock:
            if token is None or token not in self._sessions:
                return None
            return self._touch(token)

    def get_or_create(self, token: str | None) -> tuple[BrowserSession, bool]:
        """The session for ``token``, or a new one. In a full store the new one takes the place
        of the least recently used session if that one has been idle for ``idle_seconds``;
        else :class:`SessionsFull` is raised and nobody is forgotten.

        Returns the session and whether it is new (the caller then sets the cookie)."""
        with self._lock:
            if token is not None and token in self._sessions:
                return self._touch(token), False
            now = self._clock()
            while len(self._sessions) >= self.max_sessions:
                oldest = next(iter(self._sessions.values()))
                wait = oldest.used + self.idle_seconds - now
                if wait > 0:
                    raise SessionsFull(self._full(), retry_after=max(1, math.ceil(wait)))
                forgotten, _ = self._sessions.popitem(last=False)
                self._forgotten[forgotten] = None
                if len(self._forgotten) > FORGOTTEN_REMEMBERED:
                    self._forgotten.popitem(last=False)
            session = BrowserSession(token=secrets.token_urlsafe(_TOKEN_BYTES), used=now)
            self._sessions[session.token] = session
            return session, True

    def _touch(self, token: str) -> BrowserSession:
        """The session for ``token``, marked as used now (the caller holds the lock)."""
        self._sessions.move_to_end(token)
        session = self._sessions[token]
        session.used = self._clock()
        return session

    def _full(self) -> str:
        return (
            f"the server is full: it keeps {self.max_sessions} browser sessions, each with its "
            f"training run, and every one was used in the last {_duration(self.idle_seconds)}, "
            "so none is forgotten for a new one; try again later, or ask whoever started the "
            "server to keep more with chainrule serve --max-sessions N (or to forget idle ones "
            "sooner with --session-idle SECONDS)"
        )


def _duration(seconds: float) -> str:
    """``seconds`` in words, in minutes from one minute on: "15 minutes", "1 minute", "1.5
    minutes"; below, in seconds: "5 seconds", "0.5 seconds" (in minutes, 5 s read "0.0833333
    minutes")."""
    if seconds < 60:
        return f"{seconds:g} second{'' if seconds == 1 else 's'}"
    minutes = seconds / 60
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
