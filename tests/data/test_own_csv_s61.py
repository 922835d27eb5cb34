"""A student's own CSV files (QA "owncsv"): a label column named but not last read the last
column as the labels, a header of numbers over text labels became a class, class names that
differ in letter case became classes of their own, and messages that named no line, no header,
no label column and no decimal comma."""

from __future__ import annotations

import re
import warnings

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


@pytest.mark.parametrize("name", ["target", "Label", "CLASS", "labels"])
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
    assert "label_column=-1" in message and "--label-column -1" in message  # as it is
    ds = data.read_csv(path, label_column=name)  # the remedy it names reads the targets
    assert ds.y.tolist() == [i % 2 for i in range(8)] and ds.feature_names == ["age", "smoker"]
    assert data.read_csv(path, label_column=-1).feature_names == [name, "age"]  # as asked
    # a last column named as a label says it is the label: nothing to refuse
    last = "class" if name.lower() == "label" else "label"
    ok = write(tmp_path / "ok.csv", f"{name},a,{last}\n1,2,0\n3,4,1\n")
    assert data.read_csv(ok).y.tolist() == [0, 1]


def test_a_regression_target_named_first_is_refused_too(tmp_path):
    text = "target,x1,x2\n1.5,0.25,0.75\n2.5,0.5,0.125\n0.5,1,2\n"
    path = write(tmp_path / "r.csv", text)
    with pytest.raises(DataError, match=r"column 1 \('target'\) is named as a label.*='target'"):
        data.read_csv(path, task="regression")
    assert data.read_csv(path, task="regression", label_column="target").y[:, 0].tolist() == [
        1.5, 2.5, 0.5,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "task"),
    [("x,y,cluster", "classification"), ("x,y,price", "regression"), ("Y,x,c", "classification")],
)
def test_a_column_named_y_is_a_coordinate_not_a_label(tmp_path, header, task):
    """``x,y,cluster``: y is the second coordinate, not a label written first; it was refused
    (fails on the old code), its hint pointing to train on the y-coordinate."""
    text = header + "\n" + "".join(f"{i},{i * 2 % 5},{i % 2}\n" for i in range(6))
    path = write(tmp_path / "xy.csv", text)
    ds = data.read_csv(path, task=task)
    assert ds.feature_names == header.split(",")[:2] and len(ds) == 6
    if task == "classification":
        assert ds.y.tolist() == [i % 2 for i in range(6)]
    else:
        assert ds.y[:, 0].tolist() == [i % 2 for i in range(6)]


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


def _iris_like(n=8):
    return "".join(
        f"0.{i}1,0.{i}2,0.{i}3,{('setosa', 'versicolor')[i % 2]}\n" for i in range(1, n + 1)
    )


def _read_noting(read):
    """``read()``'s result and the messages of the DataWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read()
    notes = [str(w.message) for w in caught if issubclass(w.category, data.csvfile.DataWarning)]
    assert all(issubclass(w.category, UserWarning) for w in caught)
    return result, notes


def test_a_header_of_numbers_over_text_labels_is_read_as_a_case_with_a_warning(tmp_path):
    """``400,410,420,species`` over setosa/versicolor rows: its content cannot tell it from a
    case of a class of its own, so it is a case, as before, but no longer silently: one
    warning names the line and how to say it is a header (header=True)."""
    path = write(tmp_path / "w.csv", "400,410,420,species\n" + _iris_like())
    ds, notes = _read_noting(lambda: data.read_csv(path))
    assert len(ds) == 9 and ds.class_names == ["setosa", "species", "versicolor"]
    assert len(notes) == 1  # fails on the old code: read as a header, no warning
    assert "w.csv, line 1: read as a case of class 'species', which no other line" in notes[0]
    assert "header=True" in notes[0] and "\n" not in notes[0]
    said, notes = _read_noting(lambda: data.read_csv(path, header=True))  # as the warning says
    assert said.class_names == ["setosa", "versicolor"] and len(said) == 8 and not notes
    assert said.feature_names == ["400", "410", "420"]
    table, notes = _read_noting(lambda: data.read_table(path, columns=3))  # predict's reading
    assert table.names is None and len(table.body) == 9 and len(notes) == 1
    _, notes = _read_noting(lambda: data.read_csv(path, header=False))  # said: no note
    assert not notes


def test_a_first_case_of_a_class_no_other_line_has_is_kept(tmp_path):
    """rare.csv of the review: line 1 is the only case of 'rare'; read as a header (7ef1202),
    a case and a class were lost silently. It is a case, with the warning."""
    path = write(tmp_path / "rare.csv", "5.1,3.5,rare\n4.9,3.0,common\n4.7,3.2,common\n"
                 "4.6,3.1,other\n5.0,3.6,other\n")  # fmt: skip
    ds, notes = _read_noting(lambda: data.read_csv(path))
    assert len(ds) == 5 and ds.class_names == ["common", "other", "rare"]
    assert ds.feature_names is None and ds.X[0].tolist() == pytest.approx([5.1, 3.5])
    assert ds.y.tolist() == [2, 0, 0, 1, 1] and len(notes) == 1


@pytest.mark.parametrize(
    "first",
    [
        "0.5,1.5,setosa",  # a class the other lines have: a case
        "0.5,1.5,SETOSA",  # the same in another case: a case (then refused for its spelling)
        "0.5,,odd",  # an empty cell beside it: no header of numbers
    ],
)
def test_only_a_label_no_other_line_holds_gets_the_warning(tmp_path, first):
    body = "".join(f"0.{i},1.{i},{('setosa', 'virginica')[i % 2]}\n" for i in range(1, 7))
    odd = write(tmp_path / "odd.csv", "0.5,1.5,petals\n" + body)
    ds, notes = _read_noting(lambda: data.read_csv(odd))
    assert len(ds) == 7 and "petals" in ds.class_names and len(notes) == 1
    path = write(tmp_path / "c.csv", first + "\n" + body)
    try:
        ds, notes = _read_noting(lambda: data.read_csv(path))
    except DataError as error:
        assert "line 1" in str(error)  # refused as a case, naming its line
    else:
        assert len(ds) == 7 and ds.feature_names is None and not notes
    # a file whose every class occurs once: line 1's own is no odd one out, a case, no note
    few = write(tmp_path / "few.csv", "5.1,3.5,setosa\n6.2,2.9,versicolor\n7.7,3.0,virginica\n")
    ds, notes = _read_noting(lambda: data.read_csv(few))
    assert len(ds) == 3 and not notes


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
