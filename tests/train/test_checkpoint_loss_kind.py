"""A Trainer whose loss is a plain Python function writes checkpoints every command can read.

Its model.json stored ``"loss": "function"`` (the loss's type name), which no reader can
rebuild: ``chainrule predict`` and ``export`` of the checkpoints, which need only the model,
failed with "cannot rebuild the loss (unknown loss 'function')". The loss is now null there
(no rebuildable loss), trainer.json's ``user_loss`` names the function, and what needs the loss
(a resume, explain, evaluate) says the run's loss was a function of the user's. The oracle
for the numbers: the trained model itself, in memory (a resumed run: an uninterrupted one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset
from chainrule.errors import ModelFileError
from chainrule.tensor import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402

ROWS = np.array([[0.1, 0.2], [-1.0, 0.5]])


def half_sse(y, t):
    """The lecture's E as a function of the user's: half the summed squared error."""
    return ((y - t) * (y - t)).sum() * 0.5


half_sse.reduction = "sum"  # how it combines cases, as chainrule's losses say it


def _data() -> Dataset:
    X = np.random.default_rng(0).normal(size=(8, 2))
    return Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")


def _trainer(checkpoint_dir, loss=half_sse) -> cr.train.Trainer:
    net = cr.nn.mlp([2, 3, 1], output="logistic", dtype="float64", rng=0)
    return cr.train.Trainer(net, loss, cr.optim.SGD(net, lr=0.5), progress=False,
                            checkpoint_dir=checkpoint_dir)  # fmt: skip


def _fitted(checkpoint_dir, epochs: int = 2) -> cr.train.Trainer:
    trainer = _trainer(checkpoint_dir)
    trainer.fit(_data(), epochs=epochs)
    return trainer


def test_the_checkpoint_stores_no_loss_and_names_the_function(tmp_path):
    _fitted(tmp_path / "ck")
    epoch = tmp_path / "ck" / "epoch-000002"
    assert json.loads((epoch / "model.json").read_text())["loss"] is None
    named = json.loads((epoch / "trainer.json").read_text())["user_loss"]
    assert named == f"the function {__name__}.half_sse"


def test_predict_of_the_checkpoints_gives_the_models_outputs(tmp_path, capsys):
    trainer = _fitted(tmp_path / "ck")
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n" + "\n".join(",".join(map(repr, row)) for row in ROWS.tolist()))
    code, out, err = run(capsys, "predict", tmp_path / "ck", "--input", rows, "--json")
    assert code == 0, err
    outputs = [p["outputs"] for p in json.loads(out)["predictions"]]
    expected = trainer.model(Tensor(ROWS)).data  # the checkpoint is the last epoch's model
    np.testing.assert_allclose(outputs, expected, rtol=1e-12)


@pytest.mark.parametrize("loss", ["function", "chainrule"])
def test_predict_of_a_checkpoint_with_a_damaged_trainer_json_reads_the_model(
    tmp_path, capsys, loss
):
    """predict needs only the model: a damaged trainer.json beside it stopped it (the file is
    read for the loss's name); a resume still says what is wrong with it."""
    trainer = _trainer(tmp_path / "ck", half_sse if loss == "function" else cr.nn.SquaredError())
    trainer.fit(_data(), epochs=2)
    (tmp_path / "ck" / "epoch-000002" / "trainer.json").write_text("{not json")
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n" + "\n".join(",".join(map(repr, row)) for row in ROWS.tolist()))
    code, out, err = run(capsys, "predict", tmp_path / "ck", "--input", rows, "--json")
    assert code == 0, err
    outputs = [p["outputs"] for p in json.loads(out)["predictions"]]
    np.testing.assert_allclose(outputs, trainer.model(Tensor(ROWS)).data, rtol=1e-12)
    with pytest.raises(ModelFileError, match=r"trainer.json"):
        _trainer(None).resume(tmp_path / "ck")


@pytest.mark.parametrize("format", ["onnx", "torch"])
def test_export_of_the_checkpoints_writes_the_model(tmp_path, capsys, format):
    if format == "onnx":
        pytest.importorskip("onnx")  # the [onnx] extra, which the light test extra leaves out
    _fitted(tmp_path / "ck")
    out = tmp_path / ("m.onnx" if format == "onnx" else "m.safetensors")
    code, _, err = run(capsys, "export", tmp_path / "ck", "--format", format, "--out", out)
    assert code == 0, err
    assert out.stat().st_size > 0


def test_a_resume_with_the_function_given_again_continues_the_run(tmp_path):
    """Epochs 1-2, then a new process's trainer with the same function trains epoch 3: the
    weights of one uninterrupted 3-epoch run, bit for bit."""
    _fitted(tmp_path / "ck")
    assert json.loads((tmp_path / "ck" / "epoch-000002" / "model.json").read_text())["loss"] is None
    resumed = _trainer(tmp_path / "ck")
    resumed.resume(tmp_path / "ck")
    resumed.fit(_data(), epochs=3)
    straight = _fitted(tmp_path / "straight", epochs=3)
    assert resumed.epoch == 3
    for (name, a), (_, b) in zip(resumed.model.state_dict().items(),
                                 straight.model.state_dict().items()):  # fmt: skip
        assert np.array_equal(a, b), name


def test_a_resume_with_a_chainrule_loss_names_the_runs_function(tmp_path):
    _fitted(tmp_path / "ck")
    other = _trainer(tmp_path / "ck", loss=cr.nn.SquaredError(reduction="sum"))
    with pytest.raises(ModelFileError, match="trainer.json: the checkpoint's run trained") as e:
        other.resume(tmp_path / "ck")
    assert f"the function {__name__}.half_sse" in str(e.value)
    assert "'squared-error'" in str(e.value)


def test_explain_and_evaluate_say_the_runs_loss_was_a_function(tmp_path, capsys):
    """explain needs a loss: it refused the checkpoint for "unknown loss 'function'"; with
    --loss it explains the case with that loss."""
    _fitted(tmp_path / "ck")
    named = f"a loss of its own, the function {__name__}.half_sse"
    line = assert_user_error(capsys, "explain", "--model", tmp_path / "ck", "--input", "0.1,0.2",
                             "--target", "1", match=named)  # fmt: skip
    assert "give --loss" in line
    assert_user_error(capsys, "evaluate", tmp_path / "ck", match=named)
    code, _, err = run(capsys, "explain", "--model", tmp_path / "ck", "--input", "0.1,0.2",
                       "--target", "1", "--loss", "squared-error")  # fmt: skip
    assert code == 0, err


def test_a_checkpoint_of_an_older_version_predicts_and_resumes(tmp_path, capsys):
    """Older checkpoints hold "function" where the loss goes, and no user_loss: predict reads
    them as a model without a loss, and a resume with a function takes them."""
    _fitted(tmp_path / "ck")
    epoch = tmp_path / "ck" / "epoch-000002"
    description = json.loads((epoch / "model.json").read_text())
    (epoch / "model.json").write_text(json.dumps({**description, "loss": "function"}))
    state = json.loads((epoch / "trainer.json").read_text())
    del state["user_loss"]
    (epoch / "trainer.json").write_text(json.dumps(state))
    rows = tmp_path / "rows.csv"
    rows.write_text("0.1,0.2\n")
    code, _, err = run(capsys, "predict", tmp_path / "ck", "--input", rows)
    assert code == 0, err
    resumed = _trainer(tmp_path / "ck")
    resumed.resume(tmp_path / "ck")
    assert resumed.epoch == 2
    with pytest.raises(ModelFileError, match="an older checkpoint"):
        _trainer(tmp_path / "ck", loss=cr.nn.SquaredError(reduction="sum")).resume(tmp_path / "ck")
