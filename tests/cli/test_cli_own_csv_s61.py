"""``chainrule train`` on a student's own CSV files (QA "owncsv"): no way to choose the label
column (a label named first trained on the last column, silently), no --delimiter, and a
one-class message that gave a class name's number. The run records its label column and
delimiter, so evaluate and predict read files as training read its own: the oracle is the
same cases read by hand, and the same model's outputs for the rows without a label column."""

from __future__ import annotations

import json

import numpy as np
from cli_run import assert_user_error, run


def _cases(n=24):
    """(target, age, smoker) rows whose target is no function of smoker alone."""
    rng = np.random.default_rng(0)
    age = rng.integers(20, 80, n)
    smoker = rng.integers(0, 2, n)
    target = (age > 50).astype(int)
    return target, age, smoker


def _write(path, header, rows, separator=","):
    lines = [separator.join(header)] + [separator.join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(capsys, tmp_path, data, *options):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", out,
                       *options)  # fmt: skip
    assert code == 0, err
    return out


def test_a_label_named_first_is_refused_and_label_column_reads_it(tmp_path, capsys):
    target, age, smoker = _cases()
    data = _write(tmp_path / "t.csv", ["target", "age", "smoker"], zip(target, age, smoker))
    line = assert_user_error(capsys, "train", "--data", data, "--epochs", 1, "-q",
                             "--out", tmp_path / "no", match="column 1 ('target') is named "
                             "as a label")  # fmt: skip
    assert "--label-column target" in line
    assert not (tmp_path / "no").exists()
    out = _train(capsys, tmp_path, data, "--label-column", "target")
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["label_column"] == "target"
    # evaluate --data reads the targets, not smoker: all 24 cases, both classes
    code, output, err = run(capsys, "evaluate", out, "--data", data, "--json")
    assert code == 0, err
    result = json.loads(output)
    assert result["cases"] == 24
    assert [row["support"] for row in result["per_class"]] == np.bincount(target).tolist()
    # predict: rows with the label column first, and rows of the inputs alone, alike
    code, with_label, err = run(capsys, "predict", out, "--input", data)
    assert code == 0, err
    inputs = _write(tmp_path / "x.csv", ["age", "smoker"], zip(age, smoker))
    code, without, err = run(capsys, "predict", out, "--input", inputs)
    assert code == 0, err
    assert with_label == without and len(with_label.splitlines()) == 25


def test_a_label_column_by_number_is_the_same_run(tmp_path, capsys):
    target, age, smoker = _cases()
    data = _write(tmp_path / "t.csv", ["target", "age", "smoker"], zip(target, age, smoker))
    by_name = _train(capsys, tmp_path / "a", data, "--label-column", "target")
    by_number = _train(capsys, tmp_path / "b", data, "--label-column", "1")
    outputs = []
    for out in (by_name, by_number):
        code, printed, err = run(capsys, "predict", out, "--input", data)
        assert code == 0, err
        outputs.append(printed)
    assert outputs[0] == outputs[1]
    assert_user_error(capsys, "train", "--data", data, "--label-column", "0",
                      match="numbered from 1")  # fmt: skip
    assert_user_error(capsys, "train", "--data", "xor", "--label-column", "1",
                      match="--label-column says how a CSV file is read")  # fmt: skip


def test_a_semicolon_file_trains_with_delimiter_and_is_read_so_after(tmp_path, capsys):
    target, age, smoker = _cases()
    rows = list(zip(age, smoker, target))
    data = _write(tmp_path / "s.csv", ["age", "smoker", "target"], rows, ";")
    line = assert_user_error(capsys, "train", "--data", data, "--epochs", 1, "-q",
                             "--out", tmp_path / "no", match="holds ';'")  # fmt: skip
    assert "--delimiter ';'" in line
    out = _train(capsys, tmp_path, data, "--delimiter", ";")
    code, output, err = run(capsys, "evaluate", out, "--data", data, "--json")
    assert code == 0, err
    assert json.loads(output)["cases"] == 24
    commas = _write(tmp_path / "c.csv", ["age", "smoker", "target"], rows)
    code, semicolons, err = run(capsys, "predict", out, "--input", data)
    assert code == 0, err
    assert len(semicolons.splitlines()) == 25
    # a comma file given to the semicolon run is one column: refused, not misread
    code, _, err = run(capsys, "predict", out, "--input", commas)
    assert code == 2 and "1 column" in err, err


