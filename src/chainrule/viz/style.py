"""What every drawing shares: the colour convention and label boxes that do not overlap.

The colours are the explorer page's (``web/static/style.css``: ``--pos`` and ``--neg``): positive
numbers orange, negative blue, a diverging scale that reads the same in every view. The label
boxes are estimated conservatively (0.62 em per character, a line's full height), so a label
placed where its box is free is free on the page too, and a label is kept off the drawn lines
as well as the boxes (a number written across an edge cannot be read, and seems to belong to it).
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Positive numbers (the page's --pos: 4.5:1 or more on white, as text).
POSITIVE = "#a94700"
#: Negative numbers (the page's --neg).
NEGATIVE = "#1a6aa0"
#: Lines and text that carry no sign.
NEUTRAL = "#555555"


def sign_colour(value: float | None) -> str:
    """Orange for a positive number, blue for a negative one, grey for zero or none."""
    if value is None or value == 0:
        return NEUTRAL
    return POSITIVE if value > 0 else NEGATIVE


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def inside(self, other: Box) -> bool:
        """Whether this box lies wholly within ``other`` (a label on the canvas)."""
        return (
            other.x <= self.x
            and self.x + self.w <= other.x + other.w
            and other.y <= self.y
            and self.y + self.h <= other.y + other.h
        )


def segment_crosses(box: Box, x1: float, y1: float, x2: float, y2: float, gap: float = 1.0) -> bool:
    """Whether the segment from (x1, y1) to (x2, y2) passes through ``box`` grown by ``gap`` on
    every side (Liang-Barsky: clip the segment's parameter range to the box's four sides)."""
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for p, q in (
        (-dx, x1 - (box.x - gap)),
        (dx, box.x + box.w + gap - x1),
        (-dy, y1 - (box.y - gap)),
        (dy, box.y + box.h + gap - y1),
    ):
        if p == 0:
            if q < 0:  # parallel to this side and wholly outside it
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def text_box(x: float, y: float, text: str, size: float, anchor: str = "start") -> Box:
    """The box an SVG ``<text x y font-size text-anchor>`` takes at most (baseline at y)."""
    width = 0.62 * size * len(text)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, y - 0.9 * size, width, 1.2 * size)


#: How far (px) a label keeps from a blocked line: a 2-px stroke, and a hair of white beside it.
LINE_GAP = 2.0


def segments_crossing(boxes: Any, segments: Any, gap: float = LINE_GAP) -> Any:
    """Which of ``segments`` ((m, 4): x1, y1, x2, y2) pass within ``gap`` of each of
    ``boxes`` ((n, 4): left, top, right, bottom), (n, m): :func:`segment_crosses` for every pair
    at once (a 40-edge diagram weighs thousands of spots). The part of a segment between a
    box's top and bottom is one run of x (:func:`segment_runs`); the segment crosses the box
    where that run meets the box's columns (:func:`runs_meet`)."""
    boxes, segments = boxes[:, None, :], segments[None, :, :]
    low, high = segment_runs(boxes[..., 1], boxes[..., 3], segments, gap)
    return runs_meet(low, high, boxes[..., 0], boxes[..., 2], gap)


def segment_runs(top: Any, bottom: Any, segments: Any, gap: float = LINE_GAP) -> tuple[Any, Any]:
    """The run of x that each of ``segments`` (..., 4) takes between ``top - gap`` and
    ``bottom + gap`` (all three broadcast): its least and greatest x, or inf and -inf where it
    does not reach the band. Boxes that share a top and bottom (a label moved sideways) share
    the runs: :func:`runs_meet` gives each box's crossings from them."""
    top, bottom = top - gap, bottom + gap
    x1, y1, x2, y2 = (segments[..., n] for n in range(4))
    flat = y1 == y2  # never an edge between two layers; a horizontal segment all the same
    rise = np.where(flat, 1.0, y2 - y1)
    ta, tb = (top - y1) / rise, (bottom - y1) / rise
    low = np.where(flat, 0.0, np.maximum(np.minimum(ta, tb), 0.0))
    high = np.where(flat, 1.0, np.minimum(np.maximum(ta, tb), 1.0))
    within = np.where(flat, (top <= y1) & (y1 <= bottom), low <= high)
    xa, xb = x1 + (x2 - x1) * low, x1 + (x2 - x1) * high
    return (
        np.where(within, np.minimum(xa, xb), np.inf),
        np.where(within, np.maximum(xa, xb), -np.inf),
    )


