"""Review 1 of s71: early stopping on val_accuracy over soft multilabel targets (accuracy None
since 71eb317, as a regression's) said "a regression has no accuracy" of a multilabel fit. It
names what has none: multilabel targets not all 0 or 1; a regression keeps its words."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError

RNG = np.random.default_rng(0)
X = RNG.random((32, 4)).astype(np.float32)


def _fit(y, task, loss, n_out):
    train = cr.data.Dataset(X=X[:24], y=y[:24], task=task)
    val = cr.data.Dataset(X=X[24:], y=y[24:], task=task)
    net = nn.mlp([4, 3, n_out], rng=0)
    stopping = cr.train.EarlyStopping(patience=2, monitor="val_accuracy")
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    cr.train.fit(net, loss, opt, train, val, epochs=2, batch_size=8, seed=0, callbacks=[stopping])


def test_soft_multilabel_targets_are_named_not_a_regression():
    with pytest.raises(ConfigError) as caught:
        _fit(X, "multilabel", nn.BinaryCrossEntropy(), 4)  # intensities in (0, 1)
    said = str(caught.value)
    assert "multilabel targets not all 0 or 1 have no accuracy; monitor='val_loss'" in said
    assert "regression" not in said


def test_a_regression_is_still_named_a_regression():
    with pytest.raises(ConfigError, match="a regression has no accuracy; monitor='val_loss'"):
        _fit(X[:, :1], "regression", nn.SquaredError(), 1)
