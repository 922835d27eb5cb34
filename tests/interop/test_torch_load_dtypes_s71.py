"""Dtypes across the PyTorch loaders.

``load_state_dict_from_torch`` wrote each array into the model as it came, so a float16 state
dict made a float32 model float16, and one float64 bias made it half float64, without a word.
It now loads through the model's own ``load_state_dict``, whose rule is chainrule's: an array
of another dtype than the model's entry is refused naming the key and both dtypes, and nothing
is written. (PyTorch's ``load_state_dict`` casts into the module's dtype; chainrule's refuses,
as its ``load_state_dict`` does, so a load never rounds weights without a word.)

``load_torch`` refused a float16 *file* with the fix ``net.float()``, which a user holding only
the file cannot apply, while a bfloat16 file was read widened to float32. float16 -> float32 is
exact too: it is widened alike. A file mixing dtypes (a float16 bias beside float32 weights) is
refused as a state dict mixing them is, bfloat16 included."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.errors import ModelFileError, StateDictError
from chainrule.interop import from_torch, load_state_dict_from_torch, load_torch

torch = pytest.importorskip("torch")


def torch_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))


def model32():
    return nn.mlp([3, 4, 2], activation="tanh", rng=0)


def test_a_float16_state_dict_is_refused_by_a_float32_model_and_nothing_is_written():
    model = model32()
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    with pytest.raises(StateDictError, match=r"'0.weight' is float32 in the model but float16"):
        load_state_dict_from_torch(model, torch_net().half().state_dict())
    for name, p in model.named_parameters():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.numpy(), before[name])


def test_one_float64_bias_is_refused_where_it_made_the_model_mixed():
    state = torch_net().state_dict()
    state["0.bias"] = state["0.bias"].double()
    model = model32()
    with pytest.raises(StateDictError, match=r"'0.bias' is float32 in the model but float64"):
        load_state_dict_from_torch(model, state)
    assert {str(p.dtype) for p in model.parameters()} == {"float32"}


def test_a_state_dict_of_the_models_dtype_loads_as_before_and_in_place():
    net = torch_net()
    model = model32()
    arrays = [p.data for p in model.parameters()]
    load_state_dict_from_torch(model, net.state_dict())
    assert all(p.data is array for p, array in zip(model.parameters(), arrays))  # in place
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_from_torch_with_a_model_as_arch_builds_it_in_the_state_dicts_dtype():
    """A model given as ``arch`` is copied in the state dict's dtype, as a spec or a config is
    built in it: the float64 weights keep their dtype, as they did."""
    net = torch_net().double()
    arch = model32()
    model = from_torch(net.state_dict(), arch=arch)
    assert {str(p.dtype) for p in model.parameters()} == {"float64"}
    assert {str(p.dtype) for p in arch.parameters()} == {"float32"}  # the user's, untouched
    x = np.random.default_rng(1).normal(size=(5, 3))
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_a_half_precision_file_is_read_widened_to_float32_exactly(half, tmp_path):
    from safetensors.torch import save_file

    net = torch_net().to(getattr(torch, half))
    save_file(net.state_dict(), tmp_path / "half.safetensors")
    model = load_torch(tmp_path / "half.safetensors", arch="3,4,tanh,2")
    assert {str(p.dtype) for p in model.parameters()} == {"float32"}
    for name, value in net.state_dict().items():
        exact = value.float().numpy()  # every float16 and bfloat16 is a float32
        loaded = model.state_dict()[name]
        np.testing.assert_array_equal(loaded, exact.T if name.endswith("weight") else exact)


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_a_file_mixing_a_half_precision_bias_with_float32_weights_is_refused(half, tmp_path):
    from safetensors.torch import save_file

    state = torch_net().state_dict()
    state["0.bias"] = state["0.bias"].to(getattr(torch, half))
    save_file(state, tmp_path / "mixed.safetensors")
    with pytest.raises(ModelFileError, match=rf"'0.bias' is {half}"):
        load_torch(tmp_path / "mixed.safetensors", arch="3,4,tanh,2")
