"""Paths against dynamic programming (counts against enumeration and a counting arithmetic), and
one dE/dy_i in three views (the same numbers in each)."""

import itertools
import json
import math

import numpy as np
import pytest

from chainrule.explainer import explain, render
from chainrule.explainer.paths import counts, enumerate_paths, slopes


class Counted:
    """A float that counts the multiplications and additions done with it."""

    tally = {"mul": 0, "add": 0}

    def __init__(self, v):
        self.v = float(v)

    def __mul__(self, other):
        Counted.tally["mul"] += 1
        return Counted(self.v * _v(other))

    __rmul__ = __mul__

    def __add__(self, other):
        Counted.tally["add"] += 1
        return Counted(self.v + _v(other))

    __radd__ = __add__


def _v(x):
    return x.v if isinstance(x, Counted) else x


def _count(f, *args):
    Counted.tally = {"mul": 0, "add": 0}
    value = f(*args)
    return value, dict(Counted.tally)


def _total(items):
    total = None
    for item in items:
        total = item if total is None else total + item
    return total


def _path_by_path(d, layer):
    """Every path's product, formed factor by factor, summed unit by unit."""
    L = d.n_layers
    top = [Counted(v) for v in d.layers[L].dE_dz[0]]
    sl = {k: [Counted(v) for v in slopes(d, k)] for k in range(layer + 1, L)}
    out = []
    for i in range(d.layers[layer].size):
        products = []
        for route in itertools.product(*(range(d.layers[k].size) for k in range(layer + 1, L + 1))):
            factors, below = [], i
            for step, above in enumerate(route):
                k = layer + 1 + step
                factors.append(Counted(d.connections[k - 1].weight[below, above]))
                factors.append(sl[k][above] if k < L else top[above])
                below = above
            product = factors[0]
            for f in factors[1:]:
                product = product * f
            products.append(product)
        out.append(_total(products))
    return out


def _backprop(d, layer):
    """Each dE/dz once, reused: dE/dy = W dE/dz, dE/dz = f'(z) dE/dy, down to ``layer``."""
    L = d.n_layers
    dz = [Counted(v) for v in d.layers[L].dE_dz[0]]
    for k in range(L - 1, layer - 1, -1):
        W = d.connections[k].weight
        dy = [_total([Counted(W[i, j]) * dz[j] for j in range(len(dz))]) for i in range(W.shape[0])]
        if k > layer:
            dz = [s * g for s, g in zip(slopes(d, k), dy)]
    return dy


def _forward_mode(d, layer):
    """One tangent per unit of ``layer``, pushed through every layer above, then into E."""
    L = d.n_layers
    out = []
    for i in range(d.layers[layer].size):
        tangent = [Counted(1.0 if a == i else 0.0) for a in range(d.layers[layer].size)]
        for k in range(layer, L):
            W = d.connections[k].weight
            tz = [
                _total([tangent[a] * W[a, j] for a in range(W.shape[0])]) for j in range(W.shape[1])
            ]
            tangent = [s * t for s, t in zip(slopes(d, k + 1), tz)] if k + 1 < L else tz
        top = d.layers[L].dE_dz[0]
        out.append(_total([t * g for t, g in zip(tangent, top)]))
    return out


NETWORKS = [
    ([2, 2, 3], "logistic"),
    ([3, 4, 2, 2], "tanh"),
    ([2, 3, 3, 2, 1], "logistic"),
]


def _network(sizes, act, seed=0):
    rng = np.random.default_rng(seed)
    layers = [
        (rng.normal(size=(a, b)), rng.normal(size=b), act if k < len(sizes) - 2 else "logistic")
        for k, (a, b) in enumerate(zip(sizes, sizes[1:]))
    ]
    x = rng.normal(size=(1, sizes[0]))
    t = rng.uniform(size=(1, sizes[-1]))
    return explain(layers, x, t, perturbation=False, check=False)


@pytest.mark.parametrize("sizes, act", NETWORKS)
def test_path_sums_equal_the_gradient_and_the_counts_match_the_arithmetic(sizes, act):
    d = _network(sizes, act)
    table = counts(sizes)
    for layer in range(len(sizes) - 1):
        row = table[layer]
        for i in range(sizes[layer]):
            paths = enumerate_paths(d, layer, i)
            assert len(paths) == row["paths_per_unit"] == math.prod(sizes[layer + 1 :])
            assert sum(p for _, p in paths) == pytest.approx(d.dE_dy(layer, i).value, abs=1e-12)
        by_paths, ops = _count(_path_by_path, d, layer)
        assert (ops["mul"], ops["add"]) == (row["paths_mul"], row["paths_add"])
        by_backprop, ops = _count(_backprop, d, layer)
        assert (ops["mul"], ops["add"]) == (row["backprop_mul"], row["backprop_add"])
        by_forward, ops = _count(_forward_mode, d, layer)
        assert (ops["mul"], ops["add"]) == (row["forward_mul"], row["forward_add"])
        for i in range(sizes[layer]):
            for value in (by_paths[i], by_backprop[i], by_forward[i]):
                assert value.v == pytest.approx(d.dE_dy(layer, i).value, abs=1e-12)


