"""Computation graphs: values, gradients and per-consumer contributions; DOT and SVG output."""

import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer import explain
from chainrule.viz.graph import graph, seed_graph
from chainrule.viz.network import network_svg


def test_fan_out_contributions_sum_to_the_gradient():
    y = cr.tensor([0.5, -1.0], requires_grad=True)
    out = (y * y + 3 * y).sum()  # y feeds two consumers
    g = graph(out)
    node = g.nodes[id(y)]
    contributions = [e.contribution for e in g.consumers(id(y))]
    assert len(contributions) == 3  # y * y reads y twice, 3 * y once
    np.testing.assert_allclose(sum(contributions), node.grad)
    np.testing.assert_allclose(node.grad, 2 * y.numpy() + 3)
    assert y.grad is None  # drawing does not touch .grad


def test_graph_runs_the_rules_of_primitives_that_save_values():
    """softmax_cross_entropy keeps y - t for its rule; the graph's own pass recomputes it."""
    logits = cr.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], requires_grad=True)
    loss = cr.softmax_cross_entropy(logits, [0, 2])
    g = graph(loss)
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    expected = (p - np.eye(3)[[0, 2]]) / 2
    np.testing.assert_allclose(g.nodes[id(logits)].grad, expected, rtol=1e-12)
    loss.backward()  # the saved value is still there for the real backward
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-12)


def test_seed_graph_shows_the_sum_over_j_at_each_hidden_unit():
    g, named = seed_graph()
    d = explain(perturbation=False)
    for i in range(2):
        node = g.nodes[id(named[f"y_{i + 1}"])]
        sent = sorted(float(e.contribution) for e in g.consumers(node.id))
        expected = sorted(t.product for t in d.terms(1, i))
        np.testing.assert_allclose(sent, expected, atol=1e-14)
        assert float(node.grad) == pytest.approx(d.dE_dy(1, i).value, abs=1e-14)
    dot = g.to_dot()
    assert dot.startswith("digraph") and "(sum of 3)" in dot and "sends back" in dot


def test_svg_parses_without_graphviz():
    g, _ = seed_graph()
    svg = g.to_svg(use_graphviz=False)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == len(g.nodes)


def test_a_released_graph_is_refused_with_a_hint():
    y = cr.tensor([0.5], requires_grad=True)
    out = (cr.sigmoid(y) * 2).sum()
    out.backward()
    with pytest.raises(cr.GraphFreedError, match="retain_graph=True") as error:
        graph(out)
    # the message is graph()'s own, names the call that freed it and says what to do
    message = str(error.value)
    assert message.startswith("graph: ") and "freed by an earlier backward()" in message
    assert "call graph() before that call" in message
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).exp().sum()
    cr.gradient(loss, [w])  # freed by cr.gradient: it was said to be backward()'s
    with pytest.raises(cr.GraphFreedError, match=r"freed by an earlier cr\.gradient\(\)"):
        graph(loss)
    out2 = (cr.sigmoid(y) * 2).sum()
    out2.backward(retain_graph=True)
    assert graph(out2).nodes[id(y)].grad is not None


def test_network_diagram_labels_edges_with_w_and_w_dE_dz():
    d = explain(perturbation=False)
    root = ET.fromstring(network_svg(d))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 7
    w12, term = d.connections[1].weight[0, 1], d.terms(1, 0)[1].product
    assert f"w_12={w12:.3g}" in texts and f"w·∂E/∂z={term:.3g}" in texts


def test_a_batchs_network_diagram_says_which_case_its_units_show():
    """The header gave the batch's E and the units one case's numbers (its share of the mean's
    gradient: 1/600 of its own) with nothing saying so."""
    model = cr.nn.Sequential(cr.nn.Linear(2, 2, dtype="float64", rng=0))
    x, labels = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.2]]), np.array([0, 1, 1])
    d = explain(model, x, labels, "cross-entropy", check=False, perturbation=False)
    texts = [t.text for t in ET.fromstring(network_svg(d, case=1)).iter(
        "{http://www.w3.org/2000/svg}text")]  # fmt: skip
    head = f"E = {d.error:.4g} over 3 cases; the units show case 2"
    assert any(text.endswith(head) for text in texts)
    assert f"∂E/∂z={d.layers[1].dE_dz[1, 0]:.3g}" in texts  # case 2's, not case 1's
    one = explain(model, x[:1], labels[:1], "cross-entropy", check=False, perturbation=False)
    assert "cases" not in network_svg(one)


