"""``explain`` and ``graph --model`` on runs written by ``chainrule train`` show what ``predict``
shows: the same run directory, the same standardizer, the same outputs, the model's own loss."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.cli.train import load_trained
from chainrule.train import runs


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def raw_rows(run_dir, rows):
    """Rows of the run's own data file as a user has them: unscaled, labels apart."""
    from chainrule import data

    _, info, _ = load_trained(run_dir)
    ds = data.load(runs.RunConfig.from_json(info["meta"]["run"]).data)
    return ds.X[rows], np.asarray(ds.y)[rows]


def write_rows(path, X):
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in X) + "\n")
    return path


@pytest.mark.parametrize(
    "name",
    ["digits", "csv cross-entropy", "csv squared-error", "csv mse", "csv binary-cross-entropy"],
)
def test_explain_a_run_shows_predicts_outputs_and_the_models_own_loss(
    trained_run, capsys, tmp_path, name
):
    run_dir = trained_run(name)
    X, y = raw_rows(run_dir, [4, 5])
    rows = write_rows(tmp_path / "x.csv", X)
    model, info, loss = load_trained(run_dir)
    n_out = list(info["parameters"].values())[-1][-1]
    labels = loss.name == "cross-entropy" or (n_out == 1 and loss.name != "mse")
    targets = y[:, None].astype(float) if labels else np.eye(n_out)[y]
    target = ";".join(",".join(repr(float(v)) for v in row) for row in targets)
    code, out, err = run(capsys, "explain", "--model", run_dir, "--input", rows, "--target",
                         target, "--format", "json", "--no-symbolic")  # fmt: skip
    assert code in (0, 1), err  # 1 only if a float32 finite difference disagreed
    explained = json.loads(out)
    code, out, _ = run(capsys, "predict", run_dir, "--input", rows, "--json")
    predicted = [p["outputs"] for p in json.loads(out)["predictions"]]
    shown = np.array([u["y"] for u in explained["layers"][-1]["units"]]).T
    np.testing.assert_allclose(shown, predicted, rtol=1e-4, atol=1e-6)
    from chainrule.cli.train import standardized_rows
    from chainrule.tensor import Tensor

    x = standardized_rows(X, info).astype(model.dtype)
    own = loss(model(Tensor(x)), loss.target_rows(targets, n_out).astype(model.dtype))
    assert explained["loss"]["E"] == pytest.approx(float(own.item()), rel=1e-4)
    assert explained["loss"]["reduction"] == loss.reduction


def test_graph_of_a_trained_model_draws_its_own_loss(trained_run, capsys):
    run_dir = trained_run("csv cross-entropy")
    X, y = raw_rows(run_dir, [0])
    row = ",".join(map(str, X[0]))
    code, out, err = run(capsys, "graph", "--model", run_dir, "--input", row,
                         "--target", str(int(y[0])), "--format", "dot")  # fmt: skip
    assert code == 0, err
    assert out.startswith("digraph")
    assert "softmax_cross_entropy" in out  # the model's own loss op, not a re-written sum


def test_a_model_file_inside_the_run_still_works(trained_run, capsys):
    run_dir = trained_run("csv cross-entropy")
    X, _ = raw_rows(run_dir, [1])
    code, _, err = run(capsys, "explain", "--model", run_dir / "model", "--input",
                       ",".join(map(str, X[0])), "--target", "1", "--format", "json",
                       "--no-symbolic")  # fmt: skip
    assert code == 0, err
