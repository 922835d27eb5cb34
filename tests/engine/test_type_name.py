"""errors.type_name: a class by the shortest loaded module that exports it, else by its
module's path without private parts."""

import sys
import types

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.errors import type_name


def test_the_shortest_exporting_module_names_a_class():
    assert type_name(np.zeros(1)) == "numpy.ndarray"
    assert type_name(nn.Linear(1, 1)) == "chainrule.nn.Linear"
    assert type_name(optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)) == "chainrule.optim.SGD"
    assert type_name(1.5) == "float"


def test_torch_optimizers_are_named_as_imported():
    torch = pytest.importorskip("torch")
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert type_name(sgd) == "torch.optim.SGD"


def test_a_class_no_module_exports_drops_the_private_parts(monkeypatch):
    module = types.ModuleType("somepkg._impl.arrays")
    exec("class Thing: pass", module.__dict__)
    module.Thing.__module__ = module.__name__
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert type_name(module.Thing()) == "somepkg.Thing"
