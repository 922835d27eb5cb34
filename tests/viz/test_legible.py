"""Drawings that can be read: no two labels overlap, one colour convention (the page's), and
implementation nodes hidden on request."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.explainer import explain
from chainrule.viz import style
from chainrule.viz.graph import IMPLEMENTATION_OPS, seed_graph
from chainrule.viz.network import network_svg

SVG = "{http://www.w3.org/2000/svg}"
CSS = Path(style.__file__).parent.parent / "web" / "static" / "style.css"


def _wide_network():
    """8 inputs under 16 hidden units (all drawn: every label on the page)."""
    rng = np.random.default_rng(3)
    layers = [(rng.normal(size=(8, 16)), rng.normal(size=16), "logistic"),
              (rng.normal(size=(16, 2)), rng.normal(size=2), "logistic")]  # fmt: skip
    return explain(layers, rng.normal(size=(1, 8)), [[1.0, 0.0]], perturbation=False, check=False)


def _drawings():
    g, _ = seed_graph()
    return {
        "seed graph": g.to_svg(use_graphviz=False),
        "seed graph, implementation hidden": g.without().to_svg(use_graphviz=False),
        "seed network": network_svg(explain(perturbation=False)),
        "8 x 16 network": network_svg(_wide_network()),
    }


def _boxes(svg):
    """Each text's box, estimated independently: 0.6 em per character, 1.15 em tall."""
    out = []
    for t in ET.fromstring(svg).iter(f"{SVG}text"):
        size, text = float(t.get("font-size", 10)), t.text or ""
        x, y, width = float(t.get("x")), float(t.get("y")), 0.6 * size * len(text)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[
            t.get("text-anchor", "start")
        ]
        out.append((left, y - 0.85 * size, width, 1.15 * size, text))
    return out


def _overlapping(boxes):
    bad = []
    for k, (x, y, w, h, a) in enumerate(boxes):
        for x2, y2, w2, h2, b in boxes[k + 1 :]:
            if not (x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y):
                bad.append((a, b))
    return bad


@pytest.mark.parametrize("name", ["seed graph", "seed graph, implementation hidden",
                                  "seed network", "8 x 16 network"])  # fmt: skip
def test_no_two_labels_overlap(name):
    svg = _drawings()[name]
    boxes = _boxes(svg)
    assert len(boxes) > 10
    assert _overlapping(boxes) == []


def test_the_seed_networks_edge_labels_are_all_on_the_edges():
    svg = network_svg(explain(perturbation=False))
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert sum(t.startswith("w_") for t in texts) == 2 * 2 + 2 * 3  # no legend needed
    assert not any(t.startswith("[") for t in texts)


def test_one_colour_convention_the_pages():
    css = CSS.read_text()
    assert re.search(r"--pos:\s*(#[0-9a-f]{6})", css).group(1) == style.POSITIVE
    assert re.search(r"--neg:\s*(#[0-9a-f]{6})", css).group(1) == style.NEGATIVE
    d = explain(perturbation=False)
    lines = list(ET.fromstring(network_svg(d)).iter(f"{SVG}line"))
    weights = [w for c in d.connections for w in c.weight.ravel()]
    assert sorted(line.get("stroke") for line in lines) == sorted(
        style.POSITIVE if w > 0 else style.NEGATIVE for w in weights if w != 0
    ) + [style.NEUTRAL] * sum(w == 0 for w in weights)
    g, named = seed_graph()
    dot = g.to_dot()
    y1 = g.nodes[id(named["y_1"])]
    for edge in g.consumers(y1.id):
        colour = style.POSITIVE if float(edge.contribution) > 0 else style.NEGATIVE
        assert f'sends back {float(edge.contribution):.4g}", color="{colour}"' in dot
    assert "#1f5fbf" not in network_svg(d) and "#c77800" not in dot


