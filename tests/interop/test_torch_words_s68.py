"""Refusals that speak to someone coming from PyTorch (s68).

``to_torch(M())`` for a module of one's own said "layer 0 is M", though M is the model, not a
layer of one: it now says what to_torch converts and that M is not one. ``vector_to_parameters
(v, m.parameters())``, PyTorch's call, said "the second argument is the module, not list"; it
now says that PyTorch's takes the parameters and chainrule's the module.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConversionError
from chainrule.interop import save_torch, to_torch


class Doubled(nn.Module):
    """A module with a forward of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2, rng=0)

    def forward(self, x):
        return self.lin(x) * 2.0


def _assert_names_what_converts(message: str, function: str) -> None:
    assert message.startswith(f"{function} converts an nn.Sequential of Linear, ")
    assert "Doubled is neither" in message
    assert "layer 0" not in message


def test_to_torch_of_a_module_of_ones_own_says_it_converts_a_sequential(torch):
    with pytest.raises(ConversionError) as caught:
        to_torch(Doubled())
    _assert_names_what_converts(str(caught.value), "to_torch")
    # inside a Sequential it is a layer, and named as one
    with pytest.raises(ConversionError, match=r"^to_torch: layer 1 is Doubled, which has no"):
        to_torch(nn.Sequential(nn.Linear(2, 2), Doubled()))
    assert isinstance(to_torch(nn.Linear(2, 2, rng=0)), torch.nn.Sequential)  # one layer converts


def test_save_torch_of_a_module_of_ones_own_says_it_too(tmp_path):
    with pytest.raises(ConversionError) as caught:
        save_torch(Doubled(), tmp_path / "m.safetensors")
    _assert_names_what_converts(str(caught.value), "save_torch")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("parameters", [list, iter], ids=["list", "iterator"])
def test_vector_to_parameters_given_the_parameters_says_it_takes_the_module(parameters):
    model = nn.Linear(2, 3, dtype="float64", rng=0)
    before = cr.nn.parameters_to_vector(model)
    with pytest.raises(TypeError) as caught:
        cr.nn.vector_to_parameters(np.zeros(9), parameters(model.parameters()))
    message = str(caught.value)
    assert message.startswith("vector_to_parameters: the second argument is the module")
    assert "PyTorch's vector_to_parameters takes model.parameters()" in message
    assert "vector_to_parameters(vector, model)" in message
    np.testing.assert_array_equal(cr.nn.parameters_to_vector(model), before)  # nothing written
    cr.nn.vector_to_parameters(np.zeros(9), model)  # the module: written
    assert not cr.nn.parameters_to_vector(model).any()


def test_a_second_argument_that_is_no_collection_is_named_as_before():
    with pytest.raises(TypeError, match=r"the second argument is the module, not int$"):
        cr.nn.vector_to_parameters(np.zeros(9), 3)
