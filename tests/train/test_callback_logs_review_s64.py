"""What worked before the contract for one's own pieces works again (review 64, d44cc72):

- a callback that logs a Tensor, a datetime or any object JSON cannot hold stopped the fit
  with a ConfigError; a Tensor of one value is now kept as its number, anything else is left
  out of the History with one warning naming the key and the callback, and the fit goes on;
- a callback writing over the trainer's own keys (``logs["val_loss"] = "n/a"``,
  ``logs.clear()``) wrote checkpoints that could not be resumed: the History keeps the
  trainer's values;
- a callback with a ``state()`` / ``load_state(path)`` of another meaning was refused by every
  Trainer, checkpoints or not: only where a checkpoint or a resume calls them;
- the "does not say how the outputs are read" warning fired for models ending in a module of
  the user's (whose outputs may be probabilities), and pointed into trainer.py.
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.data import Dataset
from chainrule.errors import ConfigError
from chainrule.train import Callback, Trainer


def _two_classes(n: int = 40) -> Dataset:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(np.int64)
    return Dataset(X=X, y=y, task="classification", n_classes=2)


def _trainer(callbacks, **options) -> Trainer:
    net = nn.mlp([2, 2], rng=0)
    opt = optim.SGD(net.parameters(), lr=0.5)
    return Trainer(net, nn.CrossEntropy(), opt, callbacks=callbacks, progress=False, **options)


def _told(record, text: str) -> list[warnings.WarningMessage]:
    return [w for w in record if text in str(w.message)]


# -- what a callback logs ------------------------------------------------------------------------


class _Norm(Callback):
    """Logs the first layer's squared weights: a chainrule Tensor of one value."""

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        logs["w_norm"] = (trainer.model.layers[0].weight ** 2).sum()


def test_a_tensor_of_one_value_is_kept_as_its_number():
    trainer = _trainer([_Norm()])
    history = trainer.fit(_two_classes(), epochs=3)
    w = trainer.model.layers[0].weight.numpy()
    assert len(history) == 3
    assert all(type(v) is float for v in history["w_norm"])
    assert history["w_norm"][-1] == pytest.approx(float((w.astype(np.float64) ** 2).sum()))


@pytest.mark.parametrize(
    "value",
    [
        lambda trainer: datetime.datetime(2026, 1, 1),
        lambda trainer: trainer.model(cr.tensor(np.ones((2, 2), np.float32))),
        lambda trainer: {1, 2},
        lambda trainer: object(),
    ],
    ids=["datetime", "a Tensor of 4 values", "a set", "an object"],
)
def test_a_value_the_history_cannot_keep_is_left_out_once_told_and_the_fit_goes_on(value, tmp_path):
    seen = []

    class Stamp(Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            logs["when"] = value(trainer)
            logs["n"] = epoch

    class Reader(Callback):  # a callback after it still sees what it wrote
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            seen.append(logs["when"])

    trainer = _trainer([Stamp(), Reader()], checkpoint_dir=tmp_path / "ckpt")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = trainer.fit(_two_classes(), epochs=3)
    assert len(history) == 3 and len(seen) == 3
    assert history["when"] == [None, None, None]  # left out
    assert history["n"] == [1, 2, 3]  # what it can keep is kept
    told = _told(record, "logs['when']")
    assert len(told) == 1, [str(w.message) for w in record]
    assert "callback Stamp" in str(told[0].message)
    assert told[0].filename == __file__  # the user's line, not trainer.py
    # the checkpoint resumes
    trainer2 = _trainer([])
    trainer2.resume(tmp_path / "ckpt")
    assert trainer2.history["n"] == [1, 2, 3]


@pytest.mark.parametrize("write", ["val_loss = 'n/a'", "epoch = 'one'", "clear()", "del loss"])
def test_writes_over_the_trainers_keys_leave_its_history_and_checkpoints_whole(write, tmp_path):
    class Writer(Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            if write == "clear()":
                logs.clear()
            elif write == "del loss":
                del logs["loss"]
            else:
                key, text = write.split(" = ")
                logs[key] = text.strip("'")

    plain = _trainer([]).fit(_two_classes(), _two_classes(), epochs=3)
    trainer = _trainer([Writer()], checkpoint_dir=tmp_path / "ckpt")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = trainer.fit(_two_classes(), _two_classes(), epochs=3)
    strip = [{k: v for k, v in r.items() if k != "time"} for r in history]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in plain]
    told = _told(record, "is the trainer's")
    if write in ("clear()", "del loss"):  # nothing written over: nothing to say
        assert not told
    else:
        assert len(told) == 1 and "callback Writer" in str(told[0].message)
    resumed = _trainer([])
    resumed.resume(tmp_path / "ckpt")  # raised ModelFileError for a history of "n/a"
    assert resumed.history["val_loss"] == plain["val_loss"]
    assert resumed.history["epoch"] == [1, 2, 3]


# -- a callback's state() / load_state() of another meaning ---------------------------------------


class _WithPath(Callback):
    """A ``state()`` that describes, a ``load_state(path)`` that reads a file: not a
    checkpoint's."""

    def __init__(self) -> None:
        self.n = 0

    def state(self):
        return f"n={self.n}"

    def load_state(self, path):
        pass


def test_a_load_state_of_its_own_meaning_is_left_alone_without_checkpoints():
    net = nn.mlp([2, 2], rng=0)
    history = train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5),
                        _two_classes(), epochs=2, callbacks=[_WithPath()],
                        progress=False)  # fmt: skip
    assert len(history) == 2


