"""The derivation as one standalone HTML file: inline CSS, no scripts, nothing fetched."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from chainrule.explainer.document import Equation, Heading, Options, Para, Table, build
from chainrule.explainer.render_text import check_mark

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; color: #134; }
.eq { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", serif;
      background: #f6f8fa; padding: .35rem .6rem; margin: .3rem 0; border-radius: 4px;
      display: grid; grid-template-columns: max-content 1fr; column-gap: .4em; }
.eq .label { grid-column: 1 / -1; font-family: system-ui, sans-serif; font-size: .85rem; }
.eq .lhs { text-align: right; }
.drawing { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre; margin: 0; }
.label { color: #666; } .ok { color: #176f2c; } .bad { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: right; }
caption { font-style: italic; text-align: left; }
"""


def render_html(d: Derivation, notation: str | None = None, options: Options | None = None) -> str:
    """A complete HTML page of the derivation (open it in any browser, offline)."""
    parts: list[str] = []
    title = "chainrule: backpropagation step by step"
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            if block.level == 1:
                title = block.text
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            text = "".join(
                html.escape(p) if isinstance(p, str) else f"<i>{html.escape(p.plain)}</i>"
                for p in block.parts
            )
            parts.append(f"<p>{text}</p>")
        elif isinstance(block, Equation):
            parts.append(_equation(block))
        elif isinstance(block, Table):
            parts.append(_table(block))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _equation(eq: Equation) -> str:
    """An equation as a grid: the left-hand side, then each step under the one before, aligned
    at its '=' by the layout rather than by padding (no monospace needed); a drawing of
    sympy's pretty printer keeps its own lines."""
    label = f'<span class="label">{html.escape(eq.label)}:</span>' if eq.label else ""
    cells = []
    for k, step in enumerate(eq.steps):
        lhs = f'<span class="lhs">{html.escape(eq.lhs.plain)}</span>' if k == 0 else "<span></span>"
        if "\n" in step.plain:
            body = f'= <pre class="drawing">{html.escape(step.plain)}</pre>'
        else:
            body = "= " + html.escape(step.plain)
        cells.append(f"{lhs}<span>{body}")
    mark = check_mark(eq.check)
    if mark:
        css = "ok" if eq.check.ok else "bad"
        cells[-1] += f'   <span class="{css}">{html.escape(mark)}</span>'
    return f'<div class="eq">{label}' + "".join(cell + "</span>" for cell in cells) + "</div>"


def _table(table: Table) -> str:
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
