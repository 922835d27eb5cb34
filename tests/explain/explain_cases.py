"""Networks and cases that several tests of this folder explain."""

from __future__ import annotations

import numpy as np

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
