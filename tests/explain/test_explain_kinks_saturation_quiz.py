"""QA fixes of the explainer: a float32 relu unit whose rounding straddles its kink is left
unchecked; the perturbation view says when its error is of order eps (a kink on a path); a
saturated unit's factor is printed as its own number; the --bug table agrees with its count at
a relu kink; a quiz answer with more digits is never judged more harshly than its rounding."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from explain_cases import kinked_relu_case

import chainrule as cr
from chainrule import nn
from chainrule.explainer import explain, render, schema, to_json
from chainrule.explainer.quiz import DIGITS, check_answer, make_quiz


# -- 1. a float32 unit whose z the dtype's rounding puts on the other side of the kink ---------
def _f32_near_kink(shift: float = 0.0):
    """784 raw inputs up to 1000, float32: unit 1's float64 z is -3.7e-5 (+ ``shift``), the
    engine's float32 z +0.0012."""
    rng = np.random.default_rng(0)
    rng.uniform(0, 255, size=(1, 784))
    m = nn.Sequential(nn.Linear(784, 2, rng=1), nn.ReLU(), nn.Linear(2, 2, rng=2))
    x = rng.uniform(0, 1000, size=(1, 784)).round(0)
    z64 = float((x @ m[0].weight.data.astype(np.float64))[0, 0])
    m[0].bias.data[0] = np.float32(-z64 + shift)
    return m, x


def test_a_float32_unit_on_the_other_side_of_its_kink_in_float64_is_left_unchecked():
    m, x = _f32_near_kink()
    d = explain(m, x, [[0.0, 0.0]], "squared-error", perturbation=False, views=False)
    z32 = d.layers[1].z[0, 0]
    z64 = float((x @ m[0].weight.data.astype(np.float64) + m[0].bias.data)[0, 0])
    assert z32 > 0 > z64  # the engine's unit is on, float64's off
    assert d.all_ok
    assert d.dE_db(0, 0).numeric is None  # not checked: at a kink
    assert any("kink" in note and "rounding" in note for note in d.notes)


def test_a_float32_unit_well_away_from_its_kink_is_still_checked():
    """The dtype's rounding widens the kink's reach by about 1e-2 here, no more: a unit at
    z = 5 is checked, and its right gradient passes."""
    m, x = _f32_near_kink(shift=5.0)
    d = explain(m, x, [[0.0, 0.0]], "squared-error", perturbation=False, views=False)
    assert d.layers[1].z[0, 0] == pytest.approx(5.0, abs=0.01)
    check = d.dE_db(0, 0)
    assert check.numeric is not None and check.ok
    assert d.all_ok and not any("kink" in note for note in d.notes)


def test_a_float64_unit_close_to_its_kink_is_still_checked():
    """float64's rounding of z is far below a step: the reach is the step's, as before."""
    m = cr.nn.mlp([3, 3, 2], activation="relu", dtype="float64", rng=0)
    x = np.array([[0.3, -0.2, 0.5]])
    z = float((x @ m[0].weight.data + m[0].bias.data)[0, 0])
    m[0].bias.data[0] += 1e-4 - z  # z = 1e-4: within no step of eps = 1e-6
    d = explain(m, x, [[1.0, 0.0]], "squared-error", perturbation=False, views=False)
    assert d.dE_db(0, 0).numeric is not None and d.all_ok


# -- 2. the perturbation view across a kink -----------------------------------------------------
def _kinked_perturbation():
    """The perturbation of y_1 of layer 1, which feeds a relu unit exactly at its kink."""
    m, x, t = kinked_relu_case()
    return explain(m, x, t, "squared-error", unit="1:1", views=False, paths=False)


def test_the_perturbation_view_says_its_error_is_of_order_eps_across_a_kink():
    d = _kinked_perturbation()
    p = d.perturbation
    assert not p["shrinks_quadratically"]
    assert [(k["layer"], k["unit"]) for k in p["kinks_crossed"]] == [(2, 0)]
    text = render(d, "text")
    section = text[text.index("Why a sum: nudge") :][:1500]
    assert "error of order ε² (divide ε by 10" not in section
    assert "not of order ε²" in section and "about 10-fold" in section
    assert "kink" in section and "first-order accurate only" in section
    for fmt in ("markdown", "html", "latex"):
        out = render(d, fmt)
        assert "falls about 100-fold" not in out, fmt
        assert "first-order accurate only" in out, fmt
    document = json.loads(to_json(d))
    assert document["perturbation"]["kinks_crossed"][0]["layer"] == 2
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())


