"""A Linear's weight or bias set later has the layer's shape and its other part's dtype.

``Linear(2, 2, bias=False).bias = nn.Parameter(np.ones(3))`` and a float64 bias beside a float32
weight were taken; forward broadcast or mixed them, and save_model wrote a file that load_model
refused ("'0.bias' has shape (3,) but the architecture needs (2,)"). The oracle for what still
works: load_model of what save_model wrote, computing as the model did.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io, nn
from chainrule.errors import ConfigError, ShapeError


def test_a_bias_of_another_shape_is_refused() -> None:
    layer = nn.Linear(2, 2, bias=False, rng=0)
    with pytest.raises(
        ShapeError, match=r"Linear\(2, 2\)\.bias must have shape \(2,\), not \(3,\)"
    ):
        layer.bias = nn.Parameter(np.ones(3, dtype=np.float32))
    assert layer.bias is None
    with pytest.raises(ShapeError, match=r"\.weight must have shape \(2, 2\), not \(3, 2\)"):
        layer.weight = nn.Parameter(np.ones((3, 2), dtype=np.float32))


def test_a_part_of_another_dtype_is_refused() -> None:
    layer = nn.Linear(2, 3, rng=0)  # float32
    with pytest.raises(ConfigError, match=r"Linear\.bias must be float32, as its weight is, not "
                       r"float64"):  # fmt: skip
        layer.bias = nn.Parameter(np.ones(3))


def test_parts_of_the_layers_shape_and_dtype_save_and_load(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(2, 2, bias=False, rng=0), nn.Sigmoid())
    model[0].bias = nn.Parameter(np.array([0.5, -1.0], dtype=np.float32))
    model[0].weight = nn.Parameter(np.eye(2, dtype=np.float32), requires_grad=False)
    io.save_model(tmp_path / "m", model)
    loaded, _ = io.load_model(tmp_path / "m")
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    model.to("float64")  # every part at once: still one dtype
    assert model[0].weight.dtype == model[0].bias.dtype == np.float64
