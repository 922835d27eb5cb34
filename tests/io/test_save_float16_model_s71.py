"""A model whose parameters are all float16 (``p.data = p.data.astype(np.float16)``, which
``.data`` takes as PyTorch's does) was refused by ``save_model`` as "<path>: field 'dtype':
Input should be 'float32' or 'float64'", which reads as a corrupt file: the model
description's schema refused it before the parameters' own check could name them. The check
now runs first and names a parameter, its dtype and the fix, ``model.to('float32')``; the
Trainer's checkpoints are refused alike, when it is made."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io, nn, optim
from chainrule.errors import ModelFileError
from chainrule.train import Trainer


def float16_model():
    model = nn.mlp([3, 4, 2], activation="tanh", rng=0)
    for p in model.parameters():
        p.data = p.data.astype(np.float16)
    return model


FIX = r"parameter '0.weight' is float16, as is every other.*model\.to\('float32'\)"


def test_save_model_names_the_float16_parameter_and_the_fix(tmp_path):
    model = float16_model()
    with pytest.raises(ModelFileError, match=FIX) as caught:
        io.save_model(tmp_path / "m", model)
    assert "field 'dtype'" not in str(caught.value)
    assert not (tmp_path / "m").exists()
    model.to("float32")  # the fix named saves it
    io.save_model(tmp_path / "m", model)
    assert {str(p.dtype) for p in io.load_model(tmp_path / "m")[0].parameters()} == {"float32"}


def test_a_trainer_with_checkpoints_refuses_it_alike(tmp_path):
    model = float16_model()
    with pytest.raises(ModelFileError, match=FIX):
        Trainer(model, nn.loss_from_name("mse"), optim.SGD(model, lr=0.1),
                checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip


def test_one_float16_layer_among_float32_ones_keeps_its_message(tmp_path):
    model = nn.mlp([3, 4, 2], activation="tanh", rng=0)
    model[2].weight.data = model[2].weight.data.astype(np.float16)
    with pytest.raises(ModelFileError, match=r"'2.weight' is float16 but the model's are float32"):
        io.save_model(tmp_path / "m", model)
