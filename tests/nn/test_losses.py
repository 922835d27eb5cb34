"""Losses: values and gradients against closed forms and PyTorch, at normal and extreme logits."""

import json
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import LabelError

rng = np.random.default_rng(0)
Z = rng.standard_normal((5, 4)) * 2
LABELS = np.array([0, 3, 1, 1, 2])
EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.0, 0.0, -1e4]])


def value_and_grad(loss, output, target, dtype=np.float64):
    z = cr.tensor(np.asarray(output, dtype=dtype), requires_grad=True)
    E = loss(z, target)
    E.backward()
    return E, z.grad.numpy()


def torch_value_and_grad(torch, fn, output, target):
    z = torch.tensor(output, dtype=torch.float64, requires_grad=True)
    E = fn(z, target)
    E.backward()
    return E.item(), z.grad.numpy()


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Squared error and MSE
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_squared_error_is_half_the_summed_squares(reduction):
    y, t = rng.random((4, 3)), rng.random((4, 3))
    E, grad = value_and_grad(nn.SquaredError(reduction), y, t)
    n = 4 if reduction == "mean" else 1
    assert E.item() == pytest.approx(0.5 * np.sum((t - y) ** 2) / n, rel=1e-14)
    np.testing.assert_allclose(grad, -(t - y) / n, rtol=1e-13)


def test_squared_error_accepts_a_flat_target_for_one_output_and_keeps_float32():
    y = np.array([[0.2], [0.9]], np.float32)
    E, grad = value_and_grad(nn.SquaredError(), y, [0.0, 1.0], dtype=np.float32)
    assert E.dtype == np.float32 and grad.dtype == np.float32
    assert E.item() == pytest.approx(0.5 * (0.04 + 0.01), rel=1e-6)


def test_mse_is_the_mean_of_the_squares():
    y, t = rng.random((4, 3)), rng.random((4, 3))
    E, grad = value_and_grad(nn.MSE(), y, t)
    assert E.item() == pytest.approx(np.mean((y - t) ** 2), rel=1e-14)
    np.testing.assert_allclose(grad, 2 * (y - t) / y.size, rtol=1e-13)


def test_mse_matches_torch(torch):
    y, t = rng.random((4, 3)), rng.random((4, 3))
    E, grad = value_and_grad(nn.MSE(), y, t)
    expected, expected_grad = torch_value_and_grad(
        torch, lambda z, tt: torch.nn.functional.mse_loss(z, torch.tensor(tt)), y, t
    )
    assert E.item() == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# Cross-entropy from logits
# ---------------------------------------------------------------------------------------------


def test_cross_entropy_with_labels_matches_the_closed_form():
    E, grad = value_and_grad(nn.CrossEntropy(), Z, LABELS)
    p = softmax(Z)
    assert E.item() == pytest.approx(-np.mean(np.log(p[np.arange(5), LABELS])), rel=1e-13)
    one_hot = np.eye(4)[LABELS]
    np.testing.assert_allclose(grad, (p - one_hot) / 5, rtol=1e-12)


