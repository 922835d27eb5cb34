"""The array-module seam: the one place that decides which array library does the arithmetic.

Every op asks ``array_module(x)`` for the module that owns its input (NumPy by default) and calls
``xp.exp``, ``xp.matmul`` ... on it, never ``numpy`` directly. A GPU library with NumPy's interface
(CuPy, for instance) plugs in with :func:`register_array_module`; nothing else in chainrule changes.
"""

from __future__ import annotations

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
    if _registered and not isinstance(array, numpy.ndarray):
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
