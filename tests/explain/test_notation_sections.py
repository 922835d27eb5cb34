"""The teaching sections speak the notation they are rendered in: the bug table, the bug's
effect and note, the softmax formulas, the paths prose and the graph view's consumers.

The notations (chainrule.explainer.notation): ``hinton`` y_i, z_j, w_ij from i to j, E, target
t; ``rhw`` total input x_j, w_ji from unit i to unit j, E, target d; ``matrix`` a^l_j, z^l_j,
w^l_jk (j above, k below), δ^l_j = ∂C/∂z^l_j, cost C, target y. The weight from unit 1 of layer 0
to unit 2 of layer 1 is w_12, w_21 and w^1_21.
"""

import json
import re

import numpy as np
import pytest

import chainrule.nn as nn
from chainrule.explainer import explain, render

NOTATIONS = ("hinton", "rhw", "matrix")

#: notation -> (∂/∂ weight 1 -> 2 of layer 0 -> 1, ∂/∂ total input of unit 2 of layer 1)
ROW_LABELS = {
    "hinton": ("∂E/∂w 0→1 w_12", "∂E/∂z 1:2"),
    "rhw": ("∂E/∂w 0→1 w_21", "∂E/∂x 1:2"),
    "matrix": ("∂C/∂w 0→1 w^1_21", "δ 1:2"),
}


@pytest.fixture(scope="module")
def assign():
    """The seed with --bug assign, explained in each notation."""
    return {nt: explain(notation=nt, bug="assign", perturbation=False) for nt in NOTATIONS}


def _bug_section(text: str) -> str:
    return text.split("Break the engine on purpose")[1]


def _table_value(section: str, label: str) -> float:
    """The 'right (engine)' column of the table row labelled ``label``."""
    row = next(ln for ln in section.splitlines() if ln.strip().startswith(label + " "))
    return float(row.strip()[len(label) :].split()[0])


@pytest.mark.parametrize("notation", NOTATIONS)
def test_bug_rows_name_the_weight_as_the_notation_does(assign, notation):
    """Under rhw the weight from unit 1 to unit 2 is w_21: its row carries the number the weights
    section gives ∂E/∂w_21 (Hinton's ∂E/∂w_12), and the same engine value."""
    d = assign[notation]
    weight, total_input = ROW_LABELS[notation]
    section = _bug_section(render(d, "text"))
    right = d.dE_dw(0, 0, 1).value  # from unit 1 (index 0) below to unit 2 (index 1) above
    assert _table_value(section, weight) == pytest.approx(right, rel=1e-5)
    assert _table_value(section, total_input) == pytest.approx(d.dE_dz(1, 1).value, rel=1e-5)
    # the weights section gives the same number to the same symbol (rhw: ∂E/∂w_21)
    symbol, error = weight.split()[-1], "C" if notation == "matrix" else "E"
    weights = render(d, "text").split("Weights from layer 0")[1]
    written = re.search(rf"∂{error}/∂{re.escape(symbol)} = .*\n.*✓ fd (\S+),", weights)
    assert written and float(written.group(1)) == _table_value(section, weight)
    if notation != "hinton":
        assert "∂E/∂z" not in section
    if notation == "matrix":
        assert "∂E" not in section


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("bug", ["assign", "no-zero-grad"])
def test_json_bug_labels_follow_the_documents_notation(notation, bug):
    d = explain(notation=notation, bug=bug, perturbation=False)
    rows = json.loads(render(d, "json"))["bug"]["rows"]
    by_key = {(r["quantity"], *r["index"]): r for r in rows}
    weight, total_input = ROW_LABELS[notation]
    assert by_key[("w", 0, 0, 1)]["label"] == weight
    assert by_key[("z", 1, 1, 0)]["label"] == total_input
    if bug == "assign":  # no-zero-grad's right values are those of step 2
        assert by_key[("w", 0, 0, 1)]["right"] == d.dE_dw(0, 0, 1).value


@pytest.mark.parametrize("rendered_in", NOTATIONS)
def test_bug_labels_follow_the_rendering_notation(assign, rendered_in):
    """A derivation explained under rhw and rendered in another notation labels its rows in
    that one, with the same numbers."""
    d = assign["rhw"]
    weight, total_input = ROW_LABELS[rendered_in]
    section = _bug_section(render(d, "text", notation=rendered_in))
    assert _table_value(section, weight) == pytest.approx(d.dE_dw(0, 0, 1).value, rel=1e-5)
    assert _table_value(section, total_input) == pytest.approx(d.dE_dz(1, 1).value, rel=1e-5)


@pytest.mark.parametrize(
    "notation, present, absent",
    [
        ("hinton", ["w_ij ∂E/∂z_j", "(t_j - y_j)"], []),
        ("rhw", ["w_ji ∂E/∂x_j", "(d_j - y_j)"], ["∂E/∂z", "t_j", "w_ij"]),
        ("matrix", ["∂C/∂a^1_i", "w^2_ji δ^2_j", "(y_j - a^2_j)"], ["∂E", "dE", "t_j"]),
    ],
)
def test_the_bugs_effect_names_the_notations_symbols(assign, notation, present, absent):
    d = assign[notation]
    what = next(ln for ln in render(d, "text").splitlines() if "What it does" in ln)
    effect = json.loads(render(d, "json"))["bug"]["effect"]
    for text in (what, effect):
        for symbol in present:
            assert symbol in text
        for symbol in absent:
            assert symbol not in text


def test_the_bugs_effect_follows_the_rendering_notation(assign):
    latex = render(assign["rhw"], "latex", notation="matrix")
    what = latex.split("What it does")[1].split("\n")[0]
    assert r"w^{2}_{ji}" in what and r"\delta^{2}_{j}" in what and r"\partial E" not in what


