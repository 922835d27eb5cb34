"""The explainer's E and dE/dw are the model's own loss and backward(), for every loss.

The oracle is the model itself: ``loss(model(x), t)`` and ``.backward()`` on its parameters, with
the loss object the user trained with. Before the explainer asked the loss object, a mean
cross-entropy was written out as a sum (E three times too large on three cases).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import ExplainError, explain, render, to_dict, to_json
from chainrule.tensor import Tensor
from chainrule.web.network import NetworkState

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4))
LABELS = np.array([0, 2, 1])
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
ZERO_ONE = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
REAL = RNG.normal(size=(3, 3))

CASES = {
    "squared-error sum": (nn.SquaredError("sum"), "logistic", ZERO_ONE),
    "squared-error mean": (nn.SquaredError("mean"), "logistic", ZERO_ONE),
    "mse": (nn.MSE(), None, REAL),
    "cross-entropy labels": (nn.CrossEntropy(), None, LABELS),
    "cross-entropy probabilities": (nn.CrossEntropy(), None, PROBS),
    "binary-cross-entropy": (nn.BinaryCrossEntropy(), None, ZERO_ONE),
}


def own_loss_and_grads(model, loss, x, t):
    """E and every dE/dw by the model's own forward, loss and backward()."""
    for p in model.parameters():
        p.grad = None
    E = loss(model(Tensor(x)), t)
    E.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    return float(E.item()), grads


@pytest.mark.parametrize("case", list(CASES))
def test_E_and_every_dE_dw_equal_the_models_own_loss_and_backward(case):
    loss, output, t = CASES[case]
    model = nn.mlp([4, 5, 3], output=output, dtype=np.float64, rng=1)
    E, grads = own_loss_and_grads(model, loss, X, t)
    d = explain(model, X, t, loss)
    assert d.error == pytest.approx(E, rel=1e-12, abs=1e-15)
    for conn in d.connections:
        np.testing.assert_allclose(conn.dE_dw, grads[conn.weight_name], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(conn.dE_db, grads[conn.bias_name], rtol=1e-10, atol=1e-14)
    assert d.all_ok  # and the independent finite differences agree
    assert to_dict(d)["loss"]["reduction"] == loss.reduction


def test_a_mean_cross_entropy_is_not_written_out_as_a_sum():
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=1)
    E, _ = own_loss_and_grads(model, nn.CrossEntropy(), X, LABELS)
    for loss in (nn.CrossEntropy(), "cross-entropy", {"type": "cross-entropy"}):
        d = explain(model, X, LABELS, loss, check=False)
        assert d.error == pytest.approx(E, rel=1e-12)


def test_binary_cross_entropy_reads_a_column_of_0_1_targets():
    model = nn.mlp([4, 3, 1], output=None, dtype=np.float64, rng=2)
    t = np.array([[1.0], [0.0], [1.0]])
    E, _ = own_loss_and_grads(model, nn.BinaryCrossEntropy(), X, t)
    d = explain(model, X, t, "binary-cross-entropy")
    assert d.error == pytest.approx(E, rel=1e-12)
    np.testing.assert_array_equal(d.t, t)


def test_unchecked_derivation_serialises_without_a_giant_allocation():
    model = nn.mlp([4, 5, 3], output="logistic", dtype=np.float64, rng=1)
    d = explain(model, X, ZERO_ONE, check=False)
    assert d.all_checks() == []
    text = to_json(d)
    assert '"dE_dw"' in text or '"connections"' in text


# -- a model that already ends in the loss's own unit; softmax along another axis -----------------


@pytest.mark.parametrize(
    ("unit", "loss", "t"),
    [(nn.Softmax, nn.CrossEntropy(), LABELS), (nn.Logistic, nn.BinaryCrossEntropy(), ZERO_ONE)],
)
def test_a_model_ending_in_the_losss_own_unit_is_refused_not_explained_from_its_logits(
    unit, loss, t
):
    """loss(model(x), t) applies the unit twice there; explaining from the logits showed another
    E and other gradients (1.145 against the library's 1.118), so the explainer refuses."""
    model = nn.Sequential(nn.Linear(4, 5, rng=0, dtype="float64"), nn.Tanh(),
                          nn.Linear(5, 3, rng=1, dtype="float64"), unit())  # fmt: skip
    with pytest.raises(ExplainError, match=r"module 3 .*twice.*Remove the final"):
        explain(model, X, t, loss)
    with pytest.raises(ExplainError, match="module 3 .*twice"):
        NetworkState.from_model(model, X[0], t[0], loss)  # the explorer's state, too


