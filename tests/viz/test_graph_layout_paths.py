"""The computation graph's own layout, read back from its SVG as geometry: the k edges of an
input read k times (x * x) are k visibly separate paths, each with its own label; no edge runs
behind a box; no label is written across an edge; the same graph is drawn the same way.

The geometry is measured here independently of the layout code: each edge is sampled densely
from the numbers in its SVG ``d`` (or ``<line>``), each text's box is estimated from its font
size and length (0.6 em a character, as tests/viz/test_legible.py does)."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_legible import _boxes as _texts  # each text's box: 0.6 em a character

import chainrule as cr
from chainrule.viz.graph import graph, seed_graph

SVG = "{http://www.w3.org/2000/svg}"


# --- reading the drawing back --------------------------------------------------------------


def _edges(svg: str) -> list[np.ndarray]:
    """Each edge (an element with an arrowhead) as points about half a pixel apart: a
    ``<line>``, or a ``<path>`` of one quadratic Bezier (M Q) or of straight pieces (M L ...)."""
    out = []
    for element in ET.fromstring(svg).iter():
        if element.get("marker-end") is None:
            continue
        if element.tag == f"{SVG}line":
            ends = [float(element.get(k)) for k in ("x1", "y1", "x2", "y2")]
            pieces = [np.array([ends[:2], ends[:2], ends[2:]])]
        else:
            d = element.get("d")
            pts = np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]).reshape(-1, 2)
            commands = "".join(re.findall(r"[A-Za-z]", d))
            if commands == "MQ":
                pieces = [pts]
            else:
                assert commands == "M" + "L" * (len(pts) - 1), d
                pieces = [np.array([p, p, q]) for p, q in zip(pts, pts[1:])]
        sampled = []
        for ctrl in pieces:  # each piece a quadratic Bezier (a straight one: control = start)
            length = np.sum(np.hypot(*np.diff(ctrl, axis=0).T))
            t = np.linspace(0, 1, max(int(2 * length), 2))[:, None]
            sampled.append((1 - t) ** 2 * ctrl[0] + 2 * (1 - t) * t * ctrl[1] + t**2 * ctrl[2])
        out.append(np.concatenate(sampled))
    return out


def _rects(svg: str) -> list[tuple[float, float, float, float]]:
    return [
        tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for r in ET.fromstring(svg).iter(f"{SVG}rect")
    ]


def _inside(points: np.ndarray, box, margin: float = 0.0) -> np.ndarray:
    x, y, w, h = box[:4]
    return (
        (points[:, 0] > x - margin)
        & (points[:, 0] < x + w + margin)
        & (points[:, 1] > y - margin)
        & (points[:, 1] < y + h + margin)
    )


def _distance(points: np.ndarray, box) -> float:
    """The distance from a path to a box (0 where it touches it)."""
    x, y, w, h = box[:4]
    dx = np.maximum(np.maximum(x - points[:, 0], points[:, 0] - (x + w)), 0)
    dy = np.maximum(np.maximum(y - points[:, 1], points[:, 1] - (y + h)), 0)
    return float(np.hypot(dx, dy).min())


def _ends_at(edge: np.ndarray, rect) -> bool:
    """Whether the edge starts or ends on the border of ``rect``."""
    return any(_inside(edge[[k]], rect, margin=1.0)[0] for k in (0, -1))


def _scalar(value: float) -> cr.Tensor:
    return cr.tensor([value], requires_grad=True)


def _mlp_loss_graph():
    """A 2-3-1 logistic network's squared error on one case, as `chainrule graph --model`
    draws a network it cannot write out unit by unit: every op of the modules and the loss."""
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Logistic(), cr.nn.Linear(3, 1),
                           cr.nn.Logistic())  # fmt: skip
    x, t = cr.tensor(np.array([[0.2, -0.7]])), cr.tensor(np.array([[1.0]]))
    loss = ((net(x) - t) ** 2).sum() * 0.5
    return graph(loss, names={id(p): name for name, p in net.named_parameters()})


def _y_times_y_plus_y():
    y = _scalar(0.5)
    return graph((y * y + y).sum())


def _seed():
    return seed_graph()[0]


def _seed_hidden():
    return seed_graph()[0].without()


# --- 1. the k edges of one input read k times are k paths -----------------------------------


def _parallel_edges(svg: str, n: int) -> list[np.ndarray]:
    """The ``n`` edges that leave the bottom box and end at the box above it."""
    rects = sorted(_rects(svg), key=lambda r: -r[1])  # the leaf lowest
    leaf, consumer = rects[0], rects[1]
    found = [e for e in _edges(svg) if _ends_at(e, leaf) and _ends_at(e, consumer)]
    assert len(found) == n, f"{len(found)} edges between the leaf and its consumer, not {n}"
    return found


def _apart(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two paths run: the farthest any point of one is from the other path."""
    gaps = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    return float(max(gaps.min(axis=1).max(), gaps.min(axis=0).max()))


