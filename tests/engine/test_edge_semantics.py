"""Edge cases where a quiet wrong answer is worse than an error: casts that round, axes that do
not exist, bounds that are tensors, powers at 0 and below, values that are not numbers, and
the mean of nothing. Oracles: PyTorch where installed, NumPy's own rules, closed forms."""

from __future__ import annotations

import warnings

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
    "base, exponent",
    [(0.0, 0.0), (-2.0, 3.0), (2.0, 0.0), (0.0, 2.0), (1.5, -0.5), (-1.5, 2.0),
     (float("nan"), 0.0), (float("nan"), 1.0)],  # NaN**0 is 1 for every NaN: its slope is 0
)  # fmt: skip
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


@pytest.mark.parametrize("base", [2.0, 0.5, 3.0])
def test_the_mixed_second_derivative_of_a_power_at_exponent_zero_is_symmetric(base) -> None:
    """d2(a**b)/da db = a**(b-1) (1 + b log a), 1/a at b = 0, by either order and by central
    differences. The base rule replaced the exponent by 1 at b = 0 (to keep 0 * 0**-1 from
    being NaN at a = 0), so its own derivative in b came out as a (torch gives 0 there)."""
    hessian = cr.hessian(lambda a, b: a**b, (0, 1))(cr.tensor(base), cr.tensor(0.0))
    h = 1e-5
    difference = ((base + h) ** h - (base + h) ** -h - (base - h) ** h + (base - h) ** -h) / (
        4 * h * h
    )
    for mixed in (hessian[0][1].item(), hessian[1][0].item()):
        assert mixed == pytest.approx(1.0 / base, rel=1e-12)
        assert mixed == pytest.approx(difference, rel=1e-5)


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
    with pytest.warns(UserWarning, match="cut from the graph"):  # x needs a gradient
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


def test_numpy_integer_scalars_and_scalar_clip_bounds_keep_float32_float32() -> None:
    """A NumPy integer or bool is the Python number it holds, as a NumPy float is (and as
    PyTorch takes them); a scalar bound of clip never changes x's dtype, an array bound may."""
    x = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    outs = [x * np.int64(2), x / np.int64(3), x ** np.int64(2), x + np.int32(1), x * np.bool_(1)]
    outs += [
        np.int64(2) * x,
        cr.maximum(x, np.int64(0)),
        cr.clip(x, np.float64(0), np.float64(1.5)),
    ]
    assert [out.dtype for out in outs] == [np.float32] * len(outs)
    np.testing.assert_array_equal((x ** np.int64(2)).numpy(), [1.0, 4.0])
    assert (x ** np.int64(1)).op == "power_scalar"  # the constant exponent's path, as x ** 1 takes
    np.testing.assert_array_equal(outs[-1].numpy(), [1.0, 1.5])
    cr.clip(x, np.float64(0), np.float64(1.5)).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.numpy().tolist() == [1.0, 0.0]
    assert cr.clip(x, np.zeros(2), None).dtype == np.float64  # an array bound: NumPy's rules
    ints = cr.tensor(np.array([1, 5], np.int32))
    assert (ints * np.int64(2)).dtype == cr.clip(ints, np.int64(0), np.int64(3)).dtype == np.int32


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


def _weighted_grads(out, inputs, weights):
    """The gradient of sum(out * weights) (a list of outputs: summed over them) for each input."""
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = outs[0].sum() * 0.0
    for o, w in zip(outs, weights):
        w = o.new_tensor(w) if hasattr(o, "new_tensor") else np.asarray(w)  # torch's, or ours
        total = total + (o * w).sum()
    total.backward()
    return [o.detach().numpy() for o in outs], [t.grad.numpy() for t in inputs]


_N1 = np.int64(1)

