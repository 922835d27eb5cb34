"""A CSV file's blocks of plain numbers are parsed at once, not split by ``csv`` into a str per
cell (most of the reader's time): each number as ``float`` reads it, to the bit, and a block
that is not plain numbers (quotes, a NaN, an empty or text cell, a ragged or blank line, a
decimal comma) is read by ``csv`` as before, with the same messages, lines and warnings. The
oracles: ``float`` on each cell as written, and the same reader with every block read by
``csv`` (the block path turned off)."""

from __future__ import annotations

import csv
import math
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import csvfile
from chainrule.data.csvfile import BytesFile, read_csv, read_table
from chainrule.errors import DataError

#: numbers as files write them: repr, %.17g, %.6f, exponents, a leading +, .5 and 5.
_FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
_NUMBER_TEXT = st.one_of(
    _FLOATS.map(repr),
    _FLOATS.map(lambda x: f"{x:.17g}"),
    _FLOATS.filter(lambda x: abs(x) < 1e12).map(lambda x: f"{x:.6f}"),
    _FLOATS.map(lambda x: f"{x:.3e}"),
    _FLOATS.map(lambda x: f"{x:.12E}"),
    st.integers(-(10**20), 10**20).map(str),
    st.integers(0, 10**6).map(lambda n: f"+{n}"),
    st.integers(0, 999).map(lambda n: f".{n}"),
    st.integers(0, 999).map(lambda n: f"{n}."),
    st.integers(0, 999).map(lambda n: f"-{n}.e-3"),
    st.sampled_from(["1e-400", "4.9e-324", "-0", "-0.0", "+.5e+3", "00012.500", "1e308"]),
).filter(lambda text: math.isfinite(float(text)))  # 1.798e+308 is no finite number


class _CountingCsv(types.SimpleNamespace):
    """csvfile's ``csv``, counting the records its readers yield."""

    def __init__(self):
        super().__init__(records=0)

    def __getattr__(self, name):
        return getattr(csv, name)

    def reader(self, *args, **kwargs):
        return _CountingReader(self, csv.reader(*args, **kwargs))


class _CountingReader:
    """A ``csv.reader`` that counts the records it yields in ``counter.records``."""

    def __init__(self, counter, reader):
        self.counter, self.reader = counter, reader

    def __iter__(self):
        return self

    def __next__(self):
        record = next(self.reader)
        self.counter.records += 1
        return record

    @property
    def line_num(self):
        return self.reader.line_num


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(12, 30).flatmap(
        lambda n: st.integers(1, 4).flatmap(
            lambda w: st.lists(
                st.lists(_NUMBER_TEXT, min_size=w, max_size=w), min_size=n, max_size=n
            )  # fmt: skip
        )
    ),
    delimiter=st.sampled_from([",", "\t", "|"]),  # ";": 1.465 may be a thousands point
    eol=st.sampled_from(["\n", "\r\n"]),
    spaces=st.sampled_from(["", " ", "\t"]),
    bom=st.booleans(),
    last_eol=st.booleans(),
    block=st.sampled_from([4, 8, 1 << 16]),
)
def test_plain_numbers_are_parsed_in_blocks_as_float_reads_each(
    rows, delimiter, eol, spaces, bom, last_eol, block
):
    if delimiter == "\t" and spaces == "\t":
        spaces = " "  # a tab beside a tab delimiter is an empty cell's, not a number's
    lines = [delimiter.join(f"{spaces}{cell}{spaces}" for cell in row) for row in rows]
    text = eol.join(lines) + (eol if last_eol else "")
    data = ("\ufeff" if bom else "").encode() + text.encode()
    counted, tables = [], []  # of the file, and of it with its rows twice
    for data_read in (data, data.rstrip(b"\r\n") + eol.encode() + text.encode()):
        counting = _CountingCsv()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(csvfile, "_BLOCK_CELLS", block)
            patch.setattr(csvfile, "csv", counting)
            tables.append(read_table(BytesFile(data_read, "f.csv"), header=False,
                                     delimiter=delimiter))  # fmt: skip
        counted.append(counting.records)
    # csv read line 1 and the few rows the checks look at, however many rows there are: the
    # blocks of plain numbers were not split by csv
    assert counted[0] == counted[1], counted
    table = tables[0]
    expected = np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)
    # to the bit: -0.0 is not 0.0, and the last digit of 0.1 + 0.2 counts
    assert table.values.shape == expected.shape
    assert table.values.view(np.int64).tolist() == expected.view(np.int64).tolist()
    assert table.body.lines.tolist() == list(range(1, len(rows) + 1))
    assert [cells for _, cells in table.body] == [
        [f"{spaces}{cell}{spaces}" for cell in row] for row in rows
    ]


