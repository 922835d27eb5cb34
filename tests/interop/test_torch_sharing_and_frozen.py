"""PyTorch <-> chainrule keep what a network shares and what it freezes.

A layer used twice is one layer (its gradient the sum over both uses, not one use's share), a
model whose state dict would hold a shared layer once is not saved as a file that cannot load,
and a frozen parameter stays frozen through every conversion and file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConversionError, ModelFileError
from chainrule.interop import from_torch, load_torch, save_torch, to_torch


def needs_torch():
    return pytest.importorskip("torch")


def torch_grads(torch, net, x):
    """Every parameter's gradient of sum(net(x) * cotangent), by PyTorch's own backward."""
    net.zero_grad()
    out = net(torch.tensor(x))
    (out * torch.arange(out.shape[1], dtype=out.dtype)).sum().backward()
    return {name: p.grad.numpy() for name, p in net.named_parameters()}


def chainrule_grads(model, x):
    model.zero_grad()
    out = model(cr.tensor(x))
    (out * cr.tensor(np.arange(out.shape[1], dtype=x.dtype))).sum().backward()
    return {name: p.grad.numpy() for name, p in model.named_parameters()}


def assert_same_grads(torch_side, chainrule_side):
    """The same names, and each gradient equal to 1e-12 (a 2-D weight transposed)."""
    assert list(torch_side) == list(chainrule_side)
    for name, grad in torch_side.items():
        expected = grad.T if grad.ndim == 2 else grad
        np.testing.assert_allclose(chainrule_side[name], expected, rtol=0, atol=1e-12)


def shared_torch_net(torch):
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3, dtype=torch.float64)
    return torch.nn.Sequential(lin, torch.nn.Tanh(), lin, torch.nn.Sigmoid())


def shared_chainrule_model():
    lin = nn.Linear(3, 3, rng=0, dtype="float64")
    return nn.Sequential(lin, nn.Tanh(), lin, nn.Logistic())


X = np.random.default_rng(0).normal(size=(5, 3))


# -- sharing -------------------------------------------------------------------------------------


def test_from_torch_keeps_a_layer_used_twice_as_one_layer():
    torch = needs_torch()
    net = shared_torch_net(torch)
    model = from_torch(net)
    assert model[0] is model[2]
    assert len(model.parameters()) == len(list(net.parameters())) == 2
    assert_same_grads(torch_grads(torch, net, X), chainrule_grads(model, X))


def test_to_torch_keeps_a_layer_used_twice_as_one_layer():
    torch = needs_torch()
    model = shared_chainrule_model()
    net = to_torch(model)
    assert net[0] is net[2]
    assert len(list(net.parameters())) == len(model.parameters()) == 2
    assert_same_grads(torch_grads(torch, net, X), chainrule_grads(model, X))


def test_a_parameter_tied_between_two_layers_stays_one_parameter_both_ways():
    torch = needs_torch()
    torch.manual_seed(0)
    first, second = (torch.nn.Linear(3, 3, dtype=torch.float64) for _ in range(2))
    second.weight = first.weight  # tied weights, separate biases
    net = torch.nn.Sequential(first, torch.nn.Tanh(), second)
    model = from_torch(net)
    assert model[0] is not model[2] and model[0].weight is model[2].weight
    assert len(model.parameters()) == len(list(net.parameters())) == 3
    assert_same_grads(torch_grads(torch, net, X), chainrule_grads(model, X))
    back = to_torch(model)
    assert back[0].weight is back[2].weight and back[0].bias is not back[2].bias
    assert_same_grads(torch_grads(torch, back, X), chainrule_grads(model, X))


def test_save_torch_refuses_a_shared_linear_naming_it_and_writes_nothing(tmp_path):
    path = tmp_path / "shared.safetensors"
    match = r"'0\.weight' is also '2\.weight'.*nothing was written"
    with pytest.raises(ConversionError, match=match):
        save_torch(shared_chainrule_model(), path)
    assert list(tmp_path.iterdir()) == []
    # a shared layer without parameters is harmless: written, and it loads
    tanh = nn.Tanh()
    model = nn.Sequential(nn.Linear(3, 3, rng=0), tanh, nn.Linear(3, 3, rng=1), tanh)
    again = load_torch(save_torch(model, path))
    x = cr.tensor(X, dtype="float32")
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_save_torch_refuses_a_parameter_tied_between_two_layers(tmp_path):
    first, second = nn.Linear(3, 3, rng=0), nn.Linear(3, 3, rng=1)
    second.weight = first.weight  # two layers, one weight: a state dict holds it once
    path = tmp_path / "tied.safetensors"
    with pytest.raises(ConversionError, match=r"two places \('0\.weight' is also '2\.weight'\)"):
        save_torch(nn.Sequential(first, nn.Tanh(), second), path)
    assert list(tmp_path.iterdir()) == []


# -- frozen parameters ---------------------------------------------------------------------------


def frozen_names(module):
    return [name for name, p in module.named_parameters() if not p.requires_grad]


def test_to_torch_keeps_frozen_parameters_frozen():
    needs_torch()
    model = nn.mlp([3, 4, 2], rng=0)
    model[0].weight.requires_grad_(False)
    assert frozen_names(to_torch(model)) == ["0.weight"]


def test_from_torch_keeps_frozen_parameters_frozen():
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 2))
    net[2].bias.requires_grad_(False)
    model = from_torch(net)
    assert frozen_names(model) == ["2.bias"]
    assert frozen_names(to_torch(model)) == ["2.bias"]
    # a state dict's tensors are all detached, which says nothing of what was frozen
    assert frozen_names(from_torch(net.state_dict(), arch="3,4,2")) == []


def test_save_torch_records_frozen_parameters_and_load_torch_freezes_them(tmp_path):
    model = nn.mlp([3, 4, 2], rng=0)
    model[0].weight.requires_grad_(False)
    model[2].bias.requires_grad_(False)
    path = save_torch(model, tmp_path / "frozen.safetensors")
    assert json.loads(io.read_metadata(path)["chainrule_frozen"]) == ["0.weight", "2.bias"]
    assert frozen_names(load_torch(path)) == ["0.weight", "2.bias"]
    # a file with nothing frozen has no key, as files written before it existed, and loads so
    plain = save_torch(nn.mlp([3, 4, 2], rng=0), tmp_path / "plain.safetensors")
    assert "chainrule_frozen" not in io.read_metadata(plain)
    assert frozen_names(load_torch(plain)) == []


def test_load_torch_freezes_by_the_files_names_under_another_arch(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Dropout(0.1), nn.Tanh(), nn.Linear(4, 2))
    model[3].weight.requires_grad_(False)
    path = save_torch(model, tmp_path / "frozen.safetensors")
    again = load_torch(path, arch="3,4,tanh,2")  # its second Linear is layer 2, not 3
    assert frozen_names(again) == ["2.weight"]


@pytest.mark.parametrize(
    "recorded, message",
    [
        ('["9.weight"]', r"'9\.weight' is not a parameter"),
        ('"0.weight"', "not a JSON list"),
        ("[0]", "not a JSON list"),
        ("[", "not a JSON list"),
    ],
)
def test_recorded_frozen_names_that_are_not_parameters_are_refused(tmp_path, recorded, message):
    model = nn.mlp([3, 4, 2], rng=0)
    path = tmp_path / "net.safetensors"
    metadata = {"format": "pt", "weight_layout": "torch",
                "chainrule_architecture": json.dumps(model.config()),
                "chainrule_frozen": recorded}  # fmt: skip
    state = {name: np.array(p.data.T if p.ndim == 2 else p.data) for name, p in
             model.named_parameters()}  # fmt: skip
    io.write_arrays(path, state, metadata)
    with pytest.raises(ModelFileError, match=message):
        load_torch(path)


def test_a_single_layers_frozen_weight_survives_save_and_load_torch(tmp_path):
    layer = nn.Linear(3, 2, rng=0)
    layer.weight.requires_grad_(False)
    path = save_torch(layer, tmp_path / "one.safetensors")
    assert json.loads(io.read_metadata(path)["chainrule_frozen"]) == ["0.weight"]
    assert frozen_names(load_torch(path)) == ["0.weight"]
