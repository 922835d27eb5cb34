"""CSV files: one case per line, feature columns and one label (or target) column.

The reader is strict because a silently misread cell becomes a silently wrong network: a ragged
row, a non-numeric or empty cell, NaN or infinity, or a label that is not a class number each
raise :class:`~chainrule.errors.DataError` naming the file, the line and the column. A number is
plain ASCII decimal or scientific notation: ``float`` would also take ``1_000`` and full-width
digits.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from chainrule.checks import first_non_finite, first_too_large, is_integer
from chainrule.data.dataset import Dataset, check_float_dtype, control_character
from chainrule.errors import DataError, user_stacklevel


class DataWarning(UserWarning):
    """A note on a file read as it says, where it may mean something else (a line 1 that may
    be a header of numbers, read as a case)."""


class _LastColumn:
    """The type of :data:`LAST_COLUMN`."""

    def __repr__(self) -> str:
        return "LAST_COLUMN"


class BytesFile:
    """A CSV file given as its bytes rather than its path (standard input: ``chainrule predict
    -i -``), read where a path is, by the same reader (the same decoding, Excel's ``sep=`` line
    and byte order marks, the same refusals); messages name it ``name`` (``<stdin>``), and
    its lines count as a file's do."""

    suffix = ""  # no .tsv: a comma, unless a sep= line or the caller names another delimiter

    def __init__(self, data: bytes, name: str = "<stdin>") -> None:
        self.data, self.name = bytes(data), name

    @property
    def stem(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"BytesFile({self.name!r}, {len(self.data)} bytes)"


def _source(path: str | os.PathLike | BytesFile) -> Any:
    """``path`` as the reader reads it: a :class:`BytesFile` as it is, else a ``Path``."""
    return path if isinstance(path, BytesFile) else Path(path)


def _open_binary(path: Path | BytesFile) -> Any:
    """``path`` opened for reading bytes (a :class:`BytesFile`: its bytes, in memory)."""
    return io.BytesIO(path.data) if isinstance(path, BytesFile) else path.open("rb")


def _bytes_of(path: Path | BytesFile) -> bytes:
    """Every byte of ``path``."""
    return path.data if isinstance(path, BytesFile) else path.read_bytes()


#: ``read_csv``'s label column when none is given: the last, unless a header names another
#: column as a label (refused; ``label_column=-1`` reads the last all the same).
LAST_COLUMN: Any = _LastColumn()


def read_csv(
    path: str | os.PathLike | BytesFile,
    label_column: int | str = LAST_COLUMN,
    header: bool | None = None,
    task: str = "classification",
    n_classes: int | None = None,
    delimiter: str | None = None,
    dtype: Any = np.float32,
    input_dtype: Any = None,
    class_names: Sequence[str] | None = None,
    for_model: bool = False,
) -> Dataset:
    """A dataset from a CSV file of numbers with one label column.

    Args:
        path: the file (or its bytes, a :class:`BytesFile`).
        label_column: index of the label column (negative counts from the end) or, with a
            header, its name. By default (:data:`LAST_COLUMN`) the last column, and a header
            that names another column as a label (``target,age,smoker``; the names of
            :data:`_REFUSED_LABEL_NAMES`) is refused, naming that column, rather than read with
            ``smoker`` as the label (``-1`` reads it so).
        header: whether line 1 names the columns; ``None`` decides from the line itself (a
            header if any cell in it is not a number). A header names every column, each
            once (in any case): an empty or repeated name is refused.
        task: ``"classification"`` (labels are integers 0..n_classes-1, or class names:
            text such as ``setosa``, numbered in sorted order) or ``"regression"`` (any finite
            number).
        n_classes: the number of classes; labels at or above it are an error. Defaults to the
            largest label + 1.
        delimiter: ``","`` by default, tab for ``.tsv`` files; one character (``";;"`` or
            ``""`` is refused).
        dtype: the float type of ``X`` (and of regression targets); every number must fit it.
            An integer or boolean type is refused (it would truncate 5.1 to 5).
        input_dtype: the float type of ``X`` where it differs from ``dtype``: float64 keeps the
            numbers as written for a standardizer to be fitted and applied before they are
            rounded to ``dtype`` (in float32, 1e9 + 1 and 1e9 + 2 are one number); a float
            type too.
        class_names: the classes a model was trained on (its ``class_names``): class names in
            the label column are numbered as these are, and a name not among them is an error
            (an evaluation file whose classes, sorted by themselves, would be numbered apart).
        for_model: the file is read for a model already trained (evaluate, explain), not to
            train one: a label column among three or more one-hot label columns is not
            refused (the model took the others as its inputs), and a label that is no
            integer is not pointed to ``task="regression"`` (the model is a classifier).
    """
    path = _source(path)
    if task not in ("classification", "regression"):
        raise DataError(f"{path}: task must be 'classification' or 'regression', got {task!r}")
    check_float_dtype(str(path), dtype)
    if input_dtype is not None:
        check_float_dtype(str(path), input_dtype, "input_dtype")
    given = label_column is not LAST_COLUMN
    label_column = label_column if given else -1
    text = label_column if task == "classification" else None  # class names may be text
    hint = None if given or task != "classification" else _text_column_hint
    table = read_table(path, header, delimiter, text_column=text, text_hint=hint)
    values, names, body = table.values, table.names, table.body
    width = values.shape[1]
    if width < 2:
        line, cells = table.body[0] if table.body else (1, [""])
        raise DataError(
            f"{path}, line {line}: need at least one feature column and a label column, got "
            f"{width}{_separator_hint(cells[0], 'the line')}"
        )
    label_index = _label_index(path, label_column, names, width)
    check_fits(path, table, np.dtype(dtype))
    X = np.empty((len(values), width - 1), dtype=input_dtype or dtype)  # no float64 copy
    X[:, :label_index], X[:, label_index:] = values[:, :label_index], values[:, label_index + 1 :]
    lines = body.lines.tolist()
    where = _column_name(names, label_index)
    if table.texts is not None and _is_named(path, table.texts, lines, where):
        hint = _trailing_separator_hint(body, names, label_index)
        y, class_names = _named_classes(
            path, table.texts, lines, where, class_names, n_classes, hint
        )
        n_classes = len(class_names)
    else:
        labels = values[:, label_index]
        if table.texts is not None:
            labels = _numbers(path, table.texts, lines, where)
        if task == "classification" and not for_model:
            _check_not_one_hot(path, values, labels, label_index, names)
        y = _targets(path, labels, lines, task, n_classes, names, label_index, for_model)
        class_names = None
    if not given:  # after the labels, whose refusals name such a column already
        _refuse_label_named_elsewhere(path, names, task)
    feature_names = None
    if names:
        feature_names = [n for i, n in enumerate(names) if i != label_index]
    return Dataset(
        X=X,
        y=y if task == "classification" else y.reshape(-1, 1).astype(dtype),
        task=task,
        name=path.stem,
        n_classes=n_classes,
        feature_names=feature_names,
        class_names=class_names,
        # "lines": each row's line in the file, as loaded (a subset's rows are found through
        # its meta["indices"]): what a warning about a row names
        meta={
            "path": str(path),
            "label_column": names[label_index] if names else label_index,
            "lines": lines,
        },
    )


#: Header names that say a column numbers the rows (compared in any case).
_ROW_ID_NAMES = ("id", "index")


def note_label_copies(ds: Dataset) -> None:
    """Warn (:class:`DataWarning`) once where input columns of ``ds``, a dataset
    :func:`read_csv` read, equal its label column on every row, as the file holds them: the
    model can copy it, and its loss or accuracy says nothing of the others. Labels that are
    class names (text) are compared with nothing: their class numbers are not in the file. A
    regression's file of inputs and as many target columns (an autoencoder's) trained on its
    last target alone that way, looking like success: its warning says that several target
    columns need the Python API. Only a warning: a teaching file may mean the copy. What
    ``chainrule train`` says of a new run's CSV file."""
    names, X, y = ds.feature_names, np.asarray(ds.X), np.asarray(ds.y)
    if X.ndim != 2 or not len(X) or ds.class_names is not None:  # text labels: numbered here
        return
    # the file's numbers (a class label is read as the integer it is, never renumbered),
    # compared in the targets' own float type (a regression's; a class number is exact in
    # float64): an input read in float64 is the same number in the file when it rounds to it
    kind = y.dtype if y.dtype.kind == "f" else np.dtype(np.float64)
    target = y.reshape(len(y), -1)[:, 0].astype(kind)
    copies = [j for j in range(X.shape[1]) if np.array_equal(X[:, j].astype(kind), target)]
    if not copies:
        return
    label = ds.meta.get("label_column")
    shown = [_input_column(names, label, j) for j in copies]
    label_name = f"column {_shown(label)}" if names else f"column {int(label) + 1}"
    columns = f"{shown[0]} equals" if len(shown) == 1 else f"{', '.join(shown)} equal"
    several = (
        ". chainrule train reads one label column: several target columns (an autoencoder's) "
        "need the Python API, cr.train.fit with Dataset(X, y=Y, task='regression')"
    )
    warnings.warn(
        f"{ds.meta.get('path', ds.name)}: {columns} the label {label_name} on every row: the "
        "model can copy it, and its loss or accuracy then says nothing; leave the copy out of "
        f"the inputs{several if ds.task == 'regression' else ''}",
        DataWarning,
        stacklevel=2,
    )


def _input_column(names: list[str] | None, label: Any, j: int) -> str:
    """Input column ``j`` of a dataset :func:`read_csv` read, for a message: by its header
    name, else by its place in the file (counted from 1, the label column ``label`` too)."""
    if names:
        return f"column {_shown(names[j])}"
    return f"column {j + 1 + int(is_integer(label) and j >= label)}"


def note_row_id_columns(ds: Dataset) -> None:
    """Warn (:class:`DataWarning`) for each input column of ``ds``, a dataset :func:`read_csv`
    read, that looks like a row id: its header names it ``id`` or ``index`` (in any case), or
    it holds whole numbers one larger on each row than on the row before, over every row (1,
    2, ..., n), beside other inputs. Read as an input, a row id teaches a model where a case
    sits in the file, and rows numbered on (id 100000) lie far outside what it saw. Only a
    warning, saying how to leave the column out: a year column in order looks the same.
    What ``chainrule train`` says of a new run's CSV file."""
    names, X = ds.feature_names, np.asarray(ds.X, dtype=np.float64)
    label = ds.meta.get("label_column")
    for j in range(X.shape[1] if X.ndim == 2 else 0):
        column = X[:, j]
        named = bool(names) and names[j].strip().casefold() in _ROW_ID_NAMES
        counting = (
            len(column) >= 3
            and X.shape[1] > 1
            and bool(np.all(column == np.round(column)))
            and bool(np.all(np.diff(column) == 1))
        )
        if not (named or counting):
            continue
        where = _input_column(names, label, j)
        why = (
            f"holds the whole numbers {column[0]:.0f} to {column[-1]:.0f}, one more on each line"
            if counting
            else f"is named {_shown(names[j])}"
        )
        warnings.warn(
            f"{ds.meta.get('path', ds.name)}, {where}: {why}, as a row id does; read as an "
            "input, it teaches the model where a row sits in the file, and rows numbered on "
            "lie far outside what it saw; if the column numbers the rows, leave it out: remove "
            "it from the file (from the files you predict for too) and train again",
            DataWarning,
            stacklevel=2,
        )


def _check_not_one_hot(
    path: Path, values: np.ndarray, labels: np.ndarray, label_index: int, names: list[str] | None
) -> None:
    """Refuse a label column that is one of a group of one-hot label columns: the label column
    and the columns beside it (k >= 3 side by side) hold only 0 and 1, each column a 1 somewhere,
    and every row holds exactly one 1 among them (``is_0,is_1,is_2``). Two columns are not
    enough: a 0/1 feature that is the label's complement (a NOT gate's ``x,y``, a slice of rows)
    looks the same. Read with the last as the label, the others
    became inputs that give the answer away: a model scoring 1.0 on its test split, silently.
    Nothing else is refused: a 0/1 column beside the label whose rows ever sum to 0 or 2 with
    it is a feature. A file of one row is left alone (a case for a model to score, whose 0/1
    feature and label may well sum to 1 by chance)."""
    if len(labels) < 2 or not _zeros_and_ones(labels):
        return
    start = end = label_index  # the 0/1 columns next to the label column, either side
    while start > 0 and _zeros_and_ones(values[:, start - 1]):
        start -= 1
    while end < values.shape[1] - 1 and _zeros_and_ones(values[:, end + 1]):
        end += 1
    if start == end:
        return
    columns = values[:, start : end + 1].copy()
    columns[:, label_index - start] = labels
    # a row's sum over columns first..last is totals[:, last + 1] - totals[:, first]; it only
    # grows with the window (0s and 1s), so no window past one where a row sums to 2 is tried
    totals = np.concatenate([np.zeros((len(labels), 1)), np.cumsum(columns, axis=1)], axis=1)
    label, best = label_index - start, None
    for first in range(label, -1, -1):
        if (totals[:, label + 1] - totals[:, first] > 1).any():
            break
        for last in range(label, end - start + 1):
            sums = totals[:, last + 1] - totals[:, first]
            if (sums > 1).any():
                break
            wider = best is None or last - first > best[1] - best[0]
            every_class = bool(columns[:, first : last + 1].any(axis=0).all())
            if last - first >= 2 and wider and every_class and (sums == 1).all():
                best = (first, last)
    if best is not None:
        first, last = best[0] + start, best[1] + start
        _refuse_one_hot(path, first, last - first + 1, label_index, values.shape[1], names)


def _zeros_and_ones(column: np.ndarray) -> bool:
    return bool(((column == 0) | (column == 1)).all())


def _refuse_one_hot(
    path: Path, first: int, width: int, label_index: int, n_columns: int, names: list[str] | None
) -> None:
    last = first + width - 1
    if last == n_columns - 1:
        which = f"its last {width} columns"
    else:
        which = f"columns {first + 1}-{last + 1}"
    if names:
        which += f" ({', '.join(names[first : last + 1])})"
    raise DataError(
        f"{path}: {which} look like one-hot labels (0 or 1, one 1 on every row), but chainrule "
        f"reads one label column, {_column_name(names, label_index)}, and the others would "
        "become inputs that give the answer away; write the labels as one class column instead: "
        "each row's class number or name"
    )


def _trailing_separator_hint(
    body: list[tuple[int, list[str]]], names: list[str] | None, column: int
) -> str:
    """A hint for an empty cell in the last column when that column is empty on every line,
    the header's too (``1,2,0,``): every line ends with a separator, or ""."""
    width = len(names) if names else len(body[0][1]) if body else 0
    if column != width - 1 or (names and names[-1]):
        return ""
    if not all(len(cells) == width and not cells[-1].strip() for _, cells in body):
        return ""
    return f"; every line ends with {_ENDS_WITH_A_SEPARATOR}"


#: What a separator at the end of a line does, for the hints that name one.
_ENDS_WITH_A_SEPARATOR = (
    "a separator, which adds an empty last column: remove the separator at the end of each line"
)


def _is_named(path: Path, texts: list[str], lines: list[int], where: str) -> bool:
    """Whether a label column holds class names (no label is a number) rather than class
    numbers (every label is). Both at once is refused: one typo (``1_0``) among numbers would
    otherwise turn every label into a name, numbered as sorted text ("10" before "2")."""
    numeric = [bool(_NUMBER.fullmatch(text)) for text in texts]
    if all(numeric):
        return False
    if not any(numeric):
        return True
    text, number = numeric.index(False), numeric.index(True)
    shown = _shown(texts[text]) if texts[text] else "an empty cell"
    raise DataError(
        f"{path}, line {lines[text]}, {where}: {shown} is not a number, but other labels are "
        f"(line {lines[number]}: {_shown(texts[number])}); a label column holds class numbers "
        "or class names, not both"
    )


def _numbers(path: Path, texts: list[str], lines: list[int], where: str) -> np.ndarray:
    """A label column of numbers, read and checked as the other columns are (NaN, infinity and
    1e400 are not finite numbers)."""
    labels = np.array([float(text) for text in texts], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(labels))
    if bad.size:
        k = int(bad[0])
        raise DataError(
            f"{path}, line {lines[k]}, {where}: {_shown(texts[k])} is not a finite number"
            f"{_overflow_hint(texts[k])}"
        )
    return labels


def _named_classes(
    path: Path,
    texts: list[str],
    lines: list[int],
    where: str,
    known: Sequence[str] | None,
    n_classes: int | None,
    hint: str = "",
) -> tuple[np.ndarray, list[str]]:
    """Class numbers for a label column of names, and the names in class order: the sorted
    names found, or ``known`` (a model's). An empty cell, a name not in ``known`` or more
    names than ``n_classes`` is a DataError naming the line (an empty cell's ending with
    ``hint``)."""
    for text, line in zip(texts, lines):
        if not text:
            raise DataError(f"{path}, line {line}, {where}: an empty cell is not a class{hint}")
        control = control_character(text)
        if control:
            raise DataError(
                f"{path}, line {line}, {where}: class {_shown(text)} holds {control}; "
                f"{_CONTROL_REMEDY}"
            )
    if known is None:
        _refuse_decimal_comma_classes(path, texts, lines, where)
        _refuse_names_alike(path, texts, lines, where)
    names = list(known) if known is not None else sorted(set(texts))
    # a model's names as the file's cells are read: in NFC (see _text_of)
    number = {unicodedata.normalize("NFC", name): k for k, name in enumerate(names)}
    for text, line in zip(texts, lines):
        if text not in number:
            raise DataError(
                f"{path}, line {line}, {where}: class {_shown(text)} is not one of the "
                f"model's classes ({', '.join(names)})"
            )
    if n_classes is not None and len(names) > n_classes:
        raise DataError(
            f"{path}, {where}: {len(names)} classes ({', '.join(names)}), but n_classes is "
            f"{n_classes}"
        )
    return np.array([number[text] for text in texts], dtype=np.int64), names


#: What to do about a class name holding a control character (:func:`control_character`)
_CONTROL_REMEDY = (
    "a class name is one line of text; a quoted cell that runs over several lines (a quote "
    "left open, or a line break typed in a spreadsheet's cell) is the usual cause: remove the "
    "line break or the stray quote"
)


def _refuse_decimal_comma_classes(
    path: Path, texts: list[str], lines: list[int], where: str
) -> None:
    """Refuse labels that are all numbers with a decimal comma (``2,25``, a ``;`` file's
    regression targets): read as class names, each became a class, silently."""
    if texts and all(_DECIMAL_COMMA.fullmatch(text) for text in texts):
        point = texts[0].replace(",", ".")
        raise DataError(
            f"{path}, line {lines[0]}, {where}: {_shown(texts[0])} is not a class number, and "
            f"every label is a number with a decimal comma; write numbers with a decimal point "
            f"({point}); {regression_hint()}"
        )


def _refuse_names_alike(path: Path, texts: list[str], lines: list[int], where: str) -> None:
    """Refuse class names that differ only in letter case (``cat`` and ``CAT``, a ``Dog``
    among ``dog``, Turkish ``İzmir`` and ``İZMİR``; the cells are stripped, so ``'dog '`` is
    ``dog``; or only in invisible characters, ``cat`` and ``cat`` with a zero-width space,
    which print alike; see :func:`same_name`): each became a class of its own, silently.
    Which spelling is meant is the user's to say, so neither is chosen."""
    pair = _alike_pair(texts)
    if pair is not None:
        i, j = pair
        raise DataError(
            f"{path}, {where}: class names {_shown(texts[i])} (line {lines[i]}) and "
            f"{_shown(texts[j])} (line {lines[j]}) differ only in "
            f"{how_alike(texts[i], texts[j])}, and would be two classes; "
            "write each class one way"
        )


def normal_name(name: str) -> str:
    """A name (a class's, a column's) as a CSV file's are read: stripped of surrounding
    spaces, in Unicode's composed form (NFC: ``café`` typed or pasted from macOS with a
    combining accent is ``café``), so a name the user types matches the file's."""
    return unicodedata.normalize("NFC", name.strip())


def same_name(name: Any, other: Any) -> bool:
    """Whether two names (of columns, of classes) are one name, told apart only by letter case
    or by Unicode's composed and decomposed forms (``état`` pasted from macOS): compared in
    NFC and in lower case, where Turkish ``İ``/``i`` and ``I``/``ı`` pair too (``İZMİR`` is
    ``İzmir``, ``IŞIK`` is ``ışık``), and an all-capital name is the other's capitals
    (``GRÖSSE`` is ``Größe``, as ``str.upper`` writes it). Unlike ``casefold``, ``ß`` is no
    ``ss`` otherwise: ``Maße`` and ``Masse`` are different words, and different names.
    Invisible characters are no part of a name (:func:`_visible`: a right-to-left mark, a
    zero-width space, a soft hyphen, a byte order mark), and a no-break space is a space:
    names that print alike are one name."""
    return _alike_pair([str(name), str(other)], repeats=True) is not None


def _visible(name: str) -> str:
    """``name`` as it prints: without its invisible characters (Unicode's format characters,
    category Cf: a right-to-left mark U+200F pasted with Arabic or Hebrew text, a zero-width
    space U+200B, a soft hyphen U+00AD, a byte order mark U+FEFF inside a cell), and with
    each space of another kind (a no-break space U+00A0) a plain one. The zero-width joiner
    and non-joiner stay: they change how the text is drawn (an emoji ZWJ sequence, a Persian
    or Devanagari word), so names told apart by one look different."""
    if name.isascii():
        return name
    return "".join(
        "" if unicodedata.category(c) == "Cf" and c not in _JOINERS else " " if c.isspace() else c
        for c in name
    )


#: The zero-width non-joiner and joiner (U+200C, U+200D), format characters that are seen
_JOINERS = "\u200c\u200d"


def _invisible_in(*names: str) -> list[str]:
    """The invisible characters (and spaces other than a plain one) in ``names``, in order of
    first appearance, each as its code point (``U+200B``)."""
    found = dict.fromkeys(c for name in names for c in name if c != " " and _visible(c) != c)
    return [f"U+{ord(c):04X}" for c in found]


def how_alike(name: str, other: str) -> str:
    """How two names :func:`same_name` takes as one differ, for a message: ``"letter case"``,
    ``"invisible characters (U+200B)"`` or both."""
    name, other = normal_name(name), normal_name(other)
    invisible = _invisible_in(name, other)
    hidden = f"invisible characters ({', '.join(invisible)})"
    if not invisible:
        return "letter case"
    if _visible(name) == _visible(other):
        return hidden
    return f"letter case and {hidden}"


def _turkish_lower(name: str) -> str:
    """``name`` in lower case by Turkish rules: ``İ`` is ``i``, ``I`` is ``ı``."""
    return name.replace("İ", "i").replace("I", "ı").lower()


def _alike_pair(names: Sequence[str], repeats: bool = False) -> tuple[int, int] | None:
    """The first two names of ``names`` that :func:`same_name` takes as one (their indices, the
    earlier first): different names, and with ``repeats`` a name written twice alike; or None."""
    seen: dict[tuple[str, str], int] = {}
    by_text: dict[str, int] = {}
    for j, raw in enumerate(names):
        name = normal_name(raw)
        i = by_text.setdefault(name, j)
        name = _visible(name)
        if i != j:
            if repeats:
                return i, j
            continue
        keys = [("lower", name.lower()), ("turkish", _turkish_lower(name))]
        # an all-capital name is the capitals of any name that str.upper writes so
        probes = [*keys, ("capitals", name.upper())]
        if name.isupper():
            keys.append(("capitals", name))
            probes.append(("upper", name))
        found = [seen[probe] for probe in probes if probe in seen]
        if found:
            return min(found), j
        for key in [*keys, ("upper", name.upper())]:
            seen.setdefault(key, j)
    return None


@dataclass
class Table:
    """A CSV file's numbers: ``values`` (float64, rows x columns), the header's column ``names``
    (None without a header), ``body``, each data row as (line number, cells), and ``texts``."""

    values: np.ndarray
    names: list[str] | None
    #: a sequence of (line number, cells): a :class:`_Body`, which splits a row's cells from
    #: the file's text when asked for them (its ``lines``: the line numbers, as an array)
    body: Any
    #: the ``text_column``'s cells, stripped (its place in ``values`` holds 0), else None
    texts: list[str] | None = None


def read_table(
    path: str | os.PathLike | BytesFile,
    header: bool | None = None,
    delimiter: str | None = None,
    columns: int | None = None,
    text_column: int | str | None = None,
    check_width: Callable[[int, int], None] | None = None,
    text_hint: Callable[[list[str] | None, int], str] | None = None,
) -> Table:
    """Every number of a CSV file, checked: a ragged row, a cell that is not a number or not
    finite raises DataError naming the file, the line and the column. ``path`` may be the
    file's bytes (a :class:`BytesFile`, standard input), read by the same rules.

    ``text_column`` (an index, negative from the end, or a header's name): a column that may
    hold text on every row (class names), kept as ``Table.texts``; its text on line 1 makes
    a header only where the rows below hold numbers there, as past ``columns``.

    ``header=None`` takes line 1 as column names if any cell in it is not a number. With
    ``columns``, only the first ``columns`` columns are numbers (read); the rest (a text label
    column) only have to be there on every row, and their text on line 1 makes it a header
    only where the rows below hold numbers in them.

    ``check_width`` is called with the file's number of columns and the line that gave it
    before any cell is read as a number: a file of the wrong width is refused for its width,
    not for a cell it has in a place the reader expected a number (a text label among a
    model's inputs); for a file of one column, its DataError gains the hint that line 1 holds
    another separator (``;``).

    ``text_hint(names, j)``: the end of the message for a column ``j`` of text on every row
    (words, where numbers were expected), as :func:`read_csv` says where the labels may be.

    A header whose first cell is ``#``, a space and more (``# a,b,c``, as ``numpy.savetxt``
    writes one) is refused: comment lines are not skipped, and as the header it would name
    column 1 ``# a`` silently (:func:`_check_not_a_comment`).
    """
    path = _source(path)
    delimiter = _file_delimiter(path, delimiter)
    _check_delimiter(path, delimiter)
    rows = _read_rows(path, delimiter, (text_column, header, columns))
    if not rows:
        raise DataError(f"{path}: the file is empty")
    _check_no_empty_columns_at_the_end(path, rows, delimiter)
    text = rows.text
    if header is None:
        header = _has_header(rows, columns) if text is None else _has_text_header(rows, text)
        if header:
            _check_not_a_typo(path, rows[0])
            if len(rows) == 1:  # nothing below to tell a header from a case with a bad cell
                _check_not_a_lone_case(path, rows[0], columns, text)
        else:
            _note_header_of_numbers(path, rows, text, columns)
    names = [cell.strip() for cell in rows[0][1]] if header else None
    body = rows[1:] if header else rows
    if names:
        _check_not_a_comment(path, rows[0], body)
        _check_names(path, names, body)
    if not body:  # one line, read as a header: maybe numbers with another separator (1;2;3)
        hint = _separator_hint(",".join(rows[0][1]), "line 1")
        raise DataError(f"{path}: no data rows (only a header){hint}")
    width = len(names) if names else len(body[0][1])
    if check_width is not None:
        _check_width(check_width, width, rows[0])
    if text_column is not None and text is None:  # no such column: said before any cell is
        _label_index(path, text_column, names, width)  # read (labels of text would be named)
    _check_widths(path, body, width, names, rows[0][0])  # before the text column is set aside
    hints = (delimiter, text_hint)
    if text is None:
        return Table(_parse(path, body, width, names, columns, hints), names, body)
    # the text column's cells stand aside; its place in the numbers holds 0, so every other
    # column keeps its number in messages
    texts = rows.texts[1:] if header else rows.texts
    # whether every line ends with a separator, told from the cells as written (the text
    # column, which may be that empty last one, holds 0 in the parse)
    trailing = _trailing_separator_hint(body, names, width - 1)
    table = _parse(path, body, width, names, columns, hints, trailing)
    return Table(table, names, body, texts)


def _check_no_empty_columns_at_the_end(
    path: Path, rows: list[tuple[int, list[str]]], delimiter: str
) -> None:
    """Refuse a file whose every line (the header's too) ends with two or more empty columns
    (``1;2;a;;;``, the columns of a spreadsheet's used range past the data), naming them, not
    a header's empty name or an empty cell. One such column is refused as before, by the
    reader's hint that every line ends with a separator."""
    width = len(rows[0][1])
    if (rows.widths != width).any():
        return  # the ragged line is named
    empty = 0
    while empty < width - 1 and all(not cells[width - 1 - empty].strip() for _, cells in rows):
        empty += 1
    if empty >= 2:
        raise DataError(
            f"{path}: every line ends with {empty} empty columns ({delimiter * empty!r} at the "
            "end of each line, as a spreadsheet saves cells past the data): remove them"
        )


def _check_not_a_comment(
    path: Path, first: tuple[int, list[str]], body: list[tuple[int, list[str]]]
) -> None:
    """Refuse a header line that is a ``#`` comment as wide as the rows below it (``# a,b,c``,
    ``numpy.savetxt``'s header): comment lines are not skipped, and taken as the header it
    named column 1 ``# a`` silently (a model then expected an input of that name). A first
    name that starts with ``#`` (``#,a,b``, ``#id,a,b``) names that column, as before and
    as pandas reads it (:func:`_is_comment_not_a_name`). A comment of another width is left
    to the ragged line below it, whose message names the comment."""
    line, cells = first
    if not _is_comment_not_a_name(cells):
        return
    if body and len(body[0][1]) != len(cells):
        return
    raise DataError(
        f"{path}, line {line}: {_shown(','.join(cells))} starts with '#', as a comment does, but "
        f"comment lines are not skipped: read as the header, it would name column 1 "
        f"{_shown(cells[0])}; remove the '#' if the line names the columns, else the line"
    )


def _check_names(path: Path, names: list[str], body: list[tuple[int, list[str]]]) -> None:
    """Refuse a header that leaves a column without a name or names two columns alike
    (``a,a,label``, a column pasted twice; ``Age,age``, as names are matched in any case): a
    column is chosen by its name (``label_column``) and a model's inputs are checked by
    theirs, which two columns of one name would make ambiguous. An empty last name where
    every line ends with a separator (``a,b,label,``) is left to the parse, which names the
    separator."""
    if len(names) > 1 and not names[0]:
        raise DataError(
            f"{path}, line 1: the first column has no name, as the row index pandas writes "
            "(DataFrame.to_csv without index=False): read as a feature, it would shift every "
            "column; write the file with index=False, or drop that column"
        )
    last = len(names) - 1
    for j, name in enumerate(names):
        if name or (j == last and _trailing_separator_hint(body, names, j)):
            continue
        if j == last and body and all(len(cells) == last for _, cells in body):
            raise DataError(  # the header alone ends with a separator: the count is the clue
                f"{path}, line 1: the header ends with a separator that the data lines lack "
                f"({last + 1} fields, line {body[0][0]} has {last}): remove it"
            )
        raise DataError(
            f"{path}, line 1, column {j + 1}: the header gives this column no name; a "
            "header names every column (a separator typed twice?)"
        )
    # in any case, as a model's inputs are matched to a file's names ("Age" is "age")
    pair = _alike_pair(names, repeats=True)
    if pair is not None:
        i, j = pair
        same = (
            _shown(names[j])
            if names[i] == names[j]
            else f"{_shown(names[i])} and {_shown(names[j])} ({_names_match(names[i], names[j])})"
        )
        raise DataError(
            f"{path}, line 1: columns {i + 1} and {j + 1} have the same name, {same}; a "
            "header names each column once (a column pasted twice?): rename or remove one"
        )


def _names_match(name: str, other: str) -> str:
    """Why two column names :func:`same_name` takes as one are one name, for a message."""
    how = how_alike(name, other)
    if how == "letter case":
        return "names match in any case"
    return (
        "names match in any case and whatever invisible characters they hold; these differ "
        f"only in {how}"
    )


def _default_delimiter(path: Path) -> str:
    """The delimiter of a file for which none is given: a tab for ``.tsv``, else a comma."""
    return "\t" if path.suffix.lower() == ".tsv" else ","


def check_table_width(
    path: str | os.PathLike | BytesFile,
    check_width: Callable[[int, int], None],
    delimiter: str | None = None,
) -> None:
    """``check_width`` (as :func:`read_table` takes it) called with the number of fields on
    the file's first line and that line's number, before anything else is read: every line
    has as many, so a file for a model, refused for its width here, is never refused for a
    cell read in the wrong place (a file without its label column, whose last input was read
    as a label "0.2 is not an integer class"). A file that cannot be read is left to the
    reader, which says why, and so is one whose first line is a ``#`` comment, whose width
    says nothing of the rows': the reader names the comment (as the header it is refused;
    of another width than the rows, it is named by the ragged line below). ``delimiter``: as
    :func:`read_table` takes it."""
    path = _source(path)
    delimiter = _file_delimiter(path, delimiter)
    try:  # read up to the first record only, not the whole file (the reader reads that)
        with _open_binary(path) as f:
            start = f.read(_FIRST_BLOCK)
        refuse_binary(path, start)  # a workbook's first "line" is no width
        with io.TextIOWrapper(_open_binary(path), _encoding_by_mark(start[:4]), newline="") as f:
            records = _records_in(f, delimiter)
            first = next(records, None)
            if first is not None and first[0] == 1 and _sep_line(delimiter.join(first[1])):
                first = next(records, None)  # Excel's sep= line, which _text_of blanks
    except (OSError, UnicodeDecodeError, _MalformedCSV, TypeError):  # TypeError: a delimiter
        return  # csv cannot split on, refused by the reader
    if first is not None and not _is_comment_not_a_name(first[1]):
        _check_width(check_width, len(first[1]), first)


def _check_width(
    check_width: Callable[[int, int], None], width: int, first: tuple[int, list[str]]
) -> None:
    """``check_width(width, line)``; a refusal ends with the hint that the ``first`` line, which
    gave the width, is a ``#`` comment, or, for a file of one column, that it holds another
    separator (a semicolon file given to ``chainrule predict``), as read_csv's refusal of a
    one-column file does, or that it ends with a separator (an empty last column), as the
    reader says of a file whose every line does."""
    line, cells = first
    try:
        check_width(width, line)
    except DataError as error:
        hint = _comment_line_hint(line, cells, "is a comment")
        if not hint and width == 1:
            hint = _separator_hint(",".join(cells), "line 1")
        if not hint and width > 1 and not cells[-1].strip():
            hint = f"; line {line} ends with {_ENDS_WITH_A_SEPARATOR}"
        if not hint:
            raise
        raise DataError(f"{error}{hint}") from None


def _check_delimiter(path: Path, delimiter: Any) -> None:
    """Refuse a delimiter csv cannot split on (``";;"``: csv's TypeError; ``""`` was taken as
    "not given" and the file read with commas) or one that is part of the format itself."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise DataError(
            f"{path}: delimiter must be one character other than a quote or a line break "
            f"(such as ',', ';' or '\\t'), got {delimiter!r}"
        )


def _text_index(first: list[str], text_column: int | str | None, header: bool | None) -> Any:
    """The text column's index in rows as wide as ``first``, or None where there is none (an
    index out of range, or a name line 1 does not hold: the caller's own checks name those)."""
    if text_column is None:
        return None
    if isinstance(text_column, str):
        text_column = unicodedata.normalize("NFC", text_column)  # as the header is read
        stripped = [cell.strip() for cell in first]
        if header is False or text_column not in stripped:
            return None
        return stripped.index(text_column)
    if not is_integer(text_column) or not -len(first) <= text_column < len(first):
        return None
    return int(text_column) % len(first)


def _has_text_header(rows: list[tuple[int, list[str]]], text: int) -> bool:
    """:func:`_has_header` for rows whose column ``text`` may hold text on every row: the
    other cells decide as for numbers; text in that column on line 1 makes a header only where
    every row below holds a number there (``a,b,label`` over labels 0 and 1), not over more
    names or empty cells (``5.1,3.5,setosa`` is a case)."""
    first = rows[0][1]
    if _is_column_numbers(first) or _looks_like_header(first[:text] + first[text + 1 :]):
        return True
    if not _looks_like_header(first[text : text + 1]):
        return False
    below = [cells[text] for _, cells in rows[1:] if len(cells) > text]
    return bool(below) and all(_NUMBER.fullmatch(cell) for cell in below)


def _note_header_of_numbers(
    path: Path, rows: list[tuple[int, list[str]]], text: int | None, columns: int | None
) -> None:
    """Warn (:class:`DataWarning`) where line 1, read as a case, may be a header of numbers:
    its label cell (the ``text`` column, or the one column past ``columns``) is text that no
    other line holds as a label, in any case, while some class below occurs twice, and its
    other cells are numbers (``400,410,420,species`` over rows of ``setosa``, ``versicolor``:
    column names that are wavelengths). Its content cannot tell it from a case of a class of
    its own (``5.1,3.5,rare``), so it is read as one; only the caller can say it is a header."""
    first = rows[0][1]
    if text is None and (columns is None or len(first) != columns + 1):
        return
    j = text if text is not None else columns
    label, others = first[j].strip(), [cell.strip() for k, cell in enumerate(first) if k != j]
    if not label or _NUMBER.fullmatch(label):
        return
    if not others or not all(_NUMBER.fullmatch(cell) for cell in others):
        return  # one column (another separator) or text beside it: refused or a header
    labels = [cells[j].strip().casefold() for _, cells in rows[1:] if len(cells) > j]
    if len(set(labels)) == len(labels) or label.casefold() in labels:
        return  # every class once: line 1's own is no odd one out; or a class the others have
    warnings.warn(
        f"{path}, line {rows[0][0]}: read as a case of class {_shown(label)}, which no other "
        "line has; if the line is a header of numbers (column names such as 400,410,...), "
        "say so: read_csv takes header=True (for chainrule, write one of its names as no "
        f"number, such as {_shown('x' + others[0])}, or remove the line)",
        DataWarning,
        stacklevel=3,
    )


def _read_rows(
    path: Path, delimiter: str, plan: tuple[Any, Any, Any] = (None, None, None)
) -> _Body:
    """(line number, cells) for every non-blank line, as a :class:`_Body`; ``plan``: the
    ``text_column``, ``header`` and ``columns`` of :func:`read_table`, by which the rows
    below line 1 are parsed as they are read (see :class:`_Body`)."""
    try:
        text = _text_of(path)
        rows, spans_lines = _scan(text, delimiter, plan)
        if spans_lines:
            # a quote never closed runs on to the end of the file as one cell (a text label:
            # the rest of the file became one class name, silently); the strict reader tells
            # it from a quoted cell over several lines (strict everywhere refused '"a" ,')
            for _ in _records_in(_lines_of(text), delimiter, strict=True):
                pass
        return rows
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such file") from error
    except UnicodeDecodeError as error:
        raise _not_text(path, error) from error
    except _MalformedCSV as malformed:
        line, error = malformed.args
        if "unexpected end of data" in str(error):
            raise DataError(f"{path}, line {line}: a quote opened here is never closed") from None
        raise DataError(f"{path}, line {line}: malformed CSV ({error})") from error
    except OSError as error:  # a directory, no permission, an I/O error
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error


#: How many cells the reader holds as text at once: rows are parsed in blocks of about as
#: many cells as they are read, and their text dropped (a row's cells are split again from
#: the file's text where a message or a check needs them)
_BLOCK_CELLS = 1 << 16


class _Body:
    """The rows of a CSV file, as a sequence of (line number, cells) that keeps the file's
    text, not its cells: a row's cells are split from its text when asked for (one
    ``str`` per cell for every cell of a file took ~100 bytes a cell). ``lines``: each row's
    line number (an array); ``widths``: its number of cells; ``text``, ``texts``: the text
    column's index and its cells, stripped (:func:`read_table`); ``scan``: the numbers the
    reader parsed as it read (:func:`_scan`), shared by the slices of a body. ``drop``,
    ``zero``, ``keep``: a row's cells as given without column ``drop``, with ``"0"`` in
    column ``zero``, cut to the first ``keep``."""

    def __init__(self, source, starts, ends, lines, widths, offset=0, shape=(None, None, None)):
        self._source = source  # (text, delimiter, scan)
        self.starts, self.ends, self.lines, self.widths = starts, ends, lines, widths
        self.offset, self.shape = offset, shape  # offset: the first row's index in the scan
        self.text: int | None = None
        self.texts: list[str] | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def _cells(self, cells: list[str]) -> list[str]:
        drop, zero, keep = self.shape
        if drop is not None:
            cells = cells[:drop] + cells[drop + 1 :]
        if zero is not None and zero < len(cells):
            cells = [*cells[:zero], "0", *cells[zero + 1 :]]
        return cells if keep is None else cells[:keep]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            if i.step not in (None, 1):
                return list(self)[i]
            first = range(len(self))[i].start
            return self._view(i, first, self.shape)
        text, delimiter, _ = self._source
        lines = _lines_of(text, int(self.starts[i]), int(self.ends[i]))
        cells = next(_records_in(lines, delimiter))[1]
        return int(self.lines[i]), self._cells(cells)

    def _view(self, i: slice, first: int, shape: tuple[Any, Any, Any]) -> _Body:
        view = _Body(
            self._source, self.starts[i], self.ends[i], self.lines[i], self.widths[i],
            self.offset + first, shape,
        )  # fmt: skip
        view.text, view.texts = self.text, self.texts
        return view

    def shaped(self, drop: Any = None, zero: Any = None, keep: Any = None) -> _Body:
        """This body's rows without column ``drop``, with 0 in column ``zero``, cut to the
        first ``keep`` columns (see the class)."""
        view = self._view(slice(None), 0, (drop, zero, keep))
        if drop is not None:
            view.widths = self.widths - 1
        return view

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        if not len(self):
            return
        text, delimiter, _ = self._source
        lines = _lines_of(text, int(self.starts[0]), int(self.ends[-1]))
        for line, (_, cells) in zip(self.lines.tolist(), _records_in(lines, delimiter)):
            yield line, self._cells(cells)

    def __repr__(self) -> str:
        return f"_Body({len(self)} rows)"


class _Scan:
    """What :func:`_scan` parsed: ``values`` (a row per record, float64), and ``failed``, the
    (first, end) record ranges whose numbers were not parsed: line 1, which may be a header,
    and each block that is not plain numbers (parsed by :func:`_parse`, cell by cell)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.failed = values, [(0, 1)]


def _scan(text: str, delimiter: str, plan: tuple[Any, Any, Any]) -> tuple[_Body, bool]:
    """The rows of ``text`` (a :class:`_Body`), and whether a record spans lines; the rows
    below line 1 parsed as numbers, a block of about :data:`_BLOCK_CELLS` cells at a time,
    their text column (``plan``: that of :func:`read_table`, with ``header`` and ``columns``)
    set aside. A block of lines that is plain numbers is split and parsed at once
    (:meth:`_Scanner.plain`); any other (quotes, a ragged or blank line, a cell that is no
    plain number) is read by ``csv`` (:meth:`_Scanner.careful`), and its numbers, where they
    are not plain, left to :func:`_parse`, which names the first cell that is no number."""
    scanner = _Scanner(text, delimiter, plan)
    position, line = scanner.careful(0, 1, 0)  # line 1: the width, the text column
    while position < len(text):
        end = scanner.block_end(position)
        if scanner.plain(position, end, line):
            position, line = end, line + text.count("\n", position, end)
        else:
            position, line = scanner.careful(position, line, end)
    return scanner.body(), scanner.spans_lines


class _Scanner:
    """What :func:`_scan` has read of ``text`` so far: each row's start and end in the text,
    line number and width, the text column's cells, and the numbers (``scan``, made on line 1,
    as wide as line 1, cut to ``columns``)."""

    def __init__(self, text: str, delimiter: str, plan: tuple[Any, Any, Any]) -> None:
        self.text, self.delimiter = text, delimiter
        self.text_column, self.header, self.columns = plan
        self.capacity = max(text.count("\n"), text.count("\r")) + 1
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.lines: list[int] = []
        self.widths: list[int] = []
        self.texts: list[str] = []
        self.block: list[list[str]] = []  # rows read by csv, not yet parsed
        self.scan: _Scan | None = None
        self.index: int | None = None  # the text column's
        self.width, self.size = 0, 1  # line 1's width; rows to a block
        self.spans_lines = False

    def careful(self, position: int, line: int, stop: int) -> tuple[int, int]:
        """Read the records from ``position`` (on ``line``) with ``csv``, until one ends at
        ``stop`` or past it (and line 1 is read), or the text ends; the position and line
        number after the last record read."""
        text, reached = self.text, [position]

        def read_lines() -> Iterator[str]:
            for found in _LINE.finditer(text, position):
                reached[0] = found.end()
                yield found.group()

        reader = csv.reader(read_lines(), delimiter=self.delimiter)
        start, begin = line, position
        try:
            for cells in reader:
                if cells and any(cell.strip() for cell in cells):
                    self.spans_lines = self.spans_lines or line + reader.line_num - 1 > start
                    self._record(cells, start, begin, reached[0])
                start, begin = line + reader.line_num, reached[0]
                if begin >= stop and self.scan is not None:
                    break
        except csv.Error as error:  # an unterminated quote runs on to a field too large
            raise _MalformedCSV(start, error) from error
        if self.block:
            self._parse_block()
        return begin, start

    def _record(self, cells: list[str], line: int, start: int, end: int) -> None:
        """Keep a record read by ``csv`` (its ``cells``), on ``line``, from ``start`` to
        ``end`` in the text; its numbers are parsed with its block's."""
        self.starts.append(start)
        self.ends.append(end)
        self.lines.append(line)
        self.widths.append(len(cells))
        index = self.index
        if self.scan is None:  # line 1: the width, the text column, the numbers' shape
            self.width = len(cells)
            index = self.index = _text_index(cells, self.text_column, self.header)
        if index is not None:
            self.texts.append(cells[index].strip() if len(cells) > index else "")
        if self.scan is None:
            kept = min(self.width, self.columns or self.width)
            self.scan = _Scan(np.empty((self.capacity, kept), dtype=np.float64))
            self.size = max(1, _BLOCK_CELLS // self.width)
            return
        if index is not None and len(cells) > index:
            cells[index] = "0"
        if len(cells) == self.width:
            self.block.append(cells[: self.columns] if self.columns is not None else cells)
        else:
            self.block.append([])  # ragged: refused before the numbers are read
        if len(self.block) >= self.size:
            self._parse_block()

    def _parse_block(self) -> None:
        scan, block = self.scan, self.block
        first, width = len(self.lines) - len(block), scan.values.shape[1]
        parsed = None
        if all(len(row) == width for row in block):  # else ragged, refused by the caller
            parsed = _plain_numbers([cell for row in block for cell in row], width)
        if parsed is None:
            scan.failed.append((first, len(self.lines)))
        else:
            scan.values[first : len(self.lines)] = parsed
        block.clear()

    def block_end(self, position: int) -> int:
        """Where the block of lines from ``position`` ends: after its :attr:`size` lines."""
        text, end = self.text, position
        for _ in range(self.size):
            end = text.find("\n", end) + 1
            if not end:
                return len(text)
        return end

    def plain(self, position: int, end: int, line: int) -> bool:
        """Read the lines from ``position`` to ``end`` (the first on ``line``) at once, as
        :meth:`careful` would, where they are plain numbers: no quote (so every record is a
        line, its cells the line split at each delimiter), every line ending alike (``\\n``
        or ``\\r\\n``), none blank or ragged, no cell too long for ``csv``, every cell a plain
        number (:func:`_plain_numbers`; the text column's, any text but an empty cell). False,
        having kept nothing, where they are not."""
        chunk, delimiter, width = self.text[position:end], self.delimiter, self.width
        if '"' in chunk or "\0" in chunk:
            return False
        eol = 1
        if "\r" in chunk:
            crlf = chunk.count("\r\n")
            if chunk.count("\r") != crlf or chunk.count("\n") != crlf:
                return False
            chunk, eol = chunk.replace("\r\n", "\n"), 2
        ended = chunk.endswith("\n")
        rows = (chunk[:-1] if ended else chunk).split("\n")
        lengths = list(map(len, rows))
        if max(lengths) > csv.field_size_limit():
            return False
        if any(row.count(delimiter) != width - 1 for row in rows):
            return False  # ragged (or blank, in a file of more than one column)
        texts, index, n = None, self.index, len(rows)
        if index is not None:  # the text column's cells, stripped
            if index == width - 1:
                texts = [row.rpartition(delimiter)[2].strip() for row in rows]
            else:
                texts = [row.split(delimiter, index + 1)[index].strip() for row in rows]
            if not all(texts):  # a blank line, or an empty label: as csv reads it
                return False
        values = self._numbers(chunk, n, index)
        if values is None:
            return False
        first = len(self.lines)
        self.scan.values[first : first + n] = values
        ends = np.cumsum(np.array(lengths, dtype=np.int64) + eol) + position
        ends[-1] -= 0 if ended else eol
        self.ends.extend(ends.tolist())
        self.starts.append(position)
        self.starts.extend(ends[:-1].tolist())
        self.lines.extend(range(line, line + n))
        self.widths.extend([width] * n)
        if texts is not None:
            self.texts.extend(texts)
        return True

    def _numbers(self, chunk: str, n: int, index: int | None) -> np.ndarray | None:
        """The numbers of the ``n`` lines of ``chunk`` (each ending with ``\\n`` but maybe the
        last, of :attr:`width` cells each), cut to the scan's width, 0 in the text column
        ``index``; None where a cell is no plain number (see :meth:`plain`). Where every
        cell is one without white space, NumPy parses the whole block: its ``fromstring``
        reads each number as ``float`` does (by ``PyOS_string_to_double``), and refuses an
        empty cell, but reads a cell of spaces as -1, and a delimiter that is white space
        or can be part of a number not as ``csv`` does: such blocks are split into cells
        first, each read by ``float``."""
        delimiter, width, kept = self.delimiter, self.width, self.scan.values.shape[1]
        line = chunk.replace("\n", delimiter)  # every row's cells, in a line
        whole = not delimiter.isspace() and delimiter not in _NUMERIC.decode()
        if whole and _is_numeric(line, delimiter, spaces=False):
            try:
                with warnings.catch_warnings():  # an older NumPy warns of such a cell
                    warnings.simplefilter("error", DeprecationWarning)
                    values = np.fromstring(line, sep=delimiter)
            except (ValueError, DeprecationWarning):  # a cell that is no number
                values = None
            if values is not None and values.size == n * width:
                values = values.reshape(n, width)[:, :kept]
                if index is not None and index < kept:
                    values[:, index] = 0
                return values
        cells = line.split(delimiter)
        if len(cells) > n * width:
            cells.pop()  # after the last line's end
        if index is not None:
            cells[index::width] = ["0"] * n
        if kept != width:  # the first ``columns`` cells of each row
            cells = [cell for k in range(n) for cell in cells[k * width : k * width + kept]]
        return _plain_numbers(cells, kept)

    def body(self) -> _Body:
        """The rows read, as a :class:`_Body`."""
        scan = self.scan or _Scan(np.empty((0, 0)))
        scan.values = scan.values[: len(self.lines)]
        body = _Body(
            (self.text, self.delimiter, scan),
            np.array(self.starts, dtype=np.int64), np.array(self.ends, dtype=np.int64),
            np.array(self.lines, dtype=np.int64), np.array(self.widths, dtype=np.int64),
        )  # fmt: skip
        index = self.index
        body.text, body.texts = index, self.texts if index is not None else None
        return body


def _plain_numbers(cells: list[str], width: int) -> np.ndarray | None:
    """The numbers of ``cells``, rows of ``width`` cells one after the other, as ``float``
    reads each, where every cell is a plain number (no odd character: see :data:`_NUMERIC`),
    else None (a cell to be read one at a time, for its message or its NaN)."""
    if not _is_numeric("".join(cells)):
        return None
    try:
        values = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except ValueError:
        return None
    return values.reshape(-1, width)


def _is_numeric(text: str, also: str = "", spaces: bool = True) -> bool:
    """Whether ``text`` holds only the characters of plain numbers (:data:`_NUMERIC`; without
    ``spaces``, not its space and tab) and those of ``also`` (ASCII)."""
    allowed = (_NUMERIC if spaces else _NUMERIC_INK) + also.encode()
    return text.isascii() and not text.encode("ascii").translate(None, allowed)


def _not_text(path: Path, error: UnicodeDecodeError) -> DataError:
    """A file that is not UTF-8 text, named with the line of its first byte that is not
    (the text reader's offset counts from the chunk it was decoding). A file of another
    format (gzip, an Excel workbook, NumPy's) is refused before it is decoded
    (:func:`refuse_binary`)."""
    try:
        raw = _bytes_of(path)  # only on this error: once, to find where
        raw.decode("utf-8")
    except UnicodeDecodeError as found:
        line = raw.count(b"\n", 0, found.start) + 1
        column = found.start - (raw.rfind(b"\n", 0, found.start) + 1) + 1
        return DataError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{raw[found.start]:02x} at byte "
            f"{column} of the line: {found.reason}){_encoding_hint(raw)}"
        )
    except OSError:
        pass
    return DataError(f"{path}: not a UTF-8 text file ({error.reason})")


