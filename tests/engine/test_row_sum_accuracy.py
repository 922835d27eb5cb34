"""Gradients summed over many cases keep a cascade sum's accuracy.

A bias's gradient is a sum over the cases axis (a Linear layer's, or a bias added by broadcasting,
``x + b``). Adding the rows one at a time, as one BLAS product or NumPy's sum over axis 0 does,
has a float32 error that grows with the rows: about 5e-6 relative at 60,000, where PyTorch's
cascade sum keeps near 1e-7. Each sum here is compared with the exact sum of the same float32
values (float64 adds 60,000 of them exactly enough: its error is 1e-16 x 60,000 of the total).
"""

import numpy as np
import pytest

import chainrule as cr

CASES = 60_013  # not a multiple of any block of rows
N_OUT = 6


def _relative_error(got, values):
    exact = values.astype(np.float64).sum(axis=tuple(range(values.ndim - 1)))
    return np.max(np.abs(got.astype(np.float64) - exact) / np.abs(exact))


def _upstream(shape, dtype):
    """Positive values, so the running sum only grows and one pass's error is at its largest."""
    return np.random.default_rng(3).uniform(0.5, 1.5, shape).astype(dtype)


def _linear_bias_gradient(upstream):
    """dE/db of a Linear layer with E = sum(layer(x) * upstream): the sum of upstream's cases."""
    dtype = upstream.dtype
    layer = cr.nn.Linear(2, upstream.shape[-1], dtype=dtype)
    x = cr.tensor(np.ones(upstream.shape[:-1] + (2,), dtype))
    (layer(x) * cr.tensor(upstream)).sum().backward()
    return layer.bias.grad.numpy()


def _broadcast_bias_gradient(upstream, bias_shape):
    """dE/db for E = sum((x + b) * upstream), b broadcast over the cases (unbroadcast's sum)."""
    b = cr.tensor(np.zeros(bias_shape, upstream.dtype), requires_grad=True)
    ((cr.tensor(np.zeros_like(upstream)) + b) * cr.tensor(upstream)).sum().backward()
    return b.grad.numpy()


@pytest.mark.parametrize("shape", [(CASES, N_OUT), (61, 1_003, N_OUT)], ids=["2-d", "3-d"])
def test_linear_bias_gradient_of_many_float32_cases_is_accurate(shape):
    upstream = _upstream(shape, np.float32)
    got = _linear_bias_gradient(upstream)
    assert got.dtype == np.float32 and got.shape == (N_OUT,)
    assert _relative_error(got, upstream) < 1e-6  # one pass: about 5e-6


@pytest.mark.parametrize(
    ("shape", "bias_shape"),
    [
        ((CASES, N_OUT), (N_OUT,)),
        ((CASES, N_OUT), (1, N_OUT)),
        ((61, 1_003, N_OUT), (N_OUT,)),
        ((61, 1_003, N_OUT), (1, 1, N_OUT)),
    ],
)
def test_broadcast_bias_gradient_of_many_float32_cases_is_accurate(shape, bias_shape):
    upstream = _upstream(shape, np.float32)
    got = _broadcast_bias_gradient(upstream, bias_shape)
    assert got.dtype == np.float32 and got.shape == bias_shape
    assert _relative_error(got.reshape(-1), upstream) < 1e-6


def test_a_sum_over_cases_and_a_later_axis_is_accurate():
    """b of shape (1, 3, 1) beside (cases, 3, 2): the cases and the last axis are both summed."""
    upstream = _upstream((2 * CASES, 3, 2), np.float32)
    got = _broadcast_bias_gradient(upstream, (1, 3, 1))
    exact = upstream.astype(np.float64).sum(axis=(0, 2), keepdims=True)
    assert got.dtype == np.float32 and got.shape == (1, 3, 1)
    assert np.max(np.abs(got - exact) / exact) < 1e-6


def test_bias_gradient_with_create_graph_is_accurate():
    """Tensor mode (create_graph: Hessians, gradients of gradients) sums the same way."""
    upstream = _upstream((CASES, N_OUT), np.float32)
    layer = cr.nn.Linear(2, N_OUT, dtype=np.float32)
    x = cr.tensor(np.ones((CASES, 2), np.float32))
    out = (layer(x) * cr.tensor(upstream)).sum()
    (db,) = cr.gradient(out, [layer.bias], create_graph=True)
    assert _relative_error(db.numpy(), upstream) < 1e-6


@pytest.mark.parametrize("cases", [4_095, 4_096, 4_097, 4_096 + 64 * 64, CASES])
def test_float64_sums_match_an_exact_sum(cases):
    """Either side of where blocking starts, and at block-aligned and ragged counts."""
    upstream = _upstream((cases, N_OUT), np.float64)
    exact = upstream.astype(np.longdouble).sum(axis=0)
    for got in (_linear_bias_gradient(upstream), _broadcast_bias_gradient(upstream, (N_OUT,))):
        assert got.dtype == np.float64
        assert np.max(np.abs(got - exact) / exact) < 1e-14


