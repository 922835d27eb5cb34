"""Python source that makes installed packages absent, for a test's subprocess to run first.

Importing one of them then raises ModuleNotFoundError naming it and ``find_spec`` finds nothing,
as where they are not installed. (``sys.modules[name] = None`` would raise ImportError instead,
which scipy and sklearn take for a broken torch, not an absent one.) The source defines
``absent(name)``, whether a module is one of them, for the code run after it.
"""

from __future__ import annotations

_HIDING = """
import importlib.abc, importlib.util, sys

ABSENT = {modules!r}

def absent(name):
    return name.split(".")[0] in ABSENT

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if absent(name):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Missing())
find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *args: None if absent(name) else find_spec(name, *args)
"""


def hiding(modules: tuple[str, ...]) -> str:
    """The source that makes the top-level ``modules`` absent in the process that runs it."""
    return _HIDING.format(modules=tuple(modules))
