"""Callbacks: code that runs at fixed points of the training loop.

The order of calls in one run::

    on_fit_start(trainer)
    for each epoch:
        on_epoch_start(trainer, epoch)
        for each mini-batch:
            on_after_backward(trainer)      # gradients are in p.grad; the step has not happened
            on_batch_end(trainer, batch, loss)
        on_epoch_end(trainer, epoch, logs)  # logs: this epoch's numbers, for the History
    on_fit_end(trainer)

Epochs are numbered from 1 (after epoch 1425, 1425 sweeps are done). Set
``trainer.stop_training = True`` to stop after the current epoch. A number a callback writes
into ``logs`` under a key of its own (``logs["val_f1"] = f1``) is kept in the epoch's History
record and the checkpoints (the trainer's own keys keep the trainer's values; a value JSON
cannot hold is left out, warned once), and callbacks later in the list see it (an
:class:`EarlyStopping` watching it must come after the callback that writes it; one given as
``early_stopping=`` comes after every callback).

A callback that keeps state across epochs (like :class:`EarlyStopping`) defines both
``state()`` and ``load_state(scalars, arrays)``, so checkpoints carry it and a resumed run
behaves exactly like an uninterrupted one (:data:`STATE_CONTRACT`): ``state()`` returns the pair
``(scalars, arrays)``, a dict of JSON values (kept in trainer.json) and a dict of names to NumPy
arrays of numbers (kept in optimizer.safetensors), and ``load_state`` takes the two dicts back.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import sys
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from chainrule.checks import is_integer, is_real
from chainrule.errors import ConfigError, type_name
from chainrule.optim.clip import checked_flag, checked_limit, checked_norm_type, clip_grad_norm_
from chainrule.train.history import (
    KEYS,
    MODES,
    abbreviated_key,
    higher_is_better,
    maximizing,
    rankable,
)


class Callback:
    """Base class: override any of the hooks; each does nothing by default.

    A callback with state to keep in checkpoints defines ``state()`` and
    ``load_state(scalars, arrays)`` too (the base has neither: a callback without them keeps
    nothing); :data:`STATE_CONTRACT` says what they take and return.

    >>> import chainrule as cr
    >>> class Count(cr.train.Callback):
    ...     def __init__(self):
    ...         self.epochs = 0
    ...     def on_epoch_end(self, trainer, epoch, logs):
    ...         self.epochs += 1
    ...         logs["epochs_counted"] = self.epochs     # kept in the History
    ...     def state(self):
    ...         return {"epochs": self.epochs}, {}       # (JSON scalars, named arrays)
    ...     def load_state(self, scalars, arrays):
    ...         self.epochs = scalars["epochs"]
    """

    def on_fit_start(self, trainer: Any) -> None:
        """Before the first epoch of :meth:`Trainer.fit` (also when resuming)."""

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based)."""

    def on_after_backward(self, trainer: Any) -> None:
        """After the backward pass of a mini-batch, before the optimizer's step."""

    def on_batch_end(self, trainer: Any, batch: int, loss: float) -> None:
        """After the optimizer's step; ``batch`` counts from 0 within the epoch."""

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        """After epoch ``epoch`` has been evaluated; ``logs`` holds its numbers: a value written
        into it under a key of one's own (``logs["val_f1"] = f1``, a number, string, list or
        dict) is kept in the History and the checkpoints, and the callbacks after this one see
        it; the trainer's own keys keep its values in the History."""

    def on_fit_end(self, trainer: Any) -> None:
        """After the last epoch (not called when training is interrupted by an exception)."""


#: The hooks the loop calls on every callback, in the order of a run.
HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


def check_callbacks(callbacks: Any) -> list[Any]:
    """``callbacks`` as a list, each one checked before anything trains (a plain function
    failed on its missing ``on_fit_start`` only when the fit started). A callback is a
    :class:`Callback`, or any object with every hook of one (the loop calls them all)."""
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Iterable):
        raise ConfigError(
            f"callbacks must be a list of callbacks, not {type_name(callbacks)}; one callback "
            "goes in a list: callbacks=[callback]"
        )
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        missing = [hook for hook in HOOKS if not callable(getattr(callback, hook, None))]
        if isinstance(callback, type) or missing:
            raise ConfigError(_not_a_callback(f"callbacks[{index}]", callback, missing))
    return callbacks


