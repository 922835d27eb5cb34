"""What a loss object answers about itself (no torch needed): reduction, output unit, how outputs
become probabilities and targets become rows, and the one activation table."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.activations import ACTIVATIONS, activation_of
from chainrule.tensor import Tensor

Z = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 3.0]])


@pytest.mark.parametrize(
    ("loss", "divisor"),
    [(nn.SquaredError(), 1), (nn.SquaredError("mean"), 2), (nn.MSE(), 6),
     (nn.CrossEntropy(), 2), (nn.BinaryCrossEntropy(), 6)],
)  # fmt: skip
def test_the_divisor_is_what_the_loss_divides_its_sum_by(loss, divisor):
    assert loss.divisor(2, 3) == divisor
    t = np.eye(3)[[0, 2]]
    value = float(loss(Tensor(Z), t).item())
    y = loss.probabilities(Z)
    per_element = {
        "squared-error": lambda: 0.5 * (t - y) ** 2,
        "mse": lambda: (t - y) ** 2,
        "cross-entropy": lambda: -t * np.log(y),
        "binary-cross-entropy": lambda: -(t * np.log(y) + (1 - t) * np.log1p(-y)),
    }[loss.name]()
    assert value == pytest.approx(per_element.sum() / divisor, rel=1e-9)


def test_probabilities_come_from_the_losss_own_unit_the_op():
    softmax = nn.CrossEntropy().probabilities(Z)
    np.testing.assert_allclose(softmax, ACTIVATIONS["softmax"].op(Tensor(Z)).numpy())
    np.testing.assert_allclose(softmax.sum(axis=1), 1.0)
    logistic = nn.BinaryCrossEntropy().probabilities(Z)
    np.testing.assert_allclose(logistic, 1 / (1 + np.exp(-Z)), rtol=1e-12)
    np.testing.assert_array_equal(nn.SquaredError().probabilities(Z), Z)
    assert nn.CrossEntropy().output_activation == "softmax"
    assert nn.BinaryCrossEntropy().output_activation == "logistic"
    assert nn.MSE().output_activation is None


def test_target_rows_reads_labels_only_for_cross_entropy():
    np.testing.assert_array_equal(
        nn.CrossEntropy().target_rows(np.array([2, 0]), 3), np.eye(3)[[2, 0]]
    )
    np.testing.assert_array_equal(
        nn.CrossEntropy().target_rows(np.array([[1.0], [2.0]]), 3), np.eye(3)[[1, 2]]
    )
    column = np.array([[1.0], [0.0]])
    np.testing.assert_array_equal(nn.BinaryCrossEntropy().target_rows(column, 1), column)
    np.testing.assert_array_equal(nn.BinaryCrossEntropy().target_rows([1, 0], 1), column)
    with pytest.raises(ValueError, match="the output layer expects 3 values"):
        nn.BinaryCrossEntropy().target_rows(column, 3)
    with pytest.raises(ValueError, match="must lie in 0..2"):
        nn.CrossEntropy().target_rows(np.array([0, 3]), 3)


def test_the_activation_table_names_units_by_their_class_not_their_name():
    impostor = type("Logistic", (), {})()  # something that merely shares the name
    assert activation_of(nn.Logistic()) == "logistic"
    assert activation_of(nn.Sigmoid()) == "logistic"
    assert activation_of(impostor) is None
    assert ACTIVATIONS["linear"] is ACTIVATIONS["identity"]
    z = np.array([[-1.0, 0.0, 2.0]])
    for name in ("logistic", "tanh", "relu", "softmax", "identity"):
        unit = ACTIVATIONS[name]
        np.testing.assert_array_equal(unit.on_array(z), unit.op(Tensor(z)).numpy())
    with pytest.raises(nn.ConfigError, match="unknown activation 'swish'"):
        nn.activation("swish")


def test_cross_entropy_reads_one_whole_number_as_one_cases_label():
    """A 0-d label was 'the target has shape () but the output layer expects 3 values'."""
    ce = nn.CrossEntropy()
    for label in (2, np.int64(2), 2.0, np.array(2.0)):
        np.testing.assert_array_equal(ce.target_rows(label, 3), [[0.0, 0.0, 1.0]])
        np.testing.assert_array_equal(ce.target_rows(label, 3, n_cases=1), [[0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="labels must be whole numbers"):
        ce.target_rows(0.5, 3)
    with pytest.raises(ValueError, match=r"shape \(\) but .* a class label \(0..2\) per case or 3"):
        ce.target_rows(2, 3, n_cases=2)  # one label for two cases
    with pytest.raises(ValueError, match=r"shape \(2, 2\) but .* a class label \(0..2\) per case"):
        ce.target_rows([[1.0, 0.0], [0.0, 1.0]], 3)


def test_a_binary_target_just_past_one_is_shown_as_it_is():
    """``:g`` printed 1 + 1e-9 as 1: "must lie in [0, 1], got values in [0, 1]"."""
    targets = np.array([[1 + 1e-9], [0.0]])
    with pytest.raises(ValueError, match=r"got values in \[0\.0, 1\.000000001\]"):
        nn.BinaryCrossEntropy()(Tensor(np.zeros((2, 1))), targets)


def test_a_column_of_class_labels_is_refused_naming_the_shapes_that_fit():
    logits = Tensor(np.zeros((2, 3)))  # it said only "they must match"
    with pytest.raises(
        ValueError, match=r"expected labels \(2,\) or probabilities \(2, 3\) \(a column"
    ):
        nn.CrossEntropy()(logits, np.array([[0], [1]]))