def runs_meet(low: Any, high: Any, left: Any, right: Any, gap: float = LINE_GAP) -> Any:
    """Whether runs of x from ``low`` to ``high`` (:func:`segment_runs`) come within ``gap`` of
    the columns from ``left`` to ``right`` (boxes' sides), all broadcast."""
    return (high >= left - gap) & (low <= right + gap)


def boxes_apart(a: Any, b: Any, gap: float = 1.0) -> Any:
    """Whether boxes ``a`` and ``b`` (..., 4: left, top, right, bottom; broadcast) are at least
    ``gap`` apart, as :meth:`Placer.free` keeps a label from a box."""
    return (
        (a[..., 2] + gap <= b[..., 0])
        | (b[..., 2] + gap <= a[..., 0])
        | (a[..., 3] + gap <= b[..., 1])
        | (b[..., 3] + gap <= a[..., 1])
    )


#: How many boxes in a row Placer.free_all tests first as one, the box around them.
_RUN = 16
#: How each corner of the box around boxes comes from theirs: left, top, right, bottom.
_AROUND = (np.minimum, np.minimum, np.maximum, np.maximum)

#: The side (px) of the grid cells a Placer files what it holds in: a label is checked against
#: the boxes and lines of the cells it covers, not against all of them (a graph of 1000 tensors).
_CELL = 64.0


