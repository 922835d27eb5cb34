"""A derivation proofreader's finding (s65): the symbolic section's "E (case 1's share)" of a
batch was written in LaTeX with a TAB where ``\\t`` of ``\\text`` belongs, so pdflatex set
"E ext(case1'sshare)" as maths, and HTML as the letters e, x, t."""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

pytest.importorskip("sympy")

BATCH = ("explain", "--input", "1,0;0,1", "--target", "1,0,1;0,1,0")


def test_latex_writes_each_cases_share_as_text(capsys):
    code, out, _ = run(capsys, *BATCH, "--format", "latex")
    assert code == 0
    assert "\t" not in out
    assert r"\ \text{(case 1's share)}" in out


def test_html_writes_each_cases_share_as_one_text_run(capsys):
    code, out, _ = run(capsys, *BATCH, "--format", "html")
    assert code == 0
    assert "\t" not in out
    assert re.search(r"<mtext>\(case(&#x000A0;| )1's(&#x000A0;| )share\)</mtext>", out), out[:2000]


def test_no_source_file_holds_a_control_character():
    """The TAB came from an editor turning ``\\t`` into one: no literal control character (but
    the newline) belongs in chainrule's source, where escapes say what is meant."""
    src = pathlib.Path(__file__).resolve().parents[2] / "src" / "chainrule"
    found = [
        f"{path.relative_to(src)}:{number}"
        for path in sorted(src.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"[\x00-\x09\x0b-\x1f\x7f]", line)
    ]
    assert found == []
