"""What a mathematician compiling the LaTeX export found (s62): negative numbers written with a
hyphen in text mode (tables, captions, lines), index letters and symbols upright (``units i``,
``\\text{j=1:}``, ``measured ΔE``), ranges ``y_{1}..y_{2}`` and a literal ``...``, an ``=``
left outside the maths (``$t_{j}$ = 1, 0, 1``), a matrix's negative entries in parentheses, and
the checks' differences at another precision than the text's."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from explain_cases import pdflatex
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.explainer import explain, render, seed_model
from chainrule.explainer.notation import NOTATIONS, Math

pytest.importorskip("sympy")


def _trained_xor():
    """A 2-2-1 tanh/logistic network trained on XOR (checked: every case within 0.2 of its
    target), explained on its case (0, 0)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])
    model = nn.mlp([2, 2, 1], "tanh", "logistic", dtype="float64", rng=3, init_range=1.0)
    opt, loss = optim.SGD(model.parameters(), lr=0.5, momentum=0.9), nn.SquaredError()
    for _ in range(1000):
        opt.zero_grad()
        loss(model(cr.Tensor(X)), cr.Tensor(T)).backward()
        opt.step()
    assert np.abs(model(cr.Tensor(X)).numpy() - T).max() < 0.2  # the premise: it learned XOR
    return model, X[:1], T[:1]


@pytest.fixture(scope="module")
def exports():
    """{(network, notation): LaTeX}: the seed network, a trained XOR 2-2-1, a softmax net with
    cross-entropy (2 cases) and a 3-layer net whose targets are negative too, each with
    sympy's proof, in every notation."""
    softmax = nn.mlp([3, 4, 3], "logistic", "identity", dtype="float64", rng=3)
    three = nn.mlp([2, 3, 3, 2], "tanh", "logistic", dtype="float64", rng=4)
    derivations = {
        "seed": explain(*seed_model(), symbolic=True),
        "xor": explain(*_trained_xor(), symbolic=True),
        "softmax": explain(
            softmax, [[0.5, -1.0, 0.2], [-0.3, 0.8, 1.1]], [2, 0], nn.CrossEntropy(), symbolic=True
        ),  # fmt: skip
        "three": explain(three, [[0.4, -0.9]], [[0.5, -0.5]], symbolic=True),
    }
    return {
        (name, notation): render(d, "latex", notation=notation)
        for name, d in derivations.items()
        for notation in NOTATIONS
    }


def _texttt_end(latex: str, start: int) -> int:
    """Where the ``\\texttt{...}`` opening at ``start`` ends (its braces matched)."""
    depth, k = 0, latex.index("{", start)
    while True:
        if latex[k - 1] != "\\":
            depth += {"{": 1, "}": -1}.get(latex[k], 0)
        k += 1
        if depth == 0:
            return k


def split_maths(latex: str) -> tuple[str, list[str]]:
    """The document's body as (its text outside maths, with each formula and ``\\texttt`` code
    cut out, and the list of its formulas: align* environments and ``$...$``)."""
    body = latex[latex.index(r"\begin{document}") :]
    maths: list[str] = []

    def cut(match: re.Match[str]) -> str:
        maths.append(match[0])
        return " "

    body = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}", cut, body, flags=re.S)
    body = re.sub(r"(?<!\\)\$(.*?)(?<!\\)\$", cut, body, flags=re.S)
    text, k = [], 0
    while (start := body.find(r"\texttt{", k)) >= 0:  # code, as sympy writes it
        text.append(body[k:start])
        k = _texttt_end(body, start)
    return "".join([*text, body[k:]]), maths


def test_the_exports_write_numbers_symbols_and_ranges_as_maths_and_compile(exports, tmp_path):
    for (name, notation), latex in exports.items():
        where = (name, notation)
        text, maths = split_maths(latex)
        # a negative number (or an exponent) in text mode: a hyphen, not a minus
        assert not re.findall(r".{0,30}-\.?\d.{0,10}", text), where
        # index letters and symbols upright: "units i", "layer j", "row j, column k", "ΔE"
        assert not re.findall(r".{0,30}(?<![\w\\'])[ghijkEzCWxyw](?!\w).{0,10}", text), where
        assert r"\text{i=" not in latex and r"\text{j=" not in latex, where
        assert not re.findall(r"[^\x00-\x7f]", text), where  # ∂, Δ, −, ... as maths
        # "= " between a symbol and its value outside the maths: "$t_{j}$ = 1, 0, 1"
        assert not re.findall(r".{0,30}\$ ?= .{0,10}", latex), where
        # ranges and a literal "..." in maths: y_{1}..y_{2}, E(z_{1}(y), ..., z_{n}(y))
        assert not [formula for formula in maths if ".." in formula], where
        assert r"\ldots" in latex, where
        # a matrix's negative entries bare, as a matrix writes them
        matrices = re.findall(r"\\begin\{pmatrix\}.*?\\end\{pmatrix\}", latex)
        assert not [m for m in matrices if "(-" in m], where
        assert bool(matrices) == (notation == "matrix"), where
        if shutil.which("pdflatex") is not None:
            result = pdflatex(tmp_path, f"{name}-{notation}", latex)
            assert result.returncode == 0, (where, result.stdout[-2000:])


