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
from chainrule.explainer.network import loss_target
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
    """E of the loss object for the output layer's z and y (cases, units) and the targets t as
    the loss takes them (:attr:`Derivation.loss_targets`: rows, or a loss's class labels)."""
    output = z_out if loss.output_activation is not None else y_out
    with no_grad():
        target = loss_target(t, np.float64)
        return float(loss(Tensor(np.asarray(output, dtype=np.float64)), target).item())


def error_from(arrays: Arrays, t: np.ndarray, loss: Any, start: int, y_start: np.ndarray) -> float:
    """E when layer ``start`` (0 = the input layer) outputs ``y_start``; layers above rerun."""
    return error(*_top_from(arrays, loss, start, y_start), t, loss)


def layers_from(
    arrays: Arrays, loss: Any, start: int, y: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every layer's z and y above layer ``start`` when it outputs ``y`` (cases, units): the
    layers above rerun. A loss that reads the logits never looks at the top layer's y, which
    is then its z."""
    zs, ys = [], []
    above = arrays[start:]
    for k, (w, b, act) in enumerate(above):
        z = y @ w + b
        top_unused = k == len(above) - 1 and loss.output_activation is not None
        y = z if top_unused else activate(act, z)
        zs.append(z)
        ys.append(y)
    return zs, ys


def _top_from(arrays: Arrays, loss: Any, start: int, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """The top layer's (z, y) when layer ``start`` outputs ``y`` (cases, units): the layers
    above rerun (none above the top: its z is taken to be ``y``)."""
    zs, ys = layers_from(arrays, loss, start, y)
    return (zs[-1], ys[-1]) if zs else (y, y)


def error_from_z(
    arrays: Arrays, t: np.ndarray, loss: Any, layer: int, z_layer: np.ndarray
) -> float:
    """E when layer ``layer`` (1 = the first above the input) has total inputs ``z_layer``."""
    act = arrays[layer - 1][2]
    if layer == len(arrays):
        return error(z_layer, activate(act, z_layer), t, loss)
    return error_from(arrays, t, loss, layer, activate(act, z_layer))


class Forward:
    """The float64 forward pass from the inputs ``x`` (its z and y per layer), and E when one
    unit's total inputs change: what a weight's or a bias's finite difference needs. Moving
    w_ij or b_j moves only z_j of the layer above, so only the layers from there up are rerun,
    and the next one by a rank-one change (a 600 x 600 layer's every difference reran its
    matrix product: 20,000 sampled differences took 10 of 20 seconds)."""

    def __init__(self, arrays: Arrays, x: np.ndarray, t: np.ndarray, loss: Any) -> None:
        self.arrays, self.t, self.loss = arrays, t, loss
        self.zs: list[np.ndarray | None] = [None]
        self.ys = [np.asarray(x, dtype=np.float64)]
        for k, (w, b, act) in enumerate(arrays):
            z = self.ys[-1] @ w + b
            top_unused = k == len(arrays) - 1 and loss.output_activation is not None
            self.zs.append(z)
            self.ys.append(z if top_unused else activate(act, z))
        # the most units a layer has: what a move's arrays hold per case, to bound a batch
        self.widest = max((z.shape[1] for z in self.zs[1:]), default=1)

    def with_unit(self, layer: int, j: int, z_j: np.ndarray) -> float:
        """E when unit ``j`` of ``layer`` (1 = the first above the inputs) has the total inputs
        ``z_j`` (one per case), every other number as in the forward pass."""
        return float(self.with_units(layer, np.array([j]), np.asarray(z_j)[None])[0])

    def with_units(self, layer: int, units: np.ndarray, z_units: np.ndarray) -> np.ndarray:
        """:meth:`with_unit` for many moves at once: E for each ``units[p]`` of ``layer`` with
        the total inputs ``z_units[p]`` (moves, cases). The moves run as one batch, a leading
        axis of the arrays above (a 784-100-10 network's 40,000 weight moves, each its own
        forward pass, took 1.9 of an explain's 2 seconds; batched, 1.1, nearly all the loss's
        one call per move). Each move's numbers are computed as one move alone computes them,
        element by element and by a stacked matrix product per move (never one product of
        the moves' rows together, whose sums BLAS may order otherwise), so each E is the
        same to the bit (tests/explain/test_numeric_batched_s51.py)."""
        units, z_units = np.asarray(units), np.asarray(z_units, dtype=np.float64)
        z, act = self.zs[layer], self.arrays[layer - 1][2]
        out = np.empty(len(units))
        for part in _parts(len(units), len(z) * self.widest):
            js, z_js = units[part], z_units[part]
            if layer == len(self.arrays) or act == "softmax":  # the top, or units sharing z
                changed = np.repeat(z[None], len(js), axis=0)
                changed[np.arange(len(js)), :, js] = z_js
                out[part] = self._errors_from_z(layer, changed)
                continue
            moved = activate(act, z_js) - self.ys[layer][:, js].T  # one unit's y, every case
            weights = self.arrays[layer][0][js]  # the weights out of each moved unit
            z_above = self.zs[layer + 1][None] + moved[:, :, None] * weights[:, None, :]
            out[part] = self._errors_from_z(layer + 1, z_above)
        return out

    def with_row(self, layer: int, case: int, row: np.ndarray, is_z: bool = False) -> float:
        """E when case ``case`` of ``layer`` has the outputs y (or with ``is_z``, the total
        inputs z) ``row``, every other case as in the forward pass. Moving one case's y or z
        moves only that case's rows above, so only they are rerun: a y's finite difference
        reran the whole batch (600 cases of a 784-256-10 network: 150 s for one explain)."""
        return float(self.with_rows(layer, case, np.asarray(row)[None], is_z)[0])

    def with_rows(self, layer: int, case: int, rows: np.ndarray, is_z: bool = False) -> np.ndarray:
        """:meth:`with_row` for many rows at once: E for each ``rows[p]`` as case ``case``'s
        row, run as one batch of one-case forward passes (each as :meth:`with_row` alone)."""
        rows = np.asarray(rows, dtype=np.float64)
        reads_z = layer == len(self.arrays) and self.loss.output_activation is not None
        out = np.empty(len(rows))
        for part in _parts(len(rows), max(self.widest, self.zs[-1].size)):  # the tops: all cases
            y = rows[part][:, None]  # (moves, one case, units): each move a one-case batch
            if is_z and not reads_z:  # (a loss that reads the top's z: it stands for its y)
                y = activate(self.arrays[layer - 1][2], y)
            zs, ys = _top_from(self.arrays, self.loss, layer, y)
            z_out = np.repeat(self.zs[-1][None], len(y), axis=0)
            y_out = np.repeat(self.ys[-1][None], len(y), axis=0)
            z_out[:, case], y_out[:, case] = zs[:, 0], ys[:, 0]  # (an unread z: not looked at)
            out[part] = self._errors(z_out, y_out)
        return out

    def _errors_from_z(self, layer: int, z_layer: np.ndarray) -> np.ndarray:
        """:func:`error_from_z` for a batch of ``z_layer`` (moves, cases, units)."""
        y = activate(self.arrays[layer - 1][2], z_layer)
        if layer == len(self.arrays):
            return self._errors(z_layer, y)
        return self._errors(*_top_from(self.arrays, self.loss, layer, y))

    def _errors(self, z_out: np.ndarray, y_out: np.ndarray) -> np.ndarray:
        """:func:`error` of each move's top (z, y) (moves, cases, units): the loss is the
        library's own, called once per move, as it reduces a batch to one number."""
        return np.array([error(z, y, self.t, self.loss) for z, y in zip(z_out, y_out)])


#: The most float64 numbers a batch of moves holds in one array (16 MiB).
BATCH_NUMBERS = 1 << 21


def _parts(n: int, per_move: int) -> list[slice]:
    """Slices of ``n`` moves, each batch at most :data:`BATCH_NUMBERS` numbers of ``per_move``
    each (one move at least)."""
    size = max(1, BATCH_NUMBERS // max(per_move, 1))
    return [slice(start, start + size) for start in range(0, n, size)]


def central_difference(evaluate, base: np.ndarray, index: tuple, eps: float) -> float:
    """(E(v + eps) - E(v - eps)) / (2 eps) for the entry ``index`` of a copy of ``base``."""
    return central_difference_in(evaluate, base.copy(), index, eps)


def central_difference_in(evaluate, work: np.ndarray, index: tuple, eps: float) -> float:
    """:func:`central_difference` moving the entry of ``work`` itself, put back after: one copy
    per quantity instead of two per entry (a 600 x 600 layer's 20,000 sampled differences
    copied 360,000 weights 40,000 times, 8 of the 20 seconds)."""
    original = work[index]
    try:
        work[index] = original + eps
        plus = evaluate(work)
        work[index] = original - eps
        minus = evaluate(work)
    finally:
        work[index] = original
    return (plus - minus) / (2 * eps)
