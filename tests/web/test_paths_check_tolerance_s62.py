"""The page's one finite-difference check of dE/dy_i (the Paths tab, /api/paths) is held to what
its difference can resolve, as the explainer's checks now are (session 62): it kept the flat
1e-7 floor, under which a small gradient 20% wrong passed. Oracle: the difference at twice the
step, recomputed here, and a rule made wrong in the test."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

pytest.importorskip("pydantic", reason="the [app] extra is not installed")
from chainrule.explainer.perturbation import central_dE_dy  # noqa: E402
from chainrule.web.network import NetworkState, dE_dy_check  # noqa: E402


def _state() -> NetworkState:
    model = nn.mlp([2, 2, 1], "tanh", "logistic", dtype="float64", rng=0)
    # input 2's weights are tiny (the case's inputs are 0: the forward pass is XOR's), so its
    # dE/dy is about 1e-7, where the old floor could not tell a 20% error
    weights = ([[4.2, -2.9], [0.006, 0.0]], [-2.0, 4.3], [[5.7], [5.8]], [-5.3])
    for parameter, value in zip(model.parameters(), weights):
        parameter.data[...] = np.array(value)
    return NetworkState.from_model(model, [0.0, 0.0], [0.0], "squared-error")


def test_the_check_is_as_tight_as_its_difference_is_accurate():
    d = _state().derivation()
    check, step, note = dE_dy_check(d, 0, 1)
    assert note is None and check.ok
    wider = central_dE_dy(d, 0, 1, eps=2 * step)
    resolved = abs(wider - check.numeric)
    assert check.atol < 1e-7 / 100  # the old flat floor, far looser than the difference
    assert check.atol >= resolved  # and no tighter than the difference can tell


def test_a_wrong_rule_on_a_small_gradient_is_a_disagreement():
    primitive = cr.REGISTRY["tanh"]
    original = primitive.vjp
    object.__setattr__(primitive, "vjp", (lambda g, out, x: original[0](g, out, x) * 1.2,))
    try:
        d = _state().derivation()
        check, _, note = dE_dy_check(d, 0, 1)
    finally:
        object.__setattr__(primitive, "vjp", original)
    assert abs(check.value / check.numeric - 1.2) < 1e-3
    assert abs(check.numeric) < 1e-6  # a small gradient: below the old floor's reach
    assert check.ok is False and note.startswith("disagrees")
