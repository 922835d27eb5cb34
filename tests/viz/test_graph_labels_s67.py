"""The computation graph read as a micrograd learner reads ``draw_dot`` (QA round 67): the
gradient a box shows is named for what it is (dL/da, this one pass), with the leaf's ``.grad``
beside it where backward calls have added up something else (a forgotten ``zero_grad``); an
op's constant (``a ** 2``'s exponent) is on its box; calling the module ``cr.viz.graph(L)``
says which function to call; an arrowhead has its edge's colour."""

import html
import pickle
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz.graph import graph, layered_svg
from chainrule.viz.style import NEGATIVE, POSITIVE


def _texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg)]


def _dot_labels(g) -> dict[str, list[str]]:
    """Each node's lines in the DOT text, by its first line."""
    labels = re.findall(r'n\d+ \[label="([^"]*)"', g.to_dot())
    return {lines[0]: lines[1:] for lines in (label.split("\\n") for label in labels)}


def _scalar(value: float, name: str) -> cr.Tensor:
    t = cr.tensor(value, requires_grad=True)
    t.name = name
    return t


# 1. "grad" on a box was this pass's dE/dnode, not .grad: two backward calls without zero_grad
# left a.grad at 12 while the box said 6, and the bug the learner drew the graph for was hidden


def test_the_box_names_the_derivative_and_shows_an_accumulated_grad():
    a = _scalar(3.0, "a")
    L = a * a
    L.name = "L"
    L.backward(retain_graph=True)
    L.backward(retain_graph=True)
    assert float(a.grad.item()) == 12.0
    g = graph(L)
    lines = _dot_labels(g)
    assert lines["a (scalar)"] == ["value 3", "dL/da 6 (sum of 2)", ".grad holds 12"]
    assert lines["L = mul (scalar)"] == ["value 9", "dL/dL 1"]  # an op's .grad is not kept
    texts = _texts(layered_svg(g))
    assert "dL/da 6 (sum of 2)" in texts and ".grad holds 12" in texts
    assert g._repr_svg_().count(".grad holds 12") == 1  # the notebook's picture too


def test_a_grad_that_is_this_pass_s_or_none_adds_no_line():
    a, b = _scalar(2.0, "a"), _scalar(-3.0, "b")
    L = a * b + a
    before = _dot_labels(graph(L))
    assert before["a (scalar)"] == ["value 2", "dout/da -2 (sum of 2)"]  # an unnamed output
    L.backward(retain_graph=True)
    after = _dot_labels(graph(L))
    assert after == before  # .grad is what this pass gives: nothing more to say
    assert after["b (scalar)"] == ["value -3", "dout/db 2"]
    assert all(not line.startswith(".grad") for lines in after.values() for line in lines)


def test_the_four_lines_of_a_box_stay_inside_it():
    a = _scalar(3.0, "a")
    L = a * a
    for _ in range(2):
        L.backward(retain_graph=True)
    svg = layered_svg(graph(L))
    boxes = [
        tuple(map(float, box))
        for box in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="(\d+)" height="(\d+)"', svg)
    ]
    lines = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" font-size="10"[^>]*>([^<]*)<', svg)
    assert any(text.startswith(".grad") for *_, text in lines)
    for x, y, text in lines:
        (top, height) = next((by, h) for bx, by, w, h in boxes if bx < float(x) < bx + w
                             and by < float(y) < by + h + 30)  # fmt: skip
        assert float(y) <= top + height - 4, text  # its descenders inside the box too


# 2. a ** 2 and a ** 3 were both "power_scalar (scalar)"


@pytest.mark.parametrize(("exponent", "shown"), [(2, "**2"), (3, "**3"), (-0.5, "**-0.5")])
def test_a_power_shows_its_exponent(exponent, shown):
    a = _scalar(3.0, "a")
    labels = _dot_labels(graph(a**exponent))
    assert f"power_scalar {shown} (scalar)" in labels
    assert f"power_scalar {shown} (scalar)" in _texts(layered_svg(graph(a**exponent)))


def test_the_numbers_an_op_holds_are_on_its_box_and_its_gradient_is_right():
    v = cr.tensor([0.5, 2.0, -1.0], requires_grad=True)
    v.name = "v"
    out = cr.clip(v, 0, 1)
    out.name = "c"
    labels = _dot_labels(graph(out.sum()))
    assert "c = clip low=0 high=1 (3)" in labels
    assert labels["v (3)"][1] == "dout/dv [1, 0, 0]"  # clip's slope: 1 inside, 0 outside


# 3. cr.viz.graph(L) was "TypeError: 'module' object is not callable"


def test_calling_the_module_names_the_function():
    a = _scalar(3.0, "a")
    with pytest.raises(TypeError, match=r"cr\.viz\.graph\.graph\(L\)"):
        cr.viz.graph(a * a)
    assert cr.viz.graph.graph(a * a).nodes  # the function, as the message says
    assert pickle.loads(pickle.dumps(cr.viz.graph)) is cr.viz.graph  # pickled by name


# 4. every arrowhead was the neutral grey, on orange and blue edges


def test_each_arrowhead_has_its_edge_s_colour():
    a, b = _scalar(2.0, "a"), _scalar(-3.0, "b")
    svg = layered_svg(graph(a * b + a))  # a fan-out (a), an orange and a blue edge
    markers = dict(re.findall(r'<marker id="([^"]+)".*?fill="([^"]+)"', svg))
    paths = re.findall(
        r'<path d="[^"]*" fill="none" stroke="([^"]+)"[^>]*marker-end="url\(#([^)]+)\)"', svg
    )
    assert {colour for colour, _ in paths} >= {POSITIVE, NEGATIVE}
    for colour, marker in paths:
        assert markers[marker] == colour


def test_a_grad_assigned_by_hand_draws(tmp_path):
    """``a.grad = 0`` (micrograd's way to zero it), a float or an array: the drawing read
    ``.grad.numpy()`` of it and raised AttributeError (review of c67a817). The oracle: the
    number assigned, shown beside this pass's dL/da = 2a = 4."""
    for held in (0, 0.0, np.zeros(())):
        a = cr.tensor(2.0, requires_grad=True)
        (a * a).backward()
        a.grad = held
        a.name = "a"
        L = a * a + 1
        L.name = "L"
        text = graph(L).to_dot()
        assert "dL/da 4" in text and ".grad holds 0" in text
