"""A request body with many wrong fields (a network's every weight a string) was described in
full, in the event loop: each of 262,000 errors turned into words and listed in ``details``, a
27 MB answer that took 2 to 20 s to make while the server answered nobody. The message names
the first five then a count of the rest, as before; ``details`` now lists the first 100."""

from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from chainrule.web import create_app
from chainrule.web.api import LISTED_IN_DETAILS, NAMED_IN_MESSAGE


def _as_text(value):
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return "x" if isinstance(value, float) else value


@pytest.mark.parametrize("sizes", [[2, 2, 1], [8, 16, 16, 4]])
def test_many_wrong_fields_are_counted_and_the_first_listed(sizes):
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    network = client.post("/api/network/new", json={"sizes": sizes}).json()
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    body = {"network": {**network, "weights": _as_text(network["weights"])}}
    refused = client.post("/api/backward", content=json.dumps(body),
                          headers={"content-type": "application/json"})  # fmt: skip
    assert refused.status_code == 422
    problem = refused.json()
    named = problem["error"].count("Input should be a valid number")
    assert named == min(weights, NAMED_IN_MESSAGE)
    more = weights - NAMED_IN_MESSAGE
    assert (f"; and {more} more" in problem["error"]) == (more > 0)
    assert len(problem["details"]) == min(weights, LISTED_IN_DETAILS)
    assert problem["details"][0]["loc"] == "network.weights[0][0][0]"
    assert {d["type"] for d in problem["details"]} == {"float_type"}
