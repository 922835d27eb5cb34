"""Every ``>>>`` example in chainrule's docstrings runs and prints what it shows (session 62:
no test ran them; a reader found one, ``cr.train.fit``'s, that did not learn what it claimed,
marked ``+SKIP`` and so never run). A module whose extra is not installed is skipped by name;
an example that cannot run here (a GPU, a download, minutes) says ``+SKIP`` itself."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import chainrule
from chainrule.errors import MissingExtraError

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(chainrule.__path__, prefix="chainrule.")
    if not info.name.endswith("__main__")
)


@pytest.fixture
def registries_kept():
    """The registries an example adds to (``register_module``'s ``Scale``) as they were: a
    class an example registers would take the name from a later test's own (docs/nn.md's)."""
    from chainrule.nn import losses, module
    from chainrule.optim import optimizers

    tables = [module._REGISTERED, losses.LOSSES, optimizers.OPTIMIZERS]
    saved = [dict(table) for table in tables]
    yield
    for table, before in zip(tables, saved, strict=True):
        table.clear()
        table.update(before)


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_each_module_run_as_shown(name, registries_kept):
    try:
        module = importlib.import_module(name)
    except (ModuleNotFoundError, MissingExtraError) as missing:
        if str(getattr(missing, "name", "") or "").startswith("chainrule"):
            raise  # a module of chainrule's own missing: a broken import, not an extra
        pytest.skip(f"{name}: {missing}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False):
        for test in finder.find(module, name, extraglobs={"np": np}):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
