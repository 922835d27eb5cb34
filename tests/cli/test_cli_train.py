"""``chainrule train / evaluate / predict`` end to end on small data in temporary directories."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data, io
from chainrule.cli import main


def write_csv(path, rows):
    path.write_text("\n".join(",".join(str(c) for c in row) for row in rows) + "\n")
    return path


def blobs_csv(path, n=45, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 4)) + 3 * np.eye(4)[y]
    rows = [["f1", "f2", "f3", "f4", "label"]] + [[*map(float, x), int(t)] for x, t in zip(X, y)]
    return write_csv(path, rows)


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xor"
    code = main(["train", "--data", "xor", "--out", str(out), "--quiet", "--json"])
    assert code == 0
    return out


def test_xor_run_writes_model_curves_history_and_checkpoint(xor_run):
    assert (xor_run / "model" / "model.safetensors").is_file()
    assert (xor_run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    history = json.loads((xor_run / "history.json").read_text())
    summary = json.loads((xor_run / "run.json").read_text())
    assert len(history) == summary["epochs"] == 500
    assert summary["test_accuracy"] == 1.0
    assert io.find_checkpoint(xor_run / "checkpoints").name == "epoch-000500"
    assert not [p for p in xor_run.rglob("*") if p.name.startswith(".tmp-")]


def test_json_summary_parses(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "20", "--out",
                       tmp_path / "r", "--quiet", "--json")  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert summary["epochs"] == 20 and summary["model"] == str(tmp_path / "r" / "model")
    assert summary["config"]["batch_size"] is None  # xor trains in full-batch sweeps


def test_explain_watches_gradient_health(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "30", "--out",
                       tmp_path / "r", "--explain", "--json")  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert (tmp_path / "r" / "gradient_health.png").read_bytes()[:4] == b"\x89PNG"
    health = summary["gradient_health_history"]
    assert [h["epoch"] for h in health] == list(range(1, 31))
    norms = health[0]["grad_norms"]
    assert set(norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(v > 0 for v in norms.values())
    assert all(0.0 <= share <= 1.0 for h in health for share in h["saturation"].values())


def test_evaluate_and_predict_the_saved_model(xor_run, tmp_path, capsys):
    code, out, _ = run(capsys, "evaluate", xor_run / "model", "--json")
    assert code == 0 and json.loads(out)["accuracy"] == 1.0
    code, out, _ = run(capsys, "evaluate", xor_run, "--data", "xor")
    assert code == 0 and "accuracy 100.00%" in out
    inputs = write_csv(tmp_path / "in.csv", [[0, 0], [0, 1], [1, 0], [1, 1]])
    code, out, _ = run(capsys, "predict", xor_run, "--input", inputs)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("line,prediction,")
    cells = [line.split(",")[1:] for line in lines[1:]]  # after each row's line in the file
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4"]
    assert [float(row[1]) > 0.5 for row in cells] == [False, True, True, False]
    # one output unit: its name (xor's "odd") or "not" it, never an empty cell
    assert [row[0] for row in cells] == ["not odd", "odd", "odd", "not odd"]
    code, _, _ = run(capsys, "predict", xor_run, "--input", inputs, "--output", tmp_path / "p.csv")
    assert code == 0 and (tmp_path / "p.csv").read_text() == out


def test_csv_dataset_train_evaluate_predict(tmp_path, capsys):
    csv = blobs_csv(tmp_path / "blobs.csv")
    code, out, _ = run(capsys, "train", "--data", csv, "--epochs", "15", "--hidden", "8",
                       "--out", tmp_path / "r", "--quiet", "--json")  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert summary["task"] == "classification" and summary["evaluated_on"] == "test"
    code, out, _ = run(capsys, "evaluate", tmp_path / "r", "--data", csv, "--json")
    assert code == 0 and json.loads(out)["cases"] == 45
    rows = [[1.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]
    code, out, _ = run(capsys, "predict", tmp_path / "r", "--input",
                       write_csv(tmp_path / "x.csv", rows), "--json")  # fmt: skip
    assert code == 0
    predictions = json.loads(out)["predictions"]
    assert len(predictions) == 2
    assert all(abs(sum(p["outputs"]) - 1) < 1e-5 for p in predictions)  # softmax probabilities


def test_idx_directory(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = (np.arange(40) % 2).astype(np.uint8)
    images = (rng.random((40, 3, 3)) * 60).astype(np.uint8)
    images[labels == 1, 1, :] = 250  # class 1 has a bright middle row
    idx = tmp_path / "idx"
    idx.mkdir()
    data.write_idx(idx / "train-images-idx3-ubyte", images)
    data.write_idx(idx / "train-labels-idx1-ubyte", labels)
    code, out, _ = run(capsys, "train", "--data", idx, "--epochs", "10", "--out",
                       tmp_path / "r", "--quiet", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["test_accuracy"] >= 0.75
    code, out, _ = run(capsys, "evaluate", tmp_path / "r", "--data", idx, "--json")
    assert code == 0 and json.loads(out)["data"] == f"the train part of {idx}"


def test_resume_continues_to_the_same_weights(tmp_path, capsys):
    common = ["train", "--data", "parity", "--quiet"]
    assert run(capsys, *common, "--epochs", "30", "--out", tmp_path / "full")[0] == 0
    assert run(capsys, *common, "--epochs", "12", "--out", tmp_path / "part")[0] == 0
    code, _, err = run(capsys, "train", "--resume", tmp_path / "part", "--epochs", "30", "--quiet")
    assert code == 0, err
    a = io.read_arrays(tmp_path / "full" / "model" / "model.safetensors")
    b = io.read_arrays(tmp_path / "part" / "model" / "model.safetensors")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert len(json.loads((tmp_path / "part" / "history.json").read_text())) == 30


def test_resuming_a_cosine_run_with_more_epochs_says_the_learning_rate_jumps(tmp_path, capsys):
    """--epochs is the total, so the cosine schedule is rebuilt for it: at epoch 5 of 8 the
    learning rate is half the start where the 4-epoch run had reached 0. Said, not silent."""
    from chainrule.train import runs

    common = ["train", "--data", "xor", "--schedule", "cosine", "--quiet"]
    assert run(capsys, *common, "--epochs", "4", "--out", tmp_path / "run")[0] == 0
    code, _, err = run(capsys, "train", "--resume", tmp_path / "run", "--epochs", "8", "--quiet")
    assert code == 0, err
    lr = runs.resolve_config({"data": "xor"}).lr  # xor's preset learning rate
    expected = f"goes from 0 to {lr / 2:.4g} at epoch 5"  # (1 + cos(pi * 4 / 8)) / 2 = 1/2
    assert "cosine schedule now spans 8 epochs instead of 4" in err and expected in err, err
    code, _, err = run(capsys, "train", "--resume", tmp_path / "run", "--epochs", "8", "--quiet")
    assert code == 0 and "schedule now spans" not in err, err  # complete: nothing rebuilt or said


def test_resume_refuses_changed_options(tmp_path, capsys, xor_run):
    assert_user_error(capsys, "train", "--resume", xor_run, "--lr", "0.1",
                      match="--lr cannot change when resuming")  # fmt: skip


def interrupt_at_epoch(monkeypatch, epoch: int):
    """Ctrl-C as epoch ``epoch`` starts (KeyboardInterrupt from the epoch loop); returns the real
    epoch function, to put back."""
    from chainrule.train import Trainer

    real = Trainer._run_epoch

    def interrupted(self, X, T):
        if self.epoch == epoch - 1:
            raise KeyboardInterrupt
        real(self, X, T)

    monkeypatch.setattr(Trainer, "_run_epoch", interrupted)
    return real


def test_ctrl_c_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    interrupt_at_epoch(monkeypatch, 8)
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "20", "--out",
                       tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 130 and "--resume" in err
    assert io.load_checkpoint(tmp_path / "r")["state"]["epoch"] == 7
    assert not (tmp_path / "r" / "model").exists()


def test_explain_history_survives_ctrl_c_and_resume(tmp_path, capsys, monkeypatch):
    from chainrule.train import Trainer

    common = ["train", "--data", "xor", "--epochs", "24", "--seed", "7", "--explain", "--quiet"]
    code, out, _ = run(capsys, *common, "--out", tmp_path / "full", "--json")
    assert code == 0
    full = json.loads(out)["gradient_health_history"]
    real = interrupt_at_epoch(monkeypatch, 13)
    assert run(capsys, *common, "--out", tmp_path / "part")[0] == 130
    monkeypatch.setattr(Trainer, "_run_epoch", real)
    code, out, err = run(capsys, "train", "--resume", tmp_path / "part", "--epochs", "24",
                         "--explain", "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    resumed = json.loads(out)["gradient_health_history"]
    assert [h["epoch"] for h in resumed] == list(range(1, 25))
    assert resumed == full  # bit for bit: the same seed trains the same run across a resume
    assert (tmp_path / "part" / "gradient_health.png").read_bytes()[:4] == b"\x89PNG"


def test_explain_from_a_resume_on_starts_there(tmp_path, capsys):
    """A run watched only from a resume on (or watched, resumed unwatched, then watched again)
    has the history of the epochs watched since the checkpoint it resumed from."""
    common = ["train", "--data", "xor", "--quiet"]
    assert run(capsys, *common, "--epochs", "6", "--out", tmp_path / "r")[0] == 0
    code, out, err = run(capsys, "train", "--resume", tmp_path / "r", "--epochs", "9",
                         "--explain", "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    assert [h["epoch"] for h in json.loads(out)["gradient_health_history"]] == [7, 8, 9]
    resumed = run(capsys, "train", "--resume", tmp_path / "r", "--epochs", "12", "--no-explain",
                  "--quiet")  # fmt: skip
    assert resumed[0] == 0
    code, out, err = run(capsys, "train", "--resume", tmp_path / "r", "--epochs", "14",
                         "--explain", "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    assert [h["epoch"] for h in json.loads(out)["gradient_health_history"]] == [13, 14]


# -- bad input: one line, exit 2, nothing written -------------------------------------------------


def assert_nothing_written(tmp_path):
    assert not (tmp_path / "out").exists()


def test_unknown_dataset(tmp_path, capsys):
    assert_user_error(capsys, "train", "--data", "mnistt", "--out", tmp_path / "out",
                      match="unknown dataset 'mnistt'")  # fmt: skip
    assert_nothing_written(tmp_path)


def test_missing_file(tmp_path, capsys):
    assert_user_error(capsys, "train", "--data", tmp_path / "no.csv", "--out", tmp_path / "out",
                      match="no such file")  # fmt: skip
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([[1, 2, 0], [3, 4], [5, 6, 1]], "line 2"),
        ([[1, 2, 0], [3, "x", 1]], "line 2"),
        ([[1, 2, 0], ["nan", 4, 1]], "nan"),
    ],
    ids=["ragged", "non-numeric", "nan"],
)
def test_malformed_csv(tmp_path, capsys, rows, match):
    csv = write_csv(tmp_path / "bad.csv", rows)
    line = assert_user_error(capsys, "train", "--data", csv, "--out", tmp_path / "out", match="")
    assert match in line.lower()
    assert_nothing_written(tmp_path)


def test_labels_out_of_range_for_the_model(tmp_path, capsys):
    csv = blobs_csv(tmp_path / "blobs.csv")
    assert run(capsys, "train", "--data", csv, "--epochs", "2", "--out", tmp_path / "r",
               "--quiet")[0] == 0  # fmt: skip
    bad = write_csv(tmp_path / "bad.csv", [[0.1, 0.2, 0.3, 0.4, 0], [0.1, 0.2, 0.3, 0.4, 7]])
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", bad,
                      match="labels go up to 7")  # fmt: skip


def test_truncated_model_file(tmp_path, capsys, xor_run):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(xor_run / "model", copy)
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-7])
    assert_user_error(capsys, "evaluate", copy, "--data", "xor", match="truncated")


def test_model_of_the_wrong_architecture(tmp_path, capsys, xor_run):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(xor_run / "model", copy)
    description = json.loads((copy / "model.json").read_text())
    description["architecture"]["layers"][0]["n_out"] = 5
    (copy / "model.json").write_text(json.dumps(description))
    assert_user_error(capsys, "evaluate", copy, match="field 'architecture' needs 19 weights")


def test_data_of_the_wrong_width_for_the_model(capsys, xor_run):
    assert_user_error(capsys, "evaluate", xor_run, "--data", "parity", match="expects 2")


def test_predict_input_errors(tmp_path, capsys, xor_run):
    ragged = write_csv(tmp_path / "r.csv", [[0, 1], [1]])
    assert_user_error(capsys, "predict", xor_run, "--input", ragged, match="line 2")
    wide = write_csv(tmp_path / "w.csv", [[0, 1, 1, 1]])
    assert_user_error(capsys, "predict", xor_run, "--input", wide, match="takes 2 inputs")
    assert_user_error(capsys, "predict", xor_run, "--input", tmp_path / "none.csv",
                      match="no such file")  # fmt: skip


@pytest.mark.parametrize(
    ("model", "output"),
    [
        (".", "model/model.json"),
        ("model/model.safetensors", "model/model.safetensors"),
        ("checkpoints", "checkpoints/epoch-000500/model.json"),  # the epoch load_model reads
    ],
)
def test_predict_refuses_to_write_over_the_models_files(tmp_path, capsys, xor_run, model, output):
    inputs = write_csv(tmp_path / "in.csv", [[0, 1]])
    before = (xor_run / output).read_bytes()
    match = f"is the model's {output.rsplit('/')[-1]}"
    if "epoch-" in output:  # a checkpoint's file, refused as any file inside a checkpoint
        match = "is inside the checkpoint"
    assert_user_error(capsys, "predict", xor_run / model, "--input", inputs, "--output",
                      xor_run / output, match=match)  # fmt: skip
    assert (xor_run / output).read_bytes() == before


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("--lr", "-1", "--lr must be a positive"),
        ("--batch-size", "abc", "--batch-size must be"),
        ("--hidden", "8,x", "--hidden must be"),
        ("--activation", "swish", "--activation: unknown value 'swish'"),
        ("--optimizer", "lbfgs", "--optimizer: unknown value"),
        ("--loss", "hinge", "--loss: unknown value"),
        ("--dtype", "float16", "--dtype: unknown value"),
        ("--epochs", "0", "--epochs must be a whole number from 1 to 1,000,000, not 0"),
        ("--momentum", "1.5", "--momentum must be in [0, 1)"),
        ("--epochs", "many", "--epochs must be a whole number from 1 to 1,000,000, not 'many'"),
        ("--lr", "fast", "--lr must be a number, not 'fast'"),
        ("--seed", "1.5", "--seed must be a whole number, not 1.5"),
        ("--early-stopping", "0", "--early-stopping must be a whole number >= 1, not 0"),
    ],
)
def test_bad_option_values(tmp_path, capsys, option, value, match):
    assert_user_error(capsys, "train", "--data", "xor", option, value, "--out", tmp_path / "out",
                      match=match)  # fmt: skip
    assert_nothing_written(tmp_path)


def test_diverging_run_leaves_nothing(tmp_path, capsys):
    csv = blobs_csv(tmp_path / "blobs.csv")
    assert_user_error(capsys, "train", "--data", csv, "--activation", "relu",
                      "--optimizer", "sgd", "--lr", "1e30", "--out", tmp_path / "out",
                      match="training loss became")  # fmt: skip
    assert_nothing_written(tmp_path)


def test_default_run_reaches_97_percent_on_digits(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--out", tmp_path / "r", "--quiet", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["dataset"] == "digits" and summary["evaluated_on"] == "test"
    assert summary["test_cases"] == 359
    assert summary["test_accuracy"] >= 0.97


def test_evaluate_reports_each_class_and_the_confusion_matrix(tmp_path, capsys):
    csv = blobs_csv(tmp_path / "blobs.csv", n=60)
    code, _, _ = run(capsys, "train", "--data", csv, "--epochs", "3", "--hidden", "3",
                     "--out", tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, "evaluate", tmp_path / "r", "--data", csv, "--json")
    assert code == 0
    result = json.loads(out)
    confusion = np.array(result["confusion"])
    # an independent count: the model's own predictions against the CSV's labels
    _, predicted_out, _ = run(capsys, "predict", tmp_path / "r", "--input", csv)
    predicted = [int(line.split(",")[1]) for line in predicted_out.splitlines()[1:]]
    labels = [int(line.rsplit(",", 1)[1]) for line in csv.read_text().splitlines()[1:]]
    expected = np.zeros((3, 3), dtype=int)
    for t, p in zip(labels, predicted):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion, expected)
    assert confusion.trace() / 60 == pytest.approx(result["accuracy"])
    for k, row in enumerate(result["per_class"]):
        assert row["support"] == expected[k].sum()
        assert row["recall"] == pytest.approx(expected[k, k] / expected[k].sum())
        claimed = expected[:, k].sum()
        assert row["precision"] == pytest.approx(expected[k, k] / claimed if claimed else 0.0)
    code, out, _ = run(capsys, "evaluate", tmp_path / "r", "--data", csv)
    assert code == 0
    for word in ("precision", "recall", "F1", "support", "confusion matrix"):
        assert word in out
    assert result["classes"] == ["0", "1", "2"]


def test_evaluate_names_a_one_output_models_two_classes(xor_run, capsys):
    code, out, _ = run(capsys, "evaluate", xor_run, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["classes"] == ["not odd", "odd"]
    assert result["confusion"] == [[2, 0], [0, 2]]


def test_a_classic_problem_reports_its_accuracy_on_the_cases_it_learned(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "5", "--out",
                       tmp_path / "q", "-q")  # fmt: skip
    assert code == 0
    first = out.splitlines()[0]
    assert "on all 4 training cases" in first and "test accuracy" not in first


def test_resuming_a_finished_run_says_so_in_one_line_and_changes_nothing(xor_run, capsys):
    before = {p: p.stat().st_mtime_ns for p in xor_run.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "train", "--resume", xor_run)
    assert code == 0 and out == ""
    assert err.strip().splitlines() == [
        f"chainrule: {xor_run} is already complete: 500 epochs trained, results in "
        f"{xor_run / 'run.json'}; to train further pass --epochs N with N > 500"
    ]
    code, out, _ = run(capsys, "train", "--resume", xor_run, "--epochs", "300", "--json")
    assert code == 0 and json.loads(out) == json.loads((xor_run / "run.json").read_text())
    assert {p: p.stat().st_mtime_ns for p in xor_run.rglob("*") if p.is_file()} == before


def test_resuming_a_run_that_stopped_early_changes_nothing(tmp_path, capsys):
    out = tmp_path / "stopped"
    args = ["--hidden", "16", "--early-stopping", "1", "--out", out, "--quiet", "--json"]
    code, summary, _ = run(capsys, "train", *args)
    epochs = json.loads(summary)["epochs"]
    assert code == 0 and epochs < 40  # stopped early
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    for more in ([], ["--epochs", "60"]):
        code, printed, err = run(capsys, "train", "--resume", out, *more)
        assert code == 0 and printed == ""
        assert err.strip().splitlines() == [
            f"chainrule: {out} is already complete: stopped early after {epochs} epochs, "
            f"results in {out / 'run.json'}"
        ]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_predict_names_the_units_that_are_on_and_none_where_no_unit_is(tmp_path, capsys):
    rows = write_csv(tmp_path / "eye.csv", np.eye(8, dtype=int).tolist())
    for epochs, out in (("1", "barely"), ("300", "trained")):  # 8-3-8 encoder, multilabel
        code, _, err = run(capsys, "train", "--data", "encoder", "--epochs", epochs,
                           "--out", tmp_path / out, "--quiet")  # fmt: skip
        assert code == 0, err
    code, text, _ = run(capsys, "predict", tmp_path / "trained", "--input", rows)
    assert code == 0
    assert [line.split(",")[1] for line in text.splitlines()[1:]] == [f"out{k}" for k in range(8)]
    code, text, _ = run(capsys, "predict", tmp_path / "barely", "--input", rows)
    cells = [line.split(",")[1:] for line in text.splitlines()[1:]]  # after each row's line
    assert code == 0 and all(max(map(float, row[1:])) < 0.5 for row in cells)  # no unit is on
    assert [row[0] for row in cells] == ["none"] * 8  # an explicit value, never an empty cell
    code, text, _ = run(capsys, "predict", tmp_path / "barely", "--input", rows, "--json")
    assert [p["prediction"] for p in json.loads(text)["predictions"]] == ["none"] * 8


# -- losses, dtypes, the run's data, run directories, resume --------------------------------------


@pytest.mark.parametrize("dataset", ["xor", "parity"])
def test_cross_entropy_on_one_output_unit_is_refused(tmp_path, capsys, dataset):
    out = tmp_path / "out"
    assert_user_error(capsys, "train", "--data", dataset, "--loss", "cross-entropy", "--out", out,
                      match="cross-entropy needs two or more output units")  # fmt: skip
    assert_nothing_written(tmp_path)


def test_float64_takes_numbers_too_large_for_float32(tmp_path, capsys):
    rows = [[1e39 * (1 + k % 3), k % 2] for k in range(20)]
    csv = write_csv(tmp_path / "big.csv", rows)
    code, _, err = run(capsys, "train", "--data", csv, "--dtype", "float64", "--epochs", "1",
                       "--out", tmp_path / "r", "-q")  # fmt: skip
    assert code == 0, err


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory):
    """A run trained from a relative --data path, in a directory of its own."""
    root = tmp_path_factory.mktemp("blobs")
    blobs_csv(root / "blobs.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(["train", "--data", "blobs.csv", "--epochs", "2", "--out", "r", "-q"]) == 0
    return root


def test_evaluate_elsewhere_reads_the_recorded_training_file(blobs_run, tmp_path, capsys,
                                                              monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    blobs_csv(tmp_path / "blobs.csv", seed=5)  # another file of the same name here
    code, out, err = run(capsys, "evaluate", blobs_run / "r", "--json")
    assert code == 0, err
    monkeypatch.chdir(blobs_run)
    assert run(capsys, "evaluate", "r", "--json")[1] == out.replace(str(blobs_run / "r"), "r")


def test_evaluate_refuses_training_data_that_changed_or_is_missing(tmp_path, capsys):
    csv = blobs_csv(tmp_path / "blobs.csv")
    assert (
        run(capsys, "train", "--data", csv, "--epochs", "1", "--out", tmp_path / "r", "-q")[0] == 0
    )
    blobs_csv(csv, seed=1)
    assert_user_error(capsys, "evaluate", tmp_path / "r", match=f"{csv}: the run's training data "
                      "has changed since it was trained")  # fmt: skip
    csv.unlink()
    assert_user_error(capsys, "evaluate", tmp_path / "r", match=f"{csv}: the run's training data "
                      "is missing")  # fmt: skip


def _forget_checksum(run_dir):
    """Make ``run_dir`` look like a run from before checksums were recorded."""
    path = run_dir / "model" / "model.json"
    info = json.loads(path.read_text())
    for key in ("data_file", "data_sha256"):
        info["meta"]["run"].pop(key, None)
    path.write_text(json.dumps(info))


def test_an_older_run_without_a_checksum_reads_no_data_outside_its_directory(tmp_path, capsys,
                                                                          monkeypatch):  # fmt: skip
    """A run recording its data with no sha256 names a file chainrule cannot check, and a
    student's run could name any CSV on the machine (the classroom review, s60): it is read
    only inside the run directory; elsewhere the user names the data. It was looked for
    beside the run's recorded output folder."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    blobs_csv(tmp_path / "work" / "blobs.csv")
    assert run(capsys, "train", "--data", "blobs.csv", "--epochs", "1", "-q")[0] == 0
    run_dir = next((tmp_path / "work" / "runs").iterdir())
    _forget_checksum(run_dir)
    monkeypatch.chdir(tmp_path)
    assert_user_error(capsys, "evaluate", run_dir, match="no sha256 to check it against")
    code, out, err = run(capsys, "evaluate", run_dir, "--data", tmp_path / "work" / "blobs.csv",
                         "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["cases"] == 45, err  # the file named: all of it


def test_an_older_model_that_cannot_tell_where_it_was_trained_says_so(blobs_run, tmp_path,
                                                                      capsys):  # fmt: skip
    import shutil

    model = tmp_path / "model"
    shutil.copytree(blobs_run / "r" / "model", model)
    _forget_checksum(tmp_path)
    assert_user_error(capsys, "evaluate", model, match="pass the data yourself")


def test_two_default_runs_in_the_same_second_get_their_own_directories(tmp_path, capsys,
                                                                       monkeypatch):  # fmt: skip
    from chainrule.train import runs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runs.time, "strftime", lambda fmt: "20250101-120000")
    real_mkdir = type(tmp_path).mkdir

    def someone_else_claims_first(self, *args, **kwargs):
        # another run takes the name between the choice and the claim (the race QA saw)
        if self.name == "xor-20250101-120000" and not self.exists():
            real_mkdir(self)
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", someone_else_claims_first)
    code, out, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "-q")
    assert code == 0, err
    assert "runs/xor-20250101-120000-2/model" in out
    assert not any((tmp_path / "runs" / "xor-20250101-120000").iterdir())


