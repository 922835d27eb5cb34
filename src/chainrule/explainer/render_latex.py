"""The derivation as a complete LaTeX document (article class; amsmath only)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from chainrule.explainer.document import Code, Equation, Heading, Options, Para, Table, build
from chainrule.explainer.notation import Math, num, symbols_in

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Checked, Derivation

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip
_UNICODE = {
    "✓": r"$\checkmark$", "✗": r"$\times$", "ε": r"$\varepsilon$", "Δ": r"$\Delta$",
    "²": r"$^2$", "·": r"$\cdot$", "−": "-", "Σ": r"$\Sigma$", "∂": r"$\partial$",
    "δ": r"$\delta$", "ᵀ": r"$^T$", "⊙": r"$\odot$", "∇": r"$\nabla$", "½": r"$\frac12$",
    "σ": r"$\sigma$", "<": r"$<$", ">": r"$>$", "|": r"$|$",
}  # fmt: skip


def escape(text: str) -> str:
    """Plain text made safe for LaTeX (special characters and the Unicode symbols we use).
    A hyphen followed by another is closed with ``{}``: in text mode LaTeX joins ``--`` into an
    en-dash and ``---`` into an em-dash, which would print ``--unit`` as "–unit". An arrow
    ``->`` (the title's "2 inputs -> 2 logistic") is one: ``$\\to$``, not a hyphen and a
    ``$>$``; a ``<`` or ``>`` of its own is set in maths (:data:`_UNICODE`)."""
    out = []
    k = 0
    while k < len(text):
        ch = text[k]
        if text.startswith("->", k):
            out.append(r"$\to$")
            k += 2
            continue
        if ch == "-" and text.startswith("-", k + 1):
            out.append("-{}")
        else:
            out.append(_SPECIAL.get(ch) or _UNICODE.get(ch) or ch)
        k += 1
    return "".join(out)


def _inline(parts: list[str | Math]) -> str:
    """Text and symbols as LaTeX: the text escaped (:class:`Code` as :func:`_code`), each symbol
    in math mode."""
    return "".join(
        _code(p) if isinstance(p, Code)
        else escape(p) if isinstance(p, str)
        else f"${p.latex}$"
        for p in parts
    )  # fmt: skip


def _code(text: str) -> str:
    """Code in ``\\texttt``, free to break after each ``*`` and ``/`` as at its spaces: sympy's
    ``-0.0692310668887523*(-0.132893004116449 - ...`` ran 180pt past the line, unbroken."""
    escaped = escape(text).replace("*", r"*\allowbreak{}").replace("/", r"/\allowbreak{}")
    return rf"\texttt{{{escaped}}}"


def _with_symbols(text: str) -> str:
    """A heading's (or a table's header's, cell's or caption's) plain text, with the symbols in
    it (``nudge y_1``, ``∂E/∂y_1``) set as maths, as the HTML page sets them, rather than with
    a literal underscore."""
    return _inline(symbols_in(text))


def _check(check: Checked | None) -> str:
    if check is None or check.numeric is None:
        return ""
    near = ""
    if not check.ok:
        mark = r"\times\ \text{MISMATCH}"
    elif check.unresolved:  # no ✓: 0 would pass too (render_text.check_mark says the same)
        tolerance = check.tolerance
        if math.isfinite(tolerance):
            number, said = _number(tolerance, 2), "fd within it of 0"
            near = r",\ \text{near 0}"
        else:
            number, said = (r"\infty" if tolerance > 0 else r"\text{NaN}"), "any value passes"
        mark = rf"?\ \text{{no verdict (tolerance }}{{{number}}}\text{{, {said})}}"
    else:
        mark = r"\checkmark"
    # the finite difference in braces: an ordinary number, so that a negative one reads as
    # "fd -0.43" with its sign, not as the subtraction "fd - 0.43"
    fd, diff = _number(check.numeric, 6), _number(check.difference, 2)
    return rf"&& {mark}\ \text{{fd }}{{{fd}}},\ \text{{diff }}{diff}{near}"


def _number(value: float, digits: int) -> str:
    """A check's number in LaTeX as every value of the document is written
    (:func:`~chainrule.explainer.notation.num`): ``1.2\\times 10^{-11}``, not ``1.2e-11``."""
    return num(value, digits, paren=False).latex


def render_latex(d: Derivation, notation: str | None = None, options: Options | None = None) -> str:
    """A standalone LaTeX document of the derivation (compiles with pdflatex)."""
    body: list[str] = []
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            command = "section" if block.level == 1 else "subsection"
            body.append(rf"\{command}*{{{_with_symbols(block.text)}}}")
        elif isinstance(block, Para):
            text = _inline(block.parts)
            if any(isinstance(p, Code) for p in block.parts):  # \texttt's spaces do not stretch
                text = rf"{{\raggedright {text}\par}}"
            body.append(text + "\n")
        elif isinstance(block, Equation):
            body.append(_equation(block))
        elif isinstance(block, Table):
            body.append(_table(block))
    return "\n".join(
        [
            r"\documentclass[10pt]{article}",
            r"\usepackage[utf8]{inputenc}",
            r"\usepackage{amsmath,amssymb,graphicx}",
            r"\usepackage[margin=2cm,landscape]{geometry}",
            r"\allowdisplaybreaks",
            r"\begin{document}",
            *body,
            r"\end{document}",
            "",
        ]
    )


#: graphicx's box of what follows ({...}) at its own size, or at the line's width where wider
SHRINK_TO_LINE = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}"


def _equation(eq: Equation) -> str:
    label = rf"\text{{{escape(eq.label)}:}}\quad " if eq.label else ""
    if eq.wide and eq.check is None:  # one line, shrunk to the page's width where it is
        # wider (graphicx's \width); a check's && belongs to an align, not to $...$
        line = " = ".join(math.latex for math in [eq.lhs, *eq.steps])
        return rf"\begin{{center}}{SHRINK_TO_LINE}{{${label}\displaystyle {line}$}}\end{{center}}"
    rows = []
    for k, step in enumerate(eq.steps):
        first, *rest = _lines_of_terms(step.latex)
        rows.append(f"{label}{eq.lhs.latex} &= {first}" if k == 0 else f"&= {first}")
        rows += [rf"&\quad + {line}" for line in rest]
    rows[-1] += " " + _check(eq.check)
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


#: Terms of a sum per line of an equation: eight w_ij dE/dz_j fractions, or a z of six inputs,
#: ran up to 190pt past a landscape page's line
TERMS_PER_LINE = 4


def _lines_of_terms(latex: str) -> list[str]:
    """A step's sum cut into lines of :data:`TERMS_PER_LINE` terms at its outermost `` + ``
    (none inside braces, brackets or parentheses); a step of fewer terms is one line."""
    terms, depth, start = [], 0, 0
    for k, char in enumerate(latex):
        depth += (char in "{([") - (char in "})]")
        if depth == 0 and latex.startswith(" + ", k):
            terms.append(latex[start:k])
            start = k + 3
    terms.append(latex[start:])
    if len(terms) <= TERMS_PER_LINE + 1:  # one term more than a line: not worth its own line
        return [latex]
    return [" + ".join(terms[k : k + TERMS_PER_LINE]) for k in range(0, len(terms), TERMS_PER_LINE)]


def _table(table: Table) -> str:
    cols = "r" * len(table.headers)
    # shrunk to the line's width where it is wider (a perturbation table of five paths ran
    # 31pt over), as sympy's expressions are
    lines = [r"\begin{center}", r"\small", SHRINK_TO_LINE + "{%", rf"\begin{{tabular}}{{{cols}}}"]
    lines.append(r"\hline")
    lines.append(" & ".join(_with_symbols(h) for h in table.headers) + r" \\ \hline")
    lines += [" & ".join(_with_symbols(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\hline", r"\end{tabular}}"]
    if table.caption:
        lines.append(rf"\\[2pt] \textit{{{_with_symbols(table.caption)}}}")
    lines.append(r"\end{center}")
    return "\n".join(lines)
