"""The graph names dropout's mask (QA of modes, s68): it was an anonymous leaf,
``leaf (1x4) value [2, 2, 0, 2]``, that said neither what it is nor why its 1s are 2s."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.viz.graph import graph, node_lines


def _boxes(net: nn.Sequential) -> list[list[str]]:
    x = cr.tensor(np.array([[0.1, 0.2, 0.3]]))
    loss = nn.CrossEntropy()(net(x), cr.tensor(np.array([1])))
    g = graph(loss)
    return [node_lines(g, node) for node in g.nodes.values()]


def _net(p: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 4, rng=0, dtype="float64"),
        nn.Tanh(),
        nn.Dropout(p, rng=1),
        nn.Linear(4, 2, rng=1, dtype="float64"),
    )


def test_dropout_s_mask_is_named_with_its_scale() -> None:
    for p, scale in [(0.5, "2"), (0.2, "1.25")]:
        masks = [box for box in _boxes(_net(p)) if "mask" in box[0]]
        assert len(masks) == 1, masks
        assert masks[0][0] == f"dropout mask (p={p:g}: kept x 1/(1-p) = {scale}) (1x4)"
        kept = {float(v) for v in masks[0][1].removeprefix("value [").rstrip("]").split(", ")}
        assert kept <= {0.0, float(scale)}
    assert not any(box[0].startswith("leaf (1x4)") for box in _boxes(_net(0.5)))
    net = _net(0.5)
    net.eval()  # the identity: no mask drawn
    assert not any("mask" in box[0] for box in _boxes(net))