def test_resume_accepts_options_equal_to_the_stored_ones(xor_run, capsys):
    code, _, err = run(capsys, "train", "--resume", xor_run, "--lr", "0.5", "--seed", "0",
                       "--data", "xor", "--batch-size", "full", "--out", xor_run)  # fmt: skip
    assert code == 0 and "already complete" in err
    assert_user_error(capsys, "train", "--resume", xor_run, "--lr", "0.1", "--batch-size", "full",
                      match="--lr cannot change when resuming (the run has --lr 0.5")  # fmt: skip


def test_resume_with_fewer_epochs_than_trained_says_so(tmp_path, capsys):
    assert (
        run(capsys, "train", "--data", "xor", "--epochs", "6", "--out", tmp_path / "r", "-q")[0]
        == 0
    )
    (tmp_path / "r" / "run.json").unlink()  # as if stopped after its last checkpoint
    assert_user_error(capsys, "train", "--resume", tmp_path / "r", "--epochs", "4",
                      match="--epochs 4: ")  # fmt: skip
    assert_user_error(capsys, "train", "--resume", tmp_path / "r", "--epochs", "4", "--out",
                      tmp_path / "new", match="has already trained 6 epochs")  # fmt: skip
    assert not (tmp_path / "new").exists() and not (tmp_path / "r" / "run.json").exists()


