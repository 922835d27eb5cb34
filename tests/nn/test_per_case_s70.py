"""Per-case losses (``Loss.per_case``) for per-example gradients, reduction="none" refused
naming it, and CrossEntropy of one unbatched case (1-D logits, one label) as torch takes it.

Oracles: torch's ``reduction="none"`` losses in float64 (summed or averaged over each case's
units as the loss's E is), E itself, and the batch of one case.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
F = torch.nn.functional

rng = np.random.default_rng(70)
N_IN, N_HIDDEN, N_OUT, N_CASES = 3, 4, 3, 5
X = rng.standard_normal((N_CASES, N_IN))


def network() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(N_IN, N_HIDDEN, dtype="float64", rng=1),
        nn.Tanh(),
        nn.Linear(N_HIDDEN, N_OUT, dtype="float64", rng=2),
    )


def torch_outputs(net: nn.Sequential, x: np.ndarray) -> tuple[object, list]:
    """The same network in torch (chainrule's Linear weight is (n_in, n_out): x @ W + b)."""
    params = [torch.tensor(p.numpy(), requires_grad=True) for p in net.parameters()]
    w1, b1, w2, b2 = params
    hidden = torch.tanh(torch.tensor(x) @ w1 + b1)
    return hidden @ w2 + b2, params


def margin_d(y, t, on=0.8, off=0.2):
    return torch.where(t > 0.5, torch.clamp(y - on, max=0.0), torch.clamp(y - off, min=0.0))


def margin_target_d(y, t, on=0.8, off=0.2):
    short = torch.where(t > 0.5, y < on, y > off)
    return torch.where(short, y - t, torch.zeros_like(y))


LABELS = rng.integers(0, N_OUT, N_CASES)
ROWS = rng.dirichlet(np.ones(N_OUT), N_CASES)
BITS = rng.integers(0, 2, (N_CASES, N_OUT)).astype(float)
VALUES = rng.standard_normal((N_CASES, N_OUT))

# loss, target, torch's per-case losses from the outputs y and the target t
CASES = {
    "squared-error sum": (
        nn.SquaredError(),
        VALUES,
        lambda y, t: 0.5 * F.mse_loss(y, t, reduction="none").sum(1),
    ),
    "squared-error mean": (
        nn.SquaredError("mean"),
        VALUES,
        lambda y, t: 0.5 * F.mse_loss(y, t, reduction="none").sum(1),
    ),
    "mse": (nn.MSE(), VALUES, lambda y, t: F.mse_loss(y, t, reduction="none").mean(1)),
    "cross-entropy labels": (
        nn.CrossEntropy(),
        LABELS,
        lambda y, t: F.cross_entropy(y, t, reduction="none"),
    ),
    "cross-entropy rows": (
        nn.CrossEntropy(),
        ROWS,
        lambda y, t: F.cross_entropy(y, t, reduction="none"),
    ),
    "bce per unit": (
        nn.BinaryCrossEntropy(),
        BITS,
        lambda y, t: F.binary_cross_entropy_with_logits(y, t, reduction="none").mean(1),
    ),
    "bce per case": (
        nn.BinaryCrossEntropy(per_unit=False),
        BITS,
        lambda y, t: F.binary_cross_entropy_with_logits(y, t, reduction="none").sum(1),
    ),
    "margin edge": (
        nn.MarginSquaredError(),
        BITS,
        lambda y, t: 0.5 * (margin_d(y, t) ** 2).sum(1),
    ),
    "margin target": (
        nn.MarginSquaredError(measured_from="target"),
        BITS,
        lambda y, t: 0.5 * (margin_target_d(y, t) ** 2).sum(1),
    ),
}


def torch_target(target: np.ndarray):
    return torch.tensor(target)  # int64 labels stay labels, float64 rows stay rows


@pytest.mark.parametrize("case", list(CASES))
def test_per_case_losses_match_torch_and_reduce_to_E(case):
    loss, target, torch_loss = CASES[case]
    net = network()
    outputs = net(X)
    per_case = loss.per_case(outputs, target)
    assert per_case.shape == (N_CASES,)
    y, _ = torch_outputs(net, X)
    expected = torch_loss(y, torch_target(target)).detach().numpy()
    np.testing.assert_allclose(per_case.numpy(), expected, rtol=1e-13, atol=1e-15)
    E = loss(outputs, target).item()
    reduced = per_case.numpy().sum() if loss.reduction == "sum" else per_case.numpy().mean()
    assert reduced == pytest.approx(E, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("case", list(CASES))
def test_per_example_parameter_gradients_match_torch(case):
    """The per-case loss i differentiated in the weights (DP-SGD's per-example gradient):
    torch's gradient of its reduction='none' loss i, and summed (or averaged) over the cases,
    the gradient of E."""
    loss, target, torch_loss = CASES[case]
    net = network()
    weights = dict(net.named_parameters())
    y, params = torch_outputs(net, X)
    torch_losses = torch_loss(y, torch_target(target))
    gradients = []
    for i in range(N_CASES):
        g = cr.grad(lambda w, i=i: loss.per_case(nn.functional_call(net, w, X), target)[i])(weights)
        expected = torch.autograd.grad(torch_losses[i], params, retain_graph=True)
        for name, want in zip(weights, expected, strict=True):
            np.testing.assert_allclose(g[name].numpy(), want.numpy(), rtol=1e-11, atol=1e-14)
        gradients.append(g)
    whole = cr.grad(lambda w: loss(nn.functional_call(net, w, X), target))(weights)
    scale = 1.0 if loss.reduction == "sum" else 1.0 / N_CASES
    for name in weights:
        total = sum(g[name].numpy() for g in gradients) * scale
        np.testing.assert_allclose(total, whole[name].numpy(), rtol=1e-11, atol=1e-14)


def test_per_case_gradient_reaches_a_target_that_needs_one():
    """A teacher's outputs as targets get per-case gradients too (soft cross-entropy rows)."""
    z = cr.tensor(rng.standard_normal((N_CASES, N_OUT)))
    rows = cr.tensor(ROWS, requires_grad=True)
    g = cr.grad(lambda t: nn.CrossEntropy().per_case(z, t)[1])(rows)
    expected = np.zeros_like(ROWS)
    zt = torch.tensor(z.numpy())
    expected[1] = -torch.log_softmax(zt, dim=1)[1].numpy()
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-13)


def test_per_case_refuses_outputs_of_the_loss_s_own_unit():
    z = cr.tensor(VALUES, requires_grad=True)
    with pytest.raises(cr.errors.UserError, match="applied twice"):
        nn.BinaryCrossEntropy().per_case(cr.sigmoid(z), BITS)


# ---------------------------------------------------------------------------------------------
# reduction="none", as torch users type it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.SquaredError(reduction="none"),
        lambda: nn.SquaredError("none"),
        lambda: nn.MSE(reduction="none"),
        lambda: nn.CrossEntropy(reduction="none"),
        lambda: nn.BinaryCrossEntropy(reduction="none"),
        lambda: nn.BinaryCrossEntropy(per_unit=False, reduction="none"),
        lambda: nn.MarginSquaredError(reduction="none"),
        lambda: nn.loss_from_name("mse", reduction="none"),
        lambda: nn.loss_from_config({"type": "cross-entropy", "reduction": "none"}),
    ],
)
def test_reduction_none_is_a_config_error_naming_per_case(make):
    with pytest.raises(nn.ConfigError, match=r"reduction='none'.*loss\.per_case\(output, target\)"):
        make()


