"""A PyTorch network with a tied Linear, saved by safetensors' ``save_model``, loads tied.

``safetensors.torch.save_model(Sequential(lin, Sigmoid(), lin, Sigmoid()), path)`` writes the
tied tensors once (``0.weight``, ``0.bias``) and records each dropped name in the file's metadata
(``{"2.weight": "0.weight", "2.bias": "0.bias"}``), as its ``load_model`` reads it back.
load_torch read the file as a one-layer network: it suggested ``--arch 3,3`` (explained as
another model, every check passing) and refused ``--arch 3,3,3`` ("the state dict has 1 Linear
layer(s)"). It now reads the ties: the file's layers are counted with them, and the model is
built with the one parameter in both places, as from_torch converts the network itself; the
explainer then refuses it with its own message. The oracle is PyTorch's tied network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from cli_run import assert_user_error  # noqa: E402

from chainrule import nn  # noqa: E402
from chainrule.errors import ModelFileError  # noqa: E402
from chainrule.interop import from_torch, load_torch  # noqa: E402


def tied_torch_file(torch, path, seed=0):
    """A tied torch Sequential(lin, Sigmoid, lin, Sigmoid) in float64, saved by save_model."""
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(seed)
    lin = torch.nn.Linear(3, 3, dtype=torch.float64)
    net = torch.nn.Sequential(lin, torch.nn.Sigmoid(), lin, torch.nn.Sigmoid())
    safetensors_torch.save_model(net, str(path))
    return net


def tied_numpy_file(path, seed=0):
    """The same file written without PyTorch: one tensor per tie, the dropped names in the
    metadata as save_model records them. Returns the weight (PyTorch's layout) and bias."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    weight, bias = rng.normal(size=(3, 3)), rng.normal(size=3)
    save_file({"0.weight": weight, "0.bias": bias}, str(path),
              metadata={"2.weight": "0.weight", "2.bias": "0.bias"})  # fmt: skip
    return weight, bias


def test_the_file_records_the_tie_as_this_test_reads_it(torch, tmp_path):
    from safetensors import safe_open

    tied_torch_file(torch, tmp_path / "tied.safetensors")
    with safe_open(str(tmp_path / "tied.safetensors"), "np") as f:
        assert sorted(f.keys()) == ["0.bias", "0.weight"]
        assert f.metadata() == {"2.weight": "0.weight", "2.bias": "0.bias"}


def test_it_loads_tied_and_computes_torchs_numbers_and_gradients(torch, tmp_path):
    path = tmp_path / "tied.safetensors"
    net = tied_torch_file(torch, path, seed=4)
    model = load_torch(path, "3,3,3,logistic")
    assert model[0].weight is model[2].weight and model[0].bias is model[2].bias
    assert len(list(model.parameters())) == 2
    x = np.random.default_rng(1).normal(size=(5, 3))
    theirs = net(torch.tensor(x))
    np.testing.assert_allclose(model(x).numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    # the tie's gradient is the sum over both uses, as PyTorch's
    theirs.square().sum().backward()
    model.zero_grad()
    (model(x) ** 2).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), net[0].weight.grad.numpy().T,
                               rtol=1e-10, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(model[0].bias.grad.numpy(), net[0].bias.grad.numpy(),
                               rtol=1e-10, atol=1e-12)  # fmt: skip
    # the same model from_torch makes of the network itself
    converted = from_torch(net)
    assert converted[0].weight is converted[2].weight
    np.testing.assert_array_equal(converted(x).numpy(), model(x).numpy())


def test_without_torch_the_tie_loads_from_the_metadata(tmp_path):
    path = tmp_path / "tied.safetensors"
    weight, bias = tied_numpy_file(path)
    model = load_torch(path, "3,3,3,logistic")
    assert model[0].weight is model[2].weight and model[0].bias is model[2].bias
    x = np.random.default_rng(2).normal(size=(4, 3))
    layer = 1 / (1 + np.exp(-(x @ weight.T + bias)))
    expected = 1 / (1 + np.exp(-(layer @ weight.T + bias)))
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12)


def test_the_suggested_architecture_counts_the_tied_layer(tmp_path):
    path = tmp_path / "tied.safetensors"
    tied_numpy_file(path)
    with pytest.raises(ModelFileError, match="give the architecture") as caught:
        load_torch(path)
    assert "here 3,3,3 " in str(caught.value), caught.value
    assert "here 3,3 " not in str(caught.value)


