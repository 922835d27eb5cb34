"""Refusals at the array-library seam that each library worded its own way, or not at all.

1. A Python integer that an integer tensor's dtype cannot hold: JAX (without x64, where int32 is
   all it has) raised its raw OverflowError ("Python integer ... out of bounds for int32"),
   naming neither the op nor a way out; now one OverflowError names the op, the tensor's dtype,
   the number and the fix, on JAX as on NumPy (NumPy's rule and torch's own error stand).
2. A float index key: a TypeError on JAX ("Indexer must have integer or boolean type"), an
   IndexError on NumPy, PyTorch and array-api-strict; now NumPy's IndexError on every library,
   naming the key and the tensor's shape.
3. True division of integers, which array-api-strict refuses ("Only floating-point dtypes are
   allowed in __truediv__"): the refusal now says what to do (cast to a float dtype first).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

# ---------------------------------------------------------------------------------------------
# 1. A Python integer out of an integer tensor's range
# ---------------------------------------------------------------------------------------------

BEYOND_INT32 = [
    ("mul", lambda b: b * 2**40),
    ("mul", lambda b: 2**40 * b),
    ("add", lambda b: b + 2**31),
    ("sub", lambda b: b - (-(2**31) - 1)),
    ("maximum", lambda b: cr.maximum(b, 2**40)),
]  # a comparison answers by value instead, as NumPy 2 does: test_seam_review_s56.py


@pytest.mark.parametrize(("op", "use"), BEYOND_INT32)
def test_a_python_integer_beyond_int32_names_op_dtype_value_and_fix_on_jax(
    op, use, jnp_without_x64
):
    """JAX without x64 has no int64 to cast to, so the fix says to switch x64 on (and cast) or
    to make the tensor float32; that fix works, and a number int32 holds keeps int32."""
    b = cr.tensor(np.arange(3, dtype=np.int32), xp=jnp_without_x64)
    with pytest.raises(OverflowError) as refused:
        use(b)
    message = str(refused.value)
    assert message.startswith(f"{op}: the Python number ")
    assert "is out of the range of the int32 tensor it meets" in message
    assert 'jax.config.update("jax_enable_x64", True)' in message
    assert "x.astype('int64')" in message and "x.astype('float32')" in message
    use(b.astype("float32"))  # the fix named
    np.testing.assert_allclose((b.astype("float32") * 2**40).numpy(), np.arange(3) * 2**40)
    within = b * (2**31 - 1)
    assert cr.backend.dtype_name(within.dtype) == "int32"
    np.testing.assert_array_equal(within.numpy(), np.arange(3, dtype=np.int32) * (2**31 - 1))


@pytest.mark.parametrize(
    ("dtype", "number", "fix"),
    [
        ("int8", 300, "x.astype('int64')"),
        ("int64", 2**70, "x.astype('float64')"),  # int64 was told to become int64
        ("bool", 2**70, "x.astype('float64')"),
    ],
)
def test_numpys_refusal_names_the_op_and_a_fix_that_fits(dtype, number, fix, torch):
    """NumPy's rule stands (an OverflowError, the tensor's dtype kept), in the same words; and
    PyTorch's own refusal (a RuntimeError) is left as it was."""
    x = cr.tensor(np.array([1, 0], dtype=dtype))
    with pytest.raises(OverflowError) as refused:
        x * number
    message = str(refused.value)
    assert message.startswith(f"mul: the Python number {number} is out of the range of the "
                              f"{dtype} tensor it meets")  # fmt: skip
    assert message.endswith(fix)
    with pytest.raises((RuntimeError, ValueError)) as on_torch:  # "... without overflow"
        cr.tensor(np.array([1, 0], dtype=dtype), xp=torch) * number
    assert "the Python number" not in str(on_torch.value)


# ---------------------------------------------------------------------------------------------
# 2. A float index key
# ---------------------------------------------------------------------------------------------