def test_a_kink_crossed_by_the_largest_nudge_alone_is_named_with_its_row():
    # z = +0.004 at a relu above: only eps = 0.1 carries it across, the smaller rows shrink as
    # eps^2 (the table then is quadratic, but its first row is of order eps)
    m = nn.mlp([2, 3, 3, 1], activation="relu", output="logistic", dtype="float64", rng=3)
    x = np.array([[0.5, 0.8]])
    h = np.maximum(x @ m[0].weight.data + m[0].bias.data, 0)
    m[2].bias.data[0] += 0.004 - (h @ m[2].weight.data + m[2].bias.data)[0, 0]
    d = explain(m, x, [[1.0]], unit="1:1", views=False, paths=False)
    p = d.perturbation
    assert [k["eps"] for k in p["kinks_crossed"]] == [[0.1]] and p["shrinks_quadratically"]
    ratios = [abs(row["error_over_eps2"]) for row in p["rows"]]
    assert ratios[0] > 100 * max(ratios[1:])  # the crossing row is far off the others' law
    for fmt in ("text", "markdown", "html", "latex"):
        out = render(d, fmt)
        section = out[out.index("Why a sum") :]
        assert "falls about 100-fold" in section, fmt
        at = r"$\varepsilon = 0.1$: there" if fmt == "latex" else "0.1: there the nudge"
        assert "Not at " in section and at in section, fmt
        assert "error is of order" in section, fmt


def test_the_error_law_is_judged_on_the_rows_that_cross_no_kink():
    from chainrule.explainer.perturbation import _shrinks_quadratically

    def rows(*ratios):
        return [
            {"eps": eps, "error": r * eps**2, "error_over_eps2": r}
            for eps, r in zip((0.1, 0.01, 0.001, 0.0001), ratios)
        ]

    # a large first row (crossing a kink) no longer sets the bound the others are held to
    growing = rows(50.0, 1.0, 10.0, 100.0)
    assert _shrinks_quadratically(growing)  # judged against the first row, as before
    assert not _shrinks_quadratically(growing, [{"eps": [0.1]}])
    assert _shrinks_quadratically(rows(50.0, 1.0, 1.1, 0.9), [{"eps": [0.1]}])
    assert not _shrinks_quadratically(rows(1.0, 1.0, 1.0, 1.0), [{"eps": [0.1, 0.01, 0.001]}])


def test_the_symbolic_verdict_says_how_it_was_shown(monkeypatch):
    # a difference too long to simplify is evaluated at random points: not "sympy simplifies"
    monkeypatch.setattr("chainrule.explainer.symbolic.MAX_SIMPLIFY_OPS", -1)  # never simplify
    d = explain(symbolic=True, perturbation=False, views=False, paths=False)
    assert d.symbolic["status"] == "agrees" and "random points" in d.symbolic["method"]
    for fmt in ("text", "markdown", "latex"):
        out = render(d, fmt)
        assert "simplifies their difference" not in out, fmt
        assert "equal at 5 random points" in out and "not sympy's proof" in out, fmt
    monkeypatch.undo()
    d = explain(symbolic=True, perturbation=False, views=False, paths=False)
    assert "sympy simplifies their difference to 0" in render(d, "text")


def test_a_smooth_perturbation_view_still_claims_order_eps_squared():
    d = explain()
    assert d.perturbation["shrinks_quadratically"] and d.perturbation["kinks_crossed"] == []
    assert "error of order ε² (divide ε by 10 and the error falls about 100-fold)" in render(
        d, "text"
    )


# -- 3. a saturated unit's factor ---------------------------------------------------------------
def _saturated(activation: str, z: float):
    """A 1-1-1 network whose hidden unit has total input ``z``."""
    net = [
        (np.array([[1.0]]), np.array([z - 0.5]), activation),
        (np.array([[0.7]]), np.array([0.1]), "logistic"),
    ]
    return explain(net, [[0.5]], [[1.0]], "squared-error", perturbation=False, views=False)


@pytest.mark.parametrize(("activation", "z"), [("logistic", 10.8), ("tanh", 6.0), ("tanh", -6.0)])
def test_a_saturated_units_factor_is_printed_so_the_product_holds(activation, z):
    d = _saturated(activation, z)
    y, dy, dz = d.layers[1].y[0, 0], d.layers[1].dE_dy[0, 0], d.layers[1].dE_dz[0, 0]
    factor = y * (1 - y) if activation == "logistic" else 1 - y * y
    assert f"{abs(y):.4g}" == "1"  # y prints as 1 (or -1): 1 − y or 1 − y² would read 0
    text = render(d, "text")
    for bad in ("(1 − 1)", "(1 − 1²)", "(1 − (-1)²)"):
        assert bad not in text
    hidden = text[text.index("∂E/∂z_i = ") :]  # the hidden layer's section
    line = next(row for row in hidden.splitlines() if "∂E/∂z_1 = " in row and "·" in row)
    # the printed product holds to the digits shown
    numbers = [float(v) for v in line.split("=")[1].replace("(", "").replace(")", "").split("·")]
    assert np.prod(numbers) == pytest.approx(dz, rel=2e-3)
    assert factor * dy == pytest.approx(dz, rel=1e-9)
    assert "(1 - 1)" not in render(d, "latex")


