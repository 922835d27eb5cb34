"""The explainer's sentences name quantities in the notation asked for, not always Hinton's.

``chainrule explain --notation matrix --unit 2:1`` said "E reads its y directly, so its dE/dy
comes from the loss" (and "E reads its z ... its dE/dz", for a loss that reads z), where the
matrix form's derivation above it writes C, a^2_1, ∂C/∂a^2_1 and δ^2_1, and RHW's writes x for z.
So did the check's notes ("a relu unit's z", "the y's of layer 0", "a curved E's slope"), the
perturbation view at a kink ("its kink, z = 0"; "E is not smooth"), the proof's rounding remark
("y(1 − y)"), the float32 views' "w_ij dE/dz_j" and --bug's note at a relu kink
("b_j + Σ_i y_i w_ij").

The expected words are written out here by hand, from each notation's definition (RHW 1986: x_j
the total input, w_ji from i to j; Nielsen: a^l, z^l, w^l_jk, δ^l = ∂C/∂z^l, cost C).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from explain_cases import kinked_relu_case

from chainrule import nn
from chainrule.explainer import explain, render, to_json
from chainrule.explainer.blocks import Builder, Options
from chainrule.explainer.bugs import BugReport, get_bug
from chainrule.explainer.notation import get_notation, plain_text
from chainrule.explainer.sections_checks import _engine_off, _not_smooth

X = np.array([[0.1, 0.2, 0.3]])

#: unit 1 of the top layer (2) of a 3-4-2 network, per notation: what E (C) reads and its
#: gradients, as text and as LaTeX
Y_WORDS = {
    "hinton": "E reads its y_1 directly, so its ∂E/∂y_1 comes from the loss",
    "rhw": "E reads its y_1 directly, so its ∂E/∂y_1 comes from the loss",
    "matrix": "C reads its a^2_1 directly, so its ∂C/∂a^2_1 comes from the loss",
}
Z_WORDS = {
    "hinton": "E reads its z_1 (the cross-entropy applies the softmax itself), so it has no "
    "∂E/∂y_1 and its ∂E/∂z_1 comes straight from the loss",
    "rhw": "E reads its x_1 (the cross-entropy applies the softmax itself), so it has no "
    "∂E/∂y_1 and its ∂E/∂x_1 comes straight from the loss",
    "matrix": "C reads its z^2_1 (the cross-entropy applies the softmax itself), so it has no "
    "∂C/∂a^2_1 and its δ^2_1 comes straight from the loss",
}
Z_LATEX = {
    "hinton": r"$E$ reads its $z_{1}$ (the cross-entropy applies the softmax itself), so it has "
    r"no $\frac{\partial E}{\partial y_{1}}$ and its $\frac{\partial E}{\partial z_{1}}$",
    "rhw": r"$E$ reads its $x_{1}$ (the cross-entropy applies the softmax itself), so it has "
    r"no $\frac{\partial E}{\partial y_{1}}$ and its $\frac{\partial E}{\partial x_{1}}$",
    "matrix": r"$C$ reads its $z^{2}_{1}$ (the cross-entropy applies the softmax itself), so it "
    r"has no $\frac{\partial C}{\partial a^{2}_{1}}$ and its $\delta^{2}_{1}$",
}
NOTATIONS = list(Y_WORDS)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _output_unit(notation: str, loss: str):
    net = nn.mlp([3, 4, 2], dtype="float64", rng=1)
    t = np.array([[0.0, 1.0]] if loss == "cross-entropy" else [[1.0, 0.0]])
    return explain(net, X, t, loss, unit="2:1", notation=notation, check=False)


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("loss", ["squared-error", "cross-entropy"])
def test_the_output_units_words_are_in_the_chosen_notation(notation, loss):
    d = _output_unit(notation, loss)
    words = (Y_WORDS if loss == "squared-error" else Z_WORDS)[notation]
    others = {w for table in (Y_WORDS, Z_WORDS) for w in table.values()} - {words}
    text = _flat(render(d, "text"))
    document = json.loads(to_json(d))
    for out in (d.sum_left_out, text, " ".join(document["notes"])):
        assert f"unit 2:1 is an output unit: {words}" in out
        assert not any(other in out for other in others)
        assert "dE/dy" not in out and "dE/dz" not in out  # Hinton's, spelled in ASCII
    assert document["notation"] == notation
    assert text.count("is an output unit") == 1  # said where the sum's sections would stand
    if loss == "cross-entropy":  # Markdown and LaTeX set the symbols as maths
        for fmt in ("markdown", "latex"):
            assert Z_LATEX[notation] in _flat(render(d, fmt)), fmt


@pytest.mark.parametrize("shown_in", ["rhw", "matrix"])
def test_a_derivation_rendered_in_another_notation_says_the_words_in_that_one(shown_in):
    d = _output_unit("hinton", "cross-entropy")
    text = _flat(render(d, "text", notation=shown_in))
    assert Z_WORDS[shown_in] in text and Z_WORDS["hinton"] not in text
    assert text.count("is an output unit") == 1  # the note, in Hinton's, is not said again
    assert Z_LATEX[shown_in] in _flat(render(d, "markdown", notation=shown_in))
    assert Z_WORDS["hinton"] in " ".join(json.loads(to_json(d))["notes"])  # the JSON's own


# -- the check's notes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("notation", "words"),
    [
        ("rhw", "largest |y| it multiplies, each y's eps over the largest |w| it is multiplied "
         "by, so that no step moves any x by more than eps (a wider step reads a curved E's "
         "slope wrong)"),
        ("matrix", "largest |a| it multiplies, each a's eps over the largest |w| it is "
         "multiplied by, so that no step moves any z by more than eps (a wider step reads a "
         "curved C's slope wrong)"),
    ],
)  # fmt: skip
def test_the_step_note_names_the_notations_quantities(notation, words):
    net = nn.mlp([3, 4, 2], dtype="float64", rng=1)
    net[2].weight.data[0, 0] = 1e4  # the y's of layer 1 take a step of eps / 1e4
    d = explain(net, X * 1e4, [[1.0, 0.0]], notation=notation, unit="1:1")
    (note,) = [note for note in d.notes if "steps below eps" in note]
    a = {"matrix": "a"}.get(notation, "y")
    assert "the weights out of layer 0: " in note and f"the {a}'s of layer 1: 1e-10" in note
    assert words in note
    assert words in _flat(render(d, "text"))
    assert words in " ".join(json.loads(to_json(d))["notes"])


def test_the_kink_note_names_rhws_total_input_x():
    net = nn.mlp([3, 4, 2], activation="relu", dtype="float64", rng=1)
    net[0].bias.data[...] = 0.0  # with zero inputs every hidden relu unit is at its kink
    d = explain(net, np.zeros((1, 3)), [[1.0, 0.0]], notation="rhw", unit="1:1")
    (note,) = [note for note in d.check_notes if "kink" in note]
    words = "a relu unit's x is at (or within a step, or the model dtype's rounding of x, of)"
    assert f"{words} its kink, 0" in note
    assert "unit's z" not in note and "of z," not in note
    assert note in _flat(render(d, "text"))


# -- the perturbation view at a kink, and where it is not smooth -------------------------------
def test_the_perturbation_across_a_kink_writes_rhws_total_input():
    m, x, t = kinked_relu_case()
    d = explain(m, x, t, "squared-error", unit="1:1", views=False, paths=False, notation="rhw")
    assert d.perturbation["kinks_crossed"]  # the premise: a relu unit is carried across
    text = _flat(render(d, "text"))
    section = text[text.index("Why a sum: nudge") :][:1500]
    assert "kink, x = 0" in section and "kink, z = 0" not in section
    latex = _flat(render(d, "latex"))
    assert "kink, $x = 0$" in latex


def test_the_perturbation_row_across_a_kink_writes_rhws_total_input():
    m = nn.mlp([2, 3, 3, 1], activation="relu", output="logistic", dtype="float64", rng=3)
    x = np.array([[0.5, 0.8]])
    h = np.maximum(x @ m[0].weight.data + m[0].bias.data, 0)
    m[2].bias.data[0] += 0.004 - (h @ m[2].weight.data + m[2].bias.data)[0, 0]
    d = explain(m, x, [[1.0]], unit="1:1", views=False, paths=False, notation="rhw")
    assert d.perturbation["shrinks_quadratically"]  # the premise: only the 0.1 row crosses
    section = _flat(render(d, "text"))
    assert "across its kink, x = 0" in section and "kink, z = 0" not in section


def test_where_the_nudge_is_not_smooth_the_matrix_form_says_C():
    d = _output_unit("matrix", "squared-error")
    parts = _not_smooth(Builder(d, get_notation("matrix"), Options()))
    assert plain_text(parts).startswith("C is not smooth along the nudge here")


def test_the_proofs_rounding_remark_names_the_matrix_forms_output():
    d = _output_unit("matrix", "squared-error")
    s = {"value": 1.0, "engine_value": 1.0 + 1e-10, "engine_rounding_bound": 1e-6}
    words = _engine_off(d, s, get_notation("matrix"))  # within rounding, past 1000 epsilons
    assert words.endswith("a saturated unit's a(1 − a) loses its digits")


# -- the views of a float32 model ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("notation", "term"),
    [("hinton", "w_ij ∂E/∂z_j"), ("rhw", "w_ji ∂E/∂x_j"), ("matrix", "w^2_ji δ^2_j")],
)
def test_the_float32_views_name_a_term_of_the_sum_in_the_notation(notation, term):
    net = nn.mlp([3, 4, 2], dtype="float32", rng=1)
    d = explain(net, X, [[1.0, 0.0]], notation=notation, unit="1:1", check=False)
    text = _flat(render(d, "text"))
    assert f"The three views add the same terms {term} in float64" in text
    assert "w_ij dE/dz_j" not in text


# -- --bug's note at a relu kink -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("notation", "words"),
    [
        ("rhw", "a relu unit's x is at its kink, 0, and the graph recorded unit by unit "
         "(which the bug runs on) sums b_j + Σ_i y_i w_ji in another order"),
        ("matrix", "a relu unit's z is at its kink, 0, and the graph recorded unit by unit "
         "(which the bug runs on) sums b^2_j + Σ_i a^1_i w^2_ji in another order"),
    ],
)  # fmt: skip
def test_the_bugs_kink_note_is_in_the_notation(notation, words):
    m = nn.Sequential(
        nn.Linear(2, 2, dtype="float64", rng=1), nn.ReLU(), nn.Linear(2, 2, dtype="float64", rng=3)
    )
    x = np.array([[0.3, -0.7]])
    m[0].bias.data[0] = -(x @ m[0].weight.data[:, 0])[0]  # hidden unit 1 at its kink
    d = explain(m, x, [[0.5, 0.1]], bug="assign", perturbation=False, views=False)
    assert d.bug.kinked  # the premise: some right values are the unit graph's, at the kink
    shown = _flat(render(d, "text", notation=notation))
    assert words in shown
    assert words in d.bug.note_in(get_notation(notation))
    others = [re.escape(w) for n, w in _BUG_WORDS.items() if n != notation and w != words]
    assert not any(re.search(w, shown) for w in others)


_BUG_WORDS = {
    "hinton": "sums b_j + Σ_i y_i w_ij in",
    "rhw": "sums b_j + Σ_i y_i w_ji in",
    "matrix": "sums b^2_j + Σ_i a^1_i w^2_ji in",
}


def test_a_bug_report_writes_its_kink_note_when_asked_for_a_notation():
    report = BugReport(get_bug("assign"), [], notation="hinton", top=2, kinked=2)
    assert report.note.startswith("2 right values here differ from the backward pass above")
    assert "sums b_j + Σ_i y_i w_ij in" in report.note
    assert "sums b_j + Σ_i y_i w_ji in" in report.note_in(get_notation("rhw"))