def test_seed_counts_by_hand():
    d = explain(perturbation=False, check=False)
    rows = {r["layer"]: r for r in d.paths["rows"]}
    # hidden layer i (2 units) under j (3 units): 3 paths per unit, 1 multiplication each
    # (w_ij dE/dz_j), so 2 * 3 products and 2 * 2 additions; backprop is the same matrix-vector
    # product W dE/dz: 6 multiplications, 4 additions
    assert (rows[1]["paths_per_unit"], rows[1]["paths_mul"], rows[1]["paths_add"]) == (3, 6, 4)
    assert (rows[1]["backprop_mul"], rows[1]["backprop_add"]) == (6, 4)
    # inputs: 2 * 3 = 6 paths each, w f' w dE/dz = 3 multiplications per path: 2 * 6 * 3 = 36,
    # and 2 * 5 additions. Backprop adds f' dE/dy (2) and the 2 x 2 product W dE/dz (4, 2 adds):
    # 6 + 2 + 4 = 12 multiplications, 4 + 2 = 6 additions
    assert (rows[0]["paths_per_unit"], rows[0]["paths_mul"], rows[0]["paths_add"]) == (6, 36, 10)
    assert (rows[0]["backprop_mul"], rows[0]["backprop_add"]) == (12, 6)
    assert rows[0]["paths_per_weight"] == 3  # w_hi reaches E through z_i and its 3 units j


def test_the_text_shows_the_path_table():
    d = explain(perturbation=False, check=False)
    text = render(d, "text")
    assert "Paths against dynamic programming" in text and "36 + 10" in text


def test_path_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.viz.paths import plot_path_costs

    fig = plot_path_costs([8, 16, 16, 16, 4], path=tmp_path / "paths.png")
    assert (tmp_path / "paths.png").stat().st_size > 1000
    ax = fig.axes[0]
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    assert lines["path by path"][0] > lines["backprop"][0]


def _three(text_or_views):
    v = text_or_views
    hinton = [t["value"] for t in v["hinton"]["terms"]]
    matrix = [t["value"] for t in v["matrix"]["terms"]]
    graph = [c["value"] for c in v["graph"]["consumers"]]
    return hinton, matrix, graph


@pytest.mark.parametrize("unit", ["1:1", "1:2", "0:2"])
def test_three_views_hold_the_same_numbers(unit):
    d = explain(perturbation=False, unit=unit)
    hinton, matrix, graph = _three(d.views)
    np.testing.assert_allclose(hinton, matrix, rtol=0, atol=1e-15)
    np.testing.assert_allclose(hinton, graph, rtol=0, atol=1e-15)
    layer, i = d.focus
    for total in (d.views["hinton"]["total"], d.views["matrix"]["total"],
                  d.views["graph"]["total"]):  # fmt: skip
        assert total == pytest.approx(d.dE_dy(layer, i).value, abs=1e-15)
    text = render(d, "text")
    section = text.split("One quantity, three views")[1].split("Paths against")[0]
    for k, value in enumerate(hinton):
        line = next(ln for ln in section.splitlines() if ln.strip().startswith(f"{k + 1} "))
        assert line.count(f"{value:.10g}") == 3  # Hinton, matrix and graph on one line
    assert section.count(f"{d.views['engine']:.10g}") >= 3
    json_views = json.loads(render(d, "json"))["views"]
    assert _three(json_views) == _three(d.views)


def test_the_docs_show_what_chainrule_explain_prints():
    """docs/explain.md's two output blocks (three views, paths) are lines of the seed's text."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "explain.md").read_text()
    text = render(explain(), "text")
    blocks = [
        doc.split(heading, 1)[1].split("```\n", 2)[1]
        for heading in ("**One quantity, three views.**", "**Paths against dynamic programming.**")
    ]
    for block in blocks:
        lines = [line for line in block.splitlines() if line.strip()]
        assert len(lines) >= 3
        for line in lines:
            assert line.strip() in text, line


@pytest.mark.parametrize(
    "notation, header, consumer_of_unit_2",
    [
        ("hinton", "Hinton: w_ij·∂E/∂z_j", "y_1·w_12"),
        ("rhw", "RHW: w_ji·∂E/∂x_j", "y_1·w_21"),
        ("matrix", "Nielsen: w^2_ji·δ^2_j", "a^1_1·w^2_21"),
    ],
)
def test_three_views_speak_the_chosen_notation(notation, header, consumer_of_unit_2):
    """Under --notation rhw the weight from unit 1 to unit 2 is w_21: a consumer labelled
    w_12 there would name another weight."""
    d = explain(perturbation=False, symbolic=False, notation=notation)
    text = render(d, "text")
    section = text.split("One quantity, three views")[1].split("Paths against")[0]
    assert header in section
    row = next(ln for ln in section.splitlines() if ln.strip().startswith("2 "))
    assert row.endswith(f"(from {consumer_of_unit_2})")
    if notation != "hinton":
        assert "∂E/∂z" not in section and "Hinton" not in section
    latex = render(d, "latex")
    assert "three views" in latex