def _checkpoint_names(run_dir):
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_resuming_an_earlier_checkpoint_replaces_the_later_ones_and_says_so(tmp_path, capsys):
    """A 40-epoch run checkpoints every second epoch (38 and 40 kept); resumed from 38 to 39
    epochs, its directory's latest checkpoint is the new run's 39, not the old 40: resuming
    the directory again finds the 39-epoch run complete, and --epochs 41 continues it."""
    r = tmp_path / "r"
    assert run(capsys, "train", "--data", "xor", "--epochs", "40", "--out", r, "-q")[0] == 0
    assert _checkpoint_names(r) == ["epoch-000038", "epoch-000040"]
    code, _, err = run(capsys, "train", "--resume", r / "checkpoints" / "epoch-000038",
                       "--epochs", "39", "-q")  # fmt: skip
    assert code == 0, err
    assert (
        f"note: resuming {r} from epoch 38: this run replaces its later checkpoints "
        "(epoch-000040) and removes them when it saves its first checkpoint"
    ) in err
    assert _checkpoint_names(r) == ["epoch-000038", "epoch-000039"]
    assert json.loads((r / "run.json").read_text())["epochs"] == 39
    code, _, err = run(capsys, "train", "--resume", r, "-q")
    assert code == 0 and "is already complete: 39 epochs trained" in err, err
    code, out, err = run(capsys, "train", "--resume", r, "--epochs", "41", "-q", "--json")
    assert code == 0 and json.loads(out)["epochs"] == 41, err
    history = json.loads((r / "history.json").read_text())
    assert len(history) == 41 and "replaces" not in err


