"""What ``chainrule train`` says of a regression's data (session 69): targets of a spread far
from 1 (house prices, std 1.2e5), which the command does not scale, trained no better than their
mean with a note that blamed the epochs and the rate first; a header naming its first column
``y`` trained a model predicting the last input from the targets, silently; whole-number
measurements (years, negative numbers) read as classes were refused with no word of --task
regression. Oracles: the training split's targets read back here (NumPy's std), and the data
divided as the note says training well."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import assert_user_error, run  # noqa: E402

from chainrule.train import runs  # noqa: E402

HINT = "read the file as a regression (task='regression', --task regression)"


def _write(path: Path, header: str, table: np.ndarray, fmt: str = "{:.6f}") -> Path:
    lines = [header] + [",".join(fmt.format(v) for v in row) for row in table]
    path.write_text("\n".join(lines) + "\n")
    return path


def _houses(scale: float, n: int = 200, seed: int = 0) -> np.ndarray:
    """Three inputs and a smooth target of spread about ``scale``, offset by 3 of them."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    y = (2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 + 3) * scale
    return np.column_stack([X, y])


def _train(capsys, tmp_path: Path, csv: Path, name: str, *extra) -> tuple[dict, str]:
    code, out, err = run(capsys, "train", "--data", csv, "--task", "regression", "--out",
                         tmp_path / name, "--json", *extra)  # fmt: skip
    assert code == 0, err
    return json.loads(out), err


def test_a_far_spread_of_targets_is_named_with_what_to_divide_by(tmp_path, capsys):
    csv = _write(tmp_path / "house.csv", "a,b,c,price", _houses(1e5))
    summary, err = _train(capsys, tmp_path, csv, "big")
    # the premise: the default run is no better than the mean
    assert summary["test_loss"] >= 0.9 * summary["mean_predictor_loss"]
    # the training split's targets, read back as the run read them
    prepared = runs.load_data(runs.RunConfig.from_json(summary["config"]))
    std = float(np.std(np.asarray(prepared.train.y, dtype=np.float64)))
    assert summary["target_std"] == pytest.approx([std], rel=1e-9)
    (note,) = [n for n in summary["notes"] if "targets' mean" in n]
    factor = 10 ** round(math.log10(std))
    assert f"standard deviation is {std:.3g}" in note
    assert f"divide the target column by {factor:g}" in note
    assert "train longer" not in note and f"note: {note}" in err
    # the advice holds: the same file divided so trains well below the mean, with no note
    scaled = _houses(1e5)
    scaled[:, -1] /= factor
    csv = _write(tmp_path / "scaled.csv", "a,b,c,price", scaled)
    summary, _ = _train(capsys, tmp_path, csv, "scaled")
    assert summary["test_loss"] < 0.1 * summary["mean_predictor_loss"]
    assert not summary["notes"]


def test_a_tiny_spread_is_named_with_what_to_multiply_by(tmp_path, capsys):
    csv = _write(tmp_path / "tiny.csv", "a,b,c,y", _houses(1e-4), "{:.12g}")
    summary, _ = _train(capsys, tmp_path, csv, "tiny")
    (std,) = summary["target_std"]
    assert std <= 0.01 and summary["test_loss"] >= 0.9 * summary["mean_predictor_loss"]
    (note,) = [n for n in summary["notes"] if "targets' mean" in n]
    assert f"standard deviation is {std:.3g}" in note
    assert f"multiply the target column by {10 ** -round(math.log10(std)):g}" in note


@pytest.mark.parametrize(
    ("stds", "named"),
    [
        ([99.0], False),
        ([100.0], True),
        ([0.0101], False),
        ([0.01], True),
        ([1.0], False),
        ([1.0, 2e3], True),
        ([0.0], False),
        (None, False),
    ],  # fmt: skip
)
def test_the_spread_named_is_100_or_more_or_001_or_less(stds, named):
    advice = runs.target_spread_advice(stds)
    assert (advice is not None) == named
    if named:
        assert "standard deviation" in advice and "train again" in advice


@pytest.mark.parametrize("name", ["target", "label", "class"])
def test_a_regression_file_naming_another_column_as_its_label_is_refused(tmp_path, capsys,
                                                                         name):  # fmt: skip
    table = _houses(1.0, n=40)[:, [3, 0, 1]]  # the target first
    csv = _write(tmp_path / "first.csv", f"{name},a,b", table)
    said = f"column 1 ('{name}') is named as a label"
    line = assert_user_error(capsys, "train", "--data", csv, "--task", "regression", "--out",
                             tmp_path / "r", match=said)  # fmt: skip
    assert f"--label-column {name}" in line and "column 3 ('b')" in line
    assert not (tmp_path / "r").exists()
    # read as it says, the first column is the target
    summary, _ = _train(capsys, tmp_path, csv, "named", "--label-column", name, "--epochs", "1")
    prepared = runs.load_data(runs.RunConfig.from_json(summary["config"]))
    assert prepared.full.feature_names == ["a", "b"]


def test_a_y_first_in_a_regression_file_is_warned_of_and_trains(tmp_path, capsys):
    """y may be the target or a coordinate (y,z,temperature): a warning names it and the way to
    read it as the target; the run trains on the last column, as documented."""
    csv = _write(tmp_path / "first.csv", "y,a,b", _houses(1.0, n=40)[:, [3, 0, 1]])
    code, _, err = run(capsys, "train", "--data", csv, "--task", "regression", "--epochs", "1",
                       "--out", tmp_path / "r", "-q")  # fmt: skip
    assert code == 0, err
    assert "column 1 ('y') has the name a regression's target" in err
    assert "--label-column y" in err


def test_y_beside_x_is_a_coordinate(tmp_path, capsys):
    csv = _write(tmp_path / "xy.csv", "x,y,height", _houses(1.0, n=40)[:, [0, 1, 3]])
    summary, _ = _train(capsys, tmp_path, csv, "xy", "--epochs", "1")
    prepared = runs.load_data(runs.RunConfig.from_json(summary["config"]))
    assert prepared.full.feature_names == ["x", "y"]


def test_years_read_as_classes_point_to_task_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(60, 2)), rng.integers(1890, 2009, 60)])
    csv = _write(tmp_path / "year.csv", "a,b,year", table, "{:g}")
    line = assert_user_error(capsys, "train", "--data", csv, "--out", tmp_path / "r",
                             match="number the classes 0..k-1")  # fmt: skip
    assert line.endswith(f"; for measurements, not classes, {HINT}"), line


def test_negative_whole_numbers_point_to_task_regression(tmp_path, capsys):
    table = np.column_stack([np.arange(8.0), np.ones(8), [1, 0, 2, -2, 1, 0, 3, 1]])
    csv = _write(tmp_path / "neg.csv", "a,b,y", table, "{:g}")
    said = "line 5, column 3 ('y'): label -2 is out of range (>= 0)"
    line = assert_user_error(capsys, "train", "--data", csv, "--out", tmp_path / "r",
                             match=said)  # fmt: skip
    assert line.endswith(f"; for measurements, not classes, {HINT}"), line
