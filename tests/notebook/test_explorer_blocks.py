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


def test_the_widget_opens_on_the_family_trees_network_with_its_own_numbers():
    from chainrule.train.family_trees import family_tree_net

    net = family_tree_net(rng=0)
    x = np.zeros(36)
    x[[3, 24 + 2]] = 1
    t = np.zeros(24)
    t[5] = 1
    host = cr.explorer(net, (x, t), nn.SquaredError()).explorer
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    d = cr.explain(net, x[None], t[None], nn.SquaredError())
    joined = d.connections[0].connected  # the person and relation encoders' blocks
    assert [[v is not None for v in row] for row in network["weights"][0]] == joined.tolist()
    reply = host.answer({"id": 2, "path": "/api/backward", "body": {"network": network}})
    assert reply["ok"], reply
    assert reply["data"]["E"] == d.error
    dE_dw = reply["data"]["dE_dw"][0]
    assert dE_dw[3][:7] == [*d.connections[0].dE_dw[3, :6].tolist(), None]
    paths = host.answer(
        {"id": 3, "path": "/api/paths", "body": {"network": network, "layer": 0, "unit": 30}}
    )
    assert [term["j"] for term in paths["data"]["terms"]] == list(range(6, 12))
    json.dumps(reply, allow_nan=False)  # plain JSON to the front end: null, not NaN