#: cells of every kind the reader treats apart: numbers, white space, NaN and infinity, too
#: large, empty, quoted (with a delimiter or a line break inside), decimal commas, thousands
#: points, text, underscores and full-width digits float would take, an unclosed quote
_ODD_CELLS = st.sampled_from(
    [
        "1.5", " 2 ", "-3e2", "+.5", "7.", "0", "1", "2", "950", "1.465", "nan", "-inf",
        "Infinity", "1e999", "", " ", "\t", '"4.5"', '"1,5"', "1,5", '"a\nb"', '"x"', "cat",
        "dog", "setosa", "1_0", "\uff11", "1.2.3", "3e", "--1", "#", "# a", "0,5", '"',
        "1;2", "\u00e9", "\x00",
    ]
)  # fmt: skip


def _outcome(data: bytes, name: str, delimiter: str, how: str):
    """What reading ``data`` gives: the error's message, or the table's (or dataset's)
    numbers to the bit, names, lines, rows and text column; with the warnings said."""
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            if how == "table":
                got = read_table(BytesFile(data, name), delimiter=delimiter)
                result = (
                    got.values.view(np.int64).tolist(), got.names, got.body.lines.tolist(),
                    list(got.body), got.texts,
                )  # fmt: skip
            elif how == "text":
                got = read_table(BytesFile(data, name), delimiter=delimiter, text_column=-1)
                result = (got.values.view(np.int64).tolist(), got.names, got.texts,
                          list(got.body))  # fmt: skip
            elif how == "columns":
                got = read_table(BytesFile(data, name), delimiter=delimiter, columns=1)
                result = (got.values.view(np.int64).tolist(), got.names, list(got.body))
            else:
                got = read_csv(BytesFile(data, name), delimiter=delimiter, input_dtype=np.float64)
                result = (got.X.view(np.int64).tolist(), got.y.tolist(), got.class_names,
                          got.feature_names, got.meta)  # fmt: skip
        except DataError as error:
            result = ("DataError", str(error))
    return result, [str(w.message) for w in said]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(2, 4).flatmap(
        lambda w: st.lists(
            st.one_of(
                st.lists(_NUMBER_TEXT, min_size=w, max_size=w),
                st.lists(_NUMBER_TEXT, min_size=w, max_size=w),
                st.lists(st.one_of(_NUMBER_TEXT, _ODD_CELLS), min_size=w, max_size=w),
                st.lists(_ODD_CELLS, min_size=w - 1, max_size=w + 1),  # ragged, maybe
                st.just([""] * w),  # a blank line: delimiters alone
                st.just([]),  # an empty line
            ),
            min_size=1,
            max_size=24,
        )
    ),
    header=st.sampled_from([None, "a,b,c,d", "a,b,label", "x;y;z", "# a,b,c", "0,1,2,3"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    labels=st.sampled_from([None, "numbers", "names"]),
    how=st.sampled_from(["table", "text", "columns", "csv"]),
    block=st.sampled_from([3, 8, 20]),
)
def test_blocks_read_at_once_read_as_csv_reads_them(
    rows, header, delimiter, eol, labels, how, block
):
    if labels is not None:  # a last column of class numbers or names on each row
        names = ["0", "1", "2"] if labels == "numbers" else ["cat", "dog", "emu"]
        rows = [[*row, names[k % 3]] if row else row for k, row in enumerate(rows)]
    lines = [delimiter.join(row) for row in rows]
    if header is not None:
        lines.insert(0, header.replace(",", delimiter))
    data = (eol.join(lines) + eol).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csvfile, "_BLOCK_CELLS", block)
        at_once = _outcome(data, "f.csv", delimiter, how)
        patch.setattr(csvfile._Scanner, "plain", lambda self, position, end, line: False)
        by_csv = _outcome(data, "f.csv", delimiter, how)
    assert at_once == by_csv


def test_plain_blocks_around_one_csv_reads_are_read_at_once(monkeypatch):
    """Blocks read at once before and after a block csv reads (its quoted cell; a NaN): the
    numbers and line numbers of each, the NaN's message, and csv's records: the quoted
    block's, however many plain rows follow it."""
    monkeypatch.setattr(csvfile, "_BLOCK_CELLS", 6)  # blocks of 2 rows of 3 cells
    lines = [f"{i}.25,{-i}e-1,{i % 2}" for i in range(40)]
    lines[7] = '"7.25",-0.7,1'
    counted = []
    for n in (20, 40):
        counting = _CountingCsv()
        monkeypatch.setattr(csvfile, "csv", counting)
        data = ("a,b,label\r\n" + "\r\n".join(lines[:n]) + "\r\n").encode()
        ds = read_csv(BytesFile(data, "q.csv"), input_dtype=np.float64)
        counted.append(counting.records)
        assert ds.X.tolist() == [[i + 0.25, float(f"{-i}e-1")] for i in range(n)]
        assert ds.y.tolist() == [i % 2 for i in range(n)]
        assert ds.meta["lines"] == list(range(2, n + 2))
    assert counted[0] == counted[1], counted
    lines[11] = "11.25,NaN,1"
    data = ("a,b,label\n" + "\n".join(lines) + "\n").encode()
    with pytest.raises(DataError) as error:
        read_csv(BytesFile(data, "q.csv"))
    assert str(error.value) == "q.csv, line 13, column 2 ('b'): 'NaN' is not a finite number"
