"""The derivation laid out once, as blocks (headings, paragraphs, equations, tables).

Every renderer (text, Markdown, LaTeX, HTML) walks the same blocks, so the formats cannot tell
different stories. A paragraph's parts are text, symbols
(:class:`~chainrule.explainer.notation.Math`) and :class:`Code` (text set as code: sympy's
plain text of an expression). The sections are written in
:mod:`~chainrule.explainer.sections_forward` (the forward pass and E),
:mod:`~chainrule.explainer.sections_backward` (dE/dy, dE/dz layer by layer) and
:mod:`~chainrule.explainer.sections_checks` (dE/dw, the perturbation view, the proof, the
summary of the checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.explainer import (
    sections_backward,
    sections_checks,
    sections_forward,
    sections_teaching,
)
from chainrule.explainer.blocks import (
    Block,
    Builder,
    Code,
    Equation,
    Heading,
    Options,
    Para,
    Table,
)
from chainrule.explainer.notation import get_notation

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

__all__ = ["Block", "Code", "Equation", "Heading", "Options", "Para", "Table", "build"]


def build(
    d: Derivation, notation: str | None = None, options: Options | None = None
) -> list[Block]:
    """The blocks of the whole derivation in ``notation`` (default: the derivation's own)."""
    b = Builder(d, get_notation(notation or d.notation), options or Options())
    sections_forward.intro(b)
    sections_forward.forward(b)
    sections_forward.error(b)
    sections_backward.output_layer(b)
    for layer in range(d.n_layers - 1, -1, -1):
        if layer == 0 and not b.inputs_gradients_shown:
            continue
        sections_backward.hidden_layer(b, layer)
    sections_checks.weights(b)
    if d.sum_left_out:  # an output unit: where the sum's sections would stand, why they do not
        sections_checks.sum_left_out(b)
    if d.perturbation:
        sections_checks.perturbation(b)
    if d.symbolic and not d.sum_left_out:
        sections_checks.symbolic(b)
    if d.views:
        sections_teaching.views(b)
    if d.paths:
        sections_teaching.paths(b)
    sections_checks.summary(b)
    if d.bug is not None:
        sections_teaching.bug(b)
    return b.blocks
