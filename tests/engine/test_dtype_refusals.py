"""A dtype a library lacks, or one parameters cannot take, is refused with a clear error.

array-api-strict has no float16 (the array API standard has none): asking for it raised a raw
``AttributeError`` from inside the backend. ``torch.bfloat16`` is a dtype that NumPy (and so a
parameter) has no match for: it was called "not a dtype". The library's own inspection API
(``__array_namespace_info__().dtypes``) is the reference for which dtypes it has.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError


@pytest.fixture
def strict():
    return pytest.importorskip("array_api_strict")


def _floating_dtypes(xp) -> list[str]:
    return list(xp.__array_namespace_info__().dtypes(kind="real floating"))


def test_array_api_strict_has_no_float16_and_the_error_says_so(strict):
    assert "float16" not in _floating_dtypes(strict)  # the premise, from the library itself
    with pytest.raises(cr.ArrayLibraryError, match=r"array_api_strict has no dtype float16") as e:
        cr.tensor(np.ones(2), xp=strict, dtype="float16")
    assert all(name in str(e.value) for name in _floating_dtypes(strict))


def test_a_model_refused_float16_on_array_api_strict_is_left_as_it_was(strict):
    model = cr.nn.mlp([3, 2], rng=0, dtype=np.float64).to(xp=strict)
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(ConfigError, match=r"float16.*use float32 or float64"):
        model.to("float16")  # refused for every library now: models are float32 or float64
    for p, kept in zip(model.parameters(), before):
        assert type(p.data).__module__.startswith("array_api_strict")
        assert cr.backend.dtype_name(p.dtype) == "float64"
        np.testing.assert_array_equal(p.numpy(), kept)


def test_a_dtype_the_library_has_is_still_taken(strict):
    model = cr.nn.mlp([3, 2], rng=0, dtype=np.float64).to(xp=strict).to("float32")
    assert {cr.backend.dtype_name(p.dtype) for p in model.parameters()} == {"float32"}


def test_torch_bfloat16_is_named_a_dtype_parameters_do_not_support(torch):
    assert isinstance(torch.bfloat16, torch.dtype)  # it is a dtype
    model = cr.nn.mlp([3, 2], rng=0, dtype=np.float64)
    with pytest.raises(ConfigError) as e:
        model.to(torch.bfloat16)
    message = str(e.value)
    assert "bfloat16" in message and "is a dtype" in message and "not a dtype" not in message
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}


def test_bfloat16_is_named_so_where_ml_dtypes_gave_numpy_one_too(torch):
    """ml_dtypes (JAX loads it) adds a bfloat16 to NumPy, of kind "V": it is a float all the
    same, not "not floating point"."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert np.dtype(ml_dtypes.bfloat16).kind != "f"  # the premise: not one of NumPy's floats
    for dtype in (torch.bfloat16, "bfloat16", ml_dtypes.bfloat16):
        with pytest.raises(ConfigError, match=r"is a dtype, but not one parameters support"):
            cr.nn.mlp([3, 2]).to(dtype)


def test_something_that_is_no_dtype_is_still_called_so():
    with pytest.raises(ConfigError, match=r"'bogus' is not a dtype"):
        cr.nn.mlp([3, 2]).to("bogus")
