"""A student's own CSV files (QA "owncsv"): a label column named but not last read the last
column as the labels, a header of numbers over text labels became a class, class names that
differ in letter case became classes of their own, and messages that named no line, no header,
no label column and no decimal comma."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError


def write(path, text):
    path.write_text(text)
    return path


def rows(n, label):
    """``n`` lines ``x1,x2,<label(i)>`` of numbers and a label."""
    return "".join(f"{i * 0.5:g},{(i * 7) % 5},{label(i)}\n" for i in range(n))


# -- 1. a column named as a label that is not the last ------------------------------------------


@pytest.mark.parametrize("name", ["target", "Label", "CLASS", "y", "labels"])
def test_a_label_named_first_over_whole_numbers_is_refused_naming_it(tmp_path, name):
    """``target,age,smoker``: every column whole numbers, so the last (smoker) trained as the
    label without a word."""
    text = f"{name},age,smoker\n" + "".join(f"{i % 2},{40 + i},{(i // 2) % 2}\n" for i in range(8))
    path = write(tmp_path / "t.csv", text)
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert f"column 1 ('{name}') is named as a label" in message
    assert "column 3 ('smoker')" in message
    assert f"label_column='{name}'" in message and f"--label-column {name}" in message
    ds = data.read_csv(path, label_column=name)  # the remedy it names reads the targets
    assert ds.y.tolist() == [i % 2 for i in range(8)] and ds.feature_names == ["age", "smoker"]
    assert data.read_csv(path, label_column=-1).feature_names == [name, "age"]  # as asked
    # a last column named as a label says it is the label: nothing to refuse
    last = "class" if name.lower() == "y" else "y"
    ok = write(tmp_path / "ok.csv", f"{name},a,{last}\n1,2,0\n3,4,1\n")
    assert data.read_csv(ok).y.tolist() == [0, 1]


def test_a_regression_target_named_first_is_refused_too(tmp_path):
    text = "y,x1,x2\n1.5,0.25,0.75\n2.5,0.5,0.125\n0.5,1,2\n"
    path = write(tmp_path / "r.csv", text)
    with pytest.raises(DataError, match=r"column 1 \('y'\) is named as a label.*label_column='y'"):
        data.read_csv(path, task="regression")
    assert data.read_csv(path, task="regression", label_column="y").y[:, 0].tolist() == [
        1.5, 2.5, 0.5,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "column"), [("label,x1,x2", "column 1 ('label')"), ("x1,class,x2", "column 2")]
)
def test_text_labels_not_last_are_pointed_to_their_column(tmp_path, header, column):
    """``label,x1,x2`` over ``cat,1.5,2``: "'cat' is not a number", and no more."""
    j = header.split(",").index(next(n for n in header.split(",") if n in ("label", "class")))
    lines = [[f"{i}.5", str(i % 3)] for i in range(4)]
    for i, cells in enumerate(lines):
        cells.insert(j, ("cat", "dog")[i % 2])
    path = write(tmp_path / "l.csv", header + "\n" + "".join(",".join(c) + "\n" for c in lines))
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert "line 2, " + column in message and "'cat' is not a number" in message
    assert "is named as a label" in message and "--label-column " in message
    name = header.split(",")[j]
    assert data.read_csv(path, label_column=name).class_names == ["cat", "dog"]


def test_a_text_column_without_a_header_names_its_column_number(tmp_path):
    path = write(tmp_path / "n.csv", "cat,1.5,2\ndog,0.5,1\ncat,2,3\n")
    words = "column 1: 'cat' is not a number; if column 1 holds the labels"
    with pytest.raises(DataError, match=re.escape(words)) as caught:
        data.read_csv(path, header=False)
    assert "label_column=0" in str(caught.value) and "--label-column 1" in str(caught.value)
    assert data.read_csv(path, label_column=0, header=False).class_names == ["cat", "dog"]


# -- 2. a header of numbers over text labels ----------------------------------------------------


def test_a_header_of_numbers_over_text_labels_is_a_header(tmp_path):
    """``400,410,420,species`` over setosa/versicolor rows: read as a case of a class
    'species' (one case, at line 1), and its numbers as inputs."""
    body = "".join(f"0.{i}1,0.{i}2,0.{i}3,{('setosa', 'versicolor')[i % 2]}\n" for i in range(1, 9))
    path = write(tmp_path / "w.csv", "400,410,420,species\n" + body)
    ds = data.read_csv(path)
    assert ds.class_names == ["setosa", "versicolor"] and len(ds) == 8
    assert ds.feature_names == ["400", "410", "420"]
    table = data.read_table(path, columns=3)  # predict's reading of the rows agrees
    assert table.names == ["400", "410", "420", "species"] and len(table.body) == 8
    with pytest.raises(DataError, match=r"line 2, column 4 \('species'\): 'versicolor'"):
        data.read_csv(path, task="regression")  # a header for the regression too


@pytest.mark.parametrize(
    "first",
    [
        "0.5,1.5,setosa",  # a class the other lines have: a case
        "0.5,1.5,SETOSA",  # the same in another case: a case (then refused for its spelling)
        "0.5,,odd",  # an empty cell beside it: no header of numbers
    ],
)
def test_only_a_label_no_other_line_holds_makes_line_1_a_header(tmp_path, first):
    body = "".join(f"0.{i},1.{i},{('setosa', 'virginica')[i % 2]}\n" for i in range(1, 7))
    odd = write(tmp_path / "odd.csv", "0.5,1.5,petals\n" + body)
    assert len(data.read_csv(odd)) == 6  # fails on the old code: 'petals' was a class
    path = write(tmp_path / "c.csv", first + "\n" + body)
    try:
        ds = data.read_csv(path)
    except DataError as error:
        assert "line 1" in str(error)  # refused as a case, naming its line
    else:
        assert len(ds) == 7 and ds.feature_names is None
    # a file whose every class occurs once: line 1's own is no odd one out, a case
    few = write(tmp_path / "few.csv", "5.1,3.5,setosa\n6.2,2.9,versicolor\n7.7,3.0,virginica\n")
    assert len(data.read_csv(few)) == 3


# -- 3. class names alike but for letter case -----------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "first", "second"),
    [
        (["cat", "dog", "CAT", "dog"], "'cat' (line 2)", "'CAT' (line 4)"),
        (["dog", "cat", "dog", "Dog", "cat"], "'dog' (line 2)", "'Dog' (line 5)"),
        ([" dog ", "cat", "DOG", "cat"], "'dog' (line 2)", "'DOG' (line 4)"),
    ],
)
def test_class_names_that_differ_only_in_case_are_refused(tmp_path, labels, first, second):
    text = "x1,x2,label\n" + "".join(f"{i},{i + 1},{label}\n" for i, label in enumerate(labels))
    path = write(tmp_path / "case.csv", text)
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert f"class names {first} and {second} differ only in letter case" in message
    assert "\n" not in message
    # surrounding spaces make no class of their own
    spaces = write(tmp_path / "ws.csv", "x1,x2,label\n1,2, dog \n3,4,dog\n5,6,cat\n")
    assert data.read_csv(spaces).class_names == ["cat", "dog"]


# -- 5. messages that name the line and the header ------------------------------------------------


@pytest.mark.parametrize(("separator", "name"), [(";", "semi.csv"), ("\t", "tab.csv")])
def test_a_file_of_one_column_names_its_line(tmp_path, separator, name):
    text = "x1;x2;label\n1.5;2;cat\n0.5;1;dog\n".replace(";", separator)
    path = write(tmp_path / name, text)
    with pytest.raises(DataError, match=r", line 1: need at least one feature column"):
        data.read_csv(path)


def test_a_ragged_line_under_a_header_names_the_header(tmp_path):
    path = write(tmp_path / "short.csv", "x1,x2\n1,2,cat\n3,4,dog\n")
    with pytest.raises(
        DataError, match=r"line 2: 3 fields, expected 2: the header on line 1 has 2$"
    ):
        data.read_csv(path)
    blank_first = write(tmp_path / "b.csv", "\nx1,x2\n1,2,cat\n")
    with pytest.raises(DataError, match=r"line 3: 3 fields, expected 2: the header on line 2 has"):
        data.read_csv(blank_first)


# -- 6. decimal commas ----------------------------------------------------------------------------


def test_a_decimal_comma_in_a_semicolon_file_is_named_as_one(tmp_path):
    path = write(tmp_path / "semi.csv", "x1;x2;label\n1,5;2;cat\n0,5;1;dog\n")
    with pytest.raises(DataError, match=re.escape(
            "line 2, column 1 ('x1'): '1,5' is not a number; a decimal comma? write numbers "
            "with a decimal point (1.5)")):  # fmt: skip
        data.read_csv(path, delimiter=";")
    with pytest.raises(DataError, match="--delimiter ';'"):  # the command line's way too
        data.read_csv(path)
    dots = write(tmp_path / "dots.csv", "x1;x2;label\n1.5;2;cat\n0.5;1;dog\n")
    assert np.array_equal(data.read_csv(dots, delimiter=";").X, [[1.5, 2], [0.5, 1]])
    # a quoted thousands comma in a comma file is no decimal comma
    quoted = write(tmp_path / "k.csv", 'x1,x2,label\n"1,000",2,0\n3,4,1\n')
    with pytest.raises(DataError) as caught:
        data.read_csv(quoted)
    assert "'1,000' is not a number" in str(caught.value)
    assert "decimal comma" not in str(caught.value)