class Binary(NamedTuple):
    """A file format that is not text (:func:`binary_kind`): ``key`` (``"npy"``, ``"xlsx"``,
    ...), what the file is in words and what to do instead of giving it as CSV text."""

    key: str
    what: str
    remedy: str


_SAVE_CSV_UTF8 = "save it as CSV UTF-8 from Excel (Save As, 'CSV UTF-8 (Comma delimited)')"
_NUMPY_TEXT = "save the array as CSV text: np.savetxt('{csv}', np.load('{file}'), delimiter=',')"

#: Formats that are not text, by the bytes they start with ("magic numbers"), and what each is
#: and what to do: the one table of them. The CSV reader refuses a file of each in one line
#: (:func:`refuse_binary`: it read an .xlsx or a .npy as a Windows-1252 CSV file, "save the
#: file as UTF-8"), and a command that reads one of them itself asks :func:`binary_kind`
#: (``explain --input`` reads a .npy file). A zip archive is told apart by what it holds
#: (:func:`_zip_kind`: an Excel or OpenDocument workbook, a Word document, NumPy's .npz).
#: ``{file}`` in a remedy is the file's name, ``{csv}`` a CSV file's beside it (:func:`_named`).
_MAGIC = (
    (b"\x1f\x8b", Binary("gzip", "a gzip-compressed file", "decompress it first")),
    (b"PK\x03\x04", Binary("zip", "a zip archive", "unzip it and give the CSV file it holds")),
    (b"\x93NUMPY", Binary("npy", "a NumPy .npy file (np.save's)", _NUMPY_TEXT)),
    (b"PAR1", Binary("parquet", "a Parquet file", "save it as CSV text: "
                     "pandas.read_parquet('{file}').to_csv('{csv}', index=False)")),
    (b"%PDF-", Binary("pdf", "a PDF document", "save or export its table as CSV text")),
    (b"\x89HDF\r\n\x1a\n", Binary("hdf5", "an HDF5 file", "save its array as CSV text "
                                 "(read it with h5py, then np.savetxt)")),
)  # fmt: skip

