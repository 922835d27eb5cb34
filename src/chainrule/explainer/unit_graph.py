"""A derivation's network rebuilt unit by unit: one scalar tensor per y, z, weight and bias.

The explainer records the network layer by layer (one ``linear`` op per layer), so the sum over j
happens inside the matrix product's rule. Here the same numbers are recorded one unit at a time,
as the lecture draws them: z_j = b_j + sum_i y_i w_ij is a chain of scalar products and additions,
and y_i feeds one product per unit j above it. Fan-out is then visible in the graph itself: the
engine's sum over consumers adds one contribution per j at y_i. This is the "zoom" of a layer's
tensor ops into their scalar graph, with the same numbers, and the graph the buggy teaching
engines (:mod:`chainrule.explainer.bugs`) run on.

The loss is the model's own loss object, applied to the units' rows stacked back into a matrix.
:func:`contributions` runs a recorded op's registered rules once (what it sends each input), and
:func:`backward_right` walks the graph as the real engine does, keeping every tensor's total.

:func:`layer_graph_of` records one layer the same way but recomputes nothing: its y_i are the
engine's and each z_j receives the engine's dE/dz_j, so the fan-out at y_i adds the engine's
own terms (the three views' graph column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.engine import (
    enable_grad,
    no_grad,
    reverse_topological_order,
    rule_params,
    sum_over_consumers,
)
from chainrule.explainer.network import ExplainError, loss_target
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.losses import Loss
from chainrule.tensor import Tensor

#: Past this many scalar tensors the unit graph is refused: it is a teaching view of small nets.
MAX_SCALARS = 20000


@dataclass
class UnitGraph:
    """The scalar tensors of one forward pass, by what they stand for.

    ``y[(layer, unit, case)]``, ``z[(layer, unit, case)]`` (layers 1..L), ``w[(below, i, j)]``,
    ``b[(below, j)]``; ``products[(below, i, j, case)]`` is the tensor y_i w_ij, the consumer
    through which y_i reaches unit j. ``E`` is the error. Units and layers count from 0.
    """

    y: dict[tuple[int, int, int], Tensor] = field(default_factory=dict)
    z: dict[tuple[int, int, int], Tensor] = field(default_factory=dict)
    w: dict[tuple[int, int, int], Tensor] = field(default_factory=dict)
    b: dict[tuple[int, int], Tensor] = field(default_factory=dict)
    products: dict[tuple[int, int, int, int], Tensor] = field(default_factory=dict)
    E: Tensor | None = None

    def quantities(self) -> dict[tuple, Tensor]:
        """Every tensor whose gradient the explainer shows, keyed ('y'|'z'|'w'|'b', *index)."""
        out: dict[tuple, Tensor] = {}
        for name in ("y", "z", "w", "b"):
            for key, tensor in getattr(self, name).items():
                out[(name, *key)] = tensor
        return out

    def leaves(self) -> list[Tensor]:
        """The tensors with no recorded op below them: inputs, weights and biases."""
        return [t for t in self.quantities().values() if t.is_leaf]


def leaf(value: float, dtype: Any = np.float64) -> Tensor:
    """A scalar of ``dtype`` (float64 unless told) that needs a gradient."""
    return Tensor(np.asarray(value, dtype=dtype), requires_grad=True)


def unit_graph(
    weights: list[tuple[np.ndarray, np.ndarray | None, str]],
    x: np.ndarray,
    t: np.ndarray,
    loss: Loss,
    params: UnitGraph | None = None,
    joined: list[np.ndarray | None] | None = None,
    dtype: Any = np.float64,
) -> UnitGraph:
    """Record the forward pass of ``weights`` (``(W, b, activation)`` per layer, W of shape
    (n_in, n_out)) unit by unit on cases ``x`` with targets ``t``, and E by ``loss``.

    With ``params`` the weight and bias leaves of an earlier graph are reused (a second step on
    the same parameters, as a training loop would run it). ``joined`` says, per layer, where a
    weight joins unit i to unit j (None: everywhere; a Parallel layer's blocks): elsewhere the
    graph has no weight and no product (:func:`unit_graph_of` records a derivation's own).

    Every scalar is of ``dtype``: float64 unless told, so the buggy engines compare on numbers a
    float32 model's rounding never touches. Either way the forward pass is recomputed unit by
    unit, rounding in its own order, not the engine's: the three views read the engine's numbers
    from :func:`layer_graph_of` instead.
    """
    joined = joined or [None] * len(weights)
    sizes = [weights[0][0].shape[0]] + [w.shape[1] for w, _, _ in weights]
    n_cases = x.shape[0]
    scalars = n_cases * sum(a * b * 2 + b * 2 for a, b in zip(sizes, sizes[1:]))
    if scalars > MAX_SCALARS:
        raise ExplainError(
            f"the unit-by-unit graph of a {' x '.join(map(str, sizes))} network on {n_cases} "
            f"case(s) would hold about {scalars} scalar tensors (at most {MAX_SCALARS}); "
            "use a smaller network or fewer cases"
        )
    for k, (_, _, act) in enumerate(weights[:-1]):
        if act == "softmax":
            raise ExplainError(
                f"the unit-by-unit graph needs elementwise hidden units (layer {k + 1} is softmax)"
            )
    g = UnitGraph()
    reuse = params is not None
    for k, (W, bias, _) in enumerate(weights):
        for i, j in _pairs(W.shape, joined[k]):
            g.w[(k, i, j)] = params.w[(k, i, j)] if reuse else leaf(W[i, j], dtype)
        if bias is not None:
            for j in range(W.shape[1]):
                g.b[(k, j)] = params.b[(k, j)] if reuse else leaf(bias[j], dtype)
    L = len(weights)
    top_act = weights[-1][2]
    from_logits = loss.output_activation is not None
    with enable_grad():
        rows = []
        for c in range(n_cases):
            below = [leaf(v, dtype) for v in x[c]]
            for i, y in enumerate(below):
                g.y[(0, i, c)] = y
            for k, (W, _, act) in enumerate(weights):
                above = _net_inputs(g, k, c, below, W.shape[1])
                if k < L - 1:
                    below = [_distinct(ACTIVATIONS[act].op(z), z) for z in above]
                    for j, y in enumerate(below):
                        g.y[(k + 1, j, c)] = y
            row = ops.stack(above).reshape((1, len(above)))
            if not from_logits:  # the top layer's y as one row (a softmax couples its units)
                row = _distinct(ACTIVATIONS[top_act].op(row), row)
            rows.append(row)
        top = rows[0] if n_cases == 1 else ops.concatenate(rows, axis=0)
        g.E = loss(top, loss_target(t, dtype))  # class labels as they are, rows a tensor
    return g


def _net_inputs(g: UnitGraph, k: int, c: int, below: list[Tensor], n_out: int) -> list[Tensor]:
    """Record z_j = b_j + sum_i y_i w_ij of layer ``k + 1`` for case ``c``, one scalar product
    y_i w_ij per weight of ``g`` (a consumer of y_i) and one addition per term, into ``g``."""
    above = []
    for j in range(n_out):
        z = g.b.get((k, j))
        for i, y in enumerate(below):
            if (k, i, j) not in g.w:  # no weight joins them
                continue
            product = y * g.w[(k, i, j)]
            g.products[(k, i, j, c)] = product
            z = product if z is None else z + product
        g.z[(k + 1, j, c)] = z
        above.append(z)
    return above


def _distinct(y: Tensor, z: Tensor) -> Tensor:
    """y as a tensor of its own (an identity unit's y would otherwise be its z)."""
    return y + 0.0 if y is z else y


def _pairs(shape: tuple[int, int], joined: np.ndarray | None) -> list[tuple[int, int]]:
    """The (i, j) a weight joins: all of ``shape``, or where ``joined`` is True."""
    if joined is None:
        return [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(joined))]


def unit_graph_of(d, params: UnitGraph | None = None, dtype: Any = np.float64) -> UnitGraph:
    """:func:`unit_graph` of a derivation's network, cases, targets and loss (a Parallel
    layer's blocks joined as the derivation joins them), its scalars of ``dtype``."""
    return unit_graph(
        weights_of(d), d.x, d.loss_targets, d.loss, params=params, joined=d.joined, dtype=dtype
    )


def layer_graph_of(d, layer: int, case: int = 0) -> UnitGraph:
    """The connection from ``layer`` up to ``layer + 1`` of derivation ``d`` unit by unit, for
    case ``case``, on the engine's numbers: nothing is recomputed.

    y_i, w_ij and b_j are leaves holding the derivation's values (y_i from the engine's forward
    pass); each z_j = b_j + sum_i y_i w_ij is recorded as scalar products and additions, as in
    :func:`unit_graph`; and the top node ``E`` is sum_j dE/dz_j z_j, dE/dz_j being the engine's
    (constants). ``E``'s value is not the error, but its gradient at each z_j is exactly the
    engine's dE/dz_j, so the backward pass sends each product y_i w_ij the engine's dE/dz_j,
    the registered ``mul`` rule sends y_i the term w_ij dE/dz_j, and the engine's sum over
    consumers adds the terms at y_i: dE/dy_i by the chain rule, with no second forward pass
    (whose float32 sums, added in another order, differed in the 4th digit where terms cancel).

    The scalars are float64, as the Hinton and matrix views' numbers are: a float32 model's
    values are exact in float64 and so is the product of two of them, so each term is the
    engine's own and the three views add the same terms.
    """
    conn = d.connections[layer]
    g = UnitGraph()
    for i, j in _pairs(conn.weight.shape, d.joined[layer]):
        g.w[(layer, i, j)] = leaf(conn.weight[i, j])
    if conn.bias is not None:
        for j, value in enumerate(conn.bias):
            g.b[(layer, j)] = leaf(value)
    below = [leaf(value) for value in d.layers[layer].y[case]]
    g.y.update({(layer, i, case): y for i, y in enumerate(below)})
    dE_dz = d.layers[layer + 1].dE_dz[case]
    with enable_grad():
        above = _net_inputs(g, layer, case, below, conn.weight.shape[1])
        g.E = ops.stack([z * float(dE_dz[j]) for j, z in enumerate(above)]).sum()
    return g


def weights_of(d) -> list[tuple[np.ndarray, np.ndarray | None, str]]:
    """``(W, b, activation)`` per layer of a derivation, as the loss sees the output units."""
    out = []
    for conn in d.connections:
        act = d.layers[conn.above].activation
        out.append((conn.weight, conn.bias, act))
    return out


def gradients(g: UnitGraph) -> dict[tuple, float]:
    """dE/d of every quantity by the real engine (one backward pass, graph kept)."""
    from chainrule.functional import gradient

    keys, tensors = zip(*g.quantities().items())
    grads = gradient(g.E, list(tensors), retain_graph=True)
    return {key: float(grad.item()) for key, grad in zip(keys, grads)}


def seed(output: Tensor) -> np.ndarray:
    """The cotangent a backward pass starts from: dE/dE = 1."""
    return np.ones_like(output.data)


def contributions(tensor: Tensor, total: Any) -> list[tuple[Tensor, Any]]:
    """What ``tensor``'s recorded op sends to each input that needs a gradient: the registered
    rules, run on arrays exactly as the real engine runs them."""
    node = tensor.node
    args = (tensor.data, *(p.data for p in node.inputs))
    params = rule_params(node, False)
    with no_grad():
        return [
            (parent, node.primitive.vjp[k](total, *args, **params))
            for k, parent in enumerate(node.inputs)
            if parent.requires_grad
        ]


def backward_right(output: Tensor) -> dict[int, Any]:
    """The real engine's walk, for comparison: the right order and the sum over consumers."""
    totals: dict[int, Any] = {id(output): seed(output)}
    done: dict[int, Any] = {}
    for tensor in reverse_topological_order([output]):
        total = totals.pop(id(tensor), None)
        if total is None:
            continue
        done[id(tensor)] = total
        if not tensor.is_leaf:
            for parent, contribution in contributions(tensor, total):
                sum_over_consumers(totals, parent, contribution)
    return done
