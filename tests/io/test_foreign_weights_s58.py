"""A weights file no chainrule call wrote, put over a saved model's (QA, s58).

PyTorch's ``safetensors.torch.save_file(net.state_dict(), ".../model.safetensors")`` writes no
metadata and (out, in) weights: ``load_model`` took it as chainrule's (in, out) layout, and a
model of square layers loaded transposed and predicted wrong numbers without a word, though
model.json records the digest of the weights saved with it. It is refused, naming both ways
on; a file without metadata beside a description that records no digest loads as documented.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

import chainrule as cr
from chainrule import nn
from chainrule.errors import ModelFileError

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def _square_model():
    return nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 3, rng=1))


def _torch_layout(model) -> dict[str, np.ndarray]:
    """The model's weights as PyTorch's state_dict holds them: each weight (out, in)."""
    return {
        name: np.ascontiguousarray(array.T if name.endswith("weight") else array)
        for name, array in cr.io.model_weights(model).items()
    }


def test_a_pytorch_layout_file_over_a_saved_model_is_refused(tmp_path):
    model = _square_model()
    cr.io.save_model(tmp_path / "m", model)
    save_file(_torch_layout(model), str(tmp_path / "m" / "model.safetensors"))
    with pytest.raises(ModelFileError, match=r"model.safetensors: was not written with model.json"):
        cr.io.load_model(tmp_path / "m")


def test_the_command_line_refuses_it_in_one_line(tmp_path, capsys):
    from chainrule.cli import main

    model = _square_model()
    cr.io.save_model(tmp_path / "m", model)
    save_file(_torch_layout(model), str(tmp_path / "m" / "model.safetensors"))
    (tmp_path / "x.csv").write_text("1,2,3\n")
    assert main(["predict", str(tmp_path / "m"), "-i", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "load_torch" in err and "weights_sha256" in err


def test_deleting_the_digest_loads_a_chainrule_layout_file_as_the_message_says(tmp_path):
    model = _square_model()
    cr.io.save_model(tmp_path / "m", model)
    save_file(cr.io.model_weights(model), str(tmp_path / "m" / "model.safetensors"))
    description = json.loads((tmp_path / "m" / "model.json").read_text())
    del description["weights_sha256"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(description))
    loaded, _ = cr.io.load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded(X).numpy(), model(X).numpy(), rtol=1e-15)
