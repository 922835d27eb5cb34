"""The derivation as Markdown with LaTeX math (``$...$``, ``$$...$$``) as GitHub renders it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chainrule.explainer.document import Code, Equation, Heading, Options, Para, Table, build
from chainrule.explainer.notation import Math, Notation, get_notation, symbols_in
from chainrule.explainer.render_text import check_mark

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation


def render_markdown(
    d: Derivation, notation: str | None = None, options: Options | None = None
) -> str:
    """The derivation as a Markdown document."""
    out: list[str] = []
    n = get_notation(notation or d.notation)  # a no-verdict reason's symbols
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + _with_symbols(block.text), ""]
        elif isinstance(block, Para):
            out += [_inline(block.parts), ""]
        elif isinstance(block, Equation):
            out += _equation(block, n)
        elif isinstance(block, Table):
            out += _table(block)
    return "\n".join(out).rstrip() + "\n"


#: A ``<`` that would open raw HTML in Markdown (CommonMark: before a letter, ``/``, ``!`` or
#: ``?``): a parameter's name from a network file, shown in prose, ran as HTML where the
#: Markdown is rendered (``<img src=x onerror=...>``); "z < 0" keeps its plain ``<``.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _inline(parts: list[str | Math]) -> str:
    """Text and symbols: the text as it is (no raw HTML: see :data:`_TAG_START`), :class:`Code`
    as a code span (sympy's ``a*b*c`` would read as emphasis), each symbol as ``$...$`` maths."""
    return "".join(
        _code(p) if isinstance(p, Code)
        else _TAG_START.sub("&lt;", p) if isinstance(p, str)
        else f"${p.latex}$"
        for p in parts
    )  # fmt: skip


def _code(text: str) -> str:
    """A code span: fenced by one backtick more than the longest run of them in ``text``."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _with_symbols(text: str) -> str:
    """A heading's (or a table's header's, cell's or caption's) text with the notation's symbols
    in it (``nudge a^1_3``, ``(δ^2)[j]``) as maths, as the LaTeX and HTML formats set them,
    not as a literal caret and underscore."""
    return _inline(symbols_in(text))


def _equation(eq: Equation, n: Notation | None = None) -> list[str]:
    lines = [f"{eq.lhs.latex} &= {eq.steps[0].latex}"]
    lines += [f"&= {step.latex}" for step in eq.steps[1:]]
    label = f"**{eq.label}**" if eq.label else ""
    mark = check_mark(eq.check, n)
    out = [label] if label else []
    out += ["$$", r"\begin{aligned}", (r" \\" + "\n").join(lines), r"\end{aligned}", "$$"]
    if mark:
        out.append(f"{mark}")
    return [*out, ""]


def _table(table: Table) -> list[str]:
    out = [f"*{_with_symbols(table.caption)}*", ""] if table.caption else []
    out.append("| " + " | ".join(_with_symbols(h) for h in table.headers) + " |")
    out.append("|" + "---|" * len(table.headers))
    out += ["| " + " | ".join(_with_symbols(c) for c in row) + " |" for row in table.rows]
    return [*out, ""]