def test_an_unsaturated_units_factor_keeps_the_lectures_form():
    d = _saturated("logistic", 0.3)
    y = d.layers[1].y[0, 0]
    assert f"·(1 - {y:.4g})·" in render(d, "text")


# -- 4. the --bug table at a relu kink ----------------------------------------------------------
@pytest.mark.parametrize("bug", ["assign", "no-toposort", "merged-leaves", "no-zero-grad"])
def test_the_bug_table_agrees_with_its_count_at_a_relu_kink(bug):
    m = nn.Sequential(
        nn.Linear(2, 2, dtype="float64", rng=1), nn.ReLU(), nn.Linear(2, 2, dtype="float64", rng=3)
    )
    x = np.array([[0.3, -0.7]])
    m[0].bias.data[0] = -(x @ m[0].weight.data[:, 0])[0]
    d = explain(m, x, [[0.5, 0.1]], "squared-error", bug=bug, perturbation=False, views=False)
    report = d.bug
    for row in report.rows:  # a row is counted wrong exactly when its two columns differ
        assert row.is_wrong == (abs(row.wrong - row.right) > 1e-12 * max(1, abs(row.right)))
    if bug == "merged-leaves":
        assert not report.wrong_rows
        text = render(d, "text")
        section = text[text.index("Break the engine") :]
        assert "0 of 20 gradients are wrong" in section
    if bug != "no-zero-grad":  # (step 2's weights moved z off the kink)
        assert "kink" in report.note


# -- 5. the quiz: more digits never make a near answer wrong -----------------------------------
def test_a_more_precise_answer_is_accepted_where_its_rounding_is():
    from chainrule.explainer.quiz import _draw

    rng = np.random.default_rng(7)  # seed 7's first draw (s62 redraws it: y_1 = w_11)
    rng.random()
    quiz = _draw(rng, 7, "dy")
    assert quiz.expected == pytest.approx(-0.218283, abs=1e-6)
    # 8 units either side: what 4-digit intermediates can move its four terms' sum by
    assert check_answer(quiz, "-0.2175").correct
    assert check_answer(quiz, "-0.217451").correct  # rounds to -0.2175: as right as that is
    assert not check_answer(quiz, "-0.2174").correct
    assert not check_answer(quiz, "-0.217449").correct  # rounds to -0.2174: wrong as that is


@pytest.mark.parametrize("seed", range(4))
def test_writing_more_digits_never_turns_a_right_answer_wrong(seed):
    quiz = make_quiz(seed)
    expected = quiz.expected
    unit = 10.0 ** (np.floor(np.log10(abs(expected))) - (DIGITS - 1))
    for off in np.linspace(-2, 2, 81) * unit:
        value = expected + off
        rounded = check_answer(quiz, f"{value:.{DIGITS - 1}e}").correct
        precise = check_answer(quiz, f"{value:.{DIGITS + 2}e}").correct
        assert precise or not rounded, (expected, value)


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_a_sum_of_one_term_writes_its_value_once(fmt):
    # dE/dy_1 = w_11 dE/dz_1 = w·g = its product: not "= (product) = product"
    d = _saturated("logistic", 0.3)
    (term,) = d.terms(1, 0)
    text = render(d, fmt)
    sum_over_j = text[text.index("the sum over $j$" if fmt == "latex" else "the sum over j") :]
    equation = sum_over_j[: sum_over_j.index("∂z_1 =" if fmt == "text" else "z_{1}} &=")]
    value = re.escape(f"{term.product:.4g}")
    assert len(re.findall(rf"{value}(?!\d)", equation)) == 1, equation


def test_the_symbolic_section_of_one_unit_names_it_once():
    # a 1-1-1 network: "E(z_1(y))" and "y_1 through z_1", not "z_1(y), ..., z_1(y)", "y_1..y_1"
    d = explain(
        [(np.array([[1.0]]), np.array([-0.2]), "logistic"),
         (np.array([[0.7]]), np.array([0.1]), "logistic")],
        [[0.5]], [[1.0]], "squared-error", symbolic=True, perturbation=False, views=False,
    )  # fmt: skip
    text = render(d, "text")
    section = text[text.index("symbolically") :]
    assert "dE(z_1(y))/dy" in section and "function of y_1 through z_1 " in section
    assert "..y_1" not in section and "z_1(y), ..., z_1(y)" not in section
