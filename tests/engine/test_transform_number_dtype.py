"""A Python number given to a transform beside float32 NumPy arrays is a float32 variable, as
the same number is float32 beside them in an op (``f(x32, 2.0)``): a number never upcasts.
It was float64 on NumPy (float32 beside a torch tensor), so ``grad(f, argnums=1)(x32, 2.0)``
computed the whole function in float64. The oracles: the function's own dtype when called
directly, and its derivative in closed form."""

import numpy as np
import pytest

import chainrule as cr

X32 = np.array([0.5, 1.5], np.float32)


def scaled_sum(a, s):
    return (a * s * s).sum()  # d/ds = 2 s sum(a); d2/ds2 = 2 sum(a)


@pytest.mark.parametrize("a", [X32, cr.tensor(X32)], ids=["array", "tensor"])
def test_grad_with_respect_to_a_number_beside_float32_stays_float32(a):
    assert scaled_sum(cr.tensor(a), 2.0).dtype == np.float32  # the function alone
    value, slope = cr.value_and_grad(scaled_sum, argnums=1)(a, 2.0)
    assert value.dtype == slope.dtype == np.float32
    np.testing.assert_allclose(slope.numpy(), 2 * 2.0 * X32.sum(), rtol=1e-6)


def test_every_argument_keeps_float32_together():
    grads = cr.grad(scaled_sum, argnums=(0, 1))(X32, 2.0)
    assert [g.dtype for g in grads] == [np.float32, np.float32]
    np.testing.assert_allclose(grads[0].numpy(), [4.0, 4.0])


def test_hessian_and_jacobian_with_respect_to_a_number_beside_float32():
    h = cr.hessian(scaled_sum, argnums=1)(X32, 2.0)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h.numpy(), 2 * X32.sum(), rtol=1e-6)
    j = cr.jacobian(lambda a, s: a * s, argnums=1)(X32, 2.0)
    assert j.dtype == np.float32
    np.testing.assert_allclose(j.numpy(), X32)


def test_a_number_takes_the_wider_of_the_calls_floats_and_the_default_alone():
    a64 = X32.astype(np.float64)
    assert cr.grad(lambda a, b, s: (a * b * s).sum(), argnums=2)(X32, a64, 2.0).dtype == np.float64
    assert cr.grad(lambda s: s * s)(3.0).dtype == np.float64  # no array: the library's float
    assert cr.grad(scaled_sum, argnums=1)(np.array([1, 2]), 2.0).dtype == np.float64  # integers


def test_a_complex_number_is_refused_as_alone_not_by_a_cast():
    with pytest.raises(TypeError, match="only real floating-point tensors can require"):
        cr.grad(lambda a, s: (a * s).sum(), argnums=1)(X32, 1 + 2j)
