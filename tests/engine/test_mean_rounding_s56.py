"""``mean`` and ``var`` divide by the count, as NumPy and PyTorch do: multiplying by ``1 / n``
added a rounding, 1 ulp off NumPy's float32 mean for about a third of inputs, and ``var`` (which
centres on that mean) grew the error with the data's offset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

_finite32 = st.floats(-1e4, 1e4, width=32, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, st.integers(2, 40), elements=_finite32))
def test_a_float32_mean_is_numpys_to_the_last_bit(values):
    # up to 40 values NumPy sums pairwise in one block, in order: the same additions as ours
    assert cr.mean(cr.tensor(values)).data == np.mean(values)


def test_the_float32_variance_of_offset_data_is_as_close_as_numpys():
    values = np.array([1e4 + 0.1, 1e4 + 0.2, 1e4 + 0.3], dtype=np.float32)
    exact = np.var(values.astype(np.float64))  # of the float32 numbers themselves
    ours = float(cr.var(cr.tensor(values)).data)
    assert ours == np.var(values)
    assert abs(ours - exact) <= 5e-5 * exact  # it was 2.5e-4 off (float32 rounding: 1.6e-5)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_the_gradient_of_a_mean_is_still_one_over_the_count(axis):
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    cr.mean(x, axis).sum().backward()
    count = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
    np.testing.assert_allclose(x.grad.data, np.full((2, 3), 1.0 / count), rtol=1e-15)


@pytest.mark.parametrize("reduce", [cr.mean, cr.var])
def test_a_float16_reduction_over_more_values_than_float16_holds_is_not_zero(reduce):
    # count 70,000 in float16 is inf: divided by it, every mean and variance was 0, and so was
    # the gradient (a float16 MSE of a 512 x 160 batch stopped learning)
    values = np.linspace(0.25, 0.75, 70_000).astype(np.float16)
    x = cr.tensor(values, requires_grad=True)
    result = reduce(x)
    result.backward()
    wide = values.astype(np.float64)
    assert result.dtype == np.float16
    np.testing.assert_allclose(float(result.data), getattr(np, reduce.__name__)(wide), rtol=2e-2)
    # the closed forms: 1 / n, and 2 (x - mean) / n
    closed = np.full_like(wide, 1 / wide.size) if reduce is cr.mean else 2 * (wide - wide.mean())
    closed = closed if reduce is cr.mean else closed / wide.size
    np.testing.assert_allclose(x.grad.data.astype(np.float64), closed, rtol=0.1, atol=1e-7)


def test_a_float16_mse_on_torch_over_a_large_batch_matches_torch(torch):
    from chainrule import nn

    p = cr.tensor(torch.full((512, 160), 0.1, dtype=torch.float16), xp=torch, requires_grad=True)
    t = cr.tensor(torch.zeros((512, 160), dtype=torch.float16), xp=torch)
    loss = nn.MSE()(p, t)
    loss.backward()
    ref = torch.full((512, 160), 0.1, dtype=torch.float16, requires_grad=True)
    torch.nn.functional.mse_loss(ref, torch.zeros_like(ref)).backward()
    assert abs(loss.item() - 0.01) < 2e-4  # torch: 0.009995; it was 0.0
    np.testing.assert_allclose(p.grad.data[0, 0].item(), ref.grad[0, 0].item(), rtol=5e-2)


@pytest.mark.parametrize("count", [3, 1000, 2_100_001])
def test_a_float16_mean_is_numpys_computed_in_float32(count):
    # past 65504 values the fix after 9ab7e2c multiplied by 1 / count, subnormal in float16 (6%
    # off at 2.1e6 values, 19% at 2e7, 0 past 2**25): NumPy and PyTorch average in float32
    values = np.random.default_rng(count).uniform(0.0005, 0.0015, count).astype(np.float16)
    assert cr.mean(cr.tensor(values)).data == np.mean(values)