@pytest.mark.parametrize("case", [-1, 3, 7])
def test_a_network_diagram_of_a_case_the_derivation_lacks_is_refused(case, tmp_path):
    """case=-1 drew the last case (numpy's wrap) and case=7 of 3 raised a bare IndexError."""
    from chainrule.errors import UserError
    from chainrule.viz.network import diagram, save_network_svg

    model = cr.nn.Sequential(cr.nn.Linear(2, 2, dtype="float64", rng=0))
    x, labels = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.2]]), np.array([0, 1, 1])
    d = explain(model, x, labels, "cross-entropy")
    ET.fromstring(network_svg(d, case=2))
    for draw in (network_svg, diagram):  # each named as called
        message = (
            f"{draw.__name__}: case {case} is out of range; the derivation has 3 cases (0 to 2)"
        )
        with pytest.raises(UserError) as error:
            draw(d, case)
        assert str(error.value) == message
    with pytest.raises(UserError, match="out of range"):
        save_network_svg(d, tmp_path / "n.svg", case)
    assert not (tmp_path / "n.svg").exists()


def test_cli_graph(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph"]) == 0  # no options: a file, and one line saying where
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines()[0] == "wrote computation-graph.svg"
    ET.parse(tmp_path / "computation-graph.svg")
    assert main(["graph", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph")
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 0
    ET.parse(tmp_path / "g.svg")
    assert main(["graph", "--kind", "network", "--out", str(tmp_path / "n.svg")]) == 0
    ET.parse(tmp_path / "n.svg")
    assert main(["graph", "--kind", "pie"]) == 2


def test_a_graph_too_large_to_draw_is_refused_before_any_work() -> None:
    from chainrule.viz.graph import MAX_GRAPH_TENSORS

    a = cr.tensor([0.5], requires_grad=True)
    y = a
    for _ in range(MAX_GRAPH_TENSORS // 2):
        y = y * 1.0001 + a
    with pytest.raises(
        ValueError, match=f"tensors, and a drawing shows at most {MAX_GRAPH_TENSORS}"
    ):
        graph(y.sum())


def _fan_outs(g):
    return {g.nodes[nid].title for nid in g.nodes if g.is_fan_out(nid)}


def test_a_number_written_twice_is_two_constants_not_a_fan_out():
    """Equal numbers share one cached constant tensor: it was drawn as one node feeding both
    ops, shaded as a fan-out whose gradient is a sum: the wrong lesson."""
    x = cr.tensor(0.5, requires_grad=True)
    y = cr.tensor(-1.5, requires_grad=True)
    g = graph(x * 2.0 + y * 2.0)
    twos = [n for n in g.nodes.values() if n.op == "leaf" and float(n.value) == 2.0]
    assert len(twos) == 2 and all(len(g.consumers(n.id)) == 1 for n in twos)
    assert not _fan_outs(g) and "#fff4d6" not in g.to_dot()
    assert g.nodes[id(x)].grad == 2.0 and g.nodes[id(y)].grad == 2.0


def test_a_tensor_used_twice_without_a_gradient_is_one_node_but_not_shaded_as_a_sum():
    c = cr.tensor(3.0)
    x = cr.tensor(0.5, requires_grad=True)
    g = graph(x * c + c * x)
    assert len(g.consumers(id(c))) == 2  # the same tensor, read twice
    assert _fan_outs(g) == {"leaf"} and g.is_fan_out(id(x)) and not g.is_fan_out(id(c))
    assert float(g.nodes[id(x)].grad) == 6.0


def test_the_seed_graph_reads_the_target_row_once_and_shades_the_sums_over_consumers():
    """E is the library's SquaredError on the row of y_j: one target row, read once by t - y,
    which its square (t - y)·(t - y) reads twice (a fan-out, as y_1 and y_2 are)."""
    g, _ = seed_graph()
    (target,) = [n for n in g.nodes.values() if n.op == "leaf" and np.ndim(n.value) == 2]
    assert np.asarray(target.value).tolist() == [[1.0, 0.0, 1.0]] and not target.requires_grad
    assert len(g.consumers(target.id)) == 1
    assert _fan_outs(g) == {"y_1", "y_2", "sub"}


def test_a_zoom_shades_the_inputs_not_the_cotangent():
    x = cr.tensor([[0.5, -1.0]])
    w = cr.tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
    from chainrule.viz.graph import zoom

    g = zoom(cr.linear(x, w, cr.tensor([0.0, 0.0], requires_grad=True)))
    assert _fan_outs(g) == {"y_1", "y_2"}


def _fake_dot(tmp_path, monkeypatch, script: str) -> None:
    """A 'dot' on the PATH that runs ``script`` (a shell body) instead of graphviz."""
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")


def test_a_graphviz_that_takes_too_long_gives_way_to_the_built_in_layout(tmp_path, monkeypatch):
    """dot's layout of a 50-step unrolled loop took minutes, with no timeout."""
    import chainrule.viz.graph as viz_graph

    _fake_dot(tmp_path, monkeypatch, "sleep 30")
    monkeypatch.setattr(viz_graph, "GRAPHVIZ_SECONDS", 0.3)
    x = cr.tensor(0.5, requires_grad=True)
    g = graph(x * x)
    svg = g.to_svg()
    ET.fromstring(svg)
    assert g.notes == ["graphviz's 'dot' took more than 0.3 s to lay this graph out, so "
                       "chainrule drew the SVG itself"]  # fmt: skip


def test_a_graphviz_that_fails_is_named_not_called_missing(tmp_path, monkeypatch):
    _fake_dot(tmp_path, monkeypatch, "echo 'Error: syntax error in line 3' >&2; exit 1")
    g = graph(cr.tensor(0.5, requires_grad=True) * 2.0)
    ET.fromstring(g.to_svg())
    assert g.notes == ["graphviz's 'dot' failed (Error: syntax error in line 3), so chainrule "
                       "drew the SVG itself"]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [("g.png", None, "ComputationGraph.save: cannot write a .png file"),
     ("g.svg", "pdf", "ComputationGraph.save: cannot write 'pdf'; it writes svg, dot"),
     ("g.txt", None, "it writes .svg, .dot, .gv")],
)  # fmt: skip
def test_a_graph_is_not_saved_as_svg_under_another_format_s_name(tmp_path, name, fmt, message):
    """save('g.png') and save(p, 'pdf') wrote SVG text, silently."""
    g = graph(cr.tensor(0.5, requires_grad=True) * 2.0)
    with pytest.raises(ValueError, match=re.escape(message)):
        g.save(tmp_path / name, fmt)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(
    ("name", "fmt", "starts"),
    [("g.DOT", None, "digraph"), ("g", "DOT", "digraph"), ("g.SVG", None, "<")],
)
def test_a_graph_s_format_is_read_in_any_case(tmp_path, name, fmt, starts):
    g = graph(cr.tensor(0.5, requires_grad=True) * 2.0)
    g.save(tmp_path / name, fmt)
    assert (tmp_path / name).read_text().lstrip().startswith(starts)


def test_a_network_diagram_and_curves_refuse_a_name_they_cannot_write(tmp_path):
    from chainrule.viz.curves import plot_history
    from chainrule.viz.network import diagram

    with pytest.raises(ValueError, match="NetworkDiagram.save: cannot write a .png file"):
        diagram(explain()).save(tmp_path / "n.png")
    with pytest.raises(ValueError, match="plot_history: cannot write a .svg file"):
        plot_history([{"epoch": 1, "loss": 0.5}], tmp_path / "c.svg")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("records", "message"),
    [([{"loss": 0.5}], "record 0 must be a dict with a whole-number 'epoch'"),
     ([{"epoch": 1, "loss": "0.5"}], "record 0 (epoch 1) has loss='0.5', not a number"),
     ([{"epoch": 1, "loss": 0.5}, 3], "record 1 must be a dict")],
)  # fmt: skip
def test_plot_history_names_a_record_it_cannot_plot(tmp_path, records, message):
    """A record without an epoch raised KeyError: 'epoch'; a string loss matplotlib's error."""
    from chainrule.viz.curves import plot_history

    with pytest.raises(ValueError, match=re.escape(message)):
        plot_history(records, tmp_path / "c.png")


@pytest.mark.parametrize(
    ("args", "starts"),
    [(["graph", "--out", "-"], "<svg"), (["graph", "--out", "-", "--format", "dot"], "digraph"),
     (["graph", "--kind", "network", "--out", "-"], "<svg"),
     (["explain", "--out", "-"], "Backpropagation step by step")],
)  # fmt: skip
def test_out_dash_is_standard_output(tmp_path, capsys, monkeypatch, args, starts):
    """'--out -' wrote a file named '-'."""
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    assert capsys.readouterr().out.startswith(starts)
    assert not list(tmp_path.iterdir())


def test_a_model_s_graph_names_each_layer_s_weights(trained_run, capsys):
    """Every layer's weight node was labelled plain 'weight' (and 'bias'): which was which?"""
    run = trained_run("csv squared-error")
    assert main(["graph", "--model", str(run), "--format", "dot", "--out", "-"]) == 0
    dot = capsys.readouterr().out
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'label="{name} (' in dot


@pytest.mark.parametrize(("name", "fmt"), [("x.png", "svg"), ("x.svg", "dot"), ("x.dot", "svg")])
def test_a_format_and_a_name_that_disagree_are_refused(tmp_path, name, fmt):
    """save('x.png', format='svg') wrote SVG text into a .png (the suffix was checked only
    when no format was given)."""
    g = graph(cr.tensor(0.5, requires_grad=True) * 2.0)
    with pytest.raises(ValueError, match=f"format '{fmt}' but the name .* ends in"):
        g.save(tmp_path / name, fmt)
    assert main(["graph", "--format", fmt, "--out", str(tmp_path / name)]) == 2
    assert not (tmp_path / name).exists()
    assert main(["graph", "--format", fmt.upper(), "--out", "-"]) == 0  # any case, as the API


def test_constants_made_before_the_cache_cleared_are_still_one_per_use(monkeypatch):
    """The scalar cache clears at 4096 entries: constants made before were drawn as one shared
    node again."""
    from chainrule.ops import shape

    x = cr.tensor(0.5, requires_grad=True)
    y = cr.tensor(-1.5, requires_grad=True)
    total = x * 7.25 + y * 7.25
    shape._scalars.clear()  # as when 4096 other constants came after them
    g = graph(total)
    sevens = [n for n in g.nodes.values() if n.op == "leaf" and float(n.value) == 7.25]
    assert len(sevens) == 2 and not _fan_outs(g)
    c = cr.tensor(7.25)  # the user's own tensor, used twice: one node
    assert len([n for n in graph(x * c + c * y).nodes.values() if n.op == "leaf"]) == 3


def test_out_dot_slash_dash_is_a_file_named_dash(tmp_path, capsys, monkeypatch):
    """'./-' names a file, as the Unix tools take it; pathlib made it '-', so it went to stdout."""
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--out", "./-", "--format", "dot"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "-").read_text().startswith("digraph")
    assert main(["graph", "--out", "-/", "--format", "dot"]) == 2  # a directory's name, as ever
    assert "'-/' names a directory, not a file" in capsys.readouterr().err


def test_export_refuses_standard_output(tmp_path, capsys, monkeypatch, trained_run):
    """An ONNX file went into a file named '-'."""
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(trained_run("digits")), "--format", "onnx", "--out", "-"]) != 0
    assert "--out -: export writes a file, not standard output" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_text_reprs_are_one_short_line():
    """A console or a notebook's text/plain showed every array, node id and the whole SVG."""
    from chainrule.viz.network import diagram

    d = explain()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    g = graph((x * x).sum())
    assert (
        repr(d) == f"Derivation(2-2-3 network, 1 case, E = {d.error:.6g}, squared-error, float64)"
    )
    assert repr(g) == f"ComputationGraph({len(g.nodes)} nodes, {len(g.edges)} edges)"
    assert repr(diagram(d)).startswith("NetworkDiagram(svg of ") and len(repr(diagram(d))) < 60


@pytest.mark.parametrize("free", ["backward", "gradient"])
def test_zoom_of_a_released_op_names_the_call_that_freed_it(free):
    # it said "freed by backward" whatever freed it, and was a ValueError where graph()'s is this
    from chainrule.viz.graph import zoom

    x = cr.tensor([[0.5, -1.0]], requires_grad=True)
    z = cr.nn.Linear(2, 2, rng=0)(x)
    loss = (z * z).sum()
    loss.backward() if free == "backward" else cr.gradient(loss, [x])
    call = "backward()" if free == "backward" else "cr.gradient()"
    with pytest.raises(cr.GraphFreedError) as error:
        zoom(z)
    assert str(error.value).startswith("zoom: the graph through 'linear' was freed by an earlier ")
    assert f"freed by an earlier {call}; pass retain_graph=True to that {call}" in str(error.value)
    assert str(error.value).endswith("; or call zoom() before that call")
