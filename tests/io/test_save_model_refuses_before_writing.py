"""save_model refuses, before it writes, what would replace a good model (or someone else's
files) with one no reader takes: a ``loss`` that is neither a loss name nor a chainrule loss
object, and a directory whose model.json or model.safetensors is not a chainrule model's.

The oracle for "intact" is the directory's bytes and the saved model's outputs against the
closed form of its one Linear layer, ``x @ W + b``, computed from the model that was saved.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError
from chainrule.nn.losses import LOSSES

X = np.random.default_rng(0).normal(size=(5, 2))


def good_model():
    return nn.Sequential(nn.Linear(2, 2, rng=0, dtype="float64"))


def closed_form(model):
    layer = model[0]
    return X @ layer.weight.numpy() + layer.bias.numpy()


def directory_bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def assert_model_intact(directory, before, expected):
    assert directory_bytes(directory) == before
    loaded, info = io.load_model(directory)
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-12)
    assert io.saved_loss(info, directory).config() == nn.MSE().config()


def _torch_mse():
    torch = pytest.importorskip("torch")
    return torch.nn.MSELoss()


# (what is given, a word of it the message must quote)
NOT_LOSSES = [
    pytest.param(_torch_mse, "MSELoss", id="a PyTorch loss"),
    pytest.param(lambda: 42, "int", id="a number"),
    pytest.param(lambda: lambda y, t: y, "function", id="a function"),
    pytest.param(lambda: object(), "object", id="an object"),
]


@pytest.mark.parametrize("make, named", NOT_LOSSES)
def test_a_loss_that_no_reader_rebuilds_is_refused_and_the_model_stays(tmp_path, make, named):
    """A PyTorch MSELoss was stored as "MSELoss" (42 as "int"), over a good model: predict and
    saved_to_onnx then refused the model ("cannot rebuild the loss")."""
    model = good_model()
    path = io.save_model(tmp_path / "m", model, loss="mse")
    before, expected = directory_bytes(path), closed_form(model)
    with pytest.raises(ConfigError) as caught:
        io.save_model(path, good_model(), loss=make())
    message = str(caught.value)
    assert message.startswith("save_model: loss must be ") and named in message
    assert all(repr(name) in message for name in LOSSES)  # the accepted names
    assert all(f"{cls.__name__}()" in message for cls in LOSSES.values())  # and objects
    assert_model_intact(path, before, expected)


def test_a_loss_class_given_for_an_instance_is_refused_saying_to_make_one(tmp_path):
    """``loss=nn.CrossEntropy`` raised ``TypeError: Loss.config() missing 1 required positional
    argument: 'self'``."""
    model = good_model()
    path = io.save_model(tmp_path / "m", model, loss="mse")
    before, expected = directory_bytes(path), closed_form(model)
    with pytest.raises(ConfigError, match=r"^save_model: loss is the class CrossEntropy.*"
                                          r"loss=CrossEntropy\(\)"):  # fmt: skip
        io.save_model(path, good_model(), loss=nn.CrossEntropy)
    assert_model_intact(path, before, expected)
    assert not (tmp_path / "new").exists()
    with pytest.raises(ConfigError):
        io.save_model(tmp_path / "new", good_model(), loss=nn.CrossEntropy)
    assert not (tmp_path / "new").exists()


# -- another library's model.json or model.safetensors ---------------------------------------


def _hf_json(directory):
    (directory / "model.json").write_text(json.dumps({"my": "hf config"}))


def _not_json(directory):
    (directory / "model.json").write_text("architectures: [Bert]\n")


def _pytorch_weights(directory):
    """What PyTorch writes (safetensors.torch.save_file marks it format=pt)."""
    save_file({"weight": np.ones((2, 2), np.float32)}, directory / "model.safetensors",
              metadata={"format": "pt"})  # fmt: skip


def _unmarked_weights(directory):
    save_file({"weight": np.ones((2, 2), np.float32)}, directory / "model.safetensors")


@pytest.mark.parametrize(
    "place, name",
    [(_hf_json, "model.json"), (_not_json, "model.json"),
     (_pytorch_weights, "model.safetensors"), (_unmarked_weights, "model.safetensors")],
)  # fmt: skip
def test_another_librarys_model_file_is_refused_by_name_and_kept(tmp_path, place, name):
    """save_model replaced a Hugging Face ``model.json`` (``{"my": "hf config"}``) without a
    word; the directory stays as it was, the refusal names the file."""
    directory = tmp_path / "theirs"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    place(directory)
    before = directory_bytes(directory)
    with pytest.raises(ModelFileError) as caught:
        io.save_model(directory, good_model(), loss="mse")
    message = str(caught.value)
    assert message.startswith(f"{directory / name}: is not a chainrule model's file")
    assert "nothing was written" in message
    assert directory_bytes(directory) == before


def test_a_torch_layout_file_of_chainrules_own_is_not_replaced(tmp_path):
    """save_torch's file named model.safetensors is a file of another layout, not a model's."""
    from chainrule.interop import save_torch

    directory = tmp_path / "d"
    directory.mkdir()
    save_torch(good_model(), directory / "model.safetensors")
    before = directory_bytes(directory)
    with pytest.raises(ModelFileError, match=r"model\.safetensors: is not a chainrule model's"):
        io.save_model(directory, good_model())
    assert directory_bytes(directory) == before


def _damage_json(directory):
    """A chainrule model.json with a field no loader takes: still chainrule's, replaced."""
    description = json.loads((directory / "model.json").read_text())
    description["version"] = "one"
    (directory / "model.json").write_text(json.dumps(description))


def _weights_before_the_layout_key(directory):
    """A weights file of chainrule's from before weight_layout: format=chainrule-model only."""
    path = directory / "model.safetensors"
    save_file(load_file(path), path, metadata={"format": io.MODEL_FORMAT})


@pytest.mark.parametrize("change", [None, _damage_json, _weights_before_the_layout_key])
def test_a_chainrule_model_there_is_still_replaced(tmp_path, change):
    directory = io.save_model(tmp_path / "m", nn.Sequential(nn.Linear(2, 3, rng=1)))
    if change is not None:
        change(directory)
    model = good_model()
    io.save_model(directory, model, loss="mse")
    assert sorted(p.name for p in directory.iterdir()) == ["model.json", "model.safetensors"]
    loaded, _ = io.load_model(directory)
    np.testing.assert_allclose(loaded(X).numpy(), closed_form(model), rtol=1e-12)
