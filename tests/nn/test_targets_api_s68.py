"""Probability targets outside [0, 1] are refused alike by every cross-entropy (s68).

``nn.CrossEntropy()(z, [[-1, 2]])`` returned 200 (and about -100 against logits [0, 100]: no
lower bound, training chased -inf), ``cr.logistic_cross_entropy`` took a target of 1.5 that
``nn.BinaryCrossEntropy`` refused, and a multilabel ``Dataset`` took -0.5 and 1.5. One check
(``chainrule.ops.nn.check_probabilities``) refuses them in BinaryCrossEntropy's words, naming
the first row holding one. ``cr.softmax_cross_entropy`` and ``cr.logistic_cross_entropy``
also refuse missing targets (pandas' NA) as the losses do, where the NaN went into the loss.
Integer class labels pass as they did; so do probability rows in [0, 1].
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.errors import DataError

LOGITS = np.array([[0.0, 100.0], [1.0, 2.0], [3.0, -1.0]])


def _definition(z: np.ndarray, t: np.ndarray) -> float:
    """-mean_cases sum_j t_j log softmax(z)_j, in NumPy."""
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(t * log_softmax).sum(axis=1).mean())


@pytest.mark.parametrize(
    "call",
    [
        lambda z, t: nn.CrossEntropy()(cr.tensor(z), t),
        lambda z, t: cr.softmax_cross_entropy(cr.tensor(z), t),
    ],
    ids=["CrossEntropy", "softmax_cross_entropy"],
)
def test_a_negative_probability_is_refused_naming_its_row(call):
    targets = np.array([[0.0, 1.0], [0.5, 0.5], [-1.0, 2.0]])
    with pytest.raises(DataError, match=r"targets must lie in \[0, 1\]") as caught:
        call(LOGITS, targets)
    message = str(caught.value)
    assert "got values in [-1.0, 2.0]" in message and "(shape (3, 2))" in message
    assert "row 2 holds -1.0" in message


def test_the_loss_no_longer_runs_to_minus_infinity():
    """Against [-1, 2] the loss fell without bound as the second logit grew; now refused at
    any logits, the loss module and the op alike, with the module's name."""
    for z in ([[100.0, 0.0]], [[0.0, 100.0]]):
        with pytest.raises(DataError, match=r"^CrossEntropy: targets must lie in \[0, 1\]"):
            nn.CrossEntropy()(cr.tensor(z), np.array([[-1.0, 2.0]]))
        with pytest.raises(DataError, match=r"^softmax_cross_entropy: targets must lie in"):
            cr.softmax_cross_entropy(cr.tensor(z), np.array([[-1.0, 2.0]]))


def test_a_nan_probability_is_refused():
    with pytest.raises(DataError, match=r"^CrossEntropy: targets must lie in \[0, 1\], got NaN"):
        nn.CrossEntropy()(cr.tensor(LOGITS[:2]), np.array([[0.5, 0.5], [np.nan, 1.0]]))


@pytest.mark.parametrize("target", [1.5, -0.25])
def test_the_functional_logistic_cross_entropy_refuses_as_binary_cross_entropy_does(target):
    z = cr.tensor([[0.0], [1.0]])
    t = np.array([[1.0], [target]])
    with pytest.raises(DataError, match=r"^logistic_cross_entropy: targets must lie in \[0, 1\]"):
        cr.logistic_cross_entropy(z, t)
    with pytest.raises(ValueError, match=r"^BinaryCrossEntropy: targets must lie in \[0, 1\]") as e:
        nn.BinaryCrossEntropy()(z, t)
    assert "row 1 holds" in str(e.value)
    # the two say it in one wording: only the name differs
    with pytest.raises(DataError) as functional:
        cr.logistic_cross_entropy(z, t)
    assert str(functional.value).partition(": ")[2] == str(e.value).partition(": ")[2]


