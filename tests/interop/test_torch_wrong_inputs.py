"""PyTorch files and objects handed to the wrong chainrule function: each is refused, naming the
file or object and the function that takes it, and changes nothing; or, where the input means
one thing only (an arch given as a list), it is taken.

PyTorch is the oracle: each test that needs it skips itself where it is missing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConversionError, ModelFileError, UserError
from chainrule.interop import build_arch, from_torch, load_torch, save_torch, to_onnx, to_torch


def square_model():
    """Square layers: the case a transposed copy loads without an error."""
    return nn.Sequential(nn.Linear(3, 3, rng=1), nn.Tanh(), nn.Linear(3, 3, rng=2))


# -- read_arrays and the weight layout -------------------------------------------------------------


def test_read_arrays_refuses_a_torch_layout_file_that_would_load_transposed(tmp_path, torch):
    """net.load_state_dict(read_arrays(file from save_torch)) loaded every square weight
    transposed, without an error; now read_arrays refuses it, naming the file and load_torch."""
    path = save_torch(square_model(), tmp_path / "net.safetensors")
    net = square_model()
    before = {name: np.array(value) for name, value in net.state_dict().items()}
    with pytest.raises(ModelFileError) as caught:
        net.load_state_dict(io.read_arrays(path))
    message = str(caught.value)
    assert str(path) in message and "load_torch" in message and "weight_layout=torch" in message
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(np.array(value), before[name])  # nothing loaded


def test_read_arrays_in_torch_layout_gives_what_pytorch_loads(tmp_path, torch):
    """The arrays as the file holds them, asked for: PyTorch's own state dict of the network,
    and through the conversion they compute what PyTorch computes."""
    model = square_model()
    path = save_torch(model, tmp_path / "net.safetensors")
    arrays = io.read_arrays(path, layout="torch")
    theirs = to_torch(model)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(arrays[name], value.numpy())
    again = from_torch(arrays, arch=model)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(again(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    assert set(io.read_arrays(path, layout=None)) == set(arrays)


def test_read_arrays_still_reads_files_in_its_own_layout_or_none(tmp_path):
    model = square_model()
    io.save_model(tmp_path / "m", model)
    arrays = io.read_arrays(tmp_path / "m" / "model.safetensors")
    for name, p in model.named_state():
        np.testing.assert_array_equal(arrays[name], p.numpy())
    plain = {"step": np.arange(3.0)}  # an optimizer's buffers: no layout metadata at all
    io.write_arrays(tmp_path / "plain.safetensors", plain)
    np.testing.assert_array_equal(io.read_arrays(tmp_path / "plain.safetensors")["step"],
                                  plain["step"])  # fmt: skip
    with pytest.raises(ValueError, match="read_arrays: layout"):
        io.read_arrays(tmp_path / "plain.safetensors", layout="pytorch")


def test_a_layout_refusal_quotes_what_the_file_says(tmp_path):
    """A file marked only ``format: pt`` was refused as "(metadata weight_layout=torch)",
    a key it does not have."""
    path = tmp_path / "theirs.safetensors"
    save_file({"0.weight": np.ones((3, 3), np.float32)}, path, metadata={"format": "pt"})
    with pytest.raises(ModelFileError) as caught:
        io.check_layout(path, io.CHAINRULE_LAYOUT)
    message = str(caught.value)
    assert "metadata format=pt" in message and "weight_layout=" not in message
    marked = tmp_path / "marked.safetensors"
    save_file({"0.weight": np.ones((3, 3), np.float32)}, marked,
              metadata={"format": "pt", "weight_layout": "torch"})  # fmt: skip
    with pytest.raises(ModelFileError, match="metadata weight_layout=torch"):
        io.check_layout(marked, io.CHAINRULE_LAYOUT)


# -- a PyTorch module where a chainrule model is expected -----------------------------------------


def refusals(tmp_path):
    return {
        "to_torch": lambda net: to_torch(net),
        "to_onnx": lambda net: to_onnx(net, tmp_path / "net.onnx"),
        "save_torch": lambda net: save_torch(net, tmp_path / "net.safetensors"),
        "save_model": lambda net: io.save_model(tmp_path / "model", net),
    }


@pytest.mark.parametrize("function", ["to_torch", "to_onnx", "save_torch", "save_model"])
def test_a_pytorch_module_is_named_with_the_conversion_to_make(tmp_path, torch, function):
    """It was "layer 0 is Sequential, which has no counterpart" (or an AttributeError from
    save_model): the message now says it is a PyTorch module and names from_torch."""

    class Mine(torch.nn.Module):  # a module of the user's, defined outside torch
        def forward(self, x):
            return x

    for net in (torch.nn.Sequential(torch.nn.Linear(3, 3)), Mine()):
        with pytest.raises(ConversionError) as caught:
            refusals(tmp_path)[function](net)
        message = str(caught.value)
        assert message.startswith(f"{function}: ")
        assert "PyTorch module" in message and type(net).__name__ in message
        assert "from_torch" in message
        assert list(tmp_path.iterdir()) == []  # nothing written


# -- arch as a list --------------------------------------------------------------------------------


def test_an_arch_list_is_the_spec_it_lists(torch):
    """arch=[4, 3, 2] was split as the string "[4, 3, 2]" and refused with a confusing error."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2))
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    for arch in ([4, 3, 2], (4, 3, 2), [np.int64(4), 3, "logistic", 2]):
        model = from_torch(net.state_dict(), arch=arch)
        np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    relu = build_arch([4, 8, "relu", 2])
    assert [type(layer).__name__ for layer in relu] == ["Linear", "ReLU", "Linear"]
    assert relu.config() == build_arch("4,8,relu,2").config()


