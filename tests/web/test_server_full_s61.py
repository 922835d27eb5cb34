"""A class on one explorer, for whoever runs ``chainrule serve`` (session 61).

- The 503 a new browser's start gets while every session is in use was missing from
  ``/openapi.json``: now every status code a session-creating endpoint can answer is described
  there, each body as the schema it gives (oracle: the answers the server really sends,
  provoked one by one, validated by jsonschema against the document).
- ``--session-idle SECONDS`` sets how long a session must go unused before a new browser may
  take its place (the store's clock is not waited on: the idle session's last use is moved back).
- The digits were copied into every session's run (about 0.9 MB of a session's 2.6 MB): now
  the sessions share one read-only copy, and a run that trains cannot change another's data.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
jsonschema = pytest.importorskip("jsonschema")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import api, create_app  # noqa: E402
from chainrule.web.sessions import COOKIE_NAME, DEFAULT_IDLE_SECONDS, MAX_QUEUED  # noqa: E402

LOCAL = "http://127.0.0.1"
JSON = {"content-type": "application/json"}
#: A body each session-creating endpoint accepts (a new one must be added here).
BODIES = {"/api/train/start": {"dataset": "xor"}}
CREATING = [e for e in api.ENDPOINTS if e.session == "create"]


def browser(app, **kwargs) -> TestClient:
    return TestClient(app, base_url=LOCAL, headers=JSON, **kwargs)


def session_of(app, client: TestClient):
    """The server's session for ``client``'s cookie."""
    return app.state.sessions.get(client.cookies[COOKIE_NAME])


def answers(endpoint, monkeypatch) -> dict[int, object]:
    """Every status code ``endpoint`` answers, each provoked once: {status: response}."""
    path, body = endpoint.path, BODIES[endpoint.path]
    got = {}

    def send(client, **kwargs):
        response = client.request(endpoint.method, path, **{"json": body, **kwargs})
        got.setdefault(response.status_code, response)
        return response

    app = create_app(max_sessions=1)
    first = browser(app)
    assert send(first).status_code == 200
    assert send(browser(app)).status_code == 503  # the one session is in use
    assert send(first, headers={"host": "evil.example"}).status_code == 400
    assert send(first, content=b"x" * (api.s.MAX_BODY_BYTES + 1), json=None).status_code == 413
    text = {"content-type": "text/plain"}
    assert send(first, content=b"{}", json=None, headers=text).status_code == 415
    assert send(first, json={"no such field": 1}).status_code == 422
    session_of(app, first).waiting = MAX_QUEUED + 1  # requests of its own waiting
    assert send(first).status_code == 429
    session_of(app, first).waiting = 0

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "json_response", broken)  # a failure no check foresaw
    app = create_app()
    assert send(browser(app, raise_server_exceptions=False)).status_code == 500
    return got


def described(operation: dict, status: int) -> dict | None:
    """The response ``operation`` documents for ``status``: its own or its range's (4XX)."""
    responses = operation["responses"]
    return responses.get(str(status), responses.get(f"{status // 100}XX"))


@pytest.mark.parametrize("endpoint", CREATING, ids=lambda e: e.path)
def test_every_status_a_session_creating_endpoint_answers_is_described(endpoint, monkeypatch):
    document = browser(create_app()).get("/openapi.json").json()
    operation = document["paths"][endpoint.path][endpoint.method.lower()]
    got = answers(endpoint, monkeypatch)
    assert set(got) == {200, 400, 413, 415, 422, 429, 500, 503}
    for status, response in got.items():
        response_doc = described(operation, status)
        assert response_doc is not None, f"{endpoint.path}: {status} is not in the document"
        schema = response_doc["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator(
            {**schema, "components": document["components"]},
            format_checker=jsonschema.FormatChecker(),
        ).validate(response.json())
    full = operation["responses"]["503"]
    assert full["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "--max-sessions" in full["description"] and "Retry-After" in full["description"]
    retry = full["headers"]["Retry-After"]
    assert retry["required"] is True and retry["schema"]["type"] == "integer"
    assert int(got[503].headers["retry-after"]) >= retry["schema"]["minimum"]


def test_only_the_endpoints_that_create_a_session_say_they_may_be_full():
    document = browser(create_app()).get("/openapi.json").json()
    for endpoint in api.ENDPOINTS:
        responses = document["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        assert ("503" in responses) == (endpoint.session == "create"), endpoint.path


@pytest.fixture
def served(monkeypatch):
    """``chainrule serve ARGS...`` up to where uvicorn would start serving: the app it made."""
    uvicorn = pytest.importorskip("uvicorn")
    from chainrule.cli import serve

    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: apps.append(app))
    monkeypatch.setattr(serve, "_check_port_free", lambda host, port: None)

    def start(capsys, *args):
        code, _, err = run(capsys, "serve", *args)
        assert code == 0, err
        return apps[-1]

    return start


def test_a_small_session_idle_lets_a_new_browser_take_an_idle_session_s_place(served, capsys):
    app = served(capsys, "--max-sessions", "1", "--session-idle", "5")
    first, second = browser(app), browser(app)
    assert first.post("/api/train/start", json=BODIES["/api/train/start"]).status_code == 200
    refused = second.post("/api/train/start", json=BODIES["/api/train/start"])
    assert refused.status_code == 503
    assert 1 <= int(refused.headers["retry-after"]) <= 5
    assert "every one was used in the last 5 seconds" in refused.json()["error"]
    session_of(app, first).used -= 5  # first has gone unused for 5 s
    taken = second.post("/api/train/start", json=BODIES["/api/train/start"])
    assert taken.status_code == 200, taken.text
    gone = first.post("/api/train/step", json={"steps": 1})
    assert gone.status_code == 409 and "forgets one idle for 5 seconds" in gone.json()["error"]

    # the same 5 s of idleness with the default idle time: still refused
    app = served(capsys, "--max-sessions", "1")
    first, second = browser(app), browser(app)
    assert first.post("/api/train/start", json=BODIES["/api/train/start"]).status_code == 200
    session_of(app, first).used -= 5
    refused = second.post("/api/train/start", json=BODIES["/api/train/start"])
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) == DEFAULT_IDLE_SECONDS - 5


def test_sessions_share_one_read_only_copy_of_the_digits():
    app = create_app()
    ours, theirs = browser(app), browser(app)
    digits = {"dataset": "digits", "hidden": [8], "batch_size": 50}
    for client in (ours, theirs):
        assert client.post("/api/train/start", json=digits).status_code == 200
    mine, other = session_of(app, ours).training, session_of(app, theirs).training
    assert mine is not other
    assert np.shares_memory(mine.X, other.X) and np.shares_memory(mine.T, other.T)
    assert mine.X.shape == (1797, 64) and mine.T.shape == (1797, 10)
    before = other.X.copy(), other.T.copy()
    for steps in ({"steps": 3}, {"steps": 2}):
        assert ours.post("/api/train/step", json=steps).status_code == 200
    assert ours.post("/api/train/start", json={**digits, "batch_size": None}).status_code == 200
    assert ours.post("/api/train/step", json={"steps": 1}).status_code == 200
    np.testing.assert_array_equal(other.X, before[0])
    np.testing.assert_array_equal(other.T, before[1])
    mine = session_of(app, ours).training
    for array in (mine.X, mine.T):  # anything that writes must copy first
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 99.0
    np.testing.assert_array_equal(other.X, before[0])
