"""``io.load_model`` gives the loss back as its configuration (``{'type': 'cross-entropy'}``),
and ``io.save_model(loss=...)`` refused that dict: saving a loaded model again needed
``info["loss"]["type"]``, and lost the loss's options (a mean-reduced squared error saved as
a summed one). save_model takes what load_model gives, checked by model.json's schema; and a
run's environment record in a file is checked by that schema too (a file without one loads).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from io_file_edits import one_epoch, replace_once

from chainrule import data, io, nn
from chainrule.errors import ConfigError, ModelFileError
from chainrule.io import MODEL_JSON, TRAINER_JSON

LOSSES = [
    pytest.param(lambda: nn.CrossEntropy(), 3, id="cross-entropy"),
    pytest.param(lambda: nn.SquaredError(reduction="mean"), 2, id="squared-error-mean"),
    pytest.param(lambda: nn.MSE(), 2, id="mse"),
    pytest.param(lambda: nn.BinaryCrossEntropy(), 1, id="binary-cross-entropy"),
    pytest.param(lambda: nn.MarginSquaredError(on=0.8, off=0.2), 2, id="margin"),
]


def _model(outputs: int):
    return nn.mlp([4, 5, outputs], rng=0, dtype=np.float64)


@pytest.mark.parametrize("make_loss, outputs", LOSSES)
def test_a_loaded_model_saves_again_as_it_was(tmp_path, make_loss, outputs):
    X = np.random.default_rng(0).normal(size=(20, 4))
    names = [f"c{k}" for k in range(outputs)] if outputs > 1 else None
    io.save_model(tmp_path / "a", _model(outputs), loss=make_loss(),
                  standardizer=data.Standardizer().fit(X), class_names=names,
                  meta={"note": "first"})  # fmt: skip
    model, info = io.load_model(tmp_path / "a")
    assert isinstance(info["loss"], dict)  # the form load_model gives
    io.save_model(tmp_path / "b", model, loss=info["loss"], standardizer=info["standardizer"],
                  class_names=info["class_names"], meta=info["meta"])  # fmt: skip
    again, info_again = io.load_model(tmp_path / "b")
    assert info_again == info
    assert io.saved_loss(info_again, tmp_path / "b").config() == make_loss().config()
    for (name, p), (_, q) in zip(model.named_parameters(), again.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


@pytest.mark.parametrize(
    "loss, match",
    [
        ({"reduction": "sum"}, "needs its 'type'"),
        ({"type": 3}, "'type' must be the loss's name"),
        ({"type": "nope"}, "unknown loss 'nope'"),
        ({"type": "cross-entropy", "bogus": 1}, "takes no arguments"),
    ],
)
def test_a_wrong_loss_configuration_is_refused_and_nothing_written(tmp_path, loss, match):
    with pytest.raises(ConfigError, match=match) as refused:
        io.save_model(tmp_path / "m", _model(3), loss=loss)
    message = str(refused.value)
    assert message.startswith("save_model: loss {") and len(message.splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_model_json_with_a_loss_configuration_without_type_is_refused(tmp_path):
    io.save_model(tmp_path / "m", _model(3), loss="cross-entropy")
    replace_once(tmp_path / "m" / MODEL_JSON, '"type": "cross-entropy"', '"reduction": "sum"')
    with pytest.raises(ModelFileError, match="field 'loss': a loss configuration needs its"):
        io.load_model(tmp_path / "m")


# -- the environment record in model.json and trainer.json ---------------------------------------

RECORD = {
    "chainrule": "0.1.0",
    "python": "3.11.7",
    "numpy": "2.4.6",
    "platform": "linux-x86_64",
    "blas": {
        "name": "scipy-openblas",
        "version": "0.3.31",
        "architecture": "Haswell",
        "threads": 4,
    },
    "settings": {"CHAINRULE_AXPY": "numpy", "CHAINRULE_MALLOC": None},
    "ranks": 2,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return one_epoch(tmp_path_factory.mktemp("saved"))


@pytest.fixture
def epoch_dir(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / saved.name))


def _with_environment(path: Path, environment: dict) -> None:
    document = json.loads(path.read_text())
    document.setdefault("meta", {})["environment"] = environment
    path.write_text(json.dumps(document))


@pytest.mark.parametrize("name", [MODEL_JSON, TRAINER_JSON])
@pytest.mark.parametrize(
    "change, field",
    [
        ({"numpy": 2.4}, "meta.environment.numpy"),
        ({"ranks": 0}, "meta.environment.ranks"),
        ({"blas": {"threads": "4"}}, "meta.environment.blas.threads"),
        ({"settings": {"CHAINRULE_AXPY": 1}}, "meta.environment.settings.CHAINRULE_AXPY"),
        ({"python": None}, "meta.environment.python"),
    ],
)
def test_a_wrong_environment_record_is_refused_naming_the_field(epoch_dir, name, change, field):
    _with_environment(epoch_dir / name, RECORD)  # a whole record loads, as it was written
    checkpoint = io.load_checkpoint(epoch_dir)
    assert (
        checkpoint["state" if name == TRAINER_JSON else "model_info"]["meta"]["environment"]
        == RECORD
    )
    _with_environment(epoch_dir / name, {**RECORD, **change})
    with pytest.raises(ModelFileError) as refused:
        io.load_checkpoint(epoch_dir)
    message = str(refused.value)
    assert message.startswith(f"{epoch_dir / name}: field '{field}': "), message
    assert len(message.splitlines()) == 1


def test_save_model_refuses_a_wrong_environment_record_in_meta(tmp_path):
    with pytest.raises(ModelFileError, match="field 'meta.environment.ranks'"):
        io.save_model(tmp_path / "m", _model(3), meta={"environment": {**RECORD, "ranks": -1}})
    assert not (tmp_path / "m").exists()
