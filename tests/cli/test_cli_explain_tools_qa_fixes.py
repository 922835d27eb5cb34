"""``chainrule explain --target NAME`` for a model whose loss takes a row per case: the class's
one-hot row, as training built it from the same label."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import run

SPECIES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris_runs(tmp_path_factory):
    """Two runs on a CSV of three named classes: squared error and cross-entropy."""
    from chainrule.cli import main

    root = tmp_path_factory.mktemp("named")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2)) + np.repeat(np.arange(3), 10)[:, None] * 3
    rows = [f"{a:.4f},{b:.4f},{SPECIES[k // 10]}" for k, (a, b) in enumerate(X)]
    (root / "iris.csv").write_text("x1,x2,species\n" + "\n".join(rows) + "\n")
    for loss in ("mse", "cross-entropy"):
        args = ["train", "--data", root / "iris.csv", "--loss", loss, "--epochs", "1",
                "--out", root / loss, "-q"]  # fmt: skip
        assert main([str(a) for a in args]) == 0
    return root


def _targets(capsys, *args):
    code, out, err = run(capsys, "explain", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)["targets"]


ROWS_LOSSES = [
    ("mse", None),
    ("cross-entropy", "binary-cross-entropy"),
    ("cross-entropy", "squared-error"),
]


@pytest.mark.parametrize(("run_name", "loss"), ROWS_LOSSES)
def test_a_class_name_is_its_one_hot_row_for_a_loss_that_takes_rows(
    iris_runs, capsys, run_name, loss
):
    """--target virginica for a squared-error model of 3 outputs was class number 2, refused
    as "the target has shape (1, 1)". Oracle: the model's stored class names, one-hot by hand,
    and the same rows given as numbers."""
    stored = json.loads((iris_runs / run_name / "model" / "model.json").read_text())
    assert stored["class_names"] == SPECIES
    model = ["--model", iris_runs / run_name] + ([] if loss is None else ["--loss", loss])
    inputs = ["--input", "0.1,0.2;3,3;6,6"]
    by_name = _targets(capsys, *model, *inputs, "--target", "virginica;setosa;versicolor")
    expected = np.eye(3)[[SPECIES.index(n) for n in ("virginica", "setosa", "versicolor")]]
    assert by_name == expected.tolist()
    rows = ";".join(",".join(str(v) for v in row) for row in expected)
    assert by_name == _targets(capsys, *model, *inputs, "--target", rows)


def test_a_class_name_is_still_a_class_label_for_cross_entropy(iris_runs, capsys):
    model, inputs = ["--model", iris_runs / "cross-entropy"], ["--input", "0.1,0.2;3,3"]
    by_name = _targets(capsys, *model, *inputs, "--target", "virginica;setosa")
    assert by_name == _targets(capsys, *model, *inputs, "--target", "2;0")
    assert by_name == np.eye(3)[[2, 0]].tolist()
