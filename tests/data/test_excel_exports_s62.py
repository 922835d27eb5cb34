"""Spreadsheet exports (QA "excel", German and Turkish Excel): thousands points read as
decimals, Turkish and decomposed (NFD) class names split into classes, decimal-comma targets read
as class names, ``Maße``/``Masse`` refused as one name, a label hint for a number, trailing empty
columns blamed on a separator typed twice, Excel's ``sep=;`` line, UTF-16 and Windows-1252."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest

from chainrule import data
from chainrule.data.csvfile import read_table
from chainrule.errors import DataError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def classes(n, names):
    """``n`` lines ``x,y,<name>`` cycling through ``names``."""
    return "".join(f"{i * 0.5:g},{(i * 7) % 5},{names[i % len(names)]}\n" for i in range(n))


# -- A1. German thousands points in a ; file --------------------------------------------------


def test_a_thousands_point_beside_whole_numbers_in_a_semicolon_file_is_refused(tmp_path):
    text = "Größe;Gewicht (g);Kategorie\r\n158;950;klein\r\n166;1.465;klein\r\n181;4.182;groß\r\n"
    path = write(tmp_path / "gewicht.csv", text, "utf-8-sig")
    with pytest.raises(DataError, match=re.escape(
            "line 3, column 2 ('Gewicht (g)'): '1.465' beside whole numbers such as '950' "
            "(line 2): a thousands separator")) as caught:  # fmt: skip
        data.read_csv(path, delimiter=";")
    assert "(1465)" in str(caught.value)
    # decimals alone, and the same cells in a comma file, are read as written
    dots = write(tmp_path / "dots.csv", "a;b;c\n1.465;2.5;x\n1.5;3.25;y\n")
    assert np.allclose(data.read_csv(dots, delimiter=";").X, [[1.465, 2.5], [1.5, 3.25]])
    comma = write(tmp_path / "comma.csv", "a,b,c\n950,1,x\n1.465,2,y\n")
    assert data.read_csv(comma).X[1, 0] == pytest.approx(1.465)


def test_thousands_points_and_a_decimal_comma_name_both(tmp_path):
    path = write(tmp_path / "th.csv", "a;b;c\n1.234,5;70;x\n180;80;y\n")
    with pytest.raises(DataError, match=r"'1\.234,5' is not a number; a thousands separator "
                       r"and a decimal comma\? .*\(1234\.5\)"):  # fmt: skip
        data.read_csv(path, delimiter=";")


# -- A2, A5. names alike in letter case: Turkish İ/ı, and ß is no ss --------------------------


@pytest.mark.parametrize("pair", [("İzmir", "İZMİR"), ("ışık", "IŞIK")])
def test_class_names_alike_in_turkish_letter_case_are_refused(tmp_path, pair):
    path = write(tmp_path / "tr.csv", "x,y,şehir\n" + classes(9, [pair[0], "Ankara", pair[1]]))
    with pytest.raises(DataError, match="differ only in letter case"):
        data.read_csv(path)


def test_masse_and_masse_with_sharp_s_are_two_names_but_capitals_are_one(tmp_path):
    """Decision: ``Maße`` and ``Masse`` (different words; casefold made both ``masse``) are two
    names; ``GRÖSSE``, which ``str.upper`` writes for ``Größe``, is still that name."""
    from chainrule.data.csvfile import same_name  # new: imported here for the fail-first run

    path = write(tmp_path / "masse.csv", "Maße,Masse,Kategorie\n0.1,0.2,a\n0.3,0.4,b\n0.5,0.1,a\n")
    assert data.read_csv(path).feature_names == ["Maße", "Masse"]
    same = write(tmp_path / "g.csv", "Größe,GRÖSSE,k\n0.1,0.2,a\n0.3,0.4,b\n")
    with pytest.raises(DataError, match="columns 1 and 2 have the same name"):
        data.read_csv(same)
    assert same_name("Größe", "GRÖSSE") and same_name("İZMİR", "İzmir")
    assert not same_name("Maße", "Masse") and not same_name("kır", "kir")
    assert same_name("état", unicodedata.normalize("NFD", "état"))
    # kır and kir are different words (countryside, dirt): dotless and dotted i stay apart
    path = write(tmp_path / "tr.csv", "x,y,z\n" + classes(6, ["kır", "kir", "KIŞ"]))
    assert data.read_csv(path).class_names == ["KIŞ", "kir", "kır"]


# -- A3. NFC and NFD -------------------------------------------------------------------------


def test_class_and_column_names_in_nfd_are_read_in_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", "état")
    text = f"x,Größe,{nfd}\n" + classes(8, ["état", "froid", nfd])
    path = write(tmp_path / "nfd.csv", unicodedata.normalize("NFD", text[:14]) + text[14:])
    ds = data.read_csv(path)
    assert ds.class_names == ["froid", "état"]
    assert ds.feature_names == ["x", "Größe"]
    # a model's names, in either form, match the file's
    again = data.read_csv(path, class_names=[nfd, "froid"])
    assert again.class_names == [nfd, "froid"] and list(again.y[:3]) == [0, 1, 0]
    assert data.read_csv(path, label_column=nfd).feature_names == ["x", "Größe"]


# -- A4. decimal-comma targets ---------------------------------------------------------------


def test_decimal_comma_targets_are_not_read_as_class_names(tmp_path):
    text = "a;b;Ziel\n" + "".join(f"{i}.5;{i};{i * 2},25\n" for i in range(10))
    path = write(tmp_path / "semireg.csv", text)
    with pytest.raises(DataError, match=r"'0,25' .*decimal point \(0\.25\).*--task regression"):
        data.read_csv(path, delimiter=";")


# -- C1. the label-column hint only for text -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter", "hint"),
    [
        ("Größe;Gewicht (kg);Kategorie\n192,2;86,7;groß\n171,0;59,2;klein\n", ";", "(192.2)"),
        ('Gewicht,b,c\n"7,490.0",1,x\n"8,100.5",2,y\n', ",", "without one (7490.0)"),
        ('a,b,c\n"0,5",1,x\n"1,5",2,y\n', ",", "a decimal comma? write numbers with a decimal "
         "point (0.5)"),
    ],
)  # fmt: skip
def test_a_number_in_a_spreadsheet_spelling_gets_no_label_column_hint(
    tmp_path, text, delimiter, hint
):
    path = write(tmp_path / "n.csv", text)
    with pytest.raises(DataError) as caught:
        data.read_csv(path, delimiter=delimiter)
    assert hint in str(caught.value)
    assert "holds the labels" not in str(caught.value)


# -- C3. trailing empty columns ----------------------------------------------------------------


def test_several_empty_columns_ending_every_line_are_named(tmp_path):
    text = "".join(line + ";;;\r\n" for line in ["a;b;k", "1.5;2;x", "2.5;3;y"]) + ";;;;;\r\n"
    path = write(tmp_path / "xl.csv", text)
    with pytest.raises(DataError, match="every line ends with 3 empty columns") as caught:
        data.read_csv(path, delimiter=";")
    assert "typed twice" not in str(caught.value)


# -- C4. Excel's sep= line ---------------------------------------------------------------------


def test_an_excel_sep_line_gives_the_delimiter_and_is_skipped(tmp_path):
    path = write(tmp_path / "sep.csv", "sep=;\r\na;b;k\r\n1.5;2;x\r\n2.5;3;y\r\n")
    ds = data.read_csv(path)
    assert ds.feature_names == ["a", "b"] and ds.meta["lines"] == [3, 4]
    assert np.array_equal(ds.X, [[1.5, 2], [2.5, 3]])
    # a delimiter given wins: the line is still skipped
    assert read_table(path, delimiter=";", text_column=-1).names == ["a", "b", "k"]
    with pytest.raises(DataError, match="holds ';'"):
        data.read_csv(path, delimiter=",")


# -- C5. UTF-16 and Windows-1252 ---------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_its_byte_order_mark_is_read(tmp_path, encoding):
    text = "\ufeffGröße\tb\tk\r\n1.5\t2\tİzmir\r\n2.5\t3\tAnkara\r\n"
    ds = data.read_csv(write(tmp_path / "u.tsv", text, encoding))
    assert ds.feature_names == ["Größe", "b"] and ds.class_names == ["Ankara", "İzmir"]


def test_windows_1252_is_named_with_the_excel_remedy(tmp_path):
    path = write(tmp_path / "cp.csv", "Größe,b,k\n1.5,2,groß\n", "cp1252")
    with pytest.raises(DataError, match=r"not UTF-8 text .*Windows-1252.*CSV UTF-8"):
        data.read_csv(path)
