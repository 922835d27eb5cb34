"""Gradient norms and gradient clipping: the one home of "how large are the gradients".

``grad_norm(params)`` is the total norm of the parameters' gradients, as if all of them were one
vector; ``clip_grad_norm_(params, max_norm)`` scales them in place so that norm is at most
``max_norm``, and ``clip_grad_value_(params, clip_value)`` clamps every entry to
``[-clip_value, clip_value]``: PyTorch's ``torch.nn.utils`` functions of the same names, with
the same arguments and results (the norm is returned as a Python float).

>>> import chainrule as cr
>>> net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)
>>> opt = cr.optim.SGD(net.parameters(), lr=0.5)
>>> E = cr.nn.SquaredError()(net([[0.0, 1.0]]), [[1.0]])
>>> opt.zero_grad(); E.backward()
>>> before = cr.optim.clip_grad_norm_(net.parameters(), max_norm=0.01)
>>> round(cr.optim.grad_norm(net.parameters()), 6)
0.01
>>> opt.step()

Every norm is taken scaled by the largest entry, ``m * (sum (|g| / m)^p)^(1/p)``: the squares
of gradients near 1e155 (finite) overflow float64, and squaring 1e-170 gives 0, where the scaled
sum keeps the norm's digits. The arithmetic runs in each gradient's own array library and dtype
(:func:`chainrule.backend.array_module`): a gradient on a GPU stays there, and only the norm, a
number, comes back.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.backend import array_module
from chainrule.checks import is_real
from chainrule.errors import ConfigError, TrainingDiverged, type_name
from chainrule.nn.module import Module
from chainrule.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "grad_norm"]

#: Added to the norm before dividing, as PyTorch does: a zero gradient divides by no zero.
EPS = 1e-6


def grad_norm(params: Iterable[Tensor] | Tensor | Module, norm_type: float = 2.0) -> float:
    """The total ``norm_type``-norm of the gradients of ``params``, as one vector.

    ``params`` is a parameter, an iterable of them (``model.parameters()``) or a module; a
    parameter whose ``.grad`` is None is skipped, and with none left the norm is 0.0.
    ``norm_type`` is any p > 0 (2: Euclidean, 1: the sum of the sizes) or ``math.inf`` (or
    ``"inf"``: the largest size). The total is the norm of the per-parameter norms, as
    ``torch.nn.utils.get_total_norm`` takes it, computed scaled by the largest entry, so a
    finite gradient has a finite norm (1e200 does not overflow by squaring) unless the norm
    itself passes the largest float. NaN if any gradient holds a NaN; inf if one holds an
    infinity (and no NaN).

    >>> import numpy as np, chainrule as cr
    >>> w = cr.Tensor(np.zeros(2), requires_grad=True)
    >>> w.grad = cr.Tensor(np.array([3e200, 4e200]))
    >>> print(f"{cr.optim.grad_norm([w]):.6g}")    # the squares, 9e400 and 1.6e401, overflow
    5e+200
    """
    p = checked_norm_type("grad_norm", norm_type)
    return _total_norm(_gradients("grad_norm", params), p)


def clip_grad_norm_(
    params: Iterable[Tensor] | Tensor | Module,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale the gradients of ``params`` in place so that their total norm is at most
    ``max_norm``; return the total norm before clipping (:func:`grad_norm`'s number).

    Every gradient is multiplied by ``max_norm / (total + 1e-6)`` where that is below 1, and
    left as it is otherwise: the contract of ``torch.nn.utils.clip_grad_norm_``. Call it between
    ``backward()`` and the optimizer's ``step()``; in :func:`chainrule.train.fit`, the
    :class:`~chainrule.train.ClipGradNorm` callback does it after every backward pass.

    An infinite total scales every gradient by 0 (an infinite entry becomes NaN), as PyTorch
    does; a NaN total leaves the gradients as they are (PyTorch multiplies every one of them by
    NaN). With ``error_if_nonfinite=True`` a total that is NaN or infinite raises
    :class:`~chainrule.errors.TrainingDiverged` instead, and no gradient changes. ``max_norm``
    must be a number >= 0 (inf: nothing is clipped), ``norm_type`` as for :func:`grad_norm`.
    """
    who = "clip_grad_norm_"
    limit = checked_limit(who, "max_norm", max_norm)
    p = checked_norm_type(who, norm_type)
    checked_flag(who, "error_if_nonfinite", error_if_nonfinite)
    grads = _gradients(who, params)
    total = _total_norm(grads, p)
    if error_if_nonfinite and not math.isfinite(total):
        raise TrainingDiverged(
            f"{who}: the total {_norm_name(p)} of the gradients is {total}, so they cannot be "
            "clipped; to scale them by it anyway, set error_if_nonfinite=False"
        )
    scale = limit / (total + EPS)
    if scale < 1.0:  # NaN is not: a NaN norm leaves the gradients as they are
        # an infinite norm scales by 0, and an infinite entry becomes NaN, as PyTorch's does,
        # without NumPy's warning of it: the norm returned says so
        with np.errstate(invalid="ignore") if scale == 0.0 else contextlib.nullcontext():
            for holders, grad in _distinct(grads):
                if _writes_in_place(grad):
                    grad *= scale
                else:
                    _replace(holders, grad * scale)
    return total


