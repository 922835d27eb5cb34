"""save_model writes nothing that load_model would refuse: a parameter that the architecture
rebuilds in another shape or dtype is refused before any file is written.

A bias of 3 values set on a bias-free Linear of 2 units, or a float64 Parameter set on a float32
model, was saved, and load_model then refused the file ("parameter '0.bias' has shape (3,) but
the architecture needs (2,)"). The oracle: load_model itself, on what save_model writes.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ModelFileError


def _bias_free():
    return nn.Sequential(nn.Linear(2, 2, bias=False, dtype="float32", rng=0))


def _wrong_shape():
    model = _bias_free()
    model[0].bias = nn.Parameter(np.ones(3, dtype=np.float32))
    return model


def _wrong_dtype():
    model = nn.mlp([2, 3, 1], dtype="float32", rng=0)
    model[0].bias = nn.Parameter(np.ones(3))  # float64
    return model


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_wrong_shape, r"'0.bias' has shape \(3,\) but the architecture needs \(2,\)"),
        (_wrong_dtype, r"'0.bias' is stored as float64 but model.json describes a float32"),
    ],
)
def test_weights_the_architecture_does_not_rebuild_are_refused(tmp_path, make, says) -> None:
    with pytest.raises(ModelFileError, match=rf"cannot save this model, as load_model would "
                       rf"refuse its file: parameter {says}"):  # fmt: skip
        io.save_model(tmp_path / "m", make())
    assert not (tmp_path / "m").exists()


def test_a_checkpoint_of_them_is_refused_too(tmp_path) -> None:
    model = _wrong_dtype()
    trainer = cr.train.Trainer(model, nn.SquaredError(), cr.optim.SGD(model.parameters(), lr=0.1),
                               progress=False)  # fmt: skip
    with pytest.raises(ModelFileError, match=r"cannot save this model"):
        io.save_checkpoint(tmp_path / "ck", trainer)
    assert not any((tmp_path / "ck").glob("epoch-*"))


def test_a_bias_set_in_the_models_shape_and_dtype_saves_and_loads(tmp_path) -> None:
    model = _bias_free()
    model[0].bias = nn.Parameter(np.array([0.5, -1.0], dtype=np.float32))
    io.save_model(tmp_path / "m", model)
    loaded, _ = io.load_model(tmp_path / "m")
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
