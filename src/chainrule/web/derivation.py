"""The derivation JSON and its Markdown and LaTeX renderings of the explorer's network: the same
renderers as ``chainrule explain``, so the page exports exactly what the command line prints."""

from __future__ import annotations

import numpy as np

from chainrule.explainer import render as render_derivation
from chainrule.explainer import to_dict
from chainrule.web.network import MAX_CHECKS, NetworkState


class NotFinite(ValueError):
    """The network's numbers overflowed: the JSON endpoints refuse such a result, and so does
    the export (a text full of inf is no derivation)."""


def derivation_json(state: NetworkState, focus: tuple[int, int] | None = None) -> dict:
    """The derivation as the explainer's documented JSON (schema ``chainrule.derivation``)."""
    return to_dict(_derivation(state, focus))


def render(state: NetworkState, format: str, focus: tuple[int, int] | None = None) -> str:
    """The derivation rendered as ``"markdown"`` or ``"latex"``; :class:`NotFinite` where its
    numbers overflowed. Focused on a unit, it is what ``chainrule explain --unit`` writes: the
    focused document (``focused=True``, as the command passes it), not the whole one; its prose
    names the command's ``--unit`` and JSON output (``host="cli"``), as the command's does."""
    d = _derivation(state, focus)
    if not _all_finite(d):
        raise NotFinite("the result is not finite (the numbers overflowed)")
    return render_derivation(d, format, focused=focus is not None, host="cli")


def _all_finite(d) -> bool:
    """Whether E and every layer's values and gradients are finite numbers."""
    arrays = [np.asarray(d.error)]
    for layer in d.layers:
        arrays += [a for a in (layer.y, layer.z, layer.dE_dy, layer.dE_dz) if a is not None]
    for connection in d.connections:
        arrays += [a for a in (connection.dE_dw, connection.dE_db) if a is not None]
    return all(np.isfinite(a).all() for a in arrays)


def _derivation(state: NetworkState, focus: tuple[int, int] | None):
    """The derivation ``chainrule explain`` writes: checked, with the perturbation table, the
    three views of the focused dE/dy_i and the path counts."""
    return state.derivation(
        focus, check=True, perturbation=True, max_checks=MAX_CHECKS, views=True, paths=True
    )