def test_other_constructor_arguments_are_refused_as_before():
    with pytest.raises(TypeError, match=r"^MSE\(\) takes no arguments$"):
        nn.MSE(foo=1)
    with pytest.raises(nn.ConfigError, match=r"takes no option 'foo' \(MSE\(\) takes no arg"):
        nn.loss_from_name("mse", foo=1)
    with pytest.raises(nn.ConfigError, match="reduction must be 'sum' or 'mean'"):
        nn.SquaredError(reduction="avg")
    assert nn.SquaredError(reduction="mean").reduction == "mean"


def test_a_subclass_s_own_constructor_is_its_own_and_may_take_reduction_none():
    """A user's constructor is the user's: chainrule refuses reduction="none" only where its
    own classes are built (review 1: a wrapper refused a loss that implements it itself)."""

    class Weighted(nn.Loss):
        name = "weighted-s70"

        def __init__(self, weight: float = 1.0, reduction: str = "sum") -> None:
            self.weight, self.reduction = weight, reduction

        def forward(self, output, target):
            error = output - target
            return self.weight * (error * error).sum()

    assert Weighted(2.0, reduction="none").reduction == "none"
    assert Weighted(2.0).weight == 2.0


# ---------------------------------------------------------------------------------------------
# Losses of one's own: per_case from the forward of each case
# ---------------------------------------------------------------------------------------------


class ScaledError(nn.Loss):
    """A loss of one's own: 3 sum |y - t|^3 averaged over the cases."""

    name = "scaled-error-s70"

    def forward(self, output, target):
        error = output - target
        return 3.0 * (error * error * error).abs().sum() / output.shape[0]