@pytest.mark.parametrize("k", [2, 3])
def test_an_input_read_k_times_by_one_op_is_drawn_as_k_separate_paths(k):
    """x * x sums two paths into x's gradient; both edges were one line drawn twice."""
    x = _scalar(0.5)
    y = x * x if k == 2 else cr.concatenate([x, x, x])
    g = graph(y.sum())
    leaf = next(n for n in g.nodes.values() if n.op == "leaf")
    # the chain rule's sum, against the closed form: d(x*x)/dx = 2x, d(sum [x, x, x])/dx = 3
    sent = [e.contribution.item() for e in g.consumers(leaf.id)]
    assert sent == pytest.approx([0.5] * 2 if k == 2 else [1.0] * 3)
    assert leaf.grad.item() == pytest.approx(1.0 if k == 2 else 3.0)

    svg = g.to_svg(use_graphviz=False)
    paths = _parallel_edges(svg, k)
    for i in range(k):
        for j in range(i + 1, k):
            assert _apart(paths[i], paths[j]) >= 20, (i, j)  # not one path drawn twice
            mid_i, mid_j = paths[i][len(paths[i]) // 2], paths[j][len(paths[j]) // 2]
            assert np.hypot(*(mid_i - mid_j)) >= 20, (mid_i, mid_j)
    # each path its own label: every label of the k is nearest to a different path
    labels = [t for t in _texts(svg) if t[4] == f"sends back {sent[0]:g}"]
    assert len(labels) == k
    nearest = set()
    for label in labels:
        gaps = [_distance(path, label) for path in paths]
        assert sorted(gaps)[1] - sorted(gaps)[0] > 6, gaps  # clearly one path's, not a tie
        nearest.add(int(np.argmin(gaps)))
    assert nearest == set(range(k))


# --- 2. no edge runs behind a box ----------------------------------------------------------


@pytest.mark.parametrize("make", [_y_times_y_plus_y, _seed], ids=["y*y+y", "seed"])
def test_no_edge_runs_behind_a_box_it_does_not_join(make):
    """y feeds y * y (a level up) and the sum (two levels up): its edge to the sum ran behind
    y * y's box, so the drawing hid one of the three paths its gradient sums."""
    svg = make().to_svg(use_graphviz=False)
    rects = _rects(svg)
    for edge in _edges(svg):
        for rect in rects:
            if _ends_at(edge, rect):
                continue
            assert not _inside(edge, rect).any(), (edge[0], edge[-1], rect)


# --- 3. no label is written across an edge --------------------------------------------------


@pytest.mark.parametrize(
    "make", [_mlp_loss_graph, _seed, _seed_hidden],
    ids=["mlp loss", "seed", "seed, implementation hidden"],
)  # fmt: skip
def test_no_label_is_written_across_an_edge(make):
    """Labels kept off boxes and other labels only: "sends back ..." was written across the
    edges of the seed's graph and a small network's loss graph."""
    svg = make().to_svg(use_graphviz=False)
    edges, texts = _edges(svg), _texts(svg)
    assert any(t[4].startswith("sends back") for t in texts)
    crossed = [
        (text[4], k) for text in texts for k, edge in enumerate(edges) if _inside(edge, text).any()
    ]
    assert crossed == []
    assert "[1]" not in svg  # and every label found a place beside its edge


# --- 4. the same graph, the same drawing ---------------------------------------------------


def test_the_layout_is_deterministic():
    """Two recordings of one computation (new tensors, new ids) draw the same SVG, byte for
    byte, and drawing one graph twice does too."""
    first, second = _mlp_loss_graph(), _mlp_loss_graph()
    assert first.to_svg(use_graphviz=False) == second.to_svg(use_graphviz=False)
    assert first.to_svg(use_graphviz=False) == first.to_svg(use_graphviz=False)
    y = _y_times_y_plus_y()
    assert y.to_svg(use_graphviz=False) == _y_times_y_plus_y().to_svg(use_graphviz=False)
