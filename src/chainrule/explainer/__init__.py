"""Explain backpropagation: the derivation in the lecture's notation, with real numbers, checked.

``cr.explain(model, x, t, loss)`` runs a network forward and backward with the engine and returns a
:class:`Derivation` holding every quantity per layer, unit and connection (y, z, dE/dy, dE/dz,
dE/dw), each checked against a central finite difference. Renderers lay it out as text, Markdown,
LaTeX, standalone HTML or JSON in three notations (Hinton's lecture, Rumelhart-Hinton-Williams 1986,
the matrix form); the perturbation view and the sympy proof show *why* dE/dy_i = sum_j w_ij dE/dz_j.

>>> import chainrule as cr
>>> d = cr.explain()                     # the seed network: 2 logistic units i -> 3 units j
>>> d.all_ok
True
"""

import typing as _typing

from chainrule._lazy import lazy_package
from chainrule.explainer.build import explain
from chainrule.explainer.derivation import (
    Checked,
    ConnectionRecord,
    Derivation,
    LayerRecord,
    Term,
)
from chainrule.explainer.network import (
    ExplainError,
    Network,
    Problem,
    as_loss,
    as_network,
    seed_model,
    seed_network,
    sequential,
)
from chainrule.explainer.render import (
    NOTATIONS,
    render,
    render_html,
    render_latex,
    render_markdown,
    render_text,
)
from chainrule.explainer.serialize import schema, to_dict, to_json

__all__ = [
    "NOTATIONS", "Checked", "ConnectionRecord", "Derivation", "ExplainError", "LayerRecord",
    "Network", "Problem", "Term", "as_loss", "as_network", "explain", "render", "render_html",
    "render_latex", "render_markdown", "render_text", "schema", "seed_model", "seed_network",
    "sequential", "to_dict", "to_json",
]  # fmt: skip

# submodules not imported above load on first use, and show in dir()
if _typing.TYPE_CHECKING:  # the submodules read on first use, for type checkers
    from chainrule.explainer import bugs as bugs
    from chainrule.explainer import health as health
    from chainrule.explainer import quiz as quiz
    from chainrule.explainer import unit_graph as unit_graph
else:  # (checkers see no module __getattr__: a misspelt name is flagged)
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
