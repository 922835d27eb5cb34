"""``data.one_hot`` checks its labels as the cross-entropy does (one home,
``chainrule.ops.nn.check_labels``): a label outside the classes is a LabelError naming it, where
-1 set the last class, 5 was NumPy's bare IndexError and 1.5 was truncated to class 1.

Oracles: ``np.eye(n)[labels]`` for labels in range; ``cr.softmax_cross_entropy``'s own refusal
of the same labels (the words one_hot must repeat)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import one_hot
from chainrule.errors import LabelError


@settings(max_examples=60, deadline=None)
@given(
    n_classes=st.integers(1, 6),
    data=st.data(),
    dtype=st.sampled_from([np.int8, np.int32, np.int64, np.uint8, np.uint64]),
)
def test_labels_in_range_give_the_identity_rows(n_classes, data, dtype):
    labels = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), max_size=12)), dtype=dtype)
    out = one_hot(labels, n_classes, np.float64)
    np.testing.assert_array_equal(out, np.eye(n_classes)[labels.astype(np.int64)])
    assert out.shape == (len(labels), n_classes) and out.dtype == np.float64


@pytest.mark.parametrize("bad", [-1, 3, 5, -7])
def test_a_label_outside_the_classes_is_the_cross_entropys_label_error(bad):
    labels = np.array([0, 2, bad, 1])
    with pytest.raises(LabelError) as loss_refusal:
        cr.softmax_cross_entropy(cr.tensor(np.zeros((4, 3))), labels)
    # the same words as the loss's: one check, not a second copy of it
    said = str(loss_refusal.value)
    with pytest.raises(LabelError) as refusal:
        one_hot(labels, 3)
    own = str(refusal.value)
    assert own.startswith("one_hot: ") and "softmax_cross_entropy" not in own
    words = f"label {bad} is out of range for 3 classes"
    assert words in said and words in own


@settings(max_examples=60, deadline=None)
@given(
    n_classes=st.integers(1, 5),
    labels=st.lists(st.integers(-4, 8), min_size=1, max_size=10),
)
def test_the_first_label_outside_the_classes_is_named_and_no_array_comes_back(n_classes, labels):
    labels = np.array(labels, dtype=np.int64)
    outside = [v for v in labels.tolist() if not 0 <= v < n_classes]
    if not outside:
        np.testing.assert_array_equal(one_hot(labels, n_classes), np.eye(n_classes)[labels])
        return
    with pytest.raises(LabelError, match=rf"label {outside[0]} is out of range"):
        one_hot(labels, n_classes)


def test_a_label_that_is_not_a_whole_number_is_named_not_truncated():
    with pytest.raises(LabelError, match=r"^one_hot: labels\[1\] is 1\.5, not an integer class"):
        one_hot(np.array([0, 1.5, 2.5]), 3)
    with pytest.raises(LabelError, match=r"labels\[0\] is nan"):
        one_hot(np.array([np.nan, 1.0]), 3)


@pytest.mark.parametrize(
    "labels", [np.array([0.0, 2.0]), np.array([True, False]), [0.0, 1.0]], ids=str
)
def test_float_and_boolean_labels_are_refused_as_the_cross_entropy_refuses_them(labels):
    """check_labels reads integer labels (the cross-entropy refuses float and boolean ones
    before it): one_hot says to cast them, naming their dtype."""
    dtype = np.asarray(labels).dtype.name
    with pytest.raises(LabelError, match=rf"^one_hot: labels are {dtype}.*astype\(int\)"):
        one_hot(labels, 3)


def test_no_labels_give_no_rows_whatever_their_dtype():
    for labels in ([], np.zeros(0), np.zeros(0, dtype=np.int32)):
        out = one_hot(labels, 4)
        assert out.shape == (0, 4) and out.dtype == np.float32
