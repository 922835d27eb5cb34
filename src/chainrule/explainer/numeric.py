"""The independent check: the network's error recomputed in plain float64 NumPy.

Finite differences and the perturbation view need E for a network with one number nudged. They
must not reuse what they check, so this module recomputes the forward pass from float64 copies of
the weights, with no graph and no derivative rules: it only ever evaluates E.
"""

from __future__ import annotations

import numpy as np

Arrays = list[tuple[np.ndarray, np.ndarray, str]]


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """y = f(z) for the explainer's activation names, in float64."""
    if name == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function without overflow
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return z


def error(z_out: np.ndarray, y_out: np.ndarray, t: np.ndarray, loss: str, reduction: str) -> float:
    """E for the output layer's z and y (cases, units) and targets t."""
    n_cases = z_out.shape[0]
    if loss == "squared-error":
        total = 0.5 * np.sum((t - y_out) ** 2)
    elif loss == "mse":
        return float(np.mean((t - y_out) ** 2))
    elif loss == "cross-entropy":
        shifted = z_out - z_out.max(axis=-1, keepdims=True)
        log_y = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        total = -np.sum(t * log_y)
    elif loss == "binary-cross-entropy":
        total = np.sum(np.logaddexp(0.0, z_out) - t * z_out)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return float(total / n_cases if reduction == "mean" else total)


def error_from(
    arrays: Arrays, t: np.ndarray, loss: str, reduction: str, start: int, y_start: np.ndarray
) -> float:
    """E when layer ``start`` (0 = the input layer) outputs ``y_start``; layers above rerun."""
    y = y_start
    z = y_start
    for w, b, act in arrays[start:]:
        z = y @ w + b
        y = activate(act, z)
    return error(z, y, t, loss, reduction)


def error_from_z(
    arrays: Arrays, t: np.ndarray, loss: str, reduction: str, layer: int, z_layer: np.ndarray
) -> float:
    """E when layer ``layer`` (1 = the first above the input) has total inputs ``z_layer``."""
    act = arrays[layer - 1][2]
    if layer == len(arrays):
        return error(z_layer, activate(act, z_layer), t, loss, reduction)
    return error_from(arrays, t, loss, reduction, layer, activate(act, z_layer))


def forward(arrays: Arrays, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Every layer's y and z (z is None for the input layer)."""
    ys: list[np.ndarray] = [x]
    zs: list[np.ndarray | None] = [None]
    for w, b, act in arrays:
        z = ys[-1] @ w + b
        zs.append(z)
        ys.append(activate(act, z))
    return ys, zs


def central_difference(evaluate, base: np.ndarray, index: tuple, eps: float) -> float:
    """(E(v + eps) - E(v - eps)) / (2 eps) for the entry ``index`` of a copy of ``base``."""
    plus = base.copy()
    plus[index] += eps
    minus = base.copy()
    minus[index] -= eps
    return (evaluate(plus) - evaluate(minus)) / (2 * eps)
