"""The server's event loop only waits: a request's body is read into its model, and its answer
written as JSON, in worker threads, as its handler runs. A 64-128-128-29-10 network's
derivation is 8 MB of JSON that took 0.8 s to write in the loop, and every other browser's
request (a page's static files, another student's step) waited for it: 1.1 s at worst."""

from __future__ import annotations

import asyncio
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import api, create_app

LOCAL = "http://127.0.0.1"


def _in_the_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread runs no loop
        return False
    return True


def test_json_is_read_and_written_outside_the_event_loop(monkeypatch):
    where: dict[str, list[bool]] = {"written": [], "read": []}
    write = api.json_response
    request = next(e.request for e in api.ENDPOINTS if e.path == "/api/backward")
    read = request.model_validate_json

    def json_response(payload, status=200):
        where["written"].append(_in_the_event_loop())
        return write(payload, status)

    def validate(body, *args, **kwargs):
        where["read"].append(_in_the_event_loop())
        return read(body, *args, **kwargs)

    monkeypatch.setattr(api, "json_response", json_response)
    client = TestClient(create_app(), base_url=LOCAL, headers={"content-type": "application/json"})
    network = client.get("/api/seed").json()
    monkeypatch.setattr(request, "model_validate_json", validate)
    answer = client.post("/api/backward", json={"network": network})
    assert answer.status_code == 200, answer.text
    assert where["written"] == [False, False]  # the seed's answer and the pass's
    assert where["read"] == [False]
