"""Numerics of the losses and the nn ops at their edges: integer outputs against float targets,
infinite logits and gradients, large logits, confident predictions and empty batches.

Oracles: PyTorch's ``torch.nn.functional``, closed forms, and central differences in float64.
"""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def central_difference(f, x, h=1e-6):
    """The gradient of the scalar f at the float64 array x, by central differences."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def sigmoid_less(z, t):
    """sigmoid(z) - t, with no cancellation where sigmoid(z) is near 1: (1 - t) - sigmoid(-z)."""
    with np.errstate(over="ignore"):
        return np.where(z > 0, (1 - t) - 1 / (1 + np.exp(z)), 1 / (1 + np.exp(-z)) - t)


# ---------------------------------------------------------------------------------------------
# Integer (and boolean) outputs: float targets are read as floats, never truncated
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("targets", [np.eye(3)[[2, 0]], [[0.2, 0.3, 0.5], [1, 0, 0]]])
def test_cross_entropy_reads_probability_rows_beside_integer_logits(targets):
    """Integer logits with one-hot or soft (n, k) rows: probabilities, as for float logits (the
    rows were cast to int64 and then read as labels: IndexError)."""
    torch = pytest.importorskip("torch")
    logits = [[1, 2, 3], [0, 0, 5]]
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(targets, dtype=torch.float64)
    ).item()
    loss = nn.CrossEntropy()(cr.tensor(logits), targets)
    assert loss.dtype == np.float64
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    np.testing.assert_allclose(
        cr.softmax_cross_entropy(cr.tensor(logits), np.asarray(targets, dtype=float)).item(),
        expected,
        rtol=1e-14,
    )


def test_integer_outputs_keep_float_targets_whole():
    """MSE, SquaredError, BinaryCrossEntropy and MarginSquaredError of an integer output compare
    it with the targets as given, not with the targets truncated to integers."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    np.testing.assert_allclose(nn.MSE()(cr.tensor([1, 2]), [0.5, 0.5]).item(), 1.25)
    np.testing.assert_allclose(nn.SquaredError()(cr.tensor([1, 2]), [0.5, 0.5]).item(), 1.25)
    sums = nn.SquaredError(reduction="mean")(cr.tensor([[1], [2]]), [0.5, 0.5])
    np.testing.assert_allclose(sums.item(), 0.625)
    bce = nn.BinaryCrossEntropy()(cr.tensor([[2], [2]]), [[0.3], [0.7]])
    expected = F.binary_cross_entropy_with_logits(
        torch.tensor([[2.0], [2.0]], dtype=torch.float64),
        torch.tensor([[0.3], [0.7]], dtype=torch.float64),
    ).item()
    np.testing.assert_allclose(bce.item(), expected, rtol=1e-14)
    margin = nn.MarginSquaredError(measured_from="target")(cr.tensor([[0]]), [[0.9]])
    np.testing.assert_allclose(margin.item(), 0.5 * 0.9**2)
    # a boolean output is read in floats as well
    np.testing.assert_allclose(nn.MSE()(cr.tensor([True, False]), [0.5, 0.5]).item(), 0.25)


def test_float_outputs_still_take_the_targets_to_their_dtype():
    """The cast to a float output's dtype stays: a float32 network's loss is float32."""
    z = cr.tensor(np.array([[0.5, -1.0]], dtype=np.float32), requires_grad=True)
    for loss in (nn.MSE(), nn.SquaredError(), nn.BinaryCrossEntropy(), nn.MarginSquaredError()):
        E = loss(z, [[1.0, 0.0]])
        E.backward()
        assert E.dtype == np.float32 and z.grad.dtype == np.float32, type(loss).__name__
        z.grad = None


@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
def test_integer_outputs_keep_float_targets_on_another_array_library(library):
    """In the library's float (float32 in torch): the standard mixes no integers with floats,
    so the loss takes the integer output there itself."""
    torch = pytest.importorskip("torch")
    xp = pytest.importorskip(library)
    F = torch.nn.functional
    rows = np.eye(3)[[2, 0]]
    expected = F.cross_entropy(torch.tensor([[1.0, 2, 3], [0, 0, 5]]), torch.tensor(rows)).item()
    logits = cr.tensor(xp.asarray([[1, 2, 3], [0, 0, 5]]))
    loss = nn.CrossEntropy()(logits, xp.asarray(rows))
    np.testing.assert_allclose(float(loss.item()), expected, rtol=1e-6)
    output = cr.tensor(xp.asarray([1, 2]))
    for targets in ([0.5, 0.5], [1, 1]):
        squares = (np.array([1, 2]) - targets) ** 2
        mse = nn.MSE()(output, xp.asarray(targets))
        np.testing.assert_allclose(float(mse.item()), squares.mean())
        half_sum = nn.SquaredError()(output, xp.asarray(targets))
        np.testing.assert_allclose(float(half_sum.item()), squares.sum() / 2)
    bce = nn.BinaryCrossEntropy()(cr.tensor(xp.asarray([[2], [2]])), xp.asarray([[0.3], [0.7]]))
    np.testing.assert_allclose(float(bce.item()), 1.1269280110429725, rtol=1e-6)
    margin = nn.MarginSquaredError(measured_from="target")
    np.testing.assert_allclose(float(margin(cr.tensor(xp.asarray([[0]])), [[0.9]]).item()), 0.405)


