"""Ctrl-C between two steps of an epoch (a notebook's interrupt): the message said "a fit again
starts epoch N afresh", but a fit again keeps the steps already taken in that epoch, the
optimizer's state and the generators as they are, and trains the epoch again from its first
batch on top of them: not the uninterrupted run. What the message says is checked here against
what a fit again does, and against what a resume from the last checkpoint does."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.data import Dataset
from chainrule.train import Callback, Trainer


def _blobs() -> Dataset:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 4)).astype(np.float32) + 2.0 * np.eye(4, dtype=np.float32)[y]
    return Dataset(X=X, y=y, task="classification", name="blobs")


class _CtrlC(Callback):
    """A real SIGINT after the third step of epoch 2 (the trainer stops before the fourth)."""

    def __init__(self) -> None:
        self.sent = False

    def on_batch_end(self, trainer, batch, loss):
        if trainer.epoch == 1 and batch == 2 and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def _trainer(checkpoint_dir, *callbacks) -> Trainer:
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Dropout(0.3, rng=1),
                          nn.Linear(8, 3, rng=2))  # fmt: skip
    return Trainer(model, nn.CrossEntropy(), optim.Adam(model, lr=0.01), batch_size=10,
                   checkpoint_dir=checkpoint_dir, callbacks=callbacks, progress=False)  # fmt: skip


def _interrupted(checkpoint_dir) -> tuple[Trainer, str]:
    ctrl_c = _CtrlC()
    trainer = _trainer(checkpoint_dir, ctrl_c)
    with pytest.raises(KeyboardInterrupt) as stopped:
        trainer.fit(_blobs(), epochs=3)
    trainer.callbacks.remove(ctrl_c)
    return trainer, str(stopped.value)


def _assert_same(a, b) -> None:
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[name], err_msg=name)


def test_the_message_says_what_a_fit_again_does(tmp_path):
    whole = _trainer(tmp_path / "whole")
    whole.fit(_blobs(), epochs=3)
    trainer, message = _interrupted(tmp_path / "cut")
    assert "afresh" not in message
    assert "after 3 of its batches" in message and "history ends at epoch 1" in message
    assert "A fit again trains epoch 2 again from its first batch, on top of those 3 steps" in (
        message
    )
    assert "not the run an uninterrupted fit makes" in message
    last = trainer.last_checkpoint  # epoch 1's, the last complete one
    assert last == tmp_path / "cut" / "epoch-000001"
    assert f"resume from the last checkpoint, {last}" in message
    # what it says a fit again does: 6 steps, 3 of epoch 2, then 6 for each of epochs 2 and 3
    trainer.fit(_blobs(), epochs=3)
    assert trainer.optimizer.steps == [6 + 3 + 6 + 6] * 4 and trainer.epoch == 3
    assert len(trainer.history) == 3
    assert not np.array_equal(trainer.model[0].weight.data, whole.model[0].weight.data)
    # and what it says a resume from the last checkpoint does: the uninterrupted run
    again, _ = _interrupted(tmp_path / "again")
    again.resume(again.last_checkpoint)
    again.fit(_blobs(), epochs=3)
    assert again.optimizer.steps == [18] * 4
    _assert_same(again.model, whole.model)


def test_without_checkpoints_the_message_says_how_to_have_them(tmp_path):
    _, message = _interrupted(None)
    assert "not the run an uninterrupted fit makes" in message
    assert "checkpoint_dir=" in message and "resume" in message
