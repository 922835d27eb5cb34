"""The :class:`Dataset` every loader returns and every training loop consumes.

A dataset is a design matrix ``X`` (one case per row, one input unit per column) and its targets
``y``. What ``y`` holds depends on the task:

- ``"classification"``: integer class labels, shape ``(n,)``, each in ``range(n_classes)``;
- ``"multilabel"``: a 0/1 target for each output unit, shape ``(n, k)`` (family trees' answers,
  the encoder's patterns, the single output of XOR, parity and symmetry); values in [0, 1]
  (probabilities), as the losses of logistic units check them: others are refused;
- ``"regression"``: real-valued targets, shape ``(n, k)``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.backend import check_unmasked
from chainrule.checks import first_non_finite
from chainrule.errors import DataError, LabelError
from chainrule.ops.nn import check_probabilities
from chainrule.tensor import sparse_refusal

TASKS = ("classification", "multilabel", "regression")

#: ``meta`` entries that hold one item per case, kept in step by :meth:`Dataset.subset`.
PER_CASE_META = ("indices", "cases")


@dataclass
class Dataset:
    """Inputs ``X`` (n, d), targets ``y`` and what a program needs to print them.

    >>> from chainrule import data
    >>> ds = data.xor()
    >>> len(ds), ds.X.shape, ds.y.shape, ds.task
    (4, (4, 2), (4, 1), 'multilabel')
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    #: what messages call it (a file's name, a built-in dataset's)
    name: str = "data"
    n_classes: int | None = None
    #: one name per column of ``X``; where none are given and ``X`` is a DataFrame whose
    #: column names are all strings, those (see :func:`frame_feature_names`)
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_array(self.X, f"{self.name}: X")
        check_array(self.y, f"{self.name}: y")
        columns = None  # a DataFrame's column names, where no feature names are given
        if self.feature_names is None:
            self.feature_names = columns = frame_feature_names(self.X, self.name)
        self.X = _as_float(np.asarray(self.X))
        self.y = np.asarray(self.y)
        if self.task != "classification":
            self.y = _as_float(self.y)
        _check_task(self.task, self.name)
        _check_matrix(self.X, self.name, "input", "features", names=columns)
        if self.y.ndim == 0 or len(self.y) != len(self.X):
            targets = "a single value" if self.y.ndim == 0 else f"{len(self.y)} targets"
            raise DataError(f"{self.name}: {len(self.X)} input rows but {targets}")
        if self.task == "classification":
            self.n_classes = _check_labels(self.y, self.n_classes, self.name)
            self.y = self.y.astype(np.int64, copy=False)
        else:
            _check_matrix(self.y, self.name, "target", "outputs", self.task)
            if self.task == "multilabel":  # a probability per output unit, as the losses check
                check_probabilities(self.y, f"{self.name}: task 'multilabel'")
            if self.n_classes is None:
                self.n_classes = int(self.y.shape[1])
        if self.feature_names is not None:
            self.feature_names = _check_names(
                self.feature_names, self.X.shape[1], "feature names", "features", self.name
            )
        if self.class_names is not None:
            outputs = "classes" if self.task == "classification" else "output units"
            self.class_names = _check_names(
                self.class_names, self.n_outputs, "class names", outputs, self.name
            )

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __repr__(self) -> str:
        n, d = self.X.shape
        classes = f", {self.n_classes} classes" if self.task == "classification" else ""
        plural = "" if self.n_outputs == 1 else "s"
        outputs = "" if self.task == "classification" else f", {self.n_outputs} output{plural}"
        return f"Dataset({self.name!r}, {n} x {d}, {self.task}{classes}{outputs})"

    @property
    def n_features(self) -> int:
        """Number of input units a network needs (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of output units a network needs: classes, or columns of ``y``."""
        if self.task == "classification":
            return int(self.n_classes)
        return int(self.y.shape[1])

    def subset(self, indices: Any) -> Dataset:
        """The cases at ``indices`` (an integer array or a boolean mask), names and meta kept.

        Per-case entries of ``meta`` (see :data:`PER_CASE_META`) are subset along with the
        arrays, and ``meta["indices"]`` records where each case sits in the dataset as loaded
        (subsets of subsets compose), so a split can always be traced back.
        """
        rows = np.asarray(indices)
        n = len(self)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise DataError(
                    f"{self.name}: a boolean mask must have one entry per case ({n}), "
                    f"got shape {rows.shape}"
                )
            rows = np.flatnonzero(rows)
        elif rows.size == 0:
            rows = np.zeros(0, dtype=np.int64)
        elif rows.dtype.kind not in "iu":
            raise DataError(
                f"{self.name}: subset indices must be integers or a boolean mask, got {rows.dtype}"
            )
        rows = rows.astype(np.int64, copy=False).reshape(-1)
        bad = (rows < -n) | (rows >= n)
        if bad.any():
            raise DataError(f"{self.name}: index {int(rows[bad][0])} is out of range for {n} cases")
        rows = np.where(rows < 0, rows + n, rows)
        meta = dict(self.meta)  # shallow: meta is descriptive and treated as read-only
        meta.setdefault("indices", list(range(len(self))))
        for key in PER_CASE_META:
            if key in meta and len(meta[key]) == len(self):
                meta[key] = [meta[key][i] for i in rows.tolist()]
        return Dataset(
            X=self.X[rows],
            y=self.y[rows],
            task=self.task,
            name=self.name,
            n_classes=self.n_classes,
            feature_names=self.feature_names,
            class_names=self.class_names,
            meta=meta,
        )

    def astype(self, dtype: Any) -> Dataset:
        """A copy with ``X`` (and real-valued ``y``) in ``dtype``, e.g. ``np.float64``."""
        check_float_dtype(f"{self.name}: astype", dtype)  # X is always floating point
        out = self.subset(np.arange(len(self)))
        out.X = out.X.astype(dtype)
        if self.task != "classification":
            out.y = out.y.astype(dtype)
        return out

    def target_matrix(self, dtype: Any = None) -> np.ndarray:
        """Targets as one row per case, one column per output unit (one-hot for classes).

        This is what a squared-error loss on logistic output units compares against.
        """
        dtype = dtype or self.X.dtype
        if self.task == "classification":
            return one_hot(self.y, self.n_classes, dtype)
        return self.y.astype(dtype, copy=False)


