"""The derivation as a complete LaTeX document (article class; amsmath only)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from chainrule.explainer.derivation import KINK_MARK
from chainrule.explainer.document import Code, Equation, Heading, Options, Para, Table, build
from chainrule.explainer.notation import Math, Notation, get_notation, num, symbols_in

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Checked, Derivation

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip
#: Unicode symbols of the plain text and their LaTeX, set in maths (U+2212 is a minus, never a
#: hyphen)
_MATH_UNICODE = {
    "✓": r"\checkmark", "✗": r"\times", "ε": r"\varepsilon", "Δ": r"\Delta", "²": "^2",
    "·": r"\cdot", "−": "-", "Σ": r"\Sigma", "∂": r"\partial", "δ": r"\delta", "ᵀ": "^T",
    "⊙": r"\odot", "∇": r"\nabla", "½": r"\frac12", "σ": r"\sigma", "<": "<", ">": ">",
    "|": "|", "≤": r"\le", "≥": r"\ge", "≈": r"\approx", "×": r"\times", "→": r"\to",
}  # fmt: skip
_UNICODE = {char: f"${latex}$" for char, latex in _MATH_UNICODE.items()}

#: The characters past ASCII that pdflatex sets in text, with inputenc's utf8 and the default
#: (OT1) fonts: Latin letters with accents (Latin-1, most of Latin Extended-A: Turkish, Polish,
#: Czech, ...) and the common punctuation. Others (Greek, Arabic, CJK, emoji, ``ð``, ``«``)
#: stop pdflatex ("Unicode character ... not set up for use with LaTeX"): :func:`escape`
#: writes them with :data:`_GLYPH`.
_PDFLATEX_TEXT = frozenset(
    "".join(
        chr(c)
        for first, last in (
            (0xA0, 0xAA), (0xAC, 0xBA), (0xBC, 0xCF), (0xD1, 0xDD), (0xDF, 0xEF),
            (0xF1, 0xFD), (0xFF, 0x103), (0x106, 0x10F), (0x112, 0x117), (0x11A, 0x125),
            (0x128, 0x12D), (0x130, 0x137), (0x139, 0x13E), (0x141, 0x148), (0x14C, 0x165),
            (0x168, 0x171), (0x174, 0x17E), (0x218, 0x21B),
        )
        for c in range(first, last + 1)
    )
    + "‐‑‒–—―‘’“”†‡•…‰€™№"
)  # fmt: skip
#: The preamble's command for a character outside :data:`_PDFLATEX_TEXT` (its code point in
#: hex, then the character): under pdflatex its code point (``U+03A9``) in typewriter type;
#: under LuaLaTeX or XeLaTeX the character itself where the font has it (the default font
#: has few past Latin-1; a font with the script, set with fontspec, shows them)
_GLYPH = "chainruleglyph"
_GLYPH_PREAMBLE = (
    r"\usepackage{iftex}",
    r"\ifPDFTeX",
    r"  \usepackage[utf8]{inputenc}",
    rf"  \newcommand{{\{_GLYPH}}}[2]{{\texttt{{U+#1}}}}",
    r"\else",
    rf"  \newcommand{{\{_GLYPH}}}[2]{{\iffontchar\font`#2 #2\else\texttt{{U+#1}}\fi}}",
    r"\fi",
)


def _text_char(ch: str) -> str:
    """A character of plain text as LaTeX that compiles under pdflatex (:data:`_GLYPH`)."""
    if ch.isascii() or ch in _PDFLATEX_TEXT:
        return ch
    return rf"\{_GLYPH}{{{ord(ch):04X}}}{{{ch}}}"


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
            out.append(_SPECIAL.get(ch) or _UNICODE.get(ch) or _text_char(ch))
        k += 1
    return "".join(out)


def _inline(parts: list[str | Math]) -> str:
    """Text and symbols as LaTeX: the text escaped (:class:`Code` as :func:`_code`), each symbol
    in math mode, and what the plain text writes of maths in words set as maths too
    (:func:`_segments`): a run of maths is one ``$...$``."""
    segments: list[tuple[str, str, str]] = []
    for part in parts:
        if isinstance(part, Code):
            segments.append(("text", _code(part), ""))
        elif isinstance(part, str):
            segments += _segments(part)
        else:
            segments.append(("math", _maths(part.latex), ""))
    return _joined(segments)


#: Maths the plain text writes in words and numbers, each alternative a kind of segment
#: (:func:`_segments`). A number is one term: its own sign and exponent (``-1.13e-02``), not a
#: hyphen ending a word (``100-fold``, ``float64``, ``2.weight``).
_NUMBER = r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_TEXT_MATHS = re.compile(
    r"(?P<arrow>->)"  # the title's "2 inputs -> 2 logistic"
    r"|(?P<partial>∂(?P<top>[A-Za-z])/∂(?P<bottom>[A-Za-z]))(?!\w)"  # (∂E/∂z)[j]
    r"|(?P<delta>Δ(?P<of>[A-Za-z]))(?!\w)"  # measured ΔE
    r"|(?<![\w'])(?P<assign>[a-z] ?= ?\d+)(?!\w|\.\d)"  # i=1, (j = 1)
    r"|(?<![\w.])(?P<dims>\d+(?: x \d+)+)(?!\w|\.\d)"  # a 2 x 2 x 3 network
    rf"|(?P<equals> ?= ?)(?P<values>{_NUMBER}(?:[,;] {_NUMBER})*(?!\w|\.\d))?"  # t_j = 1, 0
    rf"|(?<![\w.])(?P<number>{_NUMBER})(?!\w|\.\d)"
    r"|(?<![\w'/.\\-])(?P<letter>[ghijkxyzwECW])(?!\w|\.\w|'(?!s\b))"  # unit i, E's slope
    r"|(?P<index>\[[\w,]+\])"  # W[1,j]
    r"|(?P<range>(?<!\.)\.\.(?!\.))|(?P<ellipsis>\.\.\.)"
    r"|(?P<glue>[()/]| \+ )"
    rf"|(?P<unicode>[{''.join(_MATH_UNICODE)}])"
)


def _segments(text: str) -> list[tuple[str, str, str]]:
    """Plain text cut into segments ``(kind, latex, text_latex)``: ``text`` (escaped), ``math``
    (index letters i, j, k, symbols E, z, W, ∂E/∂z, ΔE, i=1, a number's sign and exponent,
    2 x 3, the Unicode symbols), ``after`` (maths where maths precedes it, else
    ``text_latex``: an ``=`` and its values after a symbol, an index ``[j]``) and ``glue``
    (maths between maths: a parenthesis, ``/``, ``+``, a range's ``..``)."""
    segments: list[tuple[str, str, str]] = []
    start = 0
    for match in _TEXT_MATHS.finditer(text):
        if match.start() > start:
            segments.append(("text", escape(text[start : match.start()]), ""))
        start = match.end()
        if match["arrow"]:
            segments.append(("math", r"\to", ""))
        elif match["partial"]:
            segments.append(("math", rf"\partial {match['top']}/\partial {match['bottom']}", ""))
        elif match["delta"]:
            segments.append(("math", rf"\Delta {match['of']}", ""))
        elif match["assign"]:
            segments.append(("math", match["assign"], ""))
        elif match["dims"]:
            segments.append(("math", match["dims"].replace(" x ", r" \times "), ""))
        elif match["equals"] is not None:  # maths after a symbol: $t_{j} = 1, 0, 1$
            segments.append(("after", " = ", escape(match["equals"])))
            if not match["values"] and match["equals"].endswith(" "):  # the space after a $
                segments.append(("text", " ", ""))
            for value in re.split(r"([,;] )", match["values"] or ""):
                if value:
                    segments.append(_number_segment(value, "after"))
        elif match["number"]:
            segments.append(_number_segment(match["number"], "text"))
        elif match["letter"]:
            segments.append(("math", match["letter"], ""))
        elif match["index"]:
            segments.append(("after", match["index"], escape(match["index"])))
        elif match["range"]:
            segments.append(("glue", r", \ldots, ", r"\ldots{}"))
        elif match["ellipsis"]:
            segments.append(("text", r"\ldots{}", ""))
        elif match["glue"]:
            segments.append(("glue", match["glue"], escape(match["glue"])))
        else:
            segments.append(("math", _MATH_UNICODE[match["unicode"]], ""))
    if start < len(text):
        segments.append(("text", escape(text[start:]), ""))
    return segments


def _number_segment(text: str, unsigned: str) -> tuple[str, str, str]:
    """A number (or the ``, `` between a list's numbers) as a segment: maths where it has a
    sign or an exponent, else of kind ``unsigned``."""
    if text[0] in "-−" or "e" in text:
        return ("math", _scientific(text), "")
    return (unsigned, text, escape(text))


def _joined(segments: list[tuple[str, str, str]]) -> str:
    r"""Segments (:func:`_segments`) as LaTeX: ``after`` and ``glue`` resolved to maths or text
    by their neighbours, and each run of maths one ``$...$``: ``$w_{ij}\cdot\partial
    E/\partial z_{j}$``, not ``$w_{ij}$$\cdot$$...$``, and ``$t_{j} = 1, 0, 1$``."""
    out: list[str] = []
    run: list[str] = []
    previous = "text"
    for k, (kind, latex, as_text) in enumerate(segments):
        following = segments[k + 1][0] if k + 1 < len(segments) else "text"
        if kind == "after":
            kind = "math" if previous == "math" else "text"
        elif kind == "glue":
            kind = "math" if previous == "math" and following != "text" else "text"
        if kind == "math":
            run.append(latex)
        else:
            if run:
                out.append(f"${_formula(run)}$")
                run = []
            out.append(as_text if segments[k][0] in ("after", "glue") else latex)
        previous = kind
    if run:
        out.append(f"${_formula(run)}$")
    return "".join(out)


def _formula(pieces: list[str]) -> str:
    """Pieces of maths as one formula: a space only where a control word (``\\cdot``) would
    otherwise run into a letter."""
    formula = ""
    for piece in pieces:
        needs_space = re.search(r"\\[A-Za-z]+$", formula) and piece[:1].isalpha()
        formula += (" " if needs_space else "") + piece
    return formula


def _scientific(number: str) -> str:
    r"""A number as the plain text writes it, in LaTeX: a minus sign, and an exponent as
    :func:`~chainrule.explainer.notation.num` writes it (``-1.13e-02`` as ``-1.13\times
    10^{-2}``); a mantissa of 0 alone."""
    number = number.replace("−", "-")
    if "e" not in number:
        return number
    mantissa, exponent = number.split("e")
    if float(mantissa) == 0 or int(exponent) == 0:
        return mantissa
    return rf"{mantissa}\times 10^{{{int(exponent)}}}"


def _maths(latex: str) -> str:
    r"""A formula's LaTeX as a mathematician writes it: a range ``y_{1}..y_{2}`` as ``y_{1},
    \ldots, y_{2}``, a literal ``...`` as ``\ldots``, and a column vector's or matrix's
    negative entries without the parentheses that set them apart in a product."""
    latex = re.sub(r"(?<!\.)\.\.\.(?!\.)", r"\\ldots", latex)
    latex = re.sub(r"(?<!\.)\.\.(?!\.)", r", \\ldots, ", latex)
    return re.sub(r"\\begin\{pmatrix\}.*?\\end\{pmatrix\}", _bare_entries, latex, flags=re.S)


def _bare_entries(matrix: re.Match[str]) -> str:
    """A pmatrix with each entry ``(-0.3)`` written ``-0.3``."""
    head, tail = r"\begin{pmatrix}", r"\end{pmatrix}"
    cells = re.split(r"(\s*&\s*|\s*\\\\\s*)", matrix[0][len(head) : -len(tail)])
    return head + "".join(re.sub(r"^\((-[^()]*)\)$", r"\1", cell) for cell in cells) + tail


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
    if check is not None and check.kink:  # left out at a kink: the one mark every format prints
        return rf"&& \text{{{KINK_MARK}}}"
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
    fd, diff = _number(check.numeric, 6), _difference(check.difference)
    return rf"&& {mark}\ \text{{fd }}{{{fd}}},\ \text{{diff }}{diff}{near}"


def _why_no_verdict(check: Checked | None, n: Notation | None = None) -> str:
    """Why a check gives no verdict (``Checked.no_verdict_reason``, the words every format
    prints, its symbols notation ``n``'s), as a small paragraph under its equation: in the
    align's line it ran 450pt past the page, text that does not break; '' where the check gives
    a verdict."""
    why = None if check is None or check.kink else check.no_verdict_reason_in(n)
    if why is None:
        return ""
    return "\n" + rf"{{\small\noindent ? no verdict, why: {_with_symbols(why)}\par}}"


def _number(value: float, digits: int) -> str:
    """A check's number in LaTeX as every value of the document is written
    (:func:`~chainrule.explainer.notation.num`): ``1.2\\times 10^{-11}``, not ``1.2e-11``."""
    return num(value, digits, paren=False).latex


def _difference(value: float) -> str:
    """A check's difference at the text's precision (two digits, ``2.0e-11``:
    :func:`~chainrule.explainer.render_text.check_mark`), as ``2.0\\times 10^{-11}``, not
    ``2\\times 10^{-11}`` beside ``1.2\\times 10^{-11}``."""
    return _scientific(f"{value:.1e}") if math.isfinite(value) else _number(value, 2)


def render_latex(d: Derivation, notation: str | None = None, options: Options | None = None) -> str:
    """A standalone LaTeX document of the derivation: it compiles with pdflatex whatever the
    names in it hold (a character pdflatex cannot set is written as its code point, U+03A9;
    under LuaLaTeX or XeLaTeX, as itself where the font has it: :data:`_GLYPH`)."""
    body: list[str] = []
    n = get_notation(notation or d.notation)  # a no-verdict reason's symbols
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
            body.append(_equation(block, n))
        elif isinstance(block, Table):
            body.append(_table(block))
    return "\n".join(
        [
            r"\documentclass[10pt]{article}",
            *_GLYPH_PREAMBLE,
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


def _equation(eq: Equation, n: Notation | None = None) -> str:
    label = rf"\text{{{_inline([eq.label])}:}}\quad " if eq.label else ""
    if eq.wide and eq.check is None:  # one line, shrunk to the page's width where it is
        # wider (graphicx's \width); a check's && belongs to an align, not to $...$
        line = " = ".join(_maths(math.latex) for math in [eq.lhs, *eq.steps])
        return rf"\begin{{center}}{SHRINK_TO_LINE}{{${label}\displaystyle {line}$}}\end{{center}}"
    rows = []
    for k, step in enumerate(eq.steps):
        first, *rest = _lines_of_terms(_maths(step.latex))
        lhs = _maths(eq.lhs.latex)
        rows.append(f"{label}{lhs} &= {first}" if k == 0 else f"&= {first}")
        rows += [rf"&\quad + {line}" for line in rest]
    rows[-1] += " " + _check(eq.check)
    align = "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
    return align + _why_no_verdict(eq.check, n)


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
