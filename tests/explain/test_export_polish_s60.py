"""What a course author exporting handouts found (s60): plurals, a note's period, raw HTML."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.explainer import render

pytest.importorskip("pydantic")


def test_one_unit_left_out_is_one_more_unit() -> None:
    """It read "... 1 more units" (--max-units 1 on a layer of two)."""
    net = cr.nn.mlp([3, 2, 3], output="logistic", rng=0, dtype="float64")
    d = cr.explain(net, [[0.5, -1.0, 2.0]], [[1.0, 0.0, 1.0]])
    text = render(d, "text", max_units=1)
    assert "... 1 more unit (all are in the JSON, cr.explainer.to_json(d))." in text
    assert "... 2 more units (all are in the JSON, cr.explainer.to_json(d))." in text
    assert "1 more units" not in text


def test_the_step_note_ends_its_sentence() -> None:
    net = cr.nn.mlp([3, 4, 2], dtype="float64", rng=1)
    net[2].weight.data[0, 0] = 1e4  # the y's of layer 1 take a step of eps / 1e4
    d = cr.explain(net, [[0.5, -1.0, 2.0]], [[1.0, 0.0]])
    (note,) = [n for n in d.notes if n.startswith("Finite-difference steps below eps")]
    assert note.endswith("slope wrong).")


def test_a_name_from_a_network_file_is_no_raw_html_in_markdown() -> None:
    """A parameter's name given in a page's network JSON ran as HTML where the Markdown export
    is rendered (a security review); LaTeX and HTML already escaped it. "z < 0" stays as it is."""
    from chainrule.web.network import NetworkState

    net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0, dtype="float64")
    net[0].weight.requires_grad_(False)
    state = NetworkState.from_model(net, [0.5, -1.0], [1.0], "squared-error")
    state.names = [["<img src=x onerror=alert(1)>", "0.bias"], state.names[1]]
    state.frozen = ["<img src=x onerror=alert(1)>"]
    markdown = render(state.derivation(), "markdown")
    assert "&lt;img src=x onerror=alert(1)>" in markdown and "<img" not in markdown
