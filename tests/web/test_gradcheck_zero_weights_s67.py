"""``POST /api/gradcheck`` for zero top weights answered 422 "the result is not finite (the
numbers overflowed)" though nothing overflowed: a derivative of 0 beside a tolerance of 0 made
its relative error 0/0, NaN. Its relative error is 0 (the difference is 0), and the answer
a check whose every derivative is within the tolerance of 0: no verdict."""

from __future__ import annotations

import math
import warnings

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
pytest.importorskip("pydantic")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import create_app  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402

ZERO_TOP = {
    "sizes": [2, 2, 1],
    "weights": [[[1.0, 0.5], [-0.3, 1.0]], [[0.0], [0.0]]],
    "biases": [[0.0, 0.0], [0.0]],
    "activation": "tanh",
    "output": "linear",
    "loss": "squared-error",
    "input": [0.0, 0.0],
    "target": [0.0],
}


def test_zero_top_weights_are_no_overflow():
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    response = client.post("/api/gradcheck", json={"network": ZERO_TOP})
    assert response.status_code == 200, response.text
    body = response.json()
    s.GradcheckResponse.model_validate(body)
    assert body["failed"] == 0 and math.isfinite(body["max_rel_error"])
    assert body["max_abs_error"] == 0.0 and body["max_rel_error"] == 0.0
