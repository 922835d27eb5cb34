"""The notebook explorer on a network with a layer joined in blocks (an ``nn.Parallel``): it
opens, its state writes ``null`` where no weight exists, and every answer is the explainer's."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
pytest.importorskip("starlette", reason="the [app] extra is not installed")

nn = cr.nn


def block_net() -> nn.Sequential:
    """2 inputs -> 3 logistic -> a Parallel layer of 3 logistic units in blocks 2 + 1 -> 2."""

    def branch(n_in, n_out, seed):
        return nn.Sequential(nn.Linear(n_in, n_out, rng=seed, dtype="float64"), nn.Logistic())

    return nn.Sequential(
        nn.Linear(2, 3, rng=0, dtype="float64"), nn.Logistic(),
        nn.Parallel((2, branch(2, 2, 1)), (1, branch(1, 1, 2))),
        nn.Linear(3, 2, rng=3, dtype="float64"), nn.Logistic(),
    )  # fmt: skip


def test_the_widget_opens_on_a_network_in_blocks_with_its_own_numbers():
    net, x, t = block_net(), np.array([0.3, -0.7]), np.array([1.0, 0.0])
    host = cr.explorer(net, (x, t), nn.SquaredError()).explorer
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    assert [[v is not None for v in row] for row in network["weights"][1]] == [
        [True, True, False], [True, True, False], [False, False, True]
    ]  # fmt: skip
    reply = host.answer({"id": 2, "path": "/api/backward", "body": {"network": network}})
    assert reply["ok"], reply
    d = cr.explain(net, x[None], t[None], nn.SquaredError())
    assert reply["data"]["E"] == d.error
    assert reply["data"]["dE_dw"][1][2] == [None, None, d.dE_dw(1, 2, 2).value]
    paths = host.answer(
        {"id": 3, "path": "/api/paths", "body": {"network": network, "layer": 1, "unit": 0}}
    )
    assert [term["j"] for term in paths["data"]["terms"]] == [0, 1]
    json.dumps(reply, allow_nan=False)  # plain JSON to the front end: null, not NaN