#: Keras's keyword arguments of ``fit`` and ``Trainer``, each with chainrule's way of doing
#: what it does (or the word that chainrule does not): what :func:`refuse_unknown_arguments`
#: says instead of Python's bare "unexpected keyword argument".
KERAS_FIT_NAMES = {
    "validation_split": "hold a validation set out first, train, val, _ = cr.data.split(ds, "
    "val=0.2, test=0), and pass val as fit's val_ds",
    "validation_data": "pass the validation set as fit's val_ds, a Dataset "
    "(cr.data.Dataset(X=X_val, y=y_val, task=...))",
    "verbose": "progress=False turns the progress bar off; cr.train.EpochPrinter() in "
    "callbacks= prints a line per epoch",
    "shuffle": "the Trainer always shuffles the training set every epoch, with its own "
    "generator (seed=); batch_size=None trains on the whole set at once",
    "class_weight": "chainrule's fit has no class weights (every case counts alike); weight "
    "the cases in a loss of your own, loss.per_case(output, target) times a weight per case "
    "(docs/nn.md, 'Class weights': PyTorch's pos_weight and weight=), or use "
    "cr.sklearn.MLPClassifier, whose fit takes a weight per case, sample_weight=",
    "sample_weight": "chainrule's fit has no case weights (every case counts alike); "
    "cr.sklearn's MLPClassifier and MLPRegressor take fit(X, y, sample_weight=)",
    "initial_epoch": "a run goes on from a checkpoint, resume= (trainer.resume(path)), and "
    "epochs= is the total to reach",
}

#: Keras's keyword arguments of its EarlyStopping, as :data:`KERAS_FIT_NAMES` for ``fit``.
KERAS_EARLY_STOPPING_NAMES = {
    "restore_best_weights": "chainrule's is restore_best=, True by default",
    "verbose": "early stopping prints nothing; the epoch lines (cr.train.EpochPrinter, or "
    "the progress bar's) show where the run stopped",
    "baseline": "chainrule's EarlyStopping has no baseline: it watches for patience epochs "
    "from the first",
    "start_from_epoch": "chainrule's EarlyStopping has no start_from_epoch: it watches from "
    "the first epoch",
}


def refuse_unknown_arguments(
    who: str, given: Mapping[str, Any], takes: Iterable[str], keras: Mapping[str, str]
) -> None:
    """Raise TypeError for the first keyword argument in ``given`` (the ``**keras_names`` of
    ``who``: "fit", "Trainer", "EarlyStopping"), as Python's own "unexpected keyword
    argument" does, saying chainrule's way where it is a Keras name (``keras``) and the
    parameter it is close to otherwise (``takes``: ``who``'s parameters). Nothing given:
    nothing to say."""
    if not given:
        return
    name = next(iter(given))
    line = f"{who}() got an unexpected keyword argument {name!r}"
    if name in keras:
        raise TypeError(f"{line}, Keras's name: {keras[name]}")
    close = difflib.get_close_matches(str(name), list(takes), n=1)
    if close:
        line += f"; did you mean {close[0]!r}?"
    raise TypeError(line)


def check_state_methods(callbacks: list[Any]) -> None:
    """Refuse a callback whose ``state()`` / ``load_state()`` a checkpoint cannot call (see
    :func:`state_methods_problem`), naming its place in ``callbacks``: where checkpoints are
    written or a run resumes, before anything trains (found at the resume, epochs later, it
    was a checkpoint that "does not fit"). A fit without checkpoints calls neither, and
    leaves a ``state`` / ``load_state(path)`` of another meaning alone."""
    for index, callback in enumerate(callbacks):
        problem = state_methods_problem(callback)
        if problem:
            raise ConfigError(
                f"callbacks[{index}] ({type(callback).__name__}): {problem}; {STATE_CONTRACT}"
            )


#: What a callback's ``state()`` and ``load_state()`` are (the words of every refusal of one).
STATE_CONTRACT = (
    "a callback's state() returns the pair (scalars, arrays): a dict of JSON values (numbers, "
    "strings, True/False, None, lists and dicts of them) and a dict of names to NumPy arrays "
    "of numbers, and its load_state(scalars, arrays) takes the two dicts back"
)


def has_state(callback: Any) -> bool:
    """Whether a checkpoint keeps ``callback``'s state: it has ``state`` and ``load_state``."""
    return callable(getattr(callback, "state", None)) and callable(
        getattr(callback, "load_state", None)
    )


def state_methods_problem(callback: Any) -> str | None:
    """What is wrong with the signatures of a stateful callback's ``state()`` (called with no
    argument) and ``load_state(scalars, arrays)`` (two), or None: one of PyTorch's habit,
    ``load_state(self, state_dict)``, failed only at a resume, as a checkpoint that "does not
    fit"."""
    if not has_state(callback):
        return None
    calls = (("state", (), "state()"), ("load_state", (None, None), "load_state(scalars, arrays)"))
    for method, arguments, shown in calls:
        try:
            signature = inspect.signature(getattr(callback, method))
        except (TypeError, ValueError):  # a builtin without one: nothing to tell
            continue
        try:
            signature.bind(*arguments)
        except TypeError:
            return f"its {method}{signature} cannot be called as {shown}"
    return None


