"""The matrix form's line δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l) prints the real σ'(z^l): the numbers
after ⊙ are each hidden unit's slope at its own z, from an independent NumPy computation. (A
mutation writing tanh's slope as 1 - y instead of 1 - y² passed every test: the printed
equation no longer multiplied out to the δ the engine gave.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import explain, render

SLOPES = {
    "tanh": (nn.Tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "logistic": (nn.Sigmoid, lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
    "relu": (nn.ReLU, lambda z: (z > 0).astype(float)),
}


def _printed_slopes(text: str) -> list[list[float]]:
    """The vectors after ⊙ in the matrix form's δ lines, top hidden layer first."""
    found = re.findall(r"\) ⊙ \[([^\]]*)\]", text)
    return [[float(v) for v in vector.split(",")] for vector in found]


@pytest.mark.parametrize("unit", sorted(SLOPES))
def test_the_matrix_forms_slopes_are_each_units_own(unit):
    layer, slope = SLOPES[unit]
    rng = np.random.default_rng(3)
    net = nn.Sequential(
        nn.Linear(3, 4, dtype="float64", rng=1), layer(),
        nn.Linear(4, 3, dtype="float64", rng=2), layer(),
        nn.Linear(3, 2, dtype="float64", rng=4),
    )  # fmt: skip
    x = rng.normal(size=(1, 3))
    t = np.array([[1.0, 0.0]])
    derivation = explain(net, x, t, notation="matrix", perturbation=False, paths=False)
    printed = _printed_slopes(render(derivation, "text"))
    # z of each hidden layer, by the model's own Linear layers and NumPy's slope formula
    with cr.no_grad():
        z1 = net[0](cr.tensor(x)).numpy()[0]
        z2 = net[2](net[1](net[0](cr.tensor(x)))).numpy()[0]
    assert len(printed) == 2, printed
    for shown, z in zip(printed, (z2, z1)):  # backward: layer 2's line comes first
        np.testing.assert_allclose(shown, slope(z), rtol=5e-4, atol=5e-5)