#: What a zip archive is by a file it holds, as Office writes them (NumPy's .npz: by its
#: .npy files alone); an OpenDocument file by its ``mimetype`` (:func:`_zip_kind`).
_ZIP_KINDS = (
    ("xl/workbook.xml", Binary("xlsx", "an Excel workbook (xlsx)", _SAVE_CSV_UTF8)),
    ("word/document.xml", Binary("docx", "a Word document (docx)",
                                 "copy its table into a spreadsheet and save that as CSV UTF-8")),
)  # fmt: skip
_ODS = Binary(
    "ods",
    "an OpenDocument spreadsheet (ods)",
    "save it as CSV from LibreOffice Calc (Save As, 'Text CSV', character set UTF-8)",
)

#: The bytes of a file looked at for its format (and a NUL byte, which no text file holds)
_FIRST_BLOCK = 4096


def binary_kind(path: str | os.PathLike | BytesFile, start: bytes | None = None) -> Binary | None:
    """The format of a file that is not text, by :data:`_MAGIC` (a zip archive by what it
    holds), or "a binary file" where its first block holds a NUL byte and no byte order mark
    says it is UTF-16 or UTF-32 (UTF-16 without one is not called binary: the reader says what
    it is); None for a file that may be text, or one that cannot be read (the reader says
    why). ``start``: the file's first :data:`_FIRST_BLOCK` bytes, where the caller has them."""
    path = _source(path)
    if start is None:
        try:
            with _open_binary(path) as f:
                start = f.read(_FIRST_BLOCK)
        except OSError:
            return None
    for magic, kind in _MAGIC:
        if start.startswith(magic) and (kind.key != "parquet" or b"\x00" in start):
            # (a CSV's header may start "PAR1," a parameter's name: Parquet holds NUL bytes)
            return _named(_zip_kind(path, kind) if kind.key == "zip" else kind, path)
    nul = start.find(b"\x00")
    if nul >= 0 and _encoding_by_mark(start[:4]) == "utf-8-sig" and not _utf16_unmarked(start):
        return Binary(
            "binary",
            f"a binary file (byte {nul + 1} is a NUL, 0x00)",
            "give the data as a CSV text file",
        )
    return None


