"""Three small refusals and one public home (session 55).

- An initialiser given an integer or boolean dtype returned zeros (``uniform`` drew in (-0.3,
  0.3) and cast: every weight 0), a weight that no gradient step could move, where ``cr.randn``
  refused the dtype. It is refused now, by the same check, naming the initialiser.
- ``cr.tensor([np.ma.array(None), 1.0], dtype="float64")`` raised Python's own ``float()``
  TypeError ("float() argument must be a string or a real number, not 'NoneType'"), which names
  neither the call nor the None; ``[None, 1.0]`` and ``[np.array(None), 1.0]`` had chainrule's.
- ``chainrule.functional`` imported ``creation._own_copy``, a private name; it is
  ``creation.own_copy`` now.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import creation, functional
from chainrule.nn import init

INITIALISERS = ["uniform", "glorot", "he", "cosine", "zeros"]
NOT_FLOATS = [np.int32, "int64", int, bool, np.uint8]


@pytest.mark.parametrize("name", INITIALISERS)
@pytest.mark.parametrize("dtype", NOT_FLOATS)
def test_an_initialiser_refuses_an_integer_or_boolean_dtype_naming_itself(name, dtype) -> None:
    make = getattr(init, name)
    shown = np.dtype(dtype).name
    want = rf"^{name} init: dtype {shown} is not a real floating-point type; weights of it"
    with pytest.raises(TypeError, match=want):
        make((4, 3), dtype=dtype, rng=0)
    with pytest.raises(TypeError, match=want):
        make((4, 3), dtype, 0)  # by position too


def test_the_refusal_is_randns_check_with_the_initialisers_reason() -> None:
    """One check: randn's words for what an integer dtype is, and why, for weights."""
    with pytest.raises(TypeError) as drawn:
        cr.randn(3, dtype=np.int32)
    with pytest.raises(TypeError) as weights:
        init.glorot((3, 2), dtype=np.int32)
    assert str(drawn.value).startswith("randn: dtype int32 is not a real floating-point type; ")
    assert "the samples are floats, which it would truncate" in str(drawn.value)
    assert str(weights.value).startswith("glorot init: dtype int32 is not a real floating-point")
    assert "could never learn" in str(weights.value)


@pytest.mark.parametrize("dtype", [np.float16, "float32", np.float64, None])
def test_an_initialiser_refuses_before_drawing_and_floats_make_the_same_weights(dtype) -> None:
    """A refused call leaves the generator where it was; a float dtype draws Glorot's
    U(-a, a), a = sqrt(6 / (fan_in + fan_out)), drawn here by hand as the oracle (None is
    NumPy's default, float64)."""
    rng = np.random.default_rng(5)
    with pytest.raises(TypeError, match="^glorot init: dtype int16"):
        init.glorot((4, 3), dtype="int16", rng=rng)
    got = init.glorot((4, 3), dtype=dtype, rng=rng)
    a = np.sqrt(6.0 / 7)
    want = np.random.default_rng(5).uniform(-a, a, size=(4, 3)).astype(np.dtype(dtype))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(init.zeros((2,), dtype), np.zeros(2, np.dtype(dtype)))


def test_the_named_table_and_another_librarys_integer_dtype_are_refused_too() -> None:
    with pytest.raises(TypeError, match="^he init: dtype int8 is not a real floating"):
        init.get("kaiming")((2, 2), dtype="int8")
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="^uniform init: dtype int64 is not a real floating"):
        init.uniform((2, 2), dtype=torch.int64, xp=torch)


MASKED_NONES = [
    [np.ma.array(None), 1.0],
    (1.0, np.ma.array(None)),
    [[np.ma.array(None), 1.0], [2.0, 3.0]],
]


@pytest.mark.parametrize("data", MASKED_NONES, ids=["list", "tuple", "nested"])
@pytest.mark.parametrize("dtype", ["float64", np.float32, complex])
def test_a_masked_none_is_refused_as_none_is(data, dtype) -> None:
    with pytest.raises(TypeError, match=r"^tensor: data holds None, which is not a number$"):
        cr.tensor(data, dtype=dtype)
    with pytest.raises(TypeError, match=r"^tensor: a tensor holds numbers .* dtype object"):
        cr.Tensor(data, dtype=dtype)  # the constructor's own words for None, as for [None, 1.0]


def test_the_refusal_reads_as_plain_nones_does_and_nothing_else_changes() -> None:
    with pytest.raises(TypeError) as plain:
        cr.tensor([None, 1.0], dtype="float64")
    with pytest.raises(TypeError) as masked:
        cr.tensor([np.ma.array(None), 1.0], dtype="float64")
    assert str(masked.value) == str(plain.value)
    assert masked.value.__cause__ is None and masked.value.__context__ is None  # no float() trace
    # only None is chainrule's to name here: an object that is not a number keeps NumPy's words
    for make in (cr.tensor, cr.Tensor):
        with pytest.raises(TypeError, match="float\\(\\) argument must be"):
            make([object(), 1.0], dtype="float64")
    # and a masked number is a number
    got = cr.tensor([np.ma.array(2.0, dtype=object), 1.0], dtype="float64")
    np.testing.assert_array_equal(got.numpy(), [2.0, 1.0])
    assert got.dtype == np.float64


def test_the_copy_a_tensor_and_the_transforms_own_has_a_public_home() -> None:
    assert functional.own_copy is creation.own_copy
    assert not hasattr(creation, "_own_copy") and not hasattr(functional, "_own_copy")
    values = np.arange(3.0)
    for given in (values, cr.Tensor(values)):
        copied = creation.own_copy(given)
        assert type(copied) is np.ndarray and not np.shares_memory(copied, values)
        np.testing.assert_array_equal(copied, values)
    np.testing.assert_array_equal(creation.own_copy([1.0, 2.0]), [1.0, 2.0])


def test_ml_dtypes_integers_are_refused_by_the_initialisers_too():
    """int4's NumPy kind is "V", not "i": it passed the kind test and gave truncated weights
    (review 1); bfloat16, a float of the same package, is taken."""
    ml_dtypes = pytest.importorskip("ml_dtypes")

    for dtype in (ml_dtypes.int4, ml_dtypes.uint4):
        with pytest.raises(TypeError, match=r"^glorot init: dtype u?int4 is not a real floating"):
            init.glorot((2, 2), dtype, 0)
    assert init.glorot((2, 2), ml_dtypes.bfloat16, 0).dtype == np.dtype(ml_dtypes.bfloat16)
