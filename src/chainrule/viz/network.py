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

from chainrule.explainer.network import ExplainError, diagonal_blocks
from chainrule.explainer.notation import Math, get_notation, num, vector
from chainrule.files import atomic_write_text
from chainrule.viz.style import (
    Box,
    Placer,
    line_height,
    saved_format,
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
    """
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


def _edge_labels(placer: Placer, wanted: list[_EdgeLabel], legend: list[str]) -> list[str]:
    """Each edge's label where it overlaps nothing placed and crosses the fewest other edges'
    lines (it may lie on its own: centred there it reads as that edge's). The most constrained
    label goes first, the one with the fewest such spots left, so that labels with room to
    spare do not take the few spots of the others; a label with no free spot at all is marked
    on its edge and written in ``legend`` (:func:`_marked`). Ties go by the order of ``wanted``
    and of the spots: the same diagram every time."""
    segments = np.array([label.segment for label in wanted], dtype=float).reshape(-1, 4)
    spots = [_spots(placer, segments, k, label) for k, label in enumerate(wanted)]
    chosen: list[int | None] = [None] * len(wanted)
    left = set(range(len(wanted)))
    while left:
        k = min(left, key=lambda k: (spots[k].n_best(), len(spots[k]), k))
        left.remove(k)
        chosen[k] = spots[k].take(placer)
        if chosen[k] is not None:  # the spots this label now covers are no one else's
            for other in left:
                spots[other] = spots[other].apart_from(spots[k].boxes[chosen[k]])
    out = []
    for k, label in enumerate(wanted):  # in the edges' order: the legend's numbers too
        if chosen[k] is None:
            out += _marked(placer, segments, k, label, legend)
        else:
            out += _drawn(label, spots[k], chosen[k])
    return out


@dataclass(frozen=True, eq=False)
class _Spots:
    """The free spots of one edge's label, best first (fewest other edges' lines crossed, then
    the order of the candidates): where its first line is written (x, y, anchor), the boxes of
    its two lines ((n, 2, 4): left, top, right, bottom) and the lines they cross."""

    x: np.ndarray
    y: np.ndarray
    anchor: np.ndarray
    boxes: np.ndarray
    crossed: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, keep: np.ndarray) -> _Spots:
        return _Spots(
            self.x[keep], self.y[keep], self.anchor[keep], self.boxes[keep], self.crossed[keep]
        )

    def n_best(self) -> int:
        """How many spots cross as few lines as the best: the label's room."""
        return int(np.sum(self.crossed == self.crossed[0])) if len(self) else 0

    def apart_from(self, boxes: np.ndarray) -> _Spots:
        """The spots that keep 1 px from ``boxes`` (m, 4), as Placer.free keeps labels apart."""
        mine, theirs = self.boxes[:, :, None, :], boxes[None, None, :, :]
        meet = ~(
            (mine[..., 2] + 1 <= theirs[..., 0])
            | (theirs[..., 2] + 1 <= mine[..., 0])
            | (mine[..., 3] + 1 <= theirs[..., 1])
            | (theirs[..., 3] + 1 <= mine[..., 1])
        )
        return self[~meet.any(axis=(1, 2))]

    def take(self, placer: Placer) -> int | None:
        """The first spot still free in ``placer`` (the best: the others' labels were taken
        out of the spots), its boxes blocked there; None if there is none."""
        for k in range(len(self)):
            boxes = [_box(line) for line in self.boxes[k].tolist()]
            if all(map(placer.free, boxes)):
                for box in boxes:
                    placer.block(box)
                return k
        return None


def _spots(placer: Placer, segments: np.ndarray, k: int, label: _EdgeLabel) -> _Spots:
    """The spots along edge ``k``'s line (of ``segments``) where its label is free of what
    ``placer`` holds (circles, layer names, the title, the canvas's edges), best first."""
    (x1, y1), (x2, y2) = label.start, label.end
    candidates = [
        (x2 + (x1 - x2) * f + dx, y2 + (y1 - y2) * f + dy, anchor)
        for f in _FRACTIONS
        for dy in _UP_DOWN
        for dx, anchor in _ACROSS
    ]
    x, y, anchor = (np.array([c[n] for c in candidates]) for n in range(3))
    # each line's box at (0, 0) by anchor, moved to each candidate (text_box is linear in x, y)
    at_origin = {
        a: [text_box(0, n * line_height(_LABEL_SIZE), text, _LABEL_SIZE, a) for n, text in
            enumerate(label.block)]
        for a in set(anchor.tolist())
    }  # fmt: skip
    boxes = np.array([[(b.x, b.y, b.x + b.w, b.y + b.h) for b in at_origin[a]] for a in anchor])
    boxes += np.stack([x, y, x, y], axis=1)[:, None, :]
    # both lines free where the box around them is (most spots: the circles are at the ends)
    around = np.hstack([boxes[:, :, :2].min(axis=1), boxes[:, :, 2:].max(axis=1)])
    free = [
        placer.free(_box(whole)) or all(placer.free(_box(line)) for line in two)
        for whole, two in zip(around.tolist(), boxes.tolist())
    ]
    crossing = segments_crossing(boxes.reshape(-1, 4), segments).reshape(len(x), 2, -1).any(axis=1)
    crossing[:, k] = False  # its own line: a label centred on it reads as its own
    spots = _Spots(x, y, anchor, boxes, crossing.sum(axis=1))[np.array(free, dtype=bool)]
    return spots[np.argsort(spots.crossed, kind="stable")]


def _box(corners: list[float]) -> Box:
    """A Box from its left, top, right and bottom."""
    left, top, right, bottom = corners
    return Box(left, top, right - left, bottom - top)


def _drawn(label: _EdgeLabel, spots: _Spots, k: int) -> list[str]:
    """The label's two lines at spot ``k``: the weight in the edge's colour, the share grey."""
    x, y, anchor = float(spots.x[k]), float(spots.y[k]), str(spots.anchor[k])
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
    corners = np.array([(b.x, b.y, b.x + b.w, b.y + b.h) for b in boxes])
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
