"""Paths against dynamic programming: why backprop is cheap when the number of paths explodes.

dE/dy_i is a sum over every path from unit i up to E, each path the product of the weights and
slopes f'(z) it passes. The paths multiply with depth: from a unit of layer l there are
n_{l+1} n_{l+2} ... n_L of them. Summing them one by one costs that many products; backprop
computes each dE/dz_j once and reuses it for every path through j, so each layer costs one
matrix-vector product. Forward mode pushes one tangent per unit of layer l through every layer
above.

Counts are per case, in multiplications and additions, taking as given what every method needs
anyway: the slopes f'(z) of the forward pass and dE/dz of the output layer.

>>> from chainrule.explainer import explain
>>> t = path_table(explain(perturbation=False, check=False))
>>> [row["paths_per_unit"] for row in t["rows"]]
[6, 3]
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from chainrule.checks import is_integer
from chainrule.explainer.network import ExplainError
from chainrule.nn.activations import ACTIVATIONS
from chainrule.ops.registry import REGISTRY


def counts(sizes: list[int], joined: list[np.ndarray | None] | None = None) -> list[dict[str, int]]:
    """Per layer l below the top: paths to E per unit and per weight above it, and the
    multiplications and additions of each method for all of layer l's dE/dy (one case).
    ``sizes`` counts the units of each layer, inputs first: at least two whole numbers >= 1
    (``[3, -2, 2]`` gave -4 paths per unit). ``joined`` says, per connection, where a weight
    joins unit i to unit j (None: everywhere); where a layer is joined in blocks (a Parallel),
    units have different numbers of paths, and "per unit" and "per weight" are the most any
    unit or weight has."""
    sizes = list(sizes)
    if len(sizes) < 2 or not all(is_integer(n) and n >= 1 for n in sizes):
        raise ExplainError(
            f"counts: sizes must be two or more whole numbers of units, each at least 1 "
            f"(inputs first, e.g. [2, 2, 3]), not {sizes!r}"
        )
    L = len(sizes) - 1
    joined = joined or [None] * L
    weights = [a * b if m is None else int(np.sum(m)) for a, b, m in zip(sizes, sizes[1:], joined)]
    # paths from each unit of layer k up to E: one from each output unit, and below, the sum
    # over the units each one feeds (Python integers: the counts outgrow int64)
    per_unit = [[1] * sizes[L]]
    for k in range(L - 1, -1, -1):
        above = per_unit[0]
        if joined[k] is None:
            per_unit.insert(0, [sum(above)] * sizes[k])
        else:
            rows = np.asarray(joined[k])
            per_unit.insert(0, [sum(above[j] for j in np.nonzero(row)[0]) for row in rows])
    rows = []
    for layer in range(L):
        n = sizes[layer]
        paths = sum(per_unit[layer])
        hops = L - layer  # connections from layer l to the top
        matvec_mul = sum(weights[layer:])
        matvec_add = sum(weights[k] - sizes[k] for k in range(layer, L))
        slopes = sum(sizes[k] for k in range(layer + 1, L))  # f'(z) dE/dy in hidden layers above
        tangent_add = sum(weights[k] - sizes[k + 1] for k in range(layer, L))
        rows.append(
            {
                "layer": layer,
                "units": n,
                "paths_per_unit": max(per_unit[layer]),
                "paths_per_weight": max(per_unit[layer + 1]),
                "paths_mul": paths * (2 * hops - 1),
                "paths_add": paths - n,
                "backprop_mul": matvec_mul + slopes,
                "backprop_add": matvec_add,
                "forward_mul": n * (matvec_mul + slopes + sizes[L]),
                "forward_add": n * (tangent_add + sizes[L] - 1),
            }
        )
    return rows


def path_table(d: Any) -> dict[str, Any]:
    """The counts of :func:`counts` for a derivation's network, as JSON-able data."""
    sizes = [record.size for record in d.layers]
    return {"sizes": sizes, "rows": counts(sizes, d.joined)}


def slopes(d: Any, layer: int, case: int = 0) -> np.ndarray:
    """f'(z) of ``layer``'s units, from the activation's own registered rule (elementwise only)."""
    record = d.layers[layer]
    unit = ACTIVATIONS[record.activation]
    if unit.primitive is None:
        return np.ones(record.size)
    if unit.name == "softmax":
        raise ExplainError(f"paths: layer {layer} is softmax, whose units are not separate paths")
    z, y = record.z[case], record.y[case]
    return np.asarray(REGISTRY[unit.primitive].vjp[0](np.ones_like(z), y, z), dtype=np.float64)


def enumerate_paths(d: Any, layer: int, unit: int, case: int = 0) -> list[tuple[tuple, float]]:
    """Every path from unit ``unit`` of ``layer`` up to the output layer, with its product
    w f'(z) w f'(z) ... w dE/dz_top; their sum is dE/dy of the unit. Small networks only."""
    L = d.n_layers
    d._unit_record("enumerate_paths", layer, unit, case, below_top=True)
    n_paths = math.prod(record.size for record in d.layers[layer + 1 :])
    if n_paths > 1_000_000:
        raise ExplainError(f"paths: {n_paths} paths from layer {layer} are too many to list")
    slope = {k: slopes(d, k, case) for k in range(layer + 1, L)}
    top = d.layers[L].dE_dz[case]
    out = []
    for route in itertools.product(*(range(d.layers[k].size) for k in range(layer + 1, L + 1))):
        product, below = 1.0, unit
        for step, above in enumerate(route):
            k = layer + 1 + step
            if not d.connections[k - 1].joins(below, above):
                product = None  # no weight joins them (a Parallel layer): no path
                break
            product *= d.connections[k - 1].weight[below, above]
            product *= slope[k][above] if k < L else top[above]
            below = above
        if product is not None:
            out.append((route, product))
    return out
