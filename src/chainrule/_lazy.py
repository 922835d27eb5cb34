"""Packages whose submodules load on first use, and show in ``dir()`` before they do.

``import chainrule`` needs NumPy alone: the layers above the engine (nn, train, viz ...) and the
tools' optional libraries (matplotlib, rich, typer) load when a name first reaches them, so
``cr.viz.curves.plot_history`` and tab completion on ``cr.`` both work without importing them
all up front.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_package(
    package: str, path: Iterable[str], functions: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module ``__getattr__`` and ``__dir__`` (PEP 562).

    Every public submodule of the package (found on ``path``, its ``__path__``) imports when
    first read as an attribute; ``functions`` maps more names to the modules that define them
    (``{"explain": "chainrule.explainer"}``).

    >>> __getattr__, __dir__ = lazy_package(__name__, __path__)   # doctest: +SKIP
    """
    functions = dict(functions or {})
    path = list(path)
    found: list[str] = []

    def submodules() -> list[str]:
        if not found:  # the files are listed once, at the first miss
            found.extend(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
        return found

    def __getattr__(name: str) -> Any:
        if name in functions:
            return getattr(importlib.import_module(functions[name]), name)
        if not name.startswith("_") and name in submodules():
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(submodules()) | set(functions))

    return __getattr__, __dir__
