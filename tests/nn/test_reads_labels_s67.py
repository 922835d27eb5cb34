"""A loss says whether it takes one class label per case (session 67): ``Loss.reads_labels``,
and the labels it reads a target as, ``Loss.target_labels``, the one reading that
``target_rows`` makes one-hot rows of (cross-entropy's, where only CrossEntropy had it).

The oracle: CrossEntropy's own reading (its one-hot rows, its refusals), which a loss of one's
own that declares labels now shares; and np.eye of the labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn


class Hinge(nn.Loss):
    """A multiclass squared hinge on the outputs as they are, from class labels: it applies no
    unit, so only its declaration says that it reads labels."""

    name = "hinge-s67"
    reads_labels = True

    def forward(self, output, target):
        rows = cr.tensor(np.eye(output.shape[1])[np.asarray(target)])
        right = (output * rows).sum(axis=1).reshape(-1, 1)
        margins = cr.relu(1.0 + output - right) * (1.0 - rows)
        return (margins * margins).sum() / output.shape[0]


class Softmaxed(nn.Loss):
    """Applies softmax itself and says nothing: it reads labels, as training hands it them."""

    output_activation = "softmax"


class SoftRowsOnly(nn.Loss):
    """Applies softmax itself but reads rows of probabilities alone, and says so."""

    output_activation = "softmax"
    reads_labels = False


class Plain(nn.Loss):
    """Compares rows, says nothing."""


@pytest.mark.parametrize(
    "loss, reads",
    [(nn.CrossEntropy(), True), (Hinge(), True), (Softmaxed(), True), (SoftRowsOnly(), False),
     (Plain(), False), (nn.SquaredError(), False), (nn.MSE(), False),
     (nn.BinaryCrossEntropy(), False), (nn.MarginSquaredError(), False)],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Loss) else str(v),
)  # fmt: skip
def test_each_loss_says_whether_it_reads_class_labels(loss, reads):
    assert loss.reads_labels is reads
    labels = loss.target_labels(np.array([2, 0, 1, 2]), 3, n_cases=4)
    if reads:
        np.testing.assert_array_equal(labels, [2, 0, 1, 2])
        np.testing.assert_array_equal(
            loss.target_rows([2, 0, 1, 2], 3, n_cases=4), np.eye(3)[[2, 0, 1, 2]]
        )
    else:
        assert labels is None
        with pytest.raises(ValueError, match=r"the target has shape \(4,\)"):
            loss.target_rows([2, 0, 1, 2], 3, n_cases=4)


def test_a_declared_loss_reads_and_refuses_labels_as_cross_entropy_does_in_its_own_name():
    hinge, ce = Hinge(), nn.CrossEntropy()
    for target, n_cases in (
        ([[1.0], [2.0]], None),
        ([2.0, 0.0], 2),
        (2, 1),
        ([[0.2, 0.3, 0.5]], 1),
    ):
        np.testing.assert_array_equal(
            hinge.target_rows(target, 3, n_cases), ce.target_rows(target, 3, n_cases)
        )
    with pytest.raises(ValueError, match=r"^Hinge: class labels \[0, 3\] must lie in 0\.\.2$"):
        hinge.target_rows(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match=r"^Hinge: labels must be whole numbers"):
        hinge.target_labels([0.5, 1.0], 3, n_cases=2)
    with pytest.raises(ValueError, match=r"^Hinge: the target .*a class label \(0\.\.2\) per case"):
        hinge.target_rows([[0.5, 0.5]], 3)
    # rows of probabilities are no labels; one output unit reads its column as it is
    assert hinge.target_labels([[0.2, 0.3, 0.5]], 3, n_cases=1) is None
    assert hinge.target_labels([1, 0], 1, n_cases=2) is None
    np.testing.assert_array_equal(hinge.target_rows([1, 0], 1), [[1.0], [0.0]])


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 3), min_size=1, max_size=6),
    shape=st.sampled_from(["flat", "column", "floats"]),
)
def test_target_rows_are_the_one_hot_rows_of_target_labels(labels, shape):
    """One home: where a loss reads labels, its rows are their one-hot rows, for chainrule's
    cross-entropy and a loss of one's own alike."""
    target = {
        "flat": np.array(labels),
        "column": np.array(labels).reshape(-1, 1),
        "floats": [float(v) for v in labels],
    }[shape]
    for loss in (nn.CrossEntropy(), Hinge()):
        read = loss.target_labels(target, 4, n_cases=len(labels))
        np.testing.assert_array_equal(read, labels)
        np.testing.assert_array_equal(loss.target_rows(target, 4, len(labels)), np.eye(4)[read])


def test_training_hands_a_loss_that_declares_labels_the_labels():
    """cr.train.fit on class labels gives a loss that declares ``reads_labels`` (and applies no
    softmax) the labels its forward takes, one per case, as the explainer does; it gave one-hot
    rows, which the hinge read as nonsense indices. The oracle: the loss's own value at the
    labels, which the history's first epoch must equal."""
    seen = []

    class Recording(Hinge):
        name = "hinge-recording-s67"

        def forward(self, output, target):
            seen.append(np.asarray(target))
            return super().forward(output, target)

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 4)), rng.integers(0, 3, size=12)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, dtype="float64"))
    before = float(Hinge()(model(cr.tensor(X)), y).item())
    ds = cr.data.Dataset(X, y, task="classification")
    history = cr.train.fit(model, Recording(), cr.optim.SGD(model.parameters(), lr=0.0),
                           ds, epochs=1, batch_size=12)  # fmt: skip
    assert seen and all(t.shape == (12,) and t.dtype.kind in "iu" for t in seen)
    np.testing.assert_array_equal(seen[0], y)
    assert history.records[0]["loss"] == pytest.approx(before, rel=1e-12)
