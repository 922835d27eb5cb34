"""QA fixes in the ops: concatenate's axis=None and 0-d inputs, one-axis arguments refused when
not one integer, no-op ops returning a new tensor, and softmax of a row holding +inf.

Oracles: NumPy's own results (np.concatenate, np.split), finite differences (cr.gradcheck),
closed forms (an identity map's gradient is the incoming one) and torch==2.13.0."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError

RNG = np.random.default_rng(7)


# ---------------------------------------------------------------------------------------------
# concatenate(axis=None) flattens each input, as NumPy does; 0-d inputs need axis=None
# ---------------------------------------------------------------------------------------------

PARTS = [RNG.standard_normal((2, 3)), np.array(1.5), RNG.standard_normal(4), np.ones((1, 2, 1))]


def test_concatenate_with_axis_none_flattens_each_input_as_numpy_does() -> None:
    """It joined along axis 0 unflattened ((2, 3) and (4,) refused; 0-d a bare IndexError)."""
    joined = cr.concatenate([cr.tensor(p) for p in PARTS], axis=None)
    np.testing.assert_array_equal(joined.numpy(), np.concatenate(PARTS, axis=None))
    same_shape = [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))]
    np.testing.assert_array_equal(
        cr.concatenate(same_shape, axis=None).numpy(), np.concatenate(same_shape, axis=None)
    )


def test_concatenate_with_axis_none_has_the_finite_difference_gradient() -> None:
    weights = RNG.standard_normal(np.concatenate(PARTS, axis=None).size)

    def f(*parts):
        return (cr.concatenate(list(parts), axis=None) * weights).sum()

    assert cr.gradcheck(f, PARTS).ok
    leaves = [cr.tensor(p, requires_grad=True) for p in PARTS]
    f(*leaves).backward()
    # closed form: each input's gradient is its slice of the weights, in its own shape
    bounds = np.cumsum([0] + [p.size for p in PARTS])
    for leaf, part, lo, hi in zip(leaves, PARTS, bounds[:-1], bounds[1:]):
        np.testing.assert_array_equal(leaf.grad.numpy(), weights[lo:hi].reshape(part.shape))


@pytest.mark.parametrize("axis", [0, -1])
def test_concatenating_0d_tensors_along_an_axis_is_refused_naming_the_shapes(axis) -> None:
    """NumPy: "zero-dimensional arrays cannot be concatenated"; it was an axis out of range
    (and with axis=None a bare IndexError)."""
    parts = [cr.tensor(2.0), cr.tensor([1.0, 2.0])]
    with pytest.raises(ValueError, match="zero-dimensional arrays cannot be concatenated"):
        np.concatenate([p.numpy() for p in parts], axis=axis)
    words = r"^concatenate: zero-dimensional tensors cannot be concatenated"
    with pytest.raises(ShapeError, match=words + r" \(shapes \(\), \(2,\)\)"):
        cr.concatenate(parts, axis=axis)
    # a 0-d tensor after the first: the library's refusal, naming the op and both shapes
    with pytest.raises(ShapeError, match=r"^concatenate: shapes \(2,\) and \(\) .*dimension"):
        cr.concatenate(parts[::-1], axis=axis)


# ---------------------------------------------------------------------------------------------
# An argument that names one axis takes one integer: None or a tuple is refused, not axis 0
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: cr.split(x, 2, axis=None), r"split: axis must be an integer, not None"),
        (lambda x: cr.split(x, 2, axis=(1,)), r"split: axis must be an integer, not \(1,\)"),
        (lambda x: cr.swapaxes(x, None, 1), r"swapaxes: axis1 must be an integer, not None"),
        (lambda x: cr.swapaxes(x, 1, None), r"swapaxes: axis2 must be an integer, not None"),
        (lambda x: x.swapaxes(0.0, 1), r"swapaxes: axis1 must be an integer, not 0.0"),
        (lambda x: cr.concatenate([x, x], axis=(1,)), r"concatenate: axis must be an integer"),
        (lambda x: cr.stack([x, x], axis=None), r"stack: axis must be an integer, not None"),
    ],
)
def test_a_one_axis_argument_that_is_not_one_integer_is_refused_naming_op_and_argument(
    call, message
) -> None:
    """``normalize_axes(...)[0]`` read None as every axis and took the first: axis 0, silently
    (NumPy's np.split refuses axis=None too)."""
    x = cr.tensor(np.arange(24.0).reshape(2, 4, 3))
    with pytest.raises(TypeError):
        np.split(x.numpy(), 2, axis=None)
    with pytest.raises(TypeError, match=message):
        call(x)


def test_one_integer_axes_still_work_as_numpy_takes_them() -> None:
    x = np.arange(24.0).reshape(2, 4, 3)
    t = cr.tensor(x)
    for got, want in zip(cr.split(t, 2, axis=np.int64(-2)), np.split(x, 2, axis=-2)):
        np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(cr.swapaxes(t, -1, np.int32(0)).numpy(), np.swapaxes(x, -1, 0))
    np.testing.assert_array_equal(cr.concatenate([t, t], axis=2).numpy(), np.concatenate([x, x], 2))
    with pytest.raises(ShapeError, match="split: axis 3 is out of range"):
        cr.split(t, 2, axis=3)


# ---------------------------------------------------------------------------------------------
# An op that changes nothing returns a new tensor, connected in the graph
# ---------------------------------------------------------------------------------------------

NO_OPS = {
    "reshape to its shape": lambda x: x.reshape(x.shape),
    "cr.reshape to its shape": lambda x: cr.reshape(x, x.shape),
    "x ** 1": lambda x: x**1,
    "x ** 1.0": lambda x: x**1.0,
    "x ** np.int64(1)": lambda x: x ** np.int64(1),
    "astype its dtype": lambda x: x.astype(x.dtype),
    "astype its dtype's name": lambda x: x.astype("float64"),
    "unary +": lambda x: +x,
    "squeeze nothing": lambda x: x.squeeze(),
    "squeeze an empty tuple": lambda x: cr.squeeze(x, ()),
    "transpose, identity": lambda x: x.transpose((0, 1)),
    "swapaxes of one axis": lambda x: x.swapaxes(1, 1),
    "broadcast_to its shape": lambda x: x.broadcast_to(x.shape),
    "sum over no axes": lambda x: x.sum(axis=()),
}


@pytest.mark.parametrize("op", list(NO_OPS), ids=list(NO_OPS))
def test_a_no_op_returns_a_new_tensor_whose_flags_are_its_own(op) -> None:
    """y = x.reshape(x.shape) was x itself: y.requires_grad_(False) froze the parameter x, and
    y.requires_grad_() on a constant made x require a gradient. Oracle: PyTorch, whose reshape,
    pow, permute and expand give a new tensor (a view) here."""
    f = NO_OPS[op]
    x = cr.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    y = f(x)
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    with pytest.raises(RuntimeError, match="not a leaf"):  # an op's output, as in PyTorch
        y.requires_grad_(False)
    assert x.requires_grad and x.is_leaf

    constant = cr.tensor(RNG.standard_normal((2, 3)))
    f(constant).requires_grad_()
    assert not constant.requires_grad


@pytest.mark.parametrize("op", list(NO_OPS), ids=list(NO_OPS))
def test_a_no_ops_gradient_flows_to_its_input(op) -> None:
    """Closed form: an identity map sends its incoming gradient on unchanged; and finite
    differences through a function that uses the result twice."""
    f = NO_OPS[op]
    w = RNG.standard_normal((2, 3))
    x = cr.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    (f(x) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w)
    assert cr.gradcheck(lambda t: (f(t) * f(t) * w).sum(), [x.numpy()], order=2).ok


def test_a_1d_tensors_transpose_is_a_new_tensor_with_the_gradient_flowing_through() -> None:
    x = cr.tensor(RNG.standard_normal(4), requires_grad=True)
    w = RNG.standard_normal(4)
    for y in (x.T, x.transpose(), cr.transpose(x)):
        assert y is not x
        (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 3 * w)


def test_no_op_results_match_torchs_new_tensors() -> None:
    """torch 2.13 gives a new tensor for each (a view for reshape, permute and expand)."""
    torch = pytest.importorskip("torch")
    tx = torch.ones(2, 3, requires_grad=True)
    for ty in (tx.reshape(2, 3), tx**1, tx.permute(0, 1), tx.expand(2, 3), tx.squeeze()):
        assert ty is not tx and ty.grad_fn is not None
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    for y in (x.reshape(2, 3), x**1, x.transpose((0, 1)), x.broadcast_to((2, 3)), x.squeeze()):
        assert y is not x and y.op is not None


def test_forward_mode_through_no_ops_inside_no_grad() -> None:
    """A jacobian in forward mode under no_grad seeds with a dummy cotangent: it must reach the
    dummy itself (a cast to its own dtype, not recorded there, would have cut it off)."""

    def f(x):
        return (+x).reshape(x.shape).astype(x.dtype) ** 1 * x

    x0 = RNG.standard_normal(3)
    with cr.no_grad():
        j = cr.jacobian(f, mode="forward")(cr.tensor(x0))
    np.testing.assert_allclose(j.numpy(), np.diag(2 * x0), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# softmax and log_softmax of a row holding +inf: NaN throughout, as in PyTorch
# ---------------------------------------------------------------------------------------------

ROWS = np.array(
    [
        [np.inf, 0.0, 1.0],
        [np.inf, np.inf, 1.0],
        [np.inf, -np.inf, 0.0],
        [-np.inf, 0.0, 1.0],
        [-np.inf, -np.inf, -np.inf],
        [np.nan, 0.0, 1.0],
        [1000.0, 0.0, -1000.0],
        [0.5, 1.0, 2.0],
    ]
)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_of_rows_with_infinities_matches_torch(name, axis, dtype) -> None:
    """chainrule gave [nan, 0, 0] for softmax([inf, 0, 1]) (and [nan, -inf, -inf] for
    log_softmax); torch gives NaN throughout. logsumexp's +inf was torch's already."""
    torch = pytest.importorskip("torch")
    values = ROWS.astype(dtype) if axis == -1 else ROWS.T.astype(dtype)
    expected = getattr(torch, name)(torch.from_numpy(values), axis).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf, 0 / 0: NaN, as torch has it
        got = getattr(cr, name)(cr.tensor(values), axis=axis).numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=2e-6 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float64"), "float32"])
def test_astype_of_another_librarys_tensor_to_a_numpy_dtype_warns_nothing(dtype):
    """array-api-strict warns when its dtype is compared with NumPy's (they compare unequal),
    which astype did before looking the dtype up in the tensor's library."""
    xp = pytest.importorskip("array_api_strict")
    x = cr.tensor(xp.asarray([1.0, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.astype(dtype)
    assert out.dtype == getattr(xp, np.dtype(dtype).name)
    assert out.xp is x.xp
