"""Training curves: loss and accuracy per epoch, on the training and validation sets, as a PNG."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from chainrule.errors import extras_needed_by

#: The folder, inside the directory the plots go to, that matplotlib keeps its configuration
#: and cache in where it has none of its own to write (:func:`matplotlib_folder_in`); a kill
#: leaves it as ``.tmp-matplotlib.*``, a temporary folder like any other there.
MATPLOTLIB_FOLDER = "matplotlib"


@contextlib.contextmanager
def matplotlib_folder_in(directory: str | os.PathLike) -> Iterator[None]:
    """Plots drawn inside have a folder matplotlib can write its configuration and cache in.

    matplotlib picks its folders when it is first imported: ``$MPLCONFIGDIR``, else (Linux)
    ``~/.config/matplotlib`` and ``~/.cache/matplotlib``. Where it cannot write one (no home, a
    read-only one, an ``MPLCONFIGDIR`` it cannot write), it makes a temporary folder in /tmp,
    saying so in a log line, and one a kill leaves there; where /tmp cannot be written either,
    its import fails. ``chainrule train`` then lost the run it had trained. So where matplotlib
    is not imported yet and a folder of its own could not be written, it is pointed
    (``MPLCONFIGDIR``) at a new temporary folder inside ``directory`` (written to anyway: the
    plots go there), removed at the end of the block, and ``MPLCONFIGDIR`` is put back. The
    process's matplotlib then keeps no cache: a plot drawn later in it works, its font cache
    is not saved; its font cache is built anew each time, and the line it logs where that takes
    over 5 seconds ("Matplotlib is building the font cache") is left out, as every run would
    say it. Where matplotlib has a folder it can write, or is imported already, nothing
    changes."""
    if "matplotlib" in sys.modules or _matplotlib_can_write_its_folders():
        yield
        return
    from chainrule.files import staging_dir

    folder = staging_dir(Path(directory) / MATPLOTLIB_FOLDER)
    given = os.environ.get("MPLCONFIGDIR")
    os.environ["MPLCONFIGDIR"] = str(folder)
    fonts = logging.getLogger("matplotlib.font_manager")  # the logger matplotlib's import gets
    fonts.addFilter(_no_font_cache_notice)
    try:
        yield
    finally:
        fonts.removeFilter(_no_font_cache_notice)
        if given is None:
            os.environ.pop("MPLCONFIGDIR", None)
        else:
            os.environ["MPLCONFIGDIR"] = given
        shutil.rmtree(folder, ignore_errors=True)


def _no_font_cache_notice(record: logging.LogRecord) -> bool:
    """Whether a log record of matplotlib's font manager is shown: not its notice that it is
    building the font cache, which a cache in a folder of its own is built once for."""
    return "building the font cache" not in str(record.msg)


def _matplotlib_can_write_its_folders() -> bool:
    """Whether matplotlib's import finds the folders it keeps its configuration and cache in
    writable, as it tells (``matplotlib._get_config_or_cache_dir``): ``$MPLCONFIGDIR`` if set,
    else on Linux and BSD ``$XDG_CONFIG_HOME`` and ``$XDG_CACHE_HOME`` (``~/.config``,
    ``~/.cache``), each with ``matplotlib`` added, elsewhere ``~/.matplotlib``; each is made if
    missing (as matplotlib makes it) and must be a folder it may write in. On Windows it is
    left to matplotlib (it looks in more places)."""
    if sys.platform == "win32":
        return True
    try:
        given = os.environ.get("MPLCONFIGDIR")
        if given:
            folders = [Path(given)]
        elif sys.platform.startswith(("linux", "freebsd")):
            folders = [
                Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config", "matplotlib"),
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "matplotlib"),
            ]
        else:
            folders = [Path.home() / ".matplotlib"]
        for folder in folders:
            folder = folder.resolve()
            folder.mkdir(parents=True, exist_ok=True)
            if not (os.access(folder, os.W_OK) and folder.is_dir()):
                return False
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return False
    return True


def plot_history(
    history: Any,
    path: str | os.PathLike,
    title: str | None = None,
    cases: dict[str, int] | None = None,
) -> Path:
    """Draw ``history``'s loss (left) and accuracy (right) per epoch and save a PNG at ``path``.

    ``history`` is a :class:`chainrule.train.History` or a list of its per-epoch dicts. The
    validation curves are drawn when the history has them; the accuracy panel is left out for
    regression (no accuracy). The file is written atomically. Uses matplotlib's Agg backend, so
    it needs no display. An empty history is refused (ValueError), and nothing is written.

    A loss that is NaN or inf (a run that diverged) is not dropped silently: its epochs are
    shaded red, the legend says "train loss not finite from epoch 3" (or at which epochs), and
    the epoch axis runs to the last epoch; a panel with no finite value at all says so.

    ``cases``: for a loss that is a sum over the cases (the lecture's E), how many cases each
    sum ran over (``{"loss": 1258, "val_loss": 180}``): the panel then draws each sum divided by
    its cases, "loss per case", so training and validation compare (drawn as sums, a
    validation set 7x smaller looked 7x better when it was worse per case).
    """
    with extras_needed_by("plot_history"):  # matplotlib: the [app] extra
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

    from chainrule.files import atomic_write_bytes
    from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format

    saved_format("plot_history", os.fspath(path), PNG_ONLY)
    records = _checked(list(history))
    epochs = [r["epoch"] for r in records]
    has_accuracy = any(r.get("accuracy") is not None for r in records)
    figure = Figure(figsize=(10 if has_accuracy else 5.5, 4), dpi=100)
    FigureCanvasAgg(figure)  # the Agg canvas, chosen explicitly: no GUI backend is touched
    axes = figure.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
    if cases:  # sums over sets of different sizes: drawn per case
        records = [_per_case(r, cases) for r in records]
    _panel(axes[0], epochs, records, "loss", "loss per case (E / cases)" if cases else "loss")
    if has_accuracy:
        _panel(axes[1], epochs, records, "accuracy", "accuracy")
        axes[1].set_ylim(-0.02, 1.02)
    if title:
        figure.suptitle(title)
    return atomic_write_bytes(path, png_bytes(figure))


def _per_case(record: dict, cases: dict[str, int]) -> dict:
    """``record`` with each summed loss divided by the cases it was summed over."""
    out = dict(record)
    for key, n in cases.items():
        if out.get(key) is not None and n:
            out[key] = out[key] / n
    return out


def _checked(records: list[Any]) -> list[dict]:
    """The epochs' records, each with a whole-number epoch and numbers (or None) to plot; else
    ValueError naming the record (a bare KeyError: 'epoch', or matplotlib's TypeError)."""
    from chainrule.checks import is_integer, is_real

    if not records:
        raise ValueError("plot_history: no epochs to plot (the history is empty)")
    for k, record in enumerate(records):
        if not isinstance(record, dict) or not is_integer(record.get("epoch")):
            raise ValueError(
                f"plot_history: record {k} must be a dict with a whole-number 'epoch', "
                f"not {record!r}"
            )
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            value = record.get(key)
            if value is not None and not is_real(value):
                raise ValueError(
                    f"plot_history: record {k} (epoch {record['epoch']}) has {key}={value!r}, "
                    "not a number"
                )
    return records


def _panel(ax: Any, epochs: list[int], records: list[dict], key: str, label: str) -> None:
    curve(ax, epochs, [r.get(key) for r in records], f"train {label}")
    val = [r.get(f"val_{key}") for r in records]
    if any(v is not None for v in val):
        curve(ax, epochs, val, f"validation {label}")
    epoch_ticks(ax, epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    given = [v for r in records for v in (r.get(key), r.get(f"val_{key}")) if v is not None]
    drawn = [v for v in given if math.isfinite(v)]
    if key == "loss" and log_scale(given):
        ax.set_yscale("log")
    if not drawn:  # nothing to draw: say why, not an empty panel with a made-up scale
        why = "is not finite (NaN or inf) in any epoch" if given else "is in no epoch's record"
        ax.text(0.5, 0.5, f"{label} {why}", transform=ax.transAxes, ha="center", va="center",
                color="#b00020")  # fmt: skip
        ax.set_yticks([])
    ax.grid(True, alpha=0.3)
    ax.legend()


def log_scale(values: Iterable[float | None]) -> bool:
    """Whether losses ``values`` are drawn on a log axis: every finite one (None, NaN and inf
    left out) is positive, and there is one. The rule of every loss curve (:func:`plot_history`,
    the notebook's ``history_svg``): a loss falling from 1 to 1e-6 is a line, not a corner."""
    drawn = [v for v in values if v is not None and math.isfinite(v)]
    return bool(drawn) and all(v > 0 for v in drawn)


def epoch_ticks(ax: Any, epochs: list[int]) -> None:
    """Whole-number epoch ticks on ``ax``'s x axis; one epoch: a tick at it (MaxNLocator finds no
    two whole numbers in the padded range around one point and writes fractions)."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    ax.xaxis.set_major_locator(
        FixedLocator(epochs) if len(epochs) == 1 else MaxNLocator(integer=True)
    )


def curve(ax: Any, epochs: list[int], values: list[float | None], label: str, **style: Any) -> Any:
    """A line through ``values`` (None or NaN: a gap), with a marker on each finite value that
    has no finite neighbour: a line through one point draws nothing. Epochs whose value is NaN
    or inf (not None: an epoch with no validation) are shaded and named in the legend
    (:func:`mark_not_finite`). ``style`` goes to ``ax.plot`` (a colour, a linestyle); returns
    the line."""
    ys = [float("nan") if v is None else v for v in values]
    finite = [math.isfinite(v) for v in ys]
    alone = [
        i
        for i, ok in enumerate(finite)
        if ok and not (i > 0 and finite[i - 1]) and not (i + 1 < len(ys) and finite[i + 1])
    ]
    (line,) = ax.plot(
        epochs, ys, label=label, marker="o" if alone else "", markevery=alone or None, **style
    )
    bad = [v is not None and not ok for v, ok in zip(values, finite)]
    mark_not_finite(ax, epochs, bad, label)
    return line


def epochs_text(epochs: list[int], where: list[int]) -> str:
    """The epochs at positions ``where`` of ``epochs``, for a legend: "from epoch 3" when they
    run to the last, else "at epochs 2, 5" (six at most, then "...")."""
    if where == list(range(where[0], len(epochs))):
        return f"from epoch {epochs[where[0]]}"
    shown = ", ".join(str(epochs[k]) for k in where[:6]) + (", ..." if len(where) > 6 else "")
    return f"at epoch{'s' * (len(where) > 1)} {shown}"


def mark_not_finite(ax: Any, epochs: list[int], bad: list[bool], label: str) -> None:
    """Shade the epochs flagged ``bad`` (each run of them, reaching halfway to its recorded
    neighbours), one legend entry for all. ``axvspan`` spans x in data units, so the epoch axis
    reaches the last epoch even where no finite value is drawn (a NaN point sets no limits)."""
    where = [k for k, flag in enumerate(bad) if flag]
    if not where:
        return
    text = f"{label} not finite {epochs_text(epochs, where)}"
    for k in where:
        lo = (epochs[k - 1] + epochs[k]) / 2 if k > 0 else epochs[k] - 0.5
        hi = (epochs[k] + epochs[k + 1]) / 2 if k + 1 < len(epochs) else epochs[k] + 0.5
        ax.axvspan(lo, hi, color="#b00020", alpha=0.12, lw=0, label=text if k == where[0] else None)
