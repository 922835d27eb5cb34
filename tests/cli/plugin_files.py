"""What the tests of a user's own classes on the command line (``chainrule --import``) share:
the source of the plugin modules they write, each class under the test's own names (``{tag}``,
``{low}``) so no two tests share a class or a module, and the registries put back after a test,
as a fresh ``chainrule`` process finds them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from chainrule.nn import losses, module
from chainrule.optim import optimizers

#: A registered loss with an argument, ``scale`` (its default ``{scale}``): scale times the
#: summed squared error
SCALED_LOSS = """
@nn.register_loss
class Scaled{tag}(nn.Loss):
    name = "scaled-{low}"
    reduction = "sum"

    def __init__(self, scale={scale}):
        self.scale = float(scale)

    def forward(self, output, target):
        output, t = self._compared(output, target)
        error = t - output
        return self.scale * (error * error).sum()

    def config(self):
        return {{"type": self.config_type(), "scale": self.scale}}
"""

#: A registered optimizer: SGD under a name of the test's own
SLOW_OPTIMIZER = """
@optim.register_optimizer
class Slow{tag}(optim.SGD):
    name = "slow-{low}"
"""


def registries() -> list[dict]:
    """The registries a plugin's classes join: losses, modules, optimizers."""
    return [losses.LOSSES, module._REGISTERED, optimizers.OPTIMIZERS]


def restore(before: list[dict], prefix: str) -> None:
    """The registries as ``before`` (:func:`registries`, copied), and the modules whose names
    start with ``prefix`` (the test's plugins) unimported."""
    for table, kept_table in zip(registries(), before):
        table.clear()
        table.update(kept_table)
    for name in [name for name in sys.modules if name.startswith(prefix)]:
        del sys.modules[name]


def registries_kept(prefix: str) -> Iterator[Callable[[], None]]:
    """A fixture's body: the registries, the plugins (``prefix``) and Python's path as they
    were, after the test; what it yields, called, leaves them as a fresh process finds them."""
    before = [dict(table) for table in registries()]
    path = list(sys.path)
    yield lambda: restore(before, prefix)
    restore(before, prefix)
    sys.path[:] = path


def write_plugin(directory: Path, name: str, source: str, tag: str, **values: object) -> Path:
    """The plugin module ``name`` written in ``directory`` from ``source`` (a template of
    ``{tag}``, ``{low}`` and ``values``); its path."""
    path = directory / f"{name}.py"
    path.write_text(source.format(tag=tag, low=tag.lower(), **values))
    return path


def assert_explained_by_backward(document: dict, name: str, E: float, engine: dict,
                                 rtol: float, atol: float) -> None:  # fmt: skip
    """``chainrule explain --format json``'s ``document`` of a model trained with the loss of
    one's own ``name``, against the model's own backward: the loss's name, its formula not
    written out, E (the loss's value), every check passed, and each dE/dw equal to the
    engine's (``engine``: each parameter's ``.grad`` by name) to ``rtol``/``atol``."""
    assert document["loss"]["name"] == name and document["loss"]["written_out"] is False
    assert document["loss"]["E"] == pytest.approx(E, rel=1e-12)
    assert document["check"]["all_ok"] is True
    for conn in document["connections"]:
        got = np.zeros(engine[conn["weight_name"]].shape)
        for entry in conn["weights"]:
            got[entry["i"], entry["j"]] = entry["dE_dw"]["value"]
        np.testing.assert_allclose(got, engine[conn["weight_name"]], rtol=rtol, atol=atol)
