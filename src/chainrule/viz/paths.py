"""Paths against dynamic programming, as a plot: the cost of summing every path to E one by one
against backprop's and forward mode's, layer by layer (log scale: the paths multiply with depth).
"""

from __future__ import annotations

import os
from typing import Any

from chainrule.errors import extras_needed_by
from chainrule.explainer.paths import counts
from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format


def plot_path_costs(sizes: Any, path: str | os.PathLike | None = None) -> Any:
    """A matplotlib Figure of the operations (multiplications + additions, per case) that each
    method needs for every dE/dy of each layer of a network of ``sizes`` (or of a derivation);
    saved as PNG at ``path`` (atomically) when given; a name with another suffix than .png is
    refused (ValueError) before anything is drawn. Uses the Agg backend: no display needed.

    >>> fig = plot_path_costs([2, 2, 3])  # doctest: +SKIP
    """
    with extras_needed_by("plot_path_costs"):  # matplotlib: the [app] extra
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

    if path is not None:
        saved_format("plot_path_costs", os.fspath(path), PNG_ONLY)
    if hasattr(sizes, "layers"):
        sizes = [record.size for record in sizes.layers]
    rows = counts(list(sizes))
    layers = [r["layer"] for r in rows]
    figure = Figure(figsize=(6.5, 4), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for key, label, style in (
        ("paths", "path by path", "o-"),
        ("backprop", "backprop", "s-"),
        ("forward", "forward mode", "^-"),
    ):
        ax.plot(layers, [r[f"{key}_mul"] + r[f"{key}_add"] for r in rows], style, label=label)
    ax.plot(layers, [r["paths_per_unit"] for r in rows], "k:", label="paths per unit")
    ax.set_yscale("log")
    ax.set_xticks(layers)
    ax.set_xlabel("layer (0 = inputs)")
    ax.set_ylabel("operations per case (log)")
    ax.set_title(f"dE/dy of every unit of a layer: {' x '.join(map(str, sizes))} network")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if path is not None:
        from chainrule.files import atomic_write_bytes

        atomic_write_bytes(path, png_bytes(figure))
    else:
        figure.tight_layout()
    return figure