@pytest.mark.parametrize("arch", [[4, 3.5, 2], [4, True, 2], [4, None, 2], 432])
def test_an_arch_of_another_kind_is_refused_by_name(arch):
    with pytest.raises(UserError, match=r"^arch"):
        build_arch(arch)


# -- load_torch checks what load_model checks ------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_load_torch_refuses_weights_that_are_not_finite(tmp_path, bad):
    """load_model refuses them (a diverged or damaged model); load_torch loaded them."""
    model = nn.mlp([2, 3, 1], output="logistic", rng=0)
    path = save_torch(model, tmp_path / "net.safetensors")
    arrays = load_file(path)
    arrays["2.weight"][0, 1] = bad
    save_file(arrays, path, metadata=io.read_metadata(path))
    with pytest.raises(ModelFileError, match=r"'2.weight' holds NaN or infinite") as caught:
        load_torch(path)
    assert str(caught.value).startswith(f"{path}: ")


# -- the nobias hint -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, layers",
    [("4,3,2", [(4, 3, True), (3, 2, False)]),
     ("4,3,5,2", [(4, 3, True), (3, 5, False), (5, 2, True)]),
     ("4,3,tanh,5,relu,2", [(4, 3, False), (3, 5, True), (5, 2, False)])],
)  # fmt: skip
def test_the_nobias_hint_is_a_spec_that_loads_the_state_dict(spec, layers, torch):
    """The hint put nobias after "n_in,n_out", so for a layer after the first it named another
    layer ('3,2,nobias,...' reads as a first layer 3 -> 2). Taken as written, the hinted spec
    (with the units put back) must load the state dict, and compute what PyTorch computes."""
    torch.manual_seed(0)
    linears = [torch.nn.Linear(n_in, n_out, bias=bias) for n_in, n_out, bias in layers]
    units = {"4,3,tanh,5,relu,2": [torch.nn.Tanh(), torch.nn.ReLU()]}.get(
        spec, [torch.nn.Sigmoid()] * (len(layers) - 1)
    )
    net = torch.nn.Sequential(*[m for pair in zip(linears, units + [None]) for m in pair if m])
    state = net.state_dict()
    for _ in layers:  # one missing bias at a time, the hint followed each time
        try:
            model = from_torch(state, arch=spec)
            break
        except ModelFileError as error:
            hinted = re.search(r"\('([^']*)', with your unit names", str(error))
            assert hinted, str(error)
            spec = with_units(hinted.group(1), spec)
    else:
        model = from_torch(state, arch=spec)
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def with_units(hinted, spec):
    """The hinted spec (sizes and nobias marks) with the unit names of ``spec`` put back after
    their sizes, as the hint says to."""
    units, size_index = {}, -1
    for token in spec.split(","):
        if token.isdigit():
            size_index += 1
        elif token != "nobias":
            units[size_index] = token
    tokens, size_index = [], -1
    for token in hinted.split(","):
        if token.isdigit():
            if size_index in units:
                tokens.append(units[size_index])
            size_index += 1
        tokens.append(token)
    if size_index in units:
        tokens.append(units[size_index])
    return ",".join(tokens)


def test_without_torch_a_chainrule_model_still_saves(tmp_path, monkeypatch):
    """The check for a PyTorch module imports nothing: without torch a chainrule model saves."""
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    model = nn.mlp([2, 2, 1], output="logistic", rng=0)
    cr.io.save_model(tmp_path / "m", model)
    save_torch(model, tmp_path / "net.safetensors")
    assert (tmp_path / "m" / "model.json").exists() and (tmp_path / "net.safetensors").exists()
