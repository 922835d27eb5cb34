"""Slips met writing a recurrent net by hand: concatenating a hidden state that lost its batch
axis (named the shapes, not an axis out of range or an axis=0 never written), a cross-entropy
of logits that lost theirs (not "a column of labels"), and a method not called (``h.detach @
W``: named the method and the call)."""

import math

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_concatenate_names_both_numbers_of_dimensions_and_shapes(axis):
    h, x = cr.zeros(3), cr.zeros((4, 2))
    expected = (
        "concatenate: shapes (3,) and (4, 2) have 1 and 2 dimensions: all tensors need the same "
        "number"
    )
    with pytest.raises(cr.ShapeError) as refusal:
        cr.concatenate([h, x], axis=axis)
    assert str(refusal.value) == expected


def test_concatenate_names_the_odd_tensor_among_several():
    words = r"shapes \(3,\) and \(4, 2\) \(tensors 0 and 2\) have 1 and 2 dimensions"
    with pytest.raises(cr.ShapeError, match=words):
        cr.concatenate([cr.zeros(3), cr.zeros(2), cr.zeros((4, 2))])


def test_concatenate_of_equal_dimensions_is_unchanged():
    out = cr.concatenate([cr.ones((2, 3)), cr.zeros((2, 1))], axis=-1)
    np.testing.assert_array_equal(out.numpy(), np.hstack([np.ones((2, 3)), np.zeros((2, 1))]))


def test_logits_without_their_batch_axis_are_named_not_a_column():
    with pytest.raises(cr.ShapeError) as refusal:
        cr.softmax_cross_entropy(cr.randn(2), np.array([1]))
    said = str(refusal.value)
    assert "a column of labels" not in said, said
    assert "logits of shape (2,) are one case without its batch axis" in said, said
    assert "logits.reshape(1, -1)" in said and "a label of shape ()" in said, said


def test_a_column_of_labels_is_still_named():
    with pytest.raises(cr.ShapeError, match="a column of labels: flatten it"):
        cr.softmax_cross_entropy(cr.randn(4, 2), np.array([[1], [0], [1], [0]]))


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda h, W: h.detach @ W, "got a method (Tensor.detach), not its result: call it, "
         "x.detach()"),
        (lambda h, W: h + h.sum, "got a method (Tensor.sum)"),
        (lambda h, W: cr.tensor(h.detach), "got a method (Tensor.detach)"),
        (lambda h, W: W @ cr.tanh, "got a function (tanh), not its result: call it, tanh(...)"),
        (lambda h, W: cr.tensor(math.exp), "got a function (exp)"),
        (lambda h, W: cr.tensor(np.zeros(3).sum), "got a method (ndarray.sum)"),
    ],
)  # fmt: skip
def test_a_method_not_called_is_named(make, said):
    with pytest.raises(TypeError) as refusal:
        make(cr.randn(3), cr.randn(3, 2))
    assert said in str(refusal.value), str(refusal.value)


def test_other_objects_keep_their_words():
    with pytest.raises(TypeError, match="not values of dtype <U1"):
        cr.tensor("a")
