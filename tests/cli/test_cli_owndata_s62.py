"""A student's own CSV files through train, evaluate, predict and explain --input (QA
"owndata"): predict's rows carried no line numbers (blank lines shifted them against the file);
an id column was read as an input and a case 99,500 standard deviations out got a confident
answer without a word; a trailing separator with text labels said only "not a number"; explain
--input showed a named class's targets as numbers; a regression's predictions were headed
``prediction,output``. The oracles: the file's own lines counted by hand, the model's saved
mean and std, the same rows predicted without blank lines, the labels as written."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from cli_run import assert_user_error, run

WARNING = "chainrule: warning: "


def _write(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _people(n=40, seed=0):
    """(age, income, label) rows: label 'old' above 50."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 80, n)
    income = rng.normal(50, 10, n).round(2)
    return [(a, i, "old" if a > 50 else "young") for a, i in zip(age, income)]


def _train(capsys, data, out, *options):
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", out,
                       *options)  # fmt: skip
    assert code == 0, err
    return out, err


def _warnings(err):
    return [line for line in err.splitlines() if line.startswith(WARNING)]


def _mean_std(run_dir):
    info = json.loads((run_dir / "model" / "model.json").read_text())
    state = info["standardizer"]
    return np.array(state["mean"]), np.array(state["std"])


# -- 1. predict: each row's line in the input file ----------------------------------------------


def test_predict_writes_each_rows_line_in_the_file_blank_lines_skipped(tmp_path, capsys):
    people = _people()
    model, _ = _train(capsys, _write(tmp_path / "p.csv", ["age", "income", "label"], people),
                      tmp_path / "run")  # fmt: skip
    rows = [(30, 40.5), (61, 55.0), (45, 50.25), (70, 38.0)]
    # blank lines (and one of spaces) between the rows, as a spreadsheet export may have them
    text = "age,income\n30,40.5\n\n61,55.0\n   \n\n45,50.25\n70,38.0\n\n"
    gappy = tmp_path / "gappy.csv"
    gappy.write_text(text)
    expected = [k + 1 for k, line in enumerate(text.split("\n")) if line.strip()][1:]
    assert expected == [2, 4, 7, 8]  # the file's own lines, the header line 1
    code, out, err = run(capsys, "predict", model, "--input", gappy)
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["line", "prediction", "old", "young"]
    assert [int(row[0]) for row in table[1:]] == expected
    # the predictions are those of the same rows without the blank lines, in order
    compact = _write(tmp_path / "compact.csv", ["age", "income"], rows)
    code, plain, err = run(capsys, "predict", model, "--input", compact)
    assert code == 0, err
    plain_rows = list(csv.reader(io.StringIO(plain)))
    assert [row[1:] for row in table[1:]] == [row[1:] for row in plain_rows[1:]]
    assert [int(row[0]) for row in plain_rows[1:]] == [2, 3, 4, 5]
    # --json: each prediction's line, the same numbers
    code, out, err = run(capsys, "predict", model, "--input", gappy, "--json")
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    assert [p["line"] for p in predictions] == expected
    assert [p["prediction"] for p in predictions] == [row[1] for row in table[1:]]


def test_predict_counts_lines_without_a_header_from_1(tmp_path, capsys):
    model, _ = _train(capsys, _write(tmp_path / "p.csv", ["age", "income", "label"], _people()),
                      tmp_path / "run")  # fmt: skip
    data = tmp_path / "rows.csv"
    data.write_text("\n30,40.5\n61,55.0\n")  # no header, a blank line 1
    code, out, err = run(capsys, "predict", model, "--input", data)
    assert code == 0, err
    assert [row[0] for row in csv.reader(io.StringIO(out))] == ["line", "2", "3"]


# -- 2. inputs far outside the training data; a column that looks like a row id ------------------


