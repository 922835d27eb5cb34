"""A softmax hidden layer's dE/dz_j is written out with its numbers, y_j (dE/dy_j − Σ_k y_k
dE/dy_k), not "(softmax Jacobian)". The oracle: torch 2.13's autograd for the same network."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

STEP = re.compile(r"∂E/∂z_(\d) = (\S+)·\((\(?-?[\d.e-]+\)?) - (\(?-?[\d.e-]+\)?)\)$")


def _number(text):
    return float(text.strip("()"))


def _torch_softmax_layer(model, x, t):
    W1, b1 = (torch.tensor(p.data, requires_grad=False) for p in (model[0].weight, model[0].bias))
    W2, b2 = (torch.tensor(p.data) for p in (model[2].weight, model[2].bias))
    z = torch.tensor(x) @ W1 + b1
    z.requires_grad_(True)
    y = torch.softmax(z, dim=1)
    y.retain_grad()
    out = torch.sigmoid(y @ W2 + b2)
    (0.5 * ((out - torch.tensor(t)) ** 2).sum()).backward()
    return y.detach().numpy()[0], y.grad.numpy()[0], z.grad.numpy()[0]


def test_each_softmax_units_step_holds_with_torchs_numbers():
    model = nn.Sequential(
        nn.Linear(3, 4, rng=0, dtype="float64"), nn.Softmax(),
        nn.Linear(4, 2, rng=1, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    x, t = np.array([[0.3, -0.2, 0.9]]), np.array([[1.0, 0.0]])
    text = cr.explainer.render(cr.explain(model, x, t, loss="squared-error"), "text")
    assert "softmax Jacobian" not in text
    steps = [STEP.search(line.strip()) for line in text.splitlines()]
    steps = [m for m in steps if m]
    assert len(steps) == 4, text
    y, dy, dz = _torch_softmax_layer(model, x, t)
    weighted = float(y @ dy)
    for m in steps:
        j = int(m[1]) - 1
        shown_y, shown_dy, shown_sum = _number(m[2]), _number(m[3]), _number(m[4])
        assert shown_y == pytest.approx(y[j], rel=1e-3)
        assert shown_dy == pytest.approx(dy[j], rel=1e-3)
        assert shown_sum == pytest.approx(weighted, rel=1e-3)
        assert shown_y * (shown_dy - shown_sum) == pytest.approx(dz[j], rel=5e-3)
