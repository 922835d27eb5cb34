"""A list beside a tensor is weak, as a Python number is: ``x32 * [1, 2]`` stays float32.

NumPy reads a list as an int64 or float64 array, which upcast a float32 tensor to float64
silently; the array-API path (``backend.operand_like``) already kept the tensor's dtype, so the
two paths disagreed. The oracle for each dtype is the same op with a Python number.
"""

import operator

import numpy as np
import pytest

import chainrule as cr

OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv]
LISTS = [[1, 2], [1.5, -2.25], (0.5, 4.0), [True, True], [[1.0, 2.0], [3.0, 4.0]]]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("values", LISTS, ids=repr)
def test_a_list_keeps_a_floating_tensors_dtype_either_side(dtype, op, values):
    x = cr.tensor(np.array([2.0, 3.0], dtype=dtype))
    scalar_dtype = op(x, 2.0).dtype  # the rule for a Python number: the tensor's dtype
    assert op(x, values).dtype == scalar_dtype
    assert op(values, x).dtype == scalar_dtype
    expected = op(np.array([2.0, 3.0], dtype=dtype), np.asarray(values, dtype=dtype))
    np.testing.assert_array_equal(op(x, values).numpy(), expected)


def test_the_gradient_through_a_list_operand_stays_float32():
    w = cr.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (w * [3, 4] + [0.5, 0.25]).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


def test_an_integer_tensor_keeps_numpys_reading_of_a_list():
    i = cr.tensor(np.array([1, 2], dtype=np.int32))
    assert (i * [1.5, 2.0]).dtype == np.float64  # a float list beside integers: NumPy's float
    assert (i * [1, 2]).dtype == np.result_type(np.int32, np.asarray([1, 2]).dtype)


def test_a_complex_list_takes_the_tensors_precision_and_text_is_refused():
    x = cr.tensor(np.ones(2, dtype=np.float32))
    assert (x * [1j, 2]).dtype == (x * 1j).dtype == np.complex64
    assert (cr.tensor(np.ones(2)) * [1j, 2]).dtype == np.complex128
    with pytest.raises(TypeError, match="a tensor holds numbers"):
        x * ["a", "b"]


def test_a_list_joins_the_tensor_on_array_api_strict_with_the_same_rule():
    strict = pytest.importorskip("array_api_strict")
    x = cr.tensor(strict.asarray([2.0, 3.0], dtype=strict.float32))
    assert (x * [1, 2]).dtype == strict.float32
    assert ([1.5, 2.0] + x).dtype == strict.float32


def test_clip_bounds_and_joined_lists_keep_float32_too():
    x = cr.tensor(np.array([0.5, 3.0], dtype=np.float32))
    assert cr.clip(x, [1, 1], [2, 2]).dtype == np.float32
    np.testing.assert_array_equal(cr.clip(x, [1, 1], [2, 2]).numpy(), [1.0, 2.0])
    assert cr.concatenate([x, [1, 2]]).dtype == np.float32
    assert cr.stack([x, [1, 2]]).dtype == np.float32
    assert cr.concatenate([x, np.ones(2)]).dtype == np.float64  # an array keeps its own


def test_a_list_beside_a_complex64_tensor_keeps_its_precision():
    c = cr.tensor(np.ones(2, dtype=np.complex64))
    assert (c * [2.0, 3.0]).dtype == (c * 2.0).dtype == np.complex64
    assert (c * [1j, 1]).dtype == (c * 1j).dtype == np.complex64
