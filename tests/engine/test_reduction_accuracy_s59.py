"""Forward reductions over many rows keep a cascade sum's accuracy; logsumexp's -inf rows are quiet.

NumPy sums a leading axis that is not the whole array (axis 0 of a tall matrix) by adding its rows
one at a time, so the float32 error grew with the rows: the mean of a million rows of 100.5 was
101.36 and their variance 0.74. From ``backend.BLOCKED_ROWS`` elements on, ``sum`` (and mean,
var, logsumexp, softmax, built on it) adds such rows in blocks, as the backward's bias sums do.
The references are float64 sums of the same values (exact enough: 1e-16 x the rows) and torch.
"""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

ROWS = 1_000_003  # not a multiple of any block of rows


def _uniform(shape, dtype=np.float32, seed=0):
    """Positive values, so a running sum only grows and one pass's error is at its largest."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)


def _relative_error(got, exact):
    got = np.asarray(got, np.float64)
    return float(np.max(np.abs(got - exact) / np.abs(exact)))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_mean_and_var_of_a_constant_tall_column_are_exact(dtype, torch):
    x = np.full((10**6, 2), 100.5, dtype)
    mean, var = cr.mean(cr.tensor(x), 0), cr.var(cr.tensor(x), 0)
    assert mean.dtype == var.dtype == dtype
    np.testing.assert_array_equal(mean.numpy(), [100.5, 100.5])  # one pass: 101.36
    np.testing.assert_array_equal(var.numpy(), [0.0, 0.0])  # one pass: 0.74
    t = torch.from_numpy(x.astype(np.float32))
    np.testing.assert_array_equal(mean.numpy(), t.mean(0).numpy())
    np.testing.assert_array_equal(var.numpy(), t.var(0, correction=0).numpy())


def test_float16_sum_of_many_rows_does_not_stall():
    """float16 added one row at a time stalls where the spacing passes the addend (4,096 for
    1.5); in blocks the total is exact."""
    x = np.full((10**4, 3), 1.5, np.float16)
    got = cr.sum(cr.tensor(x), 0)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.numpy(), [15_000.0] * 3)  # one pass: 4096


def test_sum_mean_var_of_random_tall_float32_match_float64(torch):
    x = _uniform((ROWS, 3))
    wide = x.astype(np.float64)
    t = cr.tensor(x)
    assert _relative_error(cr.sum(t, 0).numpy(), wide.sum(0)) < 1e-6  # one pass: 2e-5
    assert _relative_error(cr.mean(t, 0).numpy(), wide.mean(0)) < 1e-6
    assert _relative_error(cr.var(t, 0).numpy(), wide.var(0)) < 1e-6
    assert _relative_error(cr.mean(t, 0).numpy(), torch.from_numpy(x).mean(0).numpy()) < 1e-6


def test_float64_sum_of_many_rows_keeps_its_dtype_and_is_tighter():
    x = _uniform((ROWS, 3), np.float64)
    exact = np.array([math.fsum(column) for column in x.T.tolist()])  # correctly rounded
    got = cr.sum(cr.tensor(x), 0).numpy()
    assert got.dtype == np.float64
    assert _relative_error(got, exact) < 1e-15  # one pass: 2.6e-14; in blocks 1e-16


@pytest.mark.parametrize(
    ("axis", "kept"),
    [((0, 1), (2,)), ((0, 2), (1,)), ((0,), (1, 2))],
    ids=["(0, 1)", "(0, 2)", "0"],
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_leading_axes_of_a_3d_tensor_with_keepdims(axis, kept, keepdims):
    x = _uniform((20_000, 20, 3))
    wide = x.astype(np.float64)
    got = cr.sum(cr.tensor(x), axis, keepdims=keepdims).numpy()
    expected = wide.sum(axis, keepdims=keepdims)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert _relative_error(got, expected) < 1e-6  # one pass: 4e-6 to 2e-5
    got_mean = cr.mean(cr.tensor(x), axis, keepdims=keepdims).numpy()
    assert got_mean.shape == expected.shape
    assert _relative_error(got_mean, wide.mean(axis, keepdims=keepdims)) < 1e-6


def test_the_gradient_of_a_tall_sum_is_unchanged():
    x = cr.tensor(_uniform((10**5, 2)), requires_grad=True)
    total = cr.sum(x, 0, keepdims=True)
    assert total.shape == (1, 2)
    (total * cr.tensor(np.array([[2.0, 3.0]], np.float32))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.tile([[2.0, 3.0]], (10**5, 1)))
    assert _relative_error(total.numpy(), x.numpy().astype(np.float64).sum(0)) < 1e-6


def test_small_tensors_keep_numpys_sum_bit_for_bit():
    """The per-op path is unchanged below BLOCKED_ROWS elements (a guard: the old code passes):
    the same bits as NumPy's sum, in the same dtype; float16 is added in float32 and rounded
    once (s71: NumPy's float16 running sum stalled, 1,024 rows of 0.1 gave 108.2), PyTorch's."""
    rng = np.random.default_rng(1)
    for shape, axis in [((16, 8), 0), ((16, 8), None), ((4095, 1), 0), ((64, 63), (0, 1))]:
        for dtype in (np.float32, np.float16, np.int32):
            x = (rng.standard_normal(shape) * 10).astype(dtype)
            got = cr.sum(cr.tensor(x), axis).numpy()
            if dtype is np.float16:
                expected = np.asarray(x.sum(axis=axis, dtype=np.float32).astype(np.float16))
            else:
                expected = np.asarray(x.sum(axis=axis))
            assert got.dtype == expected.dtype
            assert got.tobytes() == expected.tobytes()


def test_logsumexp_and_softmax_over_a_tall_axis_0():
    x = _uniform((ROWS, 2))
    wide = x.astype(np.float64)
    exact = np.log(np.exp(wide - 1.5).sum(0)) + 1.5
    got = cr.logsumexp(cr.tensor(x), 0).numpy()
    assert np.max(np.abs(got - exact)) < 2e-6  # one pass: 4e-5
    probabilities = cr.softmax(cr.tensor(x), 0).numpy().astype(np.float64)
    np.testing.assert_allclose(probabilities.sum(0), 1.0, rtol=1e-6)
    log_probabilities = cr.log_softmax(cr.tensor(x), 0).numpy().astype(np.float64)
    np.testing.assert_allclose(np.exp(log_probabilities).sum(0), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "row", [[-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]], ids=["-inf", "+inf"]
)
def test_logsumexp_of_an_infinite_row_is_quiet(row, torch):
    values = np.array([row, [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor(values, requires_grad=True)
        out = cr.logsumexp(x, 1)
        out.sum().backward()
    t = torch.tensor(values, requires_grad=True)
    expected = torch.logsumexp(t, 1)
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy())
    assert out.numpy()[0] == row[0]  # -inf, or +inf
    # the gradient e^(x - out), as PyTorch's: NaN throughout a row of -inf (-inf - -inf), NaN
    # at a +inf (inf - inf) and 0 beside it
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), equal_nan=True)
    assert np.isnan(x.grad.numpy()[0, 0])
