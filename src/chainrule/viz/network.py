"""A unit-level network diagram: layers of circles, each edge labelled w_ij and w_ij dE/dz_j.

``network_svg(derivation)`` draws the input layer at the bottom and the output layer on top, as the
lecture does. Each circle shows the unit's y and dE/dy; each edge its weight w_ij and the share
w_ij dE/dz_j that it carries back to unit i (the terms of dE/dy_i = sum_j w_ij dE/dz_j). Every
symbol is written in the derivation's notation, by the explainer's own notation objects: with
``explain(notation="rhw")`` the weight from unit 1 to unit 2 is w_21 and the share w·∂E/∂x.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from chainrule.errors import type_name
from chainrule.explainer.network import ExplainError, diagonal_blocks
from chainrule.explainer.notation import Math, get_notation, num, vector
from chainrule.files import atomic_write_text
from chainrule.viz.style import (
    LINE_GAP,
    Box,
    Placer,
    boxes_apart,
    line_height,
    runs_meet,
    saved_format,
    segment_runs,
    segments_crossing,
    sign_colour,
    text_box,
)

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

_R, _GAP_X, _GAP_Y, _MARGIN = 30, 150, 200, 70
_LEFT = 130  # room for the layer names
_LABEL_SIZE = 9
MAX_UNITS = 12
MAX_LABELLED_EDGES = 40


def network_svg(d: Derivation, case: int = 0, who: str = "network_svg") -> str:
    """The diagram as an SVG document (case ``case`` of the derivation's batch).

    Edges are coloured by the weight's sign as on the explorer page (positive orange, negative
    blue); each label sits on or beside its edge where it overlaps no other label, circle or
    text, and crosses as few other edges' lines as it can (a weight written across another
    edge reads as that edge's): none on the smallest networks (2-2-1, 3-2); on larger ones many
    have no spot clear of every line. The labels with the fewest such spots
    are placed first; a label with no free spot is numbered on its edge and written out below
    the diagram, naming its layers.
    Symbols follow ``d.notation``. ``who`` names the function the user called in an error.
    Anything but a Derivation (a model) is a ``TypeError`` saying what it takes.
    """
    from chainrule.explainer.derivation import Derivation

    if not isinstance(d, Derivation):  # a model raised "'Siamese' object has no 'n_cases'"
        raise TypeError(
            f"{who}: d must be a Derivation (what cr.explain(model, x, t, loss) returns), not "
            f"{type_name(d)}; explain the network first, d = cr.explain(model, x, t, loss), "
            f"and give {who} d"
        )
    if not 0 <= case < d.n_cases:  # numpy would wrap -1 to the last case
        n = d.n_cases
        raise ExplainError(
            f"{who}: case {case} is out of range; the derivation has {n} "
            f"case{'s' * (n != 1)} (0 to {n - 1})"
        )
    n = get_notation(d.notation)
    drawn = units_drawn(d)
    head = f"{d.description}: {n.E().plain} = {d.error:.4g}"
    if d.n_cases > 1:  # E is the batch's; the units' numbers are one case's (its share of E's)
        head += f" over {d.n_cases} cases; the units show case {case + 1}"
    title = text_box(10, 20, head, 13)
    # as wide as the widest layer and as the title (a 1-1-1 network's was cut off)
    width = max(_LEFT + max(map(len, drawn)) * _GAP_X + _MARGIN, title.x + title.w + 10)
    height = (len(drawn) - 1) * _GAP_Y + 2 * _MARGIN + 40
    pos = {}
    for layer, units in enumerate(drawn):
        offset = _LEFT + (width - _LEFT - (len(units) - 1) * _GAP_X) / 2
        y = height - _MARGIN - layer * _GAP_Y
        for k, unit in enumerate(units):
            pos[(layer, unit)] = (offset + k * _GAP_X, y)
    placer = Placer(Box(0, 0, width, height))  # each label wholly on the canvas
    placer.block(title)
    texts = [_text(10, 20, head, 13, extra=' font-weight="bold"')]
    for layer, record in enumerate(d.layers):
        y = height - _MARGIN - layer * _GAP_Y + 4
        name = f"layer {layer} ({record.letter})"
        for k, line in enumerate([name, _which(drawn[layer], record.size)]):
            if line:
                placer.block(text_box(8, y + 14 * k, line, 11))
                texts.append(_text(8, y + 14 * k, line, 11, "#444"))
    circles = []
    for (layer, unit), (x, y) in pos.items():
        placer.block(Box(x - _R, y - _R, 2 * _R, 2 * _R))
        record = d.layers[layer]
        circles.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_R}" fill="#f6f8fa" stroke="#333"/>')
        y_symbol = _layer_symbol(n.y, layer, record.letter)
        circles.append(
            _text(x, y - 4, f"{y_symbol}={_number(record.y[case, unit])}", 10, anchor="middle")
        )
        if drawn[layer] != list(range(len(drawn[layer]))):  # units skipped: say which this is
            circles.append(_text(x, y - 16, f"unit {unit + 1}", 8, "#666", anchor="middle"))
        if record.dE_dy is not None:
            grad = f"{_layer_symbol(n.dE_dy, layer, record.letter)}="
            grad += _number(record.dE_dy[case, unit])
        elif record.dE_dz is not None:
            grad = f"{_layer_symbol(n.dE_dz, layer, record.letter)}="
            grad += _number(record.dE_dz[case, unit])
        else:
            grad = ""
        if grad:
            circles.append(_text(x, y + 9, grad, 8, anchor="middle"))
    lines, wanted, legend = [], [], []
    # the edges between the units drawn; a Parallel layer has none between its blocks
    edges = [
        [(i, j) for i in drawn[c.below] for j in c.targets(i) if (c.above, j) in pos]
        for c in d.connections
    ]
    n_edges = sum(map(len, edges))
    for conn, pairs in zip(d.connections, edges):
        dE_dz = d.layers[conn.above].dE_dz[case]
        below, above = d.layers[conn.below], d.layers[conn.above]
        share = "w·" + _layer_symbol(n.dE_dz, conn.above, above.letter)
        for i, j in pairs:
            (x1, y1), (x2, y2) = pos[(conn.below, i)], pos[(conn.above, j)]
            w = conn.weight[i, j]
            colour = sign_colour(w)
            lines.append(
                f'<line x1="{x1:.1f}" y1="{y1 - _R:.1f}" x2="{x2:.1f}" '
                f'y2="{y2 + _R:.1f}" stroke="{colour}" '
                f'stroke-width="{0.6 + 2.5 * min(abs(w), 1):.2f}" opacity="0.7"/>'
            )
            if n_edges > MAX_LABELLED_EDGES:
                continue
            weight = n.w(conn.below, below.letter, i, above.letter, j).plain
            block = [f"{weight}={_number(w)}", f"{share}={_number(w * dE_dz[j])}"]
            where = f"layers {conn.below}→{conn.above}"
            wanted.append(_EdgeLabel((x1, y1 - _R), (x2, y2 + _R), block, colour, where))
    labels = _edge_labels(placer, wanted, legend)
    if n_edges > MAX_LABELLED_EDGES:  # say so: a reader would look for the labels
        legend.append(
            f"{n_edges} edges: the weights' labels are left out above {MAX_LABELLED_EDGES} "
            "edges (the write-up of explain() gives every weight)"
        )
    legend_y = height - 10
    for k, line in enumerate(legend):
        texts.append(_text(_LEFT, legend_y + 13 * k, line, _LABEL_SIZE, "#444"))
        box = text_box(_LEFT, legend_y, line, _LABEL_SIZE)
        width = max(width, box.x + box.w + 10)  # the legend's lines on the canvas too
    height += 13 * len(legend)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        *lines,
        *circles,
        *labels,
        *texts,
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def units_drawn(d: Derivation) -> list[list[int]]:
    """The units drawn of each layer: all of a layer of at most ``MAX_UNITS``; of a larger one,
    the first units of each of its blocks (a Parallel layer's, below or above it), shared out by
    the blocks' sizes, so that every block has units and edges on the diagram."""
    drawn = []
    for layer, record in enumerate(d.layers):
        if record.size <= MAX_UNITS:
            drawn.append(list(range(record.size)))
            continue
        starts = {0, record.size}
        for c in d.connections:
            if c.connected is not None and layer in (c.below, c.above):
                rows, cols = zip(*diagonal_blocks(c.connected))
                for block in rows if layer == c.below else cols:
                    starts.update((block.start, block.stop))
        bounds = sorted(starts)
        shares = _shares(np.diff(bounds), MAX_UNITS)
        drawn.append([u for a, n in zip(bounds, shares) for u in range(a, a + n)])
    return drawn


def _shares(sizes: np.ndarray, total: int) -> list[int]:
    """``total`` places shared out among blocks of ``sizes`` in proportion, each block one at
    least (largest remainders), none more than its size."""
    if len(sizes) >= total:  # more blocks than places: the first blocks, one unit each
        return [1] * total + [0] * (len(sizes) - total)
    exact = (total - len(sizes)) * sizes / sizes.sum()
    shares = 1 + np.minimum(np.floor(exact).astype(int), sizes - 1)
    for k in np.argsort(exact - np.floor(exact))[::-1]:
        if shares.sum() == total:
            break
        shares[k] += shares[k] < sizes[k]
    return shares.tolist()


def _which(units: list[int], size: int) -> str:
    """The note under a layer's name saying which of its units the diagram draws."""
    if len(units) == size:
        return ""
    if units == list(range(len(units))):
        return f"(first {len(units)} of {size})"
    runs, start = [], units[0]
    for a, b in zip(units, units[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start + 1}" if a == start else f"{start + 1}-{a + 1}")
            start = b
    return f"({len(units)} of {size}: units {', '.join(runs)})"


@dataclass(frozen=True)
class _EdgeLabel:
    """An edge's label to place: its line from the lower unit up to the upper, its two lines of
    text (w_ij and w_ij dE/dz_j) and their colour, and its layers as the legend names them."""

    start: tuple[float, float]
    end: tuple[float, float]
    block: list[str]
    colour: str
    where: str

    @property
    def segment(self) -> tuple[float, float, float, float]:
        return (*self.start, *self.end)


#: Where along its edge a label may sit, as fractions of the way down from the upper end: the
#: middle first, then out towards the ends (near an end it would read as the next layer's).
_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.12, 0.9)
#: A label's place across its edge: centred on it, or beside it on either side; and a little
#: above or below the line's point (on a slanting edge, further to one side of it).
_ACROSS = ((0, "middle"), (5, "start"), (-5, "end"), (14, "start"), (-14, "end"))
_UP_DOWN = (0, -6, 6)
#: The anchors of the places across, each once, and each place's.
_ANCHORS = tuple(dict.fromkeys(anchor for _, anchor in _ACROSS))
_ANCHOR_OF = [_ANCHORS.index(anchor) for _, anchor in _ACROSS]
#: A label's candidate spots, fraction by fraction, in each up or down, in each place across.
_SHAPE = (len(_FRACTIONS), len(_UP_DOWN), len(_ACROSS))


def _edge_labels(placer: Placer, wanted: list[_EdgeLabel], legend: list[str]) -> list[str]:
    """Each edge's label where it overlaps nothing placed and crosses the fewest other edges'
    lines (it may lie on its own: centred there it reads as that edge's). The most constrained
    label goes first, the one with the fewest such spots left, so that labels with room to
    spare do not take the few spots of the others; a label with no free spot at all is marked
    on its edge and written in ``legend`` (:func:`_marked`). Ties go by the order of ``wanted``
    and of the spots: the same diagram every time."""
    if not wanted:
        return []
    segments = np.array([label.segment for label in wanted], dtype=float)
    spots = _Spots.along(placer, segments, wanted)
    chosen = spots.choose(placer)
    out = []
    for k, label in enumerate(wanted):  # in the edges' order: the legend's numbers too
        if chosen[k] is None:
            out += _marked(placer, segments, k, label, legend)
        else:
            out += _drawn(label, spots, chosen[k])
    return out


@dataclass(frozen=True, eq=False)
class _Spots:
    """Every edge's label's candidate spots, (k, c) for label k, in ``_SHAPE``'s order: where
    its first line is written (x, y), the boxes of its two lines ((k, c, 2, 4): left, top,
    right, bottom) and the box around them ((k, c, 4)), the other edges' lines they cross, and
    ``left``, the spots still free (on the canvas, clear of what the placer held, and of the
    labels placed since). ``reach`` is the box around each strip of spots, a label's at one
    fraction ((k f, 4)). One set of arrays for all the labels: a 35-edge diagram weighs some
    8000 spots, and NumPy calls for each label at each step of the placing took most of 90 ms.
    """

    x: np.ndarray
    y: np.ndarray
    boxes: np.ndarray
    around: np.ndarray
    crossed: np.ndarray
    left: np.ndarray
    reach: np.ndarray

    @classmethod
    def along(cls, placer: Placer, segments: np.ndarray, wanted: list[_EdgeLabel]) -> _Spots:
        """The spots along each edge's line (row k of ``segments``); those free of what
        ``placer`` holds (circles, layer names, the title, the canvas's edges) are left."""
        x, y, boxes = _candidates(segments, wanted)
        lines = boxes.reshape(-1, *boxes.shape[2:])
        # both lines free where the box around them is (most spots: the circles are at the ends)
        around = _around(lines)
        free = placer.free_all(around)
        rest = np.flatnonzero(~free)
        each = placer.free_all(lines[rest].reshape(-1, 4)).reshape(len(rest), len(lines[0]))
        free[rest] = each.all(axis=1)
        reach = _around(boxes.reshape(len(wanted) * len(_FRACTIONS), -1, 4))
        crossed = _crossed(boxes, segments, reach)
        around, free = around.reshape(*x.shape, 4), free.reshape(x.shape)
        return cls(x, y, boxes, around, crossed, free, reach)

    def choose(self, placer: Placer) -> list[tuple[int, int] | None]:
        """Each label's spot (k, c), the most constrained label first: the one with the fewest
        spots left that cross as few lines as its best, then the fewest spots left, then the
        first. Its boxes are blocked in ``placer`` and the spots they cover are no other
        label's; None for a label with no spot left."""
        n_labels = len(self.x)
        # each label's spots best first: fewest lines crossed, then the candidates' order
        order = np.argsort(self.crossed, axis=1, kind="stable")
        room, size = self._room(np.arange(n_labels))
        chosen: list[tuple[int, int] | None] = [None] * n_labels
        waiting = set(range(n_labels))
        while waiting:
            k = min(waiting, key=lambda k: (room[k], size[k], k))
            waiting.remove(k)
            chosen[k] = self._take(placer, k, order[k])
            if chosen[k] is not None:  # the spots this label now covers are no one else's
                changed = self._cover(*chosen[k])
                for label, n_best, n in zip(changed, *self._room(changed)):
                    room[label], size[label] = n_best, n
        return chosen

    def _room(self, labels: np.ndarray) -> tuple[list[int], list[int]]:
        """Of each of ``labels``, its room (how many of its spots left cross as few lines as
        the best of them) and how many spots it has left."""
        left, crossed = self.left[labels], self.crossed[labels]
        fewest = np.where(left, crossed, crossed.max(initial=0) + 1).min(axis=1)  # of those left
        return (left & (crossed == fewest[:, None])).sum(axis=1).tolist(), left.sum(1).tolist()

    def _take(self, placer: Placer, k: int, order: np.ndarray) -> tuple[int, int] | None:
        """Label k's best spot left (in ``order``) that is still free in ``placer`` (the
        others' labels were taken out of its spots), its boxes blocked there; None if none."""
        for c in order[self.left[k, order]].tolist():
            boxes = [_box(line) for line in self.boxes[k, c].tolist()]
            if all(map(placer.free, boxes)):
                for box in boxes:
                    placer.block(box)
                return k, c
        return None

    def _cover(self, k: int, c: int) -> np.ndarray:
        """Take the spots that come within 1 px of spot (k, c)'s boxes out of those left, as
        Placer.free keeps labels apart; the labels that lost any. Each fraction's spots of a
        label lie in one strip; only those of the strips near the box around the spot's are
        tested (apart from it, a strip is apart from each of its boxes)."""
        n_spots = self.x.shape[1]
        per = n_spots // len(_FRACTIONS)
        near = np.flatnonzero(~boxes_apart(self.reach, self.around[k, c]))
        spot = (near[:, None] * per + np.arange(per)).ravel()  # flat (k c) indices
        spot = spot[self.left.reshape(-1)[spot]]
        mine = self.boxes.reshape(-1, *self.boxes.shape[2:])[spot]
        hit = spot[~boxes_apart(mine[:, :, None], self.boxes[k, c]).all(axis=(1, 2))]
        labels, spots = np.divmod(hit, n_spots)
        self.left[labels, spots] = False
        return np.unique(labels)


def _candidates(
    segments: np.ndarray, wanted: list[_EdgeLabel]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every label's candidate spots along its edge (row k of ``segments``, from its lower end
    to its upper) in ``_SHAPE``'s order: x and y of the first line (k, c), and the boxes of the
    lines (k, c, 2, 4)."""
    x1, y1, x2, y2 = (segments[:, n, None, None, None] for n in range(4))
    fractions = np.array(_FRACTIONS)[:, None, None]
    shape = (len(wanted), *_SHAPE)
    x = np.broadcast_to(x2 + (x1 - x2) * fractions + np.array([dx for dx, _ in _ACROSS]), shape)
    y = np.broadcast_to(y2 + (y1 - y2) * fractions + np.array(_UP_DOWN)[:, None], shape)
    # each line's box at (0, 0) by anchor, moved to each candidate (text_box is linear in x, y)
    at_origin = np.array([
        [[_corners(text_box(0, n * line_height(_LABEL_SIZE), text, _LABEL_SIZE, anchor))
          for n, text in enumerate(label.block)] for anchor in _ANCHORS]
        for label in wanted
    ])[:, _ANCHOR_OF]  # fmt: skip
    boxes = at_origin[:, None, None] + np.stack([x, y, x, y], axis=-1)[..., None, :]
    n_labels = len(wanted)
    return x.reshape(n_labels, -1), y.reshape(n_labels, -1), boxes.reshape(n_labels, -1, 2, 4)


def _crossed(boxes: np.ndarray, segments: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """How many other edges' lines (rows of ``segments``) each candidate's lines cross
    (``boxes``: (k, c, 2, 4), in ``_SHAPE``'s order), (k, c). A label's spots at one fraction
    lie in one strip a few lines high (``reach``: the box around each), which most lines pass
    far from: a line is tested only against the strips it comes within a pixel of (a slanting
    line's own box would cover much of the canvas). In a strip, the boxes at one step up or
    down share their tops and bottoms (a place across moves x alone, and text_box's top is the
    same for every anchor), so a line's run of x through them is found once for all five."""
    n_labels, n_spots = boxes.shape[:2]
    near = segments_crossing(reach, segments, LINE_GAP + 1)
    # its own line: a label centred on it reads as its own
    near[np.arange(len(reach)), np.arange(len(reach)) // len(_FRACTIONS)] = False
    strip, line = np.nonzero(near)
    # each corner of the boxes of each strip ((s, up/down, across, lines) each), contiguous
    left, top, right, bottom = np.moveaxis(boxes, -1, 0).reshape(4, len(reach), *_SHAPE[1:], -1)
    rows = (strip, slice(None), 0)  # a strip's boxes at the first place across
    low, high = segment_runs(top[rows], bottom[rows], segments[line, None, None])
    meets = runs_meet(low[:, :, None], high[:, :, None], left[strip], right[strip])
    per = n_spots // len(_FRACTIONS)  # a strip's spots
    hit = _reduce(np.logical_or, meets, -1).reshape(len(strip), per)  # either line
    spot = strip[:, None] * per + np.arange(per)
    crossed = np.bincount(spot.ravel(), hit.ravel(), minlength=n_labels * n_spots)
    return crossed.astype(int).reshape(n_labels, n_spots)


def _around(boxes: np.ndarray) -> np.ndarray:
    """The box around boxes (..., n, 4: left, top, right, bottom), along their n."""
    return np.concatenate(
        [_reduce(np.minimum, boxes[..., :2], -2), _reduce(np.maximum, boxes[..., 2:], -2)], -1
    )


def _reduce(ufunc: np.ufunc, array: np.ndarray, axis: int) -> np.ndarray:
    """``ufunc`` reduced along ``axis``, moved outermost first: NumPy reduces along a short
    inner axis one result at a time, six times slower than this copy and reduction."""
    return ufunc.reduce(np.ascontiguousarray(np.moveaxis(array, axis, 0)))


def _corners(box: Box) -> tuple[float, float, float, float]:
    """A Box's left, top, right and bottom."""
    return box.x, box.y, box.x + box.w, box.y + box.h


def _box(corners: list[float]) -> Box:
    """A Box from its left, top, right and bottom."""
    left, top, right, bottom = corners
    return Box(left, top, right - left, bottom - top)


def _drawn(label: _EdgeLabel, spots: _Spots, spot: tuple[int, int]) -> list[str]:
    """The label's two lines at ``spot``: the weight in the edge's colour, the share grey."""
    _, anchor = _ACROSS[np.unravel_index(spot[1], _SHAPE)[2]]  # the spot's place across
    x, y = float(spots.x[spot]), float(spots.y[spot])
    first, second = label.block
    return [
        _text(x, y, first, _LABEL_SIZE, label.colour, anchor=anchor),
        _text(x, y + line_height(_LABEL_SIZE), second, _LABEL_SIZE, "#555", anchor=anchor),
    ]


def _marked(
    placer: Placer, segments: np.ndarray, k: int, label: _EdgeLabel, legend: list[str]
) -> list[str]:
    """A mark [k] on the edge (off the other edges' lines where it can be) and the label in
    ``legend``, named by its layers: two layers' w_42 read alike. A mark with no free spot
    either is left out, and so is its number (the legend's entry names the edge by its layers
    and weight alone)."""
    mark = f"[{sum(line.startswith('[') for line in legend) + 1}]"
    (x1, y1), (x2, y2) = label.start, label.end
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    candidates = [(mx + dx, my + dy, "middle") for dy in (0, -10, 10, -20, 20)
                  for dx in (0, -14, 14)]  # fmt: skip
    boxes = [text_box(x, y, mark, _LABEL_SIZE, a) for x, y, a in candidates]
    corners = np.array([_corners(b) for b in boxes])
    crossing = segments_crossing(corners, segments)
    crossing[:, k] = False
    order = np.argsort(crossing.sum(axis=1), kind="stable")  # the nearest of the clearest
    spot = placer.place([candidates[n] for n in order], mark, _LABEL_SIZE)
    entry = f"{label.where}: {label.block[0]}, {label.block[1]}"
    if spot is None:  # no mark on the edge: no number in the legend either
        legend.append(entry)
        return []
    legend.append(f"{mark} {entry}")
    return [_text(spot[0], spot[1], mark, _LABEL_SIZE, label.colour, anchor="middle")]


def _number(value: float) -> str:
    """A number as the labels write it: 3 digits, and 0 for -0 (a dead relu unit's share)."""
    return num(float(value), 3, paren=False).plain


def _layer_symbol(symbol: Callable[[int, str], Math], layer: int, letter: str) -> str:
    """A notation's symbol for a whole layer, the unit's index dropped (y, ∂E/∂x, δ^2): the
    circle or edge it labels says which unit."""
    return vector(symbol(layer, letter), letter).plain


def _text(
    x: float, y: float, text: str, size: float, fill: str = "#222", anchor: str = "start",
    extra: str = "",
) -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
        f'text-anchor="{anchor}"{extra}>{html.escape(text)}</text>'
    )


#: A network diagram is written as SVG alone.
FORMATS = {"svg": (".svg",)}


def save_network_svg(d: Derivation, path: str | os.PathLike, case: int = 0) -> str:
    """Write :func:`network_svg` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    saved_format("save_network_svg", path, FORMATS)
    atomic_write_text(path, network_svg(d, case, who="save_network_svg"))
    return path


@dataclass(frozen=True)
class NetworkDiagram:
    """The network of a derivation as a diagram; a notebook shows it as SVG."""

    svg: str

    def __repr__(self) -> str:  # not the whole SVG (a console, a notebook's text/plain)
        return f"NetworkDiagram(svg of {len(self.svg):,} characters)"

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike) -> str:
        """Write the SVG to ``path`` (.svg, or no suffix) atomically; returns the path."""
        path = os.fspath(path)
        saved_format("NetworkDiagram.save", path, FORMATS)
        atomic_write_text(path, self.svg)
        return path


def diagram(d: Derivation, case: int = 0) -> NetworkDiagram:
    """The diagram of :func:`network_svg` as an object that displays itself in a notebook.

    >>> import chainrule as cr
    >>> from chainrule.viz.network import diagram
    >>> diagram(cr.explain())                                   # doctest: +SKIP
    """
    return NetworkDiagram(network_svg(d, case, who="diagram"))
