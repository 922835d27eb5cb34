"""A student redoing the course's assignment: the course counts weight updates (iterations),
so train's summary, ``--json`` and run.json say how many a run made in all and after which the
kept weights were taken; ``evaluate RUN --part train|validation`` scores the run's own
training and validation cases, split as the run split them (its losses are the run's own)."""

from __future__ import annotations

import json

import pytest
from cli_run import assert_user_error, run, small_table, train_small

from chainrule.cli import main
from chainrule.train.trainer import Trainer


@pytest.fixture
def counted_steps(monkeypatch):
    """The oracle for the counts: every Trainer.step a run calls, and how many had been made
    when each epoch ended ({epoch: steps})."""
    calls = {"steps": 0, "after_epoch": {}}
    step, run_epoch = Trainer.step, Trainer._run_epoch

    def counting_step(self, x, t):
        calls["steps"] += 1
        return step(self, x, t)

    def counting_epoch(self, X, T):
        run_epoch(self, X, T)
        calls["after_epoch"][self.epoch] = calls["steps"]

    monkeypatch.setattr(Trainer, "step", counting_step)
    monkeypatch.setattr(Trainer, "_run_epoch", counting_epoch)
    return calls


def test_the_summary_json_and_run_json_count_the_weight_updates(tmp_path, capsys, counted_steps):
    """28 training cases in batches of 5: 6 updates an epoch, 18 in 3 epochs, as many as
    Trainer.step was called; no early stopping, so the model is the last update's."""
    table = small_table(tmp_path / "t.csv", seed=3)
    args = ["train", "--data", table, "--hidden", "4", "--epochs", "3", "--batch-size", "5"]
    code, stdout, err = run(capsys, *args, "--json", "-q", "--out", tmp_path / "r")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["train_cases"] == 28 and summary["steps_per_epoch"] == 6
    assert summary["steps"] == counted_steps["steps"] == 18
    assert summary["kept_step"] == 18
    assert json.loads((tmp_path / "r" / "run.json").read_text())["steps"] == 18
    code, stdout, err = run(capsys, *args, "-q", "--out", tmp_path / "r2")
    assert code == 0, err
    lines = [line for line in stdout.splitlines() if line.startswith("steps:")]
    assert lines == ["steps:  18 weight updates (iterations) in all, 6 per epoch"], stdout


def test_early_stopping_names_the_update_of_the_kept_weights(tmp_path, capsys, counted_steps):
    """digits at lr 0.2 stops early (tests/cli/test_summary_kept_s63.py's run): the model kept
    has the weights of the best epoch's last update, fewer than the run made."""
    out = tmp_path / "es"
    args = ["train", "--data", "digits", "--epochs", "15", "--lr", "0.2", "--schedule",
            "constant", "--early-stopping", "2", "--seed", "1", "-q", "--out", out]  # fmt: skip
    code, stdout, err = run(capsys, *args)
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    best, epochs = summary["best_epoch"], summary["epochs"]
    assert summary["stopped_early"] and best < epochs
    assert summary["steps"] == counted_steps["steps"] == counted_steps["after_epoch"][epochs]
    assert summary["kept_step"] == counted_steps["after_epoch"][best] < summary["steps"]
    line = next(line for line in stdout.splitlines() if line.startswith("steps:"))
    assert line.endswith(
        f"; the model kept has the weights after update {summary['kept_step']} (epoch {best})"
    ), line


@pytest.fixture(scope="module")
def early_run(tmp_path_factory):
    """A float64 run on a small CSV file whose validation loss rises soon: early stopping
    keeps an epoch before the last."""
    folder = tmp_path_factory.mktemp("course")
    table = small_table(folder / "t.csv", seed=5)
    out = folder / "run"
    args = ["train", "--data", table, "--hidden", "16", "--epochs", "60", "--lr", "0.05",
            "--batch-size", "4", "--dtype", "float64", "--early-stopping", "3", "-q",
            "--out", out]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    summary = json.loads((out / "run.json").read_text())
    assert summary["best_epoch"] < summary["epochs"]  # the kept weights are not the last
    return out, summary


