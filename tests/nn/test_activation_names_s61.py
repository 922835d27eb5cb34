"""``nn.activation`` makes a layer for every name it lists: "identity" (and "linear") were
refused ("has no layer; leave the layer out") though the refusal of an unknown name offered
identity and ``nn.Identity`` exists. The names are one tuple, the one the error lists.

Oracles: the closed forms of the units, the table's own ``on_array``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError
from chainrule.nn import activations

Z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])


@pytest.mark.parametrize("name", ["identity", "linear", "IDENTITY"])
def test_identity_is_the_identity_layer(name):
    layer = nn.activation(name)
    assert type(layer) is nn.Identity
    np.testing.assert_array_equal(layer(cr.tensor(Z)).data, Z)


def test_sigmoid_is_the_logistic_layer():
    layer = nn.activation("sigmoid")
    assert type(layer) is nn.Logistic
    np.testing.assert_allclose(layer(cr.tensor(Z)).data, 1 / (1 + np.exp(-Z)), rtol=1e-12)


def test_every_name_and_alias_makes_a_layer_computing_its_unit():
    for name in activations.ACTIVATIONS:
        layer = nn.activation(name)
        expected = activations.ACTIVATIONS[name].on_array(Z)
        np.testing.assert_allclose(layer(cr.tensor(Z)).data, expected, rtol=1e-12)


def test_the_names_are_one_tuple_which_the_error_lists():
    assert activations.NAMES == ("logistic", "tanh", "relu", "softmax", "identity")
    assert set(activations.NAMES) <= set(activations.ACTIVATIONS)
    with pytest.raises(ConfigError) as refusal:
        nn.activation("swish")
    assert str(refusal.value).endswith("choose one of " + ", ".join(activations.NAMES))
    for name in activations.NAMES:  # every name offered is taken
        nn.activation(name)
