"""The array-module seam: the one place that decides which array library does the arithmetic.

Every op asks ``array_module(x)`` for the module that owns its input (NumPy by default) and calls
``xp.exp``, ``xp.matmul`` ... on it, never ``numpy`` directly. A GPU library with NumPy's interface
(CuPy, for instance) plugs in with :func:`register_array_module`; nothing else in chainrule changes.
"""

from __future__ import annotations

import ctypes
import os
import sys
from types import ModuleType
from typing import Any

import numpy

#: ``(array type, module)`` pairs tried in order; NumPy answers for everything else.
_registered: list[tuple[type, ModuleType]] = []


def register_array_module(array_type: type, module: ModuleType) -> None:
    """Route arrays of ``array_type`` to ``module`` (which must offer NumPy's functions).

    >>> import cupy                                        # doctest: +SKIP
    >>> register_array_module(cupy.ndarray, cupy)          # doctest: +SKIP
    """
    _registered.insert(0, (array_type, module))


def array_module(array: Any) -> ModuleType:
    """The array module that owns ``array`` (NumPy unless a registered type matches)."""
    if _registered and type(array) is not numpy.ndarray:  # exact type: subclasses may register
        for array_type, module in _registered:
            if isinstance(array, array_type):
                return module
    return numpy


def to_numpy(array: Any) -> numpy.ndarray:
    """A NumPy copy-or-view of any registered array (for printing, saving, plotting)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)  # CuPy's device-to-host copy
    return numpy.asarray(get() if callable(get) else array)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 256 * 2**20


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system at once.

    A training step allocates and frees the same large arrays every time (a layer's
    pre-activations, its gradients). By default glibc hands big freed blocks back to the kernel,
    so the next step page-faults them in again: about a fifth of a step for a 512-unit network.
    Keeping up to 256 MiB of freed memory in the heap removes that cost, as PyTorch's caching
    allocator does. It is a process-wide setting, so importing chainrule does not make it: the
    ``chainrule`` command and :meth:`chainrule.train.Trainer.fit` call this, and a program with
    its own training loop may too. Set ``CHAINRULE_MALLOC=system`` to leave the allocator alone.
    Returns whether the setting was applied (glibc only).
    """
    if os.environ.get("CHAINRULE_MALLOC", "").lower() == "system" or not sys.platform.startswith(
        "linux"
    ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running process's C library: no search
    except (OSError, AttributeError):  # not glibc (musl, for one): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) and mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))