def test_it_is_refused_where_a_checkpoint_is_written_or_a_run_resumes(tmp_path):
    with pytest.raises(ConfigError, match=r"callbacks\[0\] \(_WithPath\): its load_state"):
        _trainer([_WithPath()], checkpoint_dir=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()
    _trainer([], checkpoint_dir=tmp_path / "run").fit(_two_classes(), epochs=1)
    trainer = _trainer([_WithPath()])
    with pytest.raises(ConfigError, match=r"callbacks\[0\] \(_WithPath\): its load_state"):
        trainer.resume(tmp_path / "run")
    assert trainer.epoch == 0 and len(trainer.history) == 0


# -- the warning on how the outputs are read ------------------------------------------------------


def _bce_probabilities(p, t):
    t = cr.tensor(np.asarray(t, np.float32).reshape(-1, 1))
    return -(t * cr.log(p + 1e-7) + (1 - t) * cr.log(1 - p + 1e-7)).mean()


class _LogReg(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 1, rng=0)

    def forward(self, x):
        return cr.sigmoid(self.lin(x))


class _Wrap(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 1, rng=0), nn.Logistic())

    def forward(self, x):
        return self.net(x)


def _squared(y, t):
    return ((y - cr.tensor(np.asarray(t, np.float32).reshape(-1, 1))) ** 2).mean()


def _read_warnings(model, via_fit: bool, loss=_bce_probabilities) -> list:
    opt = optim.SGD(model.parameters(), lr=0.5)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        if via_fit:
            train.fit(model, loss, opt, _two_classes(), epochs=1, progress=False)
        else:
            Trainer(model, loss, opt, progress=False).fit(_two_classes(), epochs=1)
    return _told(record, "how the network's outputs")


@pytest.mark.parametrize("model", [_LogReg, _Wrap], ids=["own forward", "wrapper"])
def test_no_warning_where_the_model_ends_in_what_the_trainer_cannot_see(model):
    assert _read_warnings(model(), via_fit=True) == []


@pytest.mark.parametrize("via_fit", [True, False], ids=["train.fit", "Trainer.fit"])
def test_the_warning_for_logits_points_at_the_users_line(via_fit):
    told = _read_warnings(nn.Sequential(nn.Linear(2, 1, rng=0)), via_fit, _squared)
    assert len(told) == 1
    assert told[0].filename == __file__
