"""A Python integer beyond an integer tensor's dtype, where the op has an answer (review, stop 56).

1. A comparison has no result dtype to overflow: NumPy 2 compares such a number by value
   (``np.array([1, 2, 3], np.int8) < 1000`` is all True). chainrule refused it on NumPy, JAX
   and array-api-strict ("comparison (<): the Python number 1000 is out of the range of the
   int8 tensor ..."), PyTorch raised its own RuntimeError or ValueError, and PyTorch's uint8
   took -1 for 255 (``uint8_x < -1`` was all True). Now every library answers by value.
2. ``int32_x ** 2**40``: the power's scalar path gave NumPy's raw OverflowError, which named
   neither the op nor a way out; now it is named as beside every other op.
3. ``cr.clip(int32_x, 0, 2**40)``: JAX refused it in its jit's words; a bound beyond the
   dtype clips nothing on its side, as in NumPy, on every library, and one beyond it on the
   other side is refused by name on every library, as NumPy refuses it (array-api-strict
   wrapped 1000 to -24 and clipped to it, PyTorch's uint8 took a high bound of -1 for 255).
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

import chainrule as cr

LIBRARIES = ["numpy", "torch", "jax", "jax_x64", "array_api_strict"]


def _library(name, request):
    """The module for ``xp=`` (None for NumPy), through the fixtures that skip a missing one."""
    if name == "numpy":
        return None
    if name == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    fixture = {"torch": "torch", "jax": "jnp_without_x64", "jax_x64": "jnp_with_x64"}[name]
    return request.getfixturevalue(fixture)


def _by_value(compare, values, number):
    """The answer by value, in Python's integers (the independent oracle)."""
    flat = [compare(int(v), int(number)) for v in np.ravel(values)]
    return np.array(flat, dtype=bool).reshape(np.shape(values))


# ---------------------------------------------------------------------------------------------
# 1. Comparisons
# ---------------------------------------------------------------------------------------------

COMPARISONS = [
    ("int8", [1, 2, 3], operator.lt, 1000),
    ("int8", [1, 2, 3], operator.eq, 1000),
    ("int8", [1, 2, 3], operator.gt, -1000),
    ("int8", [1, 2, 3], operator.ne, 2**70),
    ("int8", [[-128, 0], [5, 127]], operator.le, np.int64(1000)),  # a NumPy integer too
    ("int8", 7, operator.ge, -129),  # 0-d
    ("uint8", [0, 1, 255], operator.lt, -1),
    ("uint8", [0, 1, 255], operator.ge, -1),
    ("uint8", [0, 1, 255], operator.eq, -1),
    ("int32", [-(2**31), 0, 2**31 - 1], operator.gt, 2**31),
    ("int32", [-(2**31), 0, 2**31 - 1], operator.lt, -(2**31) - 1),
    ("bool", [True, False], operator.lt, 2**70),
]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("dtype", "values", "compare", "number"), COMPARISONS)
def test_a_comparison_with_an_integer_beyond_the_dtype_answers_by_value(
    library, dtype, values, compare, number, request
):
    """The answer is Python's, element by element; for integers it is NumPy 2's own, and it is
    an array of the tensor's library, in its shape."""
    xp = _library(library, request)
    host = np.array(values, dtype=dtype)
    t = cr.tensor(host, xp=xp)
    answer = compare(t, number)
    expected = _by_value(compare, values, number)
    if dtype != "bool":  # NumPy refuses bool < 2**70 ("too large to convert to C long")
        np.testing.assert_array_equal(compare(host, number), expected)
    assert cr.backend.array_module(answer) is t.xp
    got = cr.backend.to_numpy(answer)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, expected)
    assert got.shape == host.shape


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_an_in_range_comparison_never_asks_for_the_range(library, request, monkeypatch):
    """The range is asked only where the number failed to join the tensor (and, on PyTorch,
    for a negative number, which it wraps into an unsigned dtype): a comparison with a number
    the dtype holds costs what it cost."""

    def never(value, like):
        raise AssertionError(f"asked for the range of {value} beside {like.dtype}")

    monkeypatch.setattr(cr.backend, "number_beyond", never)
    xp = _library(library, request)
    x8 = cr.tensor(np.array([1, 2, 3], np.int8), xp=xp)
    xf = cr.tensor(np.array([0.25, 0.75]), xp=xp)
    np.testing.assert_array_equal(cr.backend.to_numpy(x8 < 2), [True, False, False])
    np.testing.assert_array_equal(cr.backend.to_numpy(x8 == 127), [False, False, False])
    np.testing.assert_array_equal(cr.backend.to_numpy(xf < 0.5), [True, False])
    if library == "numpy":
        np.testing.assert_array_equal((x8 > -128).data, [True, True, True])


# ---------------------------------------------------------------------------------------------
# 2. Power with a Python integer exponent
# ---------------------------------------------------------------------------------------------