def test_hiding_implementation_nodes_keeps_every_number_that_arrives():
    g, named = seed_graph()
    h = g.without()
    assert not {n.op for n in h.nodes.values()} & set(IMPLEMENTATION_OPS)
    assert {n.op for n in g.nodes.values()} & set(IMPLEMENTATION_OPS)
    # every node left keeps its gradient, and the fan-outs still sum their contributions
    for nid, node in h.nodes.items():
        assert node is g.nodes[nid]
        sent = [e.contribution for e in h.consumers(nid) if e.contribution is not None]
        if len(sent) > 1 and node.grad is not None and node.requires_grad:
            np.testing.assert_allclose(sum(sent), node.grad, atol=1e-15)
    # each y_j now feeds the loss's t - y straight, carrying what the stack passed down to it;
    # the loss's own ops stay (its square: the sum stands over what it squared)
    error = next(nid for nid, n in h.nodes.items() if n.op == "sub")
    for j in (1, 2, 3):
        unit = id(named[f"y_j={j}"])
        (edge,) = h.consumers(unit)
        assert edge.dst == error
        np.testing.assert_allclose(edge.contribution, g.nodes[unit].grad, atol=1e-15)
    (square,) = {e.dst for e in h.consumers(error)}  # (t - y)·(t - y): two edges, one op
    (edge,) = h.consumers(square)
    total = h.nodes[edge.dst]
    assert total.op == "sum"
    np.testing.assert_allclose(np.sum(h.nodes[square].value), total.value)


def test_cli_graph_hides_implementation_nodes(tmp_path):
    out = tmp_path / "g.dot"
    assert main(["graph", "--hide-implementation", "--out", str(out), "--format", "dot"]) == 0
    text = out.read_text()
    assert "reshape" not in text and "concatenate" not in text and "(sum of 3)" in text


def test_no_two_labels_overlap_in_a_browser(chromium):
    """The browser's own text boxes (getBBox), the page test's check."""
    drawings = _drawings()
    page = chromium.new_page()
    try:
        for name, svg in drawings.items():
            page.set_content(f"<html><body>{svg}</body></html>")
            boxes = page.eval_on_selector_all(
                "svg text",
                "els => els.map(e => { const b = e.getBBox(); "
                "return [b.x, b.y, b.width, b.height, e.textContent]; })",
            )
            shrunk = [(x + 0.25, y + 0.25, w - 0.5, h - 0.5, t) for x, y, w, h, t in boxes]
            assert _overlapping(shrunk) == [], name
    finally:
        page.close()


def test_zoom_expands_a_linear_op_into_its_scalar_graph_with_the_same_numbers():
    import chainrule as cr
    from chainrule.viz.graph import zoom

    rng = np.random.default_rng(5)
    x = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    w = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = cr.tensor(rng.normal(size=2), requires_grad=True)
    g = rng.normal(size=(2, 2))
    z = cr.linear(x, w, b)
    drawing = zoom(z, g)
    by_name = {node.name: node for node in drawing.nodes.values() if node.name}
    for c in range(2):
        for j in range(2):
            node = by_name[f"z_{j + 1} (case {c + 1})"]
            assert float(node.value) == pytest.approx(z.numpy()[c, j], abs=1e-15)
    # the leaves' gradients are what the engine gives the tensor op's inputs
    dx, dw, db = cr.functional.gradient((z * cr.tensor(g)).sum(), [x, w, b])
    for c in range(2):
        for i in range(3):
            node = by_name[f"y_{i + 1} (case {c + 1})"]
            assert float(node.grad) == pytest.approx(dx.numpy()[c, i], abs=1e-14)
            assert len(drawing.consumers(node.id)) == 2  # y_i feeds one product per unit j
    for i in range(3):
        for j in range(2):
            assert float(by_name[f"w_{i + 1}{j + 1}"].grad) == pytest.approx(
                dw.numpy()[i, j], abs=1e-14
            )
    for j in range(2):
        assert float(by_name[f"b_{j + 1}"].grad) == pytest.approx(db.numpy()[j], abs=1e-14)
    assert _overlapping(_boxes(drawing.to_svg(use_graphviz=False))) == []
    with pytest.raises(ValueError, match="linear or matmul"):
        zoom(cr.sigmoid(z))
    big = cr.linear(cr.tensor(np.ones((10, 10)), requires_grad=True), cr.tensor(np.ones((10, 10))))
    with pytest.raises(ValueError, match="too many to draw"):
        zoom(big)
