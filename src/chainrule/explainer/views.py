"""One quantity, three views: dE/dy_i as Hinton's unit sum, as a row of the matrix form and as
the fan-out node of the autodiff graph.

- **Hinton**: dE/dy_i = sum_j w_ij dE/dz_j, one term per unit j above (the derivation's terms).
- **Matrix**: dE/dy = W dE/dz with W of shape (units below, units above); dE/dy_i is row i of
  W times the vector dE/dz, term j being W[i, j] dE/dz[j].
- **Graph**: the layer recorded unit by unit on the engine's numbers
  (:func:`chainrule.explainer.unit_graph.layer_graph_of`: the derivation's y_i, w_ij and
  dE/dz_j, a float32 model's too, nothing recomputed): y_i feeds one product y_i w_ij per unit
  j; each of those consumers, handed the engine's dE/dz_j, sends back a contribution by the
  registered ``mul`` rule, and the engine's sum over consumers adds them up at y_i.

The three are the same numbers: term j of one view is term j of the others, and all three add
the engine's terms in float64 (exact products of a float32 model's numbers), so their sums agree
in every digit shown. The engine's own dE/dy_i, added in the model's dtype by a matrix product,
agrees with them to that dtype's precision relative to the terms it adds.
"""

from __future__ import annotations

from typing import Any

from chainrule.explainer.notation import Math, Notation, get_notation

#: The graph view records the network unit by unit only up to this many scalar tensors.
MAX_GRAPH_SCALARS = 1000


def three_views(d: Any, layer: int, unit: int, case: int = 0) -> dict[str, Any]:
    """dE/dy of ``unit`` (0-based) in ``layer``, case ``case``, in the three views."""
    terms = d.terms(layer, unit, case)
    conn = d.connections[layer]
    dE_dz = d.layers[layer + 1].dE_dz[case]
    views: dict[str, Any] = {
        "layer": layer,
        "unit": unit,
        "case": case,
        "engine": float(d.layers[layer].dE_dy[case, unit]),
        "hinton": {
            "terms": [{"j": t.j, "w": t.w, "dE_dz": t.dE_dz, "value": t.product} for t in terms],
            "total": float(sum(t.product for t in terms)),
        },
        "matrix": {
            "row": [float(v) for v in conn.weight[unit]],
            "vector": [float(v) for v in dE_dz],
            "terms": [  # a Parallel layer's row holds 0 where no weight joins: no term
                {"j": int(j), "value": float(conn.weight[unit, j] * dE_dz[j])}
                for j in conn.targets(unit)
            ],
            "total": float(conn.weight[unit] @ dE_dz),
        },
        "graph": _graph_view(d, layer, unit, case),
    }
    return views


def graph_not_drawn(d: Any) -> str | None:
    """Why the graph view of ``d`` is left out (None: it is not): the unit-by-unit graph is
    recorded only for small networks, and only with elementwise hidden units."""
    if any(record.activation == "softmax" for record in d.layers[1:-1]):
        return "softmax hidden units are not elementwise"
    sizes = [record.size for record in d.layers]
    scalars = d.n_cases * sum(2 * a * b + 2 * b for a, b in zip(sizes, sizes[1:]))
    return "too large" if scalars > MAX_GRAPH_SCALARS else None


def _graph_view(d: Any, layer: int, unit: int, case: int) -> dict[str, Any] | None:
    """Each consumer's contribution at the fan-out node y_i, by the real rules (None where
    :func:`graph_not_drawn` says why)."""
    from chainrule.explainer.unit_graph import backward_right, contributions, layer_graph_of

    if graph_not_drawn(d) is not None:
        return None
    g = layer_graph_of(d, layer, case)  # the engine's numbers, read from the derivation
    totals = backward_right(g.E)
    node = g.y[(layer, unit, case)]
    n, letters = get_notation(d.notation), (d.layers[layer].letter, d.layers[layer + 1].letter)
    consumers = []
    for j in (int(j) for j in d.connections[layer].targets(unit)):
        product = g.products[(layer, unit, j, case)]
        sent = [c for parent, c in contributions(product, totals[id(product)]) if parent is node]
        name = consumer(n, layer, letters, unit, j).plain
        consumers.append({"j": j, "consumer": name, "value": float(sent[0])})
    return {"consumers": consumers, "total": float(totals[id(node)])}


def consumer(
    n: Notation, layer: int, letters: tuple[str, str], unit: int, above: int | None
) -> Math:
    """The product y_i·w_ij through which ``unit`` of ``layer`` feeds unit ``above`` of the
    layer over it (None: the letter j), in notation ``n``: RHW's y_1·w_21 and the matrix form's
    a^1_1·w^2_21 name the weight from unit 1 to unit 2 that Hinton's y_1·w_12 does."""
    i, j = letters
    return n.y(layer, i, unit) + Math("·", r"\cdot ") + n.w(layer, i, unit, j, above)
