"""A NumPy masked array with entries masked is refused wherever an array enters chainrule, in the
words a Dataset refuses it with (one home: ``backend.check_unmasked``). NumPy's conversions drop
the mask and use the values under it, so before stop 67 ``cr.tensor(m)``, a loss's target, a
transform's argument and a model's input all computed with the masked-out numbers, silently.
A masked array with nothing masked is its values, as Dataset takes it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import Dataset
from chainrule.errors import DataError

LABELS = np.zeros(4, dtype=int)
REFUSAL = (
    r"got a masked array with 1 entry masked; the mask would be ignored \(the values under it "
    r"used\)"
)


def masked():
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])


NET = nn.Linear(3, 1, dtype="float64")


ENTRIES = {
    "tensor": lambda m: cr.tensor(m),
    "Tensor": lambda m: cr.Tensor(m),
    "tensor-float32": lambda m: cr.tensor(m, dtype="float32"),
    "loss-target": lambda m: nn.MSE()(cr.tensor([1.0, 0.0, 3.0]), m),
    "grad-argument": lambda m: cr.grad(lambda x: (x * x).sum())(m),
    "model-input": lambda m: NET(m.reshape(1, 3)),
    "operand": lambda m: cr.tensor([1.0, 2.0, 3.0]) * m,
    "where-condition": lambda m: cr.where(m > 1.5, cr.tensor([1.0, 2.0, 3.0]), 0.0),
}


@pytest.mark.parametrize("enter", ENTRIES.values(), ids=ENTRIES.keys())
def test_a_masked_entry_is_refused_where_the_array_enters_and_nothing_masked_is_not(enter):
    with pytest.raises(DataError, match=REFUSAL):
        enter(masked())
    whole = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 0, 0])
    got, plain = enter(whole), enter(np.array([1.0, 2.0, 3.0]))
    if isinstance(got, cr.Tensor):
        np.testing.assert_array_equal(got.numpy(), plain.numpy())


def test_the_loss_would_have_counted_the_masked_value():
    """Oracle for the silent number: MSE of [1, 0, 3] against [1, 2, 3] counts the masked 2."""
    assert np.isclose(float(nn.MSE()(cr.tensor([1.0, 0.0, 3.0]), [1.0, 2.0, 3.0])), 4 / 3)
    with pytest.raises(DataError, match=REFUSAL):
        nn.MSE()(cr.tensor([1.0, 0.0, 3.0]), masked())


def test_an_operand_of_a_torch_tensor_is_refused_too(torch):
    t = cr.tensor([1.0, 2.0, 3.0], xp=torch)
    with pytest.raises(DataError, match=REFUSAL):
        t + masked()


def test_dataset_refuses_in_the_same_words_with_its_name():
    X = np.ma.masked_array(np.ones((4, 3)), mask=np.arange(12).reshape(4, 3) < 2)
    with pytest.raises(DataError, match="^train: X: got a masked array with 2 entries masked"):
        Dataset(X, LABELS, task="classification", name="train")
    with pytest.raises(DataError) as engine:
        cr.tensor(X)
    with pytest.raises(DataError) as data:
        Dataset(X, LABELS, task="classification", name="train")
    assert str(data.value) == f"train: X: {engine.value}"