def test_an_integer_exponent_beyond_the_dtype_is_named_where_the_library_refuses_it(
    torch, jnp_without_x64
):
    """NumPy and array-api-strict refuse ``int32 ** 2**40``: now by name, with the cast that
    fits, which works (the int64 result is Python's pow modulo 2**64). JAX's own int32 answer
    (modulo 2**32) is left as it is, and so is PyTorch's own refusal, as for ``*``."""
    import array_api_strict

    exponent = 2**40
    for xp in (None, array_api_strict):
        x = cr.tensor(np.array([1, 2, 3], np.int32), xp=xp)
        with pytest.raises(OverflowError) as refused:
            x**exponent
        message = str(refused.value)
        assert message.startswith(
            f"power: the Python number {exponent} is out of the range of the int32 tensor"
        )
        assert message.endswith("cast the tensor first, e.g. x.astype('int64')")
        wide = cr.backend.to_numpy((x.astype("int64") ** exponent).data)
        np.testing.assert_array_equal(wide, [_wrapped(v, exponent, 64) for v in (1, 2, 3)])
    with pytest.raises(OverflowError, match=r"^power: the Python number -1 is out of the range "
                       r"of the uint8 tensor"):  # fmt: skip
        cr.tensor(np.array([1, 2], np.uint8)) ** -1
    with pytest.raises(OverflowError, match=r"^power: .*\(401 digits\) .* float64 tensor .*"
                       "no float dtype holds it either"):  # fmt: skip
        cr.tensor(np.array([1.0, 2.0])) ** 10**400
    on_jax = cr.tensor(np.array([1, 2, 3], np.int32), xp=jnp_without_x64) ** exponent
    np.testing.assert_array_equal(on_jax.numpy(), [_wrapped(v, exponent, 32) for v in (1, 2, 3)])
    with pytest.raises((RuntimeError, ValueError)) as on_torch:  # "... without overflow"
        cr.tensor(np.array([1, 2, 3], np.int32), xp=torch) ** exponent
    assert "the Python number" not in str(on_torch.value)


def _wrapped(base, exponent, bits):
    """base ** exponent in a signed integer of ``bits`` bits, as it wraps (two's complement)."""
    value = pow(base, exponent, 2**bits)
    return value - 2**bits if value >= 2 ** (bits - 1) else value


# ---------------------------------------------------------------------------------------------
# 3. clip with a Python integer bound
# ---------------------------------------------------------------------------------------------

NO_BOUND = [
    ("int32", 0, 2**40),
    ("int32", -(2**40), 1),
    ("int32", -(2**40), 2**40),
    ("int8", -1000, None),
    ("int8", None, 1000),
    ("int8", 5, np.int64(1000)),
    ("uint8", -1, 1),
]


@pytest.mark.parametrize(("dtype", "low", "high"), NO_BOUND)
def test_a_clip_bound_beyond_the_dtype_clips_nothing_on_every_library(dtype, low, high, request):
    """As ``np.clip`` gives it: the values of ``min(max(x, low), high)`` by Python's integers,
    in x's dtype, on every library (JAX refused it: "An overflow was encountered while
    parsing an argument to a jitted computation")."""
    values = np.array([-3, 0, 1, 7, 100], dtype) if dtype != "uint8" else np.array([0, 1, 7], dtype)
    lowest = -float("inf") if low is None else int(low)
    highest = float("inf") if high is None else int(high)
    expected = [min(max(int(v), lowest), highest) for v in values]
    np.testing.assert_array_equal(np.clip(values, low, high), expected)  # NumPy agrees
    for library in LIBRARIES:
        t = cr.tensor(values, xp=_library(library, request))
        clipped = cr.clip(t, low, high)
        assert cr.backend.dtype_name(clipped.dtype) == dtype, library
        np.testing.assert_array_equal(clipped.numpy(), expected, err_msg=library)
        np.testing.assert_array_equal(t.clip(low, high).numpy(), expected, err_msg=library)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(
    ("dtype", "low", "high", "named"),
    [
        ("int8", 1000, 2000, "clip (low): the Python number 1000"),
        ("int8", 1000, None, "clip (low): the Python number 1000"),
        ("int8", None, -1000, "clip (high): the Python number -1000"),
        ("uint8", 0, -1, "clip (high): the Python number -1"),
    ],
)
def test_a_clip_bound_beyond_the_dtype_on_its_far_side_is_refused_by_name(
    library, dtype, low, high, named, request
):
    """A low above every value (or a high below) would make every value one the dtype cannot
    hold: NumPy refuses it, and now every library does, by name (array-api-strict clipped to
    1000 wrapped to -24, PyTorch's uint8 took a high of -1 for 255 and clipped nothing)."""
    with pytest.raises(OverflowError):
        np.clip(np.array([1, 2], dtype), low, high)  # NumPy's own rule
    t = cr.tensor(np.array([1, 2], dtype), xp=_library(library, request))
    with pytest.raises(OverflowError) as refused:
        cr.clip(t, low, high)
    message = str(refused.value)
    assert message.startswith(f"{named} is out of the range of the {dtype} tensor it meets")
    assert "x.astype(" in message


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("exponent", [2**64, -(2**63) - 1])
def test_a_float_base_takes_an_exponent_past_int64_as_numpy_does(torch, exponent):
    # PyTorch cannot convert the int ("int too big to convert"), and 9b01272's named refusal
    # then said no float dtype held 2**64: float32 does; NumPy gives 1, inf, 0
    values = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    expected = cr.tensor(values) ** exponent
    got = cr.tensor(torch.tensor(values), xp=torch) ** exponent
    np.testing.assert_array_equal(got.data.numpy(), expected.data)