def checked_state(callback: Any, state: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What ``callback.state()`` returned (``state``), checked as a checkpoint keeps it, as
    ``(scalars, arrays)``; anything else (one dict, the ``state_dict`` habit; a set among the
    scalars; an array of strings) raises :class:`ConfigError` naming the callback's class and
    :data:`STATE_CONTRACT`, before anything is written."""
    name = f"callback {type(callback).__name__}"
    if not (isinstance(state, (tuple, list)) and len(state) == 2):
        given = type_name(state)
        if isinstance(state, (tuple, list)):
            given = f"a {type(state).__name__} of {len(state)}"
        elif isinstance(state, Mapping):
            given = "one dict"
        raise ConfigError(f"{name}: state() returned {given}, not a pair; {STATE_CONTRACT}")
    scalars, arrays = state
    for what, value in (("scalars", scalars), ("arrays", arrays)):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ConfigError(
                f"{name}: state()'s {what} are {type_name(value)}, not a dict with string "
                f"keys; {STATE_CONTRACT}"
            )
    try:
        json.dumps(scalars, allow_nan=True, default=_json_number)
    except (TypeError, ValueError) as error:  # ValueError: a circular reference
        raise ConfigError(
            f"{name}: state()'s scalars are not JSON ({error}); {STATE_CONTRACT}"
        ) from None
    checked = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ConfigError(
                f"{name}: state()'s array {key!r} holds {array.dtype} values; {STATE_CONTRACT}"
            )
        checked[key] = array
    return dict(scalars), checked


def _json_number(value: Any) -> Any:
    """``json.dumps``'s ``default`` for a callback's scalars: a NumPy number or array as the
    JSON it is written as, anything else refused naming its type."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{value!r:.60} is a {type(value).__name__}")


def _not_a_callback(where: str, value: Any, missing: list[str]) -> str:
    if isinstance(value, type):  # its hooks are functions waiting for self
        return f"{where} is the class {value.__name__}, not a callback; pass an instance"
    given, lacks = type_name(value), f" (it lacks {', '.join(missing)})"
    if len(missing) == len(HOOKS):
        lacks = ""
        if callable(value):  # a function meant for on_epoch_end, say
            given = f"the function {getattr(value, '__name__', given)}"
    return (
        f"{where} is {given}, not a callback{lacks}: a callback is an object with the hooks "
        f"{', '.join(HOOKS)}; subclass cr.train.Callback, whose hooks do nothing, and override "
        "those you need"
    )