def _named(kind: Binary, path: Path | BytesFile) -> Binary:
    """``kind`` with its remedy's ``{file}`` the file's name and ``{csv}`` that name's as a
    .csv file (``FILE`` and ``data.csv`` for bytes given without a file: standard input)."""
    named = isinstance(path, Path)
    file = path.name if named else "FILE"
    csv_name = f"{path.stem}.csv" if named else "data.csv"
    return kind._replace(remedy=kind.remedy.replace("{file}", file).replace("{csv}", csv_name))


def _zip_kind(path: Path | BytesFile, archive: Binary) -> Binary:
    """What a zip archive is by the files it holds: an Excel workbook, an OpenDocument
    spreadsheet, a Word document, NumPy's .npz (np.savez's arrays, named), else ``archive``
    (a zip archive, or one whose listing cannot be read)."""
    import zipfile

    try:
        with _open_binary(path) as f, zipfile.ZipFile(f) as z:
            names = z.namelist()
            for name, kind in _ZIP_KINDS:
                if name in names:
                    return kind
            if "mimetype" in names:
                with z.open("mimetype") as m:  # its few bytes: an ODS's is not compressed
                    mime = m.read(100)
                if mime.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
                    return _ODS
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):  # encrypted, damaged
        return archive
    if names and all(name.endswith(".npy") for name in names):
        arrays = ", ".join(name[: -len(".npy")] for name in names[:5])
        return Binary(
            "npz",
            f"a NumPy .npz archive of arrays (np.savez's: {arrays}"
            f"{', ...' if len(names) > 5 else ''})",
            f"save the one array as CSV text: np.savetxt('{{csv}}', np.load('{{file}}')"
            f"[{names[0][: -len('.npy')]!r}], delimiter=',')",
        )
    return archive


