"""The computation graph's drawing of long graphs, read back from its SVG: an edge that skips
levels is drawn by its corners (a point per row it passed made a chain where one leaf feeds
every op, ``s = s * a + a`` n times, O(n^2) points: 9.7 MB and two minutes at n = 400); the
edges running up one gap keep a lane each, far enough apart to be told apart; a label that
finds no place is listed, and its [k] mark is put beside its edge, never across an edge.

Work is counted, not timed: the points of the drawn paths, the bytes of the SVG."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_graph_layout_paths import SVG, _edges, _inside, _texts

import chainrule as cr
from chainrule.viz.graph import graph
from chainrule.viz.style import Box, Placer, text_box


def _chain(n: int):
    """``s = s * a + a``, n times: the leaf a read by all 2n ops, at every level."""
    a = cr.tensor([0.3], requires_grad=True)
    s = a
    for _ in range(n):
        s = s * a + a
    return graph(s.sum())


def _rnn(steps: int):
    """A 4-unit tanh RNN over ``steps`` steps: W and U each read by every step's matmul."""
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.normal(size=(4, 4)) * 0.5, requires_grad=True)
    u = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    h = cr.tensor(np.zeros((1, 4)))
    for _ in range(steps):
        h = (h @ w + cr.tensor(rng.normal(size=(1, 3))) @ u).tanh()
    return graph((h * h).sum())


def _wide(k: int):
    """x read by k products and by two ops near the top, past a column of k - 1 sums."""
    x = cr.tensor([0.5], requires_grad=True)
    ys = [cr.tensor([0.1 * i], requires_grad=True) for i in range(k)]
    terms = [(x * y).tanh() for y in ys]
    s = terms[0]
    for t in terms[1:]:
        s = s + t
    return graph((s * x + x).sum())


def _paths(svg: str) -> list[np.ndarray]:
    """Each drawn edge's points as written in its ``d`` (a curve's control point included)."""
    return [
        np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", e.get("d"))]).reshape(-1, 2)
        for e in ET.fromstring(svg).iter(f"{SVG}path")
        if e.get("marker-end") is not None
    ]


def _listed(svg: str) -> int:
    """How many labels found no place by their edge and are written out under the drawing."""
    return len(re.findall(r">\[\d+\] ", svg))


# --- 1. the size of a long graph's drawing ---------------------------------------------------


def test_an_edge_up_a_column_of_gaps_is_drawn_by_its_corners():
    """In the chain each edge from the leaf runs straight up one column of gaps: its start, the
    two corners of its lane and its end, at most six points, whatever its length (a point
    where it entered and left each row of boxes: 400 points for the longest of the n = 100
    chain, 40 000 in all)."""
    g = _chain(100)
    paths = _paths(g.to_svg(use_graphviz=False))
    assert len(paths) == len(g.edges)
    assert max(len(p) for p in paths) <= 6
    assert sum(len(p) for p in paths) <= 5 * len(g.edges)


def test_the_drawing_of_the_chain_grows_linearly():
    """Twice the chain, at most about twice the points and bytes (they grew four times)."""
    small, large = (_chain(n).to_svg(use_graphviz=False) for n in (50, 100))
    points = [sum(len(p) for p in _paths(svg)) for svg in (small, large)]
    assert points[1] <= 2.2 * points[0], points
    assert len(large) <= 2.2 * len(small), (len(small), len(large))


# --- 2. edges up one gap, apart ------------------------------------------------------------


def _lanes(svg: str, least: float = 20.0) -> list[tuple[float, float, float, int]]:
    """The vertical pieces of the edges, at least ``least`` px long: (x, top, bottom, edge)."""
    out = []
    for k, p in enumerate(_paths(svg)):
        for (x1, y1), (x2, y2) in zip(p, p[1:]):
            if abs(x1 - x2) < 0.05 and abs(y1 - y2) >= least:
                out.append((x1, min(y1, y2), max(y1, y2), k))
    return out


