"""seed_graph draws the seed as explain() runs it: the top layer's activation read from the seed
(seed_model) and E by the seed's own loss object, the library's SquaredError. It hard-coded
ops.sigmoid and 0.5 * sum((t - y)^2), a second copy of both that a changed seed would leave
behind."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, network
from chainrule.viz.graph import seed_graph

#: The seed with a tanh top layer and other targets: what a changed seed_model would give.
TANH_TOP = (network.SEED_LAYERS[0], (*network.SEED_LAYERS[1][:2], "tanh"))
TARGET = ((0.25, -0.5, 0.75),)


def _closed_form_E(layers, x, t) -> float:
    """E = 1/2 sum_j (t_j - y_j)^2 of the seed, by hand in NumPy (the oracle)."""
    units = {"logistic": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}
    y = np.asarray(x)
    for weight, bias, activation in layers:
        y = units[activation](y @ np.asarray(weight) + np.asarray(bias))
    return 0.5 * float(((np.asarray(t) - y) ** 2).sum())


def test_a_changed_seeds_graph_has_the_library_losss_E_on_the_seeds_own_units(monkeypatch):
    """The seed with a tanh top layer and other targets (the old graph kept sigmoid)."""
    layers, target = TANH_TOP, TARGET
    monkeypatch.setattr(network, "SEED_LAYERS", layers)
    monkeypatch.setattr(network, "SEED_TARGET", target)
    g, named = seed_graph()
    d = explain(perturbation=False, check=False)
    model, x, t = network.seed_model()
    error = float(named["E"].item())
    assert error == d.error  # explain()'s E, to the bit
    assert error == float(nn.SquaredError()(model(x), t).item())  # the library's loss
    assert error == pytest.approx(_closed_form_E(layers, network.SEED_INPUT, target), rel=1e-14)
    assert float(g.nodes[id(named["E"])].value) == error
    # and each hidden unit's gradient is the sum over j of what its three consumers send back
    for i in range(2):
        node = g.nodes[id(named[f"y_{i + 1}"])]
        assert len(g.consumers(node.id)) == 3
        assert float(node.grad) == pytest.approx(d.dE_dy(1, i).value, abs=1e-14)