def test_cross_entropy_with_labels_matches_torch(torch):
    E, grad = value_and_grad(nn.CrossEntropy(), Z, LABELS)
    expected, expected_grad = torch_value_and_grad(
        torch, lambda z, t: torch.nn.functional.cross_entropy(z, torch.tensor(t)), Z, LABELS
    )
    assert E.item() == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_one_hot_and_soft_targets():
    one_hot = np.eye(4)[LABELS]
    assert nn.CrossEntropy()(cr.tensor(Z), one_hot).item() == pytest.approx(
        nn.CrossEntropy()(cr.tensor(Z), LABELS).item(), rel=1e-14
    )
    soft = softmax(rng.standard_normal((5, 4)))
    E, grad = value_and_grad(nn.CrossEntropy(), Z, soft)
    assert E.item() == pytest.approx(-np.mean(np.sum(soft * np.log(softmax(Z)), axis=1)), rel=1e-13)
    np.testing.assert_allclose(grad, (softmax(Z) - soft) / 5, rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_soft_targets_matches_torch(torch):
    soft = softmax(rng.standard_normal((5, 4)))
    E, grad = value_and_grad(nn.CrossEntropy(), Z, soft)
    expected, expected_grad = torch_value_and_grad(
        torch, lambda z, t: torch.nn.functional.cross_entropy(z, torch.tensor(t)), Z, soft
    )
    assert E.item() == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_and_exact_at_extreme_logits(dtype):
    labels = np.array([1, 1, 2])
    E, grad = value_and_grad(nn.CrossEntropy(), EXTREME, labels, dtype=dtype)
    assert np.isfinite(E.item()) and np.all(np.isfinite(grad)) and E.dtype == dtype
    # case 0: picked logit 1e4 below the max by 2e4; case 1: the winner; case 2: 1e4 below 0
    expected = (2e4 + np.log1p(np.exp(3.0 - 1e4)) + (1e4 + np.log(2))) / 3
    assert E.item() == pytest.approx(expected, rel=1e-6)
    p = softmax(EXTREME)
    np.testing.assert_allclose(grad, (p - np.eye(3)[labels]) / 3, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_at_extreme_logits_matches_torch(dtype, torch):
    labels = np.array([1, 1, 2])
    _, grad = value_and_grad(nn.CrossEntropy(), EXTREME, labels, dtype=dtype)
    _, expected_grad = torch_value_and_grad(
        torch, lambda z, t: torch.nn.functional.cross_entropy(z, torch.tensor(t)), EXTREME, labels
    )
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-7)


def test_cross_entropy_gradcheck():
    assert cr.gradcheck(lambda z: nn.CrossEntropy()(z, LABELS), [Z]).ok
    soft = softmax(rng.standard_normal((5, 4)))
    assert cr.gradcheck(lambda z: nn.CrossEntropy()(z, soft), [Z]).ok


def test_cross_entropy_checks_shapes_and_labels():
    logits = cr.tensor(Z)
    message = (
        r"^softmax_cross_entropy: label 4 is out of range for 4 classes \(logits shape \(5, 4\)\); "
        r"labels must lie in \[0, 4\)$"
    )
    with pytest.raises(ValueError, match=message):
        nn.CrossEntropy()(logits, np.array([0, 1, 4, 1, 0]))
    with pytest.raises(ValueError, match="label -1 is out of range"):
        nn.CrossEntropy()(logits, np.array([0, 1, -1, 1, 0]))
    with pytest.raises(cr.ShapeError, match=r"target of shape \(3,\) and dtype int64 does not "
                       r"fit logits of shape \(5, 4\)"):  # fmt: skip
        nn.CrossEntropy()(logits, np.array([0, 1, 2]))
    with pytest.raises(cr.ShapeError, match=r"shape \(5, 3\) and dtype float64 does not fit logits "
                       r"of shape \(5, 4\): expected labels \(5,\)"):  # fmt: skip
        nn.CrossEntropy()(logits, np.zeros((5, 3)))
    with pytest.raises(cr.ShapeError, match=r"logits must have shape \(n_cases, n_classes\)"):
        nn.CrossEntropy()(cr.tensor([1.0, 2.0]), np.array([0]))
    # float labels are refused, as by PyTorch's cross_entropy and cr.softmax_cross_entropy
    for labels in (np.array([0, 1, 2.5, 1, 0]), LABELS.astype(float)):
        with pytest.raises(cr.ShapeError, match="give class labels as integers"):
            nn.CrossEntropy()(logits, labels)


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy from logits
# ---------------------------------------------------------------------------------------------


def bce_closed_form(z, t):
    return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))


