"""Weights as Hinton diagrams: a square per weight, white for positive, black for negative, its
area proportional to the weight's size, on a grey ground (as RHW 1986 draw them).

:func:`plot_person_units` draws Figure 4 of Rumelhart, Hinton & Williams (1986): for each unit
that encodes a person in the family-trees network, its weights from the 24 people, English in
the top row and Italian in the bottom row, each in the order of the tree, so that the i-th
Italian sits under the i-th English person they correspond to.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.backend import to_numpy
from chainrule.checks import first_non_finite
from chainrule.errors import extras_needed_by
from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format


def _finite(what: str, weights: np.ndarray) -> None:
    """Refuse a weight that is NaN or infinite, naming ``what`` and the first such entry: one
    NaN made every square NaN (the diagram blank, read as all zero), one inf every other square
    nothing."""
    found = first_non_finite(weights)
    if found is not None:
        others = int(np.count_nonzero(~np.isfinite(weights))) - 1
        more = f" (and {others} more not finite)" if others else ""
        raise ValueError(
            f"{what}: weights[{', '.join(map(str, found))}] is {float(weights[found])}{more}; "
            "a Hinton diagram needs finite weights"
        )


def hinton(ax: Any, matrix: np.ndarray, max_weight: float | None = None) -> None:
    """Draw ``matrix`` (rows top to bottom) on matplotlib axes as a Hinton diagram.

    ``max_weight`` is the size that fills a whole cell (default: the largest |weight|). A NaN or
    infinite weight (or ``max_weight``) is refused (ValueError naming it).
    """
    from matplotlib.patches import Rectangle

    matrix = np.asarray(to_numpy(matrix), dtype=float)  # any library or device: to the host
    _finite("hinton", matrix)
    if max_weight is not None and not np.isfinite(max_weight):
        raise ValueError(f"hinton: max_weight is {float(max_weight)}; it must be a finite number")
    biggest = float(max_weight or np.abs(matrix).max() or 1.0)
    rows, cols = matrix.shape
    ax.set_facecolor("0.55")
    for (i, j), w in np.ndenumerate(matrix):
        side = np.sqrt(min(abs(w) / biggest, 1.0)) * 0.9
        ax.add_patch(
            Rectangle((j - side / 2, i - side / 2), side, side, color="white" if w > 0 else "black")
        )
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_person_units(
    weights: np.ndarray,
    path: str | os.PathLike,
    people: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Figure 4 of RHW 1986: each person-encoding unit's weights from the 24 people.

    ``weights`` is (24, n_units), rows in the order of ``people`` (default: the dataset's
    order, the 12 English in tree order, then the 12 Italians who correspond to them). One
    panel per unit, English above, Italian below, all on one scale. Writes a PNG atomically
    and returns its path; a name with another suffix than .png, or a NaN or infinite weight, is
    refused (ValueError) before anything is written.
    """
    with extras_needed_by("plot_person_units"):  # matplotlib: the [app] extra
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

    from chainrule.data.family_trees import PEOPLE
    from chainrule.files import atomic_write_bytes

    saved_format("plot_person_units", os.fspath(path), PNG_ONLY)
    weights = np.asarray(to_numpy(weights), dtype=float)
    people = list(PEOPLE if people is None else people)
    if weights.ndim != 2 or weights.shape[0] != len(people) or len(people) % 2:
        raise ValueError(
            f"plot_person_units: weights must be (people, units) with an even number of people "
            f"({len(people)}), got shape {weights.shape}"
        )
    _finite("plot_person_units", weights)
    half = len(people) // 2
    n_units = weights.shape[1]
    n_cols = 2 if n_units > 1 else 1
    n_rows = -(-n_units // n_cols)
    figure = Figure(figsize=(6.5 * n_cols, 2.5 * n_rows + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    biggest = float(np.abs(weights).max()) or 1.0
    for unit in range(n_rows * n_cols):
        ax = axes[unit // n_cols][unit % n_cols]
        if unit >= n_units:
            ax.set_visible(False)
            continue
        hinton(ax, weights[:, unit].reshape(2, half), biggest)
        ax.set_ylabel(f"unit {unit + 1}", fontsize=9)
        ax.set_xticks(range(half))
        ax.set_xticklabels(people[:half], rotation=90, fontsize=6)
        ax.tick_params(axis="x", top=True, labeltop=True, bottom=True, labelbottom=False)
        ax.secondary_xaxis("bottom").set_xticks(
            range(half), labels=people[half:], rotation=90, fontsize=6
        )
    units = f"{n_units} person-encoding unit{'s' * (n_units != 1)}"
    figure.suptitle(title or f"weights from the {len(people)} people to the {units}")
    return atomic_write_bytes(path, png_bytes(figure))
