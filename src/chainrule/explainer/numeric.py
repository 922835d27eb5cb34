"""The independent check: the network's error recomputed in float64 from copies of the weights.

Finite differences and the perturbation view need E for a network with one number nudged. They
must not reuse what they check, so this module reruns the forward pass from float64 copies of the
weights with no graph recorded and no derivative rule called: it only ever evaluates E. The units
and the loss are the library's own (the ops of :mod:`chainrule.nn.activations`, the loss object's
forward), so there is one logistic function and one formula per loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine import no_grad
from chainrule.nn.activations import ACTIVATIONS
from chainrule.tensor import Tensor

Arrays = list[tuple[np.ndarray, np.ndarray, str]]


def arrays_of(derivation: Any) -> Arrays:
    """float64 copies (weight, bias, activation) per layer of a derivation, as its loss sees the
    output units (for finite differences)."""
    out = []
    for conn in derivation.connections:
        bias = np.zeros(conn.weight.shape[1]) if conn.bias is None else conn.bias.copy()
        out.append((conn.weight.copy(), bias, derivation.layers[conn.above].activation))
    return out


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """y = f(z) for the table's activation ``name``, in float64: the op's own forward."""
    return ACTIVATIONS[name].on_array(z)


def error(z_out: np.ndarray, y_out: np.ndarray, t: np.ndarray, loss: Any) -> float:
    """E of the loss object for the output layer's z and y (cases, units) and target rows t."""
    output = z_out if loss.output_activation is not None else y_out
    with no_grad():
        return float(loss(Tensor(np.asarray(output, dtype=np.float64)), Tensor(t)).item())


def error_from(arrays: Arrays, t: np.ndarray, loss: Any, start: int, y_start: np.ndarray) -> float:
    """E when layer ``start`` (0 = the input layer) outputs ``y_start``; layers above rerun."""
    y = y_start
    z = y_start
    above = arrays[start:]
    for k, (w, b, act) in enumerate(above):
        z = y @ w + b
        # a loss that reads the logits never looks at the top layer's y
        top_unused = k == len(above) - 1 and loss.output_activation is not None
        y = z if top_unused else activate(act, z)
    return error(z, y, t, loss)


def error_from_z(
    arrays: Arrays, t: np.ndarray, loss: Any, layer: int, z_layer: np.ndarray
) -> float:
    """E when layer ``layer`` (1 = the first above the input) has total inputs ``z_layer``."""
    act = arrays[layer - 1][2]
    if layer == len(arrays):
        return error(z_layer, activate(act, z_layer), t, loss)
    return error_from(arrays, t, loss, layer, activate(act, z_layer))


def central_difference(evaluate, base: np.ndarray, index: tuple, eps: float) -> float:
    """(E(v + eps) - E(v - eps)) / (2 eps) for the entry ``index`` of a copy of ``base``."""
    plus = base.copy()
    plus[index] += eps
    minus = base.copy()
    minus[index] -= eps
    return (evaluate(plus) - evaluate(minus)) / (2 * eps)
