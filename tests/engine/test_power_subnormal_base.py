"""d(a**b)/da at b = 0 is 0 for a subnormal base too, as for every other base.

The rule took the base as 1 only where a was 0 or NaN, so a subnormal a gave 0 * a**-1, where
a**-1 overflows (1 / 1e-40 is inf in float32): a NaN gradient where PyTorch gives 0. The
oracles: the closed forms d/da = b a**(b-1) (0 at b = 0) and d/db = a**b log a, and torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SUBNORMAL = {"float32": 1e-40, "float64": 1e-310}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_subnormal_base_to_the_power_zero_has_slope_zero(dtype, sign) -> None:
    value = sign * SUBNORMAL[dtype]
    a = cr.tensor(np.array([value, 2.0, 0.0], dtype=dtype), requires_grad=True)
    b = cr.tensor(np.zeros(3, dtype=dtype), requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(3, dtype=dtype))
    ta = torch.tensor([value, 2.0, 0.0], dtype=getattr(torch, dtype), requires_grad=True)
    tb = torch.zeros(3, dtype=getattr(torch, dtype), requires_grad=True)
    (ta**tb).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    if sign > 0:  # d/db = a**0 log a = log a (log of a negative base is NaN, as torch's)
        expected = [math.log(np.array(value, dtype=dtype)), math.log(2.0)]
        np.testing.assert_allclose(b.grad.numpy()[:2], expected, rtol=1e-6)


def test_a_normal_small_base_keeps_the_closed_form() -> None:
    """b a**(b-1) at b = 0.5, a = 1e-30 (normal in float32): the base is not replaced."""
    a = cr.tensor(np.float32(1e-30), requires_grad=True)
    b = cr.tensor(np.float32(0.5), requires_grad=True)
    (a**b).backward()
    np.testing.assert_allclose(a.grad.numpy(), 0.5 * 1e-30**-0.5, rtol=1e-6)
