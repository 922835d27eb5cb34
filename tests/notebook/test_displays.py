"""How chainrule's objects show themselves in a notebook: what IPython's display machinery gets.

Each display is checked for its content (the numbers it must show), and every SVG for parsing as
XML, through IPython's own formatter, the one a kernel uses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr

formatters = pytest.importorskip("IPython.core.formatters", reason="IPython is not installed")


def mime_bundle(obj) -> dict:
    """What a Jupyter front end receives for ``obj`` (IPython's DisplayFormatter)."""
    bundle, _ = formatters.DisplayFormatter().format(obj)
    return bundle


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag.endswith("svg"), root.tag
    return root


def test_tensor_shows_values_shape_and_grad():
    x = cr.tensor([[1.5, -2.25]], requires_grad=True)
    (x * x).sum().backward()
    page = mime_bundle(x)["text/html"]
    assert "shape (1, 2)" in page and "float64" in page and "requires_grad" in page
    assert "1.5" in page and "-2.25" in page  # the values
    assert "3." in page and "-4.5" in page  # and .grad = 2 x
    y = cr.sigmoid(x)
    assert "made by sigmoid" in mime_bundle(y)["text/html"]


def test_tensor_display_escapes_and_summarises_big_tensors():
    page = cr.zeros(10_000)._repr_html_()
    assert "..." in page and len(page) < 5_000


def test_derivation_shows_its_numbers_as_markdown():
    d = cr.explain()
    text = mime_bundle(d)["text/markdown"]
    assert "\\frac{\\partial E}{\\partial y_{1}}" in text  # maths for MathJax
    for unit in range(2):
        for term in d.terms(1, unit):
            assert f"{term.w:g}" in text
        assert f"{d.dE_dy(1, unit).value:.4g}" in text  # the sum over j, with its value


def test_computation_graph_is_an_svg_with_its_values():
    from chainrule.viz.graph import graph

    y = cr.tensor(0.25, requires_grad=True)
    out = cr.sigmoid(y * 3.0) + y
    g = graph(out, names={id(y): "y_in"})
    root = parse_svg(mime_bundle(g)["image/svg+xml"])
    text = " ".join(root.itertext())
    assert "y_in" in text and "sigmoid" in text
    assert "0.25" in text  # the leaf's value


def test_network_diagram_is_an_svg_with_the_units_values():
    from chainrule.viz.network import diagram

    d = cr.explain()
    root = parse_svg(mime_bundle(diagram(d))["image/svg+xml"])
    text = " ".join(root.itertext())
    assert f"{d.error:.4f}" in text
    assert f"{d.layers[1].y[0, 0]:.3f}"[:4] in text  # a hidden unit's y


def test_history_shows_a_curve_and_its_epochs():
    from chainrule.train import History

    h = History(
        {"epoch": k, "loss": 1.0 / k, "accuracy": None, "val_loss": 1.5 / k, "time": 0.1}
        for k in range(1, 31)
    )
    page = mime_bundle(h)["text/html"]
    assert "30 epochs" in page and "<th>val_loss</th>" in page
    assert "<th>accuracy</th>" not in page and "<th>time</th>" not in page  # empty, noise
    assert "0.05" in page and "0.03333" in page  # epoch 20's val_loss, epoch 30's loss
    assert "..." in page  # the middle epochs elided
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    root = parse_svg(svg)
    lines = [e for e in root.iter() if e.tag.endswith("polyline")]
    assert len(lines) == 2  # loss and val_loss
    points = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert len(points) == 30
    ys = [p[1] for p in points]
    assert ys == sorted(ys)  # a falling loss is drawn going down (SVG's y grows downwards)
    assert np.isfinite(ys).all()


def test_empty_history_says_so():
    from chainrule.train import History

    assert "no epochs" in History()._repr_html_()