def test_binary_cross_entropy_matches_the_closed_form():
    t = rng.integers(0, 2, Z.shape).astype(float)
    E, grad = value_and_grad(nn.BinaryCrossEntropy(), Z, t)
    assert E.item() == pytest.approx(bce_closed_form(Z, t), rel=1e-13)
    np.testing.assert_allclose(grad, (1 / (1 + np.exp(-Z)) - t) / Z.size, rtol=1e-12)


def test_binary_cross_entropy_matches_torch(torch):
    t = rng.integers(0, 2, Z.shape).astype(float)
    E, grad = value_and_grad(nn.BinaryCrossEntropy(), Z, t)
    expected, expected_grad = torch_value_and_grad(
        torch,
        lambda z, tt: torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(tt)),
        Z,
        t,
    )
    assert E.item() == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_is_finite_and_exact_at_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    E, grad = value_and_grad(nn.BinaryCrossEntropy(), z, t, dtype=dtype)
    assert np.isfinite(E.item()) and np.all(np.isfinite(grad))
    assert E.item() == pytest.approx((0 + 0 + 1e4 + 1e4 + np.log(2)) / 5, rel=1e-6)
    # dE/dz = (sigmoid(z) - t) / N, including the kink-free value at z = 0
    np.testing.assert_allclose(grad, [[0, 0, 0.2, -0.2, (0.5 - 1) / 5]], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_at_extreme_logits_matches_torch(dtype, torch):
    z = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    _, grad = value_and_grad(nn.BinaryCrossEntropy(), z, t, dtype=dtype)
    _, expected_grad = torch_value_and_grad(
        torch,
        lambda zz, tt: torch.nn.functional.binary_cross_entropy_with_logits(zz, torch.tensor(tt)),
        z,
        t,
    )
    np.testing.assert_allclose(grad, expected_grad, atol=1e-7)


def test_binary_cross_entropy_gradcheck_and_checks():
    t = rng.random(Z.shape)
    assert cr.gradcheck(lambda z: nn.BinaryCrossEntropy()(z, t), [Z]).ok
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy: targets must lie in \[0, 1\]"):
        nn.BinaryCrossEntropy()(cr.tensor(Z), t + 1)
    with pytest.raises(cr.ShapeError, match=r"BinaryCrossEntropy: output has shape \(5, 4\)"):
        nn.BinaryCrossEntropy()(cr.tensor(Z), t[:, :2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_logistic_cross_entropy_op_matches_torch(torch, reduction, dtype):
    """The fused op behind BinaryCrossEntropy, each reduction, soft targets, in both floats:
    PyTorch's binary_cross_entropy_with_logits as the second reference, central differences
    (float64, sum) as the first."""
    t = rng.random(Z.shape)
    z = cr.tensor(Z.astype(dtype), requires_grad=True)
    E = cr.logistic_cross_entropy(z, t.astype(dtype), reduction=reduction)
    (E.sum() if reduction == "none" else E).backward()
    zt = torch.tensor(Z.astype(dtype), requires_grad=True)
    F = torch.nn.functional.binary_cross_entropy_with_logits
    Et = F(zt, torch.tensor(t.astype(dtype)), reduction=reduction)
    (Et.sum() if reduction == "none" else Et).backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    # sigmoid(z) - t cancels near sigmoid(z) = t: rounded relative to the terms, about 1
    atol = 4 * float(np.finfo(dtype).eps)
    assert E.dtype == dtype and z.grad.dtype == dtype and E.shape == tuple(Et.shape)
    np.testing.assert_allclose(E.numpy(), Et.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=rtol, atol=atol)
    if dtype == np.float64 and reduction == "sum":
        assert cr.gradcheck(lambda x: cr.logistic_cross_entropy(x, t, reduction="sum"), [Z]).ok
        assert cr.gradcheck(lambda x: cr.logistic_cross_entropy(x, t, "sum"), [Z], order=2).ok


def test_the_logistic_cross_entropy_op_names_bad_arguments():
    with pytest.raises(cr.ShapeError, match=r"logistic_cross_entropy: targets of shape \(5, 2\)"):
        cr.logistic_cross_entropy(Z, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="reduction must be mean, sum or none, not 'avg'"):
        cr.logistic_cross_entropy(Z, np.zeros(Z.shape), reduction="avg")


# ---------------------------------------------------------------------------------------------
# Names and configs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        nn.SquaredError(),
        nn.SquaredError("mean"),
        nn.MSE(),
        nn.CrossEntropy(),
        nn.BinaryCrossEntropy(),
    ],  # fmt: skip
)
def test_loss_config_round_trip(loss):
    config = json.loads(json.dumps(loss.config()))
    rebuilt = nn.loss_from_config(config)
    assert type(rebuilt) is type(loss) and rebuilt.config() == loss.config()


def test_loss_from_name_and_its_errors():
    assert isinstance(nn.loss_from_name("squared-error"), nn.SquaredError)
    assert isinstance(nn.loss_from_name("binary_cross_entropy"), nn.BinaryCrossEntropy)
    assert nn.loss_from_name("squared-error", reduction="mean").reduction == "mean"
    with pytest.raises(nn.ConfigError, match="unknown loss 'hinge'; choose one of squared-error"):
        nn.loss_from_name("hinge")
    with pytest.raises(nn.ConfigError, match="reduction must be 'sum' or 'mean'"):
        nn.SquaredError("max")


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64])
@pytest.mark.parametrize("bad", [-1, 4, 127])
def test_softmax_cross_entropy_names_the_first_bad_label_of_any_integer_dtype(dtype, bad):
    """One pass finds labels above the range and, read as unsigned, below it."""
    if bad < 0 and np.dtype(dtype).kind == "u":
        pytest.skip("an unsigned label cannot be negative")
    labels = np.array([[0, 3], [bad, 1], [2, 5]]).astype(dtype)  # batched: logits (3, 2, 4)
    logits = cr.tensor(np.zeros((3, 2, 4)), requires_grad=True)
    message = (
        f"^softmax_cross_entropy: label {bad} is out of range for 4 classes "
        r"\(logits shape \(3, 2, 4\)\); labels must lie in \[0, 4\)$"
    )
    with pytest.raises(ValueError, match=message):
        cr.softmax_cross_entropy(logits, labels)
    labels[labels >= 4] = 3
    labels[1, 0] = 0
    loss = cr.softmax_cross_entropy(logits, labels)  # every label in range: no error
    np.testing.assert_allclose(loss.item(), np.log(4))


