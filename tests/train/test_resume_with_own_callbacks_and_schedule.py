"""A resume acts by what the user gives the resumed trainer for the epochs to come: early
stopping's own monitor and mode (the checkpoint's silently replaced them), and a schedule the
checkpoint holds no state of, put at the resumed epoch (it started again from epoch 0, so the
learning rate jumped back to the start)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import io
from chainrule.data import Dataset
from chainrule.errors import ConfigError
from chainrule.train import Callback, EarlyStopping, Trainer

BASE_LR = 0.1


def _data(n: int = 40, seed: int = 0) -> Dataset:
    X = np.random.default_rng(seed).normal(size=(n, 3))
    return Dataset(X=X, y=(X[:, 0] > 0).astype(int), task="classification")


def _trainer(**options) -> Trainer:
    """A fresh process's trainer: the same network and optimizer rebuilt, ``options`` its own.
    ``schedule`` may be a function of the optimizer (a schedule is built on it)."""
    net = cr.nn.mlp([3, 5, 2], activation="tanh", rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=BASE_LR, momentum=0.5)
    make_schedule = options.pop("schedule", None)
    schedule = None if make_schedule is None else make_schedule(opt)
    return Trainer(net, cr.nn.CrossEntropy(), opt, schedule=schedule, progress=False, **options)


class _Scripted(Callback):
    """Logs ``key`` with a scripted value for each epoch (1-based)."""

    def __init__(self, key: str, values: dict[int, float]) -> None:
        self.key, self.values = key, values

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        logs[self.key] = self.values[epoch]


class _Hyperparameters(Callback):
    """The learning rate and momentum each epoch trains with, by epoch (1-based)."""

    def __init__(self) -> None:
        self.lr: dict[int, float] = {}
        self.momentum: dict[int, float] = {}

    def on_epoch_start(self, trainer, epoch) -> None:
        self.lr[epoch] = trainer.optimizer.lr
        self.momentum[epoch] = trainer.optimizer.momentum


# -- 1. early stopping: the callback given now acts ----------------------------------------------


def _resumed_stopper(tmp_path, first: EarlyStopping, now: EarlyStopping, epochs: int = 6):
    """Three epochs watched by ``first``, checkpointed; resumed to ``epochs`` with ``now``."""
    ds, val = _data(), _data(seed=1)
    _trainer(early_stopping=first, checkpoint_dir=tmp_path).fit(ds, val, epochs=3)
    resumed = _trainer(early_stopping=now)
    resumed.resume(tmp_path)
    history = resumed.fit(ds, val, epochs=epochs)
    return resumed, history


def test_a_resume_with_another_monitor_watches_the_one_given_now(tmp_path):
    """A run on 'val_accuracy' resumed with monitor='val_loss' silently watched 'val_accuracy'
    again (its best, the highest accuracy, compared with the accuracies to come)."""
    now = EarlyStopping(patience=100, monitor="val_loss")
    _, history = _resumed_stopper(tmp_path, EarlyStopping(100, monitor="val_accuracy"), now)
    assert (now.monitor, now.monitored, now.mode, now.patience) == ("val_loss", "val_loss",
                                                                    "auto", 100)  # fmt: skip
    resumed_losses = history["val_loss"][3:]  # the oracle: the resumed epochs' own values
    best = int(np.argmin(resumed_losses))
    assert (now.best_of, now.best_mode) == ("val_loss", "min")
    assert (now.best_epoch, now.best) == (4 + best, resumed_losses[best])
    assert now.wait == len(resumed_losses) - 1 - best


def test_a_resume_with_another_monitor_is_what_fitting_the_same_trainer_again_does(tmp_path):
    """fit(3), change the monitor, fit(6) starts the best afresh (8fd9919); a resume from the
    first fit's checkpoint with the new monitor is that same continued run."""
    ds, val = _data(), _data(seed=1)
    stopper = EarlyStopping(patience=100, monitor="val_accuracy")
    again = _trainer(early_stopping=stopper)
    again.fit(ds, val, epochs=3)
    stopper.monitor = "val_loss"
    again.fit(ds, val, epochs=6)

    now = EarlyStopping(patience=100, monitor="val_loss")
    resumed, _ = _resumed_stopper(tmp_path, EarlyStopping(100, monitor="val_accuracy"), now)
    saved = ("monitored", "best_of", "best", "best_epoch", "wait")
    assert [getattr(now, k) for k in saved] == [getattr(stopper, k) for k in saved]
    for name, value in again.model.state_dict().items():  # the same best weights put back
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value)


