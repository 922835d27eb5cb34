"""Masked arrays that reach a tensor past ``backend.check_unmasked``'s look at a bare one: inside
a list (``cr.tensor([row1, row2])``, NumPy reading each row's values under its mask) and on the
left of an operator (``m + t``: NumPy's masked code computed on the tensor's bare values and gave
a masked array, the tensor dropped from the graph). Before stop 68 both used the numbers the
user had masked out, silently; now they are refused in check_unmasked's words, and a masked
array with nothing masked is its values, as a bare one is. The oracle of each refused value is
the same call on the plain array, which shows the number the mask would have let in."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DataError

REFUSAL = r"masked arrays? with (1 entry|\d entries) masked; the mask would be ignored"


def _rows(mask_second=(0, 1)):
    return [
        np.ma.masked_array([1.0, 2.0], mask=[0, 0]),
        np.ma.masked_array([3.0, 4.0], mask=list(mask_second)),
    ]


LISTED = {
    "rows": lambda rows: rows,
    "tuple": lambda rows: tuple(rows),
    "nested": lambda rows: [rows, rows],
    "list-then-row": lambda rows: [[1.0, 2.0], rows[1]],
    "zero-d": lambda rows: [1.0, np.ma.masked_array(3.0, mask=rows[1].mask[1])],
    "masked-constant": lambda rows: [1.0, np.ma.masked if rows[1].mask[1] else 4.0],
}
MAKERS = {
    "tensor": lambda data: cr.tensor(data),
    "tensor-float32": lambda data: cr.tensor(data, dtype="float32"),
    "Tensor": lambda data: cr.Tensor(data),
    "operand": lambda data: cr.tensor(np.ones(np.shape(np.asarray(data)))) * data,
    "loss-target": lambda data: _mse(data),
}


def _mse(target):
    """MSE against zeros (the target's squares' mean), as a tensor to compare."""
    return cr.nn.MSE()(cr.tensor(np.zeros(np.shape(np.asarray(target)))), target)


@pytest.mark.filterwarnings("ignore:Warning. converting a masked element to nan")
@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
@pytest.mark.parametrize("listed", LISTED.values(), ids=LISTED.keys())
def test_a_masked_entry_inside_a_list_is_refused(listed, make):
    with pytest.raises(DataError, match=REFUSAL):
        make(listed(_rows()))
    whole = listed(_rows(mask_second=(0, 0)))
    np.testing.assert_array_equal(make(whole).numpy(), make(_plain(whole)).numpy())


def _plain(listed):
    """The same values in lists of Python numbers, no masked array among them."""
    if isinstance(listed, (list, tuple)):
        return [_plain(item) for item in listed]
    return listed.tolist() if isinstance(listed, np.ndarray) else listed


def test_the_list_would_have_used_the_masked_value():
    """Oracle for the silent number: the masked 4.0 was read as it stood under the mask."""
    rows = _rows()
    assert np.asarray(rows).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(DataError, match="1 entry masked"):
        cr.tensor(rows)


OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


@pytest.mark.parametrize("op", OPERATORS.values(), ids=OPERATORS.keys())
def test_a_masked_array_left_of_a_tensor_is_refused_or_taken_as_its_values(op):
    t = cr.tensor([1.5, 2.0], requires_grad=True)
    with pytest.raises(DataError, match=REFUSAL):
        op(np.ma.masked_array([1.0, 2.0], mask=[0, 1]), t)
    got = op(np.ma.masked_array([3.0, 2.0], mask=[0, 0]), t)
    assert isinstance(got, cr.Tensor)  # not NumPy's masked array of bare values
    expected = op(np.array([3.0, 2.0]), t)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    (grad,) = cr.gradient(got.sum(), [t])
    (plain_grad,) = cr.gradient(expected.sum(), [t])
    np.testing.assert_allclose(grad.numpy(), plain_grad.numpy())


def test_the_gradient_through_a_masked_left_operand_is_the_closed_form():
    t = cr.tensor([1.5, 2.0], requires_grad=True)
    (np.ma.masked_array([3.0, 5.0]) * t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [3.0, 5.0])


def test_numpy_still_calls_the_tensor_for_its_operators_and_refuses_other_ufuncs():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    for got in (np.array([1.0, 1.0]) + t, np.add(np.array([1.0, 1.0]), t), np.float64(2) * t):
        assert isinstance(got, cr.Tensor) and got.requires_grad
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(t)
    assert callable(cr.Tensor.__array_ufunc__)
