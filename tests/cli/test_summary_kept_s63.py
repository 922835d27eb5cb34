"""run.json's summary says which epoch's numbers the saved model has: ``kept`` is the best
epoch's record under early stopping (``final``, the last epoch trained, is not the model's:
a user read final.val_accuracy 0.9389 for a model whose own was 0.9333)."""

from __future__ import annotations

import json

from cli_run import run


def test_kept_is_the_saved_epochs_record_and_final_the_last(tmp_path, capsys):
    out = tmp_path / "es"
    code, stdout, err = run(capsys, "train", "--data", "digits", "--epochs", "15", "--lr", "0.2",
                            "--schedule", "constant", "--early-stopping", "2", "--seed", "1",
                            "--json", "-q", "--out", out)  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    history = json.loads((out / "history.json").read_text())
    records = {record["epoch"]: record for record in history}
    assert summary["stopped_early"] and summary["best_epoch"] < summary["final"]["epoch"]
    assert summary["kept"] == records[summary["best_epoch"]]
    assert summary["final"] == records[max(records)]
    assert json.loads((out / "run.json").read_text())["kept"] == summary["kept"]


def test_without_early_stopping_kept_is_final(tmp_path, capsys):
    code, stdout, err = run(capsys, "train", "--data", "xor", "--epochs", "3", "--json", "-q",
                            "--out", tmp_path / "x")  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["kept"] == summary["final"] and summary["kept"]["epoch"] == 3
