"""NumPy scalars beside a tensor, and an integer too large for any integer dtype.

A Python number never upcasts a float32 tensor, and a NumPy float64 counts as one (it is a Python
float). A NumPy complex128 is a Python complex just as well, but it made ``x32 * c`` complex128
where ``x32 * 1j`` is complex64; now it is complex64 too, as NumPy 2 gives for the Python complex
and PyTorch for a 0-d complex128 tensor. A longdouble keeps its dtype on NumPy, as a 0-d array and
``np.float32`` do (NumPy 2's answer); beside a tensor of a library without it (PyTorch,
array-api-strict) it recursed without end, and is now the float it rounds to.

``cr.tensor(2**70)`` said "a tensor holds numbers ..., not values of dtype object": the value is a
number, which no integer dtype holds; the refusal says so and names the float that holds it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


@pytest.mark.parametrize("like", ["float16", "float32", "float64"])
@settings(max_examples=30, deadline=None)
@given(value=st.complex_numbers(max_magnitude=1e4, allow_nan=False, allow_infinity=False))
def test_a_numpy_complex128_scalar_acts_as_the_python_complex_it_is(like, value):
    x = cr.tensor(np.array([1.5, -2.0, 0.25], dtype=like))
    scalar = np.complex128(value)
    assert isinstance(scalar, complex)  # the premise, as np.float64 is a float
    expected = np.array([1.5, -2.0, 0.25], dtype=like) * complex(
        value
    )  # NumPy's Python-scalar rule
    for result in (x * scalar, scalar * x, x + scalar, scalar - x):
        assert result.dtype == expected.dtype == (x * 1j).dtype
    np.testing.assert_array_equal((x * scalar).numpy(), expected)
    np.testing.assert_array_equal((scalar - x).numpy(), complex(value) - x.numpy())


def test_the_complex_scalar_rule_is_pytorchs_for_a_0d_tensor(torch):
    theirs = torch.ones(2) * torch.tensor(1 + 2j, dtype=torch.complex128)
    assert theirs.dtype == torch.complex64
    ours = cr.tensor(np.ones(2, np.float32)) * np.complex128(1 + 2j)
    assert ours.dtype == np.complex64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _times(x, scalar, reflected=False):
    """``x * scalar`` (``scalar * x``), a recursion without end failed at once: pytest takes
    minutes to lay out the traceback of a RecursionError."""
    try:
        return scalar * x if reflected else x * scalar
    except RecursionError:
        pass  # failed below, outside the handler: the failure would carry it as its context
    pytest.fail(f"{type(x.data).__module__} tensor * {scalar!r} recursed without end")


def test_a_longdouble_scalar_keeps_its_dtype_on_numpy_and_is_a_float_elsewhere(torch):
    wide = np.longdouble("1.1")
    x = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    y = x * wide
    assert y.dtype == (np.ones(2, np.float32) * wide).dtype == np.dtype(np.longdouble)
    y.sum().backward()
    assert x.grad.dtype == np.float32  # the gradient is the input's dtype
    on_torch = cr.tensor(torch.ones(2))
    results = [_times(on_torch, wide), _times(on_torch, wide, True)]
    assert [str(r.dtype) for r in results] == ["torch.float32"] * 2
    assert str(_times(on_torch, np.clongdouble(1 + 1j)).dtype) == "torch.complex64"
    np.testing.assert_array_equal(results[0].numpy(), np.float32(1.1))


def test_a_longdouble_scalar_beside_array_api_strict_is_the_float_it_rounds_to():
    strict = pytest.importorskip("array_api_strict")
    x = cr.tensor(strict.ones(2, dtype=strict.float32))
    result = _times(x, np.longdouble("1.1"))
    assert result.dtype == strict.float32
    np.testing.assert_array_equal(result.numpy(), np.float32(1.1))


@pytest.mark.parametrize("data", [2**70, -(2**70), [1, 2**64], [[0.5], [2**80]], -(2**63) - 1])
def test_an_integer_no_integer_dtype_holds_is_named_with_the_float_that_holds_it(data):
    with pytest.raises(OverflowError):  # the premise: NumPy's int64 cannot hold it
        np.array(data, dtype=np.int64)
    with pytest.raises(TypeError) as refused:
        cr.tensor(data)
    message = str(refused.value)
    assert message.startswith("tensor: the integer ") and "does not fit in int64" in message
    assert "dtype=float64" in message and "dtype object" not in message
    np.testing.assert_array_equal(cr.tensor(data, dtype="float64").numpy(), np.array(data, float))


def test_the_refusal_is_the_same_on_another_library_and_through_the_constructor(torch):
    expected = "tensor: the integer 1180591620717411303424 does not fit in int64"
    for make in (lambda: cr.tensor(2**70, xp=torch), lambda: cr.Tensor(2**70)):
        with pytest.raises(TypeError, match=expected):
            make()


def test_an_integer_past_float64_says_no_float_holds_it_either():
    with pytest.raises(TypeError, match=r"an integer of 1025 bits does not fit in int64.*nor "):
        cr.tensor([1.0, 2**1024])
