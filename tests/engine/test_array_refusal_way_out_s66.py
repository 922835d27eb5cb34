"""Optimising a network's input with scipy: ``g = cr.grad(f)(x)``, ``f`` calling a network whose
parameters require a gradient, is itself differentiable (transforms nest), so scipy's
``np.asarray(g)`` is refused. The refusal spoke of NumPy's functions and chainrule's ops, which
the user never called; it now says why such a result needs a gradient and the ways out, each
of which is checked here to give the gradient (central differences)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

TARGET = np.array([[0.7]])


def _setup():
    net = nn.Sequential(
        nn.Linear(3, 5, dtype="float64", rng=0), nn.Tanh(), nn.Linear(5, 1, dtype="float64", rng=1)
    )

    def f(x):
        return nn.MSE()(net(x.reshape((1, 3))), TARGET) + 0.01 * (x * x).sum()

    return net, f


X0 = np.array([0.3, -0.2, 0.5])


def _central(f, x, eps=1e-6):
    return np.array([(f(x + e).item() - f(x - e).item()) / (2 * eps) for e in np.eye(x.size) * eps])


def test_the_refusal_names_the_ways_out_and_each_gives_the_gradient():
    net, f = _setup()
    g = cr.grad(f)(X0)
    assert g.requires_grad  # nested: the parameters require a gradient
    with pytest.raises(TypeError) as refused:
        np.asarray(g)
    message = str(refused.value)
    assert message.startswith("a tensor that needs a gradient cannot become a NumPy array")
    for way_out in ("g.numpy()", "g.detach()", "cr.no_grad()", "requires_grad_(False)"):
        assert way_out in message
    assert "network's parameters" in message
    expected = _central(f, X0)
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g.detach()), expected, rtol=1e-6)
    with cr.no_grad():
        np.testing.assert_allclose(np.asarray(cr.grad(f)(X0)), expected, rtol=1e-6)
    for p in net.parameters():
        p.requires_grad_(False)
    np.testing.assert_allclose(np.asarray(cr.grad(f)(X0)), expected, rtol=1e-6)
