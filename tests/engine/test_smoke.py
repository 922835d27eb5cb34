"""The seed example end to end: chainrule's dE/dy_i equals sum_j w_ij dE/dz_j computed by hand."""

import numpy as np

import chainrule as cr


def test_seed_example_hidden_unit_gradient_is_the_sum_over_j():
    y = cr.tensor([[0.2, 0.7]], requires_grad=True)
    W = cr.tensor([[0.1, -0.4, 0.3], [0.5, 0.2, -0.6]], requires_grad=True)
    b = cr.zeros(3, requires_grad=True)
    t = np.array([1.0, 0.0, 1.0])
    out = cr.sigmoid(y @ W + b)
    E = 0.5 * ((cr.tensor(t[None]) - out) ** 2).sum()
    E.backward()

    z = np.array([0.2, 0.7]) @ W.numpy()
    y_j = 1 / (1 + np.exp(-z))
    dE_dz = y_j * (1 - y_j) * -(t - y_j)
    expected = [sum(W.numpy()[i, j] * dE_dz[j] for j in range(3)) for i in range(2)]
    np.testing.assert_allclose(y.grad.numpy()[0], expected, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), dE_dz, rtol=1e-12)
    np.testing.assert_allclose(W.grad.numpy(), np.outer([0.2, 0.7], dE_dz), rtol=1e-12)
