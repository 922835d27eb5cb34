"""The progress bar is a nicety: training works, and reports, without rich installed."""

import sys

import numpy as np
import pytest

from chainrule import nn, optim, train
from chainrule.data import Dataset

RICH_MODULES = ("rich", "rich.console", "rich.progress", "rich.live")


@pytest.fixture
def without_rich(monkeypatch):
    """Make ``import rich`` (and its submodules) fail, as on an install without the extra."""
    for name in list(sys.modules):
        if name == "rich" or name.startswith("rich."):
            monkeypatch.delitem(sys.modules, name)
    for name in RICH_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: ImportError
    with pytest.raises(ImportError):
        import rich.progress  # noqa: F401


def _problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    return Dataset(X=X, y=y, task="classification", name="halves")


def test_fit_without_rich_prints_plain_lines(without_rich, capsys):
    model = nn.mlp([2, 4, 2], rng=0)
    history = train.fit(
        model, nn.CrossEntropy(), optim.SGD(model.parameters(), lr=0.5), _problem(),
        epochs=3, batch_size=10, seed=0, progress=True,
    )  # fmt: skip
    assert len(history) == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "loss" in lines[-1]
    assert lines[0].split()[1] == "1" and lines[-1].split()[1] == "3"


def _drawn_lines(width: int | None, printer: bool = False, epochs: int = 3) -> list[str]:
    """The lines a run of ``epochs`` draws on a console ``width`` columns wide (None: a pipe,
    or a notebook's cell)."""
    import io
    import re

    from rich.console import Console

    buffer = io.StringIO()
    terminal = width is not None
    console = Console(file=buffer, width=width or 80, force_terminal=terminal, color_system=None)
    model = nn.mlp([2, 4, 2], rng=0)
    callbacks = [train.EpochPrinter(stream=buffer)] if printer else []
    trainer = train.Trainer(
        model, nn.CrossEntropy(), optim.SGD(model.parameters(), lr=0.5), batch_size=10,
        callbacks=callbacks, progress=False,
    )  # fmt: skip
    trainer.callbacks.append(train.ProgressBar(console))
    trainer.fit(_problem(), _problem(), epochs=epochs)
    text = buffer.getvalue().replace("\x1b[2K", "")
    text = re.sub(r"\x1b\[\?25[hl]", "", text)  # the cursor's hide and show
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


@pytest.mark.parametrize("width", [80, 120])
def test_the_bar_keeps_its_count_and_time_left_within_the_terminal(width):
    lines = _drawn_lines(width)
    last = lines[-1]
    assert all(len(line) <= width for line in lines)
    assert last.startswith("epoch 3/3 ━") and " 9/9 " in last and " left" in last
    assert "…" not in last.split("left")[0]  # the bar, the count and the time are never cut
    assert ("loss" in last) == (width >= train.ProgressBar.WIDE)  # metrics only where they fit


def test_piped_output_gets_plain_epoch_lines_only():
    lines = _drawn_lines(None)
    assert [line.split()[:2] for line in lines] == [["epoch", "1"], ["epoch", "2"], ["epoch", "3"]]
    assert not any("━" in line for line in lines)
    # with an EpochPrinter already printing lines (as chainrule train has), none are repeated
    assert len(_drawn_lines(None, printer=True)) == 3


def test_without_a_terminal_a_long_run_prints_about_ten_lines():
    """A notebook's cell (not a terminal to rich) got a line per epoch: 500 for 500 epochs."""
    lines = _drawn_lines(None, epochs=95)
    assert [int(line.split()[1]) for line in lines] == [*range(9, 95, 9), 95]


def test_a_finished_run_draws_no_bar():
    """Fitting a run that stopped early trains nothing, so it draws nothing either."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True, color_system=None)
    model = nn.mlp([2, 4, 2], rng=0)
    trainer = train.Trainer(model, nn.CrossEntropy(), optim.SGD(model.parameters(), lr=0.5),
                            batch_size=10, progress=False)  # fmt: skip
    trainer.callbacks.append(train.ProgressBar(console))
    trainer.stopped_early = True
    trainer.fit(_problem(), epochs=3)
    assert trainer.epoch == 0 and "epoch" not in buffer.getvalue()
