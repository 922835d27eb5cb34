"""The derivation as Markdown with LaTeX math (``$...$``, ``$$...$$``) as GitHub renders it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.explainer.document import Equation, Heading, Options, Para, Table, build
from chainrule.explainer.render_text import check_mark

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation


def render_markdown(
    d: Derivation, notation: str | None = None, options: Options | None = None
) -> str:
    """The derivation as a Markdown document."""
    out: list[str] = []
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Para):
            out += ["".join(p if isinstance(p, str) else f"${p.latex}$" for p in block.parts), ""]
        elif isinstance(block, Equation):
            out += _equation(block)
        elif isinstance(block, Table):
            out += _table(block)
    return "\n".join(out).rstrip() + "\n"


def _equation(eq: Equation) -> list[str]:
    lines = [f"{eq.lhs.latex} &= {eq.steps[0].latex}"]
    lines += [f"&= {step.latex}" for step in eq.steps[1:]]
    label = f"**{eq.label}**" if eq.label else ""
    mark = check_mark(eq.check)
    out = [label] if label else []
    out += ["$$", r"\begin{aligned}", (r" \\" + "\n").join(lines), r"\end{aligned}", "$$"]
    if mark:
        out.append(f"{mark}")
    return [*out, ""]


def _table(table: Table) -> list[str]:
    out = [f"*{table.caption}*", ""] if table.caption else []
    out.append("| " + " | ".join(table.headers) + " |")
    out.append("|" + "---|" * len(table.headers))
    out += ["| " + " | ".join(row) + " |" for row in table.rows]
    return [*out, ""]
