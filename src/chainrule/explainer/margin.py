"""RHW 1986's margin error written out (``nn.MarginSquaredError``): E = 1/2 sum e_j^2, where
e_j is how far output y_j falls short of its margin (0 inside it).

With ``measured_from="edge"`` (the library's default) e_j = min(y_j - on, 0) for a unit whose
target is on (t_j > 0.5) and max(y_j - off, 0) for one whose target is off; with ``"target"``,
e_j = y_j - t_j for a unit short of its margin, else 0. Either way dE/dy_j = e_j (the piece in
effect at the case's numbers: at the edge itself both sides give 0 under "edge"). The numbers
come from the loss object; this module only spells them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainrule.explainer.notation import Math, grouped

if TYPE_CHECKING:
    from chainrule.explainer.blocks import Builder

NAME = "margin-squared-error"


def shortfall(j: str) -> Math:
    """e_j, the unit's shortfall from its margin (not t or d: RHW's notation calls t d)."""
    return Math(f"e_{j}", f"e_{{{j}}}")


def definition(loss: Any, y: Math, t: Math, j: str) -> list[str | Math]:
    """A paragraph's parts defining e_j for this loss's on, off and measuring rule."""
    e, on, off = shortfall(j), f"{loss.on:g}", f"{loss.off:g}"
    if loss.measured_from == "edge":
        return [
            "where ", e, " is how far ", y, " falls short of its margin, measured from the "
            "margin's edge: ", e, " = ",
            Math(f"min({y.plain} − {on}, 0)", rf"\min({y.latex} - {on}, 0)"),
            " for a unit whose target is on (", t, " > 0.5), ",
            Math(f"max({y.plain} − {off}, 0)", rf"\max({y.latex} - {off}, 0)"),
            f" for one whose target is off: no error above {on} or below {off} "
            "(Rumelhart, Hinton & Williams 1986).",
        ]  # fmt: skip
    return [
        "where ", e, " = ", Math(f"{y.plain} − {t.plain}", f"{y.latex} - {t.latex}"),
        f" for a unit short of its margin (below {on} when its target is on, ", t,
        f" > 0.5; above {off} when it is off) and 0 inside it (Rumelhart, Hinton & Williams "
        "1986, measured from the target).",
    ]  # fmt: skip


def step(b: Builder, loss: Any, y: float, t: float) -> list[Math]:
    """e_j with this unit's numbers put in: the rule's arguments, before its value. The parts
    of one term (y's number first, so that a term in parentheses sets its sign apart once:
    :func:`~chainrule.explainer.notation.grouped`)."""
    on = t > 0.5
    if loss.measured_from == "edge":
        name, edge = ("min", loss.on) if on else ("max", loss.off)
        # the call's parenthesis opens before y: grouped() sets y's sign apart with it
        args = grouped(b.num(y), Math(f" − {edge:g}, 0", f" - {edge:g}, 0"))
        return [Math(name, rf"\{name}") + args]
    if (y < loss.on) if on else (y > loss.off):
        return [b.num(y), Math(" − ", " - "), b.num(t)]
    return [Math("0 (inside its margin)", r"0\ \text{(inside its margin)}")]


def shortfall_expression(
    loss: Any, y: Any, y_value: float, t: float, number: Callable[[float], Any]
) -> Any:
    """e_j as a sympy expression in ``y``, the piece in effect where y is ``y_value`` (the
    derivative a proof differentiates is that piece's, as the engine's is); ``number`` turns
    the loss's numbers into sympy's (a Float to show, a Rational to compare)."""
    on = t > 0.5
    short = y_value < loss.on if on else y_value > loss.off
    if not short:
        return 0 * y
    if loss.measured_from == "edge":
        return y - number(loss.on if on else loss.off)
    return y - number(t)
