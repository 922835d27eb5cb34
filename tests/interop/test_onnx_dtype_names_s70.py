"""to_onnx's refusal of a model of two dtypes names the parameters, not the layer twice: a weight
made float64 by a float64 pruning mask beside its float32 bias read "layer 0 is float64, layer 0
is float32"."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_run import needs_onnx

from chainrule import nn
from chainrule.errors import ConversionError
from chainrule.interop import to_onnx


def test_a_weight_of_another_dtype_than_its_bias_is_named_with_the_bias():
    needs_onnx()
    model = nn.mlp([4, 3, 2], rng=0)
    weight = model[0].weight
    weight.data = weight.data * np.where(np.abs(weight.data) > 0.1, 1.0, 0.0)  # float64 mask
    with pytest.raises(ConversionError) as refused:
        to_onnx(model)
    message = str(refused.value)
    assert "('0.weight' is float64, '0.bias' is float32)" in message
    assert "layer 0 is" not in message