#: chainrule with a NumPy integer axis, and the same in PyTorch with a Python int
_AXIS_CASES = {
    "sum": (lambda x: cr.sum(x, axis=_N1), lambda t, x: x.sum(dim=1)),
    "Tensor.sum": (lambda x: x.sum(_N1, keepdims=True), lambda t, x: x.sum(dim=1, keepdim=True)),
    "mean": (lambda x: cr.mean(x, _N1), lambda t, x: x.mean(dim=1)),
    "var": (lambda x: cr.var(x, _N1), lambda t, x: x.var(dim=1, unbiased=False)),
    "max": (lambda x: cr.max(x, _N1), lambda t, x: x.amax(dim=1)),
    "min": (lambda x: x.min(np.int16(-1)), lambda t, x: x.amin(dim=-1)),
    "logsumexp": (lambda x: cr.logsumexp(x, _N1), lambda t, x: x.logsumexp(dim=1)),
    "softmax": (lambda x: cr.softmax(x, _N1), lambda t, x: x.softmax(dim=1)),
    "log_softmax": (lambda x: cr.log_softmax(x, _N1), lambda t, x: x.log_softmax(dim=1)),
    "concatenate": (lambda x: cr.concatenate([x, 2.0 * x], _N1), lambda t, x: t.cat([x, 2 * x], 1)),
    "stack": (lambda x: cr.stack([x, 2.0 * x], _N1), lambda t, x: t.stack([x, 2 * x], 1)),
    "split": (lambda x: cr.split(x, np.int64(3), _N1), lambda t, x: list(t.split(x, 1, 1))),
    "squeeze": (lambda x: cr.squeeze(x[:, :1], _N1), lambda t, x: x[:, :1].squeeze(1)),
    "swapaxes": (lambda x: cr.swapaxes(x, _N1, np.uint8(0)), lambda t, x: x.swapaxes(1, 0)),
}


@pytest.mark.parametrize("name", list(_AXIS_CASES))
def test_a_numpy_integer_axis_is_an_axis_as_in_numpy_and_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = _AXIS_CASES[name]
    x0 = np.random.default_rng(5).standard_normal((2, 3))
    x, xt = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    expected, expected_grads = _weighted_grads(theirs(torch, xt), [xt], [1.5, -0.5, 2.0])
    got, grads = _weighted_grads(ours(x), [x], [1.5, -0.5, 2.0])
    for a, b in zip(got + grads, expected + expected_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_a_numpy_bool_is_still_no_axis() -> None:
    with pytest.raises(TypeError):
        cr.sum(cr.tensor(np.ones((2, 3))), axis=np.True_)


_NAN, _INF = float("nan"), float("inf")
_CLIP_VALUES = [_NAN, -_INF, -1.0, 0.0, 0.5, 1.0, 2.0, _INF]


@pytest.mark.parametrize("bounds", ["both", "low", "high"])
def test_clip_to_tensor_bounds_at_nan_and_infinities_matches_torch_clamp(bounds: str) -> None:
    """Every combination of x, low and high from NaN, infinities, ties and bounds out of order:
    the value is np.clip's (a NaN anywhere gives NaN, as the constant-bound path and
    torch.clamp give it) and each input's gradient is torch.clamp's (x none at a NaN; high's
    where x > high or high < low, even beside a NaN low)."""
    torch = pytest.importorskip("torch")
    grid = np.array(np.meshgrid(*[_CLIP_VALUES] * 3)).reshape(3, -1)
    x0, low0, high0 = grid[0], grid[1], grid[2]
    low0, high0 = (None if bounds == "high" else low0), (None if bounds == "low" else high0)
    arrays = [a for a in (x0, low0, high0) if a is not None]
    weights = np.linspace(0.5, 1.5, x0.size)

    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_low = ts[1] if low0 is not None else None
    t_high = ts[-1] if high0 is not None else None
    expected, expected_grads = _weighted_grads(torch.clamp(ts[0], t_low, t_high), ts, [weights])

    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    c_low = cs[1] if low0 is not None else None
    c_high = cs[-1] if high0 is not None else None
    got, grads = _weighted_grads(cr.clip(cs[0], c_low, c_high), cs, [weights])

    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[0], np.clip(x0, low0, high0))
    np.testing.assert_array_equal(got[0], cr.clip(cr.tensor(x0), low0, high0).numpy())
    for name, a, b in zip(["x", "low", "high"], grads, expected_grads):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("tensor_bounds", [False, True])
def test_clip_with_bounds_out_of_order_on_array_api_strict_is_numpys(tensor_bounds) -> None:
    """low > high gives high, with every gradient where NumPy's path sends it, on a library
    whose own clip refuses the case (the standard leaves it unspecified); NaN and infinities
    included. The oracle: the NumPy path on the same numbers."""
    xs = pytest.importorskip("array_api_strict")
    grid = np.array(np.meshgrid(*[_CLIP_VALUES] * 3)).reshape(3, -1)
    weights = np.linspace(0.5, 1.5, grid.shape[1])
    results = []
    for make in (np.asarray, xs.asarray):
        x, low, high = (cr.tensor(make(a), requires_grad=True) for a in grid)
        if not tensor_bounds:
            low, high = 1.5, 0.5  # constants, out of order
        out = cr.clip(x, low, high)
        (out * cr.tensor(make(weights))).sum().backward()
        grads = [np.asarray(t.grad.data) for t in (x, low, high) if isinstance(t, cr.Tensor)]
        results.append([np.asarray(out.data), *grads])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, expected)