def test_a_resume_with_the_other_mode_ranks_the_other_way_from_afresh(tmp_path):
    """mode='min' then, resumed, mode='max' on one measure: the old best (the lowest) was kept
    with the checkpoint's mode, so the resumed epochs were ranked lowest-first."""
    script = {1: 3.0, 2: 2.0, 3: 1.0, 4: 0.5, 5: 0.8, 6: 0.2}
    first = EarlyStopping(patience=100, monitor="score", mode="min")
    now = EarlyStopping(patience=100, monitor="score", mode="max")
    ds = _data()
    _trainer(early_stopping=first, callbacks=[_Scripted("score", script)],
             checkpoint_dir=tmp_path).fit(ds, epochs=3)  # fmt: skip
    resumed = _trainer(early_stopping=now, callbacks=[_Scripted("score", script)])
    resumed.resume(tmp_path)
    resumed.fit(ds, epochs=6)
    best_epoch = max(range(4, 7), key=script.get)  # the oracle: the highest resumed score
    assert now.mode == "max"
    assert (now.best_epoch, now.best, now.best_mode) == (best_epoch, script[best_epoch], "max")


def test_a_checkpoint_without_best_of_still_tells_what_its_best_is_of(tmp_path):
    """Checkpoints from before best_of / best_mode were recorded: the saved monitor and mode
    tell what the best is of, so another monitor now still starts it afresh."""
    ds, val = _data(), _data(seed=1)
    _trainer(early_stopping=EarlyStopping(100, monitor="val_accuracy"),
             checkpoint_dir=tmp_path).fit(ds, val, epochs=3)  # fmt: skip
    checkpoint = io.load_checkpoint(tmp_path)
    saved = checkpoint["state"]["callbacks"]["EarlyStopping"]
    saved.pop("best_of", None), saved.pop("best_mode", None)
    now = EarlyStopping(patience=100, monitor="val_loss")
    resumed = _trainer(early_stopping=now)
    resumed.load_state(checkpoint)
    history = resumed.fit(ds, val, epochs=6)
    assert now.monitored == "val_loss" and now.best == min(history["val_loss"][3:])


def test_a_finished_run_resumed_with_another_monitor_keeps_its_best(tmp_path):
    """Nothing left to train: the run's result, its best epoch's weights, is put back, not
    dropped for a measure no epoch was watched by."""
    ds, val = _data(), _data(seed=1)
    first = EarlyStopping(patience=100, monitor="val_accuracy")
    done = _trainer(early_stopping=first, checkpoint_dir=tmp_path)
    done.fit(ds, val, epochs=3)
    now = EarlyStopping(patience=100, monitor="val_loss")
    resumed = _trainer(early_stopping=now)
    resumed.resume(tmp_path)
    resumed.fit(ds, val, epochs=3)
    assert (now.best_epoch, now.best) == (first.best_epoch, first.best)
    for name, value in done.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value)


def test_a_saved_best_mode_that_is_no_direction_is_refused_naming_it(tmp_path):
    _trainer(early_stopping=EarlyStopping(100), checkpoint_dir=tmp_path).fit(_data(), epochs=1)
    checkpoint = io.load_checkpoint(tmp_path)
    checkpoint["state"]["callbacks"]["EarlyStopping"]["best_mode"] = "auto"
    with pytest.raises(io.ModelFileError, match="'best_mode' must be 'min' or 'max', not 'auto'"):
        _trainer(early_stopping=EarlyStopping(100)).load_state(checkpoint)


# -- 2. a schedule the checkpoint lacks starts at the resumed epoch ------------------------------


def _cosine(epoch: int, total: int = 6, low: float = 0.01) -> float:
    return low + (BASE_LR - low) * (1 + math.cos(math.pi * min(epoch, total) / total)) / 2


