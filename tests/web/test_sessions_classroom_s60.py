"""A class on one explorer: the sessions a server keeps, and who may take a session's place.

A POST to /api/train/start without a cookie made a session and forgot the least recently used
one; the store kept 32, so 32 fresh clients wiped every student's run, and a class of 40 lost
runs with no one attacking. Now a full store gives a new browser the place of a session idle
for ``idle_seconds`` only, refuses it (503, saying why and when to try again) while every
session is in use, and a forgotten run's message says how many sessions the server keeps and
how to keep more.
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import create_app, sessions
from chainrule.web.sessions import COOKIE_NAME, SessionStore

LOCAL = "http://127.0.0.1"
JSON = {"content-type": "application/json"}
XOR = {"dataset": "xor"}
IDLE = getattr(sessions, "DEFAULT_IDLE_SECONDS", None)  # the default idle time (new: looked up)


def browser(app) -> TestClient:
    return TestClient(app, base_url=LOCAL, headers=JSON)


class Clock:
    """A clock the test moves by hand (no waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_class_of_forty_keeps_every_run_by_default():
    app = create_app()
    students = [browser(app) for _ in range(40)]
    for student in students:
        assert student.post("/api/train/start", json=XOR).status_code == 200
    assert all(s.get("/api/train/state").status_code == 200 for s in students)
    assert sessions.DEFAULT_MAX_SESSIONS >= 100  # room for a few browsers per student


def test_fresh_clients_cannot_push_out_runs_in_use():
    """Starts without a cookie once the store is full: each is refused, nobody is forgotten."""
    app = create_app(max_sessions=3)
    students = [browser(app) for _ in range(3)]
    for student in students:
        assert student.post("/api/train/start", json=XOR).status_code == 200
    for _ in range(5):
        stranger = browser(app)
        refused = stranger.post("/api/train/start", json=XOR)
        assert refused.status_code == 503
        message = refused.json()["error"]
        assert message.startswith("the server is full: it keeps 3 browser sessions"), message
        minutes = f"{IDLE / 60:g} minutes"
        assert f"every one was used in the last {minutes}" in message
        assert "chainrule serve --max-sessions N" in message
        assert 1 <= int(refused.headers["retry-after"]) <= IDLE
        assert COOKIE_NAME not in refused.cookies
    assert len(app.state.sessions) == 3
    for student in students:
        assert student.post("/api/train/step", json={"steps": 1}).json()["step"] == 1


def test_a_session_idle_long_enough_gives_its_place_to_a_new_one():
    clock = Clock()
    store = SessionStore(max_sessions=2, idle_seconds=600, clock=clock)
    a, _ = store.get_or_create(None)
    clock.now += 100
    b, _ = store.get_or_create(None)
    clock.now += 450  # a idle 550 s, b 450 s: neither long enough
    with pytest.raises(sessions.SessionsFull) as full:
        store.get_or_create(None)
    assert full.value.retry_after == 50  # when a will have been idle 600 s
    assert store.get(a.token) is a  # a is used again: b is now the one idle longest
    clock.now += 150  # b idle 600 s
    c, new = store.get_or_create(None)
    assert new and c.token in store and a.token in store and b.token not in store
    # a request of its own keeps a session: a's cookie finds it, made nothing new
    assert store.get_or_create(a.token) == (a, False)


def test_idle_seconds_zero_forgets_the_least_recently_used_at_once():
    store = SessionStore(max_sessions=1, idle_seconds=0, clock=Clock())
    a, _ = store.get_or_create(None)
    b, _ = store.get_or_create(None)
    assert b.token in store and a.token not in store
    with pytest.raises(ValueError, match="idle_seconds"):
        SessionStore(idle_seconds=-1)


def test_a_forgotten_run_says_how_many_sessions_the_server_keeps_and_how_to_keep_more():
    app = create_app(max_sessions=1, idle_seconds=0)
    first, second = browser(app), browser(app)
    assert first.post("/api/train/start", json=XOR).status_code == 200
    assert second.post("/api/train/start", json=XOR).status_code == 200  # first's is forgotten
    gone = first.post("/api/train/step", json={"steps": 1})
    assert gone.status_code == 409
    assert gone.json()["error"] == (
        "no training run for this session: none was started, or it was forgotten (this server "
        "keeps the most recently used browser session, with its run, and forgets the oldest "
        "when another browser starts a run; whoever started the server can keep more with "
        "chainrule serve --max-sessions N); press Start (POST /api/train/start) to begin again"
    )
    # a step without a cookie (GET /api/train/state answers such a browser 200, run: null)
    idle = browser(create_app(max_sessions=7)).post("/api/train/step", json={"steps": 1})
    idle = idle.json()["error"]
    assert "keeps the 7 most recently used browser sessions" in idle
    assert f"forgets one idle for {IDLE / 60:g} minutes" in idle