def test_resuming_an_earlier_checkpoint_with_nothing_to_train_makes_it_latest(tmp_path, capsys):
    r = tmp_path / "r"
    assert run(capsys, "train", "--data", "xor", "--epochs", "40", "--out", r, "-q")[0] == 0
    code, _, err = run(capsys, "train", "--resume", r / "checkpoints" / "epoch-000038",
                       "--epochs", "38", "-q")  # fmt: skip
    assert code == 0, err
    assert "(epoch-000040) and removes them before it writes its results" in err
    assert _checkpoint_names(r) == ["epoch-000038"]
    assert json.loads((r / "run.json").read_text())["epochs"] == 38
    assert json.loads((r / "model" / "model.json").read_text())["meta"]["epochs"] == 38


def test_a_run_stopped_while_writing_its_results_finishes_them_when_resumed(
    tmp_path, capsys, monkeypatch
):
    """SIGTERM after a resumed run rewrote model/ but before run.json: run.json (the mark of a
    finished run, written last) must not pass for the 30-epoch run's; resuming writes it."""
    from chainrule.cli.app import Terminated

    r = tmp_path / "r"
    assert run(capsys, "train", "--data", "xor", "--epochs", "20", "--out", r, "-q")[0] == 0
    real = io.atomic_write_bytes

    def terminated(path, data, *args, **kwargs):
        if path.name == "history.json":  # model/ is written by now
            raise Terminated()
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(io, "atomic_write_bytes", terminated)
    code, _, err = run(capsys, "train", "--resume", r, "--epochs", "30", "-q")
    assert code == 143, err
    monkeypatch.undo()
    assert json.loads((r / "model" / "model.json").read_text())["meta"]["epochs"] == 30
    assert not (r / "run.json").exists()  # removed before the results were rewritten
    code, _, err = run(capsys, "train", "--resume", r, "--epochs", "30", "-q")
    assert code == 0 and "already complete" not in err, err
    assert json.loads((r / "run.json").read_text())["epochs"] == 30
    assert len(json.loads((r / "history.json").read_text())) == 30