#: (a schedule on an optimizer, its learning rate at epoch e counting from 0, in closed form)
SCHEDULES = {
    "step": (lambda o: cr.optim.StepLR(o, step_size=2, gamma=0.5),
             lambda e: BASE_LR * 0.5 ** (e // 2)),
    "exponential": (lambda o: cr.optim.ExponentialLR(o, gamma=0.7),
                    lambda e: BASE_LR * 0.7**e),
    "cosine": (lambda o: cr.optim.CosineLR(o, total_epochs=6, min_lr=0.01), _cosine),
    "piecewise": (lambda o: cr.optim.PiecewiseSchedule(o, {0: {"lr": BASE_LR},
                                                           4: {"lr": 0.03}}),
                  lambda e: BASE_LR if e < 4 else 0.03),
}  # fmt: skip

#: what the first run of three epochs had: no schedule, another kind, or this one
FIRST_RUNS = ("none", "another kind", "the same")


def _first_schedule(first_run: str, schedule: str):
    if first_run == "none":
        return None
    if first_run == "another kind":
        other = "step" if schedule == "exponential" else "exponential"
        return SCHEDULES[other][0]
    return SCHEDULES[schedule][0]


def _learning_rates(tmp_path, first, now) -> dict[int, float]:
    """Each epoch's learning rate in three epochs with ``first``, resumed for three more with
    ``now``."""
    ds = _data()
    _trainer(schedule=first, batch_size=8, checkpoint_dir=tmp_path).fit(ds, epochs=3)
    watched = _Hyperparameters()
    resumed = _trainer(schedule=now, batch_size=8, callbacks=[watched])
    resumed.resume(tmp_path)
    resumed.fit(ds, epochs=6)
    return watched.lr


@pytest.mark.parametrize("first_run", FIRST_RUNS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_resumed_schedule_goes_on_from_the_resumed_epoch(tmp_path, schedule, first_run):
    make, closed_form = SCHEDULES[schedule]
    resumed = _learning_rates(tmp_path, _first_schedule(first_run, schedule), make)
    watched = _Hyperparameters()
    _trainer(schedule=make, batch_size=8, callbacks=[watched]).fit(_data(), epochs=6)
    assert watched.lr == pytest.approx({e: closed_form(e - 1) for e in range(1, 7)}, rel=1e-12)
    for epoch in (4, 5, 6):  # the uninterrupted run's, which is the closed form's
        assert resumed[epoch] == pytest.approx(watched.lr[epoch], rel=1e-12)


def test_a_schedule_added_on_resume_sets_every_hyperparameter_it_names(tmp_path):
    """A piecewise schedule's momentum, as the resumed epoch's milestone says."""
    ds = _data()
    _trainer(batch_size=8, checkpoint_dir=tmp_path).fit(ds, epochs=3)
    watched = _Hyperparameters()
    milestones = {0: {"lr": 0.05, "momentum": 0.9}, 5: {"lr": 0.02, "momentum": 0.3}}
    resumed = _trainer(batch_size=8, callbacks=[watched],
                       schedule=lambda o: cr.optim.PiecewiseSchedule(o, milestones))  # fmt: skip
    resumed.resume(tmp_path)
    resumed.fit(ds, epochs=6)
    expected = {e: milestones[0 if e - 1 < 5 else 5] for e in (4, 5, 6)}
    assert {e: (watched.lr[e], watched.momentum[e]) for e in expected} == {
        e: (s["lr"], s["momentum"]) for e, s in expected.items()
    }


def test_start_at_refuses_an_epoch_that_is_no_count_and_changes_nothing():
    net = cr.nn.mlp([3, 2], rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=BASE_LR)
    schedule = cr.optim.ExponentialLR(opt, gamma=0.5)
    schedule.start_at(2)
    assert (schedule.epoch, opt.lr) == (2, pytest.approx(BASE_LR * 0.25))
    for bad in (-1, 2.5, "x"):
        with pytest.raises(ConfigError, match=r"ExponentialLR\.start_at: epoch must be"):
            schedule.start_at(bad)
        assert (schedule.epoch, opt.lr) == (2, pytest.approx(BASE_LR * 0.25))