def test_a_multilabel_dataset_refuses_targets_outside_the_unit_interval():
    X = np.zeros((3, 2))
    with pytest.raises(DataError, match=r"targets must lie in \[0, 1\].*row 1 holds -0.5"):
        cr.data.Dataset(X, np.array([[0.0], [-0.5], [1.5]]), "multilabel")
    with pytest.raises(DataError, match=r"got values in \[0.0, 1.5\]"):
        cr.data.Dataset(X, np.array([[0.0], [1.0], [1.5]]), "multilabel")
    ds = cr.data.Dataset(X, np.array([[0.0], [0.25], [1.0]]), "multilabel")  # soft: in range
    assert ds.n_outputs == 1
    # regression targets are any real numbers
    assert cr.data.Dataset(X, np.array([[-5.0], [0.5], [7.0]]), "regression").n_outputs == 1


def test_labels_and_probability_rows_in_range_still_give_the_definition():
    labels = np.array([1, 0, 0])
    rows = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])
    for target, as_rows in ((labels, np.eye(2)[labels]), (rows, rows)):
        expected = _definition(LOGITS, as_rows)
        assert nn.CrossEntropy()(cr.tensor(LOGITS), target).item() == pytest.approx(expected)
        assert cr.softmax_cross_entropy(LOGITS, target).item() == pytest.approx(expected)


def test_targets_that_need_a_gradient_in_range_still_get_it():
    """A teacher's probabilities (a tensor needing a gradient) pass the check and get
    dE/dt_j = -log softmax(z)_j / n."""
    t = cr.tensor([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]], requires_grad=True)
    nn.CrossEntropy()(cr.tensor(LOGITS), t).backward()
    shifted = LOGITS - LOGITS.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(t.grad.numpy(), -log_softmax / 3, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_any_value_outside_the_interval_is_refused_naming_the_first_such_row(values):
    targets = np.array(values)
    slack = 4 * np.finfo(np.float64).eps  # a float64's rounding past 0 or 1 is taken
    bad_rows = np.flatnonzero(((targets < -slack) | (targets > 1 + slack)).any(axis=1))
    z = cr.tensor(np.zeros(targets.shape))
    if not bad_rows.size:
        cr.softmax_cross_entropy(z, targets)  # refused nothing
        cr.logistic_cross_entropy(z, targets)
        return
    for call in (cr.softmax_cross_entropy, cr.logistic_cross_entropy):
        with pytest.raises(DataError, match=rf"; row {bad_rows[0]} holds "):
            call(z, targets)


def test_the_functional_ops_refuse_missing_targets_as_the_losses_do():
    pd = pytest.importorskip("pandas")
    labels = pd.Series([0, None, 1], dtype="Int64")
    with pytest.raises(DataError, match=r"^softmax_cross_entropy: the target is missing at case 1"):
        cr.softmax_cross_entropy(cr.tensor(LOGITS), labels)
    with pytest.raises(DataError, match=r"^CrossEntropy: the target is missing at case 1"):
        nn.CrossEntropy()(cr.tensor(LOGITS), labels)
    with pytest.raises(
        DataError, match=r"^logistic_cross_entropy: the target is missing at case 1"
    ):
        cr.logistic_cross_entropy(cr.tensor([0.0, 1.0, 2.0]), [1.0, None, 0.0])
    full = pd.Series([0, 1, 1], dtype="Int64")  # nothing missing: read as the labels
    assert cr.softmax_cross_entropy(cr.tensor(LOGITS), full).item() == pytest.approx(
        cr.softmax_cross_entropy(cr.tensor(LOGITS), np.array([0, 1, 1])).item()
    )


def test_targets_a_few_units_of_the_last_place_outside_are_rounding(torch):
    """Review 2: float32 soft targets from arithmetic (-1e-9, 1 + 1e-7) were refused as
    outside [0, 1]; a few units of the dtype's last place are its rounding. Torch's float32
    targets (read through the array API) alike; -1e-3 is still refused."""
    logits = np.zeros((1, 2), np.float32)
    near = np.array([[-1e-9, 1 + 1e-7]], np.float32)
    expected = -np.log(0.5) * near.sum()
    for library in (np.asarray, torch.tensor):  # torch's through the array API
        loss = cr.softmax_cross_entropy(cr.tensor(library(logits)), library(near))
        assert float(loss.item()) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(DataError, match=r"row 0 holds -0.001"):
        cr.nn.CrossEntropy()(cr.tensor(np.zeros((1, 2))), np.array([[-1e-3, 1.0]]))
