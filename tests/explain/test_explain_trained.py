"""``explain`` and ``graph --model`` on runs written by ``chainrule train`` show what ``predict``
shows: the same run directory, the same standardizer, the same outputs, the model's own loss."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.cli.train import load_trained, standardized_rows
from chainrule.tensor import Tensor


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def unscaled_csv(path, n=60, seed=0, classes=3):
    """Columns in the hundreds (a standardizer matters): z = 554 without it."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, 4)) * 20 + 500 + 40 * np.eye(4)[y]
    lines = ["a,b,c,d,label"] + [",".join([*map(str, x), str(t)]) for x, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path, X


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain-trained")
    csv, X = unscaled_csv(root / "unscaled.csv")
    code = main(["train", "--data", str(csv), "--epochs", "5", "--hidden", "5",
                 "--out", str(root / "run"), "--quiet"])  # fmt: skip
    assert code == 0
    return root / "run", X


def own_loss(run_dir, rows, target):
    model, info, loss = load_trained(run_dir)
    x = standardized_rows(np.asarray(rows), info).astype(model.dtype)
    return float(loss(model(Tensor(x)), target).item())


def test_explain_a_run_directory_shows_predicts_outputs(csv_run, capsys, tmp_path):
    run_dir, X = csv_run
    row = ",".join(map(str, X[4]))
    code, out, err = run(capsys, "explain", "--model", run_dir, "--input", row,
                         "--target", "1", "--format", "json", "--no-symbolic")  # fmt: skip
    assert code == 0, err
    explained = json.loads(out)
    (tmp_path / "x.csv").write_text(row + "\n")
    code, out, _ = run(capsys, "predict", run_dir, "--input", tmp_path / "x.csv", "--json")
    predicted = json.loads(out)["predictions"][0]["outputs"]
    top = [unit["y"][0] for unit in explained["layers"][-1]["units"]]
    np.testing.assert_allclose(top, predicted, rtol=1e-4, atol=1e-6)
    first = np.asarray([unit["z"][0] for unit in explained["layers"][1]["units"]])
    assert np.all(np.abs(first) < 50)  # the standardized row, not raw columns near 500
    E = own_loss(run_dir, X[4:5], np.array([1]))
    assert explained["loss"]["E"] == pytest.approx(E, rel=1e-4)
    assert explained["loss"]["reduction"] == "mean"


def test_graph_of_a_trained_model_draws_its_own_loss(csv_run, capsys):
    run_dir, X = csv_run
    row = ",".join(map(str, X[0]))
    code, out, err = run(capsys, "graph", "--model", run_dir, "--input", row, "--target", "0")
    assert code == 0, err and out.startswith("digraph")
    E = own_loss(run_dir, X[0:1], np.array([0]))
    assert f"{E:.4g}" in out or f"{E:.3g}" in out


def test_binary_cross_entropy_model_takes_0_1_targets_from_the_command_line(tmp_path, capsys):
    csv, X = unscaled_csv(tmp_path / "two.csv", classes=2)
    code, _, _ = run(capsys, "train", "--data", csv, "--epochs", "3", "--hidden", "3", "--loss",
                     "binary-cross-entropy", "--out", tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 0
    model, info, loss = load_trained(tmp_path / "r")
    assert loss.name == "binary-cross-entropy"
    rows = ";".join(",".join(map(str, x)) for x in X[:2])
    code, out, err = run(capsys, "explain", "--model", tmp_path / "r", "--input", rows,
                         "--target", "1;0", "--format", "json", "--no-symbolic")  # fmt: skip
    assert code == 0, err
    n_out = json.loads(out)["layers"][-1]["size"]
    target = np.array([[1.0], [0.0]]) if n_out == 1 else np.eye(n_out)[[1, 0]]
    E = own_loss(tmp_path / "r", X[:2], target)
    assert json.loads(out)["loss"]["E"] == pytest.approx(E, rel=1e-4)


def test_a_model_file_inside_the_run_still_works(csv_run, capsys):
    run_dir, X = csv_run
    assert (run_dir / "model" / "model.json").exists()
    row = ",".join(map(str, X[1]))
    code, _, err = run(capsys, "explain", "--model", run_dir / "model", "--input", row,
                       "--target", "1", "--format", "json", "--no-symbolic")  # fmt: skip
    assert code == 0, err
    assert io.load_model(run_dir / "model")[1].get("standardizer")