class HalfSquaredError(nn.SquaredError):
    """A subclass computing its own forward: half of SquaredError's."""

    def forward(self, output, target):
        return 0.5 * super().forward(output, target)


class Centred(nn.Loss):
    """Cases that interact: each output's error against the batch's mean error."""

    name = "centred-s70"
    reduction = "sum"

    def forward(self, output, target):
        error = output - target
        centred = error - error.mean(axis=0)
        return (centred * centred).sum()


def test_a_loss_of_one_s_own_gets_per_case_from_its_forward_of_each_case():
    net = network()
    outputs = net(X)
    per_case = ScaledError().per_case(outputs, VALUES)
    y, params = torch_outputs(net, X)
    expected = 3.0 * ((y - torch.tensor(VALUES)).abs() ** 3).sum(1)
    np.testing.assert_allclose(per_case.numpy(), expected.detach().numpy(), rtol=1e-13)
    assert per_case.numpy().mean() == pytest.approx(ScaledError()(outputs, VALUES).item())
    weights = dict(net.named_parameters())
    g = cr.grad(lambda w: ScaledError().per_case(nn.functional_call(net, w, X), VALUES)[2])(weights)
    want = torch.autograd.grad(expected[2], params)
    for name, w in zip(weights, want, strict=True):
        np.testing.assert_allclose(g[name].numpy(), w.numpy(), rtol=1e-11)


def test_a_subclass_with_its_own_forward_is_not_given_its_parent_s_per_case():
    outputs = network()(X)
    per_case = HalfSquaredError().per_case(outputs, VALUES)
    np.testing.assert_allclose(
        per_case.numpy(), 0.5 * nn.SquaredError().per_case(outputs, VALUES).numpy(), rtol=1e-14
    )
    assert per_case.numpy().sum() == pytest.approx(HalfSquaredError()(outputs, VALUES).item())


def test_a_loss_whose_cases_interact_is_refused_naming_per_case():
    outputs = network()(X)
    with pytest.raises(cr.errors.UserError, match=r"Centred\.per_case: .* cases interact"):
        Centred().per_case(outputs, VALUES)


# ---------------------------------------------------------------------------------------------
# CrossEntropy of one unbatched case: logits (k,), one class label
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [2, np.int64(0), np.array(1), cr.tensor(np.array(2))])
def test_cross_entropy_of_one_unbatched_case_is_that_of_the_batch_of_one(label):
    net = network()
    weights = dict(net.named_parameters())
    index = int(np.asarray(label.numpy() if isinstance(label, cr.Tensor) else label))
    one = cr.value_and_grad(lambda w: nn.CrossEntropy()(nn.functional_call(net, w, X[0]), label))
    batch = cr.value_and_grad(
        lambda w: nn.CrossEntropy()(nn.functional_call(net, w, X[:1]), np.array([index]))
    )
    (E1, g1), (Eb, gb) = one(weights), batch(weights)
    assert E1.shape == () and E1.item() == Eb.item()
    for name in weights:
        np.testing.assert_array_equal(g1[name].numpy(), gb[name].numpy())
    y, _ = torch_outputs(net, X[:1])
    assert E1.item() == pytest.approx(F.cross_entropy(y[0], torch.tensor(index)).item(), rel=1e-14)
    z = cr.tensor(rng.standard_normal(N_OUT), requires_grad=True)
    nn.CrossEntropy()(z, label).backward()
    zt = torch.tensor(z.numpy(), requires_grad=True)
    F.cross_entropy(zt, torch.tensor(index)).backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-14)
    assert z.grad.shape == (N_OUT,)
    per_case = nn.CrossEntropy().per_case(z, label)
    assert per_case.shape == (1,)
    assert per_case.item() == pytest.approx(nn.CrossEntropy()(z, label).item(), rel=1e-15)


@pytest.mark.parametrize(
    ("logits", "target", "shown"),
    [
        (np.zeros(3), np.array([0.2, 0.3, 0.5]), r"not \(3,\) and a target of shape \(3,\)"),
        (np.zeros(2), np.array([0]), r"not \(2,\) and a target of shape \(1,\)"),
    ],
)
def test_other_unbatched_logits_are_refused_saying_how_to_give_one_case(logits, target, shown):
    """(k,) probabilities beside (k,) logits may as well be one logit per case squeezed:
    refused, as a label of another shape is, saying to pass X[:1] / y[:1]."""
    with pytest.raises(cr.ShapeError, match=r"logits must have shape \(n_cases, n_classes\)") as e:
        nn.CrossEntropy()(cr.tensor(logits), target)
    message = str(e.value)
    assert re.search(shown, message) and "X[:1] and y[:1]" in message
