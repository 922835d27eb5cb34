"""The bridge to :mod:`chainrule.explainer`: the seed network, the derivation JSON and its
Markdown and LaTeX renderings, for the explorer's network (the same renderers as ``chainrule
explain``, so the page exports exactly what the command line prints)."""

from __future__ import annotations

import numpy as np

from chainrule import explainer
from chainrule.web.network import NetworkState

#: Finite-difference checks per derivation; past this the explainer checks a fixed sample (a
#: network at the size limits has ~29 000 gradients, each check a forward pass).
MAX_CHECKS = 3000

# The explorer calls a unit without a nonlinearity "linear"; the explainer "identity".
_TO_EXPLAINER = {"linear": "identity"}
_FROM_EXPLAINER = {"identity": "linear"}


def seed_from_explainer() -> NetworkState:
    """The explainer's seed network (the lecture's picture) as the explorer's state."""
    problem = explainer.seed_network()
    layers = problem.network.layers
    return NetworkState(
        sizes=problem.network.sizes,
        weights=[np.asarray(layer.weight.numpy(), dtype=np.float64) for layer in layers],
        biases=[np.asarray(layer.bias.numpy(), dtype=np.float64) for layer in layers],
        activation=layers[0].activation if len(layers) > 1 else "logistic",
        output=_FROM_EXPLAINER.get(layers[-1].activation, layers[-1].activation),
        loss=problem.loss.name,
        input=np.asarray(problem.x[0], dtype=np.float64),
        target=np.asarray(problem.t[0], dtype=np.float64),
    )


def explain(state: NetworkState, focus: tuple[int, int] | None = None) -> explainer.Derivation:
    """The explainer's derivation of ``state``'s one case; ``focus`` is (layer, 0-based unit)."""
    top = len(state.sizes) - 1
    triples = [
        (
            state.weights[l],
            state.biases[l],
            _TO_EXPLAINER.get(
                state.output if l + 1 == top else state.activation,
                state.output if l + 1 == top else state.activation,
            ),
        )
        for l in range(top)
    ]
    unit = None if focus is None else (focus[0], focus[1] + 1)  # the explainer counts from 1
    return explainer.explain(
        triples,
        state.input[None, :],
        state.target[None, :],
        loss=state.loss,
        unit=unit,
        max_checks=MAX_CHECKS,
    )


def derivation_json(state: NetworkState, focus: tuple[int, int] | None = None) -> dict:
    """The derivation as the explainer's documented JSON (schema ``chainrule.derivation``)."""
    return explain(state, focus).to_dict()


def render(state: NetworkState, format: str, focus: tuple[int, int] | None = None) -> str:
    """The derivation rendered as ``"markdown"`` or ``"latex"``."""
    return explainer.render(explain(state, focus), format)
