"""A ProgressBar passed in ``callbacks=`` was never stopped when fit raised (a divergence, a
callback's error, Ctrl-C): only the trainer's own bar was closed, so rich's refresh thread went
on drawing and ``sys.stdout`` stayed rich's proxy, swallowing every later print into the bar's
console."""

from __future__ import annotations

import io
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

rich_console = pytest.importorskip("rich.console")


def _bar() -> cr.train.ProgressBar:
    console = rich_console.Console(file=io.StringIO(), force_terminal=True, width=120)
    return cr.train.ProgressBar(console=console)


def _diverging_trainer(bar: cr.train.ProgressBar) -> tuple[cr.train.Trainer, cr.data.Dataset]:
    rng = np.random.default_rng(0)
    ds = cr.data.Dataset(
        rng.normal(size=(64, 4)) * 1e3, rng.normal(size=(64, 1)) * 1e6, "regression"
    )
    net = nn.mlp([4, 8, 1], output=None, rng=0)
    sgd = optim.SGD(net.parameters(), lr=10.0)
    trainer = cr.train.Trainer(net, nn.MSE(), sgd, batch_size=16, progress=False, callbacks=[bar])
    return trainer, ds


def test_a_bar_given_in_callbacks_stops_when_fit_raises() -> None:
    threads, stdout = set(threading.enumerate()), sys.stdout
    bar = _bar()
    trainer, ds = _diverging_trainer(bar)
    with pytest.raises(cr.train.TrainingDiverged), np.errstate(over="ignore"):
        trainer.fit(ds, epochs=50)
    assert bar._progress is None
    assert sys.stdout is stdout
    for thread in set(threading.enumerate()) - threads:  # rich's refresh thread: stopped, so
        thread.join(timeout=10)  # it ends at its next wake-up (rich does not join it)
        assert not thread.is_alive(), thread.name


def test_a_bar_left_drawing_is_stopped_when_the_next_fit_starts() -> None:
    """Its fit's error caught outside the trainer (on_fit_start twice, no close between)."""
    bar = _bar()
    trainer, _ = _diverging_trainer(bar)
    trainer.epochs, trainer.batches_per_epoch = 2, 4
    bar.on_fit_start(trainer)
    first = bar._progress
    bar.on_fit_start(trainer)
    try:
        assert not first.live.is_started
    finally:
        bar.close()
    assert bar._progress is None


def test_a_bar_whose_close_fails_leaves_the_fits_own_error() -> None:
    """A subclass's close without ``clear`` raised TypeError over the divergence."""

    class OwnClose(cr.train.ProgressBar):
        def close(self):  # noqa: D102 - a user's override, without clear
            super().close()

    bar = OwnClose(console=rich_console.Console(file=io.StringIO(), force_terminal=True))
    trainer, ds = _diverging_trainer(bar)
    with pytest.raises(cr.train.TrainingDiverged), np.errstate(over="ignore"):
        trainer.fit(ds, epochs=50)
    bar.close()