@pytest.mark.parametrize("loss_name", ["cross-entropy", "binary-cross-entropy"])
def test_the_models_chainrule_train_builds_for_the_cross_entropies_stay_exact(loss_name):
    """``chainrule train`` builds nn.mlp(..., output=output_unit(loss)): the logits for both."""
    from chainrule.train.runs import output_unit

    data = type("Data", (), {"task": "classification"})()
    model = nn.mlp([4, 5, 3], output=output_unit(loss_name, data), dtype="float64", rng=2)
    loss = nn.loss_from_name(loss_name)
    t = LABELS if loss_name == "cross-entropy" else ZERO_ONE
    E, grads = own_loss_and_grads(model, loss, X, t)
    d = explain(model, X, t, loss_name)
    assert d.error == pytest.approx(E, rel=1e-12) and d.all_ok
    for conn in d.connections:
        np.testing.assert_allclose(conn.dE_dw, grads[conn.weight_name], rtol=1e-10, atol=1e-14)


def test_softmax_along_the_cases_axis_is_refused_and_along_the_units_is_exact():
    def model(axis):
        return nn.Sequential(nn.Linear(4, 3, rng=0, dtype="float64"), nn.Softmax(axis=axis))

    with pytest.raises(ExplainError, match=r"layer 1 is Softmax\(axis=0\).*axis=-1"):
        explain(model(0), X[:2], REAL[:2], nn.SquaredError())
    for axis in (1, -1):  # the same softmax on (cases, units) rows
        E, grads = own_loss_and_grads(model(axis), nn.SquaredError(), X, REAL)
        d = explain(model(axis), X, REAL, nn.SquaredError())
        assert d.error == pytest.approx(E, rel=1e-12)
        np.testing.assert_allclose(d.connections[0].dE_dw, grads["0.weight"], rtol=1e-10)


# -- class labels one per case ----------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [np.array([2.0, 0.0, 1.0]), [2, 0, 1], [2.0, 0.0, 1.0], [[2], [0], [1]]],
    ids=["float array", "int list", "float list", "column"],
)
def test_class_labels_one_per_case_are_read_as_the_library_reads_them(labels):
    """A flat list of whole-number floats, one per case, is labels for CrossEntropy itself; the
    explainer read it as one case's row of probabilities and refused it."""
    model = nn.mlp([4, 5, 3], output=None, dtype="float64", rng=1)
    labels_read = np.asarray(labels).reshape(-1).astype(int)  # CrossEntropy takes integers
    E, grads = own_loss_and_grads(model, nn.CrossEntropy(), X, labels_read)
    d = explain(model, X, labels, nn.CrossEntropy())
    assert d.error == pytest.approx(E, rel=1e-12)
    np.testing.assert_allclose(d.connections[1].dE_dw, grads["2.weight"], rtol=1e-10)
    np.testing.assert_array_equal(d.t, np.eye(3)[[2, 0, 1]])


def test_labels_for_one_case_and_rows_of_probabilities_still_read():
    model = nn.mlp([4, 5, 3], output=None, dtype="float64", rng=1)
    one = explain(model, X[:1], [2.0], nn.CrossEntropy(), check=False)
    E, _ = own_loss_and_grads(model, nn.CrossEntropy(), X[:1], np.array([2]))
    assert one.error == pytest.approx(E, rel=1e-12)
    row = explain(model, X[:1], PROBS[0], nn.CrossEntropy(), check=False)  # one case, flat
    np.testing.assert_array_equal(row.t, PROBS[:1])
    with pytest.raises(ExplainError, match="whole numbers"):  # as CrossEntropy itself says
        explain(model, X, [0.5, 1.0, 2.0], nn.CrossEntropy())


@pytest.mark.parametrize(
    "loss", ["margin-squared-error", {"type": "margin-squared-error", "on": 0.7}]
)
def test_a_loss_given_by_name_or_config_is_the_librarys_own(loss):
    """A Loss object was checked, a name or config was not: the margin loss was once explained
    with binary cross-entropy's formulas. By name or config it is the library's margin loss,
    its margins included, and its gradients are its own shortfalls, not y - t."""
    model = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Logistic())
    d = explain(model, [[0.5, -0.2]], [[1.0, 0.0]], loss)
    assert type(d.loss) is nn.MarginSquaredError
    on = loss["on"] if isinstance(loss, dict) else 0.8
    y = d.layers[-1].y[0]
    expected = [min(y[0] - on, 0.0), max(y[1] - 0.2, 0.0)]
    np.testing.assert_allclose(d.layers[-1].dE_dy[0], expected, rtol=1e-6, atol=1e-12)
    assert d.all_ok


