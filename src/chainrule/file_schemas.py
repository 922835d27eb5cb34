"""The schemas of the JSON files chainrule reads back: ``model.json`` and ``trainer.json``.

One pydantic model per file kind, so that a tampered or damaged file is refused in one place with
one line naming the file and the field (``model.json: field 'version': ...``) before anything is
built from it. :mod:`chainrule.io` validates every file it loads against these; pydantic is
imported only when a file is read.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from chainrule.errors import ModelFileError, extras_needed_by

with extras_needed_by("reading or writing model and checkpoint files"):  # pydantic: [app]
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StrictBool,
        ValidationError,
        field_validator,
        model_validator,
    )

#: The largest size a model file may claim for one dimension (a sanity bound, far above any
#: network chainrule trains; the real check is against the weights file's own header).
MAX_DIMENSION = 2**31 - 1

Dimension = Annotated[int, Field(ge=0, le=MAX_DIMENSION)]

#: The largest count a file may hold (an epoch, a number of epochs, a batch size, a format
#: version): far past any run, and within NumPy's int64. Python reads a JSON integer of up to
#: 4,300 digits, and a trainer.json epoch of 4,000 digits passed and was echoed whole by the
#: messages that named it.
MAX_COUNT = 2**63 - 1

#: A count (an epoch, a number of epochs): a whole number from 0 to MAX_COUNT.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
#: A count from 1 (a batch size, a version, an epoch's number in the history).
PositiveCount = Annotated[int, Field(ge=1, le=MAX_COUNT)]


def _epochs_counted(scalars: dict[str, Any], owner: str = "") -> None:
    """Refuse a whole number past :data:`MAX_COUNT` under a name of an epoch (``epoch``,
    ``best_epoch``: a schedule's and a callback's saved state, which
    :func:`chainrule.io.read_trainer_state` compares with the run's epoch) in a saved state
    that is otherwise its owner's own: ValueError naming it (``owner``: whose, as a prefix)."""
    for name, value in scalars.items():
        epoch = name == "epoch" or name.endswith("_epoch")
        if epoch and type(value) is int and value > MAX_COUNT:
            raise ValueError(f"'{owner}{name}' should be less than or equal to {MAX_COUNT}")


class _Lenient(BaseModel):
    """Unknown keys are kept (a newer minor writer may add some), types are checked strictly."""

    model_config = ConfigDict(extra="allow", strict=True)


class StandardizerState(BaseModel):
    """The per-feature mean and standard deviation the inputs are scaled by."""

    model_config = ConfigDict(extra="forbid", strict=False)

    mean: list[float]
    std: list[float]

    @field_validator("mean", "std")
    @classmethod
    def _finite(cls, values: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in values):
            raise ValueError("must hold finite numbers only")
        return values

    @field_validator("std")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if not all(v > 0 for v in values):
            raise ValueError("must be positive")
        return values


def check_loss_config(loss: Any) -> None:
    """What a model file's ``loss`` may be: None, a loss's name (files of older versions), or
    its configuration as :meth:`chainrule.nn.Loss.config` gives it and
    :func:`chainrule.io.load_model` gives it back (``{'type': 'cross-entropy', ...}``: its name
    under ``type`` and its options). ValueError saying what is wrong;
    :func:`chainrule.io.save_model` asks it of a configuration it is given, so a loaded model
    saves again as it was."""
    if loss is None or isinstance(loss, str):
        return
    if not isinstance(loss, dict):
        raise ValueError("must be a loss name or a loss configuration (an object)")
    if "type" not in loss:
        raise ValueError(
            "a loss configuration needs its 'type', the loss's name (such as 'cross-entropy')"
        )
    if not isinstance(loss["type"], str) or not loss["type"].strip():
        raise ValueError(f"'type' must be the loss's name, a string, not {loss['type']!r}")
    problem = _library_loss_problem(loss)
    if problem is not None:
        raise ValueError(problem)


def _library_loss_problem(loss: dict[str, Any]) -> str | None:
    """What keeps the configuration of one of chainrule's losses (its ``type`` a name of
    :data:`chainrule.nn.losses.LOSSES`) from rebuilding it: an option its constructor does not
    take (named), or a value it refuses (its own words), as
    :func:`~chainrule.nn.losses.loss_from_config` refuses it; None where it rebuilds. Such a
    file loaded, and predict, export and explain then failed naming the directory alone.
    Another name (a loss of the user's own, a name of an older file) is left to the reader
    that rebuilds it."""
    from chainrule.errors import UserError
    from chainrule.nn.losses import LOSSES, loss_from_config

    name = loss["type"]
    if name.strip().lower().replace("_", "-") not in LOSSES:
        return None
    try:
        loss_from_config(loss)
    except UserError as error:
        message = str(error)
        return message if message.startswith(f"loss {name!r}") else f"loss {name!r}: {message}"
    return None


class BlasRecord(_Lenient):
    """The BLAS NumPy computes with, as a run recorded it: its library's name, version, kernel
    (the CPU architecture it picked) and threads, each null where it could not be told."""

    name: str | None = None
    version: str | None = None
    architecture: str | None = None
    threads: PositiveCount | None = None


class EnvironmentRecord(_Lenient):
    """What a run's numbers depend on beyond its configuration, as
    :func:`chainrule.train.runs.environment` records it in ``run.json``, ``model.json``'s and
    ``trainer.json``'s ``meta.environment`` (files from before it have none)."""

    chainrule: str
    python: str
    numpy: str
    platform: str | None = None
    blas: BlasRecord | None = None
    #: chainrule's environment variables that change its arithmetic or its memory (null: unset)
    settings: dict[str, str | None] = Field(default_factory=dict)
    #: the processes that trained together (mpiexec -n 2: 2); 1 for one process
    ranks: PositiveCount = 1
    #: the scikit-learn installed, whose copy of the digits a digits run reads (null: none)
    scikit_learn: str | None = None


class ModelMeta(_Lenient):
    """``model.json``'s ``meta``: free-form, but the run's environment, where recorded, is
    checked."""

    environment: EnvironmentRecord | None = None


class LossReads(BaseModel):
    """How a loss no file can rebuild (a function of one's own) reads a network's outputs."""

    model_config = ConfigDict(extra="forbid", strict=True)
    output_activation: Literal["logistic", "softmax"] | None = None
    threshold: Annotated[float, Field(gt=0, lt=1)] | None = None


class ModelDescription(_Lenient):
    """``model.json``: what :func:`chainrule.io.model_description` writes."""

    format: Literal["chainrule-model"]
    version: PositiveCount
    architecture: dict[str, Any]
    dtype: Literal["float32", "float64"] | None = None
    loss: Any = None
    #: where ``loss`` is null: what the loss function said of the outputs, which predict cuts by
    #: (files before it, and losses that said nothing: none)
    loss_reads: LossReads | None = None
    standardizer: StandardizerState | None = None
    class_names: list[str] | None = None
    parameters: dict[str, list[Dimension]] = Field(default_factory=dict)
    #: the parameters saved with ``requires_grad=False``, loaded frozen (files before it: none)
    frozen: list[str] = Field(default_factory=list)
    meta: ModelMeta = Field(default_factory=ModelMeta)

    @field_validator("loss")
    @classmethod
    def _loss_name_or_config(cls, loss: Any) -> Any:
        check_loss_config(loss)
        return loss


class OptimizerState(_Lenient):
    """The optimizer's class and hyperparameters (its buffers live in the safetensors file)."""

    type: str
    config: dict[str, Any]

    @field_validator("config")
    @classmethod
    def _hyperparameters_the_optimizer_takes(cls, config: dict[str, Any]) -> dict[str, Any]:
        # the optimizer's own checks (one home: Optimizer.check_hyperparameters), so that a bad
        # lr is refused naming this file and field, not met halfway through resuming
        from chainrule.errors import ConfigError
        from chainrule.optim import OPTIMIZERS

        kind = OPTIMIZERS.get(str(config.get("type", "")))
        if kind is not None:  # another optimizer's (a user's own) checks run when it loads
            hyper = {k: v for k, v in config.items() if k in kind.hyperparameters}
            try:
                kind.check_hyperparameters(hyper, kind.__name__)
            except ConfigError as error:
                raise ValueError(str(error)) from None
        return config


class GeneratorState(BaseModel):
    """A NumPy bit generator's state, as ``Generator.bit_generator.state`` gives it."""

    model_config = ConfigDict(extra="allow", strict=True)

    bit_generator: Literal["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]
    state: dict[str, Any]

    @model_validator(mode="after")
    def _numpy_accepts_it(self) -> GeneratorState:
        # NumPy is the judge of its own state: try it on a throw-away generator of that kind.
        try:
            getattr(np.random, self.bit_generator)().state = self.model_dump()
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ValueError(f"NumPy refuses this {self.bit_generator} state ({error})") from None
        return self


class CheckpointMeta(_Lenient):
    """What the run stored with its checkpoint: its configuration (``run``) and the
    environment it ran in (``environment``; checkpoints from before it have none)."""

    run: dict[str, Any] | None = None
    environment: EnvironmentRecord | None = None


class HistoryRecord(_Lenient):
    """One epoch's record in ``trainer.json``'s ``history``, as the Trainer logs it: its
    number and the numbers drawn and compared (``plot_history``'s curves, early stopping's
    best), each a number or null. Other keys (a callback's own) are kept as they are."""

    epoch: PositiveCount
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    lr: float | None = None
    time: float | None = None


class TrainerState(_Lenient):
    """``trainer.json``: what :meth:`chainrule.train.Trainer.state` writes."""

    format: Literal["chainrule-checkpoint"]
    version: PositiveCount = 1
    epoch: Count
    epochs: Count = 0
    seed: int = 0
    batch_size: PositiveCount | None = None
    history: list[HistoryRecord] = Field(default_factory=list)
    rng: GeneratorState
    module_rngs: dict[str, GeneratorState] = Field(default_factory=dict)
    optimizer: OptimizerState
    schedule: dict[str, Any] | None = None
    callbacks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    meta: CheckpointMeta = Field(default_factory=CheckpointMeta)
    stopped_early: StrictBool = False  # "no" was read as true

    @field_validator("schedule")
    @classmethod
    def _schedule_epoch_counted(cls, schedule: dict[str, Any] | None) -> dict[str, Any] | None:
        if schedule is not None:
            _epochs_counted(schedule)
        return schedule

    @field_validator("callbacks")
    @classmethod
    def _callback_epochs_counted(
        cls, callbacks: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        for key, scalars in callbacks.items():
            _epochs_counted(scalars, f"{key}.")
        return callbacks


def check_version(data: Any, source: Path, supported: int, kind: str) -> None:
    """Refuse a file a newer chainrule wrote: where ``data`` (the file's parsed JSON) records a
    ``version`` past ``supported``, the newest this chainrule reads, one ModelFileError line
    names ``source``, its version and ``supported``. A newer version means the file may hold
    what an older reader would pass over and compute other numbers without it (a loss's
    options, how predict reads the outputs), so it is refused rather than read. Every version
    up to ``supported`` reads; a file without one (written before its kind was versioned) is
    version 1. A ``version`` that is no whole number from 1 to :data:`MAX_COUNT` is left to
    the file's schema, which names the field. Each kind's versions: docs/training.md, "File
    formats and their versions"."""
    from chainrule import __version__

    version = data.get("version", 1) if isinstance(data, dict) else 1
    if type(version) is int and supported < version <= MAX_COUNT:
        raise ModelFileError(
            f"{source}: written by a newer chainrule ({kind} version {version}); chainrule "
            f"{__version__} reads {kind} versions up to {supported}: upgrade chainrule to read it"
        )


def field_path(loc: tuple) -> str:
    """A pydantic location as a user reads it: ``meta.run.hidden[0]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole file)"


def first_problem(error: ValidationError) -> str:
    """``field 'x.y': what is wrong`` for the first error pydantic found (one line)."""
    first = error.errors(include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ").splitlines()[0]
    # "a valid dictionary or instance of HistoryRecord": a file holds no instance of a class
    message = re.sub(r" or instance of \w+$", "", message)
    return f"field {field_path(tuple(first['loc']))!r}: {message}"


def validate_file(schema: type[BaseModel], data: Any, source: Path, kind: str) -> dict:
    """``data`` checked against ``schema``; a mismatch raises one ModelFileError line naming
    ``source`` and the field. Returns the data as read (unknown keys kept)."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{source}: not a chainrule {kind} (expected a JSON object)")
    from chainrule.io import is_model_description  # here: io reads its files through this module

    if kind == "model description" and not is_model_description(data):
        raise ModelFileError(f"{source}: not a chainrule model description")
    try:
        schema.model_validate(data)
    except ValidationError as error:
        raise ModelFileError(f"{source}: {first_problem(error)}") from None
    return data