@pytest.mark.parametrize("bad", [-1, 4])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_the_cross_entropy_primitive_checks_its_own_labels(bad, requires_grad):
    """The registry's primitive, applied directly, names a label outside the classes: the flat
    positions it reads would otherwise land in a neighbouring case's row. The message is the
    public one, not the engine's wrapping of the op's parameters (the whole label array)."""
    from chainrule.errors import UserError

    primitive = cr.REGISTRY["softmax_cross_entropy"]
    logits = cr.tensor(Z, requires_grad=requires_grad)
    labels = np.array([0, 1, bad, 1, 0])
    message = (
        rf"^softmax_cross_entropy: label {bad} is out of range for 4 classes "
        r"\(logits shape \(5, 4\)\); labels must lie in \[0, 4\)$"
    )
    with pytest.raises(LabelError, match=message) as raised:
        primitive(logits, targets=labels, reduction="mean")
    assert isinstance(raised.value, UserError) and isinstance(raised.value, ValueError)
    with pytest.raises(LabelError, match=message):  # on bare arrays (a rule's path) too
        primitive(Z, targets=labels, reduction="none")
    labels[2] = 3  # in range: the loss is the mean of -log softmax at each label
    expected = -np.mean(np.log(softmax(Z))[np.arange(5), labels])
    np.testing.assert_allclose(primitive(logits, targets=labels, reduction="mean").item(), expected)


