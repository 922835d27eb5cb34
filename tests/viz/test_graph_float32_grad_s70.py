"""A leaf's ``.grad`` after one backward is never drawn as stale, in float32 too; a real stale
one (two backward calls without ``zero_grad``) still is, in float32 and float64."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.graph import _same, graph


def trained(dtype: str, activation: str = "logistic"):
    """A small MLP trained a few steps on random data, ten classes (the softmax's sum of ten
    rounds differently when recomputed), and a batch to draw."""
    rng = np.random.default_rng(0)
    X = rng.random((96, 12)).astype(dtype)
    y = rng.integers(0, 10, 96)
    model = nn.mlp([12, 16, 8, 10], activation=activation, output=None, dtype=dtype, rng=0)
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        for k in range(0, 96, 32):
            opt.zero_grad()
            nn.CrossEntropy()(model(cr.tensor(X[k : k + 32])), y[k : k + 32]).backward()
            opt.step()
    opt.zero_grad()
    return model, X[:32], y[:32]


def drawn(model, X, y, backwards: int):
    loss = nn.CrossEntropy()(model(cr.tensor(X)), y)
    for _ in range(backwards):
        loss.backward(retain_graph=True)
    names = {id(p): k for k, p in model.named_parameters()}
    return graph(loss, names=names)


@pytest.mark.parametrize("activation", ["logistic", "relu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_backward_shows_no_stale_grad(dtype, activation):
    model, X, y = trained(dtype, activation)
    g = drawn(model, X, y, backwards=1)
    svg = g.to_svg(use_graphviz=False)
    assert ".grad holds" not in svg
    assert ".grad holds" not in g.to_dot()
    leaves = [n for n in g.nodes.values() if n.stored_grad is not None]
    assert len(leaves) == 6
    for n in leaves:  # the drawing's pass reproduces the engine's numbers
        assert n.grad.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(n.stored_grad, n.grad.astype(np.float64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_backwards_without_zero_grad_are_shown(dtype):
    model, X, y = trained(dtype)
    g = drawn(model, X, y, backwards=2)
    leaves = [n for n in g.nodes.values() if n.stored_grad is not None]
    assert leaves and all(not _same(n.stored_grad, n.grad) for n in leaves)
    assert g.to_svg(use_graphviz=False).count(".grad holds") == len(leaves)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_is_relative_to_the_arrays_scale(dtype):
    eps = np.finfo(dtype).eps
    grad = np.array([1.0, -0.5, 1e-6, 0.0], dtype=dtype)
    # a reordered sum over cases: a few ulps of the largest entry, on an entry far smaller
    rounded = grad.astype(np.float64) + np.array([0.0, 0.0, 8 * eps, -8 * eps])
    assert _same(rounded, grad)
    assert not _same(2 * grad.astype(np.float64), grad)  # a stale .grad: twice the gradient
    assert not _same(grad.astype(np.float64) + [0, 0, 1e-3, 0], grad)
    assert not _same(grad[:3].astype(np.float64), grad)  # another shape
    assert _same(np.zeros(3), np.zeros(3, dtype))
    assert not _same(np.array([0.0, 1e-30, 0.0]), np.zeros(3, dtype))