# ---------------------------------------------------------------------------------------------
# Cross-entropy: a -inf logit on another array library, and an empty batch
# ---------------------------------------------------------------------------------------------


def test_cross_entropy_with_a_minus_infinite_logit_on_torch_arrays():
    """A class that is not the label may have logit -inf (masked out): its probability is 0 and
    the loss finite, on the array API path as on NumPy's (0 * -inf was NaN there)."""
    torch = pytest.importorskip("torch")
    z = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -1.0]])
    labels = np.array([2, 0])
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(labels)).item()
    np.testing.assert_allclose(expected, (math.log1p(math.e) - 1 + math.log1p(math.e**-3)) / 2)
    logits = cr.tensor(z, xp=torch, requires_grad=True)
    loss = cr.softmax_cross_entropy(logits, torch.tensor(labels))
    loss.backward()
    np.testing.assert_allclose(float(loss.item()), expected, rtol=1e-14)
    np.testing.assert_allclose(cr.softmax_cross_entropy(z, labels).item(), expected, rtol=1e-14)
    zt = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(zt, torch.tensor(labels)).backward()
    np.testing.assert_allclose(logits.grad.data.numpy(), zt.grad.numpy(), rtol=1e-14)
    per_case = cr.softmax_cross_entropy(cr.tensor(z, xp=torch), torch.tensor(labels), "none")
    assert bool(torch.isfinite(per_case.data).all())


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_soft_targets_of_0_on_a_minus_infinite_logit_mask_the_class_out(library):
    """A class whose logit is -inf and whose target is 0 adds nothing (0 log 0 = 0): the loss is
    the loss of the same case with that class removed (PyTorch gives NaN here). A target > 0 on
    it is an infinite loss, as it should be."""
    xp = pytest.importorskip(library)
    z = np.array([[0.0, -np.inf, 1.0], [1.0, 2.0, 3.0]])
    t = np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])
    kept = cr.softmax_cross_entropy(z[:1, [0, 2]], t[:1, [0, 2]], reduction="sum").item()
    # the oracle for case 0: -sum_j t_j log softmax_j over the two classes left, by hand
    log_norm = math.log(math.exp(0.0) + math.exp(1.0))
    assert kept == pytest.approx(0.5 * (log_norm - 0.0) + 0.5 * (log_norm - 1.0), rel=1e-14)
    second = cr.softmax_cross_entropy(z[1:], t[1:], reduction="sum").item()
    logits = cr.tensor(xp.asarray(z), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value in multiply' either
        loss = cr.softmax_cross_entropy(logits, xp.asarray(t), reduction="sum")
        loss.backward()
    assert float(loss.item()) == pytest.approx(kept + second, rel=1e-14)
    grad = np.asarray(logits.grad.data)
    assert grad[0, 1] == 0.0 and np.isfinite(grad).all()
    leaky = cr.softmax_cross_entropy(xp.asarray(z[:1]), xp.asarray([[0.5, 0.25, 0.25]]))
    assert float(leaky.item()) == math.inf


@pytest.mark.parametrize("xp_name", ["numpy", "torch"])
def test_cross_entropy_mean_over_no_cases_is_nan(xp_name):
    """The mean of no losses is NaN, as PyTorch's and chainrule's own mean give; a sum is 0."""
    torch = pytest.importorskip("torch")
    xp = torch if xp_name == "torch" else None
    labels = torch.zeros(0, dtype=torch.int64) if xp else np.zeros(0, dtype=np.int64)
    expected = torch.nn.functional.cross_entropy(torch.zeros(0, 3), torch.zeros(0).long())
    assert math.isnan(expected.item())
    logits = cr.tensor(np.zeros((0, 3)), xp=xp, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN quietly, as 0 / 0 in cr.mean
        mean = cr.softmax_cross_entropy(logits, labels)
        assert math.isnan(float(mean.item()))
        assert math.isnan(float(nn.CrossEntropy()(logits, labels).item()))
        rows = np.zeros((0, 3)) if xp is None else torch.zeros(0, 3, dtype=torch.float64)
        assert math.isnan(float(cr.softmax_cross_entropy(logits, rows).item()))
        assert float(cr.softmax_cross_entropy(logits, labels, reduction="sum").item()) == 0.0
        mean.backward()
    assert tuple(logits.grad.shape) == (0, 3)


# ---------------------------------------------------------------------------------------------
# log_softmax at large logits
# ---------------------------------------------------------------------------------------------


def test_log_softmax_keeps_the_precision_of_large_logits():
    """(z - max) - log sum exp(z - max), not z - (log sum + max): in float32 at 1000 the latter
    rounded log sum + max to 1000's spacing (6e-5) and lost four digits."""
    torch = pytest.importorskip("torch")
    z = np.array([[1000.0, 999.0, 0.0], [-5e3, -5e3 + 0.5, -5e3 - 2]], dtype=np.float32)
    exact = z.astype(np.float64) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))[:, None]
    exact -= z.max(1, keepdims=True)
    x = cr.tensor(z, requires_grad=True)
    out = cr.log_softmax(x)
    weights = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0]], dtype=np.float32)
    (out * weights).sum().backward()
    zt = torch.tensor(z, requires_grad=True)
    reference = torch.log_softmax(zt, -1)
    (reference * torch.tensor(weights)).sum().backward()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), exact, rtol=2e-7, atol=0)
    np.testing.assert_allclose(out.numpy(), reference.detach().numpy(), rtol=2e-7, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_log_softmax_gradient_matches_central_differences():
    z = np.array([[1000.0, 999.0, 0.0], [0.3, -1.2, 2.5]])
    weights = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0]])
    x = cr.tensor(z, requires_grad=True)
    (cr.log_softmax(x) * weights).sum().backward()

    def f(a):
        return float((cr.log_softmax(cr.tensor(a)).numpy() * weights).sum())

    np.testing.assert_allclose(x.grad.numpy(), central_difference(f, z), rtol=1e-7, atol=1e-8)