def clip_grad_value_(params: Iterable[Tensor] | Tensor | Module, clip_value: float) -> None:
    """Clamp every entry of the gradients of ``params`` to ``[-clip_value, clip_value]``, in
    place, as ``torch.nn.utils.clip_grad_value_`` does (a NaN entry stays NaN). ``clip_value``
    must be a number >= 0; a parameter whose ``.grad`` is None is skipped."""
    who = "clip_grad_value_"
    limit = checked_limit(who, "clip_value", clip_value)
    for holders, grad in _distinct(_gradients(who, params)):
        if type(grad) is np.ndarray and grad.flags.writeable:
            np.clip(grad, -limit, limit, out=grad)
            continue
        clipped = array_module(grad).clip(grad, -limit, limit)
        if _writes_in_place(grad):
            grad[...] = clipped
        else:
            _replace(holders, clipped)


# -- checks -------------------------------------------------------------------------------------


def checked_limit(who: str, name: str, value: Any) -> float:
    """``value`` as a limit (``max_norm``, ``clip_value``): a number >= 0, inf included; else
    ConfigError naming ``name``. Shared with the training callback."""
    if not is_real(value) or math.isnan(value) or value < 0:
        shown = repr(value.item() if isinstance(value, np.generic) else value)
        raise ConfigError(f"{who}: {name} must be a number >= 0, not {shown}")
    return float(value)


def checked_norm_type(who: str, value: Any) -> float:
    """``value`` as a norm's order p: a number > 0, ``math.inf`` or ``"inf"``; else ConfigError
    naming ``norm_type``. Shared with the training callback."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        return math.inf
    if not is_real(value) or math.isnan(value) or value <= 0:
        shown = repr(value.item() if isinstance(value, np.generic) else value)
        raise ConfigError(
            f"{who}: norm_type must be a number > 0 or inf (2: Euclidean, 1: the sum of the "
            f"sizes, inf: the largest), not {shown}"
        )
    return float(value)


def checked_flag(who: str, name: str, value: Any) -> bool:
    """``value`` as True or False (NumPy's bool too); else ConfigError naming ``name``. Shared
    with the training callback."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{who}: {name} must be True or False, not {value!r}")
    return bool(value)


def _gradients(who: str, params: Any) -> list[tuple[Tensor, Any]]:
    """Each parameter of ``params`` that has a gradient, with that gradient's array; anything
    that is not a parameter is refused naming its position."""
    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, Mapping):  # iterating it would give its names
        raise ConfigError(
            f"{who}: params is a mapping of names to parameters (dict(named_parameters())?); "
            "give the parameters: model.parameters(), or the mapping's .values()"
        )
    elif callable(params) and not isinstance(params, Iterable):  # net.parameters, uncalled
        name = getattr(params, "__qualname__", type_name(params))
        raise ConfigError(
            f"{who}: params is the function {name}, not what it returns: call it "
            "(model.parameters(), not model.parameters)"
        )
    elif not isinstance(params, Iterable) or isinstance(params, (str, bytes)):
        raise ConfigError(
            f"{who}: params must be a parameter, an iterable of parameters or a module, not "
            f"{type_name(params)}"
        )
    found = []
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            named = isinstance(param, tuple) and len(param) == 2 and isinstance(param[0], str)
            what = (
                f"a (name, parameter) pair ({param[0]!r}, ...), as named_parameters() gives "
                "them; give net.parameters()"
                if named
                else f"{type_name(param)}, not a parameter (a chainrule Tensor)"
            )
            raise ConfigError(f"{who}: params[{index}] is {what}")
        grad = param.grad
        if grad is None:
            continue
        array = grad.data if isinstance(grad, Tensor) else grad
        if not hasattr(array, "shape") or not hasattr(array, "dtype"):
            raise TypeError(
                f"{who}: params[{index}]'s .grad is a {type_name(grad)}, not an array or tensor"
            )
        found.append((param, array))
    return found


