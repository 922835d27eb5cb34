"""``train.accuracy`` checks that its outputs are one row per case of the dataset, by the one
check ``class_report`` runs (``metrics.case_outputs``); it scored one case's outputs against the
whole set (0.6 for five cases), returned None for no outputs at all, and raised NumPy's
broadcast words or an IndexError for others. ``train.predict`` of no rows runs the model on the
empty input: the model's own (0, n_outputs) and its input-width check, where it returned (0, 0)
for any model and any input.

Oracles: class_report's message for the same outputs; the model's forward pass on the same
inputs; the ShapeError the model gives for a wrong width on one row."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, train
from chainrule.errors import DataError
from chainrule.train.metrics import class_report

CLASSES = data.Dataset(
    X=np.zeros((5, 2)), y=np.array([0, 1, 1, 1, 2]), task="classification", n_classes=3
)
BINARY = data.Dataset(
    X=np.zeros((4, 2)), y=np.array([1, 0, 1, 1]), task="classification", n_classes=2
)
MULTILABEL = data.Dataset(
    X=np.zeros((4, 2)), y=np.array([[1.0, 0], [0, 1], [1, 1], [0, 0]]), task="multilabel"
)


@pytest.mark.parametrize(
    ("outputs", "ds", "loss"),
    [
        (np.array([[0.0, 1.0, 0.0]]), CLASSES, None),  # one case against five: it said 0.6
        (np.array([[1.0]]), BINARY, nn.BinaryCrossEntropy()),  # it said 0.75
        (np.array([[5.0, -5.0]]), MULTILABEL, None),  # it said 0.25
        (np.zeros((0, 3)), CLASSES, None),  # no outputs for five cases: it said None
        (np.eye(3), CLASSES, None),  # NumPy's "could not be broadcast"
        (np.array([0.0, 1, 1, 1, 2]), CLASSES, None),  # 1-D: "tuple index out of range"
    ],
    ids=["one-row", "one-row-binary", "one-row-multilabel", "no-rows", "three-rows", "1-D"],
)
def test_accuracy_refuses_outputs_that_are_not_one_row_per_case(outputs, ds, loss):
    with pytest.raises(DataError) as refusal:
        train.accuracy(outputs, ds, loss)
    said = str(refusal.value)
    expected = f"outputs must be 2-D with one row per case ({len(ds)}), got shape {outputs.shape}"
    assert said == f"accuracy: {expected}", said
    with pytest.raises(DataError) as reported:  # the one check: class_report's words
        class_report(outputs, ds, loss)
    assert str(reported.value) == f"class_report: {expected}"
    # outputs of the right shape are still scored, by hand: rows 1, 2, 3 right of five
    right = np.eye(3)[[1, 1, 1, 1, 0]]
    assert train.accuracy(right, CLASSES) == pytest.approx(3 / 5)


def test_accuracy_and_class_report_given_the_model_say_to_give_its_outputs():
    model = nn.mlp([2, 4, 3], rng=0)
    for function in (train.accuracy, class_report):
        with pytest.raises(TypeError) as refusal:  # it was "tuple index out of range"
            function(model, CLASSES)
        said = str(refusal.value)
        assert said.startswith(f"{function.__name__}: outputs must be a network's outputs"), said
        assert "predict(model, ds.X)" in said, said
    empty = data.Dataset(X=np.zeros((0, 2)), y=np.zeros(0, np.int64), task="classification")
    assert train.accuracy(np.zeros((0, 3)), empty) is None  # no cases, no outputs: no score


@pytest.mark.parametrize("output", ["identity", "logistic", "softmax"])
def test_predict_has_the_models_width_at_any_number_of_rows(output):
    model = nn.mlp([2, 4, 3], output=output, rng=0)
    for n in (0, 1, 3):
        X = np.random.default_rng(n).normal(size=(n, 2))
        got = train.predict(model, X, batch_size=2)
        with cr.no_grad():
            expected = model(cr.tensor(X.astype(np.float32))).numpy()
        assert got.shape == (n, 3)  # (0, 0) at n = 0
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_predict_of_no_rows_checks_the_input_width_as_for_one_row():
    model = nn.mlp([2, 4, 3], rng=0)
    with pytest.raises(cr.ShapeError) as one_row:
        train.predict(model, np.zeros((1, 5)))
    with pytest.raises(cr.ShapeError) as no_rows:  # accepted, as (0, 0)
        train.predict(model, np.zeros((0, 5)))
    assert str(no_rows.value) == re.sub(r"\(1, 5\)", "(0, 5)", str(one_row.value))
    across = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Softmax(axis=0))  # all rows at once
    assert train.predict(across, np.zeros((0, 2))).shape == (0, 3)