def _evaluated(capsys, *args) -> dict:
    code, stdout, err = run(capsys, "evaluate", *args, "--json")
    assert code == 0, err
    return json.loads(stdout)


@pytest.mark.parametrize(
    ("part", "loss", "cases"),
    [("train", "loss", "train_cases"), ("validation", "val_loss", "validation_cases"),
     ("VAL", "val_loss", "validation_cases")],
)  # fmt: skip
def test_evaluate_scores_the_runs_own_parts_as_it_reported_them(capsys, early_run, part, loss,
                                                                   cases):  # fmt: skip
    """The run's own last report for the kept weights (run.json's kept record, the history's
    record of the best epoch) is the oracle: evaluate's loss and accuracy on the part are the
    ones the run measured, to 1e-12 in float64, on as many cases."""
    out, summary = early_run
    kept = summary["kept"]
    result = _evaluated(capsys, out, "--part", part)
    assert result["cases"] == summary[cases]
    assert result["loss"] == pytest.approx(kept[loss], rel=1e-12, abs=1e-12)
    accuracy = "accuracy" if loss == "loss" else "val_accuracy"
    assert result["accuracy"] == pytest.approx(kept[accuracy], rel=1e-12, abs=1e-12)
    assert result["data"].startswith("validation split" if loss == "val_loss" else "train split")


def test_evaluate_part_test_is_the_default_test_split(capsys, early_run):
    out, summary = early_run
    result = _evaluated(capsys, out, "--part", "test")
    assert result == _evaluated(capsys, out)
    assert result["loss"] == pytest.approx(summary["test_loss"], rel=1e-12, abs=1e-12)


def test_a_run_without_a_validation_split_is_refused_naming_why(tmp_path, capsys):
    out = tmp_path / "xor"
    assert main(["train", "--data", "xor", "--epochs", "2", "-q", "--out", str(out)]) == 0
    why = "held out no validation cases (it is judged on its training cases)"
    assert_user_error(capsys, "evaluate", out, "--part", "validation", match=why)
    assert _evaluated(capsys, out, "--part", "train")["cases"] == 4


def test_validation_with_data_is_refused(tmp_path, capsys):
    table = small_table(tmp_path / "t.csv", seed=1)
    out = train_small(tmp_path / "r", table)
    assert_user_error(capsys, "evaluate", out, "--data", table, "--part", "validation",
                      match="which --data replaces; drop --data")  # fmt: skip


def _edit_split(run_dir, change):
    model_json = run_dir / "model" / "model.json"
    info = json.loads(model_json.read_text())
    change(info["meta"])
    model_json.write_text(json.dumps(info))


def test_an_older_run_without_its_split_recorded_is_refused(tmp_path, capsys):
    """A run of an older chainrule records no split: its train and validation parts are
    refused in one line saying why (rebuilding from the seed alone could take other rows);
    its test split (no --part) is evaluated as before."""
    table = small_table(tmp_path / "t.csv", seed=2)
    out = train_small(tmp_path / "r", table)
    _edit_split(out, lambda meta: meta.pop("split"))
    for part in ("train", "validation"):
        line = assert_user_error(capsys, "evaluate", out, "--part", part,
                                 match="does not record how its run split the data")  # fmt: skip
        assert f"its {part} cases cannot be rebuilt" in line
    assert _evaluated(capsys, out)["cases"] == 8


def test_a_split_other_than_the_recorded_one_is_refused(tmp_path, capsys):
    """A split rebuilt with other rows than the run's (another chainrule's split) is refused,
    not scored as the run's."""
    table = small_table(tmp_path / "t.csv", seed=4)
    out = train_small(tmp_path / "r", table)

    def other_rows(meta):
        meta["split"]["sha256"] = "0" * 64

    _edit_split(out, other_rows)
    code, _, err = run(capsys, "evaluate", out, "--part", "train")
    assert code != 0 and "Traceback" not in err
    assert err.count("\n") == 1 and "is not the one the run recorded" in err, err