def test_log_softmax_of_integers_and_edges_as_before():
    np.testing.assert_allclose(
        cr.log_softmax(cr.tensor([[1, 2, 3]])).numpy(), cr.log_softmax([[1.0, 2.0, 3.0]]).numpy()
    )
    with np.errstate(all="ignore"):
        out = cr.log_softmax(cr.tensor(np.array([[-np.inf, 0.0, 1.0]]))).numpy()
    np.testing.assert_allclose(out, [[-np.inf, -math.log1p(math.e), 1 - math.log1p(math.e)]])


# ---------------------------------------------------------------------------------------------
# relu: an infinite gradient where the unit is off
# ---------------------------------------------------------------------------------------------


def test_relu_sends_zero_where_off_even_for_an_infinite_gradient():
    """sqrt(relu(x)) at x = -1: d sqrt/dy at 0 is inf, relu's slope 0, and PyTorch gives 0."""
    torch = pytest.importorskip("torch")
    for dtype in (np.float64, np.float32):
        x = cr.tensor(np.array([-1.0, 2.0, 0.0], dtype=dtype), requires_grad=True)
        with np.errstate(divide="ignore"):
            cr.sqrt(cr.relu(x)).sum().backward()
        xt = torch.tensor(np.array([-1.0, 2.0, 0.0], dtype=dtype), requires_grad=True)
        torch.sqrt(torch.relu(xt)).sum().backward()
        assert x.grad.dtype == dtype
        ours, theirs = x.grad.numpy(), xt.grad.numpy()
        np.testing.assert_array_equal(ours == 0, theirs == 0)  # exactly 0 where off, not NaN
        # sqrt's derivative rounds differently in torch's vectorised kernel on some CPUs
        np.testing.assert_array_max_ulp(ours, theirs, maxulp=2)


def test_relu_gradient_through_a_second_derivative():
    """On tensors (create_graph) the rule records a selection: the Hessian-vector product of
    sum(relu(x)^3) is 6 relu(x) v."""
    x = cr.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    (g,) = cr.gradient((cr.relu(x) ** 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), [0.0, 0.75, 12.0])
    (g * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0, 36.0])


