"""A diverging fit raises TrainingDiverged without NumPy's overflow warning before it.

The epoch's loss on the training set, evaluated after its steps, overflowed first, and NumPy
printed ``RuntimeWarning: overflow encountered in reduce`` just above the TrainingDiverged that
the same non-finite loss raised: two reports of one event, the first a NumPy internal's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import TrainingDiverged


def test_a_diverging_fit_raises_without_a_numpy_warning() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * np.array([3.0, 0.5])
    T = X @ np.array([[1.5], [-2.0]])
    ds = cr.data.Dataset(X, T, task="regression")
    # E = 1/2 mean (x w - t)^2 has Hessian X^T X / N: descent diverges above lr = 2 / lambda_max
    lam_max = np.linalg.eigvalsh(X.T @ X / len(X)).max()
    net = nn.Linear(2, 1, bias=False, dtype="float64", init="zeros")
    opt = optim.SGD(net.parameters(), lr=50 * 2 / lam_max)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a NumPy warning fails the test
        with pytest.raises(TrainingDiverged, match="the training loss became (inf|nan)"):
            cr.train.fit(
                net, nn.SquaredError(reduction="mean"), opt, ds, epochs=500, progress=False
            )
