"""A model's parameters are float32 or float64; any other dtype is refused when the model is made.

float16 and longdouble layers were made and trained (Adam's eps, 1e-8, is 0 in float16: every
weight NaN by the second step), and only then refused: by ``io.save_model`` in pydantic's words,
by ``explain``, by ``to_torch``. Now ``Linear`` and ``mlp`` refuse them up front with the one
message ``nn.init.parameter_dtype`` gives, as ``mlp`` refused bfloat16. Plain tensors keep any
dtype. And ``to_torch``'s refusal of a float16 model named PyTorch's conversion (``net.float()``),
not chainrule's (``model.to('float32')``).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError
from chainrule.nn.init import parameter_dtype

REFUSED = (
    "dtype: {} is a dtype, but not one parameters support; use float32 or float64 (the "
    "floating point dtypes parameters take)"
)


@pytest.mark.parametrize(
    ("dtype", "name"),
    [
        ("float16", "float16"),
        (np.float16, "float16"),
        (np.longdouble, np.dtype(np.longdouble).name),
        ("int32", "int32"),
        (complex, "complex128"),
        (np.dtype("bool"), "bool"),
    ],
    ids=repr,
)
def test_linear_and_mlp_refuse_a_dtype_other_than_float32_and_float64(dtype, name):
    message = REFUSED.format(name)
    for make in (lambda: nn.Linear(2, 3, dtype=dtype, rng=0),
                 lambda: nn.mlp([2, 3, 1], dtype=dtype, rng=0)):  # fmt: skip
        with pytest.raises(ConfigError) as refused:
            make()
        assert str(refused.value) == message
    with pytest.raises(ConfigError) as refused:  # the one home of the message
        parameter_dtype(dtype)
    assert str(refused.value) == message
    assert cr.tensor([1, 0], dtype=dtype).dtype == np.dtype(dtype)  # a plain tensor takes it


def test_torch_dtypes_are_refused_and_taken_alike(torch):
    for dtype in (torch.float16, torch.bfloat16):
        with pytest.raises(ConfigError) as refused:
            nn.mlp([2, 3], dtype=dtype, rng=0)
        assert str(refused.value) == REFUSED.format(str(dtype).rsplit(".", 1)[-1])
    for dtype, name in ((torch.float32, "float32"), (torch.float64, "float64")):
        assert nn.mlp([2, 3], dtype=dtype, rng=0).dtype == np.dtype(name)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("float32", "float32"),
        (np.float64, "float64"),
        (float, "float64"),
        ("double", "float64"),
        (np.dtype(">f4"), "float32"),
        ("f8", "float64"),
    ],  # fmt: skip
    ids=repr,
)
def test_float32_and_float64_are_taken_however_they_are_named(dtype, expected):
    layer = nn.Linear(2, 3, dtype=dtype, rng=0)
    assert layer.weight.dtype == np.dtype(expected) == layer.bias.dtype
    assert layer.weight.data.dtype.isnative
    assert parameter_dtype(dtype) == np.dtype(expected)


def test_something_that_is_no_dtype_is_called_so():
    with pytest.raises(ConfigError, match=r"^dtype: 'bogus' is not a dtype; use float32 or"):
        parameter_dtype("bogus")


def test_to_torch_names_chainrules_conversion_for_a_float16_model(torch):
    from chainrule.errors import ConversionError
    from chainrule.interop import to_torch

    model = nn.mlp([2, 3], rng=0)
    for p in model.parameters():  # float16 arrays set on a float32 model
        p.data = p.data.astype(np.float16)
    with pytest.raises(ConversionError) as refused:
        to_torch(model)
    message = str(refused.value)
    assert "float16" in message and "model.to('float32')" in message
    assert "net.float()" not in message  # PyTorch's method: a chainrule model has none
    assert not hasattr(model, "float")