def one_hot(labels: np.ndarray, n_classes: int, dtype: Any = np.float32) -> np.ndarray:
    """Rows of zeros with a 1 in each label's column: shape ``(len(labels), n_classes)``.

    The labels are integers in ``[0, n_classes)``, checked as the cross-entropy checks them
    (:func:`chainrule.ops.nn.check_labels`): one outside the classes raises its
    :class:`~chainrule.errors.LabelError`, naming it (-1 set the last class's column, 5 was
    NumPy's bare IndexError). Float and boolean labels are refused as the cross-entropy refuses
    them, a LabelError saying to cast them (1.5 was truncated to class 1).
    """
    from chainrule.ops.nn import check_labels  # the engine loads lazily: data needs NumPy alone

    labels = np.asarray(labels)
    if labels.size and labels.dtype.kind not in "iu":
        raise _not_integer_labels(labels, n_classes)
    labels = labels.astype(np.int64, copy=False)  # an empty list is float64
    check_labels(labels, n_classes, None, "one_hot")
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def _not_integer_labels(labels: np.ndarray, n_classes: int) -> LabelError:
    """The refusal of labels that are not integers: the first one that is no whole number,
    named, else their dtype, with the cast that reads them as classes."""
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            i = np.unravel_index(int(np.flatnonzero(bad)[0]), labels.shape)
            return LabelError(
                f"one_hot: {cell_name('labels', i)} is {labels[i]}, not an integer class; "
                f"labels must be integers in [0, {n_classes})"
            )
    return LabelError(
        f"one_hot: labels are {labels.dtype}; class labels are integers in [0, {n_classes}): "
        "cast them, labels.astype(int)"
    )


