"""``chainrule train --task regression``: a CSV file whose last column holds real numbers, trained,
evaluated, predicted and explained from the command line (the library's regression, end to end)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule.cli import main


def regression_table(n: int = 120, seed: int = 0) -> np.ndarray:
    """Three features and a smooth real-valued target, negative and above 1 (not a class)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2
    return np.column_stack([X, y])


def write_table(path, table, header=True):
    lines = ["a,b,c,y"] if header else []
    lines += [",".join(f"{v:.6f}" for v in row) for row in table]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("regression")
    table = regression_table()
    csv = write_table(root / "reg.csv", table)
    code = main(["train", "--data", str(csv), "--task", "regression", "--hidden", "16",
                 "--epochs", "60", "--lr", "0.01", "--out", str(root / "run"), "-q"])  # fmt: skip
    assert code == 0
    return root, table


def test_a_regression_run_records_its_task_and_a_linear_output(regression_run):
    root, table = regression_run
    info = json.loads((root / "run" / "model" / "model.json").read_text())
    assert info["meta"]["task"] == "regression"
    assert info["meta"]["run"]["task"] == "regression"
    assert info["meta"]["run"]["loss"] == "auto"
    summary = json.loads((root / "run" / "run.json").read_text())
    assert summary["test_accuracy"] is None
    # it learned: the mean squared error on held-out cases is well below the target's variance
    assert summary["test_loss"] < 0.2 * table[:, 3].var()


