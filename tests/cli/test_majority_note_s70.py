"""``chainrule train`` on a file of 1% positives whose model predicts the larger class for every
case reported "test accuracy 99.00%" with no word, where a regression no better than its mean
gets a note. A classifier not clearly more accurate than predicting its largest class for every
case now gets the classification counterpart: the note names the class and its share, and
points to ``chainrule evaluate`` (per-class recall). Oracle: the test cases' labels, read back
as the run split them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import run  # noqa: E402

from chainrule.train import runs  # noqa: E402


def _write(path: Path, X: np.ndarray, labels: list[str]) -> Path:
    header = ",".join(f"x{j}" for j in range(X.shape[1])) + ",label"
    rows = [",".join(f"{v:.5f}" for v in row) + f",{t}" for row, t in zip(X, labels)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _rare(path: Path) -> Path:
    """500 cases of noise, 1% of them 'fraud': nothing to learn but the larger class."""
    rng = np.random.default_rng(0)
    labels = ["ok"] * 495 + ["fraud"] * 5
    return _write(path, rng.normal(size=(500, 4)), labels)


def _train(capsys, tmp_path: Path, csv: Path, *extra) -> tuple[int, str, str]:
    return run(capsys, "train", "--data", csv, "--hidden", "4", "--epochs", "10", "--out",
               tmp_path / "run", *extra)  # fmt: skip


def test_an_accuracy_no_better_than_the_largest_class_is_noted(tmp_path, capsys):
    code, out, err = _train(capsys, tmp_path, _rare(tmp_path / "rare.csv"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    prepared = runs.load_data(runs.RunConfig.from_json(summary["config"]))
    labels = np.asarray(prepared.test.y)
    names = prepared.test.class_names
    share = float(np.mean(labels == names.index("ok")))
    assert summary["largest_class"] == {"class": "ok", "share": pytest.approx(share)}
    assert summary["test_accuracy"] == pytest.approx(share)  # the premise: all 'ok'
    (note,) = [n for n in summary["notes"] if "for every case" in n]
    assert f"a model predicting 'ok' for every case, which scores {share:.1%}" in note
    assert f"chainrule evaluate {tmp_path / 'run'}" in note
    assert f"note: {note}" in err  # --json says it on stderr too


def test_the_note_is_printed_under_the_summary_line(tmp_path, capsys):
    code, out, err = _train(capsys, tmp_path, _rare(tmp_path / "rare.csv"), "-q")
    assert code == 0, err
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "test accuracy" in line)
    assert lines[first + 1].startswith("note: "), out
    assert "than a model predicting 'ok' for every case" in lines[first + 1]
    assert "each class's recall" in lines[first + 1]


def test_a_classifier_clearly_above_its_largest_class_gets_no_note(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    labels = ["yes" if a + b > 0 else "no" for a, b in X]
    code, out, err = _train(capsys, tmp_path, _write(tmp_path / "easy.csv", X, labels),
                            "--json", "--lr", "0.05")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["test_accuracy"] > 0.9
    assert not [n for n in summary["notes"] if "for every case" in n]


def test_a_regression_has_no_largest_class(tmp_path, capsys):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 2))
    csv = tmp_path / "r.csv"
    csv.write_text("a,b,y\n" + "\n".join(f"{a:.4f},{b:.4f},{a + b:.4f}" for a, b in X) + "\n")
    code, out, err = run(capsys, "train", "--data", csv, "--task", "regression", "--epochs",
                         "2", "--out", tmp_path / "reg", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["largest_class"] is None
