"""A network posted as the body itself, without ``{"network": ...}`` around it (session 68):
the 422 listed five of its fields as "Extra inputs are not permitted" and "and 5 more", and
left out "network: Field required", the one thing wrong. It now says so in one line."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from chainrule.web import create_app


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.mark.parametrize(
    ("url", "extra", "wrapped"),
    [
        ("/api/backward", {}, '{"network": <your network>}'),
        ("/api/gradcheck", {}, '{"network": <your network>}'),
        ("/api/paths", {"layer": 0, "unit": 0},
         '{"network": <your network>, "layer": ..., "unit": ...}'),
        ("/api/bug", {"bug": "no-zero-grad"}, '{"network": <your network>, "bug": ...}'),
        ("/api/derivation", {}, '{"network": <your network>, "layer": ..., "unit": ...}'),
    ],
)  # fmt: skip
def test_a_network_posted_unwrapped_is_told_to_wrap_it(client, url, extra, wrapped):
    network = client.get("/api/seed").json()
    refused = client.post(url, json={**network, **extra})
    assert refused.status_code == 422
    problem = refused.json()
    message = problem["error"]
    assert message.startswith("invalid request: network: missing; the body is a network itself")
    assert f"send it wrapped, as {wrapped}" in message, message
    assert "Extra inputs" not in message and "more" not in message
    assert len(problem["details"]) == 1
    # wrapped as it says, the same body is taken
    assert client.post(url, json={"network": network, **extra}).status_code == 200

    # only a body with a network's fields is told to wrap one: others are refused as before
    assert client.post(url, json=extra).json()["error"] == (
        "invalid request: network: Field required"
    )
    refused = client.post(url, json={"network": network, **extra, "sizes": [2, 2]}).json()
    assert refused["error"] == "invalid request: sizes: Extra inputs are not permitted"
    refused = client.post(url, json={"activation": "relu", **extra}).json()["error"]
    assert "network: Field required" in refused and "wrapped" not in refused