# -- the norms ----------------------------------------------------------------------------------


def _norm(g: Any, p: float) -> float:
    """The p-norm of one array, scaled by its largest size; NaN where it holds a NaN."""
    xp = array_module(g)
    if (g.size if type(g) is np.ndarray else backend.size(g)) == 0:
        return 0.0
    sizes = xp.abs(g)
    largest = float(xp.max(sizes))  # NaN where any entry is (max propagates it)
    if p == math.inf or not 0.0 < largest < math.inf:
        return largest
    if type(sizes) is np.ndarray:  # our own array: scaled and powered in place, then summed
        if sizes.dtype.kind != "f":  # a .grad of integers assigned by hand
            sizes = sizes.astype(np.float64)
        elif sizes.dtype.itemsize < 4:  # float16: 65,536 scaled squares of 1 pass its 65504
            sizes = sizes.astype(np.float32)
        sizes /= largest
        if p == 2.0:
            np.square(sizes, out=sizes)
        elif p != 1.0:
            np.power(sizes, p, out=sizes)
        total = float(sizes.sum())  # pairwise: float32's sum keeps its digits
    else:
        if getattr(sizes.dtype, "itemsize", 4) < 4:  # float16, bfloat16: summed in float32
            sizes = xp.astype(sizes, xp.float32)
        sizes = sizes / largest
        powered = sizes if p == 1.0 else sizes * sizes if p == 2.0 else sizes**p
        total = float(xp.sum(powered))
    return largest * total ** (1.0 / p)


def _total_norm(grads: list[tuple[Tensor, Any]], p: float) -> float:
    """The p-norm of the gradients' p-norms: the norm of all of them as one vector."""
    return _combined([_norm(grad, p) for _, grad in grads], p)


def _combined(norms: list[float], p: float) -> float:
    if not norms:
        return 0.0
    if any(math.isnan(n) for n in norms):
        return math.nan
    largest = max(norms)
    if p == math.inf or largest == 0.0 or math.isinf(largest) or len(norms) == 1:
        return largest
    return largest * math.fsum((n / largest) ** p for n in norms) ** (1.0 / p)


def _norm_name(p: float) -> str:
    return "inf-norm" if p == math.inf else f"{p:g}-norm"


def _distinct(grads: list[tuple[Tensor, Any]]) -> list[tuple[list[Tensor], Any]]:
    """Each gradient array once, with the parameters that hold it: a ``.grad`` shared by two
    parameters (assigned by hand) is scaled once, not twice."""
    holders: dict[int, tuple[list[Tensor], Any]] = {}
    for param, grad in grads:
        holders.setdefault(id(grad), ([], grad))[0].append(param)
    return list(holders.values())


def _writes_in_place(grad: Any) -> bool:
    """Whether ``grad`` can be changed in place (NumPy's unless read-only, PyTorch's, CuPy's)."""
    if type(grad) is np.ndarray:
        return bool(grad.flags.writeable)
    return backend.supports_out(grad)


def _replace(params: list[Tensor], new: Any) -> None:
    """Make each of ``params``' gradient hold ``new`` where its array cannot be written (a
    read-only NumPy view assigned by hand, an immutable JAX array)."""
    for param in params:
        grad = param.grad
        if isinstance(grad, Tensor):
            if type(grad.data) is np.ndarray:
                grad.data = new
            else:
                backend.write(grad, new)
        else:
            param.grad = new