def test_an_id_column_warns_at_train_and_a_far_id_warns_at_predict(tmp_path, capsys):
    people = _people(40)
    data = _write(tmp_path / "ids.csv", ["id", "age", "income", "label"],
                  [(k + 1, *row) for k, row in enumerate(people)])  # fmt: skip
    model, err = _train(capsys, data, tmp_path / "run")
    warned = _warnings(err)
    assert len(warned) == 1, err
    assert "column 'id'" in warned[0] and "1 to 40" in warned[0], warned
    assert "remove it from the file" in warned[0]
    # predict: an id far past the training ids (1..40), on line 3 of the file; a warning, no
    # refusal: every row still predicted
    rows = _write(tmp_path / "new.csv", ["id", "age", "income"],
                  [(20, 30, 40.0), (100000, 30, 40.0), (200000, 60, 50.0)])  # fmt: skip
    code, out, err = run(capsys, "predict", model, "--input", rows)
    assert code == 0, err
    assert len(list(csv.reader(io.StringIO(out)))) == 4
    warned = _warnings(err)
    assert len(warned) == 1, err  # one per column, naming its first far line
    mean, std = _mean_std(model)
    z = (100000 - mean[0]) / std[0]
    assert z > 1000
    line = warned[0]
    assert "new.csv, line 3, column 1 ('id'): 100000 lies far outside" in line, line
    assert "(1 to 40 in this column" in line and f"{z:,.0f} standard deviations" in line, line
    assert "2 rows in all" in line, line
    # rows inside the training data: nothing said
    near = _write(tmp_path / "near.csv", ["id", "age", "income"], [(5, 30, 40.0)])
    code, _, err = run(capsys, "predict", model, "--input", near)
    assert code == 0 and not _warnings(err), err


def test_evaluate_warns_of_a_far_input_naming_its_line(tmp_path, capsys):
    people = _people(40)
    model, err = _train(capsys, _write(tmp_path / "p.csv", ["age", "income", "label"], people),
                        tmp_path / "run")  # fmt: skip
    assert not _warnings(err), err  # no column of it looks like a row id
    data = _write(tmp_path / "e.csv", ["age", "income", "label"],
                  [(30, 40.0, "young"), (61, 55.0, "old"), (45, 5000.0, "young")])  # fmt: skip
    code, out, err = run(capsys, "evaluate", model, "--data", data, "--json")
    assert code == 0, err
    assert json.loads(out)["cases"] == 3
    warned = _warnings(err)
    assert len(warned) == 1, err
    low = min(row[1] for row in people)
    high = max(row[1] for row in people)
    assert "e.csv, line 4, column 2 ('income'): 5000 lies far outside" in warned[0], warned
    assert f"({low:g} to {high:g} in this column" in warned[0], warned
    # an income is no row id: the cause is offered as a condition, not asserted
    assert "(if the column is a row id or an index, train without it)" in warned[0], warned


@pytest.mark.parametrize("header", [True, False])
def test_a_column_counting_the_rows_warns_at_train(tmp_path, capsys, header):
    """Whole numbers one more on each line (a row number), with a header or without (named by
    its place in the file, the label column first counted)."""
    people = _people(30)
    rows = [(label, 100 + k, age, income) for k, (age, income, label) in enumerate(people)]
    data = _write(tmp_path / "c.csv", ["label", "row", "age", "income"] if header else None,
                  rows)  # fmt: skip
    _, err = _train(capsys, data, tmp_path / "run", "--label-column", "label" if header else 1)
    warned = _warnings(err)
    assert len(warned) == 1, err
    where = "column 'row'" if header else "column 2"
    assert f"c.csv, {where}: holds the whole numbers 100 to 129" in warned[0], warned


def test_a_column_named_index_warns_at_train_in_any_order(tmp_path, capsys):
    people = _people(30)
    order = np.random.default_rng(1).permutation(30)
    rows = [(int(k), *people[k]) for k in order]
    data = _write(tmp_path / "i.csv", ["INDEX", "age", "income", "label"], rows)
    _, err = _train(capsys, data, tmp_path / "run")
    warned = _warnings(err)
    assert len(warned) == 1 and "column 'INDEX': is named 'INDEX'" in warned[0], err


