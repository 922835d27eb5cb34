"""state_dict_to_torch of a model with a tied parameter lists it under every name, as torch's.

PyTorch's ``state_dict()`` of ``Sequential(lin, Tanh(), lin)`` holds ``0.weight`` and ``2.weight``
(one tensor under both names); chainrule's names a tied parameter once, so the dict converted
from it lacked ``2.weight`` and ``2.bias`` and PyTorch's strict load refused it. Given the model,
``state_dict_to_torch`` names it as PyTorch does; the oracle is torch's own state dict.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.interop import from_torch, state_dict_from_torch, state_dict_to_torch, to_torch


def tied_by_a_layer(seed):
    lin = nn.Linear(3, 3, dtype="float64", rng=seed)
    return nn.Sequential(lin, nn.Tanh(), lin, nn.Linear(3, 2, dtype="float64", rng=seed + 1))


def tied_by_a_parameter(seed):
    first = nn.Linear(3, 3, dtype="float64", rng=seed)
    second = nn.Linear(3, 3, dtype="float64", rng=seed + 1)
    second.weight = first.weight  # one Parameter on two layers; the biases are their own
    return nn.Sequential(first, nn.Tanh(), second)


@pytest.mark.parametrize("build", [tied_by_a_layer, tied_by_a_parameter])
def test_the_keys_and_values_are_torchs(torch, build):
    model = build(0)
    theirs = to_torch(model).state_dict()
    ours = state_dict_to_torch(model)
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        assert torch.equal(ours[name], value), name
    assert ours["0.weight"] is ours["2.weight"]  # one tensor under each of its names
    arrays = state_dict_to_torch(model, tensors=False)
    assert list(arrays) == list(theirs)
    assert arrays["0.weight"] is arrays["2.weight"]
    np.testing.assert_array_equal(arrays["2.weight"], theirs["2.weight"].numpy())
    plain = state_dict_to_torch(model.state_dict())  # a dict cannot say what is tied
    assert list(plain) == list(model.state_dict())


@pytest.mark.parametrize("build", [tied_by_a_layer, tied_by_a_parameter])
def test_it_loads_strictly_into_torch_and_back_into_chainrule(torch, build):
    model = build(0)
    state = state_dict_to_torch(model)
    net = to_torch(build(7))  # the same network with other weights
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(1).normal(size=(4, 3))
    out = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-12, atol=1e-12)
    again = build(9)
    again.load_state_dict(state_dict_from_torch(state))  # strict; the tie loads from any name
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert again[0].weight is again[2].weight


def test_a_tied_torch_network_comes_back_with_its_own_keys(torch):
    torch.manual_seed(3)
    lin = torch.nn.Linear(3, 3, dtype=torch.float64)
    net = torch.nn.Sequential(lin, torch.nn.Tanh(), lin)
    back = state_dict_to_torch(from_torch(net))
    assert list(back) == list(net.state_dict())
    for name, value in net.state_dict().items():
        assert torch.equal(back[name], value), name