def test_cross_entropy_checks_labels_on_another_array_library():
    """The array API path (one-hot rows, no flat positions) checks labels as NumPy's does."""
    xs = pytest.importorskip("array_api_strict")
    logits = cr.tensor(xs.asarray(Z))
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: label 4 is out of range"):
        nn.CrossEntropy()(logits, xs.asarray([0, 1, 4, 1, 0]))
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: label -1 is out of range"):
        cr.softmax_cross_entropy(logits, xs.asarray([0, 1, -1, 1, 0]))


def test_cross_entropy_names_a_label_with_no_classes_to_lie_in():
    """Logits with an empty class axis: every label is out of range, named as any other."""
    message = (
        r"^softmax_cross_entropy: label 0 is out of range for 0 classes \(logits shape \(2, 0\)\)"
    )
    with pytest.raises(LabelError, match=message):
        cr.softmax_cross_entropy(np.zeros((2, 0)), np.array([0, 0]))
    with pytest.raises(LabelError, match=message):
        nn.CrossEntropy()(cr.tensor(np.zeros((2, 0))), np.array([0, 0]))


@pytest.mark.parametrize(("dtype", "bad"), [(">i4", 2**24), (">i8", 2**56), (">u2", 2**8)])
def test_cross_entropy_reads_big_endian_labels(dtype, bad):
    """Labels stored in the other byte order: their loss, and a bad one named by its value (each
    bad value's bytes, read in the machine's order, would be the label 1: in range)."""
    logits = cr.tensor(Z, requires_grad=True)
    labels = np.array([0, 1, 3, 1, 0]).astype(dtype)
    expected = -np.mean(np.log(softmax(Z))[np.arange(5), labels.astype(np.int64)])
    np.testing.assert_allclose(cr.softmax_cross_entropy(logits, labels).item(), expected)
    labels = np.array([0, 0, bad, 0, 0]).astype(dtype)  # a 1 stored big-endian reads as huge
    with pytest.raises(LabelError, match=rf"label {bad} is out of range for 4 classes"):
        nn.CrossEntropy()(logits, labels)


# ---------------------------------------------------------------------------------------------
# Targets that need a gradient (a teacher network's outputs): the loss sends them theirs
# ---------------------------------------------------------------------------------------------


def _module_pairs(torch):
    F = torch.nn.functional
    return [
        (nn.CrossEntropy(), lambda z, t: F.cross_entropy(z, t)),
        (nn.BinaryCrossEntropy(), F.binary_cross_entropy_with_logits),
        (nn.MSE(), F.mse_loss),
        (nn.SquaredError(), lambda z, t: 0.5 * ((z - t) ** 2).sum()),
        (nn.SquaredError("mean"), lambda z, t: 0.5 * ((z - t) ** 2).sum() / z.shape[0]),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(5))