def test_a_run_json_of_other_epochs_than_the_checkpoint_is_not_complete(tmp_path, capsys):
    """A run.json left by an earlier finish (20 epochs) beside a 30-epoch checkpoint and model,
    as a run stopped mid-finish by an older chainrule left them: resuming writes the results."""
    r = tmp_path / "r"
    assert run(capsys, "train", "--data", "xor", "--epochs", "20", "--out", r, "-q")[0] == 0
    old = (r / "run.json").read_text()
    assert run(capsys, "train", "--resume", r, "--epochs", "30", "-q")[0] == 0
    (r / "run.json").write_text(old)
    code, out, err = run(capsys, "train", "--resume", r, "--epochs", "30", "-q", "--json")
    assert code == 0 and "already complete" not in err, err
    assert json.loads(out)["epochs"] == 30
    assert json.loads((r / "run.json").read_text())["epochs"] == 30


def test_the_ctrl_c_hint_keeps_the_epochs(tmp_path, capsys, monkeypatch):
    from chainrule.train import Trainer

    real = interrupt_at_epoch(monkeypatch, 3)
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "9", "--out",
                       tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 130
    assert f"continue with: chainrule train --resume {tmp_path / 'r'} --epochs 9" in err
    monkeypatch.setattr(Trainer, "_run_epoch", real)
    code, _, err = run(capsys, *err.split("continue with: chainrule ")[1].split(), "-q")
    assert code == 0 and len(json.loads((tmp_path / "r" / "history.json").read_text())) == 9


