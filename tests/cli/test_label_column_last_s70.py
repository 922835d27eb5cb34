"""A run trained with ``--label-column`` reads rows in its training file's format, label column
included, wherever that column is: ``predict``, ``explain --input`` and ``graph --input`` set it
aside. The label last was kept as one more input ("Standardizer.transform: fitted on 4 features,
got shape (2, 5)"; "--input: 5 values per case but model run takes 4")."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import assert_user_error, run, train_small

NAMES = ["a", "b", "c", "d"]


def _write(path, X, labels, at):
    """A CSV of ``X``'s rows with a ``topic`` column of ``labels`` inserted at index ``at``."""
    names = [*NAMES]
    names.insert(at, "topic")
    lines = [",".join(names)]
    for row, label in zip(X, labels):
        cells = [f"{v:.6f}" for v in row]
        cells.insert(at, label)
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(
    scope="module", params=[("first", 0), ("middle", 2), ("last", 4)], ids=lambda p: p[0]
)
def labelled_run(request, tmp_path_factory):
    """(run directory, training-format rows file, the same rows' features alone)."""
    where, at = request.param
    folder = tmp_path_factory.mktemp(f"label_{where}")
    rng = np.random.default_rng(7)
    X = rng.random((60, 4)) * [1.0, 5.0, 2.0, 0.5] + [0.0, -2.0, 1.0, 3.0]
    labels = np.where(X[:, 0] > 0.5, "pos", "neg")
    data = _write(folder / "d.csv", X, labels, at)
    run_dir = train_small(folder / "run", data, "--label-column", "topic")
    rows = _write(folder / "rows.csv", X[:3], labels[:3], at)
    features = folder / "features.csv"
    features.write_text(
        ",".join(NAMES) + "\n" + "".join(",".join(f"{v:.6f}" for v in r) + "\n" for r in X[:3])
    )
    return run_dir, rows, features


def test_predict_sets_the_label_column_aside(capsys, labelled_run):
    run_dir, rows, features = labelled_run
    code, out, err = run(capsys, "predict", run_dir, "--input", rows)
    assert code == 0, err
    code, alone, err = run(capsys, "predict", run_dir, "--input", features)
    assert code == 0, err
    assert out == alone  # the same cases, the same lines, the same scores


def test_explain_input_sets_the_label_column_aside(capsys, labelled_run):
    run_dir, rows, _ = labelled_run
    code, out, err = run(capsys, "explain", "--model", run_dir, "--input", rows)
    assert code == 0, err
    assert "4 inputs" in out


def test_graph_input_sets_the_label_column_aside(capsys, labelled_run, tmp_path):
    run_dir, rows, _ = labelled_run
    svg = tmp_path / "g.svg"
    code, _, err = run(capsys, "graph", "--model", run_dir, "--input", rows, "--out", svg)
    assert code == 0, err
    assert svg.exists()


def test_last_label_column_by_number(capsys, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.random((60, 4))
    labels = np.where(X[:, 0] > 0.5, "pos", "neg")
    data = _write(tmp_path / "d.csv", X, labels, 4)
    run_dir = train_small(tmp_path / "run", data, "--label-column", "5")
    rows = _write(tmp_path / "rows.csv", X[:2], labels[:2], 4)
    capsys.readouterr()  # training's own lines
    code, out, err = run(capsys, "predict", run_dir, "--input", rows)
    assert code == 0, err
    assert len(out.strip().splitlines()) == 3


@pytest.mark.parametrize("command", ["predict", "explain", "graph"])
def test_a_wrong_width_names_the_inputs_and_the_label_column(capsys, labelled_run, command):
    run_dir, rows, _ = labelled_run
    wide = rows.with_name("wide.csv")
    lines = rows.read_text().splitlines()
    wide.write_text("\n".join([lines[0] + ",e"] + [line + ",1" for line in lines[1:]]) + "\n")
    args = {
        "predict": ["predict", run_dir, "--input", wide],
        "explain": ["explain", "--model", run_dir, "--input", wide],
        "graph": ["graph", "--model", run_dir, "--input", wide, "--out", wide.with_suffix(".svg")],
    }[command]
    line = assert_user_error(capsys, *args, match="6 columns but the model takes 4 inputs")
    assert "label column" in line and "Standardizer" not in line
