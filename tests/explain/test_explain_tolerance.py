"""How tight the explainer's checks are on deep float32 networks: a unit's slope counts as its
function's largest (the logistic's 1/4), so a wrong gradient in the lowest layer is caught, and
a right one still passes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer.derivation import Checked
from chainrule.nn.activations import ACTIVATIONS, max_slope, mlp


@pytest.mark.parametrize("name", ["logistic", "tanh", "relu", "identity"])
def test_max_slope_bounds_the_function_measured_by_differences(name):
    """The table's largest slope, measured: central differences of the unit's own forward over
    z in [-30, 30] never exceed it, and come within a percent of it (it is the least bound)."""
    z = np.linspace(-30.0, 30.0, 600_001)
    h = 1e-5
    y = ACTIVATIONS[name].on_array
    slopes = (y(z + h) - y(z - h)) / (2 * h)
    assert slopes.max() <= max_slope(name) * (1 + 1e-6)
    assert slopes.max() >= 0.99 * max_slope(name)


def test_max_slope_of_no_unit_is_one():
    assert max_slope(None) == 1.0
    assert max_slope("sigmoid") == 0.25


def _deep_logistic(seed: int = 1):
    net = mlp([6, 8, 8, 8, 8, 3], activation="logistic", dtype=np.float32, rng=seed, init_range=1.0)
    x = np.random.default_rng(seed).normal(size=(4, 6)).astype(np.float32)
    return cr.explain(net, x, np.array([0, 1, 2, 1]), cr.nn.CrossEntropy())


def test_a_wrong_lowest_layer_gradient_of_a_fifth_is_caught_in_a_deep_logistic_network():
    """Five float32 logistic layers: layer 0's dE/dw, each entry made a fifth too large, fails
    its check for every entry above a hundredth of the largest. With every slope counted as 1,
    the tolerance was 2.7% of the largest entry, and entries under an eighth of it passed."""
    d = _deep_logistic()
    assert d.all_ok
    bottom = d.connections[0]
    numerics = bottom.dE_dw_numeric
    atol = d.atol_of(("dE_dw", 0), numerics)
    large = np.abs(numerics) >= np.nanmax(np.abs(numerics)) / 100
    assert large.sum() >= 10
    for value, numeric in zip(bottom.dE_dw[large], numerics[large]):
        assert Checked(1.2 * float(value), float(numeric), atol, d.rtol).ok is False


@pytest.mark.parametrize("seed", range(12))
def test_right_gradients_of_deep_saturated_float32_networks_pass(seed):
    """No false alarm from the tighter bound: float32 networks up to six layers deep, with
    weights and inputs large enough to saturate units, every loss kind."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 9)) for _ in range(int(rng.integers(3, 7)) + 1)]
    losses = {
        "cross-entropy": (cr.nn.CrossEntropy(), None),
        "squared-error": (cr.nn.SquaredError("mean"), "logistic"),
        "mse": (cr.nn.MSE(), "logistic"),
    }
    loss, output = losses[["cross-entropy", "squared-error", "mse"][seed % 3]]
    if output is None:
        sizes[-1] = max(2, sizes[-1])
    net = mlp(sizes, activation="logistic", output=output, dtype=np.float32, rng=seed,
              init_range=float(rng.choice([1.0, 3.0, 8.0])))  # fmt: skip
    x = (rng.normal(size=(3, sizes[0])) * rng.choice([1.0, 5.0, 30.0])).astype(np.float32)
    if output is None:
        t = rng.integers(0, sizes[-1], size=3)
    else:
        t = rng.uniform(size=(3, sizes[-1])).astype(np.float32)
    d = cr.explain(net, x, t, loss)
    assert [c for c in d.all_checks() if not c.ok] == []
