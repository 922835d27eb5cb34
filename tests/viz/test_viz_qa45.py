"""The drawings' QA round 45: non-finite weights refused, PNG writers refusing other suffixes,
the user's matplotlib backend left alone, every text on its canvas, use_graphviz=True's error,
and the network diagram's formats on the command line."""

import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.viz.graph import graph
from chainrule.viz.network import network_svg
from chainrule.viz.style import Box, Placer

pytest.importorskip("matplotlib")

SVG = "{http://www.w3.org/2000/svg}"


# 1. a NaN blanked the whole Hinton diagram; an inf shrank every other square to nothing


def _axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    return figure.subplots()


@pytest.mark.parametrize(("bad", "word"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_hinton_refuses_a_weight_that_is_not_finite(bad, word):
    from chainrule.viz.weights import hinton

    ax = _axes()
    with pytest.raises(ValueError, match=re.escape(f"hinton: weights[1, 1] is {word};")):
        hinton(ax, np.array([[1.0, -0.5], [0.25, bad]]))
    assert len(ax.patches) == 0  # refused before a square was drawn


def test_hinton_refuses_a_max_weight_that_is_not_finite():
    from chainrule.viz.weights import hinton

    with pytest.raises(ValueError, match="hinton: max_weight is inf"):
        hinton(_axes(), np.array([[1.0, -0.5]]), max_weight=np.inf)


def test_plot_person_units_names_the_first_weight_that_is_not_finite(tmp_path):
    from chainrule.viz.weights import plot_person_units

    weights = np.random.default_rng(0).normal(size=(24, 6))
    weights[3, 2] = np.nan
    weights[5, 0] = np.inf
    path = tmp_path / "fig4.png"
    message = "plot_person_units: weights[3, 2] is nan (and 1 more not finite)"
    with pytest.raises(ValueError, match=re.escape(message)):
        plot_person_units(weights, path)
    assert not path.exists()


# 2. PNG bytes went silently into a file named .svg


def _person_units(path):
    from chainrule.viz.weights import plot_person_units

    plot_person_units(np.random.default_rng(0).normal(size=(24, 6)), path)


def _path_costs(path):
    from chainrule.viz.paths import plot_path_costs

    plot_path_costs([2, 2, 3], path)


def _health(path):
    from chainrule.explainer.health import GradientHealth

    health = GradientHealth()
    health.history = [{"epoch": 1, "grad_norms": {"w": 0.1}, "saturation": {"1": 0.2}}]
    health.plot(path)


@pytest.mark.parametrize(
    ("draw", "who"),
    [(_person_units, "plot_person_units"), (_path_costs, "plot_path_costs"),
     (_health, "GradientHealth.plot")],
)  # fmt: skip
def test_a_png_plot_refuses_another_suffix_before_writing(tmp_path, draw, who):
    for name in ("fig.svg", "fig.PDF"):
        path = tmp_path / name
        suffix = os.path.splitext(name)[1].lower()
        message = f"{who}: cannot write a {suffix} file ({path}); it writes .png"
        with pytest.raises(ValueError, match=re.escape(message)):
            draw(path)
        assert not path.exists()
    for name in ("fig.png", "fig.PNG"):
        draw(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


# 3. GradientHealth.plot switched the user's backend to Agg (a notebook's inline plots stopped)


def test_health_plot_leaves_the_users_matplotlib_backend_alone(tmp_path, monkeypatch):
    import matplotlib

    switched = []
    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: switched.append(a))
    before = matplotlib.get_backend()
    _health(tmp_path / "health.png")
    assert switched == []
    assert matplotlib.get_backend() == before
    assert (tmp_path / "health.png").read_bytes()[:4] == b"\x89PNG"


# 4, 5. texts off the canvas: an end-anchored edge label at x < 0, a narrow network's title


def _off_canvas(svg):
    """Each text whose estimated box (0.6 em a character) leaves the canvas's width."""
    root = ET.fromstring(svg)
    width = float(root.get("width"))
    bad = []
    for t in root.iter(f"{SVG}text"):
        size, text = float(t.get("font-size", 10)), t.text or ""
        x, w = float(t.get("x")), 0.6 * size * len(text)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor", "start")]
        if left < 0 or left + w > width:
            bad.append((round(left), round(left + w), width, text))
    return bad


def test_the_placer_keeps_labels_on_the_canvas():
    placer = Placer(Box(0, 0, 100, 50))
    # end-anchored at x=5 would start at a negative x: the next candidate is taken
    assert placer.place([(5, 20, "end"), (5, 20, "start")], "abcdef", 9) == (5, 20, "start")
    assert placer.place([(95, 40, "start"), (95, 60, "end")], "abc", 9) is None
    assert Placer().place([(5, 20, "end")], "abcdef", 9) == (5, 20, "end")  # no canvas given


def test_an_edge_label_is_not_placed_off_the_graphs_canvas():
    x = cr.tensor([0.3456, 0.8216, 0.3304], requires_grad=True)
    y = x * x + x * 2.0 + (x * 3.0).sum()
    svg = graph(y.sum()).to_svg(use_graphviz=False)
    assert "sends back [0.3456, 0.8216, 0.3304]" in svg
    assert _off_canvas(svg) == []


def test_a_graphs_unplaced_labels_listed_below_it_fit_its_canvas():
    """A narrow graph (one box a row) whose labels have no free spot: the list below it ran past
    the right edge."""
    x = cr.tensor([0.3456, -0.8216, 0.3304, 0.125], requires_grad=True)
    y = x
    for _ in range(3):
        y = cr.tanh(y) * x
    svg = graph(y.sum()).to_svg(use_graphviz=False)
    assert _off_canvas(svg) == []


def test_a_narrow_networks_title_fits_its_canvas():
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(1, 1), cr.nn.Logistic(), cr.nn.Linear(1, 1),
                           cr.nn.Logistic())  # fmt: skip
    x, t = np.array([[1.0], [0.0], [0.5]]), np.array([[1.0], [0.0], [1.0]])
    d = cr.explain(net, x, t, check=False, perturbation=False)
    svg = network_svg(d, case=2)
    assert "over 3 cases; the units show case 3" in svg
    assert _off_canvas(svg) == []


def test_the_seed_drawings_stay_on_their_canvas():
    from chainrule.viz.graph import seed_graph

    g, _ = seed_graph()
    assert _off_canvas(g.to_svg(use_graphviz=False)) == []
    assert _off_canvas(g.without().to_svg(use_graphviz=False)) == []
    assert _off_canvas(network_svg(cr.explain(perturbation=False))) == []


# 6. use_graphviz=True raised "... so chainrule drew the SVG itself", having drawn nothing


def test_use_graphviz_true_without_dot_says_so_and_how_to_draw_without_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' on it
    g = graph(cr.tensor([1.0], requires_grad=True) * 2.0)
    with pytest.raises(RuntimeError) as raised:
        g.to_svg(use_graphviz=True)
    message = str(raised.value)
    assert "'dot' is not installed" in message and "use_graphviz=False" in message
    assert "drew" not in message
    assert g.notes == []
    # the default still draws it and says why
    ET.fromstring(g.to_svg())
    assert len(g.notes) == 1 and "drew the SVG itself" in g.notes[0]


def test_use_graphviz_true_with_a_failing_dot_says_it_failed(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 3' >&2; exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    g = graph(cr.tensor([1.0], requires_grad=True) * 2.0)
    with pytest.raises(RuntimeError) as raised:
        g.to_svg(use_graphviz=True)
    message = str(raised.value)
    assert "'dot' failed (Error: syntax error in line 3)" in message
    assert "use_graphviz=False" in message and "drew" not in message


# 7. chainrule graph --kind network --out n.png offered .dot and .gv, which it then refused


@pytest.mark.parametrize("name", ["n.png", "n.gv", "n.dot"])
def test_cli_network_names_only_the_svg_suffix(tmp_path, capsys, name):
    assert main(["graph", "--kind", "network", "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule: ") and err.endswith("it writes .svg"), err
    assert not (tmp_path / name).exists()


def test_a_graph_nodes_lines_stay_inside_its_box():
    """A node's longest line (a value and a gradient of four long numbers) ran past its 210px
    box onto the box beside it; every box is now as wide as the widest node's line needs."""
    x = cr.tensor([[0.3456789, -0.8216543], [0.3304321, 0.1254321]], requires_grad=True)
    w = cr.tensor([[1.2345678, -2.3456789], [3.4567891, -4.5678912]], requires_grad=True)
    svg = graph(((x @ w) * x).sum()).to_svg(use_graphviz=False)
    root = ET.fromstring(svg)
    boxes = [
        (float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
        for r in root.iter(f"{SVG}rect")
    ]
    checked = 0
    for t in root.iter(f"{SVG}text"):
        if t.get("font-size") != "10":  # edge labels (size 9) are placed by the Placer
            continue
        x0, y0 = float(t.get("x")), float(t.get("y"))
        right = x0 + 0.6 * 10 * len(t.text or "")
        (bx, _, bw, _), *_ = [
            b for b in boxes if b[0] <= x0 <= b[0] + b[2] and b[1] <= y0 <= b[1] + b[3]
        ]
        assert right <= bx + bw, (t.text, right, bx + bw)
        checked += 1
    assert checked >= 8