def refuse_binary(path: Path | BytesFile, start: bytes) -> None:
    """Refuse, in one line naming what it is and what to do, a file whose first bytes
    ``start`` say it is not text (:func:`binary_kind`), and a file of UTF-16 text without its
    byte order mark (a zero in every other byte), which decodes as UTF-8 with NULs."""
    kind = binary_kind(path, start)
    if kind is not None:
        raise DataError(f"{path}: {kind.what}, not text; {kind.remedy}")
    if b"\x00" in start and _encoding_by_mark(start[:4]) == "utf-8-sig":
        raise DataError(f"{path}: not UTF-8 text{_encoding_hint(start)}")


def _utf16_unmarked(start: bytes) -> bool:
    """Whether a file's first bytes look like UTF-16 without its byte order mark: a zero in
    every other byte, at least half of them (as UTF-16 writes the digits and letters of a
    CSV file)."""
    return len(start) >= 4 and (
        start[1::2].count(0) >= len(start) // 4 or start[0::2].count(0) >= len(start) // 4
    )


def _encoding_hint(raw: bytes) -> str:
    """How to save a file that is not UTF-8 as UTF-8, naming the encoding it likely is:
    UTF-16 without its byte order mark (a zero byte in every other byte), or Windows-1252,
    what Excel's "CSV (Comma delimited)" writes in Western Europe, where its bytes read so
    as Latin text (:func:`_reads_as_latin`); otherwise "a legacy code page", naming a few
    (a Greek, Arabic or Chinese file's bytes read as Windows-1252 too, as runs of accented
    letters)."""
    if _utf16_unmarked(raw[:_FIRST_BLOCK]):
        likely = (
            "; it looks like UTF-16 without its byte order mark (every other byte is 0), "
            "which is not read"
        )
    elif _reads_as_latin(raw):
        likely = (
            "; it is likely Windows-1252 (or another Windows code page, such as Turkish "
            "Windows-1254), as Excel's 'CSV (Comma delimited)' saves"
        )
    else:
        likely = "; it is in a legacy code page (Windows-1252, GBK, Windows-1253, ...)"
    return (
        f"{likely}; save the file as UTF-8 (in Excel: Save As, 'CSV UTF-8 (Comma delimited)'; "
        "UTF-16 with its byte order mark, Excel's 'Unicode Text', is read too)"
    )


