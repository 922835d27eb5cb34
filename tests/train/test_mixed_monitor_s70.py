"""A monitored name holding both an accuracy word and a loss's or an error's (``val_acc_err``,
``val_accuracy_loss``, ``val_acc_drop``, ``val_error_accuracy``) was guessed "max" by
``mode="auto"`` silently: ``History.best("val_acc_err")`` gave the epoch of the LARGEST error,
and ``EarlyStopping(monitor="val_acc_drop")`` kept the weights where accuracy dropped most. Such
a name now asks for the mode, with the ConfigError a name that says neither way gets."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.module import ConfigError
from chainrule.train.history import History, higher_is_better, maximizing

MIXED = [
    "val_acc_err",
    "val_accuracy_loss",
    "val_acc_drop",
    "val_error_accuracy",
    "acc_gap",
    "val_loss_drop",
    "val_loss_decrease",
    "val_err_drop",
]  # the last three: review 4


@pytest.mark.parametrize("key", MIXED)
def test_a_mixed_name_asks_for_the_mode(key):
    assert higher_is_better(key) is None
    with pytest.raises(ConfigError, match=r"pass mode='max' or mode='min'") as error:
        maximizing(key)
    assert "its name holds both" in str(error.value)
    assert maximizing(key, "min") is False and maximizing(key, "max") is True


@pytest.mark.parametrize(
    ("key", "higher"),
    [("val_accuracy", True), ("val_acc", True), ("top5_accuracy", True),
     ("val_accuracy_top5", True), ("val_loss", False), ("val_loss_ema", False),
     ("val_nll", False), ("lr", False),
     # review 5: a loss's spread or gap stays lower-better; only its fall (drop) asks
     ("val_loss_std", False), ("val_mse_var", False), ("loss_gap", False),
     ("val_loss_delta", False), ("train_loss_minus_val_loss", False)],
)  # fmt: skip
def test_names_that_say_one_way_keep_it(key, higher):
    assert higher_is_better(key) is higher


def test_history_best_of_a_mixed_name_asks():
    history = History([{"epoch": 1, "val_acc_err": 0.3}, {"epoch": 2, "val_acc_err": 0.1}])
    with pytest.raises(ConfigError, match="'val_acc_err' is better"):
        history.best("val_acc_err")
    assert history.best("val_acc_err", "min")["epoch"] == 2


class _LogsDrop(cr.train.Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_acc_drop"] = 1.0 / epoch


def test_early_stopping_on_a_mixed_name_asks_at_the_first_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    ds = cr.data.Dataset(X=X, y=(X[:, 0] > 0).astype(np.int64), task="classification")
    net = nn.mlp([2, 2], dtype="float64", rng=0)
    stop = cr.train.EarlyStopping(patience=2, monitor="val_acc_drop")
    with pytest.raises(ConfigError, match="EarlyStopping: .*'val_acc_drop'.*pass mode="):
        cr.train.fit(net, nn.CrossEntropy(), cr.optim.SGD(net, lr=0.1), ds, epochs=3,
                     progress=False, callbacks=[_LogsDrop(), stop])  # fmt: skip
