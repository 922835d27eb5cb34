"""A step that waited for its session's lock while its browser went away is not computed
(classroom, session 62): a student reloading the page left up to ``MAX_QUEUED`` queued training
steps computing for nobody, each holding a worker thread in turn. Oracle: the run's own step
count, read after the server answered, and the 499 the access log shows."""

from __future__ import annotations

import json
import threading
import warnings

import anyio
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import api, create_app  # noqa: E402
from chainrule.web.sessions import COOKIE_NAME  # noqa: E402

LOCAL = "http://127.0.0.1"


def _started() -> tuple[object, TestClient, object]:
    app = create_app()
    client = TestClient(app, base_url=LOCAL)
    assert client.post("/api/train/start", json={"dataset": "xor"}).status_code == 200
    token = client.cookies[COOKIE_NAME]
    return app, client, app.state.sessions.get(token)


def _step_while_waiting(app, token: str, browser_leaves: bool) -> int:
    """POST one step while the session's lock is held by another request; the lock is let go
    after the request is waiting. ``browser_leaves``: the client disconnects meanwhile."""
    session = app.state.sessions.get(token)
    body = json.dumps({"steps": 1}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    gone = threading.Event()
    statuses = []

    async def receive():
        if messages:
            return messages.pop()
        if browser_leaves:
            gone.set()
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/train/step", "raw_path": b"/api/train/step",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"cookie", f"{COOKIE_NAME}={token}".encode())],
    }  # fmt: skip

    async def main():
        session.lock.acquire()  # another request of this session is running
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(app, scope, receive, send)
            await anyio.sleep(0.2)  # the request waits for the lock
            session.lock.release()

    anyio.run(main)
    return statuses[0]


@pytest.mark.parametrize("browser_leaves", [True, False])
def test_a_step_whose_browser_left_while_it_waited_is_not_computed(browser_leaves):
    app, client, session = _started()
    before = client.get("/api/train/state").json()["step"]
    status = _step_while_waiting(app, session.token, browser_leaves)
    after = client.get("/api/train/state").json()["step"]
    assert (status, after - before) == ((api.CLIENT_GONE, 0) if browser_leaves else (200, 1))
    assert session.waiting == 0 and not session.lock.locked()