class Placer:
    """Places labels one by one where their boxes are free of everything placed so far (boxes
    and, given with :meth:`block_line`, drawn lines), and, given ``bounds`` (the canvas), wholly
    on it: an end-anchored label near the left edge started at a negative x, its first letters
    cut off."""

    def __init__(self, bounds: Box | None = None) -> None:
        self.bounds = bounds
        # per grid cell, what lies in it: its bounding box (left, top, right, bottom), the
        # cheap test that rules most things out, then None for a box or a line segment's ends
        self._cells: dict[tuple[int, int], list[tuple]] = {}
        # every box blocked, (left, top, right, bottom), and how many lines: free_all's
        self._boxes: list[tuple[float, float, float, float]] = []
        self._lines = 0

    def block(self, box: Box) -> None:
        """Mark ``box`` (a node, a circle's square) as taken."""
        item = (box.x, box.y, box.x + box.w, box.y + box.h, None)
        self._file(item)
        self._boxes.append(item[:4])

    def block_line(self, points: list[tuple[float, float]]) -> None:
        """Mark the polyline through ``points`` (an edge, a curve sampled) as taken: no label
        is placed across it."""
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            item = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), (x1, y1, x2, y2))
            self._file(item, _cells_along(x1, y1, x2, y2))
            self._lines += 1

    def _file(self, item: tuple, cells: Iterable[tuple[int, int]] | None = None) -> None:
        """File ``item`` once in each cell it reaches (``cells``; a box: those it covers)."""
        for cell in _cells_of(*item[:4]) if cells is None else cells:
            self._cells.setdefault(cell, []).append(item)

    def _near(self, box: Box) -> Iterator[tuple]:
        """What is filed in the cells ``box`` covers, each thing once (a line up a column of
        cells is filed in each)."""
        cells = _cells_of(box.x, box.y, box.x + box.w, box.y + box.h)
        if len(cells) == 1:
            yield from self._cells.get(cells[0], ())
            return
        seen = set()
        for cell in cells:
            for item in self._cells.get(cell, ()):
                if id(item) not in seen:
                    seen.add(id(item))
                    yield item

    def free(self, box: Box) -> bool:
        if self.bounds is not None and not box.inside(self.bounds):
            return False
        left, top, right, bottom = box.x, box.y, box.x + box.w, box.y + box.h
        for x1, y1, x2, y2, segment in self._near(box):
            # apart by at least ``gap`` (inline: this loop is most of a large graph's time)
            gap = 1.0 if segment is None else LINE_GAP + 1
            if right + gap <= x1 or x2 + gap <= left or bottom + gap <= y1 or y2 + gap <= top:
                continue
            if segment is None or segment_crosses(box, *segment, LINE_GAP):
                return False
        return True

    def free_all(self, corners: Any) -> Any:
        """:meth:`free` for each of ``corners`` ((n, 4): left, top, right, bottom) at once, each
        read as the Box from them (right - left wide, never negative): the same answers, a few
        array ops rather than a Python call for each label (a diagram weighs thousands). Boxes
        given near their neighbours (a label's spots along its edge) go fastest: each run of
        them is tested first as the one box around it."""
        left, top = corners[:, 0], corners[:, 1]
        width, height = corners[:, 2] - left, corners[:, 3] - top
        # as free reads a Box: x + w, which need not be the corner it came from
        mine = np.stack([left, top, left + width, top + height], axis=-1)
        free = np.ones(len(mine), dtype=bool)
        if self.bounds is not None:
            b = self.bounds
            free = (
                (b.x <= mine[:, 0]) & (mine[:, 2] <= b.x + b.w)
                & (b.y <= mine[:, 1]) & (mine[:, 3] <= b.y + b.h)
            )  # fmt: skip
        if self._boxes and len(mine):
            placed = np.array(self._boxes)
            starts = np.arange(0, len(mine), _RUN)
            runs = np.stack([f.reduceat(mine[:, n], starts) for n, f in enumerate(_AROUND)], -1)
            # apart from the box around a run: apart from each in it (sums round monotonically)
            run, item = np.nonzero(~boxes_apart(runs[:, None], placed))
            box = run[:, None] * _RUN + np.arange(_RUN)
            there = box < len(mine)
            box, item = box[there], np.broadcast_to(item[:, None], there.shape)[there]
            free[box[~boxes_apart(mine[box], placed[item])]] = False
        if self._lines:  # a line's own test, one box at a time: only where the boxes left room
            for k in np.flatnonzero(free):
                free[k] = self.free(Box(*(float(v[k]) for v in (left, top, width, height))))
        return free

    def clear(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        """Whether the segment from (x1, y1) to (x2, y2) meets no box, label or line."""
        span = Box(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
        for left, top, right, bottom, segment in self._near(span):
            if right < span.x or span.x + span.w < left or bottom < span.y or span.y + span.h < top:
                continue
            if segment is None:
                if segment_crosses(Box(left, top, right - left, bottom - top), x1, y1, x2, y2, 0):
                    return False
            elif _segments_meet((x1, y1, x2, y2), segment):
                return False
        return True

    def clutter(self, box: Box) -> float:
        """How much of what is placed ``box`` would cover: the area it shares with each box
        and label, and its whole area again for each line it crosses (a mark written across an
        edge seems to belong to it); off the canvas, infinite."""
        if self.bounds is not None and not box.inside(self.bounds):
            return math.inf
        left, top, right, bottom = box.x, box.y, box.x + box.w, box.y + box.h
        total = 0.0
        for x1, y1, x2, y2, segment in self._near(box):
            if segment is None:
                total += max(0.0, min(right, x2) - max(left, x1)) * max(
                    0.0, min(bottom, y2) - max(top, y1)
                )
            elif segment_crosses(box, *segment, LINE_GAP):
                total += box.w * box.h
        return total

    def place(
        self, candidates: Iterable[tuple], text: str | list[str], size: float
    ) -> tuple[float, float, str] | None:
        """The first (x, y, anchor) of ``candidates`` where the label fits (a list of texts is
        a block of lines, one below the other); None if none does. A candidate may carry a
        fourth item, a segment (x1, y1, x2, y2) that must meet nothing placed (:meth:`clear`):
        the way from a label set off from its edge to the edge (another line there, and the
        label reads as that line's)."""
        lines = [text] if isinstance(text, str) else text
        for x, y, anchor, *tether in candidates:
            boxes = [
                text_box(x, y + k * line_height(size), t, size, anchor) for k, t in enumerate(lines)
            ]
            if all(self.free(box) for box in boxes) and all(self.clear(*t) for t in tether):
                for box in boxes:
                    self.block(box)
                return x, y, anchor
        return None

    def place_best(
        self, candidates: list[tuple], text: str, size: float
    ) -> tuple[float, float, str]:
        """The first of ``candidates`` where the label fits, else the one where it covers
        least (:meth:`clutter`): a mark that must go somewhere, beside its edge rather than
        on it."""
        spot = self.place(candidates, text, size)
        if spot is not None:
            return spot
        x, y, anchor, *_ = min(
            candidates, key=lambda c: self.clutter(text_box(c[0], c[1], text, size, c[2]))
        )
        self.block(text_box(x, y, text, size, anchor))
        return x, y, anchor


def _segments_meet(a: tuple, b: tuple) -> bool:
    """Whether two segments (x1, y1, x2, y2) whose bounding boxes overlap meet: the ends of
    each are not both strictly on one side of the other."""

    def side(p: tuple, qx: float, qy: float) -> float:
        return (p[2] - p[0]) * (qy - p[1]) - (p[3] - p[1]) * (qx - p[0])

    return side(b, a[0], a[1]) * side(b, a[2], a[3]) <= 0 and (
        side(a, b[0], b[1]) * side(a, b[2], b[3]) <= 0
    )


def _cells_of(x1: float, y1: float, x2: float, y2: float) -> list[tuple[int, int]]:
    """The grid cells a rectangle, grown by the widest gap anything keeps, covers."""
    cols = range(int((x1 - LINE_GAP) // _CELL), int((x2 + LINE_GAP) // _CELL) + 1)
    rows = range(int((y1 - LINE_GAP) // _CELL), int((y2 + LINE_GAP) // _CELL) + 1)
    return [(c, r) for c in cols for r in rows]


def _cells_along(x1: float, y1: float, x2: float, y2: float) -> Iterable[tuple[int, int]]:
    """The grid cells a segment reaches: those its bounding box covers where that is a
    column or a row of cells (a line up a gap), else those of its pieces a cell long (a long
    slanting line's box would cover much of the canvas)."""
    cols = abs(x2 - x1) // _CELL
    rows = abs(y2 - y1) // _CELL
    if min(cols, rows) < 2:
        return _cells_of(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    pieces = int(max(cols, rows))
    dx, dy = (x2 - x1) / pieces, (y2 - y1) / pieces
    cells: set[tuple[int, int]] = set()
    for k in range(pieces):
        ax, ay, bx, by = x1 + dx * k, y1 + dy * k, x1 + dx * (k + 1), y1 + dy * (k + 1)
        cells.update(_cells_of(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))
    return cells


def line_height(size: float) -> float:
    """The distance between the baselines of a label's lines."""
    return 1.25 * size


#: The formats of a matplotlib plot written by :func:`png_bytes`: PNG, under a .png name (or
#: none); :func:`saved_format` refuses another (PNG bytes went into a .svg file)
PNG_ONLY = {"png": (".png",)}


def png_bytes(figure: Any, **savefig: Any) -> bytes:
    """A matplotlib figure laid out and drawn as PNG bytes: every plot's one way to a file.
    A title or label in a script the font lacks (a dataset named 数据) draws as boxes; the
    warning matplotlib gives for each glyph, with its own paths, is not a user's concern
    (it leaked past ``train -q``). Nor is matplotlib's "Tight layout not applied" (labels too
    long for the panels to be fitted around them): the image is then saved with room for them
    (``bbox_inches="tight"``), not with its labels cut off."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        warnings.filterwarnings("error", "Tight layout not applied", UserWarning)
        try:
            figure.tight_layout()
        except UserWarning:  # labels too long for the panels: the image grows to hold them
            savefig.setdefault("bbox_inches", "tight")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", **savefig)
    return buffer.getvalue()


def saved_format(what: str, path: str, formats: dict[str, tuple[str, ...]],
                 format: str | None = None) -> str:  # fmt: skip
    """The format a drawing is saved in: ``format`` (any case), else the one whose suffix
    ``path`` has, else the first (a name with no suffix); a format or suffix the drawing
    cannot write, or a ``format`` whose suffixes the name does not end in, raises ValueError
    naming both (a .png name got SVG text, silently)."""
    known = ", ".join(formats)
    suffix = os.path.splitext(path)[1].lower()
    if format is not None:
        chosen = str(format).lower()
        if chosen not in formats:
            raise ValueError(f"{what}: cannot write {format!r}; it writes {known}")
        if suffix and suffix not in formats[chosen]:
            raise ValueError(
                f"{what}: format {chosen!r} but the name {path} ends in {suffix}; name it "
                f"{' or '.join(formats[chosen])}"
            )
        return chosen
    if not suffix:
        return next(iter(formats))
    for name, suffixes in formats.items():
        if suffix in suffixes:
            return name
    wanted = ", ".join(s for suffixes in formats.values() for s in suffixes)
    raise ValueError(f"{what}: cannot write a {suffix} file ({path}); it writes {wanted}")
