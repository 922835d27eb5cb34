"""LaTeX of a case whose class or feature names are Greek, Arabic, Chinese or an emoji (QA
"intl", s64): pdflatex stopped at the first such character ("Unicode character Ω (U+03A9) not
set up for use with LaTeX"); now each is written as its code point under pdflatex, and as
itself under LuaLaTeX or XeLaTeX where the font has it."""

from __future__ import annotations

import shutil

import pytest
from explain_cases import pdflatex

from chainrule.explainer import explain, render

NAMES = "target: class 'Ωμέγα' (2); قطة, 猫ちゃん, 🐱\u200d👤; Ölçü & İzmir, ð, « x_1 »"


def _latex() -> str:
    d = explain(case_source=NAMES, check=False, perturbation=False, views=False, paths=False)
    return render(d, "latex")


def test_names_pdflatex_cannot_set_are_written_as_code_points():
    latex = _latex()
    assert r"\chainruleglyph{03A9}{Ω}" in latex and r"\chainruleglyph{1F431}{🐱}" in latex
    assert r"\chainruleglyph{0642}{ق}" in latex and r"\chainruleglyph{732B}{猫}" in latex
    assert "Ölçü" in latex and "İzmir" in latex  # Latin letters pdflatex sets stay as written
    assert r"\ifPDFTeX" in latex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")
def test_names_in_any_script_compile_with_pdflatex(tmp_path):
    result = pdflatex(tmp_path, "names", _latex())
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "names.pdf").exists()