def test_a_wrong_architecture_is_told_with_the_tied_layer_counted(tmp_path):
    path = tmp_path / "tied.safetensors"
    tied_numpy_file(path)
    with pytest.raises(ModelFileError, match=r"2 Linear layer\(s\) \(0, 2\)"):
        load_torch(path, "3,3")


def test_a_tied_weight_alone_stays_tied_and_the_biases_apart(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    state = {"0.weight": rng.normal(size=(3, 3)), "0.bias": rng.normal(size=3),
             "2.bias": rng.normal(size=3)}  # fmt: skip
    save_file(state, str(tmp_path / "w.safetensors"), metadata={"2.weight": "0.weight"})
    model = load_torch(tmp_path / "w.safetensors", "3,3,3")
    assert model[0].weight is model[2].weight
    assert model[0].bias is not model[2].bias
    np.testing.assert_array_equal(model[2].bias.numpy(), state["2.bias"])


def test_explain_refuses_the_tied_file_with_its_shared_weights_message(capsys, tmp_path):
    path = tmp_path / "tied.safetensors"
    tied_numpy_file(path)
    line = assert_user_error(
        capsys, "explain", "--torch-model", path, "--arch", "3,3,3", "--input", "0.1,0.2,0.3",
        "--target", "0.5,0.5,0.5", match="2.weight is the same tensor as 0.weight",
    )  # fmt: skip
    assert "tied" in line


def test_explain_suggests_the_tied_files_own_layers(capsys, tmp_path):
    path = tmp_path / "tied.safetensors"
    tied_numpy_file(path)
    line = assert_user_error(
        capsys, "explain", "--torch-model", path, "--input", "0.1,0.2,0.3",
        "--target", "0.5,0.5,0.5", match="here 3,3,3 ",
    )  # fmt: skip
    assert "2.weight" in line  # the tie is named, so the suggestion is not a mystery


def test_other_metadata_is_not_read_as_a_tie(tmp_path):
    """A metadata value that is no tensor of the file ("format": "pt", save_torch's own keys)
    ties nothing: an untied file loads as before, and save_torch's round trip is unchanged."""
    from safetensors.numpy import save_file

    from chainrule.interop import save_torch

    rng = np.random.default_rng(5)
    state = {"0.weight": rng.normal(size=(2, 3)), "0.bias": rng.normal(size=2)}
    save_file(state, str(tmp_path / "p.safetensors"), metadata={"format": "pt"})
    model = load_torch(tmp_path / "p.safetensors", "3,2")
    np.testing.assert_array_equal(model[0].weight.numpy(), state["0.weight"].T)
    net = nn.Sequential(nn.Linear(3, 2, dtype="float64", rng=0), nn.Logistic())
    again = load_torch(save_torch(net, tmp_path / "s.safetensors"))
    assert [name for name, _ in again.named_parameters()] == ["0.weight", "0.bias"]
    x = rng.normal(size=(2, 3))
    np.testing.assert_array_equal(again(x).numpy(), net(x).numpy())


def test_a_note_of_ones_own_naming_a_tensor_is_not_a_tie(tmp_path):
    """``metadata={"head": "2.weight", "best_layer": "0.weight"}``, notes of the user's own whose
    values name tensors of the file: the review found them read as ties ("head is tied to
    2.weight") and the file refused. A tie's key is a tensor name of the kept one's kind. The
    oracle: the file's own arrays, as loaded without the notes."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(6)
    state = {"0.weight": rng.normal(size=(3, 3)), "0.bias": rng.normal(size=3),
             "2.weight": rng.normal(size=(2, 3)), "2.bias": rng.normal(size=2)}  # fmt: skip
    notes = {"format": "pt", "head": "2.weight", "best_layer": "0.weight"}
    save_file(state, str(tmp_path / "n.safetensors"), metadata=notes)
    model = load_torch(tmp_path / "n.safetensors", "3,3,tanh,2")
    for layer, name in ((0, "0"), (2, "2")):
        np.testing.assert_array_equal(model[layer].weight.numpy(), state[f"{name}.weight"].T)
    assert len(list(model.parameters())) == 4
