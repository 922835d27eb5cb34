"""Datasets and readers: the classic backprop problems, digits, IDX and CSV files.

>>> import numpy as np
>>> from chainrule import data
>>> ds = data.load("digits")
>>> train, val, test = data.split(ds, val=0.1, test=0.2, seed=0)
>>> scaler = data.Standardizer().fit(train.X)
>>> for rows in data.batches(len(train), 32, shuffle=True, rng=np.random.default_rng(0)):
...     x, y = scaler.transform(train.X[rows]), train.y[rows]

Every loader returns a :class:`Dataset`; every mistake in the input raises
:class:`~chainrule.errors.DataError` naming the file, line and column, or the valid choices.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chainrule._lazy import lazy_package
from chainrule.data.classic import binary_vectors, encoder, parity, symmetry, xor
from chainrule.data.csvfile import Table, read_csv, read_table
from chainrule.data.dataset import TASKS, Dataset, one_hot
from chainrule.data.digits import digits
from chainrule.data.family_trees import (
    PEOPLE,
    RELATIONS,
    FamilyTree,
    describe_case,
    family_tree_triples,
    family_trees,
    holdout_cases,
    holdout_folds,
)
from chainrule.data.idx import find_idx_pairs, load_idx_dir, read_idx, write_idx
from chainrule.data.prepare import Standardizer, batches, split
from chainrule.errors import DataError

#: Built-in datasets by name (``load`` also accepts underscores for hyphens).
BUILTIN: dict[str, Callable[..., Dataset]] = {
    "digits": digits,
    "encoder": encoder,
    "family-trees": family_trees,
    "parity": parity,
    "symmetry": symmetry,
    "xor": xor,
}

_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


def dataset_names() -> list[str]:
    """The names :func:`load` accepts besides paths."""
    return sorted(BUILTIN)


def _choices() -> str:
    return f"{', '.join(dataset_names())}, a .csv file or a directory of IDX files"


def load(name_or_path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """A dataset by name ("digits", "xor", "parity", "symmetry", "encoder", "family-trees"), or
    from a CSV file or a directory of IDX files.

    Keyword arguments go to the builder or reader: ``load("parity", n=6)``,
    ``load("data.csv", label_column="species")``, ``load("mnist/", part="test")``.
    """
    text = os.fspath(name_or_path)
    if not text.strip():  # Path("") is ".": the current directory would be read as IDX files
        raise DataError(f"the dataset name is empty ({text!r}); valid datasets: {_choices()}")
    key = "-".join(text.strip().lower().replace("_", " ").split())
    if key in BUILTIN:
        return _call(BUILTIN[key], key, kwargs)
    path = Path(text).expanduser()
    check_file_kind(path)
    if path.is_dir():
        return _call(load_idx_dir, str(path), kwargs, path)
    if path.is_file():
        if is_table_file(path):
            return _call(read_csv, str(path), kwargs, path)
        raise DataError(f"{path}: not a CSV file (expected one of {', '.join(_TABLE_SUFFIXES)})")
    if path.suffix or os.sep in text or "/" in text:
        raise DataError(f"{text}: no such file or directory; valid datasets: {_choices()}")
    raise DataError(f"unknown dataset {text!r}; valid datasets: {_choices()}")


_KINDS = (
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_file_kind(path: str | os.PathLike) -> None:
    """Raise DataError for a path that exists but is neither a regular file nor a directory (a
    pipe such as ``<(cat f.csv)`` or /dev/stdin, /dev/null, /dev/zero), before anything reads
    it: a pipe can be read only once (a run checksums its data, then reads it), a device may
    never end."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing (or unreadable): the reader names that
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    what = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise DataError(f"{path}: {what}, not a file; save the data to a .csv file first")


def is_table_file(path: str | os.PathLike) -> bool:
    """Whether :func:`load` reads ``path`` as a CSV table (by its suffix)."""
    return Path(path).suffix.lower() in _TABLE_SUFFIXES


def _call(builder: Callable[..., Dataset], what: str, kwargs: dict, *args: Any) -> Dataset:
    try:
        return builder(*args, **kwargs)
    except TypeError as error:  # an option this dataset does not take
        if "argument" not in str(error):
            raise
        raise DataError(f"{what}: {error}") from error


__all__ = [
    "BUILTIN", "PEOPLE", "RELATIONS", "TASKS", "DataError", "Dataset", "FamilyTree",
    "Standardizer", "Table", "batches", "binary_vectors", "check_file_kind", "dataset_names",
    "describe_case", "digits", "encoder", "family_tree_triples", "family_trees", "find_idx_pairs",
    "holdout_cases", "holdout_folds", "is_table_file", "load", "load_idx_dir", "one_hot",
    "parity", "read_csv", "read_idx", "read_table", "split", "symmetry", "write_idx", "xor",
]  # fmt: skip

# submodules not imported above load on first use, and show in dir()
__getattr__, __dir__ = lazy_package(__name__, __path__)
