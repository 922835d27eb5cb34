"""stack names the tensors whose shapes differ by position; logsumexp's gradient is the softmax
divided out of the forward's exponentials, not e^(x - lse) with lse rounded at the size of x.

QA (mixture of experts): ``stack`` of K experts said only the set of shapes, not which expert
was off; ``logsumexp`` in float32 of [1000, 1000, -1000] gave the gradient 0.49998546 for 0.5
(torch's float32 too). Oracles: the positions written down, torch float64, the closed-form
Hessian diag(p) - p p^T, central finite differences (gradcheck).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

# -- stack: which tensor differs -----------------------------------------------------------------


def test_stack_names_the_first_tensor_of_another_shape_by_position():
    experts = [cr.ones((5, 1)), cr.ones((5, 1)), cr.ones((5, 2))]
    with pytest.raises(cr.ShapeError, match=r"tensor 0 has \(5, 1\) and tensor 2 has \(5, 2\)$"):
        cr.stack(experts)


def test_stack_counts_the_other_tensors_that_differ():
    tensors = [cr.ones((5, 1)), cr.ones((5, 2)), cr.ones((5, 1)), cr.ones(3), cr.ones((1, 5))]
    with pytest.raises(cr.ShapeError) as caught:
        cr.stack(tensors)
    assert str(caught.value) == (
        "stack: all tensors need one shape, but tensor 0 has (5, 1) and tensor 1 has (5, 2) "
        "(2 more differ)"
    )


# -- logsumexp: the softmax from the forward's exponentials -------------------------------------


def _grad(x, axis=None, keepdims=False, create_graph=False):
    x = cr.tensor(x, requires_grad=True)
    out = cr.logsumexp(x, axis=axis, keepdims=keepdims)
    ones = np.ones(out.shape, out.dtype)  # not out.sum(): a row's inf + -inf would warn
    (g,) = cr.gradient(out, x, ones, create_graph=create_graph)
    return g


@pytest.mark.parametrize("create_graph", [False, True])
def test_float32_gradient_at_large_logits_is_the_exact_softmax(create_graph):
    g = _grad(np.array([1000.0, 1000.0, -1000.0], np.float32), create_graph=create_graph)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g.numpy(), np.array([0.5, 0.5, 0.0], np.float32))


@pytest.mark.parametrize("axis, keepdims", [(1, False), ((0, 2), True), (None, False)])
def test_float32_gradient_is_closer_to_the_float64_truth_than_torchs_float32(axis, keepdims):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    # logits of a few units around large offsets: lse rounds at the offset's size in float32
    x = rng.normal(size=(3, 4, 5)) * 3 + rng.choice([-900.0, 500.0, 1000.0], (3, 1, 1))
    x = x.astype(np.float32)
    dims = tuple(range(3)) if axis is None else axis
    t64 = torch.tensor(x.astype(np.float64), requires_grad=True)
    torch.logsumexp(t64, dims, keepdim=keepdims).sum().backward()
    t32 = torch.tensor(x, requires_grad=True)
    torch.logsumexp(t32, dims, keepdim=keepdims).sum().backward()
    truth = t64.grad.numpy()
    ours = np.abs(_grad(x, axis, keepdims).numpy().astype(np.float64) - truth).max()
    theirs = np.abs(t32.grad.numpy().astype(np.float64) - truth).max()
    assert ours <= 4 * np.finfo(np.float32).eps, ours  # a few roundings of a probability
    assert ours < theirs, (ours, theirs)


@pytest.mark.parametrize("axis, keepdims", [(-1, False), ((0, 2), True), (None, False)])
def test_float64_gradient_is_the_softmax_to_rounding(axis, keepdims):
    x = np.random.default_rng(1).normal(size=(3, 4, 5)) * 4
    m = x.max(axis=axis, keepdims=True)
    e = np.exp(x - m)
    softmax = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(_grad(x, axis, keepdims).numpy(), softmax, rtol=1e-14, atol=0)


def test_second_derivative_is_diag_p_minus_p_p_transposed():
    for x in (np.random.default_rng(2).normal(size=6), np.array([1000.0, 999.0, -1000.0, 998.5])):
        h = cr.hessian(lambda t: cr.logsumexp(t))(cr.tensor(x)).numpy()
        e = np.exp(x - x.max())
        p = e / e.sum()
        np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("axis, keepdims", [(1, False), ((0, 2), True), (None, False)])
def test_gradcheck_to_second_order(axis, keepdims):
    x = cr.tensor(np.random.default_rng(3).normal(size=(2, 3, 4)), requires_grad=True)
    report = cr.gradcheck(lambda t: cr.logsumexp(t, axis=axis, keepdims=keepdims), [x], order=2)
    assert report.ok, report


@pytest.mark.parametrize("create_graph", [False, True])
def test_rows_of_infinities_and_empty_axes_stay_quiet_and_match_torch(create_graph):
    torch = pytest.importorskip("torch")
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [3.0, np.nan, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _grad(x, axis=1, create_graph=create_graph).numpy()
        empty = _grad(np.zeros((2, 0)), axis=1, create_graph=create_graph).numpy()
    t = torch.tensor(x, requires_grad=True)
    torch.logsumexp(t, 1).sum().backward()
    np.testing.assert_array_equal(got, t.grad.numpy())  # NaN where torch's is NaN, 0 elsewhere
    assert empty.shape == (2, 0)
