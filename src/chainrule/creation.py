"""Making tensors: from data, filled with constants, ranges, and seeded random numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind :func:`randn` and :func:`rand` (and return it)."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return tuple(shape)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor holding ``data`` (Python floats become float64, as in NumPy).

    >>> tensor([[0.2, 0.7]], requires_grad=True).shape
    (1, 2)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(3)``, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape: Any, value: float, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``value``."""
    return Tensor(np.full(shape, value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape, dtype and array module."""
    return Tensor(x.xp.zeros_like(x.data), requires_grad=requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape, dtype and array module."""
    return Tensor(x.xp.ones_like(x.data), requires_grad=requires_grad)


def arange(*args: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``np.arange`` as a tensor."""
    return Tensor(np.arange(*args, dtype=dtype), requires_grad=requires_grad)


def linspace(start: float, stop: float, num: int = 50, dtype: Any = np.float64) -> Tensor:
    """``np.linspace`` as a tensor."""
    return Tensor(np.linspace(start, stop, num, dtype=dtype))


def randn(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
) -> Tensor:
    """Standard normal samples; ``rng`` (a Generator or a seed) makes them reproducible."""
    generator = _generator(rng)
    data = generator.standard_normal(_shape(shape)).astype(dtype, copy=False)
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *shape: Any,
    dtype: Any = np.float64,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
) -> Tensor:
    """Uniform samples in [0, 1); ``rng`` (a Generator or a seed) makes them reproducible."""
    data = _generator(rng).random(_shape(shape)).astype(dtype, copy=False)
    return Tensor(data, requires_grad=requires_grad)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