class EarlyStopping(Callback):
    """Stop when the monitored number has not improved for ``patience`` epochs.

    ``monitor`` names the key of the epoch's logs to watch; None (the default) watches
    "val_loss" in a fit that evaluates validation data (``val_ds`` given and not empty, see
    :attr:`Trainer.validates`) and "loss" otherwise, decided afresh for every fit;
    ``monitored`` is the key the latest fit watches. An improvement must beat the best value by
    more than ``min_delta``. ``mode`` says which way is better: "min", "max", or "auto" (the
    default): higher for a key naming an accuracy ("val_accuracy"), lower for a loss; a key it
    cannot tell the way of (a "val_f1" a callback logs) is refused at the first epoch, asking
    for the mode (:func:`~chainrule.train.history.maximizing`). With ``restore_best`` (the
    default) the weights of the best epoch are put back when fitting ends. ``best`` is a value
    of the measure ``best_of`` names, better the way ``best_mode`` says ("min" or "max"): a
    later fit that watches another measure (a ``monitor`` changed, ``val_ds`` given or left out
    with ``monitor=None``) or ranks it the other way (``mode``) starts its best and its patience
    count (``wait``) afresh, as a fresh run does, rather than comparing its values with a best
    it cannot beat. A fit with nothing left to train keeps them (the run's best is put back).

    "loss" and "val_loss" are the loss of the data alone: an optimizer's ``weight_decay`` (or
    ``shrink``) is in its step, never in the loss (PyTorch's convention), so the decay term
    weight_decay/2 * sum w^2 is not watched. To stop on the loss plus the decay (Hinton's
    course's objective), a callback before this one writes that sum into the logs under a key of
    its own, watched with ``monitor=`` that key and ``mode="min"`` (docs/training.md, "Weight
    decay and the losses reported").

    A resume (:meth:`load_state`) is such a later fit: the checkpoint gives the best, its epoch,
    its weights and the patience spent, but the monitor, mode, patience, min_delta and
    restore_best are this callback's own, as the user gave them now (a checkpoint that watched
    "val_accuracy" resumed with ``monitor="val_loss"`` watches "val_loss", its best afresh).

    The weights the last epoch ended with are remembered when the best ones are put back: if
    the same trainer's :meth:`~chainrule.train.Trainer.fit` is called again to train more
    epochs (a run early stopping did not stop, or one whose ``stopped_early`` was cleared), they
    are put back first, so the run continues exactly as one uninterrupted fit (or a resume from
    its last checkpoint, which holds them) would. Between the fits the model holds the best
    weights; a fit with nothing left to train leaves them there.

    A keyword of Keras's EarlyStopping (``restore_best_weights``, ``baseline``) is a TypeError
    saying chainrule's way (:data:`KERAS_EARLY_STOPPING_NAMES`).
    """

    MODES = MODES

    def __init__(
        self,
        patience: int = 10,
        monitor: str | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: str = "auto",
        **keras_names: Any,
    ) -> None:
        refuse_unknown_arguments(
            "EarlyStopping",
            keras_names,
            ("patience", "monitor", "min_delta", "restore_best", "mode"),
            KERAS_EARLY_STOPPING_NAMES,
        )
        if mode not in MODES:
            raise ConfigError(f"EarlyStopping: mode must be one of {MODES}, not {mode!r}")
        if not is_integer(patience) or patience < 1:
            raise ConfigError(
                f"EarlyStopping: patience must be a positive integer, not {patience!r}"
            )
        if not (is_real(min_delta) and 0 <= min_delta < math.inf):
            # NaN made no epoch an improvement, a negative one made worse epochs improvements
            raise ConfigError(
                f"EarlyStopping: min_delta must be a finite number >= 0, not {min_delta!r}"
            )
        if monitor is not None and not (isinstance(monitor, str) and monitor.strip()):
            raise ConfigError(f"EarlyStopping: monitor must be a log's name, not {monitor!r}")
        if not isinstance(restore_best, (bool, np.bool_)):  # "no" would be true
            raise ConfigError(
                f"EarlyStopping: restore_best must be True or False, not {restore_best!r}"
            )
        self.patience = patience
        self.monitor = monitor
        self.monitored: str | None = monitor
        self.min_delta = float(min_delta)
        self.restore_best = restore_best
        self.mode = mode
        self.maximizing: bool | None = False
        self._reset()

    def _reset(self) -> None:
        self._reset_best()
        # the weights the last epoch ended with, while the best ones stand in for them:
        # (the trainer, its epoch then, the weights), put back when its fit continues; the
        # trainer is None when they were read from a checkpoint
        self._last: tuple[Any, int, dict[str, np.ndarray]] | None = None

    def _reset_best(self) -> None:
        """Forget the best so far: nothing to beat, no patience spent."""
        self.best: float = math.inf
        self.best_epoch: int | None = None
        #: the measure ``best`` is a value of (None: not known, as from an older checkpoint)
        self.best_of: str | None = None
        #: which way ``best`` was better: "min" or "max" (None: not known)
        self.best_mode: str | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_fit_start(self, trainer: Any) -> None:
        self.monitored = self.monitor or ("val_loss" if trainer.validates else "loss")
        # a name whose way "auto" cannot tell is refused at the first epoch, once it is known
        # to be logged at all (a misspelt name is told as such)
        unknown = self.mode == "auto" and higher_is_better(self.monitored) is None
        self.maximizing = None if unknown else maximizing(self.monitored, self.mode)
        if trainer.epoch == 0:  # a fresh run; a resumed one keeps the state its checkpoint gave
            self._reset()
        elif self._ranks_another_way() and not getattr(trainer, "finished", False):
            # another measure than the last fit's or the checkpoint's (a monitor changed, a
            # validation set given or left out), or the other way up: its best is no value of
            # this one to beat (the last weights are kept). A finished run keeps its best.
            self._reset_best()
        if self._last is not None and not getattr(trainer, "finished", False):
            (ref, epoch, weights), self._last = self._last, None
            # this run, continued (or read back from a checkpoint saved between two fits): go
            # on from its last epoch's weights, not the best
            if (ref is None or ref() is trainer) and epoch == trainer.epoch:
                trainer.model.load_state_dict(weights)
        if self.best_epoch is None:  # nothing to beat yet, whichever way is better
            self.best = -math.inf if self.maximizing else math.inf

    def _ranks_another_way(self) -> bool:
        """Whether this fit's measure or its way differs from the one ``best`` was found by."""
        way = None if self.maximizing is None else _way(self.maximizing)
        return self.best_of not in (None, self.monitored) or self.best_mode not in (None, way)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitored)
        if value is None:
            raise ConfigError(_not_logged(self.monitored, epoch, logs, trainer, self))
        if self.maximizing is None:
            maximizing(self.monitored, self.mode, "EarlyStopping")  # raises, naming the fix
        better = (
            value > self.best + self.min_delta
            if self.maximizing
            else value < self.best - self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            self.best_of, self.best_mode = self.monitored, _way(self.maximizing)
            if self.restore_best:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_fit_end(self, trainer: Any) -> None:
        if self.restore_best and self.best_weights is not None:
            if self.best_epoch != trainer.epoch and not self._holds_last(trainer):
                # the last epoch's weights, for a fit of this trainer that continues the run
                self._last = (weakref.ref(trainer), trainer.epoch, trainer.model.state_dict())
            trainer.model.load_state_dict(self.best_weights)
        trainer.best_epoch = self.best_epoch

    def _holds_last(self, trainer: Any) -> bool:
        """Whether the last weights of ``trainer`` as it stands are remembered already (a fit
        that trained nothing ends with the best weights in the model: they must not replace
        them)."""
        if self._last is None:
            return False
        ref, epoch, _ = self._last
        return (ref is None or ref() is trainer) and epoch == trainer.epoch

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON scalars and arrays (the best weights) for a checkpoint. A checkpoint saved by
        hand between two fits, while the best weights stand in the model, also keeps the last
        epoch's weights (``last/`` names), which a fit continuing the run starts from."""
        scalars = {
            "monitor": self.monitor,
            "best_of": self.best_of,
            "mode": self.mode,
            "best_mode": self.best_mode,
            "best": self.best if math.isfinite(self.best) else None,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
        }
        arrays = dict(self.best_weights or {})
        if self._last is not None:
            scalars["last_epoch"] = self._last[1]
            arrays.update({_LAST + name: value for name, value in self._last[2].items()})
        return scalars, arrays

    def load_state(self, scalars: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` saved; a value of the wrong kind raises ValueError
        naming its field, and nothing changes.

        The saved ``monitor`` and ``mode`` are not loaded: this callback's own act, and the
        next fit starts the best afresh where they watch another measure or rank it the other
        way (see the class). They tell what the saved best is of, where an older checkpoint
        did not record ``best_of`` or ``best_mode``."""
        _check_saved_state(scalars)
        best = scalars.get("best")
        self.best = math.inf if best is None else float(best)
        self.best_epoch = scalars.get("best_epoch")
        self.best_of = scalars.get("best_of") or scalars.get("monitor")
        self.best_mode = scalars.get("best_mode") or _saved_way(
            self.best_of, scalars.get("mode", "auto")
        )
        self.wait = int(scalars.get("wait", 0))
        self.stopped_epoch = scalars.get("stopped_epoch")
        best = {k: np.array(v) for k, v in arrays.items() if not k.startswith(_LAST)}
        self.best_weights = best or None
        # the checkpoint's weights are the model's now, unless they are the best ones standing
        # in for the last epoch's (saved between two fits): a fit goes on from those
        last = weights_to_continue_from(scalars, arrays)
        self._last = None if last is None else (None, int(scalars["last_epoch"]), last)

    def saved_weights(self) -> dict[str, dict[str, np.ndarray]]:
        """The weights this state holds besides the model's, by what they are ("best", "last"),
        for a loader to check against the model."""
        held = {"best": self.best_weights, "last": self._last and self._last[2]}
        return {what: weights for what, weights in held.items() if weights}


#: The prefix of the last epoch's weights among :meth:`EarlyStopping.state`'s arrays.
_LAST = "last/"

#: Where each of :meth:`EarlyStopping.saved_weights` is among its state's arrays: the prefix
#: of its names (a loader's check names the arrays of the file).
SAVED_WEIGHTS_PREFIXES = {"best": "", "last": _LAST}

#: What each scalar of :meth:`EarlyStopping.state` may hold (None: not yet known).
_SAVED_FIELDS = {
    "monitor": (str, "a log's name"), "best_of": (str, "a log's name"),
    "mode": (str, f"one of {MODES}"), "best_mode": (str, "'min' or 'max'"),
    "best": (float, "a number"), "best_epoch": (int, "an epoch"), "wait": (int, "a count"),
    "stopped_epoch": (int, "an epoch"), "last_epoch": (int, "an epoch"),
}  # fmt: skip


#: The values a saved early-stopping field that is one of a few words may hold.
_SAVED_CHOICES = {"mode": MODES, "best_mode": ("min", "max")}


def _way(higher_is_better_now: bool) -> str:
    """A direction of ranking as a mode names it: "max" where higher is better, else "min"."""
    return "max" if higher_is_better_now else "min"


def _saved_way(key: str | None, mode: str) -> str | None:
    """Which way a saved best of ``key`` was ranked under ``mode``, or None where it cannot be
    told (no key, or "auto" on a name that does not say)."""
    if key is None:
        return None
    try:
        return _way(maximizing(key, mode))
    except ConfigError:  # "auto" on a name that does not say
        return None


def _check_saved_state(scalars: dict[str, Any]) -> None:
    """Raise ValueError naming the first field of a saved early-stopping state that is of the
    wrong kind ("best": "x", "wait": -1, "mode": "banana")."""
    for name, value in scalars.items():
        if name not in _SAVED_FIELDS or value is None:
            continue
        kind, what = _SAVED_FIELDS[name]
        fits = (
            (isinstance(value, str) and value in _SAVED_CHOICES.get(name, (value,)))
            if kind is str
            else is_integer(value) and value >= 0
            if kind is int
            else is_real(value) and not math.isnan(value)
        )
        if not fits:
            raise ValueError(f"early stopping's {name!r} must be {what}, not {value!r}")


def weights_to_continue_from(
    scalars: dict[str, Any], arrays: dict[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    """The last epoch's weights a saved early-stopping state holds where the best epoch's stood
    in the model when it was saved (between two fits), or None: the weights a run continues
    from, whether or not the trainer that resumes it stops early."""
    last = {k[len(_LAST) :]: np.array(v) for k, v in arrays.items() if k.startswith(_LAST)}
    return last if last and scalars.get("last_epoch") is not None else None


def _not_logged(
    key: str, epoch: int, logs: dict[str, Any], trainer: Any, stopping: Any = None
) -> str:
    """Why early stopping (``stopping``) found no number under ``key`` in an epoch's logs, and
    what to do."""
    logged = [k for k, v in logs.items() if k != "epoch" and rankable(v)]
    line = f"EarlyStopping: no {key!r} in epoch {epoch}'s logs (they have "
    line += f"{', '.join(repr(k) for k in logged)})"
    no_accuracy = "accuracy" in key and logs.get("accuracy", 0) is None  # logged as None
    instead = key.replace("accuracy", "loss") if no_accuracy else key
    own = _logged_key(key.removeprefix("val_"), list(KEYS)) is None  # not the trainer's
    if own and _writers_after(stopping, trainer):
        return (
            f"{line}: a callback that logs {key!r} must run before this EarlyStopping: list "
            "it earlier in callbacks=, or give early stopping as early_stopping=, which runs "
            "after every callback"
        )
    if key.startswith("val_") and not getattr(trainer, "validates", True):
        empty = getattr(trainer, "val_ds", None) is not None  # given, but without cases
        why = "its validation set is empty" if empty else "this fit has no validation set"
        twin = _logged_key(instead.removeprefix("val_"), logged)
        other = " one of the keys logged" if twin is None else f"={twin!r}"
        return f"{line}: {why}; pass val_ds with cases, or monitor{other}"
    if no_accuracy and key in logs:
        return f"{line}: {_without_accuracy(trainer)} no accuracy; monitor={instead!r}"
    twin = _logged_key(key, logged)  # Keras's "val_acc" for "val_accuracy"
    return line if twin is None else f"{line}; did you mean monitor={twin!r}?"


def _without_accuracy(trainer: Any) -> str:
    """What has no accuracy in ``trainer``'s fit, the subject of "... no accuracy": a
    regression, or multilabel targets that are not all 0 or 1 (soft targets, which
    :func:`~chainrule.train.metrics.accuracy` scores None as it does a regression)."""
    if getattr(getattr(trainer, "train_ds", None), "task", None) == "multilabel":
        return "multilabel targets not all 0 or 1 have"
    return "a regression has"


def _writers_after(stopping: Any, trainer: Any) -> bool:
    """Whether a callback of the user's comes after ``stopping`` in the trainer's list: one
    that may log the number it watches, too late for it (the built-in ones log nothing)."""
    callbacks = list(getattr(trainer, "callbacks", ()))
    place = next((i for i, c in enumerate(callbacks) if c is stopping), None)
    if place is None:
        return False
    quiet = (EarlyStopping, ProgressBar, EpochPrinter, ClipGradNorm)
    return any(not isinstance(c, quiet) for c in callbacks[place + 1 :])


def _logged_key(name: str, logged: list[str]) -> str | None:
    """The logged key that ``name`` is, or abbreviates ("acc": "accuracy"), or None: a key
    suggested to monitor must be one the logs have."""
    return name if name in logged else abbreviated_key(name, logged)


class ClipGradNorm(Callback):
    """Clip the gradients' total norm to ``max_norm`` before every optimizer step: the fit's
    form of :func:`chainrule.optim.clip_grad_norm_` called between ``backward()`` and
    ``step()`` (same arguments, same scaling: every gradient times ``max_norm / (norm + 1e-6)``
    where that is below 1).

    It clips the gradients of the trainer's optimizer's parameters (those a step moves) in
    ``on_after_backward``, which :meth:`Trainer.step` calls after the ranks' gradients are
    combined (so every rank clips the same gradient the same way) and before the optimizer's
    step. Callbacks run in the order given: one listed before it (``GradientHealth``) sees the
    gradients unclipped, one after it clipped. ``last_norm`` is the total norm of the latest
    step's gradients before clipping (None before the first step).

    >>> import chainrule as cr                                                # doctest: +SKIP
    >>> cr.train.fit(net, loss, opt, ds, callbacks=[cr.train.ClipGradNorm(1.0)])  # doctest: +SKIP
    """

    def __init__(
        self, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
    ) -> None:
        self.max_norm = checked_limit("ClipGradNorm", "max_norm", max_norm)
        self.norm_type = checked_norm_type("ClipGradNorm", norm_type)
        self.error_if_nonfinite = checked_flag(
            "ClipGradNorm", "error_if_nonfinite", error_if_nonfinite
        )
        self.last_norm: float | None = None

    def on_after_backward(self, trainer: Any) -> None:
        self.last_norm = clip_grad_norm_(
            trainer.optimizer.params, self.max_norm, self.norm_type, self.error_if_nonfinite
        )

    def __repr__(self) -> str:
        return f"ClipGradNorm(max_norm={self.max_norm!r}, norm_type={self.norm_type!r})"


class ProgressBar(Callback):
    """A rich progress bar over the run's mini-batches, showing the latest epoch's numbers.

    It draws on stderr, so a program's stdout (``--json``) stays clean. The bar, the batch count
    and the time left always fit: on a terminal narrower than :attr:`WIDE` columns the metrics
    and the elapsed time are left out of the bar (the epoch lines carry them). Where stderr is
    not a terminal (a pipe, a log file, a notebook's cell) or rich is not installed (it is an
    optional extra) it prints plain epoch lines instead, about ten over the run as
    :meth:`EpochPrinter.over` does, unless the trainer already has an :class:`EpochPrinter`
    printing them.
    """

    #: Terminals at least this wide show the metrics and the elapsed time in the bar too.
    WIDE = 110

    def __init__(self, console: Any = None) -> None:
        self.console = console
        self._progress: Any = None
        self._task: Any = None
        self._plain: EpochPrinter | None = None
        self._room = 0

    def on_fit_start(self, trainer: Any) -> None:
        self.close()  # a bar a fit left drawing (its error, caught by the user's own loop)
        self._plain = None
        if getattr(trainer, "finished", False):  # a finished run (stopped early): nothing to draw
            return
        try:
            from rich.console import Console
        except ImportError:  # rich is optional: the same numbers as plain lines
            self._plain_lines(trainer)
            return
        console = self.console or Console(stderr=True)
        if not console.is_terminal:
            self._plain_lines(trainer)  # a bar in a log or a pipe would only add noise
            return
        self._progress = _progress(console, wide=console.width >= self.WIDE)
        remaining = max(0, trainer.epochs - trainer.epoch)
        total = remaining * trainer.batches_per_epoch
        # the metrics give way first: cut to the room the other columns leave on the line
        fixed = len(f"epoch {trainer.epochs}/{trainer.epochs}") + 30 + 2 * len(str(total)) + 1
        self._room = console.width - fixed - len(" 0:00:00 elapsed 0:00:00 left ") - 2
        self._task = self._progress.add_task(
            "train",
            total=total,
            epoch=trainer.epoch,
            epochs=trainer.epochs,
            metrics="",
        )
        self._progress.start()

    def _plain_lines(self, trainer: Any) -> None:
        """Plain lines instead of a bar: about ten over the run (a notebook's cell got one per
        epoch, 500 for a 500-epoch run), and one at least every ten seconds."""
        printing = any(isinstance(c, EpochPrinter) for c in getattr(trainer, "callbacks", ()))
        epochs = max(0, trainer.epochs - trainer.epoch)
        self._plain = None if printing else EpochPrinter.over(epochs, _stream_of(self.console))

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, epoch=epoch)

    def on_batch_end(self, trainer: Any, batch: int, loss: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self._progress is not None:
            metrics = format_logs(logs, summed_cases(trainer))
            if len(metrics) > self._room:
                metrics = metrics[: max(0, self._room - 1)].rstrip() + "…"
            self._progress.update(self._task, metrics=metrics)
        elif self._plain is not None:
            self._plain.on_epoch_end(trainer, epoch, logs)

    def on_fit_end(self, trainer: Any) -> None:
        self.close()
        if self._plain is not None:
            self._plain.on_fit_end(trainer)

    def close(self, clear: bool = False) -> None:
        """Stop drawing; ``clear`` erases the bar (after an error, so the message stands alone)."""
        if self._progress is not None:
            if clear:
                self._progress.live.transient = True
            self._progress.stop()
            self._progress = None


def _stream_of(console: Any) -> Any:
    """Where plain lines go: the given console's file, else stderr (looked up when printing)."""
    return None if console is None else console.file


def _progress(console: Any, wide: bool) -> Any:
    """The rich Progress display: epoch, bar, batch count and time left, which fit 80 columns;
    with ``wide``, also the elapsed time and the latest epoch's metrics."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [
        TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(bar_width=30 if wide else 24),
        MofNCompleteColumn(),
    ]
    if wide:
        columns += [TimeElapsedColumn(), TextColumn("elapsed")]
    columns += [TimeRemainingColumn(), TextColumn("left")]
    if wide:
        columns.append(TextColumn("{task.fields[metrics]}"))
    return Progress(*columns, console=console, transient=False)


class EpochPrinter(Callback):
    """Print one line of numbers every ``every`` epochs (and the last one) to ``stream``, and
    after any epoch that ends ``seconds`` or more after the last line (a long run of fast epochs
    still shows it is alive)."""

    #: A line at least this often when printing :meth:`over` a run.
    SECONDS = 10.0

    def __init__(self, every: int = 1, stream: Any = None, seconds: float | None = None) -> None:
        self.every = max(1, int(every))
        self.stream = stream
        self.seconds = seconds
        self._printed_at = time.monotonic()
        #: the epoch this fit ended last and did not print (None: printed, or none yet)
        self._unprinted: int | None = None

    @classmethod
    def over(cls, epochs: int, stream: Any = None) -> EpochPrinter:
        """A printer of about ten lines over a run of ``epochs`` (and the last epoch's), and
        one at least every :attr:`SECONDS`: what ``chainrule train`` and a progress bar without
        a terminal print."""
        return cls(every=max(1, epochs // 10), stream=stream, seconds=cls.SECONDS)

    def on_fit_start(self, trainer: Any) -> None:
        self._unprinted = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        late = self.seconds is not None and time.monotonic() - self._printed_at >= self.seconds
        if late or epoch % self.every == 0 or epoch == trainer.epochs or trainer.stop_training:
            self._print(trainer, epoch, logs)
        else:
            self._unprinted = epoch

    def on_fit_end(self, trainer: Any) -> None:
        """Print the fit's last epoch if it was not: a callback after this one (early stopping,
        which ``early_stopping=`` puts after every callback) stopped the run there, after this
        printer had passed it by."""
        history = getattr(trainer, "history", None)
        last = history.last if history is not None else None
        if self._unprinted is not None and last is not None and last["epoch"] == self._unprinted:
            self._print(trainer, self._unprinted, last)

    def _print(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        line = format_logs(logs, summed_cases(trainer))
        print(f"epoch {epoch:>5}  {line}", file=self.stream or sys.stderr)
        self._printed_at = time.monotonic()
        self._unprinted = None


def format_logs(logs: dict[str, Any], cases: dict[str, int] | None = None) -> str:
    """``loss 0.1234  acc 97.50%  val_loss ...`` for one epoch's record. ``cases``: for a loss
    that is a sum over the cases (:func:`summed_cases`), how many each sum ran over; each such
    loss is followed by its value per case, ``loss 134.7 (0.1071 per case)``, so a training
    sum and a validation sum over fewer cases compare."""
    parts = []
    for key, label in (("loss", "loss"), ("accuracy", "acc"), ("val_loss", "val_loss"),
                       ("val_accuracy", "val_acc")):  # fmt: skip
        value = logs.get(key)
        if value is None:
            continue
        part = f"{label} {value:.2%}" if "acc" in label else f"{label} {value:.4g}"
        n = (cases or {}).get(key)
        if n:
            part += f" ({value / n:.4g} per case)"
        parts.append(part)
    return "  ".join(parts)


def summed_cases(trainer: Any) -> dict[str, int] | None:
    """For a trainer whose loss is a sum over the cases (``reduction="sum"``: the lecture's
    E, SquaredError's default), how many cases each epoch's ``loss`` and ``val_loss`` summed
    over; None for a mean."""
    if getattr(trainer.loss, "reduction", None) != "sum":
        return None
    train, val = getattr(trainer, "train_ds", None), getattr(trainer, "val_ds", None)
    cases = {"loss": len(train)} if train is not None else {}
    if val is not None and len(val):
        cases["val_loss"] = len(val)
    return cases or None
