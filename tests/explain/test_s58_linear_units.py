"""QA s58: for linear (identity) output units the write-up's dE/dz line printed the number twice,
`∂E/∂z_1 = (-1.316) = -1.316`, where a logistic unit's reads formula, numbers, value. A linear
unit's dE/dz is its dE/dy passed on: the line now says so, `∂E/∂z_1 = ∂E/∂y_1 = -1.316`, with its
check, in text, Markdown, LaTeX and HTML (a linear hidden unit's too)."""

import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, render


@pytest.fixture(scope="module")
def linear_top():
    """2 inputs -> 3 logistic -> 2 linear, squared error: one output negative, one positive."""
    model = nn.mlp([2, 3, 2], output=None, dtype="float64", rng=0)
    d = explain(model, [[0.3, -0.7]], [[1.0, -0.5]], "squared-error")
    assert d.layers[2].activation == "identity"
    return d


def _values(d, layer: int) -> list[str]:
    """Each unit's dE/dz in case 1 as the write-up prints a final value."""
    return [f"{v + 0.0:.4g}" for v in d.layers[layer].dE_dz[0]]


def test_the_text_line_reads_dE_dz_equals_dE_dy_then_the_value(linear_top):
    text = render(linear_top, "text")
    values = _values(linear_top, 2)
    assert any(v.startswith("-") for v in values) and any(not v.startswith("-") for v in values)
    for u, value in enumerate(values, start=1):
        assert re.search(rf"\n +∂E/∂z_{u} = ∂E/∂y_{u}\n +\= {re.escape(value)}   ✓ fd ", text), u
        assert not re.search(rf"∂E/∂z_{u} = \(?{re.escape(value)}\)?\n", text), u  # no repeat
    matrix = render(linear_top, "text", notation="matrix")
    for u, value in enumerate(values, start=1):
        assert re.search(rf"\n +δ\^2_{u} = ∂C/∂a\^2_{u}\n +\= {re.escape(value)}   ✓ fd ", matrix)


def test_markdown_latex_and_html_read_the_same(linear_top):
    for u, value in enumerate(_values(linear_top, 2), start=1):
        dz = rf"\frac{{\partial E}}{{\partial z_{{{u}}}}}"
        dy = rf"\frac{{\partial E}}{{\partial y_{{{u}}}}}"
        for fmt in ("markdown", "latex"):
            out = render(linear_top, fmt)
            assert f"{dz} &= {dy} \\\\\n&= {value}" in out, (fmt, u)
            assert f"{dz} &= {value}" not in out and f"{dz} &= ({value})" not in out, (fmt, u)
        html = render(linear_top, "html")
        line = next(x for x in html.splitlines() if f'alttext="∂E/∂z_{u}"' in x and "= ∂E/∂y_" in x)
        steps = re.findall(r'alttext="(= [^"]*)"', line)
        assert steps == [f"= ∂E/∂y_{u}", f"= {value}"], steps


def test_a_linear_hidden_unit_reads_the_same():
    model = nn.Sequential(
        nn.Linear(2, 3, rng=0, dtype="float64"), nn.Linear(3, 2, rng=1, dtype="float64"),
        nn.Logistic(),
    )  # fmt: skip
    d = explain(model, np.array([[0.3, -0.7]]), np.array([[1.0, 0.0]]))
    assert d.layers[1].activation == "identity"
    text = render(d, "text")
    for u, value in enumerate(_values(d, 1), start=1):
        assert re.search(rf"\n +∂E/∂z_{u} = ∂E/∂y_{u}\n +\= {re.escape(value)}   ✓ fd ", text), u
