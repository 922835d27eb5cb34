"""Where a write-up leaves something out, it says how to have it in its reader's way: rendered
in Python (``render``, a notebook's display of a derivation) it names explain's ``unit="0:1"``
and ``cr.explainer.to_json(d)``; ``chainrule explain`` names its ``--unit 0:1`` and its JSON
output. A notebook's reader was told to pass command-line options (s71)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from explain_cases import pdflatex

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer import render
from chainrule.explainer.network import ExplainError

PYTHON_SUMMARY = (
    'the other 2 (the inputs\' ∂E/∂y, written out with unit="0:1" or unit="0:2") are in the '
    "JSON, cr.explainer.to_json(d)."
)
CLI_SUMMARY = (
    "the other 2 (the inputs' ∂E/∂y, written out with --unit 0:1 or 0:2) are in the JSON output."
)
PYTHON_JSON = "(all are in the JSON, cr.explainer.to_json(d))"


def _summary(text: str) -> str:
    return next(line for line in text.splitlines() if "gradients checked against" in line)


def _wide():
    """Five cases of a 3-9-2 network: units, weights and cases left out of the write-up."""
    net = cr.nn.mlp([3, 9, 2], dtype="float64", rng=0)
    x = np.random.default_rng(71).normal(size=(5, 3))
    return cr.explain(net, x, np.ones((5, 2)))


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_a_write_up_rendered_in_python_names_no_command_line_option(fmt) -> None:
    for d in (cr.explain(), _wide()):
        out = render(d, fmt)
        assert "--unit" not in out and "JSON output" not in out, fmt
        assert "to_json(d)" in out.replace(r"\_", "_"), fmt


def test_the_python_words_in_text_and_a_notebook_s_markdown() -> None:
    d = cr.explain()
    assert _summary(render(d, "text")).endswith(PYTHON_SUMMARY)
    notebook = d._repr_markdown_()
    assert notebook.rstrip().endswith(
        'written out with `unit="0:1"` or `unit="0:2"`) are in the JSON, `cr.explainer.to_json(d)`.'
    ), notebook[-300:]
    text = render(_wide(), "text")
    # the cases, the units of each layer and the weights left out, each said the Python way
    assert "5 cases (the first 3 written out; all are in the JSON, cr.explainer.to_json(d))" in text
    assert text.count(f"more units {PYTHON_JSON}.") >= 2
    assert f"more weights {PYTHON_JSON}." in text
    assert 'written out with unit="0:1" to unit="0:3"' in _summary(text)


def test_the_command_names_its_own_options(capsys) -> None:
    code = main(["explain", "--max-units", "1"])
    out = capsys.readouterr().out
    assert code == 0
    summary = _summary(out)
    assert "written out with --unit 0:1 or 0:2, and 6 of units and cases" in summary
    assert summary.endswith(" are in the JSON output.")
    assert "... 1 more unit (all are in the JSON output)." in out
    assert "to_json" not in out and 'unit="' not in out
    code = main(["explain", "--format", "markdown"])
    out = capsys.readouterr().out
    assert code == 0 and _summary(out).endswith(
        "written out with --unit 0:1 or 0:2) are in the JSON output."
    )
    # the command's words from Python too, where asked for
    assert _summary(render(cr.explain(), "text", host="cli")).endswith(CLI_SUMMARY)


def test_the_python_words_in_latex_are_code_and_compile(tmp_path) -> None:
    latex = render(cr.explain(), "latex")
    assert r"\texttt{unit=" in latex and r"\texttt{cr.explainer.to\_json(d)}" in latex
    if shutil.which("pdflatex") is not None:
        result = pdflatex(tmp_path, "python-words", latex)
        assert result.returncode == 0, result.stdout[-2000:]


def test_an_unknown_host_is_refused_by_name() -> None:
    with pytest.raises(ExplainError, match=re.escape("render: host 'web' is not known")):
        render(cr.explain(), "text", host="web")


def test_the_units_python_names_are_ones_explain_takes() -> None:
    summary = _summary(render(cr.explain(), "text"))
    named = re.findall(r'unit="(0:\d+)"', summary)
    assert named == ["0:1", "0:2"]
    for unit in named:  # each writes the inputs' dE/dy out: no line about them left
        assert "written out with" not in _summary(render(cr.explain(unit=unit), "text"))
    with pytest.raises(ExplainError):
        cr.explain(unit="0:3")  # past the inputs: refused