def test_a_loss_module_sends_targets_that_need_one_their_gradient_as_torch_does(
    torch, index, dtype
):
    """dE/dt was silently 0 (the modules copied the target's array): -log softmax(z) / n for
    cross-entropy, -z / N for the logistic one, the squared errors' -(y - t) terms."""
    loss, torch_loss = _module_pairs(torch)[index]
    t_values = rng.random(Z.shape)
    z, t = (cr.tensor(a.astype(dtype), requires_grad=True) for a in (Z, t_values))
    loss(z, t).backward()
    zt, tt = (torch.tensor(a.astype(dtype), requires_grad=True) for a in (Z, t_values))
    torch_loss(zt, tt).backward()
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-15)
    assert t.grad.dtype == dtype
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=rtol, atol=atol)
    if dtype == np.float64:  # central differences in both inputs, first and second order
        assert cr.gradcheck(lambda a, b: loss(a, b), [Z, t_values]).ok
        assert cr.gradcheck(lambda a, b: loss(a, b), [Z, t_values], order=2).ok


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_cross_entropy_ops_differentiate_their_targets_in_closed_form(reduction):
    """dE/dt_j = -log softmax(z)_j per case (softmax) and -z per element (logistic), scaled
    by the reduction; targets that need no gradient keep the one-input node."""
    t_values = rng.random(Z.shape)
    scale = {"mean": 1 / Z.shape[0], "sum": 1.0, "none": 1.0}[reduction]
    log_softmax = Z - Z.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    for op, expected in [
        (cr.softmax_cross_entropy, -log_softmax * scale),
        (cr.logistic_cross_entropy, -Z * (1 / Z.size if reduction == "mean" else 1)),
    ]:
        t = cr.tensor(t_values, requires_grad=True)
        E = op(cr.tensor(Z), t, reduction=reduction)
        (E.sum() if reduction == "none" else E).backward()
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-13)
        assert E.node.op.endswith("_of_targets")
        assert op(cr.tensor(Z, requires_grad=True), t_values, reduction=reduction).node.op in (
            "softmax_cross_entropy",
            "logistic_cross_entropy",
        )


# A row spanning more than the largest float: its shift by the row's max overflows to -inf, whose
# e^x is the right 0. Every answer below is exact, so nothing may warn of the shift's overflow.
@pytest.mark.parametrize("dtype, peak", [(np.float32, 3e38), (np.float64, 1.5e308)])
def test_a_row_spanning_more_than_the_largest_float_gives_exact_results_without_a_warning(
    dtype, peak
):
    rows = np.array([[peak, -peak, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor(rows.astype(dtype), requires_grad=True)
        assert cr.logsumexp(x, axis=-1).numpy().tolist() == [dtype(peak)]
        cr.logsumexp(x, axis=-1).sum().backward()
        assert x.grad.numpy().tolist() == [[1.0, 0.0, 0.0]]  # the softmax
        assert cr.softmax(x, axis=-1).numpy().tolist() == [[1.0, 0.0, 0.0]]
        assert cr.log_softmax(x, axis=-1).numpy().tolist() == [[0.0, -np.inf, -dtype(peak)]]
        x.grad = None
        E = nn.CrossEntropy()(x, cr.tensor(np.array([0])))
        E.backward()
        assert E.item() == 0.0 and x.grad.numpy().tolist() == [[0.0, 0.0, 0.0]]


def test_softmax_cross_entropy_says_which_form_of_targets_it_reads():
    """Integer one-hot rows were refused as "labels of shape (3, 4) do not match logits (3, 4)",
    and float labels as "targets of shape (3,) do not match": each now says which form the
    dtype means (nn.CrossEntropy refuses them alike: ops.nn.targets_are_labels)."""
    z = cr.tensor(np.zeros((3, 4)))
    with pytest.raises(cr.ShapeError, match=r"expected labels \(3,\) or probabilities \(3, 4\); "
                       "class labels are integers, probabilities floats: give one-hot rows as "
                       "floats$"):  # fmt: skip
        cr.softmax_cross_entropy(z, np.eye(4, dtype=int)[[2, 0, 1]])
    with pytest.raises(cr.ShapeError, match=r"class labels are integers, probabilities floats: "
                       r"give class labels as integers$"):  # fmt: skip
        cr.softmax_cross_entropy(z, np.array([2.0, 0.0, 1.0]))
    with pytest.raises(cr.ShapeError, match=r"a target of shape \(2,\) and dtype int64 does not "
                       r"fit logits of shape \(3, 4\): expected labels \(3,\)"):  # fmt: skip
        cr.softmax_cross_entropy(z, np.array([1, 2]))
    np.testing.assert_allclose(  # the forms it reads, read alike
        cr.softmax_cross_entropy(z, np.eye(4)[[2, 0, 1]]).item(),
        cr.softmax_cross_entropy(z, np.array([2, 0, 1])).item(),
        rtol=1e-15,
    )