def test_clip_to_a_nan_tensor_bound_is_nan_as_with_a_constant_one() -> None:
    """The defect as found: a NaN bound that requires grad was ignored (0.5, not NaN), and a NaN
    x passed its gradient (1, where torch.clamp and the constant-bound path give 0)."""
    low = cr.tensor([_NAN], requires_grad=True)
    assert np.isnan(cr.clip(cr.tensor([0.5]), low).item())
    x = cr.tensor([_NAN], requires_grad=True)
    cr.clip(x, cr.tensor([0.0], requires_grad=True), None).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0])


_POWER_VALUES = [_NAN, -_INF, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, _INF]


def test_power_of_two_tensors_over_zero_signs_and_infinities_matches_torch() -> None:
    """d(a**b)/db = a**b log a, 0 where a = 0 and b >= 0 (PyTorch's pow_backward_exponent):
    at a = 0 and b < 0 it is inf * -inf = -inf (+inf at a = -0.0), where 0 for log 0 made NaN."""
    torch = pytest.importorskip("torch")
    a0, b0 = np.array(np.meshgrid(_POWER_VALUES, _POWER_VALUES)).reshape(2, -1)
    weights = np.linspace(0.5, 1.5, a0.size)
    a, b = cr.tensor(a0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    with np.errstate(all="ignore"):  # NumPy's warnings for 0 ** -1 and inf * 0 in the forward
        got, grads = _weighted_grads(a**b, [a, b], [weights])
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    expected, expected_grads = _weighted_grads(at**bt, [at, bt], [weights])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-15)  # NaN and inf where torch's are
    np.testing.assert_allclose(grads[1], expected_grads[1], rtol=1e-15)


def test_a_power_of_zero_has_an_infinite_slope_in_a_negative_exponent() -> None:
    """cr.power(0.0, x) = 0**x: d/dx = 0**x log 0 = -inf for x < 0, 0 for x >= 0 (torch.pow)."""
    x = cr.tensor([-1.0, -0.5, 0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):  # 0 ** -1 = inf
        y = cr.power(0.0, x)
    with np.errstate(all="raise"):  # the rule itself is silent
        y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-_INF, -_INF, 0.0, 0.0])


