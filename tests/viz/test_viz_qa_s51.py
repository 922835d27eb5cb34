"""The drawings' QA round 51: the network diagram in the derivation's notation, zoom's limit in
its own words, the diagram's legend (only marks drawn, each naming its layers; 0 for -0; a note
when labels are left out), plot_history's non-finite epochs, and diagram()'s errors named."""

import html
import re
from collections import Counter

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer.network import ExplainError
from chainrule.viz.network import diagram, save_network_svg


def _texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg)]


def _derivation(sizes, notation="hinton", seed=0, **mlp):
    net = nn.mlp(sizes, rng=seed, output="logistic", dtype=np.float64, **mlp)
    X = np.random.default_rng(seed).uniform(size=(1, sizes[0]))
    T = np.random.default_rng(seed + 1).uniform(size=(1, sizes[-1]))
    d = cr.explain(net, X, T, notation=notation, check=False, perturbation=False)
    return net, X, T, d


def _torch_dE_dz(torch, net, X, T) -> np.ndarray:
    """dE/dz of the output layer of a one-Linear logistic net, E = 1/2 sum (t - y)^2."""
    W = torch.tensor(net[0].weight.numpy())
    z = (torch.tensor(X) @ W + torch.tensor(net[0].bias.numpy())).requires_grad_()
    E = 0.5 * ((torch.tensor(T) - torch.sigmoid(z)) ** 2).sum()
    E.backward()
    return z.grad.numpy()[0]


def _g(value: float) -> str:
    return f"{value + 0.0:.3g}"


# 1. the diagram wrote Hinton's w_ij and ∂E/∂z whatever the derivation's notation


@pytest.mark.parametrize(
    ("notation", "weight", "share", "y", "error"),
    [
        ("hinton", lambda i, j: f"w_{i}{j}", "w·∂E/∂z", ("y", "y"), "E"),
        ("rhw", lambda i, j: f"w_{j}{i}", "w·∂E/∂x", ("y", "y"), "E"),  # RHW's w_ji: from i to j
        ("matrix", lambda i, j: f"w^1_{j}{i}", "w·δ^1", ("a^0", "a^1"), "C"),  # Nielsen's w^l_jk
    ],
)
def test_the_diagram_writes_the_derivations_notation(torch, notation, weight, share, y, error):
    net, X, T, d = _derivation([3, 2], notation)
    texts = _texts(diagram(d).svg)
    W, dE_dz = net[0].weight.numpy(), _torch_dE_dz(torch, net, X, T)
    assert f"3 inputs -> 2 logistic: {error} = {d.error:.4g}" in texts
    for i in range(3):
        for j in range(2):  # each edge's two lines, in this notation, the model's numbers
            at = texts.index(f"{weight(i + 1, j + 1)}={_g(W[i, j])}")
            assert texts[at + 1] == f"{share}={_g(W[i, j] * dE_dz[j])}"
    circles = Counter(t.split("=")[0] for t in texts if t.split("=")[0] in y)
    assert circles == Counter({y[0]: 3}) + Counter({y[1]: 2})  # each circle's y, its layer's
    if notation != "hinton":  # the lecture's symbols are nowhere
        assert not any("∂E/∂z" in t for t in texts)


# 2. zoom promised 400 products, and graph refused anything above ~330 in graph's words


def test_zoom_refuses_by_its_own_count_in_its_own_words(monkeypatch):
    import chainrule.viz.graph as viz_graph

    def never(*args, **kwargs):
        raise AssertionError("zoom built its graph before refusing it")

    lin = nn.Linear(20, 20, rng=0)
    z = lin(cr.tensor(np.random.default_rng(0).uniform(size=(1, 20))))
    monkeypatch.setattr(viz_graph, "graph", never)
    refusal = r"^zoom: 1 case of a 20 -> 20 layer \(400 products\) is too many to draw: .* 1279 "
    with pytest.raises(ValueError, match=refusal) as err:
        viz_graph.zoom(z)
    assert "graph:" not in str(err.value) and "a layer's zoom" not in str(err.value)


@pytest.mark.parametrize(("shape", "bias"), [((1, 2, 3), True), ((2, 3, 4), True),
                                             ((3, 1, 5), False), ((4, 3, 3), True)])  # fmt: skip
def test_zoom_tensors_is_what_zoom_records(shape, bias, monkeypatch):
    import chainrule.viz.graph as viz_graph
    from chainrule.engine import reverse_topological_order

    n_cases, n_in, n_out = shape
    lin = nn.Linear(n_in, n_out, rng=0, bias=bias)
    z = lin(cr.tensor(np.random.default_rng(0).uniform(size=(n_cases, n_in))))
    counted = []
    monkeypatch.setattr(
        viz_graph,
        "graph",
        lambda total, **kw: counted.append(len(reverse_topological_order([total]))),
    )
    viz_graph.zoom(z)
    assert counted == [viz_graph.zoom_tensors(n_cases, n_in, n_out, bias)]


