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
