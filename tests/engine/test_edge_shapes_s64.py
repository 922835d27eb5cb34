"""Edge shapes an edge-shape tester found refused in unclear words, or refused where they mean
something:

- a list of 0-d chainrule tensors as an index on PyTorch (``x[[cr.tensor(1), cr.tensor(0)]]``)
  failed on "len() of a 0-d tensor"; it selects what NumPy's reading selects, on every library;
- class labels given as an empty list (a batch of 0 cases' labels from a list comprehension)
  were float64 labels to ``cr.softmax_cross_entropy`` and ``nn.CrossEntropy``, refused; they
  are integer labels, as ``[0, 2]`` is and as ``getitem`` reads ``[]``;
- ``softmax`` / ``log_softmax`` of a 0-d tensor is refused naming the op and the shape ();
- ``cr.arange(0, 1, 0)`` raised a bare ZeroDivisionError.

Oracles: the NumPy backend's result and gradient for the same key; PyTorch's cross_entropy of
the same empty batch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _index_like_numpy(xp):
    values = np.arange(6.0).reshape(2, 3)
    keys = [
        lambda T: [T(1), T(0)],
        lambda T: [T(1), 0, T(1)],  # tensors beside integers
        lambda T: [[T(1)], [T(0)]],  # nested
        lambda T: (slice(None), [T(2), T(0)]),
        lambda T: ([T(1), T(1)], [T(2), T(0)]),
        lambda T: [T([1, 0])],  # a 1-D tensor in a list
    ]
    for key in keys:
        x = cr.tensor(values, xp=xp, requires_grad=True)
        reference = cr.tensor(values, requires_grad=True)
        got = x[key(lambda v: cr.tensor(v, xp=xp))]
        expected = reference[key(cr.tensor)]
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        (got * got).sum().backward()  # repeated rows accumulate
        (expected * expected).sum().backward()
        np.testing.assert_array_equal(cr.tensor(x.grad).numpy(), reference.grad.numpy())


def test_a_list_of_tensors_indexes_as_in_numpy_on_every_library(torch):
    _index_like_numpy(torch)  # "len() of a 0-d tensor"
    strict = pytest.importorskip("array_api_strict")
    _index_like_numpy(strict)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("empty", [[], ()], ids=["list", "tuple"])
def test_labels_as_an_empty_list_at_a_batch_of_0(reduction, empty, torch):
    logits = cr.zeros((0, 3), requires_grad=True)
    loss = cr.softmax_cross_entropy(logits, empty, reduction=reduction)
    reference = torch.nn.functional.cross_entropy(
        torch.zeros((0, 3), dtype=torch.float32), torch.zeros(0, dtype=torch.int64),
        reduction=reduction,
    )  # fmt: skip
    np.testing.assert_array_equal(loss.numpy(), reference.numpy())  # NaN for a mean, as torch
    loss.sum().backward()
    assert logits.grad.shape == (0, 3)
    lists = cr.softmax_cross_entropy(cr.zeros((2, 3)), [0, 2], reduction=reduction)
    labels = cr.softmax_cross_entropy(cr.zeros((2, 3)), np.array([0, 2]), reduction=reduction)
    np.testing.assert_array_equal(lists.numpy(), labels.numpy())


def test_cross_entropy_module_reads_an_empty_list_as_labels(torch):
    output = cr.zeros((0, 4), requires_grad=True)
    loss = nn.CrossEntropy()(output, [])
    reference = torch.nn.functional.cross_entropy(
        torch.zeros((0, 4)), torch.zeros(0, dtype=torch.int64)
    )
    np.testing.assert_array_equal(loss.numpy(), reference.numpy())
    loss.backward()
    assert output.grad.shape == (0, 4)
    with pytest.raises(cr.ShapeError, match="give class labels as integers"):
        nn.CrossEntropy()(cr.zeros((0, 4)), np.zeros(0))  # a float array is a dtype chosen


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor_is_refused_naming_the_op_and_the_shape(op):
    for axis in (-1, 0):
        with pytest.raises(cr.ShapeError) as refusal:
            getattr(cr, op)(cr.tensor(1.5), axis=axis)
        said = str(refusal.value)
        assert said.startswith(f"{op}: a tensor of shape () has no axis {axis}"), said
    # one value along an axis is what the refusal points to: 1 (log 0), with a zero gradient
    x = cr.tensor([1.5], requires_grad=True)
    out = getattr(cr, op)(x)
    assert out.numpy().tolist() == [1.0 if op == "softmax" else 0.0]
    out.sum().backward()
    assert x.grad.numpy().tolist() == [0.0]


@pytest.mark.parametrize("step", [0, 0.0, np.int64(0), np.float32(0.0)])
def test_arange_refuses_a_step_of_0_naming_it(step):
    with pytest.raises(ValueError) as refusal:  # ZeroDivisionError, or NumPy's "Maximum size"
        cr.arange(0, 1, step)
    said = str(refusal.value)
    assert said.startswith("arange: step must not be 0"), said
    assert f"arange(0, 1, {step!r})" in said, said
    assert cr.arange(0, 5, 2).numpy().tolist() == [0, 2, 4]
