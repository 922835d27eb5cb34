"""Class and column names outside English (QA "intl", s64): names that differ only in an
invisible character (a right-to-left mark, a zero-width space, a no-break space, a soft hyphen,
a byte order mark in a cell) became two classes that print alike; a class name holding a line
break or a carriage return was read; and ``--label-column`` naming no column, over labels of
text, blamed a cell ("'cat' is not a number"), and one out of range showed the library's
0-based number rather than the one typed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.data.csvfile import same_name
from chainrule.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error  # noqa: E402


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def labelled(labels):
    """A file ``x1,x2,label`` with one row per label, cycling ``labels`` 4 times."""
    rows = [f"{i * 0.5:g},{i % 3},{label}" for i, label in enumerate(labels * 4)]
    return "x1,x2,label\n" + "\n".join(rows) + "\n"


# -- 1. names that differ only in invisible characters ------------------------------------------

INVISIBLE = [
    ("قطة", "قطة\u200f", "U+200F"),  # a right-to-left mark, pasted with Arabic text
    ("cat", "cat\u200b", "U+200B"),  # a zero-width space
    ("niño grande", "niño\xa0grande", "U+00A0"),  # a no-break space
    ("Donaudampf", "Donau\xaddampf", "U+00AD"),  # a soft hyphen
    ("gato", "\ufeffgato", "U+FEFF"),  # a byte order mark inside a cell
]


@pytest.mark.parametrize(("plain", "hidden", "code"), INVISIBLE)
def test_class_names_that_differ_only_in_invisible_characters_are_refused(
    tmp_path, plain, hidden, code
):
    path = write(tmp_path / "inv.csv", labelled([plain, hidden, "perro"]))
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert f"differ only in invisible characters ({code})" in message, message
    assert repr(hidden) in message  # shown escaped: '\u200b', not an invisible character
    assert "\n" not in message and "\u200b" not in message and "\u200f" not in message
    assert same_name(plain, hidden) and same_name(hidden.upper(), plain)


def test_letter_case_and_an_invisible_character_together_are_both_named(tmp_path):
    path = write(tmp_path / "both.csv", labelled(["cat", "CAT\u200b", "dog"]))
    with pytest.raises(DataError, match=r"differ only in letter case and invisible characters "
                       r"\(U\+200B\)"):  # fmt: skip
        data.read_csv(path)
    letter_case = write(tmp_path / "case.csv", labelled(["cat", "CAT", "dog"]))
    with pytest.raises(DataError, match="differ only in letter case, and would be two classes"):
        data.read_csv(letter_case)


def test_names_with_a_visible_difference_stay_apart(tmp_path):
    # a zero-width joiner inside an emoji sequence is no difference from itself; other names
    # that merely hold an invisible character, alone, are read
    path = write(tmp_path / "ok.csv", labelled(["🐱\u200d👤", "قطة\u200f", "dog"]))
    assert data.read_csv(path).class_names == sorted(["🐱\u200d👤", "قطة\u200f", "dog"])
    assert not same_name("cat", "cats") and not same_name("ab", "a b")


def test_column_names_that_differ_only_in_an_invisible_character_are_refused(tmp_path):
    path = write(tmp_path / "cols.csv", "age,age\u200b,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert "columns 1 and 2 have the same name" in message
    assert "'age\\u200b'" in message and "invisible characters (U+200B)" in message


# -- 2. control characters in class names -------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "shown", "words"),
    [
        ('"a, b\nc"', r"'a, b\nc'", r"a line break '\n' (U+000A)"),
        ('"cr\rx"', r"'cr\rx'", r"a carriage return (a line break) '\r' (U+000D)"),
        ('"bell\ax"', r"'bell\x07x'", r"a control character '\x07' (U+0007)"),
    ],
)
def test_a_class_name_holding_a_control_character_is_refused(tmp_path, cell, shown, words):
    text = "x1,x2,label\n1,2,cat\n3,4,dog\n" + f"5,6,{cell}\n" + "7,8,cat\n"
    path = tmp_path / "ctl.csv"
    path.write_bytes(text.encode())
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 4, column 3 ('label'): class {shown} holds {words}")
    assert "a quoted cell that runs over several lines" in message
    assert "\n" not in message and "\r" not in message


def test_a_tab_or_a_joiner_in_class_names_is_kept(tmp_path):
    """Review of f649acf: a tab breaks no line ('New\tYork' was refused as a line break), and
    the zero-width joiner and non-joiner change how a name is drawn (the emoji sequence
    woman-scientist against a woman and a microscope; Persian words), so names told apart by
    one are two classes, as before."""
    rows = ["x1,x2,label", '1,2,"New\tYork"', "3,4,\U0001f469\u200d\U0001f52c",
            "5,6,\U0001f469\U0001f52c", "7,8,\u0628\u06cc\u200c\u062a\u0627\u0628",
            "9,0,\u0628\u06cc\u062a\u0627\u0628"]  # fmt: skip
    path = tmp_path / "kept.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert len(data.read_csv(path).class_names) == 5


def test_a_dataset_refuses_class_names_holding_a_control_character():
    x, y = np.zeros((2, 1)), np.array([0, 1])
    with pytest.raises(DataError, match=r"class 1 \('b\\rc'\) holds a carriage return"):
        data.Dataset(X=x, y=y, task="classification", class_names=["a", "b\rc"], name="t")
    ok = data.Dataset(X=x, y=y, task="classification", class_names=["a", "b c"], name="t")
    assert ok.class_names == ["a", "b c"]


# -- 3. --label-column naming no column ---------------------------------------------------------

TEXT_LABELS = "a,b,c,clase\n1,2,3,猫\n4,5,6,犬\n7,8,9,猫\n"
NUMBER_LABELS = "a,b,c,target\n1,2,3,0\n4,5,6,1\n7,8,9,0\n"


@pytest.mark.parametrize("text", [TEXT_LABELS, NUMBER_LABELS])
@pytest.mark.parametrize(
    ("column", "words"),
    [
        ("zzz", "no column named 'zzz'; columns are a, b, c, "),
        ("9", "label column 9 is out of range: columns are numbered 1 to 4 (-1 is the last"),
        ("-9", "label column -9 is out of range: columns are numbered 1 to 4 (-1 is the last"),
        ("5", "label column 5 is out of range: columns are numbered 1 to 4"),
    ],
)
def test_label_column_naming_no_column_says_so_before_any_cell(
    tmp_path, capsys, text, column, words
):
    path = write(tmp_path / "f.csv", text)
    line = assert_user_error(
        capsys, "train", "--data", path, "--label-column", column, "--epochs", "1",
        "--out", tmp_path / "run", "-q", match=words,
    )  # fmt: skip
    assert "is not a number" not in line


def test_label_column_in_another_case_is_pointed_to_the_header_s_spelling(tmp_path, capsys):
    path = write(tmp_path / "tr.csv", "sınıf,boy,kilo\nkedi,1,2\nköpek,3,4\nkedi,5,6\n")
    assert_user_error(
        capsys, "train", "--data", path, "--label-column", "SINIF", "--epochs", "1",
        "--out", tmp_path / "run", "-q",
        match="no column named 'SINIF' (did you mean 'sınıf'?); columns are sınıf, boy, kilo",
    )  # fmt: skip


def test_read_csv_says_which_label_column_is_out_of_range_from_0_and_1(tmp_path):
    path = write(tmp_path / "f.csv", TEXT_LABELS)
    with pytest.raises(DataError) as caught:
        data.read_csv(path, label_column=8)
    assert str(caught.value).endswith(
        "label column 9 is out of range: columns are numbered 1 to 4 (-1 is the last, -4 the "
        "first; read_csv's label_column=8 counts from 0)"
    )
    with pytest.raises(DataError, match="no column named 'kind'; columns are a, b, c, clase"):
        data.read_csv(path, label_column="kind")


# -- 4. a name typed in the decomposed form -----------------------------------------------------


def test_normal_name_reads_a_typed_name_as_a_file_s_names_are_read(tmp_path):
    from chainrule.data.csvfile import normal_name

    decomposed = "cafe\u0301"  # as macOS writes it
    path = write(tmp_path / "nfd.csv", labelled(["café", decomposed, "thé"]))
    names = data.read_csv(path).class_names
    assert names == ["café", "thé"]  # one class, in the composed spelling
    assert normal_name(f" {decomposed} ") in names


# -- 5. the encoding a file that is not UTF-8 likely is -----------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "words"),
    [
        ("Größe,b,k\n1.5,2,groß\n", "cp1252", "it is likely Windows-1252"),
        ("όνομα,βάρος,κλάση\n1,2,Άλφα\n", "cp1253", "in a legacy code page (Windows-1252, GBK"),
        ("名字,重量,类\n1,2,猫\n", "gbk", "in a legacy code page (Windows-1252, GBK"),
        ("a,b,k\n1.5,2,café\n", "utf-16-le", "UTF-16 without its byte order mark"),
    ],
)
def test_a_file_not_in_utf8_is_said_to_be_in_the_encoding_it_likely_is(
    tmp_path, text, encoding, words
):
    path = tmp_path / "enc.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert words in message and "save the file as UTF-8" in message
    if encoding != "cp1252":
        assert "likely Windows-1252" not in message


def test_a_utf32_file_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "u32.csv"
    path.write_bytes("a,b,k\n1.5,2,café\n3,4,thé\n".encode("utf-32"))
    ds = data.read_csv(path)
    assert ds.class_names == ["café", "thé"] and ds.X.tolist() == [[1.5, 2.0], [3.0, 4.0]]


# -- 6. digits other than 0-9 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "plain"), [("-٠.٣٥٤", "-0.354"), ("٣٫٥", "3.5"), ("３．５", "3.5")]
)
def test_digits_other_than_0_to_9_are_pointed_to_0_to_9_not_to_a_label_column(
    tmp_path, cell, plain
):
    path = write(tmp_path / "digits.csv", f"f1,f2,label\n{cell},1,0\n{cell},2,1\n")
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert f"write numbers with the digits 0-9 and a decimal point ({plain})" in message
    assert "--label-column" not in message
