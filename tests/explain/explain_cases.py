"""Networks and cases that several tests of this folder explain, and the LaTeX compile they
share."""

from __future__ import annotations

import contextlib
import subprocess

import numpy as np

import chainrule as cr
from chainrule import nn


def parallel_case():
    """2 inputs -> 3 tanh -> a Parallel layer (units 1-2 read 1-2, unit 3 reads 3) -> 2 logistic:
    a layer whose units feed some of the units above, not all; (model, x, t) of 2 cases."""

    def branch(n_in: int, n_out: int, seed: int) -> nn.Sequential:
        return nn.Sequential(nn.Linear(n_in, n_out, rng=seed, dtype="float64"), nn.Logistic())

    model = nn.Sequential(
        nn.Linear(2, 3, rng=5, dtype="float64"), nn.Tanh(),
        nn.Parallel((2, branch(2, 2, 0)), (1, branch(1, 1, 1))),
        nn.Linear(3, 2, rng=2, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    return model, np.array([[1.0, 0.5], [0.2, -0.3]]), np.array([[1.0, 0.0], [0.0, 1.0]])


def kinked_relu_case():
    """2 inputs -> 2 tanh -> 2 relu -> 1: relu unit 1 of layer 2 exactly at its kink (z = 0),
    fed by y_1 of layer 1 with a positive weight, so a nudge of that y carries it across;
    (model, x, t) of one case."""
    model = nn.Sequential(
        nn.Linear(2, 2, dtype="float64", rng=1),
        nn.Tanh(),
        nn.Linear(2, 2, dtype="float64", rng=2),
        nn.ReLU(),
        nn.Linear(2, 1, dtype="float64", rng=3),
    )
    x = np.array([[0.3, -0.7]])
    model[2].weight.data[0, 0] = 0.5
    h = np.tanh(x @ model[0].weight.data + model[0].bias.data)
    model[2].bias.data[0] = -(h @ model[2].weight.data[:, 0])[0]
    return model, x, np.array([[0.5]])


def pdflatex(folder, name: str, latex: str) -> subprocess.CompletedProcess:
    """``latex`` written to ``folder / name.tex`` and compiled there by pdflatex, stopping at
    the first error; the finished process (its ``returncode``, its ``stdout`` log)."""
    (folder / f"{name}.tex").write_text(latex)
    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@contextlib.contextmanager
def rule_scaled(op: str, factor: float):
    """The engine's backward rule of ``op`` ("tanh", "relu") scaled by ``factor`` inside the
    block, put back after it: a wrong rule made on purpose, for the checks to catch."""
    primitive = cr.REGISTRY[op]
    original = primitive.vjp
    object.__setattr__(primitive, "vjp", (lambda g, out, x: original[0](g, out, x) * factor,))
    try:
        yield
    finally:
        object.__setattr__(primitive, "vjp", original)