def test_the_documented_zoom_limit_is_the_true_one():
    """docs/explain.md: at most 1000 tensors, a 17 x 17 layer of one case."""
    from chainrule.viz.graph import zoom

    rng = np.random.default_rng(0)
    fits = nn.Linear(17, 17, rng=0)(cr.tensor(rng.uniform(size=(1, 17))))
    assert len(zoom(fits).nodes) > 289
    too_big = nn.Linear(18, 18, rng=0)(cr.tensor(rng.uniform(size=(1, 18))))
    with pytest.raises(ValueError, match="^zoom: "):
        zoom(too_big)


# 3. the legend listed marks never drawn, and two layers' w_42 read alike


def test_every_legend_mark_is_drawn_and_each_entry_names_its_layers():
    net = nn.mlp([6, 6], rng=0, output="logistic", init_range=1.0)
    X = np.random.default_rng(0).uniform(size=(1, 6))
    T = np.random.default_rng(1).uniform(size=(1, 6))
    d = cr.explain(net, X, T, check=False, perturbation=False)
    texts = _texts(diagram(d).svg)
    entries = [t for t in texts if re.match(r"(\[\d+\] )?layers \d→\d: ", t)]
    assert entries  # this diagram has labels with no free spot
    marks = [t for t in texts if re.fullmatch(r"\[\d+\]", t)]
    numbered = [e.split(" ", 1)[0] for e in entries if e.startswith("[")]
    assert sorted(numbered) == sorted(marks)  # a number in the legend is a mark on an edge
    assert numbered == [f"[{k + 1}]" for k in range(len(numbered))]
    W = net[0].weight.numpy()
    for entry in entries:  # the entry's weight is that layer's weight
        m = re.search(r"layers (\d)→(\d): w_(\d)(\d)=(\S+),", entry)
        assert m and (m[1], m[2]) == ("0", "1")
        assert m[5] == _g(W[int(m[3]) - 1, int(m[4]) - 1])
    assert not any(t.startswith("[") and "layers" not in t for t in texts if len(t) > 4)


def test_a_share_of_minus_zero_reads_zero():
    """A dead relu unit above: w · 0 with w < 0 is -0.0, which read "-0"."""
    net = nn.mlp([4, 3, 3, 2], activation="relu", output="logistic", rng=4, init_range=1.0)
    X = np.random.default_rng(0).uniform(size=(1, 4))
    T = np.random.default_rng(1).uniform(size=(1, 2))
    d = cr.explain(net, X, T, check=False, perturbation=False)
    assert any((r.dE_dz == 0).any() for r in d.layers[1:])  # the dead unit this test is about
    texts = _texts(diagram(d).svg)
    assert not [t for t in texts if re.search(r"=-0(?![.\d])", t)]
    assert any(t == "w·∂E/∂z=0" for t in texts)


def test_a_diagram_past_40_edges_says_its_labels_are_left_out():
    _, _, _, d = _derivation([8, 8, 2])
    texts = _texts(diagram(d).svg)
    assert not any(t.startswith("w_") for t in texts)
    (note,) = [t for t in texts if "edges" in t]
    assert note.startswith("80 edges: ") and "left out above 40" in note


# 4. plot_history dropped epochs whose loss was NaN or inf, and the axis with them


def test_non_finite_epochs_are_marked_and_the_axis_reaches_the_last(tmp_path, drawn_axes):
    nan, inf = float("nan"), float("inf")
    history = [{"epoch": e, "loss": v} for e, v in enumerate([2.0, 1.0, inf, nan, nan], 1)]
    (ax,) = drawn_axes(history, tmp_path / "c9.png")
    assert ax.get_xlim()[1] >= 5
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "train loss not finite from epoch 3" in labels
    shaded = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    assert shaded == [(2.5, 3.5), (3.5, 4.5), (4.5, 5.5)]  # epochs 3, 4 and 5
    assert (tmp_path / "c9.png").read_bytes()[:4] == b"\x89PNG"


def test_epochs_not_finite_between_finite_ones_are_named(tmp_path, drawn_axes):
    nan = float("nan")
    history = [{"epoch": e, "loss": v} for e, v in enumerate([2.0, nan, 1.0, nan, 0.5], 1)]
    (ax,) = drawn_axes(history, tmp_path / "c.png")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "train loss not finite at epochs 2, 4" in labels


def test_an_all_nan_history_says_so(tmp_path, drawn_axes):
    history = [{"epoch": e, "loss": float("nan")} for e in (1, 2, 3)]
    (ax,) = drawn_axes(history, tmp_path / "c.png")
    assert [t.get_text() for t in ax.texts] == ["loss is not finite (NaN or inf) in any epoch"]
    assert ax.get_xlim()[0] <= 1 and ax.get_xlim()[1] >= 3


# 5. diagram(d, case=1) named network_svg


def test_the_case_error_names_the_function_called(tmp_path):
    d = cr.explain(check=False, perturbation=False)
    with pytest.raises(ExplainError, match=r"^diagram: case 1 is out of range"):
        diagram(d, case=1)
    with pytest.raises(ExplainError, match=r"^save_network_svg: case -1 is out of range"):
        save_network_svg(d, tmp_path / "n.svg", case=-1)
    assert not (tmp_path / "n.svg").exists()
