"""A saved model whose first layer is a module of the user's own takes the width it takes.

``model_widths`` read a Sequential's input width from the first Linear it found, past any
layer whose width it could not tell, and else from the first parameter's first axis: a column
selector that takes 6 columns and passes 4 on, before a Linear(4, 3), was said to take 4, and
``evaluate``, ``predict``, ``explain --input`` and ``save_model`` (a standardizer of its 6
columns) refused the data it runs on. Its input width is now unknown: readers take the file's
own width and the model's forward says whether it runs on it, in one line from the CLI. The
oracle for every number: the model itself, run on the same rows in memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.data import Dataset
from chainrule.errors import DataError
from chainrule.tensor import Tensor
from chainrule.train.runs import check_model_fits, model_widths

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402


class _Pick(nn.Module):
    """Columns 0, 2, 3 and 5 of its input: it takes 6 (or more) and passes 4 on."""

    def __init__(self, columns=(0, 2, 3, 5)) -> None:
        super().__init__()
        self.columns = list(columns)

    def forward(self, x):
        return x[:, self.columns]

    def config(self):
        return {"type": "_PickS55", "columns": self.columns}


nn.register_module(_Pick, name="_PickS55")

ROWS = np.random.default_rng(0).normal(size=(9, 6))
LABELS = np.arange(9) % 3


def _picking_model() -> nn.Sequential:
    return nn.Sequential(_Pick(), nn.Linear(4, 3, rng=0))


def _csv(path: Path, rows: np.ndarray, labels: np.ndarray | None = None) -> Path:
    columns = rows if labels is None else np.column_stack([rows, labels])
    path.write_text("\n".join(",".join(map(repr, map(float, row))) for row in columns) + "\n")
    return path


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _direct(net: nn.Module, rows: np.ndarray) -> np.ndarray:
    """The model's own outputs for ``rows``, computed here in memory (float64 logits)."""
    with cr.no_grad():
        return np.asarray(net(Tensor(rows.astype(np.float32))).data, dtype=np.float64)


def _config(*layers) -> dict:
    return {"architecture": {"type": "Sequential", "layers": list(layers)},
            "parameters": {"1.weight": [4, 3], "1.bias": [3]}}  # fmt: skip


def test_the_input_width_is_unknown_where_a_module_of_ones_own_comes_first() -> None:
    linear = {"type": "Linear", "n_in": 4, "n_out": 3}
    pick, tanh = {"type": "_PickS55"}, {"type": "Tanh"}
    assert model_widths(_config(pick, linear)) == (None, 3)  # was (4, 3): a guess
    assert model_widths(_config(tanh, pick, linear)) == (None, 3)  # a unit passes the width on
    nested = {"type": "Sequential", "layers": [pick, linear]}
    assert model_widths(_config(nested, {"type": "Linear", "n_in": 3, "n_out": 2})) == (None, 2)
    assert model_widths(_config(pick)) == (None, 3)  # nor the first parameter's axis
    # what the config tells is still told: units, Dropout and Sequentials of them pass through
    units = {"type": "Sequential", "layers": [tanh, {"type": "Dropout", "p": 0.5}]}
    assert model_widths(_config(units, tanh, linear)) == (4, 3)
    assert model_widths(_config(linear, pick)) == (4, 3)


def test_the_python_api_takes_the_rows_the_model_runs_on(tmp_path) -> None:
    net = _picking_model()
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy())
    model, info = io.load_model(tmp_path / "m")
    six = Dataset(ROWS, LABELS, task="classification", name="six")
    check_model_fits(info, six, "m")  # refused before: "6 input features but ... expects 4"
    outputs = cr.train.predict(model, ROWS)
    np.testing.assert_allclose(outputs, _direct(net, ROWS), rtol=1e-6, atol=1e-7)
    metrics = cr.train.evaluate(model, nn.CrossEntropy(), six)
    expected = -np.log(_softmax(_direct(net, ROWS))[np.arange(9), LABELS]).mean()
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)


def test_predict_and_evaluate_run_a_model_of_a_custom_first_layer(tmp_path, capsys) -> None:
    net = _picking_model()
    scaler = cr.data.Standardizer().fit(ROWS)  # of its 6 columns: save_model refused it for 4
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy(), standardizer=scaler)
    scaled = (ROWS - ROWS.mean(axis=0)) / ROWS.std(axis=0)
    probabilities = _softmax(_direct(net, scaled))

    code, out, err = run(capsys, "predict", tmp_path / "m", "--input",
                         _csv(tmp_path / "x.csv", ROWS), "--json")  # fmt: skip
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    got = np.array([row["outputs"] for row in predictions])
    np.testing.assert_allclose(got, probabilities, rtol=1e-5, atol=1e-7)
    assert [int(row["prediction"]) for row in predictions] == list(probabilities.argmax(axis=1))

    data = _csv(tmp_path / "d.csv", ROWS, LABELS)  # 6 inputs and a label column
    code, out, err = run(capsys, "evaluate", tmp_path / "m", "--data", data, "--json")
    assert code == 0, err
    result = json.loads(out)
    expected = -np.log(probabilities[np.arange(9), LABELS]).mean()
    assert result["cases"] == 9 and result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(probabilities.argmax(axis=1) == LABELS))


