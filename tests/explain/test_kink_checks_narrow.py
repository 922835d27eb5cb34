"""At a relu kink the finite-difference check leaves out only what a step could carry across it.

A weight or bias into the highest layer with a unit at its kink moves only its own unit's z
there (no layer above has a kink), so only the columns of the units at the kink are left
unchecked. Every weight and bias of that layer was: a 2-3-1 relu network with units 0 and 2 at
z = 0 checked 4 derivatives, leaving out the bias of unit 1 (at z = 0.3) and its weights. The
oracles: PyTorch's gradients and central differences of E computed here in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

W1 = np.array([[1.0, 1.0, 0.5], [2.0, -1.0, 1.0]])
B1 = np.array([0.0, 0.3, 0.0])  # z = (0, 1.05, 0) for x = (0.5, -0.25): units 0 and 2 at kinks
W2 = np.array([[0.7], [-0.4], [0.9]])
B2 = np.array([0.1])
X = np.array([[0.5, -0.25]])
T = np.array([[1.0]])


def _model():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    for p, value in zip(model.parameters(), (W1, B1, W2, B2)):
        p.data[...] = value
    return model


def _error(w1, b1):
    """E = 1/2 sum (y - t)^2 of the network, in float64 (the difference's own oracle)."""
    z1 = X @ w1 + b1
    return 0.5 * float((((np.maximum(z1, 0) @ W2) + B2 - T) ** 2).sum())


def _torch_grads():
    params = [torch.tensor(a, requires_grad=True) for a in (W1, B1, W2, B2)]
    z1 = torch.tensor(X) @ params[0] + params[1]
    out = torch.relu(z1) @ params[2] + params[3]
    (0.5 * ((out - torch.tensor(T)) ** 2).sum()).backward()
    return [p.grad.numpy() for p in params]


def test_the_unit_away_from_the_kink_keeps_its_weight_and_bias_checks() -> None:
    assert np.allclose(X @ W1 + B1, [[0.0, 1.05, 0.0]])
    d = cr.explain(_model(), X, T, loss="squared-error", check=True, perturbation=False)
    dW1, db1, _, _ = _torch_grads()
    h = 1e-6
    checked_b = d.dE_db(0, 1)
    assert checked_b.numeric is not None, "unit 1's bias is not at a kink"
    bumped = [B1 + h * np.eye(3)[1], B1 - h * np.eye(3)[1]]
    numeric = (_error(W1, bumped[0]) - _error(W1, bumped[1])) / (2 * h)
    np.testing.assert_allclose([checked_b.value, checked_b.numeric], db1[1], rtol=1e-6)
    np.testing.assert_allclose(checked_b.numeric, numeric, rtol=1e-6)
    for i in range(2):
        checked_w = d.dE_dw(0, i, 1)
        assert checked_w.numeric is not None, f"w_{i}1 moves only unit 1's z"
        np.testing.assert_allclose([checked_w.value, checked_w.numeric], dW1[i, 1], rtol=1e-6)
        for j in (0, 2):  # the units at the kink: a step in these crosses it
            assert d.dE_dw(0, i, j).numeric is None
    assert d.dE_db(0, 0).numeric is None and d.dE_db(0, 2).numeric is None
    assert all(c.ok for c in d.all_checks())


def test_a_kink_in_a_higher_layer_still_leaves_the_weights_below_it_unchecked() -> None:
    """A weight into layer 1 moves every z of layer 2, where unit 1 sits at its kink; into
    layer 2, only its own unit's; the output layer's weights move no relu z at all."""
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    values = ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], [[1.0, -1.0], [0.5, 1.0]], [0.0, 0.0],
              [[1.0], [1.0]], [0.0])  # fmt: skip
    for p, value in zip(model.parameters(), values):
        p.data[...] = np.array(value)
    x = np.array([[1.0, 1.0]])  # layer 1's y = (1.5, 1.5); layer 2's z = (2.25, 0)
    d = cr.explain(model, x, np.array([[1.0]]), loss="squared-error", check=True,
                   perturbation=False)  # fmt: skip
    assert all(d.dE_dw(0, i, j).numeric is None for i in range(2) for j in range(2))
    assert all(d.dE_dw(1, i, 0).numeric is not None for i in range(2))
    assert all(d.dE_dw(1, i, 1).numeric is None for i in range(2))
    assert d.dE_db(1, 0).numeric is not None and d.dE_db(1, 1).numeric is None
    assert all(d.dE_dw(2, i, 0).numeric is not None for i in range(2))
    assert all(c.ok for c in d.all_checks())
