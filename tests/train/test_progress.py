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
