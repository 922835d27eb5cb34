"""Packages whose submodules load on first use, and show in ``dir()`` before they do.

``import chainrule`` needs NumPy alone: the layers above the engine (nn, train, viz ...) and the
tools' optional libraries (matplotlib, rich, typer) load when a name first reaches them, so
``cr.viz.curves.plot_history`` and tab completion on ``cr.`` both work without importing them
all up front. The top package goes further: even its core (``cr.tensor``, ``cr.grad``, NumPy
with them) loads on the first read of one of its names, so the command line can print its help
without importing NumPy. A submodule that needs a package of an extra which is not installed
says so when first read (``cr.web``: "chainrule.web needs starlette, from chainrule's [app]
extra: pip install 'chainrule[app]'"), not with a bare ModuleNotFoundError.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

from chainrule.errors import extras_needed_by


def lazy_package(
    package: str,
    path: Iterable[str],
    functions: Mapping[str, str] | None = None,
    core: str | None = None,
    light: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module ``__getattr__`` and ``__dir__`` (PEP 562).

    Every public submodule of the package (found on ``path``, its ``__path__``) imports when
    first read as an attribute; ``functions`` maps more names to the modules that define them
    (``{"explain": "chainrule.explainer"}``). With ``core`` (a module's name), the first read of
    any name in the package's ``__all__`` imports ``core`` and binds all of them at once, and so
    does the first import of any submodule but those named in ``light`` (whose imports need no
    core): the core's modules import each other in a cycle that only works in ``core``'s order.

    A core name may also be a submodule's (``chainrule.tensor`` is a module and ``cr.tensor``
    a function): importing the submodule does not rebind the package's name to it, so
    ``cr.tensor(...)`` works whatever was imported first; the module stays in ``sys.modules``.

    >>> __getattr__, __dir__ = lazy_package(__name__, __path__)   # doctest: +SKIP
    """
    functions = dict(functions or {})
    path = list(path)
    found: list[str] = []

    def submodules() -> list[str]:
        if not found:  # the files are listed once, at the first miss
            found.extend(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
        return found

    def core_names() -> tuple[str, ...]:
        return tuple(getattr(sys.modules[package], "__all__", ())) if core else ()

    def load_core(name: str) -> Any:
        module = importlib.import_module(core)
        # Copied only where already defined: a core module that reads the package while the
        # core is still loading gets what exists so far (the rest is copied on a later read).
        vars(sys.modules[package]).update(
            {key: getattr(module, key) for key in core_names() if hasattr(module, key)}
        )
        return vars(sys.modules[package])[name]

    def __getattr__(name: str) -> Any:
        if name in core_names() and hasattr(importlib.import_module(core), name):
            return load_core(name)
        if name in functions:
            with extras_needed_by(f"{package}.{name}"):
                return getattr(importlib.import_module(functions[name]), name)
        if not name.startswith("_") and name in submodules():
            with extras_needed_by(f"{package}.{name}"):
                return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        listed = set(vars(sys.modules[package])) | set(submodules()) | set(functions)
        return sorted(listed | set(core_names()))

    if core:
        sys.modules[package].__class__ = _keeping_core_names(core_names)
        sys.meta_path.insert(0, _CoreFirst(package, core, light))
    return __getattr__, __dir__


class ModuleByName(ModuleType):
    """A module of a class of its own (``module.__class__ = ...``), pickled by reference."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by reference, imported by name where it is unpickled: cloudpickle pickles
        a module of a class of its own by value, and failed on it ("cannot pickle 'Package'
        object"), so a function using ``cr.`` sent to joblib's workers did not arrive."""
        return importlib.import_module, (self.__name__,)


def _keeping_core_names(core_names: Callable[[], Iterable[str]]) -> type[ModuleType]:
    """A module class whose core names keep their values when a submodule of the same name loads
    (the import system binds a new submodule on its package with ``setattr``)."""

    class Package(ModuleByName):
        def __setattr__(self, name: str, value: Any) -> None:
            is_own_submodule = (
                isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
            )
            if is_own_submodule and name in core_names():
                return  # reached as sys.modules["chainrule.tensor"]; cr.tensor stays the function
            super().__setattr__(name, value)

    return Package


class _CoreFirst(importlib.abc.MetaPathFinder):
    """Imports a package's core before the first of its other submodules (``light`` excepted).

    ``from chainrule.engine import no_grad`` as a program's first line must work, yet the engine
    cannot start the cycle tensor <-> engine <-> ops (the ops need the engine's ``apply`` while the
    engine would still wait for Tensor). So before such an import the core loads in its own order;
    if that loaded the module asked for, the import is answered with it instead of a second copy.
    """

    def __init__(self, package: str, core: str, light: Iterable[str]) -> None:
        self.prefix = f"{package}."
        self.core = core
        self.light = {f"{package}.{name}" for name in light}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(self.prefix) or self.core in sys.modules:
            return None  # another package's module, or the core has loaded (or is loading)
        if fullname == self.core or any(
            fullname == name or fullname.startswith(f"{name}.") for name in self.light
        ):
            return None
        importlib.import_module(self.core)
        module = sys.modules.get(fullname)
        if module is None:
            return None  # not part of the core: the usual finders load it, after the core
        spec = importlib.util.spec_from_loader(fullname, _Loaded(module))
        # The import system answers with the spec of a module that appeared in sys.modules while
        # the finders ran (and would run that spec's loader again): make it this one for now.
        module.__spec__ = spec
        return spec


class _Loaded(importlib.abc.Loader):
    """The loader of a module the import already loaded (as part of the core)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__  # the module's own, put back once the import is done

    def create_module(self, spec: Any) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec
