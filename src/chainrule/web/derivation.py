"""The derivation JSON and its Markdown and LaTeX renderings of the explorer's network: the same
renderers as ``chainrule explain``, so the page exports exactly what the command line prints."""

from __future__ import annotations

from chainrule.explainer import render as render_derivation
from chainrule.explainer import to_dict
from chainrule.web.network import MAX_CHECKS, NetworkState


def derivation_json(state: NetworkState, focus: tuple[int, int] | None = None) -> dict:
    """The derivation as the explainer's documented JSON (schema ``chainrule.derivation``)."""
    return to_dict(_derivation(state, focus))


def render(state: NetworkState, format: str, focus: tuple[int, int] | None = None) -> str:
    """The derivation rendered as ``"markdown"`` or ``"latex"``."""
    return render_derivation(_derivation(state, focus), format)


def _derivation(state: NetworkState, focus: tuple[int, int] | None):
    """The derivation ``chainrule explain`` writes: checked, with the perturbation table, the
    three views of the focused dE/dy_i and the path counts."""
    return state.derivation(
        focus, check=True, perturbation=True, max_checks=MAX_CHECKS, views=True, paths=True
    )
