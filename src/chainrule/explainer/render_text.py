"""The derivation for the terminal: plain lines, coloured by rich when printed to a terminal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from chainrule.explainer.derivation import KINK_MARK
from chainrule.explainer.document import Equation, Heading, Options, Para, Table, build
from chainrule.explainer.notation import get_notation, plain_text

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Checked, Derivation
    from chainrule.explainer.notation import Notation


def check_mark(check: Checked | None, n: Notation | None = None) -> str:
    """'✓ fd 0.1234, diff 2.0e-11' (the finite difference and how far the engine's value is
    from it), '✗ MISMATCH ...', :data:`~chainrule.explainer.derivation.KINK_MARK` where the
    check was left out at a kink (``Checked.kink``), or '' where nothing else was checked (a
    sample left it out, checks off: the summary counts those). A check that agrees only
    because 0 would pass too (``Checked.unresolved``) gets no ✓ but '? no verdict' with its
    tolerance and why it is that wide (``Checked.no_verdict_reason``, the one wording every
    format and the JSON give): '? no verdict (tolerance 0.25, fd within it of 0; why: the step
    1e-06 is swallowed by E's rounding: ...): fd -0.0316, diff 4.3e-12, near 0', or, where the
    tolerance is not finite (an overflow), '? no verdict (tolerance inf: any value passes; why:
    ...): ...'. Its symbols are notation ``n``'s (None: the derivation's own)."""
    if check is not None and check.kink:
        return KINK_MARK
    if check is None or check.numeric is None:
        return ""
    numbers = f"fd {check.numeric:.6g}, diff {check.difference:.1e}"
    if not check.ok:
        return f"✗ MISMATCH {numbers}"
    if not check.unresolved:
        return f"✓ {numbers}"
    why = f"; why: {check.no_verdict_reason_in(n)}"  # its one wording (the JSON's no_verdict)
    if not math.isfinite(check.tolerance):
        return f"? no verdict (tolerance {check.tolerance}: any value passes{why}): {numbers}"
    tolerance = f"tolerance {check.tolerance:.2g}, fd within it of 0{why}"
    return f"? no verdict ({tolerance}): {numbers}, near 0"


def check_style(check: Checked) -> str:
    """A check's colour class: 'ok' (agrees), 'bad' (a mismatch), 'unresolved' (no
    verdict: :attr:`Checked.unresolved`) or 'kink' (not checked: :attr:`Checked.kink`)."""
    if check.kink:
        return "kink"
    if not check.ok:
        return "bad"
    return "unresolved" if check.unresolved else "ok"


#: The text output's one minus sign: ASCII's, as its numbers (-0.1145), sympy's formulas and
#: the finite differences write it; the document's U+2212 (1 − y_i) becomes it here, in one
#: place, so that "(1 − (-0.08491)²)" no longer mixes the two (Markdown and LaTeX set a minus
#: in maths, where both are one sign).
MINUS = "-"


def text_lines(
    d: Derivation, notation: str | None = None, options: Options | None = None
) -> list[tuple[str, str]]:
    """(line, rich style) pairs: the derivation as the terminal shows it, every minus sign
    :data:`MINUS`."""
    return [(line.replace("−", MINUS), style) for line, style in _lines(d, notation, options)]


def _lines(d: Derivation, notation: str | None, options: Options | None) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    n = get_notation(notation or d.notation)
    for block in build(d, notation, options):
        if isinstance(block, Heading):
            lines += [("", ""), (block.text, "bold underline" if block.level == 1 else "bold cyan")]
        elif isinstance(block, Para):
            text = plain_text(block.parts)
            lines.append(("  " + text, "dim" if text.startswith("...") else ""))
        elif isinstance(block, Equation):
            lines += _equation_lines(block, n)
        elif isinstance(block, Table):
            lines += _table_lines(block)
    return lines


def _equation_lines(eq: Equation, n: Notation | None = None) -> list[tuple[str, str]]:
    label = f"{eq.label}: " if eq.label else ""
    head = f"    {label}{eq.lhs.plain} = "
    pad = " " * (len(head) - 2)
    out = []
    for k, step in enumerate(eq.steps):
        first, *rest = step.plain.split("\n")  # sympy's pretty printer draws several lines
        if rest:  # a drawing stands on its own lines, under the left-hand side
            out.append((head.rstrip(), ""))
            out += [("      " + line, "") for line in (first, *rest)]
            continue
        out.append(((head if k == 0 else pad + "= ") + first, ""))
    mark = check_mark(eq.check, n)
    if mark:
        text, style = out[-1]
        colour = {"ok": "green", "bad": "bold red", "unresolved": "yellow", "kink": "yellow"}
        out[-1] = (f"{text}   {mark}", colour[check_style(eq.check)])
    return out


def _table_lines(table: Table) -> list[tuple[str, str]]:
    widths = [
        max(len(str(h)), *(len(r[k]) for r in table.rows)) for k, h in enumerate(table.headers)
    ]
    out = [("  " + table.caption, "italic")] if table.caption else []
    out.append(("  " + "  ".join(h.rjust(w) for h, w in zip(table.headers, widths)), "bold"))
    out += [("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)), "") for row in table.rows]
    return out


def render_text(d: Derivation, notation: str | None = None, options: Options | None = None) -> str:
    """The derivation as plain text (what ``chainrule explain`` prints, without colours)."""
    return "\n".join(line for line, _ in text_lines(d, notation, options)).lstrip("\n") + "\n"


def print_text(
    d: Derivation, notation: str | None = None, options: Options | None = None, console: Any = None
) -> None:
    """Print the derivation to the terminal with rich's colours (green checks, red mismatches);
    where rich is not installed (it comes with the [app] extra), the same lines uncoloured."""
    lines = text_lines(d, notation, options)
    try:
        from rich.text import Text
    except ImportError:  # rich is optional, and colour is all it adds: an error would say less
        for line, _ in lines:
            print(line)
        return
    from chainrule.terminal import stdout_console

    console = console or stdout_console(highlight=False, soft_wrap=True)
    for line, style in lines:
        console.print(Text(line, style=style or ""))
