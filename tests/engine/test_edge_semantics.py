"""Edge cases where a quiet wrong answer is worse than an error: casts that round, axes that do
not exist, bounds that are tensors, powers at 0 and below, values that are not numbers, and
the mean of nothing. Oracles: PyTorch where installed, NumPy's own rules, closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import ShapeError


def test_a_cast_to_integers_is_cut_from_the_graph() -> None:
    x = cr.tensor([0.4, 1.6], requires_grad=True)
    rounded = (x * 2.0).astype("int64")
    assert rounded.dtype == np.int64 and not rounded.requires_grad
    np.testing.assert_array_equal(rounded.numpy(), [0, 3])
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (rounded.astype("float64") * 3.0).sum().backward()
    assert not x.astype(bool).requires_grad
    x.astype("float32").sum().backward()  # a float cast still carries the gradient
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t: t.transpose(0, 3), "out of range"),
        (lambda t: t.transpose(1, 2), "out of range"),
        (lambda t: t.transpose(0, 0), "not a permutation"),
        (lambda t: t.swapaxes(0, 5), "axis 5 is out of range"),
        (lambda t: t.sum(axis=(1, 1)), "same axis twice"),
        (lambda t: t.mean(axis=(1, -1)), "same axis twice"),
    ],
)
def test_axes_that_do_not_exist_or_repeat_are_refused(call, message: str) -> None:
    t = cr.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ShapeError, match=message):
        call(t)


def test_negative_axes_still_name_axes_from_the_end() -> None:
    t = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert t.swapaxes(0, -1).shape == (3, 2) and t.transpose(-1, 0).shape == (3, 2)
    np.testing.assert_array_equal(t.sum(axis=-1).numpy(), [3.0, 12.0])


def test_clip_sends_the_gradient_to_tensor_bounds_where_they_win() -> None:
    x0, low0, high0 = (
        np.array([0.0, 1.0, 0.6]),
        np.array([0.5, 0.5, 0.5]),
        np.array([2.0, 0.8, 0.7]),
    )
    x, low, high = (cr.tensor(a, requires_grad=True) for a in (x0, low0, high0))
    weights = np.array([1.0, 2.0, 3.0])
    (cr.clip(x, low, high) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 3.0])  # only inside [low, high]
    np.testing.assert_array_equal(low.grad.numpy(), [1.0, 0.0, 0.0])  # x below low
    np.testing.assert_array_equal(high.grad.numpy(), [0.0, 2.0, 0.0])  # x above high
    assert cr.gradcheck(lambda a, b, c: cr.clip(a, b, c) * weights, [x0, low0, high0])


def test_clip_to_tensor_bounds_matches_torch_clamp() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x0, low0 = rng.standard_normal(8), rng.standard_normal(8) - 0.5
    x, low = cr.tensor(x0, requires_grad=True), cr.tensor(low0, requires_grad=True)
    (cr.clip(x, low, 0.7) ** 2).sum().backward()
    xt, lowt = (torch.tensor(a, requires_grad=True) for a in (x0, low0))
    (torch.clamp(torch.clamp(xt, min=lowt), max=0.7) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(low.grad.numpy(), lowt.grad.numpy(), rtol=1e-15)


@pytest.mark.parametrize(
    "base, exponent", [(0.0, 0.0), (-2.0, 3.0), (2.0, 0.0), (0.0, 2.0), (1.5, -0.5), (-1.5, 2.0)]
)
def test_power_of_two_tensors_at_its_edges_matches_torch(base: float, exponent: float) -> None:
    torch = pytest.importorskip("torch")
    a, b = cr.tensor([base], requires_grad=True), cr.tensor([exponent], requires_grad=True)
    (a**b).sum().backward()
    at, bt = (torch.tensor([v], dtype=torch.float64, requires_grad=True) for v in (base, exponent))
    (at**bt).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=1e-15)  # NaN for a < 0


def test_power_at_zero_exponent_is_constant_in_the_base_without_a_warning() -> None:
    a, b = cr.tensor([0.0, 3.0], requires_grad=True), cr.tensor([0.0, 0.0], requires_grad=True)
    with np.errstate(all="raise"):
        (a**b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.0, np.log(3.0)])


@pytest.mark.parametrize("value", ["a", None, np.array([1.0, 2.0], dtype=object), ["1", "2"]])
def test_values_that_are_not_numbers_are_refused_naming_the_dtype(value) -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="holds numbers.*dtype"):
        x + value


def test_jvp_names_a_tangent_of_the_wrong_shape() -> None:
    with pytest.raises(
        ValueError, match=r"tangent 0 has shape \(2,\) but input 0 has shape \(3,\)"
    ):
        cr.jvp(lambda v: v * 2, (np.ones(3),), (np.ones(2),))


def test_the_mean_of_no_values_is_nan_as_in_numpy() -> None:
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.zeros((3, 0)).mean(axis=1)
    assert np.isnan(cr.tensor(np.zeros(0)).mean().item())
    np.testing.assert_array_equal(cr.tensor(np.zeros((3, 0))).mean(axis=1).numpy(), expected)
    assert cr.tensor(np.zeros((3, 0))).mean(axis=0).shape == (0,)


def test_tensor_copies_the_array_it_is_given() -> None:
    """Refilling the caller's array must not change a recorded graph or its gradients, and an
    in-place update of the tensor must not write into the caller's array."""
    values = np.array([1.0, 2.0])
    x = cr.tensor(values, requires_grad=True)
    y = (x * x).sum()
    values *= 10
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    x.data -= 1.0
    np.testing.assert_array_equal(values, [10.0, 20.0])
    shared = np.array([1.0, 2.0])
    assert np.shares_memory(cr.Tensor(shared).data, shared)  # the constructor wraps, by design
    assert cr.tensor(x).data is not x.data


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_integer_logits_give_a_float_cross_entropy(library) -> None:
    """Integer logits are promoted as softmax promotes them: the loss is not truncated to an
    integer (it was 0 and 1 here). The oracle: the same logits as floats."""
    xp = np if library == "numpy" else pytest.importorskip("array_api_strict")
    logits = xp.asarray([[1, 2, 3], [0, 5, -1]])
    as_floats = xp.asarray([[1.0, 2.0, 3.0], [0.0, 5.0, -1.0]])
    for targets in ([2, 0], [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]):
        got = cr.softmax_cross_entropy(cr.tensor(logits), xp.asarray(targets))
        want = cr.softmax_cross_entropy(cr.tensor(as_floats), xp.asarray(targets))
        assert backend_is_floating(got) and float(got.item()) == pytest.approx(float(want.item()))


