"""A key a ModuleDict or ParameterDict does not hold names the keys it does (a bare KeyError
'b' named neither the container nor what to write), and is still a KeyError (``in``, ``get``)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn


def test_a_missing_key_of_a_module_dict_names_its_keys():
    heads = nn.ModuleDict({"age": nn.Linear(2, 1), "sex": nn.Linear(2, 1)})
    with pytest.raises(KeyError, match=r"ModuleDict has no key 'agee'; its keys: 'age', 'sex'"):
        heads["agee"]
    assert "agee" not in heads and heads["age"] is heads.age


def test_a_missing_key_of_a_parameter_dict_names_its_keys():
    shifts = nn.ParameterDict({"low": nn.Parameter(np.zeros(2))})
    with pytest.raises(KeyError, match=r"ParameterDict has no key 'high'; its keys: 'low'"):
        shifts["high"]
    assert shifts.get("high", 3) == 3
    with pytest.raises(KeyError, match=r"ParameterDict has no key 'x'; it holds none"):
        nn.ParameterDict()["x"]


def test_reading_a_layer_past_the_end_names_the_layers_as_replacing_one_does():
    """``net[5]`` of three layers was Python's bare "tuple index out of range"."""
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    words = (
        r"^Sequential: index 5 is out of range for 3 layers \(0\.\.2, or -3\.\.-1 from the end\)$"
    )
    for touch in (lambda: net[5], lambda: net.__setitem__(5, nn.Tanh())):
        with pytest.raises(IndexError, match=words):
            touch()
    assert net[-1] is net.layers[2]