def test_rows_the_model_cannot_take_are_refused_by_it_in_one_line(tmp_path, capsys) -> None:
    io.save_model(tmp_path / "m", _picking_model(), loss=nn.CrossEntropy())
    five = _csv(tmp_path / "x5.csv", ROWS[:, :5])  # column 5 is not there
    said = "does not run on 5 input columns (IndexError:"
    line = assert_user_error(capsys, "predict", tmp_path / "m", "--input", five, match=said)
    assert line.startswith(f"chainrule: {five}: the model {tmp_path / 'm'}")
    assert "its first layer is a module of your own" in line
    labelled = _csv(tmp_path / "d5.csv", ROWS[:, :5], LABELS)
    assert_user_error(capsys, "evaluate", tmp_path / "m", "--data", labelled, match=said)
    assert_user_error(capsys, "graph", "--model", tmp_path / "m", "--input", five,
                      "--loss", "squared-error", "--target", "0,0,1",
                      "--out", tmp_path / "g.svg", match=f"--input: the model {tmp_path / 'm'} "
                      "does not run on 5 input columns")  # fmt: skip
    assert not (tmp_path / "g.svg").exists()


def test_explain_input_reads_every_column_for_a_custom_first_layer(tmp_path, capsys) -> None:
    """``graph --input`` of the model's 6 columns draws its engine graph (refused as 6 values
    per case for a model said to take 4)."""
    io.save_model(tmp_path / "m", _picking_model(), loss=nn.CrossEntropy())
    x = _csv(tmp_path / "x.csv", ROWS[:2])
    code, _, err = run(capsys, "graph", "--model", tmp_path / "m", "--input", x,
                       "--loss", "squared-error", "--target", "0,0,1;0,1,0",
                       "--out", tmp_path / "g.svg")  # fmt: skip
    assert code == 0, err
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_a_model_whose_first_linear_is_told_still_refuses_other_widths(tmp_path, capsys) -> None:
    """A guard (it passes before the fix too): a width the config tells is checked as before,
    with the same words, in the Python API and in each command."""
    io.save_model(tmp_path / "m", nn.Sequential(nn.Tanh(), nn.Linear(6, 3, rng=0)),
                  loss=nn.CrossEntropy())  # fmt: skip
    _, info = io.load_model(tmp_path / "m")
    five = Dataset(ROWS[:, :5], LABELS, task="classification", name="five")
    with pytest.raises(DataError, match="^five: 5 input features but the model m expects 6$"):
        check_model_fits(info, five, "m")
    x5 = _csv(tmp_path / "x5.csv", ROWS[:, :5])
    assert_user_error(capsys, "predict", tmp_path / "m", "--input", x5,
                      match=f"{x5}: 5 columns but the model takes 6 inputs (optionally "
                      "followed by one label column)")  # fmt: skip
    d5 = _csv(tmp_path / "d5.csv", ROWS[:, :5], LABELS)
    assert_user_error(
        capsys,
        "evaluate",
        tmp_path / "m",
        "--data",
        d5,
        match=f"{d5}: 5 input features but the model {tmp_path / 'm'} expects 6",
    )
    assert_user_error(
        capsys,
        "graph",
        "--model",
        tmp_path / "m",
        "--input",
        "1,2,3,4,5",
        "--loss",
        "squared-error",
        "--target",
        "0,0,1",
        "--out",
        tmp_path / "g.svg",
        match=f"--input: 5 values per case but model {tmp_path / 'm'} takes 6",
    )


class _Double(nn.Module):
    """Its input times 2: a layer of the user's own that keeps the width it is given."""

    def forward(self, x):
        return x * 2.0

    def config(self):
        return {"type": "_DoubleS55"}


nn.register_module(_Double, name="_DoubleS55")


def test_a_standardizer_tells_the_width_a_first_layer_of_ones_own_does_not(tmp_path, capsys):
    """The standardizer scales every row before the model sees it, so its width is the model's
    input width: a file's trailing label column is dropped, as predict's rule says, and a row
    of another width is refused in the usual words (review 2: both were refused in
    Standardizer's words, and predict's label column read as a seventh input)."""
    net = nn.Sequential(_Double(), nn.Linear(6, 3, rng=0))
    scaler = cr.data.Standardizer().fit(ROWS)
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy(), standardizer=scaler)
    info = json.loads((tmp_path / "m" / "model.json").read_text())
    assert model_widths(info) == (6, 3)
    scaled = (ROWS - ROWS.mean(axis=0)) / ROWS.std(axis=0)
    probabilities = _softmax(_direct(net, scaled))

    labelled = _csv(tmp_path / "d.csv", ROWS, LABELS)  # 6 inputs and a label column
    code, out, err = run(capsys, "predict", tmp_path / "m", "--input", labelled, "--json")
    assert code == 0, err
    got = np.array([row["outputs"] for row in json.loads(out)["predictions"]])
    np.testing.assert_allclose(got, probabilities, rtol=1e-5, atol=1e-7)

    five = _csv(tmp_path / "x5.csv", ROWS[:, :5])
    line = assert_user_error(capsys, "predict", tmp_path / "m", "--input", five, match="5 ")
    assert "Standardizer" not in line and "6" in line, line