def backend_is_floating(t: cr.Tensor) -> bool:
    return cr.backend.is_floating(t.dtype, t.xp)


def test_a_numpy_float_exponent_keeps_a_float32_base_float32() -> None:
    """np.float64 is a Python float: ** treats it as * and + do, and as PyTorch does."""
    x = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    for exponent in (np.float64(0.5), 0.5):
        y = x**exponent
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y.numpy(), np.sqrt(np.array([1.0, 2.0], np.float32)))
    assert (x * np.float64(0.5)).dtype == (x ** np.float64(0.5)).dtype == np.float32
    (x ** np.float64(3.0)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0], rtol=1e-6)


@pytest.mark.parametrize("reduce", [cr.max, cr.min])
def test_a_nan_extreme_sends_its_gradient_to_the_nans(reduce) -> None:
    """max/min of a slice with a NaN is NaN; its NaNs share the gradient (PyTorch's full max
    gives [1, 0] for [nan, 1]) with no 0/0 and no warning; other slices are unchanged."""
    import warnings

    x = cr.tensor([[np.nan, 1.0, np.nan], [2.0, 3.0, 3.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reduce(x, axis=1).sum().backward()
    tie = [0.0, 0.5, 0.5] if reduce is cr.max else [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5, 0.0, 0.5], tie])
    whole = cr.tensor([np.nan, 1.0], requires_grad=True)
    reduce(whole).backward()
    np.testing.assert_array_equal(whole.grad.numpy(), [1.0, 0.0])
