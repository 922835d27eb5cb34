"""The record of a training run: one dict per epoch."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from chainrule.checks import is_real
from chainrule.errors import ConfigError
from chainrule.files import json_value, strict_json

#: The keys every epoch's record has (``val_*`` are None without validation data, ``accuracy``
#: is None for regression).
KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "time")


class History:
    """Per-epoch logs of a run, oldest first: ``history[0]["loss"]``, ``history["val_loss"]``.

    Indexing with an int gives that epoch's dict; with a key, the column as a list (None for
    an epoch without the key). A key no epoch logged that abbreviates one logged (Keras's
    "acc" for "accuracy", "val_acc") raises KeyError naming the keys logged: its column of
    None read as "not measured". Any other key not logged yet is a column of None, as a
    callback reading its own column before it first writes it (a running average) needs.

    >>> h = History([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}])
    >>> h["loss"], len(h), h.last["epoch"]
    ([0.5, 0.25], 2, 2)
    """

    def __init__(self, records: Iterable[dict[str, Any]] = ()) -> None:
        self.records: list[dict[str, Any]] = [dict(record) for record in records]

    def append(self, logs: dict[str, Any]) -> None:
        """Add one epoch's logs (a copy)."""
        self.records.append(dict(logs))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            self._check_logged(key)
            return [record.get(key) for record in self.records]
        return self.records[key]

    def _check_logged(self, key: str) -> None:
        """Raise KeyError where no epoch logged ``key`` and it abbreviates a key logged
        (Keras's "val_acc" for "val_accuracy", :func:`abbreviated_key`): its column would be
        all None, read as "not measured" rather than as the other name it is. A key
        abbreviating none is a column of None (a callback may read its own before its first
        write, or one another callback logs now and then)."""
        if any(key in r for r in self.records):
            return
        logged = list(dict.fromkeys(k for r in self.records for k in r))
        meant = abbreviated_key(key, logged)
        if meant is None:
            return
        raise KeyError(
            f"no epoch of this History logged {key!r} (its keys: {', '.join(map(repr, logged))})"
            f"; did you mean {meant!r}?"
        )

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        last = ", ".join(
            f"{k}={_short(v)}" for k, v in self.records[-1].items() if k != "time" and v is not None
        )
        return f"History({len(self)} epochs; last: {last})"

    def _repr_html_(self) -> str:
        """How a notebook shows a history: the loss curve and a table of the epochs."""
        from chainrule.notebook.display import history_html  # the notebook host, loaded on use

        return history_html(self)

    @property
    def last(self) -> dict[str, Any] | None:
        """The latest epoch's logs (None before the first epoch)."""
        return self.records[-1] if self.records else None

    def best(self, key: str = "val_loss", mode: str = "auto") -> dict[str, Any] | None:
        """The epoch whose ``key`` is lowest (``mode="min"``) or highest (``"max"``); ``"auto"``
        (the default, as :class:`~chainrule.train.EarlyStopping` decides) is highest for an
        accuracy and lowest for a loss or another column a run logs (see :func:`maximizing`).
        A key ``"auto"`` cannot tell the way of, or any other ``mode``, raises
        :class:`~chainrule.errors.ConfigError`.

        Epochs where ``key`` is missing, None or NaN are skipped; if no epoch has a number
        there (all NaN, say), the answer is None. A key no epoch logged (Keras's "val_acc")
        raises KeyError naming the keys logged.

        >>> History([{"epoch": 1, "loss": float("nan")}, {"epoch": 2, "loss": 0.3}]).best("loss")
        {'epoch': 2, 'loss': 0.3}
        """
        if mode not in MODES:
            raise ConfigError(f"History.best: mode must be one of {MODES}, not {mode!r}")
        self._check_logged(key)
        scored = [r for r in self.records if rankable(r.get(key))]
        if not scored:
            return None
        pick = max if maximizing(key, mode, "History.best") else min
        return pick(scored, key=lambda r: r[key])

    def to_list(self) -> list[dict[str, Any]]:
        """The records as plain dicts (JSON-able)."""
        return [dict(record) for record in self.records]

    def to_json(self, indent: int | None = None) -> str:
        """The records as a JSON array (a non-finite loss is written as null; a NumPy array a
        callback logged as a list)."""
        return json.dumps(strict_json(self.records), indent=indent, default=json_value)

    @classmethod
    def from_json(cls, text: str | list) -> History:
        """Rebuild a History from :meth:`to_json`'s text (or an already-parsed list)."""
        records = json.loads(text) if isinstance(text, str) else text
        return cls(records)