def test_a_loss_no_view_writes_out_is_explained_from_its_own_backward():
    """A loss of the user's own has no formulas the explainer could write: it is explained
    from its own backward (s66: tests/explain/test_own_loss_s66.py), and says so."""

    class Hinge(nn.Loss):
        name = "hinge"

        def forward(self, output, target):
            return (1.0 - output * target).relu().sum()

    model = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Logistic())
    assert (
        to_dict(explain(model, [[0.5, -0.2]], [[1.0, 0.0]], Hinge()))["loss"]["written_out"]
        is False
    )


@pytest.mark.parametrize(
    "loss, output, t",
    [
        (nn.CrossEntropy(), None, LABELS),
        (nn.BinaryCrossEntropy(), None, ZERO_ONE),
        (nn.SquaredError("mean"), "logistic", ZERO_ONE),
    ],
    ids=["cross-entropy", "binary-cross-entropy", "squared-error mean"],
)
def test_the_losss_scale_is_written_to_the_digits_asked_so_each_step_gives_its_result(
    loss, output, t
):
    """The 1/n of a mean was written with 6 digits whatever Options.digits said: at 10 digits
    0.333333·(0.5473449447 − 1) did not make the result written under it."""
    from chainrule.explainer import render_text
    from chainrule.explainer.document import Options

    model = nn.mlp([4, 5, 3], output=output, dtype="float64", rng=1)
    text = render_text(explain(model, X, t, loss), options=Options(digits=10))
    number = r"\(?(-?[\d.]+(?:e-?\d+)?)\)?"
    steps = re.findall(rf"= {number}·\((-\()?{number} - {number}\)?\)\n\s*= {number}", text)
    assert len(steps) >= 6  # three units of two cases, at least
    for scale, negated, a, b, result in steps:
        product = float(scale) * (float(a) - float(b)) * (-1 if negated else 1)
        assert product == pytest.approx(float(result), rel=1e-8, abs=1e-12)


def test_cross_entropy_with_rows_not_summing_to_one_writes_the_targets_total():
    """Cross-entropy takes any non-negative rows: dE/dz_j = (sum_k t_k) y_j - t_j. The text
    wrote "y_j - t_j" with the numbers substituted and the right result after it: false
    arithmetic ("0.5176 - 1 = 0.03524") beside a check mark."""
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=1)
    t = np.array([[1.0, 1.0, 0.0], [0.5, 0.2, 0.1], [0.0, 0.0, 1.0]])
    E, grads = own_loss_and_grads(model, nn.CrossEntropy(), X, t)
    d = explain(model, X, t, nn.CrossEntropy())
    assert d.error == pytest.approx(E, rel=1e-12) and d.all_ok
    for conn in d.connections:
        np.testing.assert_allclose(conn.dE_dw, grads[conn.weight_name], rtol=1e-10, atol=1e-14)
    text = render(d, "text", digits=12, max_cases=3)
    assert "∂E/∂z_j = (1/3)·((Σ_k t_k) y_j - t_j)" in text
    number = r"([-\d.e]+)"
    step = rf"∂E/∂z_\d = {number}·\({number}·{number} - {number}\)\s+= {number}"
    steps = re.findall(step, text)
    assert len(steps) == t.size
    for share, total, y, target, result in steps:  # each step's arithmetic gives its result
        value = float(share) * (float(total) * float(y) - float(target))
        assert value == pytest.approx(float(result), abs=1e-11)
    assert [float(s[1]) for s in steps] == [2.0] * 3 + [0.8] * 3 + [1.0] * 3


def test_rows_summing_to_one_keep_the_lectures_y_minus_t():
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=1)
    text = render(explain(model, X, LABELS, "cross-entropy"), "text")
    assert "(y_j - t_j)" in text and "Σ_k t_k" not in text


def test_cross_entropy_over_one_output_is_refused():
    """A softmax of one unit is 1: E was 0 and every gradient 0 for any target, "all agree"."""
    model = nn.mlp([3, 4, 1], output=None, dtype=np.float64, rng=1)
    with pytest.raises(ExplainError, match="cross-entropy over 1 output: .* binary-cross-entropy"):
        explain(model, X[:, :3], [[1.0], [0.0], [1.0]], "cross-entropy")
