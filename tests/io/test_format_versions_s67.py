"""Format versions (s67): model.json's version was never bumped while fields were added that
an older reader passes over and computes other numbers without (``frozen``, ``loss_reads``), so
a file written now carries version 2, which every reader of version 1 refuses. A reader refuses
a newer version in one line naming the file, its version and the newest it reads (the message
named neither the newest nor, where the newer file had changed a field's form, the version:
the schema refused the field first), and reads every older version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from io_file_edits import one_epoch

import chainrule as cr
from chainrule import io, nn
from chainrule.io import MODEL_JSON, TRAINER_JSON, ModelFileError

pytest.importorskip("pydantic")


def set_fields(path: Path, **fields) -> None:
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def refusal(call, arg) -> str:
    with pytest.raises(ModelFileError) as refused:
        call(arg)
    message = str(refused.value)
    assert "\n" not in message
    return message


def saved(tmp_path: Path) -> Path:
    """A model directory: a 2-3-1 logistic network, its loss by name."""
    io.save_model(tmp_path / "m", nn.mlp([2, 3, 1], output="logistic", rng=0),
                  loss="binary-cross-entropy")  # fmt: skip
    return tmp_path / "m"


def test_a_model_file_one_version_past_this_chainrules_is_refused_naming_both(tmp_path):
    path = saved(tmp_path) / MODEL_JSON
    newer = io.FORMAT_VERSION + 1
    set_fields(path, version=newer)
    for call, arg in ((io.read_model_description, path), (io.load_model, path.parent)):
        message = refusal(call, arg)
        assert message.startswith(f"{path}: written by a newer chainrule (format version {newer})")
        assert f"reads format versions up to {io.FORMAT_VERSION}" in message, message
        assert f"chainrule {cr.__version__}" in message


def test_a_newer_model_file_is_refused_by_its_version_not_by_a_field_it_changed(tmp_path):
    # a newer format may give a field another form: its reader is told the version, which
    # is what is wrong, not the field (a 'frozen' of "all" was refused as the field)
    path = saved(tmp_path) / MODEL_JSON
    set_fields(path, version=io.FORMAT_VERSION + 1, frozen="all")
    message = refusal(io.load_model, path.parent)
    assert f"(format version {io.FORMAT_VERSION + 1})" in message and "field" not in message


def test_a_model_file_of_version_1_still_loads_and_a_save_writes_version_2_or_later(tmp_path):
    model = nn.mlp([2, 3, 1], output="logistic", rng=0)
    model[0].bias.requires_grad = False
    io.save_model(tmp_path / "m", model, loss="binary-cross-entropy", class_names=["no", "yes"])
    path = tmp_path / "m" / MODEL_JSON
    written = json.loads(path.read_text())
    # the bump: a reader of version 1 may predate 'frozen' and 'loss_reads' and pass over them
    assert written["version"] == io.FORMAT_VERSION >= 2
    # the file as the first version wrote it: the loss by its name, no frozen, loss_reads or
    # digest; and a version-1 file of later fields (frozen kept)
    first = {
        k: v for k, v in written.items() if k not in ("frozen", "loss_reads", "weights_sha256")
    }
    x = np.array([[0.2, -1.0], [1.5, 0.3]])
    for description, frozen in (({**first, "loss": "binary-cross-entropy"}, set()),
                                ({**written, "version": 1}, {"0.bias"})):  # fmt: skip
        path.write_text(json.dumps({**description, "version": 1}))
        loaded, info = io.load_model(path.parent)
        assert np.array_equal(loaded(cr.tensor(x)).data, model(cr.tensor(x)).data)
        assert {n for n, p in loaded.named_parameters() if not p.requires_grad} == frozen
        assert info["class_names"] == ["no", "yes"]
        # saved again, it is the current version
        io.save_model(tmp_path / "again", loaded, loss=info["loss"], class_names=["no", "yes"])
        again = json.loads((tmp_path / "again" / MODEL_JSON).read_text())
        assert again["version"] == io.FORMAT_VERSION


def test_a_checkpoint_one_version_past_this_chainrules_is_refused_naming_both(tmp_path):
    from chainrule.train.trainer import CHECKPOINT_VERSION

    path = one_epoch(tmp_path) / TRAINER_JSON
    newer = CHECKPOINT_VERSION + 1
    set_fields(path, version=newer)
    message = refusal(io.read_trainer_state, path)
    assert message.startswith(f"{path}: written by a newer chainrule (checkpoint version {newer})")
    assert f"reads checkpoint versions up to {CHECKPOINT_VERSION}" in message, message
    # and one without a version (written before the field) is version 1, and reads
    set_fields(path, version=1)
    data = json.loads(path.read_text())
    del data["version"]
    path.write_text(json.dumps(data))
    assert io.read_trainer_state(path)["epoch"] == 1