def test_a_layer_batch_keeps_the_one_pass_bit_for_bit():
    """Below the blocking threshold the bias gradient is still the one BLAS product ones @ g."""
    upstream = _upstream((4_095, N_OUT), np.float32)
    want = np.ones(len(upstream), np.float32) @ upstream
    assert np.array_equal(_linear_bias_gradient(upstream), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_cases_give_zeros(dtype):
    upstream = np.zeros((0, N_OUT), dtype)
    for got in (_linear_bias_gradient(upstream), _broadcast_bias_gradient(upstream, (N_OUT,))):
        assert got.dtype == dtype and got.shape == (N_OUT,)
        assert np.array_equal(got, np.zeros(N_OUT, dtype))


def test_no_outputs_over_many_cases():
    upstream = np.zeros((CASES, 0), np.float32)
    assert _broadcast_bias_gradient(upstream, (0,)).shape == (0,)
    b = cr.tensor(np.zeros(0, np.float32), requires_grad=True)
    x = cr.tensor(np.ones((CASES, 2), np.float32))
    cr.linear(x, np.zeros((2, 0), np.float32), b).sum().backward()
    assert b.grad.shape == (0,)


@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul")  # dE/dW's inf, nan
def test_nan_and_inf_reach_the_sum_over_many_cases():
    upstream = _upstream((CASES, 3), np.float32)
    upstream[-1, 0] = np.inf  # in the ragged tail
    upstream[100, 1] = np.nan  # in a block
    got = _linear_bias_gradient(upstream)
    assert got[0] == np.inf and np.isnan(got[1]) and np.isfinite(got[2])


@pytest.mark.parametrize("bias_shape", [(3,), (1, 3)])
def test_blocked_gradients_equal_finite_differences(bias_shape):
    """In float64, over more cases than the threshold (ragged), to second order (tensor mode)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5_000, 2)) * 0.3
    weight = rng.standard_normal((2, 3))
    u = rng.standard_normal((5_000, 3)) / 5_000

    def through_linear(b):
        return (cr.tanh(cr.linear(x, weight, b.reshape(3))) * u).sum()

    def through_broadcast(b):
        return (cr.tanh(cr.tensor(x @ weight) + b) * u).sum()

    b = rng.standard_normal(bias_shape)
    for f in (through_linear, through_broadcast):
        assert cr.gradcheck(f, [b], order=2, raise_on_failure=True)


def test_each_layout_of_many_rows_is_summed_accurately():
    """A broadcast gradient (a mean's seed) is its row times the rows, a Fortran-ordered one
    NumPy's pairwise sum bit for bit, a strided one blocked on a copy: each within a float32
    rounding or two of the float64 sum. The broadcast one went to NumPy's sum, which adds its
    rows one at a time: a mean's bias gradient read 0.9995 of its value at 60,000 rows."""
    from chainrule.backend import sum_rows
    from chainrule.ops.shape import _sum_to

    rng = np.random.default_rng(7)
    value = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    broadcast = np.broadcast_to(value, (100_000, 3))
    np.testing.assert_allclose(sum_rows(broadcast), 100_000 * value.astype(np.float64), rtol=1e-7)
    stacked = np.broadcast_to(value, (400, 300, 3))  # several case axes, all broadcast
    np.testing.assert_allclose(
        _sum_to(stacked, (3,)), 120_000 * value.astype(np.float64), rtol=1e-7
    )
    fortran = np.asfortranarray(rng.uniform(0.5, 1.5, (60_000, 3)).astype(np.float32))
    np.testing.assert_array_equal(_sum_to(fortran, (3,)), fortran.sum(axis=0))
    strided = rng.uniform(0.5, 1.5, (60_000, 30)).astype(np.float32)[:, ::10]
    exact = strided.astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(sum_rows(strided), exact, rtol=1e-6)


def test_a_means_bias_gradient_over_many_rows_is_exact():
    """The oracle: d mean(x W + b) / db_j = 1 / n_out for every j, whatever the rows."""
    layer = cr.nn.Linear(3, 2, rng=0)
    x = cr.tensor(np.ones((100_000, 3), np.float32))
    layer(x).mean().backward()
    np.testing.assert_allclose(layer.bias.grad.numpy(), [0.5, 0.5], rtol=1e-6)


def test_many_broadcast_integers_and_booleans_sum_as_numpy_sums_them():
    """The broadcast shortcut (row times rows, in float64) cast back to int8 wrapped; integers
    and booleans take NumPy's exact sum in its wider dtype, as a copied array does."""
    from chainrule.ops.shape import _sum_to

    for row in (np.array([3, 100, 1], np.int8), np.array([True, False, True])):
        broadcast = np.broadcast_to(row, (5000, 3))
        summed = _sum_to(broadcast, (1, 3))
        expected = broadcast.copy().sum(axis=0, keepdims=True)
        np.testing.assert_array_equal(summed, expected)
        assert summed.dtype == expected.dtype
