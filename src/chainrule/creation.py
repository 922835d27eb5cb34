"""Making tensors: from data, filled with constants, ranges, and seeded random numbers.

Each function takes ``xp`` (an array library: ``torch``, ``cupy``, ``jax.numpy``,
``array_api_strict``; NumPy by default) and ``device`` (one of that library's devices). Values
are made on the host with NumPy, so a seed gives the same numbers on every library, and copied
once to the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule.checks import is_integer
from chainrule.errors import ConfigError
from chainrule.tensor import Tensor

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind :func:`randn` and :func:`rand` (and return it)."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def _shape(shape: tuple) -> tuple[int, ...]:
    """``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(3)`` as a shape; a NumPy integer is a size."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(shape[0])
    return tuple(int(n) if isinstance(n, np.integer) else n for n in shape)


def _placed(array: Any, xp: Any, device: Any, requires_grad: bool) -> Tensor:
    """A host array as a tensor of library ``xp`` on ``device`` (NumPy when both are None)."""
    if xp is not None or device is not None:
        array = backend.move(array, xp, device)
    return Tensor(array, requires_grad=requires_grad)


def _own_copy(data: Any) -> Any:
    """``data``'s values in a fresh array of its own library (a tensor's array included)."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.array_module(data)
    if xp is np:
        return np.array(data)  # always a copy; lists and numbers become arrays as before
    return xp.asarray(data, copy=True)


def tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, xp: Any = None, device: Any = None
) -> Tensor:
    """A tensor holding a copy of ``data`` (Python floats become float64, as in NumPy).

    The copy is the tensor's own, as ``torch.tensor`` makes one: refilling the array you passed
    cannot change a recorded graph's values or gradients, and an optimizer's in-place update
    does not write into your array. ``cr.Tensor(array)`` wraps a NumPy array without copying,
    for when sharing is meant. An array of another library (a torch tensor, a CuPy or JAX
    array) keeps its library and device unless ``xp`` or ``device`` say otherwise.

    >>> tensor([[0.2, 0.7]], requires_grad=True).shape
    (1, 2)
    """
    if xp is None and device is None:
        return Tensor(_own_copy(data), requires_grad=requires_grad, dtype=dtype)
    if backend.array_module(data) is np:
        data = np.asarray(data, dtype=dtype)
        dtype = None
    placed = _placed(data, xp, device, False)
    return Tensor(placed, requires_grad=requires_grad, dtype=dtype)


def zeros(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor of zeros: ``zeros(3)``, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _placed(np.zeros(_shape(shape), dtype=dtype), xp, device, requires_grad)


def ones(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor of ones."""
    return _placed(np.ones(_shape(shape), dtype=dtype), xp, device, requires_grad)


def full(
    shape: Any,
    value: float,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor filled with ``value``."""
    return _placed(np.full(shape, value, dtype=dtype), xp, device, requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape, dtype, array library and device."""
    return Tensor(x.xp.zeros_like(x.data), requires_grad=requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape, dtype, array library and device."""
    return Tensor(x.xp.ones_like(x.data), requires_grad=requires_grad)


def arange(
    *args: Any, dtype: Any = None, requires_grad: bool = False, xp: Any = None, device: Any = None
) -> Tensor:
    """``np.arange`` as a tensor."""
    return _placed(np.arange(*args, dtype=dtype), xp, device, requires_grad)


def linspace(
    start: float,
    stop: float,
    num: int = 50,
    dtype: Any = np.float64,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """``np.linspace`` as a tensor."""
    return _placed(np.linspace(start, stop, num, dtype=dtype), xp, device, False)


def randn(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """Standard normal samples; ``rng`` (a Generator or a seed) makes them reproducible."""
    generator = as_generator(rng, "randn")
    data = generator.standard_normal(_shape(shape)).astype(dtype, copy=False)
    return _placed(data, xp, device, requires_grad)


def rand(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """Uniform samples in [0, 1); ``rng`` (a Generator or a seed) makes them reproducible."""
    data = as_generator(rng, "rand").random(_shape(shape)).astype(dtype, copy=False)
    return _placed(data, xp, device, requires_grad)


def as_generator(
    rng: np.random.Generator | int | None, who: str = "rng", error: type[Exception] = ConfigError
) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as it is, a seed (an integer >= 0) makes a new one,
    None is chainrule's default generator (:func:`manual_seed`). Anything else raises
    ``error`` naming ``who`` (NumPy's own words, "expected non-negative integer", name neither
    the argument nor the call)."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if is_integer(rng) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise error(
        f"{who}: rng must be a numpy Generator, a seed (an integer >= 0) or None, not {rng!r}"
    )