@pytest.mark.parametrize("reduce, name", [(cr.max, "amax"), (cr.min, "amin")])
def test_an_extreme_over_a_nonempty_axis_of_an_empty_tensor_is_empty(reduce, name) -> None:
    torch = pytest.importorskip("torch")
    x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    out = reduce(x, axis=1)
    assert out.shape == tuple(getattr(torch, name)(torch.zeros(0, 3), 1).shape) == (0,)
    assert out.shape == np.zeros((0, 3)).max(axis=1).shape
    out.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ShapeError, match="empty axis"):  # NumPy refuses this one too
        reduce(x, axis=0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_axis_is_empty_as_in_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    x = cr.tensor(np.zeros((2, 0)), requires_grad=True)
    with np.errstate(all="raise"):
        out = getattr(cr, name)(x, -1)
        out.sum().backward()
    assert out.shape == tuple(getattr(torch, name)(torch.zeros(2, 0), -1).shape) == (2, 0)
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_over_an_empty_axis_is_minus_infinity_as_in_torch(keepdims: bool) -> None:
    torch = pytest.importorskip("torch")
    x = cr.tensor(np.zeros((2, 0)), requires_grad=True)
    with np.errstate(all="raise"):
        out = cr.logsumexp(x, axis=1, keepdims=keepdims)
        out.sum().backward()
    expected = torch.logsumexp(torch.zeros(2, 0, dtype=torch.float64), 1, keepdim=keepdims)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert x.grad.shape == (2, 0)


def test_split_of_an_empty_axis_gives_empty_sections_as_numpy_does() -> None:
    x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    parts = cr.split(x, 2)
    assert [p.shape for p in parts] == [a.shape for a in np.split(np.zeros((0, 3)), 2)]
    (parts[0].sum() + parts[1].sum()).backward()
    assert x.grad.shape == (0, 3)


def test_linear_promotes_to_a_wider_bias_as_matmul_and_add_do() -> None:
    """float32 x and W with a float64 bias: float64, as x @ W + b (and torch) give it, not the
    product's float32 (``z += b`` cast the sum down); each gradient in its input's dtype."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    arrays = [
        rng.standard_normal((4, 3)).astype(np.float32),
        rng.standard_normal((3, 2)).astype(np.float32),
        rng.standard_normal(2),
    ]
    weights = np.linspace(0.5, 1.5, 8).reshape(4, 2)
    fused = [cr.tensor(a, requires_grad=True) for a in arrays]
    composed = [cr.tensor(a, requires_grad=True) for a in arrays]
    got, grads = _weighted_grads(cr.linear(*fused), fused, [weights])
    want, want_grads = _weighted_grads(composed[0] @ composed[1] + composed[2], composed, [weights])
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    (expected,), _ = _weighted_grads(ts[0] @ ts[1] + ts[2], ts, [weights])
    assert got[0].dtype == want[0].dtype == expected.dtype == np.float64
    np.testing.assert_allclose(got[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(got[0], want[0])
    for a, b, array in zip(grads, want_grads, arrays, strict=True):
        assert a.dtype == array.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [lambda s: cr.squeeze(s, 0), lambda s: cr.mean(s, 0), lambda s: cr.swapaxes(s, 0, 0)],
)
def test_a_scalar_has_no_axis_to_name_as_in_numpy(call) -> None:
    """NumPy's rule (np.squeeze(np.array(1.0), 0) raises AxisError), which chainrule's sum and
    max already followed: axis 0 of a 0-d tensor leaked an IndexError from squeeze, mean and
    swapaxes."""
    with pytest.raises(ShapeError, match="axis 0 is out of range for a tensor with 0 dim"):
        call(cr.tensor(1.0, requires_grad=True))
    assert cr.squeeze(cr.tensor(1.0)).shape == ()  # no axis named: nothing to drop


# -- the Tensor API as NumPy and PyTorch users call it ------------------------------------------


@pytest.mark.parametrize("axes", [(), (None,), ((1, 0),), (1, 0), ([1, 0],), (np.int64(1), 0)])
def test_transpose_takes_its_axes_as_numpy_does(axes) -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.transpose(*axes).numpy(), x.numpy().transpose(*axes))


@pytest.mark.parametrize("axis", [0, 1, np.int64(0)])
def test_transpose_of_one_axis_for_a_matrix_is_refused_as_in_numpy(axis) -> None:
    """It reversed every axis for 0 (read as "no axes") and failed obscurely for 1."""
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError):  # NumPy: "axes don't match array"
        x.numpy().transpose(axis)
    with pytest.raises(ShapeError, match="not a permutation"):
        x.transpose(axis)
    assert cr.tensor([1.0, 2.0]).transpose(0).shape == (2,)  # one axis of a vector: itself


def test_requires_grad_false_on_a_recorded_output_is_refused() -> None:
    """The graph records its paths through h: dropping them left out their share of x's
    gradient ([2, 4] for the true [10, 20]); PyTorch refuses it too."""
    torch = pytest.importorskip("torch")
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    with pytest.raises(RuntimeError, match="not a leaf.*detach"):
        h.requires_grad_(False)
    ((h * h).sum() + (x * x).sum()).backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ht = xt * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        ht.requires_grad_(False)
    ((ht * ht).sum() + (xt * xt).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert h.requires_grad_(True) is h  # a no-op where it already requires one
    leaf = cr.tensor([1.0], requires_grad=True)
    assert not leaf.requires_grad_(False).requires_grad  # a leaf's flag is the user's


@pytest.mark.parametrize("xp_name", ["numpy", "array_api_strict"])
def test_an_empty_list_index_selects_nothing_as_in_numpy(xp_name) -> None:
    array = np.arange(12.0).reshape(3, 4)
    if xp_name == "numpy":
        x = cr.tensor(array, requires_grad=True)
    else:
        xs = pytest.importorskip("array_api_strict")
        x = cr.tensor(xs.asarray(array), requires_grad=True)
    picked = x[[]]
    assert tuple(picked.shape) == array[[]].shape == (0, 4)
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_the_repr_of_an_empty_matrix_says_its_shape() -> None:
    assert repr(cr.tensor(np.zeros((0, 3)))) == "tensor([], size=(0, 3))"
    assert repr(cr.tensor(np.zeros(0))) == "tensor([])"  # a vector's one axis is empty


def test_integer_tensors_average_on_array_api_strict_and_other_refusals_name_the_op() -> None:
    """mean and var of integers are NumPy's (averaged in the library's float) on a library that
    mixes no integers with floats, as exp is (in the library's default float, as every library
    gives it); what such a library refuses (the maximum of integers and floats) is a TypeError
    that names the op and the inputs' dtypes and shapes, not the library's bare message."""
    xs = pytest.importorskip("array_api_strict")
    values = [1, 2, 3, 7]
    for make in (np.asarray, xs.asarray):
        i = cr.tensor(make(values))
        assert float(cr.mean(i).item()) == pytest.approx(np.mean(values), rel=1e-15)
        assert float(cr.var(i, ddof=1).item()) == pytest.approx(np.var(values, ddof=1), rel=1e-15)
    exp = cr.exp(cr.tensor(xs.asarray(values)))
    assert exp.dtype == xs.float64
    np.testing.assert_allclose(np.asarray(exp.data), np.exp(values), rtol=1e-15)
    floats = cr.tensor(xs.asarray([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(TypeError, match=r"^maximum: inputs int64 \(4,\) and float64 \(4,\)"):
        cr.maximum(cr.tensor(xs.asarray(values)), floats)


def test_an_infinite_gradient_under_an_integer_index_stays_in_its_place_on_array_api_strict():
    """A library with no scatter-add of its own accumulates the gradient of x[[0, 2, 2]] by a
    selection: one infinite entry (log at 0) stays at x[0], NaN nowhere; it was a one-hot
    product, whose inf * 0 made every entry NaN. The oracle: NumPy's add.at on the same."""
    xs = pytest.importorskip("array_api_strict")
    grads = []
    for make in (np.asarray, xs.asarray):
        x = cr.tensor(make([0.0, 1.0, 2.0, 3.0]), requires_grad=True)
        with np.errstate(divide="ignore"):
            cr.log(x[make([0, 2, 2])]).sum().backward()
        grads.append(np.asarray(x.grad.data))
    np.testing.assert_array_equal(grads[0], [np.inf, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(grads[1], grads[0])


def test_numpy_copies_are_copies_and_asarray_shares() -> None:
    """NumPy 2 asks __array__ for a copy (np.array, np.copy): it got the tensor's own array,
    so zeroing the "copy" zeroed the weights the graph had read (w.grad [0, 0, 0])."""
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (w * w).sum()
    with cr.no_grad():  # (while recording, NumPy is refused a tensor that needs a gradient)
        for copied in (np.array(w), np.array(w, copy=True), np.copy(w)):
            copied *= 0
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0, 6.0])  # 2w, as torch gives
    data = cr.tensor([1.0, 2.0, 3.0])
    assert np.shares_memory(np.asarray(data), data.data)  # asarray and copy=None: no copy
    assert np.asarray(data, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="float64 cannot be read as float32 without a copy"):
        np.asarray(data, dtype=np.float32, copy=False)


