"""The views show the user's own model or refuse it: a subclass that computes its own forward is
not taken for its parent, a layer without biases keeps none, a loss keeps its reduction, and a
model in training mode is said to be explained as in evaluation.

Oracles: the model's own ``loss(model(x), t)`` and ``.grad`` (the engine), and, where a view
would have shown the parent's numbers, those numbers differ from the model's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, ops
from chainrule.checks import computes_as
from chainrule.explainer import ExplainError
from chainrule.notebook.explorer import Explorer, start_network
from chainrule.tensor import Tensor

RNG = np.random.default_rng(0)
X = RNG.random((1, 3))
T = RNG.random((1, 2))


class ScaledTanh(nn.Tanh):
    """LeCun's 1.7159 tanh(2z/3): a Tanh by class, another unit by computation."""

    def forward(self, z):
        return 1.7159 * ops.tanh(z * (2 / 3))


class DoubledLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2.0


class HalfSquaredError(nn.SquaredError):
    def forward(self, output, target):
        return 0.5 * super().forward(output, target)


class DoubledChain(nn.Sequential):
    """A Sequential by class whose output is twice its chain's."""

    def forward(self, x):
        return super().forward(x) * 2.0


class RenamedTanh(nn.Tanh):
    """A subclass that computes what Tanh computes: still a tanh unit."""


def linear(n_in, n_out, seed, **options):
    return nn.Linear(n_in, n_out, rng=seed, dtype="float64", **options)


def own_error(model, loss):
    return float(loss(model(Tensor(X)), T).item())


def test_computes_as_tells_a_subclass_with_its_own_forward_from_one_without():
    assert computes_as(nn.Tanh(), nn.Tanh)
    assert computes_as(RenamedTanh(), nn.Tanh)
    assert not computes_as(ScaledTanh(), nn.Tanh)
    assert not computes_as(nn.Logistic(), nn.Tanh)
    patched = nn.Tanh()
    patched.forward = lambda z: 2 * ops.tanh(z)  # an instance given its own forward
    assert not computes_as(patched, nn.Tanh)
    assert nn.activation_of(ScaledTanh()) is None
    assert nn.activation_of(RenamedTanh()) == "tanh"


@pytest.mark.parametrize(
    "model, loss, named",
    [
        (
            lambda: nn.Sequential(linear(3, 3, 1), ScaledTanh(), linear(3, 2, 2), nn.Logistic()),
            nn.SquaredError,
            "layer 1 is a ScaledTanh, which computes its own forward instead of Tanh's",
        ),
        (
            lambda: nn.Sequential(DoubledLinear(3, 2, rng=1, dtype="float64"), nn.Logistic()),
            nn.SquaredError,
            "layer 0 is a DoubledLinear, which computes its own forward instead of Linear's",
        ),
        (
            lambda: nn.Sequential(linear(3, 2, 1), nn.Logistic()),
            HalfSquaredError,
            "the loss is a HalfSquaredError, which computes its own forward instead of "
            "SquaredError's",
        ),
        (
            lambda: DoubledChain(linear(3, 2, 1), nn.Logistic()),
            nn.SquaredError,
            "the model is a DoubledChain, which computes its own forward instead of Sequential's",
        ),
    ],
    ids=["unit", "linear", "loss", "container"],
)
def test_a_subclass_with_its_own_forward_is_refused_by_every_view(model, loss, named):
    model, loss = model(), loss()
    # the parent's formulas would have shown other numbers than the model's
    plain = nn.Sequential(*[_as_parent(m) for m in model])
    assert own_error(model, loss) != pytest.approx(own_error(plain, _as_parent(loss)), rel=1e-3)
    with pytest.raises(ExplainError, match=named):
        cr.explain(model, X, T, loss)
    with pytest.raises(cr.errors.UserError, match=named):
        start_network(model, (X[0], T[0]), loss)


def _as_parent(obj):
    """The library's own class of ``obj`` with the same parameters (the oracle of what a view
    that took the subclass for its parent would have shown)."""
    if isinstance(obj, nn.Linear) and type(obj) is not nn.Linear:
        plain = linear(*obj.weight.shape, 0)
        plain.weight.data[...] = obj.weight.data
        plain.bias.data[...] = obj.bias.data
        return plain
    for parent in (nn.Tanh, nn.SquaredError):
        if isinstance(obj, parent):
            return parent()
    return obj


def test_a_subclass_that_computes_its_parents_forward_is_explained():
    model = nn.Sequential(linear(3, 3, 1), RenamedTanh(), linear(3, 2, 2), nn.Logistic())
    d = cr.explain(model, X, T, nn.SquaredError(), check=False)
    assert d.error == pytest.approx(own_error(model, nn.SquaredError()), rel=1e-12)


