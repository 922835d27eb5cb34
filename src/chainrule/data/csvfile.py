"""CSV files: one case per line, feature columns and one label (or target) column.

The reader is strict because a silently misread cell becomes a silently wrong network: a ragged
row, a non-numeric or empty cell, NaN or infinity, or a label that is not a class number each
raise :class:`~chainrule.errors.DataError` naming the file, the line and the column. A number is
plain ASCII decimal or scientific notation: ``float`` would also take ``1_000`` and full-width
digits.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.checks import first_non_finite, first_too_large, is_integer
from chainrule.data.dataset import Dataset
from chainrule.errors import DataError


def read_csv(
    path: str | os.PathLike,
    label_column: int | str = -1,
    header: bool | None = None,
    task: str = "classification",
    n_classes: int | None = None,
    delimiter: str | None = None,
    dtype: Any = np.float32,
    input_dtype: Any = None,
) -> Dataset:
    """A dataset from a CSV file of numbers with one label column.

    Args:
        path: the file.
        label_column: index of the label column (negative counts from the end) or, with a
            header, its name.
        header: whether line 1 names the columns; ``None`` decides from the line itself (a
            header if any cell in it is not a number).
        task: ``"classification"`` (labels must be integers 0..n_classes-1) or
            ``"regression"`` (any finite number).
        n_classes: the number of classes; labels at or above it are an error. Defaults to the
            largest label + 1.
        delimiter: ``","`` by default, tab for ``.tsv`` files.
        dtype: the float type of ``X`` (and of regression targets); every number must fit it.
        input_dtype: the float type of ``X`` where it differs from ``dtype``: float64 keeps the
            numbers as written for a standardizer to be fitted and applied before they are
            rounded to ``dtype`` (in float32, 1e9 + 1 and 1e9 + 2 are one number).
    """
    path = Path(path)
    if task not in ("classification", "regression"):
        raise DataError(f"{path}: task must be 'classification' or 'regression', got {task!r}")
    table = read_table(path, header, delimiter)
    values, names, body = table.values, table.names, table.body
    width = values.shape[1]
    if width < 2:
        raise DataError(f"{path}: need at least one feature column and a label column, got {width}")
    label_index = _label_index(path, label_column, names, width)
    check_fits(path, table, np.dtype(dtype))
    X = np.delete(values, label_index, axis=1)
    labels = values[:, label_index]
    lines = [line for line, _ in body]
    y = _targets(path, labels, lines, task, n_classes, names, label_index)
    feature_names = None
    if names:
        feature_names = [n for i, n in enumerate(names) if i != label_index]
    return Dataset(
        X=X.astype(input_dtype or dtype),
        y=y if task == "classification" else y.reshape(-1, 1).astype(dtype),
        task=task,
        name=path.stem,
        n_classes=n_classes,
        feature_names=feature_names,
        meta={"path": str(path), "label_column": names[label_index] if names else label_index},
    )


@dataclass
class Table:
    """A CSV file's numbers: ``values`` (float64, rows x columns), the header's column ``names``
    (None without a header) and ``body``, each data row as (line number, cells)."""

    values: np.ndarray
    names: list[str] | None
    body: list[tuple[int, list[str]]]


def read_table(
    path: str | os.PathLike,
    header: bool | None = None,
    delimiter: str | None = None,
    columns: int | None = None,
) -> Table:
    """Every number of a CSV file, checked: a ragged row, a cell that is not a number or not
    finite raises DataError naming the file, the line and the column.

    ``header=None`` takes line 1 as column names if any cell in it is not a number. With
    ``columns``, only the first ``columns`` columns are numbers (read); the rest (a text label
    column) only have to be there on every row, and their text on line 1 makes it a header
    only where the rows below hold numbers in them.
    """
    path = Path(path)
    rows = _read_rows(path, delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","))
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = _has_header(rows, columns) if header is None else header
    names = [cell.strip() for cell in rows[0][1]] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: no data rows (only a header)")
    width = len(names) if names else len(body[0][1])
    return Table(_parse(path, body, width, names, columns), names, body)


def _read_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            rows, start = [], 1  # the line a record starts on (an open quote spans lines)
            for cells in reader:
                if cells and any(cell.strip() for cell in cells):
                    rows.append((start, cells))
                start = reader.line_num + 1
            return rows
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such file") from error
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a UTF-8 text file ({error.reason})") from error
    except csv.Error as error:  # an unterminated quote runs on to a field too large
        raise DataError(f"{path}, line {start}: malformed CSV ({error})") from error
    except OSError as error:  # a directory, no permission, an I/O error
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error


def is_number(cell: str) -> bool:
    """Whether the text reads as a number (Python's ``float``: ``4``, ``-4``, ``4.0``, ``1e3``)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _has_header(rows: list[tuple[int, list[str]]], columns: int | None) -> bool:
    """Whether line 1 names the columns: a cell of the whole line that is not a number, as
    :func:`read_csv` decides, or pandas' header of column numbers (:func:`_is_column_numbers`).
    Past ``columns`` (a label column that may hold text on every row) text marks a header only
    where the rows below hold numbers there: ``2019,2020,label`` over numeric labels is a
    header, ``0.5,1.5,cat`` over more text labels is a case."""
    first = rows[0][1]
    if _is_column_numbers(first) or _looks_like_header(first[:columns]):
        return True
    if columns is None or not _looks_like_header(first[columns:]):
        return False
    below = [cells[columns:] for _, cells in rows[1:]]
    return bool(below) and not any(_looks_like_header(cells) for cells in below)


def _is_column_numbers(cells: list[str]) -> bool:
    """``0,1,2``: exactly the integers 0 .. n-1 in order, written plainly, over 3 or more
    columns: the header ``pd.DataFrame(array).to_csv(path, index=False)`` writes. Read as a
    case it would add a phantom class n-1 (and two-column ``0,1`` is too likely a real case)."""
    return len(cells) >= 3 and [cell.strip() for cell in cells] == [
        str(j) for j in range(len(cells))
    ]


def _looks_like_header(cells: list[str]) -> bool:
    """Names, not numbers: a cell that holds something other than a number. An empty cell says
    nothing either way (a data row with a missing value is refused by the parse, naming it;
    taken as a header, the row would silently be lost)."""
    return any(cell.strip() and not is_number(cell) for cell in cells)


def _label_index(path: Path, label_column: int | str, names: list[str] | None, width: int) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise DataError(f"{path}: label column {label_column!r} given by name, but no header")
        if label_column not in names:
            raise DataError(
                f"{path}: no column named {label_column!r}; columns are {', '.join(names)}"
            )
        return names.index(label_column)
    if not is_integer(label_column):
        raise DataError(
            f"{path}: label_column must be a column index (an integer) or a column name, "
            f"got {label_column!r}"
        )
    if not -width <= label_column < width:
        raise DataError(f"{path}: label column {label_column} out of range for {width} columns")
    return int(label_column) % width


def _column_name(names: list[str] | None, j: int) -> str:
    return f"column {j + 1}" + (f" ({_shown(names[j])})" if names else "")


def _shown(cell: str, limit: int = 40) -> str:
    """A cell for a message: its repr, cut to ``limit`` characters (an unterminated quote can
    swallow the rest of the file into one cell)."""
    cell = cell.strip()
    return repr(cell if len(cell) <= limit else cell[:limit] + "...")


#: A cell that is a number: plain ASCII decimal or scientific notation, or NaN / infinity (read,
#: then refused as not finite). ``float`` also takes ``1_0`` (10) and full-width digits.
_NUMBER = re.compile(
    r"[ \t]*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity))[ \t]*",
    re.ASCII | re.IGNORECASE,
)
#: A character no plain number holds: where a file has none, NumPy's parse of it is trusted.
_NOT_NUMERIC = re.compile(r"[^0-9eE.+\- \t]")


def _parse(
    path: Path, body: list[tuple[int, list[str]]], width: int, names, columns: int | None = None
) -> np.ndarray:
    for line, cells in body:
        if len(cells) != width:
            raise DataError(f"{path}, line {line}: {len(cells)} fields, expected {width}")
    body = [(line, cells[:columns]) for line, cells in body]
    width = min(width, columns or width)
    try:  # fast path: NumPy parses every cell at once, if no cell holds an odd character
        matrix = [cells for _, cells in body]
        if _NOT_NUMERIC.search("".join(map("".join, matrix))):
            raise ValueError("a cell that is not plain ASCII decimal")
        values = np.array(matrix, dtype=np.float64)
    except ValueError:
        values = _parse_cell_by_cell(path, body, width, names)
    found = first_non_finite(values)
    if found is not None:
        i, j = found
        raise DataError(
            f"{path}, line {body[i][0]}, {_column_name(names, j)}: {_shown(body[i][1][j])} "
            "is not a finite number"
        )
    return values


def check_fits(path: str | os.PathLike, table: Table, dtype: Any) -> None:
    """Raise DataError (naming the file, line and column) for a number of ``table`` too large
    for ``dtype``: 1e300 is finite in float64 but would become infinity in float32."""
    dtype, body, names = np.dtype(dtype), table.body, table.names
    position = first_too_large(table.values, dtype)
    if position is not None:
        i, j = position
        raise DataError(
            f"{path}, line {body[i][0]}, {_column_name(names, j)}: {_shown(body[i][1][j])} is "
            f"too large for {dtype.name} (at most {np.finfo(dtype).max:.3g})"
        )


def _parse_cell_by_cell(path: Path, body, width: int, names) -> np.ndarray:
    """Parse one cell at a time, to name the first cell that is not a number."""
    values = np.empty((len(body), width), dtype=np.float64)
    for i, (line, cells) in enumerate(body):
        for j, cell in enumerate(cells):
            try:
                if not _NUMBER.fullmatch(cell):
                    raise ValueError(cell)
                values[i, j] = float(cell)
            except ValueError:
                shown = _shown(cell) if cell.strip() else "an empty cell"
                raise DataError(
                    f"{path}, line {line}, {_column_name(names, j)}: {shown} is not a number"
                ) from None
    return values


#: The largest class label read: a class is an output unit, and no network has 2^31 of them
#: (a larger one, 1e20, would overflow int64 in the conversion and be named wrongly).
_MAX_LABEL = 2**31 - 1


def _targets(path, labels, lines, task, n_classes, names, label_index) -> np.ndarray:
    if task == "regression":
        return labels
    where = _column_name(names, label_index)
    for label, line in zip(labels, lines):
        if label != round(label):
            raise DataError(
                f"{path}, line {line}, {where}: label {label:g} is not an integer class "
                "(real-valued targets are read as a regression)"
            )
        if label < 0 or (n_classes is not None and label >= n_classes) or label > _MAX_LABEL:
            allowed = (
                f"0..{n_classes - 1}" if n_classes is not None
                else ">= 0" if label < 0 else f"at most {_MAX_LABEL:,}"
            )  # fmt: skip
            raise DataError(
                f"{path}, line {line}, {where}: label {label:g} is out of range ({allowed})"
            )
    return labels.astype(np.int64)
