"""A relu unit's step ∂E/∂z_i = [z_i > 0]·∂E/∂y_i prints the indicator of its own z: 0 for a unit
below 0, 1 above. (A mutation printing 1 for every unit passed every explain test: the line
"∂E/∂z_3 = 1·(-0.1088)" beside a result of 0 would not multiply out.)"""

from __future__ import annotations

import re

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.explainer import explain, render


def test_each_relu_units_step_prints_its_own_indicator():
    net = nn.Sequential(
        nn.Linear(3, 4, dtype="float64", rng=1), nn.ReLU(), nn.Linear(4, 2, dtype="float64", rng=2)
    )
    x = np.random.default_rng(3).normal(size=(1, 3))
    derivation = explain(net, x, np.array([[1.0, 0.0]]), perturbation=False, paths=False)
    shown = dict(re.findall(r"∂E/∂z_(\d+) = ([01])·", render(derivation, "text")))
    with cr.no_grad():
        z = net[0](cr.tensor(x)).numpy()[0]
    expected = {str(i + 1): "1" if v > 0 else "0" for i, v in enumerate(z)}
    assert (z < 0).any() and (z > 0).any()  # both kinds of unit in this case
    assert shown == expected