# -- 3. a separator ending every line, with text labels ------------------------------------------


@pytest.mark.parametrize("header", ["age,income,label,", "age,income,label", None])
def test_lines_ending_with_a_separator_say_so(tmp_path, capsys, header):
    lines = [f"{age},{income},{label}," for age, income, label in _people(12)]
    data = tmp_path / "t.csv"
    data.write_text("\n".join(([header] if header else []) + lines) + "\n")
    line = assert_user_error(capsys, "train", "--data", data, "--epochs", 1, "-q", "--out",
                             tmp_path / "no", match="ends with a separator")  # fmt: skip
    assert "an empty last column" in line and "remove the separator" in line, line
    assert "--label-column" not in line, line  # the labels are where they belong
    assert not (tmp_path / "no").exists()


# -- 4. explain --input: the targets' classes by name -------------------------------------------


def test_explain_input_names_the_classes_of_its_targets(tmp_path, capsys):
    people = _people(30)
    model, _ = _train(capsys, _write(tmp_path / "p.csv", ["age", "income", "label"], people),
                      tmp_path / "run")  # fmt: skip
    names = ["old", "young"]  # sorted, as the run numbers them
    cases = people[:3]
    data = _write(tmp_path / "x.csv", ["age", "income", "label"], cases)
    code, out, err = run(capsys, "explain", "--model", model, "--input", data,
                         "--format", "json", "--no-symbolic")  # fmt: skip
    assert code in (0, 1), err
    source = json.loads(out)["case_source"]
    shown = ", ".join(f"'{label}' ({names.index(label)})" for _, _, label in cases)
    assert source.endswith(f"targets: class {shown}"), source
    # --target by name: its class and number
    code, out, err = run(capsys, "explain", "--model", model, "--input", "30,40",
                         "--target", "young", "--format", "json", "--no-symbolic")  # fmt: skip
    assert code in (0, 1), err
    assert json.loads(out)["case_source"].endswith("target: class 'young' (1)")


# -- 5. a regression's predictions under the target's name ---------------------------------------


def test_a_regression_predicts_under_its_target_columns_name(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (30, 2)).round(3)
    rows = [(a, b, round(2 * a - b + 10, 3)) for a, b in x]
    model, _ = _train(capsys, _write(tmp_path / "r.csv", ["a", "b", "price"], rows),
                      tmp_path / "run", "--task", "regression")  # fmt: skip
    inputs = _write(tmp_path / "in.csv", ["a", "b"], [(0.5, 0.1), (1.0, -1.0)])
    code, out, err = run(capsys, "predict", model, "--input", inputs)
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["line", "price"]
    code, js, err = run(capsys, "predict", model, "--input", inputs, "--json")
    assert code == 0, err
    document = json.loads(js)
    assert document["outputs"] == ["price"]
    assert [float(row[1]) for row in table[1:]] == [p["prediction"] for p in
                                                     document["predictions"]]  # fmt: skip
    # evaluate names the loss and what it measures; the root of the mse in price's units
    code, out, err = run(capsys, "evaluate", model, "--data", tmp_path / "r.csv", "--json")
    assert code == 0, err
    loss = json.loads(out)["loss"]
    code, out, err = run(capsys, "evaluate", model, "--data", tmp_path / "r.csv")
    assert code == 0, err
    assert out.startswith(f"loss {loss:.6g} (mse: the mean squared error of price; its root, "
                          f"{math.sqrt(loss):.4g}, is in price's units)"), out  # fmt: skip


def test_a_regression_without_a_header_predicts_under_prediction(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (30, 2)).round(3)
    rows = [(a, b, round(a + b, 3)) for a, b in x]
    model, _ = _train(capsys, _write(tmp_path / "r.csv", None, rows), tmp_path / "run",
                      "--task", "regression")  # fmt: skip
    inputs = _write(tmp_path / "in.csv", None, [(0.5, 0.1)])
    code, out, err = run(capsys, "predict", model, "--input", inputs)
    assert code == 0, err
    assert out.splitlines()[0] == "line,prediction"
