"""Neural-network primitives: the logistic function and other units, softmax and its relatives.

These have rules of their own (rather than being composed) because the rule is cheaper from the
saved output (the logistic unit's dy/dz = y (1 - y)) or because only a fused form is stable.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import array_module
from chainrule.ops.elementwise import exp
from chainrule.ops.reduce import expand_reduced, sum
from chainrule.ops.registry import primitive
from chainrule.ops.shape import as_tensor, kept_shape, normalize_axes, reshape
from chainrule.tensor import Tensor


def _logistic(z: Any) -> Any:
    """1 / (1 + e^-z) without overflow: e^-|z| lies in (0, 1] for any z, even |z| > 700."""
    xp = array_module(z)
    e = xp.exp(-xp.abs(z))
    numerator = xp.where(z >= 0, 1, e).astype(e.dtype, copy=False)
    e += 1
    numerator /= e
    return numerator


sigmoid = primitive(
    "sigmoid",
    _logistic,
    lambda g, out, z: g * (out * (1 - out)),
    doc="The logistic unit y = 1 / (1 + e^-z); dy/dz = y (1 - y) from the saved output.",
)
logistic = sigmoid

tanh = primitive(
    "tanh",
    lambda x: array_module(x).tanh(x),
    lambda g, out, x: g * (1 - out * out),
    doc="Hyperbolic tangent; d tanh/dx = 1 - tanh^2.",
)

relu = primitive(
    "relu",
    lambda x: array_module(x).maximum(x, 0),
    lambda g, out, x: g * (x.data > 0),
    doc="max(x, 0); the derivative at 0 is taken as 0.",
)

softplus = primitive(
    "softplus",
    lambda x: array_module(x).logaddexp(0, x),
    lambda g, out, x: g * sigmoid(x),
    doc="log(1 + e^x), stable for large |x|; its derivative is the logistic function.",
)


def _stable_max(x: Any, axes: tuple[int, ...]) -> Any:
    """The max over ``axes`` (kept); a non-finite max becomes 0 so that x - max stays finite."""
    xp = array_module(x)
    m = xp.max(x, axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


def _logsumexp(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    xp = array_module(x)
    m = _stable_max(x, axes)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdims else out.reshape([n for i, n in enumerate(out.shape) if i not in axes])


def _logsumexp_vjp(g: Tensor, out: Tensor, x: Tensor, axes: tuple[int, ...], keepdims: bool):
    kept = out if keepdims else reshape(out, kept_shape(x.shape, axes))
    return expand_reduced(g, x, axes, keepdims) * exp(x - kept)


_logsumexp_prim = primitive("logsumexp", _logsumexp, _logsumexp_vjp, doc="log sum exp, stable.")


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow; its gradient is the softmax."""
    x = as_tensor(x)
    return _logsumexp_prim(x, axes=normalize_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)


def _log_softmax(x: Any, axis: int) -> Any:
    return x - _logsumexp(x, (axis,), keepdims=True)


def _softmax(x: Any, axis: int) -> Any:
    xp = array_module(x)
    e = xp.exp(x - _stable_max(x, (axis,)))
    e /= e.sum(axis=axis, keepdims=True)
    return e


_log_softmax_prim = primitive(
    "log_softmax",
    _log_softmax,
    lambda g, out, x, axis: g - exp(out) * sum(g, axis, keepdims=True),
    doc="x - logsumexp(x): log-probabilities, stable for large logits.",
)
_softmax_prim = primitive(
    "softmax",
    _softmax,
    lambda g, out, x, axis: out * (g - sum(g * out, axis, keepdims=True)),
    doc="exp(x) / sum(exp(x)) along an axis, stable for large logits.",
)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """Log-probabilities along ``axis``: x - logsumexp(x)."""
    x = as_tensor(x)
    return _log_softmax_prim(x, axis=normalize_axes(axis, x.ndim, "log_softmax")[0])


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Probabilities along ``axis``: exp(x) / sum(exp(x))."""
    x = as_tensor(x)
    return _softmax_prim(x, axis=normalize_axes(axis, x.ndim, "softmax")[0])