def test_one_class_of_names_is_named(tmp_path, capsys):
    data = _write(
        tmp_path / "one.csv", ["x1", "x2", "label"], [(i, i + 1, "cat") for i in range(6)]
    )
    assert_user_error(capsys, "train", "--data", data, "--epochs", 1, "-q",
                      match="every case has label 'cat'")  # fmt: skip


def test_explain_reads_an_input_file_as_the_run_read_its_data(tmp_path, capsys):
    """``explain --model RUN --input FILE.csv`` of a run trained with ``--delimiter ';'`` and its
    text label first: the file's label column gives the targets, as training read them (it was
    refused as "1 column", its own reader knowing neither setting)."""
    target, age, smoker = _cases()
    names = np.array(["no", "yes"])[target]
    data = _write(tmp_path / "t.csv", ["target", "age", "smoker"], zip(names, age, smoker), ";")
    out = _train(capsys, tmp_path, data, "--label-column", "target", "--delimiter", ";")
    code, output, err = run(capsys, "explain", "--model", out, "--input", data, "--format", "json")
    assert code == 0, err
    assert np.array(json.loads(output)["targets"]).argmax(axis=1).tolist() == target.tolist()


def test_a_header_naming_y_first_trains_and_a_label_first_names_minus_one(tmp_path, capsys):
    """``x,y,cluster``: y is a coordinate; it was refused as a label named first (fails on the
    old code). A header naming ``target`` first is refused with ``--label-column -1`` too."""
    rows = [(i % 5, (i * 3) % 7, i % 2) for i in range(12)]
    data = _write(tmp_path / "xy.csv", ["x", "y", "cluster"], rows)
    out = _train(capsys, tmp_path, data)
    assert json.loads((out / "run.json").read_text())["config"].get("label_column") is None
    target, age, smoker = _cases()
    named = _write(tmp_path / "t.csv", ["target", "age", "smoker"], zip(target, age, smoker))
    line = assert_user_error(capsys, "train", "--data", named, "--epochs", 1, "-q",
                             match="--label-column -1")  # fmt: skip
    assert "--label-column target" in line
    _train(capsys, tmp_path / "last", named, "--label-column", "-1")  # as the message says


def test_a_resume_refusal_quotes_the_run_s_delimiter(tmp_path, capsys):
    """ "the run has --delimiter ;; only --epochs can": the value quoted, a tab as tab."""
    target, age, smoker = _cases()
    rows = list(zip(age, smoker, target))
    for separator, shown in ((";", "--delimiter ';';"), ("\t", "--delimiter tab;")):
        data = _write(tmp_path / f"{ord(separator)}.csv", ["age", "smoker", "target"], rows,
                      separator)  # fmt: skip
        out = _train(capsys, tmp_path / str(ord(separator)), data, "--delimiter", separator)
        line = assert_user_error(capsys, "train", "--resume", out, "--delimiter", "|",
                                 match="--delimiter cannot change when resuming")  # fmt: skip
        assert f"(the run has {shown} only --epochs can)" in line, line


def test_a_data_warning_is_one_line_of_the_cli(tmp_path, capsys):
    """A header of numbers over text labels is read as a case with a DataWarning; the command
    line shows it as ``chainrule: warning: ...``, one line, not Python's file, line and source
    line of the library."""
    rows = [[0.1 * k, 0.2, 0.3 + k % 2, ["setosa", "versicolor"][k % 2]] for k in range(12)]
    data = _write(tmp_path / "n.csv", ["400", "410", "420", "species"], rows)
    code, _, err = run(
        capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", tmp_path / "w"
    )
    assert code == 0, err
    warned = [line for line in err.splitlines() if "species" in line]
    assert len(warned) == 1 and warned[0].startswith("chainrule: warning: "), err
    assert "DataWarning" not in err and "warnings.warn" not in err