@pytest.mark.parametrize("make", [lambda: _chain(12), lambda: _rnn(5), lambda: _wide(5)],
                         ids=["chain of 12", "rnn of 5 steps", "x past 5 sums"])  # fmt: skip
def test_edges_running_up_one_gap_are_at_least_8_px_apart(make):
    """Two edges side by side in one gap, for any height they share, run at least 8 px apart:
    2-5 px apart they read as one thick line, and a label beside them as any one's."""
    lanes = _lanes(make().to_svg(use_graphviz=False))
    assert len({k for *_, k in lanes}) >= 3  # edges up gaps there are, several
    close = [
        (a, b)
        for i, a in enumerate(lanes)
        for b in lanes[i + 1 :]
        if a[3] != b[3] and min(a[2], b[2]) - max(a[1], b[1]) > 1 and abs(a[0] - b[0]) < 7.9
    ]
    assert close == []


# --- 3. labels: beside their edges, or listed with a mark beside the edge -----------------------


@pytest.mark.parametrize("n, before", [(6, 4), (10, 11)])
def test_the_labels_of_a_bundle_find_places_beside_their_edges(n, before):
    """The labels of the chain's long edges, 2-5 px apart in their gap, had no free place
    (4 of the 6-step chain's and 11 of the 10-step's were listed under the drawing): each
    finds one now, by the corner where its edge leaves the bundle."""
    svg = _chain(n).to_svg(use_graphviz=False)
    assert _listed(svg) == 0, f"{_listed(svg)} listed (was {before})"


def test_no_mark_of_a_listed_label_is_written_across_an_edge():
    """A label with no free place is listed under the drawing and its [k] mark put by its
    edge: where the mark found no free place either, it went on the middle of the edge, across
    it and others (4 of the 8-step chain's 6 marks); now it goes where it covers least."""
    marks = 0
    for g in (_chain(8), _chain(10), _rnn(4), _rnn(5), _wide(5)):
        svg = g.to_svg(use_graphviz=False)
        found = [t for t in _texts(svg) if re.fullmatch(r"\[\d+\]", t[4])]
        edges = _edges(svg)
        crossed = [(m[4], k) for m in found for k, e in enumerate(edges) if _inside(e, m).any()]
        assert crossed == [], f"{len(crossed)} crossings of {len(found)} marks"
        marks += len(found)
    assert marks >= 10  # labels with no place there are, and their marks were checked


def test_a_mark_with_no_free_place_goes_where_it_covers_least():
    """Every place taken: not across the line (the first place tried), nor on the box, but
    on the corner of a label, the least covered."""
    placer = Placer(Box(0, 0, 200, 100))
    placer.block_line([(50, 0), (50, 100)])
    placer.block(Box(100, 30, 60, 40))
    placer.block(text_box(20, 70, "sends back", 9))
    candidates = [(50, 50, "middle"), (130, 50, "middle"), (10, 64, "start")]
    assert placer.place(candidates, "[1]", 9) is None
    assert placer.place_best(candidates, "[1]", 9) == (10, 64, "start")
    assert not placer.free(text_box(10, 64, "[1]", 9))  # and it is taken


def test_a_label_set_off_from_its_edge_has_no_other_edge_between():
    """A place 16 px beside an edge with a neighbour 8 px away would put the label by the
    neighbour: a place set off carries the way back to its edge, which must meet nothing."""
    placer = Placer(Box(0, 0, 200, 100))
    placer.block_line([(50, 0), (50, 100)])  # its own edge
    placer.block_line([(58, 0), (58, 40)])  # the neighbour, as far as y = 40
    past = [(66, 30, "start", (51, 30, 66, 30))]  # beside the neighbour, its way across it
    assert placer.place(past, "sends back 1", 9) is None
    clear = [(66, 60, "start", (51, 60, 66, 60))]  # below the neighbour's end: nothing between
    assert placer.place(clear, "sends back 1", 9) == (66, 60, "start")
