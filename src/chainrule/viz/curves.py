"""Training curves: loss and accuracy per epoch, on the training and validation sets, as a PNG."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any


def plot_history(history: Any, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw ``history``'s loss (left) and accuracy (right) per epoch and save a PNG at ``path``.

    ``history`` is a :class:`chainrule.train.History` or a list of its per-epoch dicts. The
    validation curves are drawn when the history has them; the accuracy panel is left out for
    regression (no accuracy). The file is written atomically. Uses matplotlib's Agg backend, so
    it needs no display.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from chainrule.files import atomic_write_bytes

    records = list(history)
    epochs = [r["epoch"] for r in records]
    has_accuracy = any(r.get("accuracy") is not None for r in records)
    figure = Figure(figsize=(10 if has_accuracy else 5.5, 4), dpi=100)
    FigureCanvasAgg(figure)  # the Agg canvas, chosen explicitly: no GUI backend is touched
    axes = figure.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
    _panel(axes[0], epochs, records, "loss", "loss")
    if has_accuracy:
        _panel(axes[1], epochs, records, "accuracy", "accuracy")
        axes[1].set_ylim(-0.02, 1.02)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())


def _panel(ax: Any, epochs: list[int], records: list[dict], key: str, label: str) -> None:
    ax.plot(epochs, [r.get(key) for r in records], label=f"train {label}")
    val = [r.get(f"val_{key}") for r in records]
    if any(v is not None for v in val):
        ax.plot(
            epochs, [float("nan") if v is None else v for v in val], label=f"validation {label}"
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    if key == "loss" and all(r.get(key) is not None and r[key] > 0 for r in records):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