# -- predict: label columns and score names -------------------------------------------------------


def test_predict_ignores_a_text_label_column(xor_run, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("0,1,odd\n1,1,even\n")
    code, out, err = run(capsys, "predict", xor_run, "--input", rows)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 3
    bad = write_csv(tmp_path / "t.csv", [[0, 1, "odd"], [0, "x", "even"]])  # a text feature
    assert_user_error(capsys, "predict", xor_run, "--input", bad,
                      match="line 2, column 2: 'x' is not a number")  # fmt: skip


def test_predict_names_a_bce_models_one_score_after_class_1(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    csv = write_csv(tmp_path / "two.csv", [[*x, int(x[0] > 0)] for x in X])
    assert run(capsys, "train", "--data", csv, "--loss", "binary-cross-entropy", "--epochs", "1",
               "--out", tmp_path / "r", "-q")[0] == 0  # fmt: skip
    code, out, _ = run(capsys, "predict", tmp_path / "r", "--input", csv)
    assert code == 0 and out.splitlines()[0] == "line,prediction,1"


def test_predict_json_goes_to_the_output_file_when_given(tmp_path, capsys):
    """-o with --json printed the JSON on stdout and wrote no file, exiting 0."""
    rng = np.random.default_rng(0)
    csv = write_csv(tmp_path / "two.csv", [[*x, int(x[0] > 0)] for x in rng.normal(size=(20, 2))])
    assert (
        run(capsys, "train", "--data", csv, "--epochs", "1", "--out", tmp_path / "r", "-q")[0] == 0
    )
    code, shown, _ = run(capsys, "predict", tmp_path / "r", "--input", csv, "--json")
    out = tmp_path / "p.json"
    code, printed, err = run(capsys, "predict", tmp_path / "r", "--input", csv, "--json", "-o", out)
    assert code == 0 and printed == "" and f"to {out}" in err
    assert json.loads(out.read_text()) == json.loads(shown)


def test_a_checkpoint_predicts_as_the_run_does(tmp_path, capsys):
    """A checkpoint's model description carries the run's standardizer and class names, so
    ``predict`` and ``export`` on an epoch directory scale the inputs as the run does (they
    were fed raw, and predicted other classes from the same weights)."""
    rng = np.random.default_rng(1)
    y = np.arange(60) % 3
    X = (
        rng.normal(size=(60, 4)) * [1, 10, 100, 1000]
        + [5, -50, 500, 0]
        + 2 * np.eye(4)[y] * [1, 10, 100, 1000]
    )
    csv = write_csv(tmp_path / "scaled.csv", [[*map(float, x), int(t)] for x, t in zip(X, y)])
    code, _, err = run(capsys, "train", "--data", csv, "--epochs", "12", "--hidden", "6",
                       "--out", tmp_path / "r", "-q")  # fmt: skip
    assert code == 0, err
    final = io.find_checkpoint(tmp_path / "r")
    assert final.name.endswith("12")
    rows = write_csv(tmp_path / "rows.csv", [[*map(float, x)] for x in X[:8]])
    code, by_run, err = run(capsys, "predict", tmp_path / "r", "--input", rows, "--json")
    assert code == 0, err
    code, by_checkpoint, err = run(capsys, "predict", final, "--input", rows, "--json")
    assert code == 0, err
    assert json.loads(by_checkpoint)["predictions"] == json.loads(by_run)["predictions"]
    run_info = json.loads((tmp_path / "r" / "model" / "model.json").read_text())
    checkpoint_info = json.loads((final / "model.json").read_text())
    assert checkpoint_info["standardizer"] == run_info["standardizer"] is not None
    assert checkpoint_info["class_names"] == run_info["class_names"]


@pytest.mark.parametrize("mismatch", ["labels", "images"])
def test_an_idx_test_part_unlike_the_training_part_is_refused_before_training(
    tmp_path, capsys, mismatch
):
    """The t10k pair is checked against the train pair first: a label the training classes do
    not have, or images of another size, failed after the last epoch with no file named."""
    rng = np.random.default_rng(0)
    idx = tmp_path / "idx"
    idx.mkdir()
    data.write_idx(idx / "train-images-idx3-ubyte", (rng.random((30, 4, 4)) * 250).astype(np.uint8))
    data.write_idx(idx / "train-labels-idx1-ubyte", (np.arange(30) % 3).astype(np.uint8))
    side = 5 if mismatch == "images" else 4
    test_labels = np.arange(10) % (5 if mismatch == "labels" else 3)
    data.write_idx(idx / "t10k-images-idx3-ubyte",
                   (rng.random((10, side, side)) * 250).astype(np.uint8))  # fmt: skip
    data.write_idx(idx / "t10k-labels-idx1-ubyte", test_labels.astype(np.uint8))
    named = "t10k-labels-idx1-ubyte: test label 4" if mismatch == "labels" else "t10k-images"
    assert_user_error(capsys, "train", "--data", idx, "--epochs", "2", "--out", tmp_path / "out",
                      match=named)  # fmt: skip
    assert_nothing_written(tmp_path)


def test_a_run_directory_in_use_by_another_run_is_refused_and_left_alone(tmp_path, capsys):
    """Two runs started with one --out: the second took the first's half-written checkpoint
    for a leftover and removed it, the first then failed, and its cleanup removed the whole
    directory. The directory is now locked while a run writes it (here: held by the test)."""
    from chainrule.cli.train import _run_dir_lock

    out = tmp_path / "same"
    half_written = out / "checkpoints" / ".tmp-epoch-000001.abcd"
    half_written.mkdir(parents=True)
    with _run_dir_lock(out):
        assert_user_error(capsys, "train", "--data", "xor", "--epochs", "2", "--out", out,
                          match=f"--out {out}: in use by another run")  # fmt: skip
        assert half_written.is_dir()  # not taken for a leftover while the other run holds it
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--out", out, "-q")
    assert code == 0, err  # released: a leftover of a run that is gone is cleared as before
    assert (out / "run.json").is_file() and not half_written.exists()
    with _run_dir_lock(out):  # resuming is refused too while another run holds the directory
        assert_user_error(capsys, "train", "--resume", out, "--epochs", "3",
                          match="in use by another run")  # fmt: skip


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_run_json_names_the_loss_a_csv_run_trained_with(tmp_path, capsys, task):
    """A CSV file has no preset loss: config.loss stays "auto" (what the user asked, which
    --resume compares), and run.json said nothing of the loss chosen; its test_loss had no
    name. It is the loss the saved model records."""
    csv = blobs_csv(tmp_path / "blobs.csv")
    code, _, _ = run(capsys, "train", "--data", csv, "--epochs", "2", "--task", task,
                     "--out", tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "r" / "run.json").read_text())
    assert summary["config"]["loss"] == "auto"
    recorded = json.loads((tmp_path / "r" / "model" / "model.json").read_text())["loss"]
    assert summary["loss"] == (recorded["type"] if isinstance(recorded, dict) else recorded)
    assert summary["loss"] == {"classification": "cross-entropy", "regression": "mse"}[task]


@pytest.mark.parametrize(("hidden", "name"), [("2", "encoder-8-2-8"), ("4,2", "encoder-8-4-2-8"),
                                              (None, "encoder-8-3-8")])  # fmt: skip
def test_the_encoders_summary_names_the_network_trained(tmp_path, capsys, hidden, name):
    """--hidden 2 trained an 8-2-8 network and the summary line said encoder-8-3-8."""
    sizes = () if hidden is None else ("--hidden", hidden)
    code, out, _ = run(capsys, "train", "--data", "encoder", *sizes, "--epochs", "1",
                       "--out", tmp_path / "r")  # fmt: skip
    assert code == 0
    assert f"{name}: accuracy" in out
    model, _ = io.load_model(tmp_path / "r" / "model")
    widths = [layer.weight.shape[1] for layer in model if hasattr(layer, "weight")]
    assert "-".join(map(str, [8, *widths])) == name.removeprefix("encoder-")


def test_predicts_help_says_where_json_goes_and_it_goes_there(xor_run, tmp_path, capsys):
    """--help said --json prints on stdout; with --output it writes the file, and stdout holds
    no JSON."""
    inputs = write_csv(tmp_path / "in.csv", [[0, 0], [1, 0]])
    code, out, _ = run(capsys, "predict", xor_run, "--input", inputs, "--json",
                       "--output", tmp_path / "p.json")  # fmt: skip
    assert code == 0 and "predictions" not in out
    assert len(json.loads((tmp_path / "p.json").read_text())["predictions"]) == 2
    code, out, _ = run(capsys, "predict", "--help")
    json_help = " ".join(out.split("\n  --json", 1)[1].split())  # the option's own line
    assert json_help.startswith("write JSON instead of CSV (on stdout, or to --output)")