def _reads_as_latin(raw: bytes) -> bool:
    """Whether ``raw`` decoded as Windows-1252 reads as Latin text: accented letters among
    plain ones (``Größe``, ``café``), no run of three letters past ASCII, which a Greek,
    Arabic or Chinese code page's words read so become (``Ýëëçíéêü``)."""
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    run = 0
    for c in text:
        run = run + 1 if not c.isascii() and c.isalpha() else 0
        if run >= 3:
            return False
    return True


class _MalformedCSV(Exception):
    """csv's error, with the line the record it was reading starts on."""


#: A line as ``open(newline="")`` reads one: up to and with its ``\r\n``, ``\r`` or ``\n``.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines_of(text: str, start: int = 0, end: int | None = None) -> Iterator[str]:
    """The lines of ``text`` (from ``start`` to ``end``), one at a time, as
    ``io.StringIO(text, newline="")`` gives them (which copied the whole text at four bytes a
    character before a line was read)."""
    found = _LINE.finditer(text, start, len(text) if end is None else end)
    return (line.group() for line in found)


def _text_of(path: Path) -> str:
    """The text of a file: UTF-8 (a byte order mark is dropped), or UTF-16 where it starts with
    its byte order mark (FF FE or FE FF, Excel's "Unicode Text"), which says so unambiguously,
    or UTF-32 where it starts with that one (FF FE 00 00, 00 00 FE FF);
    in Unicode's composed form (NFC), so a name pasted in its decomposed form (``e`` and a
    combining accent, as macOS writes ``état``) is the same name, not one that prints alike.
    Excel's ``sep=;`` first line is blanked (its line still counts): :func:`_sep_line` reads
    it. A file of another format is refused, saying which (:func:`refuse_binary`); other
    bytes raise UnicodeDecodeError."""
    raw = _bytes_of(path)
    refuse_binary(path, raw[:_FIRST_BLOCK])
    text = raw.decode(_encoding_by_mark(raw[:4]))
    found = _SEP_LINE.match(text)
    if found is not None:
        text = "\n" + text[found.end() :]
    return unicodedata.normalize("NFC", text)


def _encoding_by_mark(start: bytes) -> str:
    """The encoding a file's first bytes (up to 4) say it is by their byte order mark: UTF-32
    (FF FE 00 00 or 00 00 FE FF), UTF-16 (FF FE or FE FF), else UTF-8."""
    if start[:4] in _UTF32_MARKS:
        return "utf-32"
    return "utf-16" if start[:2] in _UTF16_MARKS else "utf-8-sig"


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
_UTF32_MARKS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


#: Excel's first line naming the file's separator (``sep=;``), which it honours and skips
_SEP_LINE = re.compile(r"sep=([^\r\n\"])[ \t]*(?:\r\n|\n|\r|$)")


def _sep_line(text: str) -> str | None:
    """The separator a ``sep=X`` first line names (as Excel writes and reads one), or None."""
    found = _SEP_LINE.match(text)
    return found.group(1) if found else None


def _file_delimiter(path: Path, delimiter: str | None) -> str:
    """The delimiter to read ``path`` with: the one given, else the one its ``sep=`` first line
    names (as Excel takes it), else :func:`_default_delimiter`'s."""
    if delimiter is not None:
        return delimiter
    try:
        with _open_binary(path) as f:
            raw = f.read(64)
    except OSError:  # the reader says why
        return _default_delimiter(path)
    encoding = _encoding_by_mark(raw)
    return _sep_line(raw.decode(encoding, errors="ignore")) or _default_delimiter(path)