def test_relu_sends_zero_where_off_on_torch_arrays():
    torch = pytest.importorskip("torch")
    x = cr.tensor(torch.tensor([-1.0, 2.0], dtype=torch.float64), requires_grad=True)
    cr.sqrt(cr.relu(x)).sum().backward()
    np.testing.assert_allclose(x.grad.data.numpy(), [0.0, 0.5 / math.sqrt(2)])


# ---------------------------------------------------------------------------------------------
# BinaryCrossEntropy: confident, correct predictions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "dtype"), [(30.0, np.float64), (40.0, np.float64), (15.0, np.float32), (60.0, np.float32)]
)
def test_binary_cross_entropy_is_exact_for_confident_positives(z, dtype):
    """E = log(1 + e^-z) at t = 1: softplus(z) - z kept two digits of it at z = 30 and none at
    40 (float64) or 15 (float32). So at -z with t = 0, and the gradient is sigmoid(z) - t."""
    exact = math.log1p(math.exp(-z))
    slope = 1 / (1 + math.exp(z))  # 1 - sigmoid(z), exact
    for logit, target, sign in ((z, 1.0, -1.0), (-z, 0.0, 1.0)):
        x = cr.tensor(np.array([[logit]], dtype=dtype), requires_grad=True)
        E = nn.BinaryCrossEntropy()(x, [[target]])
        E.backward()
        assert E.dtype == dtype
        np.testing.assert_allclose(E.item(), exact, rtol=1e-6 if dtype == np.float32 else 1e-14)
        np.testing.assert_allclose(x.grad.item(), sign * slope, rtol=1e-6)


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_keeps_its_digits_for_soft_targets_near_a_confident_logit(
    library, dtype
):
    """z (1 - t) where z >= 0 and -z t where not: max(z, 0) - z t subtracted two numbers near
    20 and kept one digit of their 2e-5 difference (3.5% off in float32 at t = 0.999999)."""
    xp = pytest.importorskip(library)
    z = np.array([20.0, -20.0, 3.0, -3.0])
    t = np.array([0.999999, 0.000001, 0.999999, 0.000001]).astype(dtype).astype(float)
    exact = np.abs(z) * np.where(z >= 0, 1 - t, t) + np.log1p(np.exp(-np.abs(z)))  # float64
    logits = cr.tensor(xp.asarray(z.astype(dtype)))
    E = cr.logistic_cross_entropy(logits, xp.asarray(t.astype(dtype)), reduction="none")
    np.testing.assert_allclose(
        np.asarray(E.numpy()), exact, rtol=3e-7 if dtype == "float32" else 1e-14
    )


def test_binary_cross_entropy_matches_torch_and_central_differences():
    """Values and gradients at soft and hard targets, z = 0 (the kink of max(z, 0) and |z|,
    where the derivative is 1/2 - t) and +-1e4 included."""
    torch = pytest.importorskip("torch")
    z = np.array([[-1e4, -3.0, -0.5, 0.0], [0.0, 0.0, 2.0, 1e4], [7.5, -7.5, 0.25, 1.0]])
    t = np.array([[0.0, 1.0, 0.3, 0.0], [1.0, 0.3, 0.7, 1.0], [0.5, 0.9, 0.0, 1.0]])
    x = cr.tensor(z, requires_grad=True)
    E = nn.BinaryCrossEntropy()(x, t)
    E.backward()
    zt = torch.tensor(z, requires_grad=True)
    Et = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(t))
    Et.backward()
    np.testing.assert_allclose(E.item(), Et.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), zt.grad.numpy(), rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(x.grad.numpy(), sigmoid_less(z, t) / z.size, rtol=1e-13)
    moderate = z[2:]

    def f(a):
        return nn.BinaryCrossEntropy()(cr.tensor(a), t[2:]).item()

    y = cr.tensor(moderate, requires_grad=True)
    nn.BinaryCrossEntropy()(y, t[2:]).backward()
    np.testing.assert_allclose(y.grad.numpy(), central_difference(f, moderate), atol=1e-9)


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_binary_cross_entropy_of_infinite_logits(library):
    """An infinite logit on the right side of its 0/1 target is a certain right answer: loss 0,
    gradient sigmoid(z) - t = 0 (it was NaN, as PyTorch's is). On the wrong side: loss inf,
    gradient -+1. Finite logits beside them keep their values (closed form softplus)."""
    xp = pytest.importorskip(library)
    z = np.array([[-np.inf, np.inf, -np.inf, np.inf, 2.0]])
    t = np.array([[0.0, 1.0, 1.0, 0.0, 0.25]])
    x = cr.tensor(xp.asarray(z), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_element = [
            float(
                nn.BinaryCrossEntropy()(
                    cr.tensor(xp.asarray(z[:, i : i + 1])), t[:, i : i + 1]
                ).item()
            )
            for i in range(z.shape[1])
        ]
        E = nn.BinaryCrossEntropy()(x, xp.asarray(t))
        E.backward()
    finite = math.log1p(math.exp(2.0)) - 2.0 * 0.25  # softplus(z) - z t
    assert per_element[:4] == [0.0, 0.0, math.inf, math.inf]
    assert per_element[4] == pytest.approx(finite, rel=1e-14)
    assert float(E.item()) == math.inf
    sigmoid_2 = 1 / (1 + math.exp(-2.0))
    np.testing.assert_allclose(
        np.asarray(x.grad.data),
        [[0.0, 0.0, -1.0, 1.0, sigmoid_2 - 0.25]] / np.float64(5),
        rtol=1e-14,
    )


def test_binary_cross_entropy_second_derivative():
    """The Hessian of mean(E) is diag(sigmoid' (z)) / N: the loss stays differentiable twice."""
    z = np.array([-2.0, 0.0, 0.5, 3.0])
    t = np.array([0.0, 1.0, 0.4, 1.0])
    x = cr.tensor(z, requires_grad=True)
    (g,) = cr.gradient(nn.BinaryCrossEntropy()(x, t), [x], create_graph=True)
    g.sum().backward()
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(g.numpy(), (s - t) / 4, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s) / 4, rtol=1e-13)