def test_evaluate_is_the_mean_squared_error_of_predict(regression_run, tmp_path, capsys):
    """The oracle: NumPy's mean of (t - y)^2 over the predictions ``predict`` prints for the
    file's own feature columns, against ``evaluate``'s loss on the same file."""
    root, table = regression_run
    features = write_table(tmp_path / "x.csv", table[:, :3], header=False)
    code, out, err = run(capsys, "predict", root / "run", "--input", features, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["outputs"] == ["y"]  # the target column's name, no class named "1"
    assert [row["line"] for row in document["predictions"]] == list(range(1, len(table) + 1))
    predicted = np.array([row["outputs"][0] for row in document["predictions"]])
    assert predicted.min() < 0 and predicted.max() > 1  # a linear output unit, not a logistic
    code, out, _ = run(capsys, "predict", root / "run", "--input", features)
    assert code == 0 and out.splitlines()[0] == "line,y"  # the file's line, the prediction
    # each value in full, as the model's float32 holds it (it was rounded to 6 digits)
    written = np.array([[float(v) for v in line.split(",")] for line in out.splitlines()[1:]])
    exact = np.float32(predicted)
    np.testing.assert_array_equal(written[:, 0], np.arange(1, len(table) + 1))
    np.testing.assert_array_equal(np.float32(written[:, 1]), exact)
    assert any(len(line.split(",")[1].lstrip("-").replace(".", "")) > 6
               for line in out.splitlines()[1:])  # fmt: skip
    code, out, err = run(capsys, "evaluate", root / "run", "--data", root / "reg.csv", "--json")
    assert code == 0, err
    evaluated = json.loads(out)
    assert evaluated["cases"] == len(table) and evaluated["accuracy"] is None
    mse = np.mean((table[:, 3] - predicted) ** 2)
    assert evaluated["loss"] == pytest.approx(mse, rel=1e-4)


def test_the_summary_line_reports_the_test_loss(tmp_path, capsys):
    csv = write_table(tmp_path / "reg.csv", regression_table(40))
    code, out, err = run(capsys, "train", "--data", csv, "--task", "regression", "--epochs", "2",
                         "--out", tmp_path / "r", "-q")  # fmt: skip
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("reg: test loss ") and "accuracy" not in first, first
    assert "held-out test cases after 2 epochs" in first


def test_explain_takes_a_regression_runs_own_case(regression_run, tmp_path, capsys):
    """The explainer's E for one held-out case is mse's (t - y)^2 with the run's own target, and
    its dE/dy is 2 (y - t)."""
    root, table = regression_run
    out = tmp_path / "e.json"
    code, _, err = run(capsys, "explain", "--model", root / "run", "--case", 2, "--format",
                       "json", "--out", out)  # fmt: skip
    assert code == 0, err
    explained = json.loads(out.read_text())
    info = json.loads((root / "run" / "model" / "model.json").read_text())
    mean, std = (np.array(info["standardizer"][k]) for k in ("mean", "std"))
    raw = np.array(explained["inputs"][0]) * std + mean
    (row,) = np.nonzero(np.all(np.abs(table[:, :3] - raw) < 1e-4, axis=1))[0][:1]
    assert explained["targets"][0] == pytest.approx([table[row, 3]], rel=1e-5)
    (unit,) = explained["layers"][-1]["units"]  # the one linear output unit
    assert explained["layers"][-1]["activation"] == "identity"
    y, t = unit["y"][0], table[row, 3]
    assert explained["loss"]["E"] == pytest.approx((t - y) ** 2, rel=1e-4)
    assert unit["dE_dy"][0]["value"] == pytest.approx(2 * (y - t), rel=1e-4)


def test_a_real_valued_column_without_task_says_regression(tmp_path, capsys):
    csv = write_table(tmp_path / "reg.csv", regression_table(20))
    assert_user_error(capsys, "train", "--data", csv, "--out", tmp_path / "out",
                      match="is not an integer class; for real-valued targets read the "
                      "file as a regression (task='regression', --task regression)")  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--task", "ordinal"], "--task: unknown value 'ordinal'; choose one of classification"),
        (["--task", "regression", "--loss", "cross-entropy"], "--loss cross-entropy needs classes"),
        (["--task", "regression", "--loss", "binary-cross-entropy"], "needs classes"),
    ],
    ids=["unknown-task", "cross-entropy", "bce"],
)
def test_a_wrong_task_or_loss_is_one_line(tmp_path, capsys, args, match):
    csv = write_table(tmp_path / "reg.csv", regression_table(20))
    assert_user_error(capsys, "train", "--data", csv, *args, "--out", tmp_path / "out",
                      match=match)  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_task_names_what_a_csv_holds_not_a_builtin_dataset(tmp_path, capsys):
    assert_user_error(capsys, "train", "--data", "xor", "--task", "regression",
                      "--out", tmp_path / "out",
                      match="--task regression: xor is a multilabel dataset")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_a_csv_run_records_classification_and_resume_keeps_the_task(tmp_path, capsys):
    rows = [f"{k % 3},{k % 5},{k % 2}" for k in range(30)]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    code, _, err = run(capsys, "train", "--data", tmp_path / "c.csv", "--epochs", "2", "--out",
                       tmp_path / "r", "-q")  # fmt: skip
    assert code == 0, err
    info = json.loads((tmp_path / "r" / "model" / "model.json").read_text())
    assert info["meta"]["run"]["task"] == "classification"
    assert_user_error(capsys, "train", "--resume", tmp_path / "r", "--task", "regression",
                      "--epochs", "3", match="--task cannot change when resuming")  # fmt: skip
    code, _, err = run(capsys, "train", "--resume", tmp_path / "r", "--task", "classification",
                       "--epochs", "3", "-q")  # fmt: skip
    assert code == 0, err


def test_evaluating_a_regression_run_on_a_builtin_dataset_names_the_mismatch(
    regression_run, capsys
):
    root, _ = regression_run
    line = assert_user_error(capsys, "evaluate", root / "run", "--data", "xor", match="xor")
    assert "--task" not in line  # the user gave no --task: the message is about the model


def test_targets_whose_squares_overflow_the_dtype_name_it_before_training(tmp_path, capsys):
    """float32's limit is 3.4e38: targets of 1e20 made the first loss inf at any learning rate,
    and the message blamed the learning rate."""
    table = regression_table(30)
    table[:, 3] *= 1e20
    csv = write_table(tmp_path / "huge.csv", table)
    assert_user_error(capsys, "train", "--data", csv, "--task", "regression", "--out",
                      tmp_path / "out", match="overflow float32 once the loss squares")  # fmt: skip
    assert not (tmp_path / "out").exists()
    code, _, err = run(capsys, "train", "--data", csv, "--task", "regression", "--dtype",
                       "float64", "--epochs", "1", "--out", tmp_path / "ok", "-q")  # fmt: skip
    assert code == 0, err


