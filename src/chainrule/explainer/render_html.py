"""The derivation as one standalone HTML page: headings, tables and MathML, nothing fetched.

Every formula is MathML, converted from the same LaTeX the LaTeX and Markdown formats print
(latex2mathml), so the chain-rule sums with their numbers and sympy's proof read as maths in any
current browser (MathML Core), offline: inline CSS, no scripts, no fonts or images to load. The
page is also well-formed XML.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from chainrule.errors import extras_needed_by
from chainrule.explainer.document import Code, Equation, Heading, Options, Para, Table, build
from chainrule.explainer.notation import Math, Notation, get_notation, symbols_in
from chainrule.explainer.render_text import check_mark, check_style

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

#: The namespace latex2mathml declares on each <math>; an HTML parser puts <math> in it anyway.
_MATHML_NAMESPACE = ' xmlns="http://www.w3.org/1998/Math/MathML"'

#: A minus sign that starts a number after "(", "=", "," or at the start is the number's sign:
#: grouped with it, MathML sets it as a prefix "−0.2" instead of a spaced binary "− 0.2".
_SIGN = re.compile(r"(^|[(=,{]\s*)-(\d[\d.]*)")

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; color: #134; }
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; font-size: 1.1em; }
.eq { background: #f6f8fa; padding: .4rem .7rem; margin: .35rem 0; border-radius: 4px;
      display: grid; grid-template-columns: max-content 1fr; column-gap: .3em; row-gap: .25rem;
      align-items: baseline; overflow-x: auto; }
.eq .label { grid-column: 1 / -1; font-size: .85rem; }
.eq .lhs { text-align: right; }
.eq math { math-style: normal; }
.label { color: #666; } .check { font-size: .85rem; margin-left: 1.2em; }
.ok { color: #176f2c; } .bad { color: #b00020; font-weight: bold; }
.unresolved, .kink { color: #8a5a00; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: right; }
th { background: #f6f8fa; }
caption { font-style: italic; text-align: left; caption-side: bottom; padding-top: .2rem; }
"""


def render_html(d: Derivation, notation: str | None = None, options: Options | None = None) -> str:
    """A complete HTML page of the derivation (open it in any browser, offline)."""
    parts: list[str] = []
    title = "chainrule: backpropagation step by step"
    n = get_notation(notation or d.notation)  # a no-verdict reason's symbols
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            if block.level == 1:
                title = block.text
            parts.append(f"<h{block.level}>{_with_symbols(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            parts.append(f"<p>{_inline(block.parts)}</p>")
        elif isinstance(block, Equation):
            parts.append(_equation(block, n))
        elif isinstance(block, Table):
            parts.append(_table(block))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def mathml(formula: Math | str, display: str = "inline") -> str:
    """A formula (a :class:`~chainrule.explainer.notation.Math`, or LaTeX) as a ``<math>``
    element; a one-line plain spelling (not one of sympy's drawings) is its ``alttext``."""
    with extras_needed_by("the explainer's HTML (its MathML)"):  # latex2mathml: [app]
        from latex2mathml.converter import convert

    latex = formula if isinstance(formula, str) else formula.latex
    element = convert(_SIGN.sub(r"\1{-\2}", latex), display=display).replace(
        _MATHML_NAMESPACE, "", 1
    )
    if not isinstance(formula, str) and "\n" not in formula.plain:
        alt = html.escape(formula.plain)
        element = element.replace("<math ", f'<math alttext="{alt}" ', 1)
    return element


def _inline(parts: list[str | Math]) -> str:
    """A paragraph's parts: text escaped, :class:`Code` in ``<code>``, symbols as MathML."""
    return "".join(
        f"<code>{html.escape(p)}</code>" if isinstance(p, Code)
        else html.escape(p) if isinstance(p, str)
        else mathml(p)
        for p in parts
    )  # fmt: skip


def _with_symbols(text: str) -> str:
    """A heading's (or a table's header's, cell's or caption's) text, escaped, with the symbols
    in it (``nudge y_1``, ``∂E/∂y_1``) set as MathML like every other formula on the page,
    rather than with a literal underscore."""
    return _inline(symbols_in(text))


def _equation(eq: Equation, n: Notation | None = None) -> str:
    """An equation as a grid: the left-hand side, then each step under the one before, its '='
    aligned with the first one's by the layout; the finite-difference check after the last."""
    label = f'<span class="label">{html.escape(eq.label)}:</span>' if eq.label else ""
    rows = []
    for k, step in enumerate(eq.steps):
        lhs = mathml(eq.lhs) if k == 0 else ""
        rows.append([f'<span class="lhs">{lhs}</span>', f"<span>{mathml('= ' + step)}"])
    mark = check_mark(eq.check, n)
    if mark:
        css = check_style(eq.check)
        rows[-1][1] += f'<span class="check {css}">{html.escape(mark)}</span>'
    cells = "".join(lhs + rhs + "</span>" for lhs, rhs in rows)
    return f'<div class="eq">{label}{cells}</div>'


def _table(table: Table) -> str:
    caption = f"<caption>{_with_symbols(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{_with_symbols(h)}</th>" for h in table.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_with_symbols(c)}</td>" for c in row) + "</tr>"
        for row in table.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