@pytest.mark.parametrize(
    "numpy_function",
    [
        lambda a, W: np.dot(a, W),
        lambda a, W: np.where(a.numpy() > 0, a, 0.0) @ W,
        lambda a, W: np.concatenate([a, a])[:2] @ W,
    ],  # fmt: skip
)
def test_a_numpy_function_on_a_tensor_that_needs_a_gradient_is_refused(numpy_function) -> None:
    """np.dot(a, W) read a's bare values: the path through it was a constant and the gradient
    silently wrong ([-2.5, -3] for [-4, -5.5]); torch refuses the conversion too."""
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="cannot become a NumPy array: .* t.numpy()"):
        cr.grad(lambda a: cr.sum(a * numpy_function(a, W)))(cr.tensor([0.5, -1.0]))
    expected = np.array([0.5, -1.0]) @ W + W @ np.array([0.5, -1.0])  # a W + W a
    got = cr.grad(lambda a: cr.sum(a * cr.matmul(a, cr.tensor(W))))(cr.tensor([0.5, -1.0]))
    np.testing.assert_allclose(got.numpy(), expected)


def test_deepcopy_and_pickle_take_leaves_and_refuse_an_ops_output() -> None:
    """A deep copy of x * 2 copied the graph behind it: backward through the copy filled the
    copied x's gradient and left the user's None, with no error (torch refuses it)."""
    import copy
    import pickle

    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for take in (copy.deepcopy, pickle.dumps):
        with pytest.raises(RuntimeError, match="take leaf tensors .* copy t.detach"):
            take(x * 2)
    x.grad = cr.tensor(np.ones((2, 2)))
    for again in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert again.requires_grad and again.node is None
        assert not np.shares_memory(again.data, x.data)
        np.testing.assert_array_equal(again.numpy(), x.numpy())
        np.testing.assert_array_equal(again.grad.numpy(), np.ones((2, 2)))
        (again * 3).sum().backward()  # a leaf of its own
    weight = cr.nn.Parameter(np.ones(2), requires_grad=False)
    loaded = pickle.loads(pickle.dumps(weight))
    assert type(loaded) is cr.nn.Parameter and not loaded.requires_grad