def test_binary_cross_entropy_on_torch_arrays():
    torch = pytest.importorskip("torch")
    z = np.array([[30.0, -1.0], [0.0, 2.5]])
    t = np.array([[1.0, 0.2], [1.0, 0.0]])
    x = cr.tensor(z, xp=torch, requires_grad=True)
    E = nn.BinaryCrossEntropy()(x, torch.tensor(t))
    E.backward()
    expected = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    np.testing.assert_allclose(float(E.item()), expected, rtol=1e-14)
    np.testing.assert_allclose(x.grad.data.numpy(), sigmoid_less(z, t) / 4, rtol=1e-13)


def test_binary_cross_entropy_refuses_nan_targets():
    with pytest.raises(
        ValueError, match=r"^BinaryCrossEntropy: targets must lie in \[0, 1\], got NaN"
    ):
        nn.BinaryCrossEntropy()(cr.tensor([[0.0], [1.0]]), [[np.nan], [0.5]])
    with pytest.raises(ValueError, match=r"^BinaryCrossEntropy: .*got NaN"):
        nn.BinaryCrossEntropy()(cr.tensor([[0.0], [1.0]]), [[0.5], [np.nan]])


@pytest.mark.parametrize("library", ["numpy", "array_api_strict", "torch"])
def test_the_mean_of_losses_whose_sum_overflows_is_their_mean(library):
    """Two cases of loss 3e38 in float32 summed to inf before the division (NumPy's overflow
    warning): the mean is 3e38. Oracle: the per-case losses (reduction "none") averaged in
    float64; a sum that overflows stays inf, as it is."""
    xp = np if library == "numpy" else pytest.importorskip(library)
    logits = xp.asarray(np.float32([[-3e38], [-3e38]]))
    targets = xp.asarray(np.float32([[1.0], [1.0]]))
    logits2 = xp.asarray(np.float32([[1.6e38, -1.6e38], [1.6e38, -1.6e38]]))
    labels = xp.asarray(np.array([1, 1]))

    def logistic(r):
        return cr.logistic_cross_entropy(cr.tensor(logits), targets, reduction=r)

    def softmax(r):
        return cr.softmax_cross_entropy(cr.tensor(logits2), labels, reduction=r)

    cases = [  # (the mean, the per-case losses)
        (lambda: logistic("mean"), lambda: logistic("none")),
        (lambda: nn.BinaryCrossEntropy()(cr.tensor(logits), targets), lambda: logistic("none")),
        (lambda: softmax("mean"), lambda: softmax("none")),
        (lambda: nn.CrossEntropy()(cr.tensor(logits2), labels), lambda: softmax("none")),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mean, per_case in cases:
            got = cr.backend.to_numpy(mean().data)
            assert got.dtype == np.float32
            expected = cr.backend.to_numpy(per_case().data).astype(np.float64).mean()
            assert got == pytest.approx(expected, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's overflow warning: the sum is past any float32
        assert math.isinf(float(cr.backend.to_numpy(logistic("sum").data)))