def test_dropout_in_training_mode_is_explained_as_in_evaluation_and_says_so():
    model = nn.Sequential(linear(3, 4, 1), nn.Logistic(), nn.Dropout(0.5, rng=0),
                          linear(4, 2, 2), nn.Logistic())  # fmt: skip
    loss = nn.SquaredError()
    d = cr.explain(model, X, T, loss, check=False)
    assert model.training  # the explainer leaves the mode as it was
    assert any("training mode" in note and "module 2 (p=0.5)" in note for note in d.notes)
    assert "training mode" in cr.explainer.render(d, "text")
    model.eval()
    assert d.error == pytest.approx(own_error(model, loss), rel=1e-12)
    (note,) = cr.explain(model, X, T, loss, check=False).notes  # eval mode's note (s70)
    assert "training mode" not in note and "evaluation mode" in note
    model.train()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start_network(model, (X[0], T[0]), loss)
    assert any("training mode" in str(w.message) for w in caught)


def _explorer(model, loss):
    network = start_network(model, (X[0], T[0]), loss)
    return network, Explorer(network)


def ask(explorer, path, network):
    reply = explorer.answer({"id": 1, "path": path, "body": {"network": network}})
    assert reply["ok"], reply
    return reply["data"]


def test_the_explorer_keeps_a_layer_without_biases_as_it_is():
    model = nn.Sequential(linear(3, 2, 1, bias=False), nn.Tanh(), linear(2, 2, 2), nn.Logistic())
    loss = nn.SquaredError()
    network, explorer = _explorer(model, loss)
    assert network["biases"][0] is None
    backward = ask(explorer, "/api/backward", network)
    assert backward["dE_db"][0] is None
    model.zero_grad()
    loss(model(Tensor(X)), T).backward()
    np.testing.assert_allclose(backward["dE_db"][1], model[2].bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(backward["dE_dw"][0], model[0].weight.grad.numpy(), rtol=1e-12)
    derivation = ask(explorer, "/api/derivation", network)
    assert derivation["network"]["n_parameters"] == 6 + 4 + 2
    checked = ask(explorer, "/api/gradcheck", network)
    assert checked["ok"] and checked["checked"] == 3 + 6 + 4 + 2  # inputs, weights, one bias


def test_the_explorer_keeps_the_losss_reduction():
    model = nn.Sequential(linear(3, 2, 1), nn.Logistic())
    network, explorer = _explorer(model, nn.SquaredError("mean"))
    assert network["reduction"] == "mean"
    assert ask(explorer, "/api/derivation", network)["loss"]["reduction"] == "mean"
    network, explorer = _explorer(model, nn.SquaredError())
    assert "reduction" not in network  # the loss's own default
    assert ask(explorer, "/api/derivation", network)["loss"]["reduction"] == "sum"
    mse_as_a_sum = {**network, "loss": "mse", "reduction": "sum"}
    refused = explorer.answer({"id": 2, "path": "/api/backward", "body": {"network": mse_as_a_sum}})
    assert not refused["ok"] and "reduction" in refused["error"]


def test_the_three_views_say_why_the_graph_is_left_out():
    x, t = np.array([[0.1, 0.2]]), np.array([[0.3, 0.6]])

    def graph_header(hidden):
        model = nn.Sequential(linear(2, 2, 1), hidden, linear(2, 2, 2), nn.Logistic())
        text = cr.explainer.render(cr.explain(model, x, t, nn.SquaredError()), "text")
        return next(line for line in text.splitlines() if "graph:" in line)

    assert "softmax hidden units are not elementwise" in graph_header(nn.Softmax())
    assert "too large" not in graph_header(nn.Softmax())  # a 2-2-2 network is small
    assert "what the consumer sends back" in graph_header(nn.Logistic())


def _central_difference(model, loss, x, t, parameter, index, eps=1e-6):
    """dE/dparameter[index] of the model's own forward and loss, measured."""
    data = parameter.data
    kept = data[index]
    errors = []
    for shift in (eps, -eps):
        data[index] = kept + shift
        errors.append(float(loss(model(Tensor(x)), t).item()))
    data[index] = kept
    return (errors[0] - errors[1]) / (2 * eps)


def test_a_frozen_parameter_is_derived_as_the_chain_rule_gives_it_and_said_to_be_frozen():
    model = nn.Sequential(linear(3, 4, 1), nn.Tanh(), linear(4, 2, 2), nn.Logistic())
    model[0].weight.requires_grad = False
    model[2].bias.requires_grad = False
    x, t, loss = RNG.random((2, 3)), RNG.random((2, 2)), nn.SquaredError()
    d = cr.explain(model, x, t, loss)
    assert d.all_ok  # a frozen weight's dE/dw was 0, and its checks failed
    # dE/dw_ij = sum over cases of y_i dE/dz_j (the lecture's formula, from the layers' records)
    expected = d.layers[0].y.T @ d.layers[1].dE_dz
    np.testing.assert_allclose(d.connections[0].dE_dw, expected, rtol=1e-12)
    for index in [(0, 0), (2, 3)]:
        measured = _central_difference(model, loss, x, t, model[0].weight, index)
        assert d.connections[0].dE_dw[index] == pytest.approx(measured, rel=1e-6, abs=1e-10)
    measured = _central_difference(model, loss, x, t, model[2].bias, 1)
    assert d.connections[1].dE_db[1] == pytest.approx(measured, rel=1e-6, abs=1e-10)
    assert any("Frozen" in note and "0.weight, 2.bias" in note for note in d.notes)
    assert "Frozen" in cr.explainer.render(d, "text")
    assert model[0].weight.grad is None and not model[0].weight.requires_grad  # left as it was


@pytest.mark.parametrize("tie", ["module twice", "weight assigned"])
def test_a_parameter_shared_by_two_layers_is_refused_by_every_view(tie):
    first = linear(3, 3, 1)
    if tie == "module twice":
        model = nn.Sequential(first, nn.Tanh(), first, nn.Logistic())
    else:
        second = linear(3, 3, 2)
        second.weight = first.weight
        model = nn.Sequential(first, nn.Tanh(), second, nn.Logistic())
    x, t = RNG.random((1, 3)), RNG.random((1, 3))
    with pytest.raises(ExplainError, match=r"2\.weight is the same tensor as 0\.weight"):
        cr.explain(model, x, t, nn.SquaredError())
    with pytest.raises(ExplainError, match="same tensor"):
        start_network(model, (x[0], t[0]), nn.SquaredError())


def test_inputs_and_targets_that_need_a_gradient_are_read_as_their_values():
    """An input made to require a gradient, or a teacher model's output as the target, was
    refused by every view with the TypeError meant for NumPy functions, which the user never
    called. Oracle: the same derivation from the plain arrays, and the engine's gradients."""
    from chainrule.explainer import to_dict

    model = nn.mlp([3, 4, 2], output=None, rng=0)
    x = cr.tensor(X, requires_grad=True)
    teacher = nn.mlp([3, 2], output=None, rng=1)(x)
    assert teacher.requires_grad
    taught = np.array(teacher.numpy())
    for inputs, targets, plain_targets, loss in (
        (x, [1], [1], "cross-entropy"),
        (X, teacher, taught, "mse"),
    ):
        derivation = cr.explain(model, inputs, targets, loss)
        assert derivation.all_ok
        assert to_dict(derivation) == to_dict(cr.explain(model, X, plain_targets, loss))
    nn.MSE()(model(X), cr.tensor(taught)).backward()
    derivation = cr.explain(model, X, teacher, "mse")
    for i, j in ((0, 0), (2, 3)):
        assert derivation.dE_dw(0, i, j).value == pytest.approx(
            model[0].weight.grad.numpy()[i, j], rel=1e-12
        )
    pytest.importorskip("anywidget")  # the notebook extra
    assert type(cr.explorer(model, (x[0], 1), "cross-entropy")).__name__ == "ExplorerWidget"


def test_the_checks_notes_are_the_finite_difference_checks_own():
    # a dropout model in training mode (its note says "step") with large weights (the check
    # takes smaller steps, and notes it): only the second is a note about the check
    model = nn.Sequential(linear(2, 3, 0), nn.Logistic(), nn.Dropout(0.5), linear(3, 1, 1))
    model[0].weight.data[...] *= 50
    model.train()
    d = cr.explain(model, [[1.0, -2.0]], [[0.5]], loss="squared-error", perturbation=False)
    assert len(d.notes) == 2 and any("dropout" in note.lower() for note in d.notes)
    assert len(d.check_notes) == 1 and d.check_notes[0].startswith("Finite-difference steps")
    assert d.check_notes[0] in d.notes
    from chainrule.web.network import step_notes  # what the page's gradient check shows

    assert step_notes(d) == d.check_notes


@pytest.mark.parametrize("second", ["weight", "bias"])
def test_a_model_of_two_dtypes_is_refused_naming_both(second):
    # the model computes its second layer in float64: a float32 explanation (or explorer) of it
    # would not be the model's numbers
    model = nn.Sequential(
        nn.Linear(3, 4, dtype="float32", rng=1), nn.Tanh(), nn.Linear(4, 3, dtype="float32", rng=2)
    )
    getattr(model[2], second).data = getattr(model[2], second).data.astype("float64")
    x, label = np.array([[0.1, -0.7, 0.3]]), np.array([1])
    message = rf"mixes dtypes: '0.weight' is float32, '2.{second}' is float64"
    with pytest.raises(ExplainError, match=message):
        cr.explain(model, x, label, nn.CrossEntropy())
    with pytest.raises(ExplainError, match=message):
        start_network(model, (x[0], label[0]), nn.CrossEntropy())


def test_a_parallel_of_two_dtypes_is_refused_naming_the_branch():
    net = nn.Sequential(
        nn.Parallel((1, nn.Linear(1, 1, dtype="float64")), (1, nn.Linear(1, 1, dtype="float32"))),
        nn.Logistic(),
    )
    with pytest.raises(ExplainError, match=r"'0.1.weight' is float32"):
        cr.explain(net, [[1.0, 0.5]], [[1.0, 0.0]], loss="squared-error")
