"""What a course author exporting handouts (``explain --format md|latex|html|text``) found (s61):
a line of the symbolic section only the text showed, LaTeX's two number formats, and its
``-$>$`` for an arrow."""

from __future__ import annotations

import html
import re
import shutil

import pytest
from explain_cases import pdflatex

import chainrule as cr
from chainrule.explainer import explain, render, seed_model
from chainrule.explainer.notation import NOTATIONS

pytest.importorskip("sympy")


@pytest.fixture(scope="module")
def seed():
    """The seed network (focus on unit 1 of layer 1) with sympy's proof, in each notation."""
    return {name: explain(notation=name, symbolic=True) for name in NOTATIONS}


def _symbolic(document: str) -> str:
    """The symbolic section of a rendering (from its heading to the next one)."""
    start = document.index("symbolically (sympy)")
    rest = document[start:]
    ends = [rest.find(mark, 1) for mark in ("\n#", "\\subsection", "<h2", "\n\n\n")]
    return rest[: min([end for end in ends if end > 0], default=len(rest))]


def _first_dE_dz(d) -> str:
    """The first dE/dz_j written out, as the JSON's sum_form holds it (after "with each")."""
    each = d.symbolic["sum_form"].split("  with each ", 1)[1]
    return each.split(" = ", 1)[1].rsplit(" (", 1)[0]


@pytest.mark.parametrize("notation", NOTATIONS)
def test_every_format_writes_out_the_first_dE_dz_of_the_sum(seed, notation):
    """Markdown and LaTeX left out the "with each dE/dz_j = ... (j = 1) ..." line that the
    text printed (HTML had it only in an equation's alttext, which a reader does not see)."""
    d = seed[notation]
    first = _first_dE_dz(d)
    assert "exp(" in first  # the logistic's derivative, written out
    text = _symbolic(render(d, "text"))
    assert "with each " in text and f" = {first} (j = 1) ..." in text
    markdown = _symbolic(render(d, "markdown"))
    assert f" = `{first}` (j = 1) ..." in markdown  # code: a * in it is no emphasis
    assert "with each $" in markdown
    page = _symbolic(render(d, "html"))
    assert f" = <code>{html.escape(first)}</code> (j = 1) ...</p>" in page
    assert "with each" not in "".join(re.findall(r'alttext="[^"]*"', page))
    latex = _symbolic(render(d, "latex")).replace(r"\allowbreak{}", "")  # breaks after * and /
    from chainrule.explainer.render_latex import escape

    assert rf" = $ \texttt{{{escape(first)}}} ($j = 1$) \ldots" in latex and "with each $" in latex


def test_the_formats_write_the_same_sentences_of_the_symbolic_section(seed):
    """One list of blocks: each paragraph of the text's symbolic section is in the Markdown's,
    its symbols aside."""
    d = seed["hinton"]
    text = [line.strip() for line in _symbolic(render(d, "text")).splitlines()]
    markdown = _symbolic(render(d, "markdown"))
    paragraphs = [line for line in text if line.startswith(("with each", "and the sum"))]
    assert len(paragraphs) == 2
    for line in paragraphs:
        words = line.split(" ", 2)[:2]
        assert " ".join(words) in markdown


def test_latex_writes_every_number_in_one_format(seed, tmp_path):
    """The checks' differences read 1.2\\text{e-}11 beside values written 1.2 \\times 10^{-11}."""
    latex = render(seed["hinton"], "latex")
    assert r"\text{e-}" not in latex and r"\text{e+}" not in latex
    assert re.search(r"\\text\{diff \}\d\.\d\\times 10\^\{-1\d\}", latex)
    if shutil.which("pdflatex") is not None:
        result = pdflatex(tmp_path, "numbers", latex)
        assert result.returncode == 0, result.stdout[-2000:]


def test_a_tiny_finite_difference_is_written_as_the_values_are():
    """fd 1e-07 was 1\\text{e-}07 too (the replace ran over the whole check)."""
    from chainrule.explainer.derivation import Checked
    from chainrule.explainer.render_latex import _check

    for atol in (1e-11, 1e-5):  # a ✓, and no verdict (tolerance 1e-05, fd within it of 0)
        written = _check(Checked(value=1.2e-7 + 3e-12, numeric=1.2e-7, atol=atol))
        assert "text{e" not in written, written
        assert r"{1.2\times 10^{-7}}" in written and r"\times 10^{-12}" in written, written


def test_latex_writes_an_arrow_in_a_title_as_an_arrow():
    """The title's "2 inputs -> 2 logistic" was "2 inputs -$>$ 2 logistic"."""
    from chainrule.explainer.render_latex import escape

    document = render(cr.explain(*seed_model()), "latex")
    assert r"2 inputs $\to$ 2 logistic $\to$ 3 logistic" in document and "-$>$" not in document
    assert escape("a -> b") == r"a $\to$ b"
    # a < or > elsewhere, and a hyphen that is not an arrow's, stay as they were
    assert escape("x <b> y > 0, z < 1 | --unit") == r"x $<$b$>$ y $>$ 0, z $<$ 1 $|$ -{}-unit"
    assert escape("-->") == r"-{}$\to$" and escape("<-") == r"$<$-"
