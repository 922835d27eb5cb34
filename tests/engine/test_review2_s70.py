"""cr.norm at a zero vector and its arguments.

1. The norm has no second derivative at a zero vector (its slope x / norm jumps there), yet the
   recorded backward gave 0: ``hessian(lambda x: norm(x) ** 2)`` at 0 was [[0, 0], [0, 0]] where
   it is 2I, a finite wrong number. It is NaN there now, as torch's, in reverse and forward
   mode, with the first derivative's 0 (torch's subgradient) kept.
2. ``x.norm(1)`` and ``cr.norm(x, 1)`` read the 1 as the axis, where torch (``x.norm(1)``,
   ``torch.norm(x, 1)``) and NumPy (``numpy.linalg.norm(x, 1)``) read it as the order of the
   norm: another number, silently. The axis is a keyword; a positional argument and ``ord=``
   are refused saying what chainrule's norm is.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# 1. the second derivative at a zero vector
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_hessian_of_the_squared_norm_at_zero_is_nan_not_a_wrong_zero(dtype) -> None:
    zero = np.zeros(2, dtype=dtype)
    hessian = cr.hessian(lambda x: cr.norm(x) ** 2)(zero).numpy()
    expected = torch.autograd.functional.hessian(
        lambda x: torch.linalg.vector_norm(x) ** 2, torch.tensor(zero)
    ).numpy()
    assert np.isnan(expected).all()
    assert np.isnan(hessian).all() and hessian.dtype == np.dtype(dtype)
    # written as the sum of squares it has one: 2I
    np.testing.assert_array_equal(cr.hessian(lambda x: (x * x).sum())(zero).numpy(), 2 * np.eye(2))


@pytest.mark.parametrize("f", [
    lambda x: cr.norm(x) ** 2,
    lambda x: cr.norm(x),
    lambda x: cr.norm(x) ** 3,
], ids=["norm^2", "norm", "norm^3"])  # fmt: skip
def test_no_mode_gives_a_finite_second_derivative_at_zero(f) -> None:
    zero = np.zeros(3)
    assert np.isnan(cr.hessian(f)(zero).numpy()).all()
    forward = cr.jacobian(cr.grad(f), mode="forward")(zero).numpy()
    assert np.isnan(forward).all()
    # a Hessian-vector product whose v sums to 0 over the vector is NaN too
    assert np.isnan(cr.hvp(f, [zero], [np.array([1.0, -1.0, 0.0])]).numpy()).all()
    assert np.isnan(cr.jvp(cr.grad(f), [zero], [np.array([1.0, -1.0, 0.0])])[1].numpy()).all()


def test_the_first_derivative_at_zero_stays_torch_s_zero_when_recorded() -> None:
    x = cr.tensor(np.array([[-0.0, 0.0], [3.0, 4.0]]), requires_grad=True)
    (g,) = cr.gradient(cr.norm(x, axis=1).sum(), [x], create_graph=True)
    (plain,) = cr.gradient(cr.norm(x, axis=1).sum(), [x])
    np.testing.assert_array_equal(g.numpy(), [[0.0, 0.0], [0.6, 0.8]])
    assert np.signbit(g.numpy()).tolist() == np.signbit(plain.numpy()).tolist()
    assert cr.jvp(lambda x: cr.norm(x), [np.zeros(2)], [np.array([1.0, 0.0])])[1].item() == 0.0


def test_a_zero_row_s_nan_stays_in_its_own_block() -> None:
    """Only the zero row's gradient, differentiated in the zero row, has no value: the other
    row's curvature is torch's and the cross blocks are 0 (torch spreads its NaN over them)."""
    rows = np.array([[0.0, 0.0], [3.0, 4.0]])
    hessian = cr.hessian(lambda x: cr.norm(x, axis=1).sum())(rows).numpy()
    u = np.array([0.6, 0.8])
    assert np.isnan(hessian[0, :, 0, :]).all()
    np.testing.assert_allclose(hessian[1, :, 1, :], (np.eye(2) - np.outer(u, u)) / 5, rtol=1e-12)
    np.testing.assert_array_equal(hessian[0, :, 1, :], 0.0)
    np.testing.assert_array_equal(hessian[1, :, 0, :], 0.0)


def test_normalize_s_hessian_away_from_zero_is_unchanged() -> None:
    rows = np.array([[1.0, -2.0], [3.0, 4.0]])

    def f(x):
        return (x / cr.maximum(cr.norm(x, axis=1, keepdims=True), 1e-12)).sum()

    def ft(x):
        return torch.nn.functional.normalize(x, dim=1).sum()

    expected = torch.autograd.functional.hessian(ft, torch.tensor(rows)).numpy()
    np.testing.assert_allclose(cr.hessian(f)(rows).numpy(), expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# 2. the order of the norm is not the axis
# ---------------------------------------------------------------------------------------------

MATRIX = np.array([[3.0, -4.0], [1.0, 2.0]])


@pytest.mark.parametrize("call", [
    lambda x: x.norm(1),
    lambda x: x.norm(2),
    lambda x: cr.norm(x, 1),
    lambda x: cr.norm(x, 0, True),
], ids=["x.norm(1)", "x.norm(2)", "cr.norm(x, 1)", "cr.norm(x, 0, True)"])  # fmt: skip
def test_a_positional_argument_after_the_tensor_is_refused_as_torch_s_order(call) -> None:
    with pytest.raises(TypeError) as caught:
        call(cr.tensor(MATRIX))
    message = str(caught.value)
    assert message.startswith("norm: ") and "order of the norm" in message
    assert "2-norm only" in message and "axis=1" in message and "abs(x).sum(axis=...)" in message


def test_ord_and_p_are_refused_naming_the_library_whose_name_they_are() -> None:
    x = cr.tensor(MATRIX)
    with pytest.raises(TypeError, match=r"norm: ord=2 is NumPy's ord, .*leave ord= out.*2-norm"):
        cr.norm(x, ord=2)
    with pytest.raises(TypeError, match=r"norm: p=1 is PyTorch's p, .*abs\(x\)\.sum"):
        x.norm(p=1)
    with pytest.raises(TypeError, match=r"norm: dim= is PyTorch's name; .*axis="):
        cr.norm(x, dim=1)


def test_the_axis_by_keyword_is_the_2_norm_over_it() -> None:
    x = cr.tensor(MATRIX)
    expected = torch.linalg.vector_norm(torch.tensor(MATRIX), dim=1).numpy()
    np.testing.assert_allclose(x.norm(axis=1).numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(cr.norm(x, axis=1, keepdims=True).numpy()[:, 0], expected)
