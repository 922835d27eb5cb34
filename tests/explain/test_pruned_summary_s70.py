"""The explainer's summary said why its unresolved checks give no verdict in a fixed
parenthetical, "(a saturated unit's gradients are such)", even where every one was a pruned
weight's exact structural 0 (finite difference exactly 0). It now counts the exact zeros apart
from the gradients that are small but not 0, and says what each kind comes from."""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.render import render

X, T = np.array([[0.5, -1.0, 0.2]]), np.array([[1.0, 0.0]])


def _summary(d) -> str:
    text = render(d, "text")
    return next(line for line in text.splitlines() if "agree within the tolerance of 0" in line)


def _pruned():
    """A 3-4-2 logistic network whose hidden unit 4 feeds nothing: its weights above are
    pruned to 0, so every gradient below and beside it is exactly 0."""
    model = nn.mlp([3, 4, 2], output="logistic", dtype=np.float64, rng=0)
    model[2].weight.data[3, :] = 0.0
    return model


def _saturated(s: float):
    """A 2-2-1 logistic network whose hidden units sit at z = +-2s."""
    model = nn.mlp([2, 2, 1], output="logistic", dtype=np.float64, rng=0)
    model[0].weight.data[...] = [[s, -s], [s, -s]]
    model[0].bias.data[...] = 0.0
    return model


def _counts(d) -> tuple[int, int]:
    unresolved = [c for c in d.all_checks() if c.unresolved]
    return len(unresolved), sum(c.numeric == 0 for c in unresolved)


def test_a_pruned_nets_exact_zeros_are_not_blamed_on_saturated_units():
    d = explain(_pruned(), X, T, "squared-error")
    near, exact = _counts(d)
    assert near == exact > 0  # every unresolved check is an exact structural 0
    summary = _summary(d)
    assert f"{near} of them agree within the tolerance of 0" in summary
    assert "(every one has a finite difference of exactly 0, E unmoved by the step" in summary
    assert "a 0 on its path (a weight of 0, as a pruned one is, an input of 0)" in summary
    assert "saturated unit's gradients are such" not in summary
    assert "relu" not in summary  # named only in a network that has relu units


def test_a_relu_unit_that_is_off_is_named_where_the_network_has_relu_units():
    model = nn.mlp([3, 4, 2], activation="relu", dtype=np.float64, rng=0)
    model[2].weight.data[3, :] = 0.0
    summary = _summary(explain(model, X, T, "squared-error"))
    assert "(a weight of 0, as a pruned one is, an input of 0, a relu unit that is off)" in summary


def test_exact_zeros_and_small_gradients_are_counted_apart():
    d = explain(_saturated(10.0), np.ones((1, 2)), np.array([[1.0]]), "squared-error")
    near, exact = _counts(d)
    assert 0 < exact < near
    summary = _summary(d)
    assert f"({exact} have a finite difference of exactly 0" in summary
    assert f"the other {near - exact} are small but not 0" in summary


def test_small_gradients_alone_keep_the_saturated_units_words():
    d = explain(_saturated(9.0), np.ones((1, 2)), np.array([[1.0]]), "squared-error")
    near, exact = _counts(d)
    assert near > 0 and exact == 0
    summary = _summary(d)
    assert "(a saturated unit's gradients are such; each row says why)" in summary
    assert "exactly 0" not in summary