def _records_in(f: Any, delimiter: str, strict: bool = False) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank record of the open file ``f``."""
    reader = csv.reader(f, delimiter=delimiter, strict=strict)
    start = 1  # the line a record starts on (an open quote spans lines)
    try:
        for cells in reader:
            if cells and any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as error:  # an unterminated quote runs on to a field too large
        raise _MalformedCSV(start, error) from error


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


#: A cell that starts as a number does (a digit, maybe after a sign or a point) but is none:
#: a typo ("3e", "0o", "1.2.3"), rarely a column's name.
_NUMBER_TYPO = re.compile(r"\s*[+-]?\.?[0-9]")


def _check_not_a_typo(path: Path, first: tuple[int, list[str]]) -> None:
    """Refuse a line 1 taken as a header for cells that are numbers but for a typo: numbers
    beside cells that start as numbers do (``1,2,3e``). As a header, the row was silently
    dropped (and its numbers became column names), where the same typo on line 2 is refused."""
    line, cells = first
    texts = [(j, cell) for j, cell in enumerate(cells) if cell.strip() and not is_number(cell)]
    numbers = any(cell.strip() and is_number(cell) for cell in cells)
    if numbers and texts and all(_NUMBER_TYPO.match(cell) for _, cell in texts):
        j, cell = texts[0]
        raise DataError(f"{path}, line {line}, column {j + 1}: {_shown(cell)} is not a number")


def _check_not_a_lone_case(
    path: Path, first: tuple[int, list[str]], columns: int | None, text: int | None
) -> None:
    """Refuse a file's only line, taken as a header, whose number columns hold numbers beside
    text (``5.1,3.5,abc,0.2``): a case with a cell that is not a number, named as the same
    cell on line 2 is, not "no data rows (only a header)"."""
    line, cells = first
    numeric = [(j, cell) for j, cell in enumerate(cells)
               if (columns is None or j < columns) and j != text]  # fmt: skip
    if not any(cell.strip() and is_number(cell) for _, cell in numeric):
        return  # names only: a header
    for j, cell in numeric:
        if cell.strip() and not is_number(cell):
            raise DataError(f"{path}, line {line}, column {j + 1}: {_shown(cell)} is not a number")


def _separator_hint(cell: str, what: str = "it") -> str:
    """A hint for a cell holding another separator than the file's (a tab-separated or a
    semicolon-separated file read as CSV), or ""."""
    if "\t" in cell:
        return (
            f"; {what} holds tabs: name a tab-separated file .tsv (or read_csv takes "
            "delimiter='\\t', chainrule train --delimiter tab)"
        )
    other = next((c for c in ";|" if c in cell), None)
    if other is None:
        return ""
    return (
        f"; {what} holds {other!r}: the columns must be separated by commas (or tabs in a "
        f".tsv file; read_csv takes delimiter={other!r}), or train with --delimiter '{other}'"
    )


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
        label_column = unicodedata.normalize("NFC", label_column)  # as the header is read
        if label_column not in names:
            alike = [name for name in names if same_name(name, label_column)]
            meant = f" (did you mean {_shown(alike[0])}?)" if alike else ""
            raise DataError(
                f"{path}: no column named {label_column!r}{meant}; columns are {', '.join(names)}"
            )
        return names.index(label_column)
    if not is_integer(label_column):
        raise DataError(
            f"{path}: label_column must be a column index (an integer) or a column name, "
            f"got {label_column!r}"
        )
    if not -width <= label_column < width:
        # as chainrule train --label-column counts: from 1, and -1 the last (read_csv's
        # label_column counts from 0, the same -1 the last)
        typed, zero = label_column, ""
        if label_column >= 0:
            typed, zero = (
                label_column + 1,
                f"; read_csv's label_column={label_column} counts from 0",
            )
        raise DataError(
            f"{path}: label column {typed} is out of range: columns are numbered 1 to {width} "
            f"(-1 is the last, -{width} the first{zero})"
        )
    return int(label_column) % width


def without_label_column(
    path: str | os.PathLike, table: Table, label_column: int | str | None
) -> Table:
    """``table`` without its label column ``label_column`` (as :func:`read_csv` takes it;
    None: the last), wherever it is, the last included: the inputs of a model trained on such
    a file, in the order it took them. ``table`` was read with that column as its text column
    (:func:`read_table`), so class names there are no error; its place in ``values`` holds 0,
    and a last label kept there was given to the model as one more input."""
    width = table.values.shape[1]
    j = (
        width - 1
        if label_column is None
        else _label_index(_source(path), label_column, table.names, width)
    )
    names = None if table.names is None else table.names[:j] + table.names[j + 1 :]
    return Table(np.delete(table.values, j, axis=1), names, table.body.shaped(drop=j))


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
#: A number written with a decimal comma (``1,5``), as a spreadsheet of some locales writes it
_DECIMAL_COMMA = re.compile(r"[ \t]*[+-]?[0-9]+,[0-9]+[ \t]*")
#: A number with German thousands separators (``1.465``, ``12.000.000``): a point before each
#: group of exactly three digits, which a file separated by ``;`` may hold beside plain ``950``
_THOUSANDS_POINT = re.compile(r"[ \t]*[+-]?[0-9]{1,3}(?:\.[0-9]{3})+[ \t]*")
#: What the text of a cell :data:`_THOUSANDS_POINT` matches holds (quoted or not)
_THOUSANDS_POINT_IN = re.compile(r"[0-9]\.[0-9]{3}(?![0-9])")
#: A whole number, for the cells beside which ``1.465`` is a thousands separator's
_WHOLE = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
#: ``1.234,5``: German thousands separators and a decimal comma
_THOUSANDS_DECIMAL_COMMA = re.compile(r"[ \t]*[+-]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+[ \t]*")
#: ``7,490.0``, ``1,234``: English thousands separators (a quoted cell of a comma file)
_THOUSANDS_COMMA = re.compile(r"[ \t]*[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?[ \t]*")


def _spelling_hint(cell: str, delimiter: str) -> str:
    """The hint for a cell that is a number in a spreadsheet's spelling, not a plain one: a
    decimal comma (``0,5``; in a file separated by commas, a quoted cell), thousands separators
    (``1.234,5``; ``7,490.0`` and ``1,000`` outside a ``;`` file), saying how to write it;
    "" for any other cell."""
    plain = cell.strip()
    if _THOUSANDS_DECIMAL_COMMA.fullmatch(cell):
        point = plain.replace(".", "").replace(",", ".")
        return (
            f"; a thousands separator and a decimal comma? write numbers with a decimal point "
            f"and no thousands separator ({point})"
        )
    # 1,000 in a comma file (quoted) is a thousands comma, in a ; file a decimal comma
    if _THOUSANDS_COMMA.fullmatch(cell) and delimiter != ";":
        return f"; a thousands separator? write numbers without one ({plain.replace(',', '')})"
    if _DECIMAL_COMMA.fullmatch(cell):
        point = plain.replace(",", ".")
        return f"; a decimal comma? write numbers with a decimal point ({point})"
    ascii_digits = _ascii_digits(plain)
    if ascii_digits != plain and _NUMBER.fullmatch(ascii_digits):
        return (
            "; digits other than 0-9 (Arabic-Indic, full-width)? write numbers with the digits "
            f"0-9 and a decimal point ({ascii_digits})"
        )
    return ""


#: Signs and separators written with digits other than 0-9: the Arabic decimal separator and
#: thousands separator, full-width ones, and the minus sign
_DIGIT_SIGNS = {"٫": ".", "٬": "", "．": ".", "，": "", "－": "-", "＋": "+", "−": "-"}


def _ascii_digits(cell: str) -> str:
    """``cell`` with every decimal digit written 0-9 (Arabic-Indic ``٣``, full-width ``３``)
    and the separators written with them as :data:`_DIGIT_SIGNS` reads them."""
    if cell.isascii():
        return cell
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else _DIGIT_SIGNS.get(c, c) for c in cell
    )


#: The characters of plain numbers: a block of cells that holds no other is parsed at once
#: (:func:`_plain_numbers`), each cell by ``float`` (which also reads ``1_0`` and full-width
#: digits, but no cell of these characters that is not a number by :data:`_NUMBER`)
_NUMERIC = b"0123456789eE.+- \t"
#: Those of them that are no white space
_NUMERIC_INK = _NUMERIC.replace(b" ", b"").replace(b"\t", b"")


def _parse(
    path: Path,
    body: _Body,
    width: int,
    names,
    columns: int | None = None,
    hints: tuple[str, Any] = (",", None),
    trailing: str | None = None,
) -> np.ndarray:
    """The numbers of rows ``body`` (of ``width`` cells each, checked), their first
    ``columns``, the text column's (``body.text``) 0; ``hints``: the delimiter and the
    ``text_hint`` of :func:`read_table`; ``trailing``: the hint that every line ends with a
    separator, where the caller told it from the cells as written (None: told from
    ``body``). The reader parsed the blocks of plain numbers as it read them (:func:`_scan`);
    the others are parsed here, cell by cell, naming the first cell that is no number."""
    hint = _trailing_separator_hint(body, names, width - 1) if trailing is None else trailing
    last = width - 1  # the file's last column, whose empty cells get ``hint``
    shaped = body.shaped(zero=body.text, keep=columns if columns and columns < width else None)
    width = min(width, columns or width)
    scan = body._source[2]
    first, end = body.offset, body.offset + len(body)
    for a, b in scan.failed:
        a, b = max(a, first), min(b, end)
        if a < b:  # a block that is not plain numbers: read one cell at a time
            rows = [shaped[i] for i in range(a - first, b - first)]
            scan.values[a:b] = _parse_cell_by_cell(
                path, rows, width, names, (last, hint), hints, whole=shaped
            )
    scan.failed = [(a, b) for a, b in scan.failed if b <= first or a >= end]
    values = scan.values[first:end]
    if hints[0] == ";":
        _refuse_thousands_points(path, shaped, names)
    found = first_non_finite(values)
    if found is not None:
        i, j = found
        line, cells = shaped[i]
        raise DataError(
            f"{path}, line {line}, {_column_name(names, j)}: {_shown(cells[j])} "
            f"is not a finite number{_overflow_hint(cells[j])}"
        )
    return values


def _refuse_thousands_points(path: Path, body: _Body, names) -> None:
    """Refuse, in a file separated by ``;`` (a spreadsheet's of a decimal-comma locale), a
    column holding a number with thousands points (``1.465``, :data:`_THOUSANDS_POINT`) beside
    whole numbers (``950``): read as 1.465, it sat 1000 times below its neighbours, silently.
    A column of decimals alone (``1.465;2.5``) is read as written."""
    if not body or not _THOUSANDS_POINT_IN.search(body._source[0]):
        return  # no cell can be one: the cells are not split again, column by column
    for j in range(len(body[0][1])):
        points = whole = None
        for i, (_, cells) in enumerate(body):
            cell = cells[j]
            if points is None and _THOUSANDS_POINT.fullmatch(cell):
                points = i
            elif whole is None and _WHOLE.fullmatch(cell):
                whole = i
            if points is not None and whole is not None:
                (line, cells), (other, beside) = body[points], body[whole]
                cell = cells[j].strip()
                raise DataError(
                    f"{path}, line {line}, {_column_name(names, j)}: {_shown(cell)} beside "
                    f"whole numbers such as {_shown(beside[j])} (line {other}): a thousands "
                    f"separator (a point before three digits)? write numbers without one "
                    f"({cell.replace('.', '')}), or {cell}0 if {cell} is meant"
                )


def _overflow_hint(cell: str) -> str:
    """Why a cell written as digits (``1e400``, 400 digits) is not finite: too large for any
    float; "" for a cell that says NaN or infinity."""
    if any(word in cell.lower() for word in ("nan", "inf")):
        return ""
    return f": too large for any float (at most {np.finfo(np.float64).max:.2g})"


def _check_widths(
    path: Path,
    body: list[tuple[int, list[str]]],
    width: int,
    names: list[str] | None = None,
    header_line: int = 1,
) -> None:
    """Refuse a row of ``body`` of another width than ``width``: the header's (on
    ``header_line``) where there are ``names``, else the first row's."""
    ragged = np.flatnonzero(body.widths != width)
    for line, cells in [body[int(ragged[0])]] if ragged.size else []:
        if len(cells) != width:
            # one column on line 1 and more below: line 1 was split by another separator
            hint = _separator_hint(",".join(cells), "the line") if width == 1 else ""
            hint = hint or _comment_hint(line, cells, names, body[0])
            if names and not hint:
                hint = f": the header on line {header_line} has {width}"
                if all(len(row) == width + 1 and not row[-1].strip() for _, row in body):
                    hint += f", and every line below it ends with {_ENDS_WITH_A_SEPARATOR}"
            raise DataError(f"{path}, line {line}: {len(cells)} fields, expected {width}{hint}")


