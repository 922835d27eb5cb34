"""nn.Dropout gives one dtype for an integer or boolean input in every mode.

In training the mask (a float) made the output the default float; in evaluation, and at p=0,
the input came back as it was (int64), so a model's output dtype hung on its mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("values", [[[1, 2, 3, 4]], [[True, False, True, True]]])
@pytest.mark.parametrize("p", [0.5, 0.0])
def test_integer_inputs_come_out_in_the_default_float_in_both_modes(values, p):
    x = cr.tensor(np.array(values))
    layer = nn.Dropout(p, rng=0)
    trained = layer(x)
    layer.eval()
    evaluated = layer(x)
    assert trained.dtype == evaluated.dtype == np.float64
    np.testing.assert_array_equal(evaluated.numpy(), np.array(values, dtype=np.float64))


def test_a_float32_input_keeps_its_dtype_in_evaluation():
    x = cr.tensor(np.ones((2, 3), dtype=np.float32))
    layer = nn.Dropout(0.5, rng=0).eval()
    assert layer(x).dtype == np.float32


def test_torch_integers_take_torchs_default_float_in_both_modes():
    torch = pytest.importorskip("torch")
    x = cr.tensor(torch.tensor([[1, 2, 3]]))
    layer = nn.Dropout(0.5, rng=0)
    trained = layer(x)
    layer.eval()
    assert trained.dtype == layer(x).dtype == torch.get_default_dtype()


def test_two_layers_given_the_same_seed_draw_the_same_masks():
    """What the docstring warns of: the same int rng, the same units dropped."""
    x = cr.tensor(np.ones((4, 6)))
    a, b = nn.Dropout(0.5, rng=3), nn.Dropout(0.5, rng=3)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
