"""``chainrule predict --json`` wrote a float32 model's outputs with float64's digits
(0.10000000149011612 for float32's 0.1): each number is now the shortest text that reads back as
the same float32, as the CSV writes a regression's. A float64 model's numbers are as they were,
every digit of each float64. The oracle: NumPy's own shortest repr of each float32
(``str(np.float32(x))``), and predict's CSV output of the same rows."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from cli_run import run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict_json")
    X = np.random.default_rng(61).normal(size=(40, 3))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    values = X @ [1.5, -2.0, 0.7] + 0.1
    rows = [",".join(f"{v:.5f}" for v in row) for row in X]
    (root / "classes.csv").write_text(
        "a,b,c,label\n" + "".join(f"{row},{k}\n" for row, k in zip(rows, labels))
    )
    (root / "values.csv").write_text(
        "a,b,c,y\n" + "".join(f"{row},{y:.5f}\n" for row, y in zip(rows, values))
    )
    (root / "inputs.csv").write_text("a,b,c\n" + "".join(f"{row}\n" for row in rows[:8]))
    return root


def _trained(root, capsys, name: str, dtype: str):
    out = root / f"{name}-{dtype}"
    if not out.exists():
        task = ["--task", "regression"] if name == "values" else []
        options = ["--epochs", 2, "--hidden", 4, "--dtype", dtype, "-q", "--out", out]
        code, _, err = run(capsys, "train", "--data", root / f"{name}.csv", *task, *options)
        assert code == 0, err
    return out


def _predicted(root, capsys, model, *options):
    code, out, err = run(capsys, "predict", model, "--input", root / "inputs.csv", *options)
    assert code == 0, err
    return out


def _numbers_as_written(text: str) -> list[str]:
    """Every number of predict's JSON, as the text it was written as."""
    found: list[str] = []
    json.loads(text, parse_float=lambda written: found.append(written) or float(written))
    return found


@pytest.mark.parametrize("name", ["classes", "values"])
def test_a_float32_models_json_numbers_are_float32s_shortest_text(data, capsys, name):
    model = _trained(data, capsys, name, "float32")
    written = _numbers_as_written(_predicted(data, capsys, model, "--json"))
    assert written
    for text in written:
        shortest = str(np.float32(text))  # NumPy's shortest text that reads back as this float32
        assert float(text) == float(shortest), (text, shortest)
    if name == "values":  # the CSV's cells: the same numbers, in the same shortest text
        _assert_json_is_the_csvs_numbers(data, capsys, model)
        # a float64 model's numbers keep every digit of each float64, as before
        full = _assert_json_is_the_csvs_numbers(
            data, capsys, _trained(data, capsys, name, "float64")
        )
        assert any(float(np.float32(value)) != value for value in full)  # not float32's


def _assert_json_is_the_csvs_numbers(root, capsys, model) -> list[float]:
    """predict's JSON predictions are its CSV's cells (the exact text of each output, in the
    model's dtype) read as numbers; returns them."""
    document = json.loads(_predicted(root, capsys, model, "--json"))
    cells = list(csv.DictReader(io.StringIO(_predicted(root, capsys, model))))
    predicted = [p["prediction"] for p in document["predictions"]]
    assert len(cells) == len(predicted) == 8
    assert predicted == [float(cell["y"]) for cell in cells]  # the target column's name
    assert [p["outputs"] for p in document["predictions"]] == [[value] for value in predicted]
    return predicted


def test_predict_takes_out_as_every_other_command_names_its_file(data, capsys, tmp_path):
    """``predict --out p.csv`` (explain, graph, train and export write to --out) was "No such
    option: --out"; it writes what --output writes."""
    model = _trained(data, capsys, "classes", "float32")
    for option in ("--out", "--output"):
        target = tmp_path / f"p{option}.csv"
        _predicted(data, capsys, model, option, target)
        assert target.read_text() == _predicted(data, capsys, model)