def test_creation_takes_a_numpy_integer_as_a_size() -> None:
    assert cr.zeros(np.int64(3)).shape == (3,)  # TypeError: not iterable
    assert cr.ones(np.int32(2), 3).shape == (2, 3)
    assert cr.zeros((np.int64(2), 1)).shape == (2, 1)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0), 1.0])
def test_softmax_takes_one_axis_and_refuses_several(op, axis):
    """A tuple or None axis was cut to its first axis: a softmax over axis 0 alone, where
    torch.softmax(x.reshape(-1), 0) normalises over every element. Refused, naming the fix."""
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=rf"{op}: axis must be one integer axis"):
        getattr(cr, op)(x, axis=axis)


@pytest.mark.parametrize("axis", [1.0, "a", (0, 1.5)])
def test_an_axis_that_is_not_an_integer_is_refused_naming_the_op(axis) -> None:
    x = cr.tensor(np.ones((2, 3)))  # sum(axis=1.0) said "'float' object is not iterable"
    with pytest.raises(TypeError, match=r"^sum: axis must be an integer or a sequence of integers"):
        cr.sum(x, axis=axis)


@pytest.mark.parametrize("axis", [0, 2, -1, (0, 2), (0, 1), (-1, 0), (1, 3)])
def test_expand_dims_takes_several_axes_as_numpy_does(axis) -> None:
    data = np.arange(6.0).reshape(2, 3)  # a tuple was a TypeError from a comparison
    x = cr.tensor(data, requires_grad=True)
    y = cr.expand_dims(x, axis)
    assert y.shape == np.expand_dims(data, axis).shape
    (y * cr.tensor(np.expand_dims(data, axis))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), data)


@pytest.mark.parametrize(("axis", "message"), [((0, 0), "same axis twice"), ((0, 4), "axis 4")])
def test_expand_dims_refuses_axes_outside_the_result_or_repeated(axis, message) -> None:
    with pytest.raises(ShapeError, match=message):
        cr.expand_dims(cr.tensor(np.ones((2, 3))), axis)


