"""The explainer's wording, as a mathematician read it (QA s62): E itself in the symbolic section,
no "..." after the one j, −(1/n) Σ_c Σ_j for the cross-entropies, 2 (y_j − t_j) for MSE of one
case and one output, the perturbation error's sign, one minus sign in the text, and one W in the
matrix notation's three views."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import render
from chainrule.explainer.blocks import Equation
from chainrule.explainer.document import build


def _one_output(loss="mse", **options):
    model = nn.mlp([2, 2, 1], "tanh", "logistic", rng=0, dtype="float64")
    return cr.explain(model, np.array([[0.5, -0.2]]), np.array([[1.0]]), loss, **options)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n\n", start)
    return text[start : end if end > 0 else None]


def test_the_symbolic_section_shows_E_itself_from_the_document():
    d = _one_output(symbolic=True)
    # the block: an equation E = sympy's E, before the derivative's
    blocks = list(build(d))
    equations = [b for b in blocks if isinstance(b, Equation)]
    E_rows = [b for b in equations if b.lhs.plain == "E" and "exp(" in b.steps[0].plain]
    assert len(E_rows) == 1
    assert "w_11*y_1" in E_rows[0].steps[0].plain
    assert E_rows[0].steps[0].latex.startswith(r"\left(")  # sympy's LaTeX, the JSON's E_latex
    assert d.symbolic["E_latex"]
    text = _section(render(d, "text"), "Why a sum, symbolically")
    lines = text.splitlines()
    E_line = next(k for k, line in enumerate(lines) if line.strip().startswith("E = "))
    derivative = next(k for k, line in enumerate(lines) if line.strip().startswith("dE/dy_1 = "))
    assert E_line < derivative
    markdown = render(d, "markdown")
    assert "E &= " in markdown[markdown.index("Why a sum, symbolically") :]


def test_one_j_has_no_ellipsis_and_several_keep_it():
    one = render(_one_output(symbolic=True), "text")
    line = next(line for line in one.splitlines() if line.strip().startswith("with each"))
    assert line.rstrip().endswith("(j = 1)")
    several = render(cr.explain(symbolic=True), "text")  # the seed: three units above
    line = next(line for line in several.splitlines() if line.strip().startswith("with each"))
    assert line.rstrip().endswith("(j = 1) ...")


def test_mse_of_one_case_and_one_output_writes_2_not_2_over_1():
    text = render(_one_output(), "text")
    assert "(2/1)" not in text
    assert "∂E/∂y_j = 2 (y_j - t_j)" in text
    assert "∂E/∂y_1 = 2·(" in text
    latex = render(_one_output(), "latex")
    assert r"\frac{2}{1}" not in latex


def test_cross_entropies_put_the_minus_before_the_mean():
    model = nn.mlp([3, 4, 2], "tanh", output=None, rng=0, dtype="float64")
    d = cr.explain(model, np.ones((3, 3)), np.array([0, 1, 1]), "cross-entropy")
    assert "E = -(1/3) Σ_c Σ_j t_j log y_j" in render(d, "text")
    d = cr.explain(model, np.ones((3, 3)), np.array([[0, 1], [1, 1], [0, 0.0]]),
                   "binary-cross-entropy")  # fmt: skip
    assert "E = -(1/6) Σ_c Σ_j [t_j log y_j + (1 - t_j) log(1 - y_j)]" in render(d, "text")


def test_the_perturbation_error_column_says_its_sign():
    text = render(cr.explain(), "text")
    header = next(line for line in text.splitlines() if "sum of paths" in line)
    assert "error: measured - predicted" in header


@pytest.mark.parametrize("notation", ["hinton", "rhw", "matrix"])
def test_the_text_writes_one_minus_sign(notation):
    text = render(cr.explain(notation=notation, symbolic=True), "text")
    assert "−" not in text
    assert "(1 - 0.5461)" in text and "-0.1145" in text


def test_the_matrix_notation_has_one_W_in_its_three_views():
    text = render(cr.explain(notation="matrix"), "text")
    assert "δ^1 = ((W^2)ᵀ δ^2) ⊙ σ'(z^1)" in text
    assert "with W^2 the matrix whose row j, column i is the weight from unit i below" in text
    views = _section(text, "One quantity, three views")
    assert "∂C/∂a^1 = (W^2)ᵀ δ^2 (W^2 as above" in views
    assert "= W δ" not in views and "W[" not in views
    assert "matrix: W^2[j,1]·(δ^2)[j]" in views
    hinton = _section(render(cr.explain(), "text"), "One quantity, three views")
    assert "∂E/∂y = W ∂E/∂z (W the layer's weight array as chainrule stores it: row i below" in (
        hinton
    )
