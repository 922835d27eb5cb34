"""The logistic of a complex number: right where e^-z overflows (a complex step at a very
negative input), against mpmath's 50-digit value and the real logistic's derivative."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

mpmath = pytest.importorskip("mpmath")  # comes with sympy, the app extra's


def _reference(z: complex) -> complex:
    with mpmath.workdps(50):
        return complex(1 / (1 + mpmath.exp(-mpmath.mpc(z))))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_the_complex_logistic_is_accurate_on_both_sides_of_the_imaginary_axis(dtype):
    rng = np.random.default_rng(0)
    # the poles lie at i pi (2k + 1): |Im z| <= 2 keeps a distance from them
    z = (rng.standard_normal(2000) * 6 + 1j * rng.uniform(-2, 2, 2000)).astype(dtype)
    got = cr.sigmoid(cr.tensor(z)).numpy()
    want = np.array([_reference(complex(v)) for v in z])
    assert got.dtype == np.dtype(dtype)
    eps = np.finfo(dtype).eps
    np.testing.assert_array_less(np.abs(got - want), 16 * eps * np.abs(want) + 1e-300)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_a_complex_step_through_the_logistic_gives_its_derivative_at_any_input(dtype):
    """sigma(x + ih) = sigma(x) + ih sigma'(x) + O(h^2): finite, and the real logistic's
    value and derivative, from -800 to 800 (at -800 e^-z overflows: the old path gave nan)."""
    real, h = ("float32", 1e-4) if dtype == "complex64" else ("float64", 1e-8)
    x = np.linspace(-800, 800, 3201).astype(real)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning either
        got = cr.sigmoid(cr.tensor((x + 1j * h).astype(dtype))).numpy()
        value, mirrored = cr.sigmoid(cr.tensor(x)).numpy(), cr.sigmoid(cr.tensor(-x)).numpy()
    assert np.all(np.isfinite(got))
    # sigma' = sigma(x) (1 - sigma(x)) = sigma(x) sigma(-x), the second without cancellation
    step = h * value.astype(np.float64) * mirrored.astype(np.float64)
    eps, tiny = np.finfo(real).eps, np.finfo(real).tiny
    # where e^-x overflows the real path gives 0 and the complex one e^x, a subnormal; h
    # sigma'(x) underflows there too: both sides are below the smallest normal number
    np.testing.assert_allclose(got.real, value, rtol=4 * eps, atol=tiny)
    np.testing.assert_allclose(got.imag, step, rtol=64 * eps, atol=tiny)


def test_the_complex_logistic_keeps_its_limits_and_propagates_nan():
    z = np.array([complex(-np.inf, 1), complex(np.inf, -1), -1000 + 1000j, 1000 - 1000j])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cr.sigmoid(cr.tensor(z)).numpy()
    np.testing.assert_array_equal(got, [0, 1, 0, 1])
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.sigmoid(cr.tensor(np.array([complex(np.nan, 0)]))).numpy()).all()
    zero_d = cr.sigmoid(cr.tensor(np.array(-3 + 2j))).data
    assert type(zero_d) is np.ndarray and zero_d.shape == ()


def test_the_array_api_path_takes_the_same_side():
    xp = pytest.importorskip("array_api_strict")
    z = np.array([-1000 + 1e-20j, -3 + 2j, 0j, 2 - 1j, 1000 + 1j])
    got = cr.sigmoid(cr.tensor(xp.asarray(z))).data
    assert np.all(np.isfinite(np.asarray(got)))  # e^-z overflowed to nan + nan j before
    np.testing.assert_allclose(np.asarray(got), cr.sigmoid(cr.tensor(z)).numpy(), rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_array_api_real_logistic_does_not_overflow(dtype):
    """Real inputs of another array library take the side where e^(-|z|) <= 1: no overflow
    warning at large negative z (the one-sided 1 / (1 + e^-z) warned there), the same values
    as NumPy's path (to a few units in the last place; below the smallest normal number NumPy's
    gives 0 where e^-z overflows, this one e^z), exact limits, NaN kept."""
    xp = pytest.importorskip("array_api_strict")
    x = np.concatenate([np.linspace(-1000, 1000, 4001), [-np.inf, np.inf, -0.0]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = np.asarray(cr.sigmoid(cr.tensor(xp.asarray(x))).data)
    want = cr.sigmoid(cr.tensor(x)).numpy()
    assert got.dtype == np.dtype(dtype)
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny
    np.testing.assert_allclose(got, want, rtol=4 * eps, atol=tiny)
    assert got[-3] == 0 and got[-2] == 1 and got[-1] == 0.5
    with np.errstate(invalid="ignore"):
        nan = cr.sigmoid(cr.tensor(xp.asarray(np.array([np.nan], dtype)))).data
    assert np.isnan(np.asarray(nan)).all()