def _libraries(torch, jnp):
    import array_api_strict

    return {"numpy": None, "torch": torch, "jax": jnp, "array_api_strict": array_api_strict}


@pytest.mark.parametrize("library", ["numpy", "torch", "jax", "array_api_strict"])
@pytest.mark.parametrize("key", [1.0, (1.0,), (Ellipsis, 1.0), (None, 1.0), (slice(None), 1.0)])
def test_a_float_index_is_one_index_error_on_every_library(library, key, torch, jnp_without_x64):
    pytest.importorskip("array_api_strict")
    xp = _libraries(torch, jnp_without_x64)[library]
    t = cr.tensor(np.arange(6.0).reshape(2, 3), xp=xp)
    with pytest.raises(IndexError) as refused:
        t[key]
    message = str(refused.value)
    assert message.startswith(f"getitem: index {key!r} does not fit shape (2, 3): ")
    assert "only integers, slices" in message
    np.testing.assert_array_equal(t[1].numpy(), [3.0, 4.0, 5.0])  # integer keys still index
    np.testing.assert_array_equal(t[..., 1:].numpy(), [[1.0, 2.0], [4.0, 5.0]])


@pytest.mark.parametrize("library", ["numpy", "torch", "jax", "array_api_strict"])
def test_a_string_or_complex_index_is_an_index_error_on_every_library(
    library, torch, jnp_without_x64
):
    """JAX refused them with TypeErrors and PyTorch a string ("new(): invalid data type")."""
    pytest.importorskip("array_api_strict")
    t = cr.tensor(np.arange(6.0).reshape(2, 3), xp=_libraries(torch, jnp_without_x64)[library])
    for key in ("a", 1j):
        with pytest.raises(IndexError, match=rf"^getitem: index {key!r} does not fit shape"):
            t[key]


# ---------------------------------------------------------------------------------------------
# 3. True division of integers on array-api-strict
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "divide",
    [lambda i, f: i / i, lambda i, f: i / 2, lambda i, f: 2 / i, lambda i, f: f / i,
     lambda i, f: i / 2.5, lambda i, f: cr.div(i, i)],
)  # fmt: skip
def test_strict_integer_division_says_to_cast_to_a_float_dtype(divide, torch, jnp_without_x64):
    """The fix named works; NumPy and PyTorch divide integers into their default float, as
    they did; and integers whose shapes do not broadcast are told of their shapes alone (JAX
    refuses them with a TypeError too, which no cast would mend)."""
    xs = pytest.importorskip("array_api_strict")
    i = cr.tensor(np.arange(1, 4), xp=xs)
    f = cr.tensor(np.arange(1.0, 4.0), xp=xs)
    with pytest.raises(TypeError) as refused:
        divide(i, f)
    message = str(refused.value)
    assert message.startswith("div: inputs ")
    assert "Only floating-point dtypes are allowed in __truediv__" in message
    assert message.endswith("cast the integer operand to a float dtype first (x.astype('float64'))")
    whole, fractions = np.arange(1, 4), np.arange(1.0, 4.0)
    expected = _values(divide(whole, fractions))  # NumPy's own division: the oracle
    np.testing.assert_allclose(_values(divide(i.astype("float64"), f)), expected)
    np.testing.assert_allclose(_values(divide(cr.tensor(whole), cr.tensor(fractions))), expected)
    on_torch = divide(cr.tensor(whole, xp=torch), cr.tensor(fractions, xp=torch))
    np.testing.assert_allclose(_values(on_torch), expected, rtol=1e-6)
    with pytest.raises(cr.ShapeError) as shapes:
        cr.tensor(whole, xp=jnp_without_x64) / cr.tensor(np.arange(4), xp=jnp_without_x64)
    assert "do not broadcast" in str(shapes.value) or "incompatible shapes" in str(shapes.value)
    assert "float dtype" not in str(shapes.value)


def _values(result):
    return result.numpy() if isinstance(result, cr.Tensor) else np.asarray(result)