def check_float_dtype(name: str, dtype: Any, argument: str = "dtype") -> None:
    """Refuse a ``dtype`` that is not a floating-point type, naming the builder or file
    ``name`` and the ``argument``: every builder's inputs are floats, and an integer or boolean
    dtype would truncate them silently (iris' 5.1 read as 5, pixels in [0, 1] rounded to 0)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        shown = repr(dtype) if resolved is None else resolved.name
        raise DataError(f"{name}: {argument} must be a floating-point type, got {shown}")


def _as_float(array: np.ndarray) -> np.ndarray:
    """Integer or boolean 0/1 arrays become float64; floats keep their precision."""
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64)
    return array


def _check_task(task: str, name: str) -> None:
    if task not in TASKS:
        raise DataError(f"{name}: unknown task {task!r}; expected one of {', '.join(TASKS)}")


def cell_name(array: str, position: tuple[int, ...] | int) -> str:
    """How a message names one entry of an array given in Python: ``X[2, 0]``, ``y[3]``, its
    0-based indices as NumPy takes them, so the user can look at it with the same expression.
    (A file's reader names a line of the file instead, counted from 1 as editors count.)"""
    indices = (position,) if isinstance(position, (int, np.integer)) else position
    return f"{array}[{', '.join(str(int(k)) for k in indices)}]"


def cell_error(array: str, position: tuple[int, ...], detail: str) -> DataError:
    """The DataError ``"X[2, 0]: {detail}"`` about one entry (:func:`cell_name`), which also
    carries its 0-based indices as ``cell`` and what is wrong as ``detail``: a caller that read
    the array from a file names the entry its own way (the file's case, counted from 1) from
    those, never by parsing the words."""
    error = DataError(f"{cell_name(array, position)}: {detail}")
    error.cell = tuple(int(k) for k in position)
    error.detail = detail
    return error


def as_file_case(error: DataError) -> str:
    """``error``'s words with the entry :func:`cell_error` named as a file's case and column,
    counted from 1 (``"case 3, column 1: ..."``), as the command line names a file's rows; its
    own words where it names no entry."""
    cell = getattr(error, "cell", None)
    if cell is None:
        return str(error)
    return f"case {cell[0] + 1}, column {cell[1] + 1}: {error.detail}"


def check_array(value: Any, what: str) -> None:
    """Refuse, by a DataError naming ``what`` (``"data: X"``, ``"Standardizer.fit"``), a value
    that NumPy would misread as an array of numbers: a scipy sparse matrix (a 0-d array of
    one object), a generator or iterator (the same), a masked array with entries masked (the
    mask would be dropped, the values under it used) and a whole Dataset (its inputs are
    ``ds.X``), each with the way to pass an array instead."""
    if isinstance(value, Dataset):
        raise DataError(f"{what}: got a Dataset; pass its inputs, ds.X")
    refusal = sparse_refusal(value, what)
    if refusal is not None:
        raise DataError(refusal)
    if isinstance(value, Iterator):
        raise DataError(
            f"{what}: got {type(value).__name__} (a generator or iterator); pass an array of "
            "its values, np.asarray(list(values))"
        )
    check_unmasked(value, what)


def frame_feature_names(X: Any, name: str = "data") -> list[str] | None:
    """The column names of ``X`` where it is a data frame (pandas', polars': told by its
    ``columns`` and ``to_numpy``, so pandas is never imported) and every name is a string, as
    scikit-learn takes a DataFrame's names for ``feature_names_in_``; None for an array, and
    for a frame whose names are not all strings (pandas' default 0, 1, ... included). Two
    columns of one name are refused by a DataError naming it, ``name`` the dataset's: a
    model's inputs must be told apart."""
    if not (hasattr(X, "columns") and hasattr(X, "to_numpy")):
        return None
    try:
        names = list(X.columns)
    except TypeError:
        return None
    if not names or not all(isinstance(n, str) for n in names):
        return None
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(
                f"{name}: X has two columns named {n!r}, whose names would be its feature "
                "names; rename one, or give feature_names= (a different name for each column)"
            )
        seen.add(n)
    return [str(n) for n in names]  # plain str, not a NumPy or pandas subclass


def control_character(name: str) -> str:
    """The first control character (Unicode category Cc: a line break, a carriage return, ...;
    not a tab, which breaks no line) in ``name``, as words for a message (``a line break '\\n'
    (U+000A)``), or "" where it holds none. A name holding one breaks a table's row, or a CSV
    file's line, that shows it."""
    for c in name:
        if unicodedata.category(c) == "Cc" and c != "\t":
            kind = _CONTROL_NAMES.get(c, "a control character")
            return f"{kind} {c!r} (U+{ord(c):04X})"
    return ""


_CONTROL_NAMES = {
    "\n": "a line break",
    "\r": "a carriage return (a line break)",
}


def _check_names(names: Any, count: int, what: str, of: str, name: str) -> list[str]:
    """``names`` as a list of strings, one per each of ``count`` ``of`` and no two alike."""
    if isinstance(names, str):
        raise DataError(f"{name}: {what} must be a list of names, not the string {names!r}")
    names = [str(n) for n in names]
    if len(names) != count:
        raise DataError(f"{name}: {len(names)} {what} for {count} {of}")
    seen: set[str] = set()
    for k, n in enumerate(names):
        control = control_character(n) if what == "class names" else ""
        if control:
            raise DataError(
                f"{name}: class {k} ({n!r}) holds {control}; a class name is one line of text "
                "(a quoted cell of a CSV file that runs over several lines is the usual cause)"
            )
        if n in seen:
            raise DataError(f"{name}: {what} name {n!r} twice; each must be different")
        seen.add(n)
    return names


def _check_matrix(
    a: np.ndarray,
    name: str,
    what: str,
    columns: str,
    task: str | None = None,
    names: list[str] | None = None,
) -> None:
    """A finite floating-point (cases, columns) matrix; ``what`` is "input" (``X``) or
    "target" (``y``, of ``task``); ``names``, a DataFrame's, name its columns in messages."""
    if a.ndim != 2:
        hint = ""
        if a.ndim == 1 and what == "target":
            one = "target" if task == "regression" else "output"
            hint = f"; for one {one} per case, y.reshape(-1, 1)"
        if a.ndim > 2 and what == "input":  # images: (cases, channels, height, width)
            back = ", ".join(map(str, a.shape[1:]))
            hint = (
                "; flatten with X.reshape(len(X), -1) and reshape back in the model's forward "
                f"(x.reshape(len(x), {back}))"
            )
        raise DataError(
            f"{name}: {what}s must be 2-D (cases, {columns}), got shape {a.shape}{hint}"
        )
    if not np.issubdtype(a.dtype, np.floating):
        shown = _not_a_number(a, names)
        raise DataError(f"{name}: {what}s must be floating point, got {a.dtype}{shown}")
    found = first_non_finite(a)
    if found is not None:
        cell = cell_name("X" if what == "input" else "y", found)
        raise DataError(f"{name}: {what} {cell} is {a[found]} (not finite)")


def _not_a_number(a: np.ndarray, names: list[str] | None = None) -> str:
    """The first entry of the 2-D array ``a`` (of objects or strings) that is no number, as
    words to add to a refusal of its dtype (a text column of a DataFrame, named by ``names``
    where given); or how to cast an array whose entries all are numbers."""
    for col in range(a.shape[1]):
        try:
            a[:, col].astype(np.float64)
        except (TypeError, ValueError):
            for row in range(a.shape[0]):
                try:
                    float(a[row, col])
                except (TypeError, ValueError):
                    named = f" ({names[col]!r})" if names and col < len(names) else ""
                    cell = cell_name("X", (row, col))
                    return f" ({cell} is {a[row, col]!r}: column {col}{named})"
    return "; its entries are numbers: cast it, X.astype(float)"


def _check_labels(y: np.ndarray, n_classes: int | None, name: str) -> int:
    if y.ndim != 1:
        if y.ndim == 2 and y.shape[1] == 1:
            hint = "; a column of labels: y.ravel()"
        elif y.ndim == 2:
            hint = (
                "; one-hot rows: y.argmax(1), or task='multilabel' for several classes per case; "
                "rows of probabilities (soft targets, which argmax throws away): "
                "task='multilabel' with nn.CrossEntropy(), whose accuracy is then the agreement "
                "of the argmaxes"
            )
        else:
            hint = ""
        raise DataError(f"{name}: class labels must be 1-D, got shape {y.shape}{hint}")
    if y.dtype.kind in "USO":  # text labels (a pandas Series or Categorical: objects)
        shown = ""
        if len(y):
            first = y[0].item() if isinstance(y[0], np.generic) else y[0]
            shown = f" (y[0] is {first!r})"
        raise DataError(
            f"{name}: class labels must be integers, got {y.dtype}{shown}; number them: "
            "names, y = np.unique(y, return_inverse=True), then "
            "Dataset(..., y=y, class_names=list(names))"
        )
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (y != np.round(y))
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{name}: label {cell_name('y', i)} is {y[i]}, not an integer class")
    elif not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):  # bool: classes 0, 1
        raise DataError(f"{name}: class labels must be integers, got {y.dtype}")
    if len(y) and y.min() < 0:
        i = int(np.argmin(y))
        raise DataError(f"{name}: label {cell_name('y', i)} is {y[i]}; labels must be >= 0")
    seen = int(y.max()) + 1 if len(y) else 0
    if n_classes is None:
        return seen
    if seen > n_classes:
        i = int(np.argmax(y))
        raise DataError(
            f"{name}: label {cell_name('y', i)} is {int(y[i])}, out of range for {n_classes} "
            f"classes (0..{n_classes - 1})"
        )
    return int(n_classes)