def test_the_seed_networks_export_writes_what_the_reader_flagged(exports):
    """The places the report named, as they now read."""
    latex, matrix = exports["seed", "hinton"], exports["seed", "matrix"]
    assert "Targets: $t_{j} = 1, 0, 1$." in latex
    assert r"& $-1.131130\times 10^{-2}$ &" in latex  # the perturbation table's measured ΔE
    assert r"measured $\Delta E$ & path $j=1$" in latex
    assert r"\textit{engine: $\partial E/\partial y_{1} = -0.11445918$}" in latex
    assert r"both give $-0.114459180042$ (engine: $-0.114459180042$)" in latex
    assert r"Layer 1 (hidden, 2 logistic units $i$)" in latex
    assert r"the sum over $j$}" in latex and r"\text{$j=1$:}\quad" in latex
    assert r"\cdot(\partial E/\partial z)[j]$ & graph" in latex  # the matrix view's header
    assert r"$E(z_{1}(y), \ldots, z_{n}(y))$" in latex
    assert r"as a function of $y_{1}, \ldots, y_{2}$ through $z_{1}, \ldots, z_{3}$" in latex
    assert r"with each $\frac{\partial E}{\partial z_{j}} = $ \texttt{" in latex
    assert r"($2 \times 2 \times 3$ network)" in latex
    assert re.search(
        r"whose row \$[a-z]\$, column \$[a-z]\$ is the weight from unit \$[a-z]\$", matrix
    )
    entries = {  # of every column vector and matrix: the seed's weights -0.3 and -0.4 bare
        cell.strip()
        for body in re.findall(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", matrix)
        for cell in re.split(r"&|\\\\", body)
    }
    assert {"-0.3", "-0.4", "0.35"} <= entries, entries
    assert "Targets: $t_{j} = 0.5, -0.5$." in exports["three", "hinton"]


def _diffs_of_text(text: str) -> list[str]:
    return re.findall(r"diff (\S+?)(?:,|$)", text, flags=re.M)


@pytest.mark.parametrize("name", ["seed", "xor"])
def test_the_checks_differences_have_the_texts_precision(name):
    """ "diff 2\\times 10^{-11}" beside "1.2\\times 10^{-11}" (the text: 2.0e-11): every
    difference of the LaTeX is the text's, digit for digit."""
    d = explain(*seed_model()) if name == "seed" else explain(*_trained_xor())
    in_text = _diffs_of_text(render(d, "text"))
    in_latex = re.findall(r"\\text\{diff \}(.+?)(?:,\\ |\n|$)", render(d, "latex"))
    assert len(in_text) == len(in_latex) > 10

    def spelled(text: str) -> str:
        mantissa, exponent = text.split("e")
        return mantissa if float(mantissa) == 0 else rf"{mantissa}\times 10^{{{int(exponent)}}}"

    assert in_latex == [spelled(diff) for diff in in_text]
    if name == "seed":  # the report's: a trailing zero, which 2\times 10^{-11} dropped
        assert r"2.0\times 10^{-11}" in in_latex


# -- the renderer's text, whatever it holds --------------------------------------------------------
_WORDS = ["unit", " ", "i", "j", "E", "z", "y's", "=", " = ", "-0.25", "1e-06", "2 x 3", "(",
          ")", "[j]", "/", "..", "...", "ΔE", "∂E/∂z", "−", "·", ", ", "float64", "100-fold",
          "--unit", "->", "1→2", "%", "_", "&"]  # fmt: skip


@given(st.lists(st.sampled_from(_WORDS) | st.builds(lambda v: f"{v:g}", st.floats(-1e9, 1e9)),
                max_size=12),
       st.lists(st.sampled_from([Math("t_j", "t_{j}"), Math("y_1..y_2", "y_{1}..y_{2}")]),
                max_size=2))  # fmt: skip
def test_any_text_gets_a_minus_and_balanced_maths(words, symbols):
    """A paragraph of any words, numbers and symbols: its maths balanced, no hyphen before a
    digit and no ``..`` in maths, no raw LaTeX special outside it."""
    from chainrule.explainer.render_latex import _inline

    parts: list[str | Math] = [" ".join(words[: len(words) // 2]), *symbols,
                               " ".join(words[len(words) // 2 :])]  # fmt: skip
    latex = _inline(parts)
    assert latex.count("$") % 2 == 0 and "$$" not in latex, latex
    text, maths = split_maths(r"\begin{document}" + latex)
    assert not re.search(r"-\.?\d", text), latex
    assert not re.search(r"(?<!\\)[%&_]", text), latex
    assert not re.search(r"[^\x00-\x7f]", text), latex  # −, ·, ∂, Δ, → as maths
    assert not [formula for formula in maths if ".." in formula], latex