def test_merged_leaves_note_names_the_weight_in_the_notation():
    """The seed's input 2 and the weight from unit 1 to unit 1 above the hidden layer are both
    0.5: the matrix form names that weight w^2_11."""
    d = explain(notation="matrix", bug="merged-leaves", perturbation=False)
    assert "input 2 and w^2_11 (layer 1→2)" in render(d, "text")
    assert "w^2_11" in json.loads(render(d, "json"))["bug"]["note"]
    assert "input 2 and w_11 (layer 1→2)" in render(d, "text", notation="hinton")


@pytest.fixture(scope="module")
def softmax_squared_error():
    m = nn.mlp([3, 4, 3], output="softmax", dtype=np.float64, rng=0)
    x, t = np.array([[0.5, -1.0, 0.25]]), np.array([[0.0, 0.0, 1.0]])
    return explain(m, x, t, "squared-error", perturbation=False, symbolic=False)


@pytest.mark.parametrize(
    "notation, forward, jacobian",
    [
        ("hinton", "y_j = e^z_j / Σ_k e^(z_k)", "∂E/∂z_j = y_j (∂E/∂y_j - Σ_k y_k ∂E/∂y_k)"),
        ("rhw", "y_j = e^x_j / Σ_k e^(x_k)", "∂E/∂x_j = y_j (∂E/∂y_j - Σ_k y_k ∂E/∂y_k)"),
        (
            "matrix",
            "a^2_j = e^z^2_j / Σ_k e^(z^2_k)",
            "δ^2_j = a^2_j (∂C/∂a^2_j - Σ_k a^2_k ∂C/∂a^2_k)",
        ),
    ],
)
def test_softmax_formulas_use_the_notations_symbols(
    softmax_squared_error, notation, forward, jacobian
):
    """Under matrix y is the target and C the cost: the Jacobian's sum runs over a^2_k ∂C/∂a^2_k."""
    text = render(softmax_squared_error, "text", notation=notation)
    lines = [ln.strip() for ln in text.splitlines()]
    assert forward in lines
    assert jacobian in lines
    latex = render(softmax_squared_error, "latex", notation=notation)
    if notation == "matrix":
        assert r"\sum_k e^{z^{2}_{k}}" in latex and r"\sum_k e^{z_k}" not in latex
        assert r"\sum_k a^{2}_{k}" in latex and r"\partial E" not in latex
    if notation == "rhw":
        assert r"\sum_k e^{x_{k}}" in latex


@pytest.mark.parametrize(
    "notation, present, absent",
    [
        ("hinton", ["∂E/∂y_i", "each ∂E/∂z_j once", "f'(z)", "Paths to E"], []),
        ("rhw", ["∂E/∂y_i", "each ∂E/∂x_j once", "f'(x)", "layer's ∂E/∂x."], ["∂E/∂z", "dE/"]),
        (
            "matrix",
            ["∂C/∂a^l_i", "up to C.", "each δ^(l+1)_j once", "σ'(z^l)", "δ^L.", "Paths to C"],
            ["∂E", "dE/", "Paths to E", "f'(z)"],
        ),
    ],
)
def test_paths_prose_speaks_the_notation(notation, present, absent):
    d = explain(perturbation=False, symbolic=False)
    text = render(d, "text", notation=notation)
    section = text.split("Paths against dynamic programming")[1].split("layer  units")[0]
    for phrase in present:
        assert phrase in section
    for phrase in absent:
        assert phrase not in section


@pytest.mark.parametrize(
    "notation, consumers",
    [
        ("hinton", ["y_1·w_11", "y_1·w_12", "y_1·w_13"]),
        ("rhw", ["y_1·w_11", "y_1·w_21", "y_1·w_31"]),
        ("matrix", ["a^1_1·w^2_11", "a^1_1·w^2_21", "a^1_1·w^2_31"]),
    ],
)
def test_json_graph_consumers_follow_the_documents_notation(notation, consumers):
    """The JSON's consumer of unit 2 above is the product the text names: y_1·w_21 under rhw."""
    d = explain(perturbation=False, symbolic=False, notation=notation)
    graph = json.loads(render(d, "json"))["views"]["graph"]
    assert [c["consumer"] for c in graph["consumers"]] == consumers
    text = render(d, "text").split("One quantity, three views")[1].split("Paths against")[0]
    assert f"(from {consumers[1]})" in text


def test_the_matrix_form_multiplies_by_a_softmax_hidden_layers_jacobian():
    """A softmax has no elementwise sigma': the equation wrote W^T delta (.) [1, 1], which does
    not equal the delta it printed; the Jacobian diag(a) - a a^T does."""
    from chainrule.explainer import sequential

    model = sequential([([[0.5, -0.3], [0.2, 0.4]], [0.1, 0.2], "softmax"),
                        ([[0.7, -0.6], [0.3, 0.9]], [0.0, 0.1], "identity")])  # fmt: skip
    d = explain(model, [[1.0, 0.5]], [[1.0, 0.0]], "squared-error", notation="matrix")
    a = d.layers[1].y[0]
    jacobian = np.diag(a) - np.outer(a, a)
    above = np.array([[0.7, -0.6], [0.3, 0.9]]) @ d.layers[2].dE_dz[0]
    np.testing.assert_allclose(jacobian @ above, d.layers[1].dE_dz[0], rtol=1e-12)
    text = render(d, "text")
    assert "δ^1 = (diag(a^1) - a^1 (a^1)ᵀ) (W^2)ᵀ δ^2" in text
    assert f"[[{jacobian[0, 0]:.4g}, ({jacobian[0, 1]:.4g})]" in text
    assert "⊙ [1, 1]" not in text
