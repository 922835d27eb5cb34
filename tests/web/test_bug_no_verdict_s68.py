"""The page's teaching-bug view (/api/bug) passed a wrong gradient under a tolerance as wide as
the gradient (QA s67: atol 208 for a gradient of 0.07): a 2-2-1 logistic network whose hidden
z's, 0.1 and 0.2, are sums of terms of 1e12 that cancel, so E's rounding over the step outweighs
their gradients. Such a row now gives no verdict, with its reason, never "agrees".

Oracle: a tolerance at least |g| wide cannot tell g from 0, nor from -g (the derivation's own
rule, ``near_zero``), and the logistic unit's gradient in closed form."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import create_app  # noqa: E402

LOCAL = "http://127.0.0.1"

CANCELLING = {
    "sizes": [2, 2, 1],
    "weights": [[[1e6, -1e6], [-1e6, 1e6]], [[1], [-1]]],
    "biases": [[0.1, 0.2], [0]],
    "activation": "logistic",
    "output": "logistic",
    "loss": "squared-error",
    "input": [1e6, 1e6],
    "target": [1],
}


def test_the_bug_view_gives_no_verdict_where_the_tolerance_cannot_tell_the_gradient_from_0():
    client = TestClient(create_app(), base_url=LOCAL, headers={"content-type": "application/json"})
    response = client.post("/api/bug", content=json.dumps({"network": CANCELLING, "bug": "assign"}))
    assert response.status_code == 200, response.text
    bug = response.json()
    rows = {row["label"]: row for row in bug["rows"]}
    # the hidden unit's dE/dz in closed form: y(1 - y) w dE/dz_top, z = 0.1 (the sums cancel)
    y = 1 / (1 + np.exp(-np.array([0.1, 0.2])))
    top = 1 / (1 + np.exp(-(y[0] - y[1])))
    dz_top = (top - 1) * top * (1 - top)
    dz = rows["∂E/∂z 1:1"]
    assert dz["right"] == pytest.approx(y[0] * (1 - y[0]) * dz_top, rel=1e-4)
    assert dz["wrong"] == pytest.approx(dz["right"] / 2, rel=1e-4)  # the bug halves it
    # it passes, but only within a tolerance as wide as the gradient: no verdict, and why
    assert not dz["caught"] and "swallowed by E's rounding" in dz["no_verdict"]
    assert bug["n_no_verdict"] == sum(row["no_verdict"] is not None for row in bug["rows"]) > 0
    assert rows["∂E/∂z 2:1"]["caught"] and rows["∂E/∂z 2:1"]["no_verdict"] is None
    assert "get no verdict from the check" in bug["note"]  # the page shows the note
