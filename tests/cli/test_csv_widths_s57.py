"""Two CSV defects (s57), each a user's mistake refused in one line (exit 2, no traceback):

1. ``evaluate --data FILE`` of a file two or more columns short of the model's inputs and a
   label column (or wider than them), whose last column holds no whole numbers, was refused as
   a label problem ("label 0.2 is not an integer class") where the mistake is the width.
2. A line 1 ``# a,b,c``, a comment as wide as the rows below (``numpy.savetxt``'s header),
   silently became the header, naming column 1 ``# a``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data, io, nn
from chainrule.errors import DataError

ROWS = ["5.1,3.5,1.4,0.2", "4.9,3.0,1.4,0.2", "6.3,3.3,6.0,2.5"]


@pytest.fixture
def iris_model(tmp_path):
    """A saved classifier of 4 inputs and 3 classes."""
    return io.save_model(tmp_path / "model", nn.mlp([4, 5, 3], rng=0), loss="cross-entropy")


def _columns(rows, keep):
    """``rows`` cut to their first ``keep`` cells."""
    return [",".join(row.split(",")[:keep]) for row in rows]


# -- 1. a file of another width than the model's inputs and a label column ---------------------


@pytest.mark.parametrize("keep", [3, 2])  # 2 columns: one input (no plural)
def test_evaluate_names_a_file_columns_short_by_its_width(tmp_path, capsys, iris_model, keep):
    path = tmp_path / "short.csv"  # the last column, 1.4 or 3.5, is no class
    path.write_text("\n".join(_columns(ROWS, keep)) + "\n")
    short = 5 - keep
    words = (
        f"{path}: {keep - 1} input feature{'s' * (keep > 2)} but the model {iris_model} "
        "expects 4, taking the "
        f"last of the {keep} columns of line 1 as the label: {short} columns short of the "
        "model's 4 inputs and a label column (5 columns)"
    )
    line = assert_user_error(capsys, "evaluate", iris_model, "--data", path, match=words)
    assert line == f"chainrule: {words}"
    assert "integer class" not in line and "label column missing" not in line


def test_the_width_is_named_whatever_the_last_column_holds(tmp_path, capsys, iris_model):
    whole = tmp_path / "whole.csv"  # whole numbers last: read as labels, then refused
    whole.write_text("a,b,label\n5.1,3.5,0\n4.9,3.0,1\n")
    assert_user_error(capsys, "evaluate", iris_model, "--data", whole,
                      match="taking the last of the 3 columns of line 1 as the label: 2 "
                      "columns short")  # fmt: skip
    named = tmp_path / "named.csv"  # class names last
    named.write_text("5.1,3.5,setosa\n4.9,3.0,virginica\n")
    assert_user_error(capsys, "evaluate", iris_model, "--data", named,
                      match=f"{named}: 2 input features but the model")  # fmt: skip
    # the line that gave the width is the first that is not blank
    late = tmp_path / "late.csv"
    late.write_text("\n\n" + "\n".join(_columns(ROWS, 3)) + "\n")
    assert_user_error(capsys, "evaluate", iris_model, "--data", late,
                      match="the 3 columns of line 3 as the label")  # fmt: skip


def test_evaluate_names_a_file_a_column_too_wide_by_its_width(tmp_path, capsys, iris_model):
    wide = tmp_path / "wide.csv"  # a regression target beside the labels, last: 0.5
    wide.write_text("\n".join(f"{row},1,0.5" for row in ROWS) + "\n")
    words = (
        f"{wide}: 5 input features but the model {iris_model} expects 4, taking the last of the "
        "6 columns of line 1 as the label: 1 column more than the model's 4 inputs and a label "
        "column (5 columns)"
    )
    line = assert_user_error(capsys, "evaluate", iris_model, "--data", wide, match=words)
    assert "integer class" not in line
    # a separator ending every line makes the extra column: said so, as the reader says it
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("\n".join(f"{row},1," for row in ROWS) + "\n")
    assert_user_error(capsys, "evaluate", iris_model, "--data", trailing,
                      match="1 column more than the model's 4 inputs and a label column (5 "
                      "columns); line 1 ends with a separator, which adds an empty last "
                      "column: remove the separator at the end of each line")  # fmt: skip
    # the model's inputs and a label column are scored as ever
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("\n".join(f"{row},{k}" for k, row in enumerate(ROWS)) + "\n")
    code, out, err = run(capsys, "evaluate", iris_model, "--data", labelled, "--json")
    assert code == 0, err
    # the oracle: the model's own forward pass on the rows, whose classes are 0, 1, 2
    model, _ = io.load_model(iris_model)
    outputs = model(np.loadtxt(ROWS, delimiter=",", dtype=np.float32)).data
    result = json.loads(out)
    assert result["cases"] == len(ROWS)
    assert result["accuracy"] == pytest.approx(np.mean(outputs.argmax(axis=1) == [0, 1, 2]))


# -- 2. a comment as wide as the data on line 1 --------------------------------------------------


def _comment_words(path, line):
    return (
        f"{path}, line 1: {line!r} starts with '#', as a comment does, but comment lines are "
        f"not skipped: read as the header, it would name column 1 {line.split(',')[0]!r}; "
        "remove the '#' if the line names the columns, else the line"
    )


@pytest.mark.parametrize(
    "comment", ["# a,b,label", "#  a,b,label", "  # a,b,label", "## a,b,label"]
)
def test_a_comment_as_wide_as_the_data_is_not_the_header(tmp_path, capsys, comment):
    path = tmp_path / "commented.csv"
    path.write_text(f"{comment}\n1,2,1\n3,4,0\n5,6,1\n7,8,0\n")
    words = _comment_words(path, comment.strip())
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    assert str(caught.value) == words
    with pytest.raises(DataError, match="starts with '#', as a comment does"):
        data.read_csv(path, header=True)  # said to be a header, it is no less a comment
    out = tmp_path / "run"
    line = assert_user_error(capsys, "train", "--data", path, "--epochs", "1", "--out", out,
                             match=words)  # fmt: skip
    assert line == f"chainrule: {words}"
    assert not out.exists()
    # read as no header, line 1 is a case with a cell that is not a number: named too
    with pytest.raises(DataError, match=r"line 1, column 1: '#+ +a' is not a number"):
        data.read_csv(path, header=False)
    # the '#' removed, the line is the header it meant to be
    path.write_text("a,b,label\n1,2,1\n3,4,0\n5,6,1\n7,8,0\n")
    assert data.read_csv(path).feature_names == ["a", "b"]
    # a first name that starts with '#' names a column (a row number's, an id), as before
    for first in ("#", "#id"):
        path.write_text(f"{first},b,label\n1,2,1\n3,4,0\n5,6,1\n7,8,0\n")
        ds = data.read_csv(path)
        assert ds.feature_names == [first, "b"]
        assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_predict_refuses_a_comment_header_of_the_model_s_width(tmp_path, capsys, iris_model):
    rows = tmp_path / "rows.csv"
    rows.write_text("# sl,sw,pl,pw\n" + "\n".join(ROWS) + "\n")
    assert_user_error(capsys, "predict", iris_model, "-i", rows,
                      match=_comment_words(rows, "# sl,sw,pl,pw"))  # fmt: skip
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("# sl,sw,pl,pw,y\n" + "\n".join(f"{r},0" for r in ROWS) + "\n")
    assert_user_error(capsys, "evaluate", iris_model, "--data", labelled,
                      match=_comment_words(labelled, "# sl,sw,pl,pw,y"))  # fmt: skip


def test_one_input_feature_is_said_in_the_singular(tmp_path):
    # check_model_fits said "1 input features" for a file of one input column
    from chainrule import io, nn
    from chainrule.data import Dataset
    from chainrule.train.runs import check_model_fits

    io.save_model(tmp_path / "m", nn.Sequential(nn.Linear(4, 3, rng=0)), loss=nn.CrossEntropy())
    _, info = io.load_model(tmp_path / "m")
    one = Dataset(np.ones((3, 1)), np.zeros(3, np.int64), task="classification", name="one")
    with pytest.raises(DataError, match=r"^one: 1 input feature but the model m expects 4$"):
        check_model_fits(info, one, "m")
