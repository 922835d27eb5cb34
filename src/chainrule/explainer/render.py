"""One entry point for every format: ``render(derivation, "text" | "markdown" | "latex" | ...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule.explainer.document import Options
from chainrule.explainer.network import ExplainError
from chainrule.explainer.notation import NOTATIONS
from chainrule.explainer.render_html import render_html
from chainrule.explainer.render_latex import render_latex
from chainrule.explainer.render_markdown import render_markdown
from chainrule.explainer.render_text import render_text
from chainrule.explainer.serialize import to_json

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

FORMATS = ("text", "markdown", "latex", "html", "json")


def render(d: Derivation, format: str = "text", notation: str | None = None, **options: Any) -> str:
    """The derivation in ``format``; ``options`` are :class:`~chainrule.explainer.document.Options`
    fields (``max_units``, ``max_cases``, ``digits``, ``focused``, ``host``: ``"python"``, the
    default, names explain's ``unit=`` and ``cr.explainer.to_json(d)`` where the write-up leaves
    something out, ``"cli"`` the command's ``--unit`` and JSON output)."""
    if format == "json":
        return to_json(d)
    renderers = {
        "text": render_text,
        "markdown": render_markdown,
        "latex": render_latex,
        "html": render_html,
    }
    if format not in renderers:
        raise ExplainError(f"format {format!r} is not known; use one of {', '.join(FORMATS)}")
    return renderers[format](d, notation=notation, options=Options(**options))


__all__ = ["FORMATS", "NOTATIONS", "render", "render_html", "render_latex", "render_markdown",
           "render_text"]  # fmt: skip
