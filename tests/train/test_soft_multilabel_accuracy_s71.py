"""Multilabel targets that are not all 0 or 1 have no accuracy (None, as a regression's).

QA (autoencoder): ``Dataset(X=X, y=X, task="multilabel")`` with pixel intensities in [0, 1]
reported accuracy 0.0 every epoch: the targets were cut at 0.5 and every unit of a case had to
match. The oracle: the targets written down (soft or 0/1) and the accuracy counted by hand.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.metrics import accuracy, class_report


def _pixels(n=40, k=6, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, k)).astype(np.float32)


@pytest.mark.parametrize("loss", [cr.nn.BinaryCrossEntropy(), cr.nn.MSE()])
def test_soft_multilabel_targets_have_no_accuracy(loss):
    X = _pixels()
    ds = cr.data.Dataset(X=X, y=X, task="multilabel")
    # outputs that reproduce the targets (logits for BCE): a number either way before, 1.0
    # here and 0.0 for a network a hair off on each case's pixels near 0.5
    outputs = np.log(X / (1 - X)) if isinstance(loss, cr.nn.BinaryCrossEntropy) else X
    assert accuracy(outputs, ds, loss) is None
    assert class_report(outputs[:, :1], cr.data.Dataset(X, X[:, :1], "multilabel"), loss) is None


def test_zero_one_multilabel_targets_keep_their_accuracy():
    y = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], np.float32)
    ds = cr.data.Dataset(X=np.zeros((4, 3), np.float32), y=y, task="multilabel")
    outputs = np.array([[-1, 2], [3, 1], [1, -2], [2, -1]], np.float32)  # case 2 wrong
    assert accuracy(outputs, ds, cr.nn.BinaryCrossEntropy()) == 0.75


def test_an_autoencoder_fit_logs_no_accuracy_and_stops_early_on_its_loss():
    X = _pixels(48, 8)
    train = cr.data.Dataset(X=X[:32], y=X[:32], task="multilabel")
    val = cr.data.Dataset(X=X[32:], y=X[32:], task="multilabel")
    net = cr.nn.mlp([8, 3, 8], activation="tanh", rng=0)
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    history = cr.train.fit(net, cr.nn.BinaryCrossEntropy(), opt, train, val, epochs=3,
                           progress=False, early_stopping=2)  # fmt: skip
    for record in history.records:
        assert record["accuracy"] is None and record["val_accuracy"] is None, record
        assert np.isfinite(record["loss"]) and np.isfinite(record["val_loss"])
    result = cr.train.evaluate(net, cr.nn.BinaryCrossEntropy(), val)
    assert result["accuracy"] is None and np.isfinite(result["loss"])