def test_resume_accepts_the_loss_its_default_chose(tmp_path, capsys):
    """A run whose --loss was left to its data stores "auto"; repeating the loss that chose
    (mse for a regression) on --resume is the same run, and another loss is still refused."""
    csv = write_table(tmp_path / "reg.csv", regression_table(30))
    common = ["--data", csv, "--task", "regression", "-q"]
    assert run(capsys, "train", *common, "--epochs", "2", "--out", tmp_path / "r")[0] == 0
    code, _, err = run(capsys, "train", "--resume", tmp_path / "r", "--loss", "mse",
                       "--epochs", "3", "-q")  # fmt: skip
    assert code == 0, err
    assert_user_error(capsys, "train", "--resume", tmp_path / "r", "--loss", "squared-error",
                      "--epochs", "4", match="--loss cannot change when resuming")  # fmt: skip


def test_targets_far_from_zero_train_as_well_as_centred_ones(tmp_path, capsys):
    """The output started at 0: targets of 1000 + a spread of about 2 took the whole default run
    to reach, which ended with a loss thousands of times a constant predictor's, silently. The
    output bias now starts at the training targets' mean, so a shift of the targets changes
    nothing but the bias."""
    table = regression_table()
    shifted = table.copy()
    shifted[:, -1] += 1000.0
    summaries = []
    for name, t in (("centred", table), ("shifted", shifted)):
        csv = write_table(tmp_path / f"{name}.csv", t)
        assert main(["train", "--data", str(csv), "--task", "regression", "--out",
                     str(tmp_path / name), "-q", "--json", "--dtype", "float64"]) == 0  # fmt: skip
        summaries.append(json.loads(capsys.readouterr().out))
    centred, moved = summaries
    assert moved["test_loss"] == pytest.approx(centred["test_loss"], rel=1e-6)
    assert moved["test_loss"] < 0.5 * moved["mean_predictor_loss"]
    # the baseline is the loss of predicting the training targets' mean, computed here alone
    from chainrule.train import runs

    config = runs.RunConfig.from_json(moved["config"])
    prepared = runs.load_data(config)
    train_mean = prepared.train.y.mean(axis=0)
    expected = np.mean((prepared.test.y - train_mean) ** 2)
    assert moved["mean_predictor_loss"] == pytest.approx(expected, rel=1e-9)


def test_a_run_hardly_better_than_the_mean_says_so(tmp_path, capsys):
    table = regression_table()
    table[:, -1] *= 1e6  # a spread the default run cannot learn in its 20 epochs
    csv = write_table(tmp_path / "big.csv", table)
    assert main(["train", "--data", str(csv), "--task", "regression", "--out",
                 str(tmp_path / "big")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "than predicting the training targets' mean" in out
    summary = json.loads((tmp_path / "big" / "run.json").read_text())
    worse = summary["test_loss"] > summary["mean_predictor_loss"]
    assert ("note: worse than" in out) == worse and ("note: hardly better" in out) != worse


def test_explain_takes_a_regression_files_target_column(regression_run, tmp_path, capsys):
    """The last column of a regression CSV is its target for ``explain --input``, as written
    (not rounded to the model's float32): the same derivation as with --target typed in."""
    root, table = regression_run
    rows = write_table(tmp_path / "rows.csv", table[:2], header=False)
    targets = ";".join(line.rsplit(",", 1)[1] for line in rows.read_text().splitlines())
    explained = []
    for extra in ([], ["--target", targets]):
        code, out, err = run(capsys, "explain", "--model", root / "run", "--input", rows,
                             *extra, "--format", "json")  # fmt: skip
        assert code == 0, err
        explained.append(json.loads(out))
    assert explained[0] == explained[1]
    assert [row[0] for row in explained[0]["targets"]] == [float(t) for t in targets.split(";")]
