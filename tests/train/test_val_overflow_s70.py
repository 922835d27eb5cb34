"""A diverging fit with a validation set raises TrainingDiverged with no NumPy warning first.

The epoch's training loss was evaluated under ``np.errstate`` but the validation loss after it
was not: NumPy's ``RuntimeWarning: overflow encountered`` came before the TrainingDiverged, and
with warnings as errors (``python -W error``) the user got that RuntimeWarning as the exception
in place of TrainingDiverged. A validation loss that alone overflows is reported in the logs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import TrainingDiverged


def _regression(scale: float = 1.0) -> cr.data.Dataset:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * np.array([3.0, 0.5]) * scale
    return cr.data.Dataset(X, X @ np.array([[1.5], [-2.0]]), task="regression")


def test_a_diverging_fit_with_validation_raises_diverged_under_warnings_as_errors() -> None:
    train = _regression()
    X = train.X
    lam_max = np.linalg.eigvalsh(X.T @ X / len(X)).max()  # descent diverges past 2 / lam_max
    net = nn.Linear(2, 1, bias=False, dtype="float64", init="zeros")
    opt = optim.SGD(net.parameters(), lr=50 * 2 / lam_max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python -W error: any warning is an exception
        with pytest.raises(TrainingDiverged, match="the training loss became (inf|nan)"):
            cr.train.fit(
                net, nn.SquaredError(reduction="mean"), opt, train, _regression(), epochs=500,
                progress=False,
            )  # fmt: skip


def test_a_validation_loss_that_alone_overflows_is_reported_in_the_logs_quietly() -> None:
    """Training stays finite; the validation inputs, 1e200 times larger, overflow the squared
    error: its inf is the epoch's val_loss, with no warning."""
    net = nn.Linear(2, 1, bias=False, dtype="float64", init="zeros")
    opt = optim.SGD(net.parameters(), lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = cr.train.fit(
            net, nn.SquaredError(reduction="mean"), opt, _regression(), _regression(1e200),
            epochs=2, progress=False,
        )  # fmt: skip
    assert math.isfinite(history.last["loss"])
    assert history.last["val_loss"] == math.inf
