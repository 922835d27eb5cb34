"""A file of another format given where CSV text is read (session 68: a NumPy .npy file, an
Excel workbook, or one renamed .csv) was "line 1: not UTF-8 text (byte 0x93 ...); it is likely
Windows-1252 ..., as Excel's 'CSV (Comma delimited)' saves; save the file as UTF-8". The reader
now tells the common formats by their first bytes, as it told gzip, and says in one line what
the file is and what to do; a NUL byte in the first block is a binary file."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from chainrule import data
from chainrule.data.csvfile import BytesFile, check_table_width
from chainrule.errors import DataError


def _zip(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding ``entries`` (name: bytes), in their order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6.0).reshape(3, 2))
    return buffer.getvalue()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, features=np.ones((3, 2)), labels=np.zeros(3))
    return buffer.getvalue()


#: A file of each format as its program writes one (the parts a reader tells it by), what the
#: message must say it is and words of what to do
FORMATS = {
    "npy": (_npy(), "a NumPy .npy file (np.save's)", "np.savetxt('f.csv', np.load('f.csv')"),
    "npz": (_npz(), "a NumPy .npz archive of arrays (np.savez's: features, labels)",
            "np.load('f.csv')['features']"),
    "xlsx": (_zip({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
                   "xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"<x/>"}),
             "an Excel workbook (xlsx)", "save it as CSV UTF-8 from Excel"),
    "ods": (_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                  "content.xml": b"<office:document-content/>"}),
            "an OpenDocument spreadsheet (ods)", "LibreOffice Calc"),
    "docx": (_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
             "a Word document (docx)", "save that as CSV UTF-8"),
    "zip": (_zip({"data.csv": b"a,b,label\n1,2,0\n"}), "a zip archive", "unzip it"),
    "parquet": (b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00" + b"\x00" * 40 + b"PAR1",
                "a Parquet file", "pandas.read_parquet('f.csv')"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            "a PDF document", "export its table as CSV"),
    "pdf, ASCII only": (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
                        "a PDF document", "export its table as CSV"),
    "hdf5": (b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00" + b"\x00" * 64,
             "an HDF5 file", "np.savetxt"),
    "nul": (b"a,b,label\n1,2,0\n3,\x004,1\n", "a binary file (byte 19 is a NUL, 0x00)",
            "give the data as a CSV text file"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(FORMATS))
def test_a_file_of_another_format_is_named_for_what_it_is(tmp_path, kind):
    raw, what, remedy = FORMATS[kind]
    path = tmp_path / "f.csv"
    path.write_bytes(raw)
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {what}, not text; "), message
    assert remedy in message, message
    for wrong in ("UTF-8 text", "Windows-1252", "line 1", "column"):
        assert wrong not in message, message
    assert "\n" not in message


@pytest.mark.parametrize("kind", list(FORMATS))
def test_bytes_of_another_format_are_named_too(kind):
    """Standard input (``predict -i -``) is read by the same reader: FILE for its name."""
    raw, what, _ = FORMATS[kind]
    with pytest.raises(DataError, match=rf"^<stdin>: {what.split(' (')[0]}"):
        data.read_table(BytesFile(raw))


@pytest.mark.parametrize("kind", ["npy", "xlsx", "pdf, ASCII only", "parquet"])
def test_a_width_check_of_the_first_line_says_the_format_first(tmp_path, kind):
    """A model's width check reads line 1 before the reader: "%PDF-1.4" was one column where
    the model takes 2, and a workbook's first bytes a line of some width."""
    raw, what, _ = FORMATS[kind]
    path = tmp_path / "f.csv"
    path.write_bytes(raw)
    widths = []
    with pytest.raises(DataError, match="not text"):
        check_table_width(path, lambda width, line: widths.append(width))
    assert widths == []


def test_the_format_is_told_by_the_first_bytes_not_the_name(tmp_path):
    from chainrule.data.csvfile import binary_kind

    raw, _, _ = FORMATS["xlsx"]
    for name in ("book.xlsx", "book.csv", "book.tsv", "book"):
        (tmp_path / name).write_bytes(raw)
        assert binary_kind(tmp_path / name).key == "xlsx"
    (tmp_path / "ok.csv").write_text("a,b,label\n1,2,0\n")
    assert binary_kind(tmp_path / "ok.csv") is None
    assert binary_kind(tmp_path / "missing.csv") is None


def test_utf16_without_its_mark_is_said_to_be_utf16_not_binary(tmp_path):
    """ASCII text in UTF-16 without a byte order mark decodes as UTF-8 with a NUL in every
    other byte: it was read as one column ("1 fields, expected 3"); now named as the encoding.
    With its byte order mark (UTF-16, UTF-32, UTF-8's), its zeros are no binary file's NULs."""
    text = "a,b,label\n1,2,0\n3,4,1\n"
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert "UTF-16 without its byte order mark" in message and "save the file as UTF-8" in message
    assert "binary" not in message and "fields" not in message
    for encoding in ("utf-16", "utf-32", "utf-8-sig"):
        path.write_bytes(text.encode(encoding))
        ds = data.read_csv(path)
        assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.y.tolist() == [0, 1]


@pytest.mark.parametrize("header", ["PAR1", "%PDF", "PK"])
def test_a_csv_whose_first_column_is_named_like_a_magic_number_is_read(tmp_path, header):
    """Review: a header cell "PAR1" (parameter 1) or "%PDF" started the file as Parquet's and
    PDF's magic bytes do, and a real CSV was refused as binary."""
    path = tmp_path / "table.csv"
    path.write_text(f"{header},x2,label\n1.0,2.0,a\n3.0,4.0,b\n5.0,6.0,a\n", encoding="utf-8")
    loaded = data.load(path, label_column="label")
    assert loaded.X.shape == (3, 2)
