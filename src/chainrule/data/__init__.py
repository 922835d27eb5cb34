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
import re
import typing as _typing
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
from chainrule.files import special_kind

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

#: The built-in datasets whose names carry their sizes, as their ``Dataset.name`` writes them
SIZED_NAMES = "parity-N, symmetry-N, encoder-N-H-N"


def dataset_names() -> list[str]:
    """The names :func:`load` accepts besides paths (and the sized names of
    :func:`builtin_dataset`: ``parity-6``, ``encoder-8-3-8``)."""
    return sorted(BUILTIN)


def _choices() -> str:
    return (
        f"{', '.join(dataset_names())} (or a size: {SIZED_NAMES}), a .csv file or a directory "
        "of IDX files"
    )


def builtin_dataset(name: str | os.PathLike) -> tuple[str, dict[str, Any]] | None:
    """The built-in dataset ``name`` names, and the options its name gives, or None: the name a
    dataset gives itself reads back (a summary said ``parity-4:``, which --data refused). An
    encoder name with a hidden layer of 0 units (``encoder-4-0-4``) is a DataError naming it.

    >>> builtin_dataset("parity-6"), builtin_dataset("Family_Trees")
    (('parity', {'n': 6}), ('family-trees', {}))
    >>> builtin_dataset("encoder-8-4-2-8")
    ('encoder', {'n': 8, 'hidden': [4, 2]})
    """
    key = "-".join(os.fspath(name).strip().lower().replace("_", " ").split())
    if key in BUILTIN:
        return key, {}
    base, _, sizes = key.partition("-")
    if not re.fullmatch(r"\d{1,9}(-\d{1,9})*", sizes):
        return None
    numbers = [int(size) for size in sizes.split("-")]
    if base in ("parity", "symmetry") and len(numbers) == 1:
        return base, {"n": numbers[0]}
    # encoder-N-H-N: N inputs, hidden layers H..., N outputs (encoder-8-3-8)
    if base == "encoder" and len(numbers) >= 3 and numbers[0] == numbers[-1]:
        hidden = numbers[1:-1]
        if min(hidden) < 1:  # refused here, by the name, not later as a --hidden never given
            raise DataError(
                f"{os.fspath(name).strip()}: an encoder's name gives its hidden layer sizes "
                f"between its inputs and outputs (encoder-N-H-N, as in encoder-8-3-8), and a "
                f"layer needs at least 1 unit, got {','.join(map(str, hidden))}"
            )
        return base, {"n": numbers[0], "hidden": hidden[0] if len(hidden) == 1 else hidden}
    return None


def load(name_or_path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """A dataset by name ("digits", "xor", "parity", "symmetry", "encoder", "family-trees", or
    one with its sizes as its ``name`` gives them: "parity-6", "encoder-8-3-8"), or from a CSV
    file or a directory of IDX files.

    Keyword arguments go to the builder or reader: ``load("parity", n=6)`` (``"parity-6"``),
    ``load("data.csv", label_column="species")``, ``load("mnist/", part="test")``.
    """
    text = os.fspath(name_or_path)
    if not text.strip():  # Path("") is ".": the current directory would be read as IDX files
        raise DataError(f"the dataset name is empty ({text!r}); valid datasets: {_choices()}")
    builtin = builtin_dataset(text)
    if builtin is not None:
        return _load_builtin(text, *builtin, kwargs)
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


def check_file_kind(path: str | os.PathLike) -> None:
    """Raise DataError for a path that exists but is neither a regular file nor a directory (a
    pipe such as ``<(cat f.csv)`` or /dev/stdin, /dev/null, /dev/zero), before anything reads
    it: a pipe can be read only once (a run checksums its data, then reads it), a device may
    never end."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing (or unreadable): the reader names that
        return
    what = special_kind(mode)
    if what is None:
        return
    raise DataError(f"{path}: {what}, not a file; save the data to a .csv file first")


def is_table_file(path: str | os.PathLike) -> bool:
    """Whether :func:`load` reads ``path`` as a CSV table (by its suffix)."""
    return Path(path).suffix.lower() in _TABLE_SUFFIXES


def _load_builtin(text: str, key: str, named: dict[str, Any], kwargs: dict) -> Dataset:
    """The built-in dataset ``key`` with the options its name gave (``parity-6``: n=6) and
    ``kwargs``, which may not give them again."""
    twice = sorted(set(named) & set(kwargs))
    if twice:
        raise DataError(f"{text!r} gives {twice[0]} already: pass {twice[0]}= with {key!r} instead")
    return _call(BUILTIN[key], key if not named else text, {**named, **kwargs})


def _call(builder: Callable[..., Dataset], what: str, kwargs: dict, *args: Any) -> Dataset:
    try:
        return builder(*args, **kwargs)
    except TypeError as error:  # an option this dataset does not take
        if "argument" not in str(error):
            raise
        raise DataError(f"{what}: {error}") from error


__all__ = [
    "BUILTIN", "PEOPLE", "RELATIONS", "TASKS", "DataError", "Dataset", "FamilyTree",
    "Standardizer", "Table", "batches", "binary_vectors", "builtin_dataset", "check_file_kind",
    "dataset_names", "describe_case", "digits", "encoder", "family_tree_triples", "family_trees",
    "find_idx_pairs", "holdout_cases", "holdout_folds", "is_table_file", "load", "load_idx_dir",
    "one_hot", "parity", "read_csv", "read_idx", "read_table", "split", "symmetry", "write_idx",
    "xor",
]  # fmt: skip

# submodules not imported above load on first use, and show in dir()
if not _typing.TYPE_CHECKING:  # checkers then flag a misspelt name
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
