"""docs/explain.md's recipe for the lecture's sum in a zoomed layer: with the layer's dE/dz as
the cotangent, each y_i leaf's gradient is dE/dy_i = sum_j w_ij dE/dz_j, checked against a
hand-written NumPy backward pass (and, without it, the ones cotangent gives sum_j w_ij)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.viz.graph import zoom


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_zoom_with_the_layers_dE_dz_gives_each_y_its_dE_dy():
    rng = np.random.default_rng(3)
    W1, b1 = rng.normal(size=(2, 3)), rng.normal(size=3)
    W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=2)
    x, t = np.array([[0.5, -1.0]]), np.array([[1.0, 0.0]])
    y = cr.sigmoid(cr.tensor(x) @ cr.tensor(W1, requires_grad=True) + cr.tensor(b1))
    z = cr.linear(y, cr.tensor(W2), cr.tensor(b2))
    E = ((cr.sigmoid(z) - cr.tensor(t)) ** 2).sum() / 2

    # the oracle: the lecture's backward pass by hand
    y_np = sigmoid(x @ W1 + b1)
    out = sigmoid(y_np @ W2 + b2)
    dE_dz_np = (out - t) * out * (1 - out)
    dE_dy_np = dE_dz_np @ W2.T

    (dE_dz,) = cr.gradient(E, z, retain_graph=True)
    np.testing.assert_allclose(dE_dz.numpy(), dE_dz_np, rtol=1e-12)
    leaves = {n.name: n for n in zoom(z, cotangent=dE_dz).nodes.values() if n.name}
    got = [float(leaves[f"y_{i + 1}"].grad) for i in range(3)]
    np.testing.assert_allclose(got, dE_dy_np[0], rtol=1e-12)
    # without the cotangent, ones: the sum of each row of W, which is not dE/dy
    ones = {n.name: n for n in zoom(z).nodes.values() if n.name}
    np.testing.assert_allclose([float(ones[f"y_{i + 1}"].grad) for i in range(3)], W2.sum(1))