def loggable(key: Any, value: Any) -> Any:
    """``value``, written by a callback into an epoch's ``logs`` under a key of its own, as the
    History keeps it: a NumPy number or 0-d array (``logs["val_f1"] = np.float32(0.8)``) and a
    chainrule Tensor of one value (``(w ** 2).sum()``) as the Python number they hold, as JSON
    and :meth:`History.best` read it; strings, True/False, None, lists, dicts and NumPy arrays
    as they are. A value (or key) JSON cannot hold, a Tensor of several values, a datetime, an
    object, raises TypeError saying what it is ("a Tensor of 4 values", "a datetime"): the
    History leaves it out, rather than a checkpoint or ``history.json`` failing on it."""
    from chainrule.tensor import Tensor

    if isinstance(value, Tensor):
        if value.size != 1:
            raise TypeError(f"a Tensor of {value.size} values, not one number")
        return value.item()
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        value = value.item()
    if not (key is None or isinstance(key, (str, int, float))):  # JSON's keys (bool: an int)
        raise TypeError(f"a value under a {type(key).__name__} key")
    try:
        json.dumps(value, default=json_value)
    except (TypeError, ValueError):  # ValueError: a circular reference
        what = f"a {type(value).__name__}"
        if isinstance(value, (list, tuple, dict)):
            what += " holding what JSON cannot"
        raise TypeError(what) from None
    return value


#: Which way an epoch's number is better: "min", "max", or "auto" (see :func:`maximizing`).
MODES = ("auto", "min", "max")


def maximizing(key: str, mode: str = "auto", who: str = "History.best") -> bool:
    """Whether a higher ``key`` is better: ``mode="max"``, or ``"auto"`` and ``key`` names an
    accuracy ("accuracy", "val_acc", "top5_accuracy"). Lower is better for ``"min"``, and for
    ``"auto"`` and a loss or an error ("val_loss", "mse") or a column every run logs ("lr",
    "time"). ``"auto"`` guesses no further: any other key (a "val_f1" of one's own) raises
    :class:`~chainrule.errors.ConfigError` asking ``who``'s caller for the mode."""
    if mode != "auto":
        return mode == "max"
    higher = higher_is_better(key)
    if higher is None:
        mixed = _mixed_words(_words(key))
        both = f" (its name holds both {mixed[0]!r} and {mixed[1]!r})" if mixed else ""
        raise ConfigError(
            f"{who}: cannot tell whether a higher or a lower {key!r} is better{both}; "
            "pass mode='max' or mode='min'"
        )
    return higher


def higher_is_better(key: str) -> bool | None:
    """True for an accuracy's name, False for a loss's, an error's or a logged column's, None
    for a name that does not say, or says both ways: an accuracy word beside a loss's or an
    error's, or a word that turns either around ("val_acc_err", "val_accuracy_loss",
    "val_acc_drop", "val_loss_drop").
    A name is read by its words ("val_accuracy_top5" is an accuracy, "val_loss_ema" and
    "val_nll" losses)."""
    words = _words(key)
    if _mixed_words(words):
        return None
    if words & _HIGHER_WORDS:
        return True
    if key.removeprefix("val_") in KEYS or words & _LOWER_WORDS:
        return False
    return None


def _words(key: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", key.lower()))


def _mixed_words(words: set[str]) -> tuple[str, str] | None:
    """Two words of a name's ``words`` that say different ways (the first of each,
    alphabetically), or None: an accuracy word beside a loss's or a turning one
    ("val_acc_err", "val_acc_drop"), or a loss's word beside a turning one ("val_loss_drop",
    "val_err_decrease": higher may be better); such a name says both ways, and
    ``mode="auto"`` asks."""
    higher = sorted(words & _HIGHER_WORDS)
    lower = sorted(words & _LOWER_WORDS)
    if higher and (lower or words & _TURNING_WORDS):
        return higher[0], (lower or sorted(words & _TURNING_WORDS))[0]
    falling = sorted(words & _FALLING_WORDS)  # a loss's fall: higher is better
    if lower and falling:
        return lower[0], falling[0]
    return None


#: Words of a log's name that say which way is better, for ``mode="auto"``.
_HIGHER_WORDS = frozenset({"accuracy", "acc"})
_LOWER_WORDS = frozenset({"loss", "error", "err", "mse", "mae", "rmse", "nll", "entropy"})
#: Words that, beside an accuracy's or a loss's word, make the name another measure, whose
#: better way the name does not say ("val_acc_drop", "acc_gap": lower is better;
#: "val_loss_drop", "val_loss_decrease": higher; "acc_change": either).
_TURNING_WORDS = frozenset(
    {"drop", "gap", "delta", "diff", "change", "decrease", "decline", "minus", "std", "var"}
)
#: Words that, beside a loss's word, name its fall, which is better higher ("val_loss_drop",
#: "val_err_decrease"); a loss's spread or gap ("val_loss_std", "loss_gap") stays lower-better.
_FALLING_WORDS = frozenset({"drop", "decrease", "decline", "reduction", "improvement", "change"})


def rankable(value: Any) -> bool:
    """A value an epoch can be ranked by: a real number (Python's or NumPy's, not a bool)
    that is not NaN."""
    return is_real(value) and not math.isnan(value)


def abbreviated_key(name: str, logged: list[str]) -> str | None:
    """The first logged key that ``name`` abbreviates ("val_acc": "val_accuracy"), or None:
    the one reading of Keras's short names, for History's and EarlyStopping's messages."""
    return next((key for key in logged if name and key.startswith(name)), None)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
