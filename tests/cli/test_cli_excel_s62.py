"""Spreadsheet exports through ``chainrule train`` and ``evaluate`` (QA "excel"): Excel's
``sep=;`` line was a header of one column, German thousands points trained silently as
decimals, a UTF-16 file was "not UTF-8 text", and an NFD header or class names did not match a
model trained on the NFC spelling."""

from __future__ import annotations

import unicodedata

from cli_run import assert_user_error, run


def _rows(n=24):
    """``Größe;Gewicht;Kategorie`` lines with decimal points, classes ``état`` and ``froid``."""
    return [
        f"{150 + i * 1.5:g};{50 + (i * 7) % 30}.5;{'état' if i % 2 else 'froid'}" for i in range(n)
    ]


def test_train_honours_an_excel_sep_line(tmp_path, capsys):
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\nGröße;Gewicht;Kategorie\r\n" + "\r\n".join(_rows()) + "\r\n")
    code, _, err = run(
        capsys, "train", "--data", path, "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err


def test_train_reads_utf16_and_refuses_thousands_points_in_one_line(tmp_path, capsys):
    text = "\ufeffGröße\tGewicht\tKategorie\r\n" + "\r\n".join(_rows()).replace(";", "\t")
    path = tmp_path / "u.tsv"
    path.write_bytes(text.encode("utf-16-le"))
    code, _, err = run(
        capsys, "train", "--data", path, "--epochs", 1, "-q", "--out", tmp_path / "u"
    )
    assert code == 0, err
    german = tmp_path / "g.csv"
    german.write_text("a;Gewicht (g);k\n158;950;x\n166;1.465;y\n170;999;x\n")
    assert_user_error(capsys, "train", "--data", german, "--delimiter", ";",
                      match="'1.465' beside whole numbers such as '950'")  # fmt: skip


def test_evaluate_matches_nfd_names_to_a_model_trained_on_nfc(tmp_path, capsys):
    path = tmp_path / "nfc.csv"
    path.write_text("Größe;Gewicht;Kategorie\n" + "\n".join(_rows()) + "\n")
    code, _, err = run(capsys, "train", "--data", path, "--delimiter", ";", "--epochs", 1, "-q",
                       "--out", tmp_path / "m")  # fmt: skip
    assert code == 0, err
    nfd = tmp_path / "nfd.csv"
    nfd.write_text(unicodedata.normalize("NFD", path.read_text()))
    code, out, err = run(capsys, "evaluate", "--model", tmp_path / "m", "--data", nfd)
    assert code == 0, err
    assert "état" in out and unicodedata.normalize("NFD", "état") not in out  # one class
