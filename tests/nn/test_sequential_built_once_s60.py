"""A Sequential of many layers builds its tuple of layers once, not once per layer.

Each layer's registration rebuilt the whole tuple, so building (and loading a model file of)
n layers took time in n squared: a 2 MB model.json of 100,000 layers loaded for about five
minutes (a security review: a student's file). Counted, not timed.
"""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.nn.layers import Sequential


def test_the_layers_tuple_is_built_once_for_any_number_of_layers(monkeypatch) -> None:
    calls = []
    refresh = Sequential._refresh
    monkeypatch.setattr(Sequential, "_refresh", lambda self: calls.append(1) or refresh(self))
    layers = [cr.nn.Logistic() for _ in range(1000)]
    net = cr.nn.Sequential(*layers)
    assert len(calls) == 1
    assert net.layers == tuple(layers) and list(net._modules)[-1] == "999"


def test_construction_still_refuses_what_append_refuses() -> None:
    with pytest.raises(cr.nn.ConfigError, match="layer 1 must be a Module, not str"):
        cr.nn.Sequential(cr.nn.Logistic(), "not a layer")
