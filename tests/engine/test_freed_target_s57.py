"""A target of ``cr.gradient`` whose own graph an earlier pass freed (review, s56).

The gradient with respect to ``h`` needs nothing below ``h``: ``torch.autograd.grad`` answers
it, and so does chainrule now, where ``h`` is the oldest target (no other target can lie in the
graph below it, which is gone). Where another target may lie below it (one made before ``h``),
the pass still refuses: never a silently dropped path. A leaf the user makes is numbered as it
is made (s58), so one made after ``h`` cannot lie below it and is answered too.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphFreedError

A = np.array([1.5, -2.0, 0.25])
X = np.array([0.3, -1.2, 2.5])


def _freed_square(x):
    """x * x (times 3, two nodes deep where ``deep``), its graph freed by a backward()."""
    h = x * x
    (h * 3.0).sum().backward()
    return h


def test_a_freed_target_gets_the_gradient_the_graph_above_it_gives():
    a = cr.tensor(A, requires_grad=True)
    x = cr.tensor(X, requires_grad=True)
    h = _freed_square(x)
    (grad,) = cr.gradient((a * h * h).sum(), [h])
    np.testing.assert_allclose(grad.data, 2 * A * X**2)  # d(a h^2)/dh = 2 a h, h = x^2


def test_it_agrees_with_torch(torch):
    a_t = torch.tensor(A, requires_grad=True)
    h_t = torch.tensor(X, requires_grad=True) ** 2
    h_t.sum().backward()  # frees h_t's graph
    (expected,) = torch.autograd.grad((a_t * h_t.exp()).sum(), [h_t])
    a = cr.tensor(A, requires_grad=True)
    h = _freed_square(cr.tensor(X, requires_grad=True))
    (grad,) = cr.gradient((a * cr.exp(h)).sum(), [h])
    np.testing.assert_allclose(grad.data, expected.numpy(), rtol=1e-12)


def test_the_older_of_two_targets_may_be_freed_and_the_newer_is_differentiated_too():
    a = cr.tensor(A, requires_grad=True)
    h = _freed_square(cr.tensor(X, requires_grad=True))
    g = h * a  # made after h: a target above it
    grad_h, grad_g = cr.gradient((g * g).sum(), [h, g])
    np.testing.assert_allclose(grad_g.data, 2 * A * X**2)
    np.testing.assert_allclose(grad_h.data, 2 * (A * X**2) * A)


@pytest.mark.parametrize("other", ["leaf below", "user leaf made before"])
def test_a_freed_target_with_another_target_that_may_lie_below_it_is_still_refused(other):
    c = cr.tensor(A, requires_grad=True)  # older than h: it may lie below it
    x = cr.tensor(X, requires_grad=True)
    h = _freed_square(x)
    c = x if other == "leaf below" else c
    with pytest.raises(GraphFreedError, match="gradient: the graph through 'mul' was freed"):
        cr.gradient((c * h).sum(), [h, c])


@pytest.mark.parametrize(
    "make_leaf",
    [
        lambda: cr.tensor(A, requires_grad=True),
        lambda: cr.Tensor(A, requires_grad=True),
        lambda: cr.nn.Parameter(A),
        lambda: cr.tensor(A).detach().requires_grad_(),
    ],
    ids=["cr.tensor", "Tensor", "Parameter", "detach"],
)
def test_a_user_leaf_made_after_the_freed_target_is_answered_as_torch_answers(torch, make_leaf):
    h = _freed_square(cr.tensor(X, requires_grad=True))
    c = make_leaf()  # made after h: no op recorded before it can have read it
    grad_h, grad_c = cr.gradient((c * c * cr.exp(h)).sum(), [h, c])
    h_t = torch.tensor(X, requires_grad=True) ** 2
    h_t.sum().backward()
    c_t = torch.tensor(A, requires_grad=True)
    expected = torch.autograd.grad((c_t * c_t * h_t.exp()).sum(), [h_t, c_t])
    np.testing.assert_allclose(grad_h.data, expected[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_c.data, expected[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_c.data, 2 * A * np.exp(X**2), rtol=1e-12)  # closed form


def test_a_leaf_wrapping_an_older_tensor_is_new_to_the_graph():
    """``Tensor(t)`` shares ``t``'s array but is another object: only ops made after it read
    it, so a freed graph that read ``t`` does not hide a path to it."""
    x = cr.tensor(X, requires_grad=True)
    h = _freed_square(x)
    c = cr.Tensor(x, requires_grad=True)
    grad_h, grad_c = cr.gradient((c * h).sum(), [h, c])
    np.testing.assert_allclose(grad_h.data, X)
    np.testing.assert_allclose(grad_c.data, X**2)


def test_a_freed_node_that_is_not_a_target_is_still_refused_on_the_way_to_one():
    x = cr.tensor(X, requires_grad=True)
    h = _freed_square(x)
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        cr.gradient((h * h).sum(), [x])
