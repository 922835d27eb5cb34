"""The text's dE/dy_i = sum_j w_ij dE/dz_j ends in the engine's dE/dy_i, the number its check
mark and the next line's dE/dz_i use. It ended in the terms re-added in float64, which for a
float32 model differ past float32's digits: at --digits 10 one unit showed two dE/dy_i."""

import re

import numpy as np

import chainrule as cr
from chainrule import nn


def test_a_float32_models_sum_ends_in_the_engines_value_at_ten_digits():
    model = nn.Sequential(
        nn.Linear(3, 4, rng=0), nn.Logistic(), nn.Linear(4, 2, rng=1), nn.Logistic()
    )
    x, t = np.array([[0.3, -0.2, 0.9]], np.float32), np.array([[1.0, 0.0]], np.float32)
    d = cr.explain(model, x, t)
    text = cr.explainer.render(d, "text", digits=10)
    for unit in range(4):
        engine = f"{d.dE_dy(1, unit).value:.10g}"
        block = text[text.index(f"i={unit + 1}: ∂E/∂y_{unit + 1} = ") :]
        result = re.search(r"= (\S+)\s+✓", block)[1]
        assert result == engine
        dz_line = block.splitlines()[4]  # symbols, numbers, products, result, then dE/dz_i
        assert dz_line.strip().startswith(f"∂E/∂z_{unit + 1} =")
        assert dz_line.endswith((f"·{engine}", f"·({engine})"))  # a negative one in parentheses