def test_zero_grad_takes_tensors_and_collections_of_them() -> None:
    model = cr.nn.Sequential(cr.nn.Linear(2, 1))
    w = cr.tensor([1.0], requires_grad=True)
    model(cr.tensor(np.ones((1, 2)))).sum().backward()
    (w * 2).sum().backward()
    cr.zero_grad([w], model.parameters())  # a list was an AttributeError on the list
    assert w.grad is None and all(p.grad is None for p in model.parameters())
    with pytest.raises(TypeError, match="zero_grad: takes tensors .* not 3"):
        cr.zero_grad([w, 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_a_python_complex_beside_a_tensor_promotes_as_in_numpy(dtype) -> None:
    data = np.ones(2, dtype)  # float32 * 1j was complex128, NumPy's is complex64
    x = cr.tensor(data)
    for y, expected in ((x * 1j, data * 1j), (2j + x, 2j + data), (x - 1j, data - 1j)):
        assert y.dtype == expected.dtype
        np.testing.assert_array_equal(y.numpy(), expected)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min"])
def test_numpys_reductions_on_a_tensor_are_the_tensors_own_recorded_op(name) -> None:
    """np.mean(t) calls t.mean(axis=None, dtype=None, out=None): it raised "unexpected keyword
    argument". Now it is t.mean(), recorded: its gradient is the op's (oracle: NumPy's values
    and central differences)."""
    data = np.array([1.0, 4.0, 2.0])
    t = cr.tensor(data, requires_grad=True)
    y = getattr(np, name)(t)
    assert isinstance(y, cr.Tensor) and y.item() == pytest.approx(getattr(np, name)(data))
    y.backward()
    h, numeric = 1e-6, []
    for k in range(3):
        step = np.eye(3)[k] * h
        numeric.append((getattr(np, name)(data + step) - getattr(np, name)(data - step)) / (2 * h))
    np.testing.assert_allclose(t.grad.numpy(), numeric, atol=1e-8)
    with pytest.raises(TypeError, match=f"{name}: out= is not supported"):
        getattr(np, name)(t, out=np.zeros(()))


@pytest.mark.parametrize("exponent", [1, 1.0, 2.0])
@pytest.mark.parametrize("values", [[1, 2], [True, False]])
def test_a_whole_number_or_bool_tensor_to_a_power_has_numpys_dtype(values, exponent) -> None:
    """``x ** 1`` returned the tensor itself: int64 for ``** 1.0`` where NumPy (and ``** 2.0``)
    give float64, bool where NumPy gives int64."""
    x = np.array(values)
    assert (cr.tensor(values) ** exponent).dtype == (x**exponent).dtype
    np.testing.assert_array_equal((cr.tensor(values) ** exponent).data, x**exponent)


@pytest.mark.parametrize(("shape", "ddof"), [((0,), 0), ((1,), 1), ((3, 0), 0), ((2, 1), 1)])
def test_a_variance_without_degrees_of_freedom_is_nan_as_in_numpy_and_torch(shape, ddof) -> None:
    """It raised where the mean of no values was NaN, and NumPy and torch give NaN."""
    torch = pytest.importorskip("torch")
    x = np.ones(shape)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn of the missing degrees of freedom
        want = np.var(x, axis=-1, ddof=ddof)
        torch_var = torch.var(torch.tensor(x), dim=-1, correction=ddof).numpy()
    with pytest.warns(RuntimeWarning, match="leaves no degrees of freedom"):
        got = cr.var(cr.tensor(x), axis=-1, ddof=ddof)
    np.testing.assert_array_equal(got.data, want)
    np.testing.assert_array_equal(got.data, torch_var)


@pytest.mark.parametrize("indices", [[2, 4], (2, 4), np.array([2, 4]), [np.int64(2), 4]])
def test_split_at_indices_given_as_a_list_tuple_or_array_matches_numpy(indices) -> None:
    x = np.arange(6.0)
    got = cr.split(cr.tensor(x), indices)
    assert [part.data.tolist() for part in got] == [p.tolist() for p in np.split(x, indices)]


@pytest.mark.parametrize("indices", [2.0, [1.5], "ab", np.array([1.0]), [True]])
def test_split_names_itself_for_indices_that_are_not_integers(indices) -> None:
    """``split(x, 2.0)`` raised "Value after * must be an iterable, not float"."""
    with pytest.raises(TypeError, match="split: indices_or_sections must be a number of "
                       "sections or a list of integer indices"):  # fmt: skip
        cr.split(cr.arange(6.0), indices)


@pytest.mark.parametrize("op", [lambda x: x * 300, lambda x: 300 + x, lambda x: x - 1000])
def test_a_python_number_out_of_an_integer_tensors_range_names_both(op):
    """NumPy's OverflowError ("Python integer 300 out of bounds for int8") named neither the
    tensor nor what to do; NumPy's rule stands (the tensor's dtype is kept)."""
    x = cr.tensor(np.array([1, 2], dtype=np.int8))
    message = r"the Python number -?\d+ is out of the range of the int8 tensor it meets .*"
    with pytest.raises(OverflowError, match=message + r"x.astype\('int64'\)"):
        op(x)
    with pytest.raises(OverflowError):
        op(np.array([1, 2], dtype=np.int8))  # NumPy refuses too: the same rule
    assert (op(x.astype("int64")).data == op(np.array([1, 2], dtype=np.int64))).all()


def test_one_no_grad_object_entered_inside_itself_restores_recording():
    """The object kept what it restores: entered again inside itself (a module-level NO_GRAD
    shared by nested functions), it left recording off after both blocks."""
    no_grad = cr.no_grad()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with no_grad:
        with no_grad:
            assert not (x * 2).requires_grad
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled() and (x * 2).requires_grad


def test_no_grad_decorates_a_function():
    """``@cr.no_grad()`` raised "'_GradMode' object is not callable" (torch takes it)."""

    @cr.no_grad()
    def doubled(v):
        return v * 2

    x = cr.tensor([1.0], requires_grad=True)
    assert not doubled(x).requires_grad and (x * 2).requires_grad
    assert doubled.__name__ == "doubled"


INTEGER_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64]


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", INTEGER_DTYPES, ids=lambda d: np.dtype(d).name)
def test_smooth_ops_of_integers_and_booleans_compute_in_the_default_float(library, dtype):
    """exp, log, sqrt, tanh and softplus of bool, int8 and uint8 came out in float16 (NumPy's
    ufuncs: tanh(True) to 3 digits); softmax, log_softmax and logsumexp shifted by the peak in
    the integer dtype, which wraps (int8 [-100, 100, 50] gave -inf, uint8 NaN, torch wrong
    numbers); torch has no softplus of integers. Oracle: the same values as float64 (the
    library's default float on torch)."""
    values = (
        np.array([[0, 1, 1], [1, 0, 1]])
        if dtype is np.bool_
        else np.array(
            [[-100, 100, 50], [0, 100, 50]] if np.dtype(dtype).kind == "i" else [[0, 100, 50]] * 2
        )
    )
    if library == "numpy":
        wrap, as_float = np.asarray, lambda a: np.asarray(a, np.float64)
    else:
        torch = pytest.importorskip("torch")
        wrap, as_float = torch.as_tensor, lambda a: torch.as_tensor(a, dtype=torch.float32)
    positive = np.where(values == 0, 1, np.abs(values))  # for log and sqrt
    ops = {
        "exp": cr.exp, "log": cr.log, "sqrt": cr.sqrt, "tanh": cr.tanh, "softplus": cr.softplus,
        "sigmoid": cr.sigmoid, "softmax": cr.softmax, "log_softmax": cr.log_softmax,
        "logsumexp": cr.logsumexp,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, op in ops.items():
            numbers = positive if name in ("log", "sqrt") else values
            got = op(cr.tensor(wrap(numbers.astype(dtype))))
            want = op(cr.tensor(as_float(numbers)))
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(cr.backend.to_numpy(got.data),
                                          cr.backend.to_numpy(want.data), err_msg=name)  # fmt: skip


@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
def test_a_python_complex_beside_another_librarys_tensor_joins_it(library):
    """torch_tensor * (1 + 2j) was refused as "an operand of torch and one of numpy": the
    number became a NumPy array. Oracle: NumPy's own float32 * 1j (complex64, a weak scalar)
    and the values as complex numbers."""
    xp = pytest.importorskip(library)
    for dtype, complex_dtype in (("float32", "complex64"), ("float64", "complex128")):
        t = cr.tensor(xp.asarray(np.array([1.0, -2.0], dtype=dtype)))
        for out in (t * (1 + 2j), (1 + 2j) + t):
            assert cr.backend.dtype_name(out.dtype) == complex_dtype
            assert out.xp is t.xp
        np.testing.assert_array_equal(cr.backend.to_numpy((t * (1 + 2j)).data),
                                      np.array([1 + 2j, -2 - 4j], dtype=complex_dtype))  # fmt: skip


def test_a_smooth_op_of_a_numpy_integer_scalar_is_a_float():
    """int_tensor.sum() holds a NumPy scalar; as_floating cast it with numpy.astype, which takes
    no scalar before NumPy 2.1 (a TypeError, an AttributeError on 1.x)."""
    total = cr.Tensor(np.array([1, 2, 3])).sum()
    assert cr.backend.as_floating(np.int64(3)) == 3.0
    assert cr.backend.as_floating(np.int64(3)).dtype == np.float64
    assert float(cr.exp(total).item()) == pytest.approx(np.exp(6.0), rel=1e-15)


def test_a_complex_losss_mean_is_taken_without_a_warning():
    """math.isfinite of a complex mean dropped its imaginary part, with NumPy's ComplexWarning
    at every complex-step forward. Oracle: the per-case losses' mean."""
    z = cr.tensor(np.array([0.5 + 1e-20j, -1.0 + 0j]))
    t = np.array([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean = cr.logistic_cross_entropy(z, t).item()
        per_case = cr.logistic_cross_entropy(z, t, reduction="none").numpy()
    assert mean == pytest.approx(per_case.mean(), rel=1e-15)
    assert mean.imag != 0.0  # the step's imaginary part is kept


def test_an_array_parameter_is_named_by_its_shape_in_an_error() -> None:
    """where's condition was printed whole (487 characters for 300 x 300) beside two shapes
    that broadcast, so the message hid the one at fault."""
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError) as caught:
        cr.where(np.ones((300, 300), dtype=bool), x, x)
    message = str(caught.value)
    assert "condition of shape (300, 300)" in message and "array(" not in message
    assert len(message) < 200


@pytest.mark.parametrize("axis", [-4, 3])
def test_stack_names_itself_and_the_result_for_an_axis_out_of_range(axis) -> None:
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=rf"^stack: axis {axis} is out of range for a result "
                       r"with 3 dimensions \(tensors of shape \(2, 3\)\)"):  # fmt: skip
        cr.stack([x, x], axis=axis)
    assert cr.stack([x, x], axis=-3).shape == (2, 2, 3)
    assert cr.stack([x, x], axis=2).shape == (2, 3, 2)