def _comment_hint(
    line: int, cells: list[str], names: list[str] | None, first: tuple[int, list[str]]
) -> str:
    """A hint for a ragged line that is a ``#`` comment, or whose expected width a comment
    gave: ``# iris measurements`` on line 1 read as the header (of one column), or, over a
    header of text below it, as the ``first`` row; or ""."""
    if _is_comment(cells):
        return f"; line {line} starts with '#', but comment lines are not skipped: remove it"
    if names:
        return _comment_line_hint(1, names, "was read as the header")
    return _comment_line_hint(*first, "was read as the first row")


def _is_comment(cells: list[str]) -> bool:
    """Whether a line's ``cells`` are a ``#`` comment's."""
    return bool(cells) and cells[0].lstrip().startswith("#")


def _is_comment_not_a_name(cells: list[str]) -> bool:
    """Whether a line's ``cells`` are a ``#`` comment, not a header whose first name starts
    with ``#``: the ``#`` (or ``##``) is followed by a space and more (``# a,b,c``, as
    ``numpy.savetxt`` writes a header), where ``#,a,b`` (a row number's column) and
    ``#id,a,b`` name columns, as pandas reads them (a model trained on such a file must read
    it again)."""
    return bool(cells) and _COMMENT_START.match(cells[0]) is not None


#: A first cell that opens a comment: a ``#`` (or ``##``, R's and VCF's), white space, more
_COMMENT_START = re.compile(r"\s*#+\s+\S")


def _comment_line_hint(line: int, cells: list[str], what: str) -> str:
    """The hint that ``line`` (its ``cells``), which ``what`` says, is a ``#`` comment, which
    the reader does not skip (numpy.loadtxt would, pandas.read_csv would not), or ""."""
    if not _is_comment(cells):
        return ""
    shown = _shown(",".join(cells))
    return f"; line {line} ({shown}) {what}, but comment lines are not skipped: remove it"


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


def _parse_cell_by_cell(
    path: Path,
    body,
    width: int,
    names,
    last_hint: tuple[int, str] = (-1, ""),
    hints: tuple[str, Any] = (",", None),
    whole: Any = None,
) -> np.ndarray:
    """Parse one cell at a time, to name the first cell that is not a number (an empty cell
    in column ``last_hint[0]`` ends with the hint ``last_hint[1]``; ``hints``, the delimiter
    and ``text_hint``: a number with a decimal comma in a file separated by ``;`` is said to
    be one, and a cell of a column of text on every row ends with ``text_hint(names, j)``,
    see :func:`read_table`; told over the rows ``whole``, of which ``body`` is a block)."""
    delimiter, text_hint = hints
    whole = body if whole is None else whole
    values = np.empty((len(body), width), dtype=np.float64)
    for i, (line, cells) in enumerate(body):
        for j, cell in enumerate(cells):
            try:
                if not _NUMBER.fullmatch(cell):
                    raise ValueError(cell)
                values[i, j] = float(cell)
            except ValueError:
                shown = _shown(cell) if cell.strip() else "an empty cell"
                hint = last_hint[1] if j == last_hint[0] and not cell.strip() else ""
                # text just before an empty last column (1,2,cat,): the labels, pushed one
                # column left of the last by a separator ending every line
                shifted = bool(last_hint[1]) and j == last_hint[0] - 1 and cell.strip() != ""
                if shifted:
                    hint = last_hint[1]
                hint += _spelling_hint(cell, delimiter)
                if text_hint is not None and _all_text(whole, j) and not shifted:
                    hint += text_hint(names, j)
                raise DataError(
                    f"{path}, line {line}, {_column_name(names, j)}: {shown} is not a number"
                    f"{_separator_hint(cell)}{hint}"
                ) from None
    return values


def _all_text(body: list[tuple[int, list[str]]], j: int) -> bool:
    """Whether column ``j`` holds text, no number (in any common spelling: ``0,5``, ``1.234,5``,
    ``7,490.0``) and no empty cell, on every row (names)."""
    return all(
        j < len(cells)
        and cells[j].strip()
        and not _NUMBER.fullmatch(cells[j])
        and not _spelling_hint(cells[j], ",")
        for _, cells in body
    )


#: The largest class label read: a class is an output unit, and no network has 2^31 of them
#: (a larger one, 1e20, would overflow int64 in the conversion and be named wrongly).
_MAX_LABEL = 2**31 - 1


def regression_hint(targets: str = "real-valued targets") -> str:
    """The one wording of the hint to read a file's last column as a regression's targets, for
    labels that look like measurements rather than classes (``targets``: how they look)."""
    return f"for {targets} read the file as a regression (task='regression', --task regression)"


def _targets(path, labels, lines, task, n_classes, names, label_index, for_model=False):
    if task == "regression":
        return labels
    where = _column_name(names, label_index)
    misplaced = _misplaced_label_hint(names, label_index)
    regression = misplaced or (
        "the model is a classifier, whose labels are class numbers" if for_model
        else regression_hint()
    )  # fmt: skip
    # a class number below 0, or past any network's outputs: a measurement, as a
    # non-integer label is (a regression's targets), unless the model read for is a classifier
    measured = misplaced or ("" if for_model else regression_hint("measurements, not classes,"))
    for label, line in zip(labels, lines):
        if label != round(label):
            raise DataError(
                f"{path}, line {line}, {where}: label {_label_text(label)} is not an integer "
                f"class; {regression}"
            )
        if label < 0 or (n_classes is not None and label >= n_classes) or label > _MAX_LABEL:
            allowed = (
                f"0..{n_classes - 1}" if n_classes is not None
                else ">= 0" if label < 0 else f"at most {_MAX_LABEL:,}"
            )  # fmt: skip
            # past the n_classes given: a class number too many; below 0: no class number
            hint = misplaced if n_classes is not None and label >= 0 else measured
            raise DataError(
                f"{path}, line {line}, {where}: label {_label_text(label)} is out of range "
                f"({allowed}){'; ' * bool(hint)}{hint}"
            )
    return labels.astype(np.int64)


#: Header names that say a column holds the labels (compared in lower case).
_LABEL_NAMES = ("label", "labels", "target", "class", "y")
#: Those of them that make a header naming one before the last column refused: ``y`` is as
#: often a coordinate (``x,y,cluster``), so it only shapes the hints of a read that fails.
_REFUSED_LABEL_NAMES = ("label", "labels", "target", "class")


def _is_label_name(name: str, names: tuple[str, ...] = _LABEL_NAMES) -> bool:
    return name.strip().lower() in names


def _label_column_remedy(names: list[str] | None, j: int) -> str:
    """How to read column ``j`` as the labels: by its name where there is a header, else by
    its number (``label_column`` counts from 0, ``--label-column`` from 1, as messages do)."""
    if names:
        name = names[j].strip()
        typed = name if re.fullmatch(r"[\w.-]+", name) else repr(name)
        return f"read_csv takes label_column={name!r}, chainrule train --label-column {typed}"
    return f"read_csv takes label_column={j}, chainrule train --label-column {j + 1}"


def _refuse_label_named_elsewhere(
    path: Path, names: list[str] | None, task: str = "classification"
) -> None:
    """Refuse a header that names a column other than the last as a label
    (``target,age,smoker``: :data:`_REFUSED_LABEL_NAMES`, in any case) where no label column was
    given: read with the last column as the label, the file trained a model to predict
    ``smoker`` from the targets, silently. A last column named as a label too is read. A
    regression's read fails on no label, so no hint can name ``y`` there (``y,a,b`` predicted
    ``b`` from ``y``): it warns (:class:`DataWarning`) of a ``y`` before the last column, which
    may as well be a coordinate (``y,z,temperature``), unless a column is named ``x``
    (``x,y,height``)."""
    if not names or _is_label_name(names[-1]):
        return
    named = [j for j, name in enumerate(names[:-1]) if _is_label_name(name, _REFUSED_LABEL_NAMES)]
    if named:
        raise DataError(
            f"{path}: {_label_named_elsewhere(names, named[0])} (or label_column=-1, "
            "--label-column -1, to read the last column as the label all the same)"
        )
    if task == "regression" and not any(_is_label_name(name, ("x",)) for name in names):
        named_y = [j for j, name in enumerate(names[:-1]) if _is_label_name(name, ("y",))]
        if named_y:
            j = named_y[0]
            warnings.warn(
                f"{path}: column {j + 1} ({names[j]!r}) has the name a regression's target often "
                f"has, but the targets are read from the last column, column {len(names)} "
                f"({names[-1]!r}); if {names[j]!r} is the target, read it with "
                f"label_column={names[j]!r} (--label-column {names[j]}); label_column=-1 "
                "(--label-column -1) reads the last column without this warning",
                DataWarning,
                stacklevel=user_stacklevel(),
            )


def _label_named_elsewhere(names: list[str], j: int) -> str:
    last = _column_name(names, len(names) - 1)
    return (
        f"{_column_name(names, j)} is named as a label, but the label is read from the last "
        f"column, {last}, unless a label column is given: {_label_column_remedy(names, j)}"
    )


def _text_column_hint(names: list[str] | None, j: int) -> str:
    """The end of the message for a column ``j`` (not the label column) of text on every row:
    the class names of a label column that is not the last (``label,x1,x2`` over
    ``cat,1.5,2``), said as for a header naming a label elsewhere."""
    if names and _is_label_name(names[j]) and not _is_label_name(names[-1]):
        return f"; {_label_named_elsewhere(names, j)}"
    return (
        f"; if {_column_name(names, j)} holds the labels (read from the last column unless "
        f"a label column is given): {_label_column_remedy(names, j)}"
    )


def _misplaced_label_hint(names: list[str] | None, label_index: int) -> str:
    """A hint for labels read from the last column that are no classes, when another column's
    header name says it holds the labels (``label,a,b,c``), or "": read as suggested (a
    regression), the file would train a model to predict ``c`` from the labels."""
    if not names or label_index != len(names) - 1:
        return ""
    named = [j for j, name in enumerate(names[:-1]) if _is_label_name(name)]
    if not named:
        return ""
    found = _column_name(names, named[0])
    return (
        f"the label must be the last column, and {found} is named as a label: move it to the "
        f"end of each line ({_label_column_remedy(names, named[0])})"
    )


def _label_text(label: float) -> str:
    """A label as its cell says it, to the digits a float holds: 1.0000001 is no "1" (which
    said that label 1 is not an integer), 1234567.5 no "1.23457e+06"."""
    whole = label == round(label) and abs(label) < 2**53
    return str(int(label)) if whole else repr(float(label))
