"""A complete training run as the command line does it: data, network, optimizer, files.

A run is described by a :class:`RunConfig` (every choice, filled in from the dataset's preset
where the user left it open), so it can be stored in the checkpoint and rebuilt exactly for
``--resume``. A run directory holds::

    run.json          the configuration and the final summary
    model/            the trained model (model.safetensors + model.json)
    checkpoints/      epoch-NNNNNN/ directories, the latest complete ones
    history.json      one record per epoch
    curves.png        loss and accuracy per epoch
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.checks import whole_number
from chainrule.errors import DataError, UserError, counted, extras_needed_by
from chainrule.nn.activations import ACTIVATIONS as UNITS
from chainrule.nn.activations import HIDDEN
from chainrule.nn.losses import LOSSES
from chainrule.optim.optimizers import lookup, names

#: Per-dataset defaults. The classic problems train on all their cases with full-batch sweeps
#: (as RHW 1986 did) and are judged on the same cases; the others hold out a test split.
PRESETS: dict[str, dict[str, Any]] = {
    "digits": dict(hidden=[128], loss="cross-entropy", optimizer="adam", lr=0.01, epochs=40,
                   batch_size=32, schedule="cosine", init="glorot"),
    "xor": dict(hidden=[3], loss="squared-error", optimizer="momentum", lr=0.5, momentum=0.9,
                epochs=500, batch_size=None, standardize=False, split=None, init="uniform",
                init_range=1.0),
    "parity": dict(hidden=[6], loss="squared-error", optimizer="momentum", lr=0.5, momentum=0.9,
                   epochs=2000, batch_size=None, standardize=False, split=None, init="uniform",
                   init_range=1.0),
    # 5000 sweeps: at 3000 only seeds 0, 2 and 5 of 0-9 learned it, the others still on a
    # plateau; at 5000 all ten do, the last at its sweep 4137 (seed 7), each kept to the end
    # (of seeds 10-19, 7 do; 14, 15 and 18 have not in 10000 either)
    "symmetry": dict(hidden=[2], loss="binary-cross-entropy", optimizer="momentum", lr=0.1,
                     momentum=0.9,
                     epochs=5000, batch_size=None, standardize=False, split=None, init="uniform",
                     init_range=0.3),
    "encoder": dict(hidden=[3], loss="cross-entropy", optimizer="momentum", lr=0.5, momentum=0.9,
                    epochs=300, batch_size=None, standardize=False, split=None, init="uniform",
                    init_range=1.0),
    # RHW 1986's network and the recipe that trains it (chainrule.train.family_trees)
    "family-trees": dict(network="family-trees", hidden=[6, 12, 6],
                         loss="margin-squared-error", optimizer="momentum", lr=0.07,
                         momentum=0.9, shrink=0.002, epochs=3000, batch_size=None,
                         standardize=False, split=4, init="uniform", init_range=2.0,
                         schedule="family-trees", dtype="float64"),
}  # fmt: skip
#: Defaults for a CSV file or an IDX directory.
GENERIC = dict(hidden=[64], optimizer="adam", lr=0.003, epochs=20, batch_size=32, init="glorot")
#: The learning rate of each optimizer other than the preset's own on a classic problem, taken
#: where --optimizer is given without --lr (the preset's rate is its own optimizer's: xor's 0.5,
#: momentum's, trained adam in 5 of seeds 0-9, where 0.01 learns in 8). Measured by
#: benchmarks/preset_rates.py: the preset's epochs and all else, seeds 0-9, how many learn every
#: case (as the train summary judges a classic problem); the rate with the most, the smaller on
#: a tie. Symmetry's row was measured at 3000 epochs, its preset's before they became 5000 (not
#: measured again: at 5000 the preset's momentum learns in 10 of 10). Its table, successes of 10
#: per rate (the preset's own optimizer at its own rate):
#:
#:   xor (500 epochs)       sgd      1: 9, 2.5: 10, 5: 10, 10: 10, 25: 9
#:                          rmsprop  0.003: 1, 0.01: 9, 0.03: 8, 0.1: 9, 0.3: 8
#:                          adam     0.003: 2, 0.01: 8, 0.03: 8, 0.1: 8, 0.3: 8
#:                          adamw    0.003: 2, 0.01: 8, 0.03: 8, 0.1: 9, 0.3: 9
#:                          momentum 0.5: 10
#:   parity (2000 epochs)   sgd      1: 8, 2.5: 0, 5: 1, 10: 0, 25: 0
#:                          rmsprop  0.003: 6, 0.01: 8, 0.03: 8, 0.1: 9, 0.3: 7
#:                          adam     0.003: 2, 0.01: 6, 0.03: 6, 0.1: 5, 0.3: 3
#:                          adamw    0.003: 2, 0.01: 7, 0.03: 6, 0.1: 8, 0.3: 10
#:                          momentum 0.5: 7
#:   symmetry (3000 epochs) sgd      0.2: 0, 0.5: 0, 1: 0, 2: 1, 5: 10
#:                          rmsprop  0.003: 0, 0.01: 0, 0.03: 0, 0.1: 0, 0.3: 4
#:                          adam     0.003: 0, 0.01: 0, 0.03: 0, 0.1: 2, 0.3: 1
#:                          adamw    0.003: 0, 0.01: 0, 0.03: 0, 0.1: 1, 0.3: 4
#:                          momentum 0.1: 3
#:   encoder (300 epochs)   sgd      1: 9, 2.5: 10, 5: 10, 10: 10, 25: 0
#:                          rmsprop  0.003: 0, 0.01: 8, 0.03: 10, 0.1: 10, 0.3: 10
#:                          adam     0.003: 0, 0.01: 8, 0.03: 10, 0.1: 10, 0.3: 10
#:                          adamw    0.003: 0, 0.01: 8, 0.03: 10, 0.1: 10, 0.3: 10
#:                          momentum 0.5: 10
#:
#: Digits (judged on held-out cases) and family-trees (whose warm-up needs momentum) have none:
#: another optimizer there trains at the preset's rate, and the command line says so.
PRESET_RATES: dict[str, dict[str, float]] = {
    "xor": dict(sgd=2.5, rmsprop=0.01, adam=0.01, adamw=0.1),
    "parity": dict(sgd=1.0, rmsprop=0.1, adam=0.01, adamw=0.3),
    "symmetry": dict(sgd=5.0, rmsprop=0.3, adam=0.1, adamw=0.3),
    "encoder": dict(sgd=2.5, rmsprop=0.03, adam=0.03, adamw=0.03),
}

#: The names of --activation, --loss and --optimizer are the library's, each from its registry
#: at the time of use (one registered there is taken): ``nn.activations.HIDDEN``,
#: ``nn.losses.LOSSES`` (imported above) and ``optim.optimizers.names()``.
ACTIVATIONS = HIDDEN
#: "mlp": layers of --hidden sizes; "family-trees": RHW 1986's network (--hidden switches to mlp)
NETWORKS = ("mlp", "family-trees")
SCHEDULES = ("constant", "cosine", "family-trees")
#: The run's options that are settings of its optimizer, by the hyperparameter each sets: each
#: goes to an optimizer that lists it in its ``hyperparameters``, and one given to another is
#: refused (--momentum) or, the preset's shrink, dropped (run.json recorded it under adam).
OPTIMIZER_OPTIONS = {"momentum": "--momentum", "weight_decay": "--weight-decay", "shrink": None}
DTYPES = ("float32", "float64")
#: what a CSV file's label column can hold (``--task``)
TABLE_TASKS = ("classification", "regression")
#: Sizes are checked before anything is allocated: a hidden layer of at most this many units,
#: and a network of at most this many weights (400 MB in float32).
MAX_LAYER_SIZE = 1_000_000
MAX_WEIGHTS = 100_000_000


@dataclass
class RunConfig:
    """Every choice of a training run (JSON-able; stored in checkpoints and model files)."""

    data: str = "digits"
    network: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [64])
    activation: str = "logistic"
    loss: str = "cross-entropy"
    optimizer: str = "adam"
    lr: float = 0.003
    momentum: float | None = None
    weight_decay: float = 0.0
    shrink: float = 0.0  # RHW 1986's weight decay: w *= 1 - shrink after each step (SGD only)
    epochs: int = 20
    batch_size: int | None = 32
    seed: int = 0
    early_stopping: int | None = None
    dtype: str = "float32"
    schedule: str = "constant"
    standardize: bool = True
    split: Any = (0.1, 0.2)  # (val, test) fractions; an int k: hold out k cases; None: no split
    init: str = "glorot"
    init_range: float = 0.3
    #: what a CSV file's label column holds: "classification" (integer classes) or "regression"
    #: (real numbers); None for a run of an older version or a dataset that knows its own task
    task: str | None = None
    #: how a CSV file is read beyond its task (:func:`table_options`), as --label-column and
    #: --delimiter gave them: the label column's number counted from 1 (negative from the end)
    #: or its header name, None for the last; the delimiter, None for a comma (tab for .tsv)
    label_column: int | str | None = None
    delimiter: str | None = None
    # A file or directory of data, pinned when the run starts (see pin_data): its absolute path
    # and checksum, so evaluating or resuming elsewhere reads that data or refuses, never another.
    data_file: str | None = None
    data_sha256: str | None = None
    #: --explain: the run watches its gradient health (a resume goes on watching; runs of an
    #: older version: False)
    explain: bool = False
    #: ``chainrule --import MODULE``: the modules, as given, that the run was trained (or last
    #: resumed) with, which register its loss, layers or optimizer of the user's own; every
    #: command the run's hints print (``next:``, ``continue with:``) imports them too
    #: (:func:`command_line`). A resume given none keeps these (runs of an older version: none)
    imports: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The configuration as a plain dict."""
        out = dataclasses.asdict(self)
        out["split"] = list(self.split) if isinstance(self.split, tuple) else self.split
        return out

    @classmethod
    def from_json(
        cls, values: dict[str, Any], source: str | os.PathLike | None = None
    ) -> RunConfig:
        """Rebuild from :meth:`to_json`; unknown keys, wrong types and values out of range are
        a :class:`UserError` naming ``source`` (the file it was read from) and the field.
        Without pydantic, a :class:`~chainrule.errors.MissingExtraError` names the [app] extra."""
        with extras_needed_by("RunConfig.from_json"):  # pydantic: the [app] extra
            from pydantic import TypeAdapter, ValidationError

        from chainrule.file_schemas import first_problem

        where = f"{source}: field 'meta.run'" if source is not None else "run configuration"
        if not isinstance(values, dict):
            raise UserError(f"{where}: expected an object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(f"{where} has unknown entries {unknown}")
        try:
            config = TypeAdapter(cls).validate_python(values)
        except ValidationError as error:
            problem = first_problem(error).removeprefix("field ")
            raise UserError(f"{where}.{problem}" if source else f"{where}: {problem}") from None
        if isinstance(config.split, list):
            config.split = tuple(config.split)
        if source is not None:
            try:
                validate(config, stored=True)
            except UserError as error:
                raise UserError(f"{where}: {error}") from None
        return config


def command_line(imports: Iterable[str] = ()) -> str:
    """``chainrule``, with ``--import MODULE`` for each of ``imports`` (a run's
    :attr:`RunConfig.imports`), quoted for the shell: how each command a run's hints print
    begins, so a copied hint reads a run of the user's own classes as its training did."""
    import shlex

    return " ".join(["chainrule", *(f"--import {shlex.quote(str(m))}" for m in imports)])


def dataset_key(data: str) -> str:
    """The preset name for a built-in dataset ("family_trees" -> "family-trees"; a name with
    sizes, as the summary prints it, its dataset's: "parity-6" -> "parity"), else ""."""
    from chainrule.data import builtin_dataset

    found = builtin_dataset(str(data))
    return found[0] if found is not None and found[0] in PRESETS else ""


def measured_rate(data: str, optimizer: str, momentum: float | None = None) -> float | None:
    """The learning rate ``optimizer`` trains ``data`` at where no --lr is given: a preset's own
    for its own optimizer, :data:`PRESET_RATES`' for another on a classic problem; None where
    none was chosen for it (a CSV file or IDX directory, or digits or family-trees with another
    optimizer: the preset's rate, its own optimizer's, is then used). The preset's optimizer's
    class with a ``momentum`` (--momentum) other than the one its rate was measured with has
    none: sgd with momentum is the preset's momentum optimizer, whose rate is the preset's (sgd's
    5 on symmetry, measured without momentum, learned in 0 of 10 seeds with 0.9), and another
    class keeps its measured rate (rmsprop's 0.01 on xor with --momentum 0.9 learns, where
    momentum's 0.5 learned no seed)."""
    key = dataset_key(data)
    preset = PRESETS.get(key, GENERIC)
    if optimizer == preset["optimizer"]:
        return preset["lr"]
    named, own = _optimizer_named(optimizer), _optimizer_named(preset["optimizer"])
    if momentum is not None and named is not None and own is not None and named[0] is own[0]:
        kind, settings = named
        if momentum != {**kind.defaults(), **settings}.get("momentum"):
            return None
    return PRESET_RATES.get(key, {}).get(optimizer)


def resolve_config(options: dict[str, Any]) -> RunConfig:
    """A :class:`RunConfig` from the user's options (None = not given), filled from presets."""
    if options.get("data") is not None and not str(options["data"]).strip():
        raise UserError("--data is empty; name a dataset, a CSV file or an IDX directory")
    data = options.get("data") or "digits"
    preset = dict(PRESETS.get(dataset_key(data), GENERIC))
    # None is "not given", except for a batch size, which is given only as None ("full"): it
    # was dropped, and --batch-size full trained with the preset's 32
    chosen = {k: v for k, v in options.items() if v is not None or k == "batch_size"}
    _take_named_hidden(data, preset, chosen)
    unit = UNITS.get(str(chosen.get("activation")).strip().lower())
    if unit is not None:  # an alias, as nn.activation takes it: --activation sigmoid is logistic
        chosen["activation"] = unit.name
    values = {**preset, **chosen, "data": data}
    if "hidden" in chosen:
        values["network"] = "mlp"  # layer sizes of the user's own describe a plain mlp
    if "optimizer" in chosen and "momentum" not in chosen:
        values["momentum"] = None  # the preset's momentum belongs to the preset's optimizer
    if "optimizer" in chosen and "lr" not in chosen:
        rate = measured_rate(data, chosen["optimizer"], chosen.get("momentum"))
        values["lr"] = rate or preset["lr"]
    optimizer = _optimizer_named(values.get("optimizer"))  # None: unknown (validate refuses it)
    if optimizer is not None:
        kind, settings = optimizer
        if values.get("momentum") is None and "momentum" in settings:
            values["momentum"] = settings["momentum"]  # --optimizer momentum: 0.9, RHW 1986's
        if "shrink" not in kind.hyperparameters:
            values["shrink"] = 0.0  # SGD's alone (build): run.json recorded it under adam, unused
        if "weight_decay" not in chosen:
            # the optimizer's own default (AdamW's 0.01, as PyTorch's): adamw with no
            # --weight-decay trained as adam
            values["weight_decay"] = {**kind.defaults(), **settings}.get("weight_decay", 0.0)
    if "loss" not in values:
        values["loss"] = "auto"
    config = RunConfig.from_json(values)
    validate(config, schedule_given="schedule" in chosen)
    if config.task is None and is_table_file(data):
        config.task = "classification"  # recorded, so --resume can compare a given --task
    given = [option for option in ("label_column", "delimiter") if chosen.get(option) is not None]
    if given and (dataset_key(data) or Path(data).expanduser().is_dir()):
        flag = "--" + given[0].replace("_", "-")
        raise UserError(f"{flag} says how a CSV file is read; --data {data} is no CSV file")
    pin_data(config)
    return config


#: ``--delimiter`` words for a character hard to type on a command line
DELIMITER_WORDS = {"tab": "\t", "\\t": "\t"}


def parse_label_column(text: str | None) -> int | str | None:
    """``--label-column``: a column's number counted from 1 (negative from the end: -1 is the
    last), or its name in the file's header; None where not given."""
    if text is None:
        return None
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", stripped):
        if not stripped:
            raise UserError("--label-column is empty; give a column's name or number (from 1)")
        return stripped
    number = int(stripped)
    if number == 0:
        raise UserError(
            "--label-column 0: columns are numbered from 1 (-1 is the last); or give its name"
        )
    return number


def parse_delimiter(text: str | None) -> str | None:
    """``--delimiter``: one character, or ``tab`` (``\\t``); None where not given."""
    if text is None:
        return None
    return DELIMITER_WORDS.get(text.lower(), text)


def delimiter_shown(delimiter: str) -> str:
    """A delimiter as ``--delimiter`` is typed, for a message: ``tab`` for a tab, else quoted
    (``';'``), so the separator is not read as the sentence's own (``--delimiter ;;``)."""
    words = {value: word for word, value in DELIMITER_WORDS.items() if word.isalpha()}
    return words.get(delimiter, repr(delimiter))


def table_options(run: RunConfig | dict | None) -> dict[str, Any]:
    """The keywords :func:`chainrule.data.read_csv` takes from a run's recorded data settings
    (a :class:`RunConfig`, or the ``meta.run`` of a model file), so every command reads a file
    as the run's training read its own: ``label_column`` (a column number from 1 becomes an
    index from 0) and ``delimiter``, each only where the run set it."""
    values = run.to_json() if isinstance(run, RunConfig) else (run or {})
    options: dict[str, Any] = {}
    label = values.get("label_column")
    if label is not None:
        options["label_column"] = label - 1 if isinstance(label, int) and label > 0 else label
    if values.get("delimiter") is not None:
        options["delimiter"] = values["delimiter"]
    return options


def _take_named_hidden(data: str, preset: dict[str, Any], chosen: dict[str, Any]) -> None:
    """The encoder's name gives its hidden layers (encoder-4-2-4): they are the preset's, and a
    --hidden that differs is refused (the data would be rebuilt as --hidden's network)."""
    from chainrule.data import builtin_dataset

    found = builtin_dataset(str(data))
    if found is not None and found[0] == "encoder" and chosen.get("hidden") == []:
        # the encoder's task is to squeeze its patterns through a hidden layer (RHW 1986)
        raise UserError(
            f"--hidden {NO_HIDDEN_LAYER}: --data {data} is learned through a hidden layer (its "
            "code); leave out --hidden"
        )
    if found is None or "hidden" not in found[1]:
        return
    key, named = found
    preset["hidden"] = _sizes(named["hidden"])
    if not _layer_sizes_in_range(preset["hidden"]):  # said of --data: no --hidden was given
        raise UserError(
            f"--data {data}: an encoder's hidden layers need sizes from 1 to "
            f"{MAX_LAYER_SIZE:,}, got {','.join(map(str, preset['hidden']))}"
        )
    if "hidden" in chosen and _sizes(chosen["hidden"]) != preset["hidden"]:
        sizes = _sizes(chosen["hidden"])
        other = "-".join(map(str, [key, named["n"], *sizes, named["n"]]))
        raise UserError(
            f"--hidden {','.join(map(str, sizes))}: --data {data} names its hidden layers "
            f"({','.join(map(str, preset['hidden']))}); leave out --hidden, or pass --data {other}"
        )


def validate(config: RunConfig, schedule_given: bool = True, stored: bool = False) -> None:
    """Raise UserError for any option value out of range (before anything is written);
    ``schedule_given``: whether the user chose the schedule (else the dataset's preset did).
    A choice is taken as :func:`choice` takes it (in any case), and kept as its choice spells
    it; ``stored``: the configuration is a saved run's, whose loss or optimizer may be a class
    of the user's own (its refusal says how one becomes known)."""
    config.activation = choice("--activation", config.activation, ACTIVATIONS)
    if config.loss != "auto":
        config.loss = choice("--loss", config.loss, LOSSES, own_classes=stored)
    config.optimizer = choice("--optimizer", config.optimizer, names(), own_classes=stored)
    kind, _ = lookup(config.optimizer)
    if config.network not in NETWORKS:
        raise UserError(f"run configuration: unknown network {config.network!r}")
    config.schedule = choice("--schedule", config.schedule, SCHEDULES)
    config.dtype = choice("--dtype", config.dtype, DTYPES)
    if config.task is not None:
        config.task = choice("--task", config.task, TABLE_TASKS)
    if not _layer_sizes_in_range(config.hidden):  # [] is no hidden layer (--hidden none)
        raise hidden_refused(str(config.hidden))
    if not 0 <= config.seed < 2**32:
        raise UserError(f"--seed must be an integer from 0 to {2**32 - 1}, got {config.seed}")
    if not (np.isfinite(config.lr) and config.lr > 0):
        raise UserError(f"--lr must be a positive number, got {config.lr}")
    if config.momentum is not None and not 0 <= config.momentum < 1:
        raise UserError(f"--momentum must be in [0, 1), got {config.momentum}")
    for key, option in OPTIMIZER_OPTIONS.items():
        # 0 (none) is taken by any optimizer, as --momentum 0 always was by adam
        if option and getattr(config, key) and key not in kind.hyperparameters:
            taken = ["--lr", *(flag for k, flag in OPTIMIZER_OPTIONS.items()
                               if flag and k in kind.hyperparameters)]  # fmt: skip
            raise UserError(
                f"{option} is not a setting of {config.optimizer} (of these options it takes "
                f"{', '.join(taken)})"
            )
    has_momentum = config.optimizer == "momentum" or (
        config.optimizer == "sgd" and bool(config.momentum)
    )
    if config.schedule == "family-trees" and not has_momentum:
        # sgd and rmsprop got the warm-up's momentum (0.5, then 0.9) while run.json said none
        if config.optimizer == "sgd":
            why = "--optimizer sgd was given no --momentum"
        elif "momentum" not in kind.hyperparameters:
            why = f"{config.optimizer} is not SGD (it has no momentum)"
        else:
            why = f"{config.optimizer} is not SGD"
        which = "" if schedule_given else " (the family-trees default)"
        raise UserError(
            f"--schedule family-trees{which} warms up the learning rate and the momentum of SGD "
            f"with momentum (RHW 1986), and {why}: use it with --optimizer momentum (or sgd with "
            "--momentum), or give --schedule constant or cosine"
        )
    if not (np.isfinite(config.weight_decay) and config.weight_decay >= 0):
        raise UserError(f"--weight-decay must be >= 0, got {config.weight_decay}")
    if config.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {config.epochs}")
    if config.batch_size is not None and config.batch_size < 1:
        raise UserError(
            f"--batch-size must be a positive integer or 'full', got {config.batch_size}"
        )
    if config.early_stopping is not None and config.early_stopping < 1:
        raise UserError(
            f"--early-stopping must be a positive patience, got {config.early_stopping}"
        )
    if config.label_column == 0 or config.label_column == "":
        raise UserError("--label-column: columns are numbered from 1 (-1 is the last)")
    delimiter = config.delimiter
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise UserError(
            f"--delimiter must be one character other than a quote or a line break (such as "
            f"';' or '|'), or tab; got {delimiter!r}"
        )


#: The choice options whose choices a registry of the user's classes joins: what an unknown
#: value's refusal adds, the decorator that registers such a class
REGISTERED_CHOICES = {
    "--loss": ("a loss", "@chainrule.nn.register_loss"),
    "--optimizer": ("an optimizer", "@chainrule.optim.register_optimizer"),
}


def choice(option: str, value: Any, choices: Collection[str], own_classes: bool = False) -> Any:
    """``value`` as one of ``choices`` spells it (in any case): the command line's choice
    options (:func:`chainrule.cli.app.one_of`, the one wording of an unknown value), which a
    run's stored configuration is checked by too. With ``own_classes`` (a stored run's
    configuration), an unknown --loss or --optimizer (a class of the user's own that this
    process does not know: a run trained with ``chainrule --import MODULE`` and resumed
    without it) also says how such a class becomes known, on the command line too
    (:data:`~chainrule.nn.module.ON_THE_COMMAND_LINE`). None stays None."""
    with extras_needed_by("a run's configuration"):  # typer: the [app] extra, as pydantic
        from chainrule.cli.app import one_of  # the command line's: not loaded with this module

    try:
        return one_of(option, value, list(choices))
    except UserError as error:
        if not own_classes or option not in REGISTERED_CHOICES:
            raise
        from chainrule.nn.module import ON_THE_COMMAND_LINE

        kind, decorator = REGISTERED_CHOICES[option]
        raise UserError(
            f"{error} ({kind} class of your own joins them once registered with {decorator}; "
            f"{ON_THE_COMMAND_LINE})"
        ) from None


def parse_batch_size(text: str | None) -> int | None | str:
    """``"full"`` -> None (full batch), digits -> int; None stays "not given" (``"default"``)."""
    if text is None:
        return "default"
    if text.strip().lower() in ("full", "all", "none"):
        return None
    try:
        value = _whole(text)
    except ValueError:
        raise UserError(
            f"--batch-size must be a positive integer or 'full', got {text!r}"
        ) from None
    if value < 1:
        raise UserError(f"--batch-size must be a positive integer or 'full', got {text!r}")
    return value


def _whole(text: str) -> int:
    """:func:`~chainrule.checks.whole_number`, raising ValueError for anything else."""
    value = whole_number(text)
    if value is None:
        raise ValueError(text)
    return value


#: ``--hidden none``: no hidden layer, the inputs feeding the output units (logistic, softmax or
#: linear regression), as ``nn.mlp([p, k])`` and ``MLPClassifier(hidden_layer_sizes=())``
NO_HIDDEN_LAYER = "none"


def hidden_refused(given: str) -> UserError:
    """The one refusal of a --hidden that names no layer sizes (``given`` as typed, or a stored
    run's list): 0, -3, 64,0, 2000000 and "" alike."""
    return UserError(
        f"--hidden must be comma-separated layer sizes from 1 to {MAX_LAYER_SIZE:,} like 64,32, "
        f"or {NO_HIDDEN_LAYER} for no hidden layer; got {given}"
    )


def hidden_shown(sizes: Sequence[int]) -> str:
    """Hidden layer sizes as --hidden is typed (:func:`parse_hidden`'s inverse): 64,32, or
    none for no hidden layer."""
    return ",".join(map(str, sizes)) or NO_HIDDEN_LAYER


def parse_hidden(text: str | None) -> list[int] | None:
    """``"64,32"`` -> [64, 32]; ``"none"`` (any case) -> [] (no hidden layer); None stays "not
    given". ``0`` is refused saying how no hidden layer is written."""
    if text is None:
        return None
    if text.strip().casefold() == NO_HIDDEN_LAYER:
        return []
    try:  # spaces around a comma only: "64 32" was read as 6432
        sizes = [_whole(part) for part in text.split(",")]
    except ValueError:
        raise hidden_refused(repr(text)) from None
    if sizes == [0]:
        raise UserError(
            f"--hidden {text.strip()}: 0 is not a layer size; for no hidden layer write "
            f"--hidden {NO_HIDDEN_LAYER}"
        )
    if not _layer_sizes_in_range(sizes):
        raise hidden_refused(repr(text))
    return sizes


# -- data ---------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """The three parts of a dataset after splitting and standardising, and the scaler."""

    train: Any
    val: Any
    test: Any
    standardizer: Any
    full: Any

    @property
    def evaluated_on(self) -> str:
        """Which cases the reported test accuracy counts."""
        return "test" if self.test is not self.train else "train"


def load_data(config: RunConfig, run_dir: Path | None = None) -> Prepared:
    """Load (in the run's dtype), split and standardise the dataset the configuration names.

    A pinned data file is read from its recorded absolute path after checking its checksum
    (:func:`data_source`); ``run_dir``, the saved run being reloaded, where a path it records
    without a checksum must lie."""
    from chainrule import data

    dtype = np.dtype(config.dtype)
    source = data_source(config, run_dir)
    ds = read_dataset(source, config.task, dtype, table=table_options(config))
    if "hidden" in ds.meta and _sizes(ds.meta["hidden"]) != list(config.hidden):
        # the encoder is named after its network (encoder-8-3-8): the one --hidden chose
        ds = data.encoder(ds.n_features, hidden=list(config.hidden), dtype=dtype)
    held_out_test = None
    if Path(source).is_dir():  # an IDX directory may hold its own test part (t10k)
        held_out_test = _idx_test_part(Path(source), dtype, ds)
    if config.split is None:
        train, val, test = ds, None, ds
    elif isinstance(config.split, int):
        train, val, test = data.split(ds, val=0, test=config.split, seed=config.seed)
        val = None
    else:
        val_fraction, test_fraction = config.split
        if held_out_test is not None:
            train, val, _ = data.split(ds, val=val_fraction, test=0, seed=config.seed)
            test = held_out_test
        else:
            train, val, test = data.split(ds, val=val_fraction, test=test_fraction,
                                          seed=config.seed)  # fmt: skip
        if len(val) == 0:
            val = None
    _check_usable(ds, train, test, config)
    standardizer = data.Standardizer().fit(train.X) if config.standardize else None
    try:
        parts = [prepare(part, standardizer, dtype) for part in (train, val, test)]
    except DataError:  # a case the dtype cannot hold once scaled: named in the file's order
        prepare(ds, standardizer, dtype)
        raise
    if test is train:
        parts[2] = parts[0]
    return Prepared(parts[0], parts[1], parts[2], standardizer, ds)


def _layer_sizes_in_range(sizes: Sequence[Any]) -> bool:
    return all(1 <= int(n) <= MAX_LAYER_SIZE for n in sizes)


def _sizes(hidden: Any) -> list[int]:
    return [int(h) for h in hidden] if isinstance(hidden, (list, tuple)) else [int(hidden)]


def read_dataset(
    source: str,
    task: str | None,
    dtype: Any,
    pixel_range: Sequence[float] | None = None,
    class_names: Sequence[str] | None = None,
    part: str | None = None,
    image_shape: Sequence[int] | None = None,
    for_model: bool = False,
    table: dict[str, Any] | None = None,
) -> Any:
    """The dataset ``source`` names (a built-in name, a CSV file, an IDX directory: its ``part``,
    "train" by default, or "test", the t10k files), a CSV file
    read as ``task`` ("classification" or "regression"; None: classification) with its inputs
    kept in float64 (they reach ``dtype`` once standardised, see :func:`prepare`). An IDX
    directory's images are mapped from ``pixel_range`` when given (a model's training images'
    range, which its model.json records), else from their own, and images of another shape
    than ``image_shape`` (a model's, also recorded) are refused. A CSV file's class names are
    numbered as ``class_names`` (a model's) when given, else in sorted order. ``for_model``:
    read for a model already trained (evaluate, explain), so one-hot label columns are not
    refused (:func:`chainrule.data.read_csv`): the model took those columns as they are.
    ``table``: how a CSV file is read beyond that (:func:`table_options`: its label column and
    delimiter); anything else does not use it.

    ``task`` says what a CSV file's label column holds; the other datasets know their own, so a
    task given for one of them is a UserError (a built-in "classification" for digits is fine)."""
    from chainrule import data

    directory = Path(source).expanduser().is_dir()
    if part is not None and not directory:  # a file or a built-in name has no parts to pick
        raise UserError(f"--part {part}: {source} is no IDX directory; --part picks one's files")
    if is_table_file(source):
        # X as written (float64) until the standardizer is fitted and applied (prepare): a
        # column like 1e9 + k rounded to float32 first would look constant
        task = task or "classification"
        named = {"class_names": class_names} if task == "classification" else {}
        if for_model:
            named["for_model"] = True
        named.update(table or {})
        return data.load(source, dtype=dtype, task=task, input_dtype=np.float64, **named)
    options: dict[str, Any] = {} if part is None else {"part": part}
    if pixel_range is not None and directory:
        options["pixel_range"] = (pixel_range[0], pixel_range[1])
    if image_shape is not None and directory:
        options["image_shape"] = tuple(image_shape)
    ds = data.load(source, dtype=dtype, **options)
    if task is None:
        return ds
    if ds.task != task:
        raise UserError(
            f"--task {task}: {source} is a {ds.task} dataset; --task says what a CSV file's "
            "label column holds"
        )
    return ds


def is_table_file(source: str) -> bool:
    """Whether ``source`` names a CSV (or TSV) file rather than a built-in dataset or a
    directory."""
    from chainrule import data

    path = Path(source).expanduser()
    return not dataset_key(source) and path.is_file() and data.is_table_file(path)


def check_targets_square(
    ds: Any, dtype: np.dtype, remedy: str = "use --dtype float64 or rescale the targets"
) -> None:
    """A regression's loss sums squared errors over the cases: targets so large that their sum
    of squares overflows ``dtype`` make the first loss inf at any learning rate (float32's
    limit is 3.4e38: targets of 1e20). Refused, ending with ``remedy``, before training or
    evaluating on them."""
    largest = float(np.max(np.abs(ds.y.astype(np.float64))))
    limit = float(np.sqrt(np.finfo(dtype).max / len(ds)))
    if largest >= limit:
        raise DataError(
            f"{_source(ds)}: targets up to {largest:.3g} overflow {dtype.name} once the loss "
            f"squares and sums them (below {limit:.3g} fit); {remedy}"
        )


def _check_usable(ds: Any, train: Any, test: Any, config: RunConfig) -> None:
    """A dataset training can learn from and a test split to report on, or one clear line."""
    if ds.task == "classification" and len(np.unique(ds.y)) < 2:
        label: Any = int(ds.y[0]) if len(ds) else None
        if label is not None and ds.class_names:  # text labels: the class by its name
            label = repr(ds.class_names[label])
        raise DataError(
            f"{_source(ds, labels=True)}: every case has label {label}: a classifier needs at "
            "least two classes to tell apart"
        )
    if ds.task == "regression" and len(ds):
        check_targets_square(ds, np.dtype(config.dtype))
    for part, cases in (("training", train), ("test", test)):
        if len(cases) == 0:
            raise DataError(
                f"{_source(ds)}: {len(ds)} cases leave the {part} split empty (split "
                f"{config.split}); give more cases"
            )


def check_new_run_dir(out: Path) -> None:
    """``--out`` for a new run: absent, empty, or holding only what a run killed during its very
    first checkpoint left (then cleared); anything else is a UserError (nothing is removed)."""
    refusal = occupied_run_dir(out)
    if refusal is not None:
        raise UserError(refusal)
    if _first_checkpoint_leftovers(out):
        import shutil

        shutil.rmtree(out / "checkpoints")  # a first checkpoint that never completed


def occupied_run_dir(out: Path, leftovers: Iterable[Path] = ()) -> str | None:
    """Why ``--out`` cannot take a new run (a file, or a directory holding more than a killed
    first checkpoint's leftovers and ``leftovers``, what other killed writes left, which the
    run removes under its lock), else None; nothing is changed. A run asks this before it
    reads its data (minutes for a large file) and again, through :func:`check_new_run_dir`,
    under the directory's lock."""
    if not out.exists():
        return None
    if not out.is_dir():
        return f"--out {out}: exists and is not a directory"
    kept = set(out.iterdir()) - set(leftovers)
    if kept and not _first_checkpoint_leftovers(out, kept):
        return f"--out {out}: already exists and is not empty (use --resume to continue)"
    return None


def _first_checkpoint_leftovers(out: Path, entries: Iterable[Path] | None = None) -> bool:
    """``out``'s ``entries`` (all of them by default) are only a ``checkpoints`` folder of
    temporary files: a run killed during its very first checkpoint."""
    from chainrule.files import TMP_PREFIX

    checkpoints = out / "checkpoints"
    return (
        list(out.iterdir() if entries is None else entries) == [checkpoints]
        and checkpoints.is_dir()
        and all(child.name.startswith(TMP_PREFIX) for child in checkpoints.iterdir())
    )


def _idx_test_part(directory: Path, dtype: np.dtype, train: Any) -> Any:
    """An IDX directory's test part (a t10k or test pair beside the training part; None
    without one: the test split is then taken from the training part, as from a lone pair),
    checked against its training part before any training: images of another size or on
    another scale, or a label the training part's classes do not have, would only fail after
    the last epoch, naming no file, or be scored wrongly. Its images are mapped from the
    training part's pixel range (:func:`chainrule.data.load_idx_dir`), as ``evaluate --part
    test`` maps them for the model."""
    from chainrule import data
    from chainrule.data.idx import names_part

    pairs = data.find_idx_pairs(directory)
    if not any(names_part(p, "test") for p in pairs if p != train.meta["part"]):
        return None  # a valid-* pair beside train is no test part
    test = data.load_idx_dir(directory, part="test", dtype=dtype)
    images, labels = test.meta["images"], test.meta["labels"]
    if test.meta["image_shape"] != train.meta["image_shape"]:
        raise DataError(
            f"{images}: test images of shape {tuple(test.meta['image_shape'])}, but the training "
            f"images ({Path(train.meta['images']).name}) are {tuple(train.meta['image_shape'])}"
        )
    if int(test.y.max()) >= train.n_classes:
        raise DataError(
            f"{labels}: test label {int(test.y.max())}, but the training labels "
            f"({Path(train.meta['labels']).name}) have {train.n_classes} classes "
            f"(0..{train.n_classes - 1})"
        )
    return test


def data_checksum(path: Path, every_file: bool = False) -> str:
    """sha256 of a data file, or of an IDX directory's image and label files (names and
    contents, sorted): only what the loader reads, so a README.txt or .DS_Store beside them
    changes nothing. ``every_file``: of all its files, as runs before that recorded."""
    import hashlib

    from chainrule import data

    digest = hashlib.sha256()
    if not path.is_dir():
        files = [path]
    elif every_file:
        files = sorted(p for p in path.iterdir() if p.is_file())
    else:
        files = sorted({file for pair in data.find_idx_pairs(path).values() for file in pair})
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        try:
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as error:
            raise DataError(f"{file}: cannot read ({error.strerror or error})") from None
    return digest.hexdigest()


def pin_data(config: RunConfig) -> None:
    """Record the absolute path and checksum of the data file or directory a new run reads (a
    built-in dataset or a missing path records nothing; loading then names the problem)."""
    from chainrule import data

    path = Path(config.data).expanduser()
    if dataset_key(config.data) or not path.exists():
        return
    data.check_file_kind(path)  # a pipe would be read up by the checksum, a device never end
    config.data_file, config.data_sha256 = str(path.resolve()), data_checksum(path)


def data_source(config: RunConfig, run_dir: Path | None = None) -> str:
    """What to load: the built-in name, or the pinned file once it is checked unchanged.

    ``run_dir``: the configuration is a saved run's (its run directory; None for a new run's,
    whose path is the user's own ``--data``). A run is a file anyone may hand over, so a path
    it records is read only where that discloses nothing: the pinned file by its checksum (a
    run can name only a file whose bytes it already holds the digest of), or a path without one
    (a run of a chainrule before checksums, or a model.json edited) only inside the run
    directory; anything else is refused, naming how to pass the data instead."""
    from chainrule import data

    if config.data_sha256 is not None and config.data_file is not None:
        path = Path(config.data_file)
        if not path.exists():
            raise DataError(f"{path}: the run's training data is missing (moved or deleted)")
        data.check_file_kind(path)  # a device (/dev/zero) would be hashed for ever
        changed = data_checksum(path) != config.data_sha256
        if changed and path.is_dir():  # a run of an older version hashed every file there
            changed = data_checksum(path, every_file=True) != config.data_sha256
        if changed:
            raise DataError(
                f"{path}: the run's training data has changed since it was trained "
                "(its sha256 differs)"
            )
        return str(path)
    if run_dir is None or dataset_key(config.data):
        return config.data
    path = Path(config.data).expanduser()
    found = run_dir / path  # an absolute path is itself
    if path.is_absolute() or not found.resolve().is_relative_to(run_dir.resolve()):
        where = "outside the run directory, where chainrule does not read a file a run names"
    elif not found.exists():  # an older run's path, as typed where it was trained
        where = f"not in the run directory ({found} does not exist), where it would be read"
    else:
        return str(found)
    inside = Path(os.path.normpath(found)).is_relative_to(os.path.normpath(run_dir))
    copy_to = found if inside and not path.is_absolute() else None  # by name: no link followed
    raise DataError(
        f"{run_dir}: the run records its training data as {config.data!r} with no sha256 to "
        f"check it against, and {where}; {_unpinned_data_advice(config.data, copy_to, run_dir)}"
    )


def _unpinned_data_advice(recorded: str, copy_to: Path | None, run_dir: Path) -> str:
    """What makes the command running (:func:`_running_command`) read a run's data that it
    records by a path without a checksum (:func:`data_source`): a copy of the file where that
    path lies inside the run directory (``copy_to``; None where the path leaves it), read as
    the run's data by every command; else the command's own option, which ``evaluate`` reads
    whole (not the run's split) and ``train --resume`` takes only as the run spells it; serve
    has none. From Python or another command: each command's way."""
    import shlex

    command = _running_command()
    relative = "" if Path(recorded).is_absolute() else ", from the directory it is relative to"
    ways = {
        "evaluate": "evaluate RUN --data FILE scores every row of FILE, not the run's own split",
        "train --resume": f"train --resume RUN --data {shlex.quote(recorded)} (the path as the "
        f"run records it{relative})",
    }
    own = ways.get(command)
    yourself = own if own is not None else "; ".join(ways.values()) + "; explain --input FILE"
    if copy_to is not None:
        link = " (a copy in place of the link)" if copy_to.is_symlink() else ""
        fix = (
            f"copy the data file to {copy_to}{link}: every command reads it there as the run's data"
        )
        if command == "serve":
            return f"{fix} (serve has no --data option)"
        return f"{fix}; or pass the data yourself: {yourself}"
    if command == "serve":
        return (
            "serve has no --data option and reads a run's unchecked data only inside its run "
            "directory: copy the data file there and write its name as meta.run.data in the "
            f"run's model.json ({run_dir / 'model' / 'model.json'})"
        )
    return f"pass the data yourself: {yourself}"


def _running_command() -> str:
    """The chainrule command this process is running, as the advice of its refusals names it
    ("evaluate", "serve", "train --resume", "explain"), from click's context (typer's own copy
    of click, or click itself for a typer before that copy): "" outside the command line (a
    library caller, the explorer's server answering a request)."""
    import sys

    for name in ("typer._click.globals", "click.globals"):  # only where already loaded
        module = sys.modules.get(name)
        context = module.get_current_context(silent=True) if module is not None else None
        if context is not None:
            if context.info_name == "train" and context.params.get("resume") is not None:
                return "train --resume"
            return context.info_name or ""
    return ""


def prepare(ds: Any, standardizer: Any, dtype: np.dtype) -> Any:
    """``ds`` in ``dtype``, its inputs scaled by ``standardizer`` (None: as they are) from the
    values as read (a CSV file's float64) and rounded to ``dtype`` only once scaled: what a
    run trains and is evaluated on, and what ``evaluate --data`` feeds a saved model."""
    if ds is None:
        return None
    out = ds.astype(dtype)
    if standardizer is not None:  # from the values as read, rounded to dtype only once scaled
        try:
            out.X = standardizer.transform(ds.X, dtype)
        except DataError as error:
            from chainrule.data.dataset import as_file_case

            raise DataError(f"{ds.name}: {as_file_case(error)}") from None
    return out


# -- network and optimizer ----------------------------------------------------------------------


def resolve_loss(config: RunConfig, ds: Any) -> str:
    """The loss name: the configured one, or for "auto" the natural one for the task."""
    if config.loss != "auto":
        if ds.task == "regression" and config.loss in ("cross-entropy", "binary-cross-entropy"):
            raise UserError(
                f"--loss {config.loss} needs classes; a regression's targets are real numbers "
                "(use mse or squared-error)"
            )
        if ds.task == "regression" and config.loss == "margin-squared-error":
            raise UserError(
                "--loss margin-squared-error scores outputs against 0/1 targets (on above 0.8, "
                "off below 0.2); --task regression's targets are real numbers (use mse or "
                "squared-error)"
            )
        return config.loss
    # a regression's loss is a mean over its cases, so the training, validation and test
    # losses of one run compare (the lecture's summed E grows with the number of cases)
    return {"classification": "cross-entropy", "multilabel": "binary-cross-entropy",
            "regression": "mse"}.get(ds.task, "squared-error")  # fmt: skip


def output_unit(loss_name: str, ds: Any) -> str | None:
    """Logits for the cross-entropies; logistic units under squared error unless regressing."""
    if loss_name in ("cross-entropy", "binary-cross-entropy") or ds.task == "regression":
        return None
    return "logistic"


def n_outputs(loss_name: str, ds: Any) -> int:
    """One output unit per class, except a single unit for two classes under BCE. Softmax
    cross-entropy needs two or more units: over one unit softmax is always 1 (the loss means
    nothing and every case looks right)."""
    if ds.task == "classification" and loss_name == "binary-cross-entropy":
        if ds.n_classes > 2:
            raise UserError(
                f"--loss binary-cross-entropy needs two classes; {ds.name} has {ds.n_classes} "
                "(use cross-entropy)"
            )
        return 1
    if loss_name == "cross-entropy" and ds.n_outputs < 2:
        raise UserError(
            f"--loss cross-entropy needs two or more output units (softmax over one unit is "
            f"always 1); {ds.name} has {ds.n_outputs} (use binary-cross-entropy or squared-error)"
        )
    return ds.n_outputs


def build(config: RunConfig, ds: Any) -> tuple[Any, Any, Any, Any]:
    """``(model, loss, optimizer, schedule)`` for ``config`` on a dataset shaped like ``ds``."""
    from chainrule import nn, optim

    loss_name = resolve_loss(config, ds)
    if ds.task == "classification" and loss_name == "mse":
        pass  # allowed: one-hot targets, like squared error
    loss = nn.loss_from_name(loss_name)
    if config.network == "family-trees":
        model = _family_tree_net(config, ds, loss)
    else:
        sizes = [ds.n_features, *config.hidden, n_outputs(loss_name, ds)]
        check_class_numbers(ds)
        check_network_size(sizes, ds)
        model = nn.mlp(sizes, activation=config.activation, output=output_unit(loss_name, ds),
                       dtype=np.dtype(config.dtype), init=config.init, rng=config.seed,
                       init_range=config.init_range)  # fmt: skip
        if ds.task == "regression":
            _start_at_the_mean(model, ds)
    optimizer = optim.from_name(config.optimizer, model.parameters(), **optimizer_settings(config))
    return model, loss, optimizer, _schedule(config, optimizer)


def optimizer_settings(config: RunConfig) -> dict[str, Any]:
    """The settings ``config``'s optimizer is made with: ``lr``, and each of
    :data:`OPTIMIZER_OPTIONS` that its class lists in its ``hyperparameters`` (its own word on
    what it takes), as the run recorded it, where it has one (a momentum of None was not
    given). The weight decay is always recorded: 0 is no decay, not the optimizer's default
    (:func:`resolve_config` filled that in where none was given)."""
    kind, _ = lookup(config.optimizer)
    settings: dict[str, Any] = {"lr": config.lr}
    for key in OPTIMIZER_OPTIONS:
        if key in kind.hyperparameters and getattr(config, key) is not None:
            settings[key] = getattr(config, key)
    return settings


def weight_decay_note(model_info: dict) -> str | None:
    """What to tell a user whose model's run trained with weight decay (or SGD's shrink), read
    from the optimizer settings (:func:`optimizer_settings`) of the run configuration its model
    file records (``model_info``, the info dict ``chainrule.io.load_model`` returns: its
    ``meta.run``), or None (no decay, or a model file that records no run): the derivatives
    ``chainrule explain --model RUN`` and the explorer (``serve --model RUN``) show are of the
    loss E alone, while each training step also decayed the weights and biases, which nothing
    said. One note for both."""
    meta = model_info.get("meta")
    run = meta.get("run") if isinstance(meta, dict) else None
    if not isinstance(run, dict):
        return None
    try:
        config = RunConfig.from_json(run)
        settings = optimizer_settings(config)
        kind, _ = lookup(config.optimizer)
    except (UserError, ValueError, KeyError, TypeError):  # a file the run's loader reads alone
        return None
    decay, shrink = settings.get("weight_decay") or 0.0, settings.get("shrink") or 0.0
    said = []
    if decay and getattr(kind, "decoupled", False):
        said.append(
            f"weight decay {decay:g} (--optimizer {config.optimizer}, decoupled): each step also "
            f"multiplied every weight and bias by 1 - lr·{decay:g}, apart from its gradient"
        )
    elif decay:
        said.append(
            f"weight decay {decay:g} (--optimizer {config.optimizer}, L2): each step added "
            f"{decay:g}·w to every dE/dw (and {decay:g}·b to every dE/db), as if E had "
            f"{decay / 2:g} times the sum of the squared weights and biases added"
        )
    if shrink:
        said.append(
            f"shrink {shrink:g}: each step then multiplied every weight and bias by {1 - shrink:g}"
        )
    if not said:
        return None
    return (
        f"The model's run trained with {'; and '.join(said)}. The gradients here are those of E, "
        "the loss of the data alone, as backprop computes them; the decay is not in them."
    )


def _optimizer_named(name: Any) -> tuple[type, dict[str, Any]] | None:
    """The optimizer class and settings ``name`` stands for (``optim.optimizers.lookup``), or
    None where the registry has no such name (:func:`validate` refuses it, naming them all)."""
    if name not in names():  # as --optimizer takes them: spelled as registered
        return None
    return lookup(name)


def _start_at_the_mean(model: Any, ds: Any) -> None:
    """A regression's linear output units start at the training targets' mean (their bias;
    the weights stay small and random), where a constant predictor would: targets far from 0
    (1000 + a spread of 2) took the whole run to reach from 0, and the default run ended
    worse than predicting the mean, silently."""
    if not len(ds):
        return
    top = model[len(model) - 1]
    if getattr(top, "bias", None) is not None:
        top.bias.data[...] = np.asarray(ds.y, dtype=np.float64).mean(axis=0)


def mean_predictor_loss(loss: Any, train: Any, test: Any) -> float | None:
    """The loss on ``test`` of a constant prediction, the training targets' mean: the baseline a
    regression must beat (None for a classification or an empty split)."""
    from chainrule.engine import no_grad
    from chainrule.tensor import Tensor

    if train.task != "regression" or not len(train) or not len(test):
        return None
    targets = np.asarray(test.y, dtype=np.float64)
    mean = np.broadcast_to(np.asarray(train.y, dtype=np.float64).mean(axis=0), targets.shape)
    with no_grad():
        return float(loss(Tensor(mean), Tensor(targets)).item())


def largest_class(test: Any) -> dict[str, Any] | None:
    """The class most of a classification's ``test`` cases have, and its share of them
    (``{"class": "ok", "share": 0.99}``, by the dataset's class name where it has them): the
    accuracy of a model predicting that class for every case, the baseline a classifier must
    beat, as :func:`mean_predictor_loss` is a regression's. None for another task (multilabel
    targets have no one class per case) or no cases."""
    if test.task != "classification" or not len(test):
        return None
    labels = np.asarray(test.y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        return None
    classes, counts = np.unique(labels, return_counts=True)
    label = classes[np.argmax(counts)]
    names = test.class_names
    whole = float(label).is_integer() and 0 <= label < len(names or ())
    name = names[int(label)] if whole else str(label.item())
    return {"class": name, "share": float(counts.max() / len(labels))}


def target_std(train: Any) -> list[float] | None:
    """The standard deviation of a regression's training targets, one per output (None for a
    classification or an empty split): what :func:`target_spread_advice` reads."""
    if train.task != "regression" or not len(train):
        return None
    targets = np.asarray(train.y, dtype=np.float64).reshape(len(train), -1)
    return [float(std) for std in targets.std(axis=0)]


#: How far (a factor, either way) a regression's targets' standard deviation may be from 1
#: before :func:`target_spread_advice` names it: targets are not scaled, and the network's
#: initial weights and the default --lr suit outputs of about unit spread (house prices of
#: standard deviation 1.2e5 trained no better than their mean; the same divided by 1e5 did).
FAR_SPREAD = 100.0


def target_spread_advice(stds: list[float] | None) -> str | None:
    """Why a regression hardly beats its mean, where its targets' spread is the likely cause
    (a standard deviation ``FAR_SPREAD`` times or more from 1, either way), and what to do: the
    factor of ten to divide (or multiply) the target column by, whose units the model then
    predicts in. None where every output's spread is near enough 1 (or none is known)."""
    spreads = [std for std in stds or () if np.isfinite(std) and std > 0]
    far = [std for std in spreads if not 1 / FAR_SPREAD < std < FAR_SPREAD]
    if not far:
        return None
    std = max(far, key=lambda value: abs(np.log10(value)))  # the farthest from 1
    power = int(np.round(np.log10(std)))
    scale = f"divide the target column by {10.0**power:g}" if power > 0 else (
        f"multiply the target column by {10.0**-power:g}")  # fmt: skip
    whose = "the targets'" if len(stds or ()) == 1 else "a target's"
    return (
        f"{whose} standard deviation is {std:.3g}, far from the 1 that the network's initial "
        f"weights and --lr suit (chainrule train does not scale targets): {scale} (the model "
        "then predicts in those units) and train again"
    )


def _family_tree_net(config: RunConfig, ds: Any, loss: Any) -> Any:
    from chainrule.train.family_trees import family_tree_net

    plain = "give --hidden for a plain network"
    if config.activation != "logistic":  # it was recorded, and the units stayed logistic
        raise UserError(
            f"--activation {config.activation}: the family-trees network is RHW's, of logistic "
            f"units ({plain})"
        )
    if loss.output_activation is not None:
        # its outputs are logistic units: a loss that applies its own squashed them twice
        raise UserError(
            f"--loss {loss.name} reads logits, but the family-trees network ends in logistic "
            f"units: use margin-squared-error or squared-error ({plain})"
        )
    if (ds.n_features, ds.n_outputs) != (36, 24):
        raise UserError(
            f"the family-trees network needs 36 inputs and 24 outputs; {ds.name} has "
            f"{ds.n_features} and {ds.n_outputs} (give --hidden for a plain network)"
        )
    return family_tree_net(config.seed, np.dtype(config.dtype), config.init_range)


#: Class numbers a run takes without asking: past this many, most of them must be in use.
SPARSE_CLASSES_FROM = 1000


def check_class_numbers(ds: Any) -> None:
    """Refuse integer labels that leave most of their class numbers unused (an id column of 0
    and 1000000 built a 1,000,001-way classifier and a 1.7 GB run, silently): a network has an
    output unit per class number. A CSV file's are pointed to a regression too (years)."""
    if ds.task != "classification" or ds.y.ndim != 1 or ds.n_classes <= SPARSE_CLASSES_FROM:
        return
    used = len(np.unique(ds.y))
    if used * 10 < ds.n_classes:
        from chainrule.data.csvfile import regression_hint

        source = _source(ds, labels=True)
        # a CSV file's whole-number measurements (years 1890..2008) read as classes too
        measured = f"; {regression_hint('measurements, not classes,')}" * is_table_file(source)
        raise UserError(
            f"the labels of {source} go up to {ds.n_classes - 1}, but only {used} of those "
            f"{ds.n_classes:,} class numbers appear, and the network would have an output unit "
            "for each; number the classes 0..k-1, or write them as names (text labels are "
            f"numbered in sorted order){measured}"
        )


def check_network_size(sizes: list[int], ds: Any) -> None:
    """Refuse, before allocating, a network with more than :data:`MAX_WEIGHTS` weights (say
    which of the data or --hidden makes it so large)."""
    weights = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if weights <= MAX_WEIGHTS:
        return
    hidden = f"hidden layers {sizes[1:-1]}" if len(sizes) > 2 else "no hidden layer"
    why = f"{sizes[0]} inputs, {hidden}, {sizes[-1]} outputs"
    if ds.task == "classification" and sizes[-1] > 1000:
        why += f" (the labels of {_source(ds, labels=True)} go up to {ds.n_classes - 1})"
    raise UserError(
        f"the network would have {weights:,} weights ({why}), over the limit of {MAX_WEIGHTS:,}"
    )


def _source(ds: Any, labels: bool = False) -> str:
    """The file a dataset came from, else its name (for messages); with ``labels``, an IDX
    directory's labels file rather than its images."""
    return str(ds.meta.get("path") or ds.meta.get("labels" if labels else "images") or ds.name)


def _schedule(config: RunConfig, optimizer: Any) -> Any:
    from chainrule import optim

    if config.schedule == "cosine":
        return optim.CosineLR(optimizer, total_epochs=config.epochs)
    if config.schedule == "family-trees":  # RHW 1986: eps .005, alpha .5 for 20 sweeps, then ...
        from chainrule.train.family_trees import RECIPES, warmup_schedule

        main = {"lr": config.lr, "momentum": 0.9 if config.momentum is None else config.momentum}
        return warmup_schedule(optimizer, RECIPES["default"].replace(**main))
    return None


# -- the run ------------------------------------------------------------------------------------

#: chainrule's environment variables a run records (null where unset): those that change its
#: arithmetic or memory (``backend.SETTINGS`` says what each does and takes).
RECORDED_SETTINGS = ("CHAINRULE_AXPY", "CHAINRULE_BLAS_THREADS", "CHAINRULE_MALLOC")


def environment() -> dict[str, Any]:
    """What a run's numbers depend on besides its configuration, recorded when it starts
    (``environment`` in run.json, and in model.json's and trainer.json's ``meta``; checked by
    :class:`chainrule.file_schemas.EnvironmentRecord`): the versions of chainrule, Python and
    NumPy, the platform, the BLAS NumPy computes with (:func:`numpy_blas`), chainrule's
    settings (:data:`RECORDED_SETTINGS`), the number of ranks that train together (1
    without mpiexec/srun; several add up their gradients in another order) and scikit-learn's
    version, whose copy of the digits a digits run reads (None: not installed). No path and no
    host name: a run directory is handed to others.

    >>> sorted(environment())  # doctest: +SKIP
    ['blas', 'chainrule', 'numpy', 'platform', 'python', 'ranks', 'scikit_learn', 'settings']
    """
    import platform
    import sys

    import chainrule
    from chainrule import distributed

    return {
        "chainrule": chainrule.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": f"{sys.platform}-{platform.machine()}",
        "blas": numpy_blas(),
        "settings": {name: os.environ.get(name) for name in RECORDED_SETTINGS},
        "ranks": distributed.world().size,
        "scikit_learn": _installed_version("scikit-learn"),
    }


def _installed_version(package: str) -> str | None:
    """``package``'s installed version, read from its metadata (no import), or None."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def numpy_blas() -> dict[str, Any]:
    """The BLAS NumPy computes with: its name and version as NumPy's build records them
    (``numpy.show_config``), and, where threadpoolctl (the [app] extra) finds that library
    loaded, the kernel it chose for this CPU and its threads. A part that cannot be told is
    None; the library's path is never given."""
    record: dict[str, Any] = {"name": None, "version": None, "architecture": None, "threads": None}
    try:  # NumPy 1.26 and later
        built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):
        built = {}
    record["name"], record["version"] = built.get("name"), built.get("version")
    pool = _numpy_blas_pool(record["version"])
    if pool is not None:
        record["name"] = record["name"] or pool.get("internal_api")
        record["version"] = record["version"] or pool.get("version")
        record["architecture"] = pool.get("architecture")
        threads = pool.get("num_threads")
        record["threads"] = threads if type(threads) is int and threads >= 1 else None
    # as text or None, whatever a build wrote: a record the file's schema refused would stop
    # the run at its first checkpoint
    for key in ("name", "version", "architecture"):
        record[key] = None if record[key] is None else str(record[key])
    return record


def _numpy_blas_pool(version: str | None) -> dict[str, Any] | None:
    """threadpoolctl's entry of NumPy's BLAS (another library's, PyTorch's MKL, may be loaded
    too): the one of NumPy's build's version, else the one NumPy's wheel bundles, else the only
    one; None where threadpoolctl is missing or cannot tell."""
    import warnings

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    with warnings.catch_warnings():  # its warning of two OpenMP libraries is no concern here
        warnings.simplefilter("ignore")
        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    package = os.path.dirname(np.__file__)
    for fits in (
        lambda pool: version is not None and pool.get("version") == version,
        lambda pool: str(pool.get("filepath", "")).startswith((package + os.sep, package + ".")),
        lambda pool: len(pools) == 1,
    ):
        found = next((pool for pool in pools if fits(pool)), None)
        if found is not None:
            return found
    return None


def claim_default_out(config: RunConfig, root: str | os.PathLike = "runs") -> Path:
    """Create and return ``runs/<dataset>-<YYYYmmdd-HHMMSS>``, or with a suffix -2, -3 ... if
    that exists. ``mkdir`` without ``exist_ok`` claims the name atomically, so two runs started
    in the same second never share (and clear) one directory."""
    name = _short(dataset_key(config.data) or Path(config.data).stem or "data")
    base = Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    base.parent.mkdir(parents=True, exist_ok=True)
    out, k = base, 1
    while True:
        try:
            out.mkdir()
            return out
        except FileExistsError:
            k += 1
            out = base.with_name(f"{base.name}-{k}")


#: The most bytes of a data file's name a default run folder's name keeps: with the time and a
#: suffix it stays under the 255 bytes a file name may have (a 254-byte name was "File name too
#: long", for a folder the user never named).
RUN_NAME_BYTES = 64


def _short(name: str) -> str:
    """``name`` cut to :data:`RUN_NAME_BYTES` of UTF-8, never inside a character."""
    return name.encode()[:RUN_NAME_BYTES].decode(errors="ignore")


def checkpoint_every(epochs: int) -> int:
    """Save every epoch on short runs, about 20 times on long ones (each save is fsynced)."""
    return max(1, epochs // 20)


def _input_width(architecture: Any) -> int | None:
    """How many input columns a module's config reads: a Linear's ``n_in``, a Parallel's
    widths summed, a Sequential's first layer that reads its inputs, past the units and
    Dropout (:data:`_SAME_WIDTH`), which take any width. None where it does not say: a module
    type of the user's own before the first Linear may take 6 columns and pass 4 on, so the
    Linear(4, 3) after it tells nothing of the model's inputs."""
    return _first_reader(architecture)[1]


#: Module types whose output has the width of their input (the units, Softmax, Dropout).
_SAME_WIDTH = frozenset(
    {"Logistic", "Sigmoid", "Tanh", "ReLU", "Identity", "Softmax", "LogSoftmax", "Dropout"}
)


def _first_reader(config: Any) -> tuple[bool, int | None]:
    """Whether a module's config reads its inputs' columns (False: it takes any width, a unit,
    Dropout or a Sequential of those), and how many where it tells (None: a type of the
    user's own, or a Sequential whose first reader is one)."""
    kind = config.get("type") if isinstance(config, dict) else None
    if kind in _SAME_WIDTH:
        return False, None
    if kind == "Linear":
        return True, int(config["n_in"])
    if kind == "Parallel":  # branches side by side, each on its own block of columns
        return True, int(sum(config["widths"]))
    for layer in config.get("layers", []) if kind == "Sequential" else []:
        reads, width = _first_reader(layer)
        if reads:  # the first layer that reads the inputs decides
            return True, width
    return kind != "Sequential", None


def _output_width(
    config: Any, width: int | None, problem: list[str] | None = None, where: str = ""
) -> int | None:
    """How many outputs a module's config computes from ``width`` input columns, as its
    forward computes them: a Linear's ``n_out``, a Sequential's last width-changing layer, a
    Parallel's branches' outputs side by side. None where it cannot be told (a module type of
    the user's own; a unit with no width before it; a Sequential ending in such a layer with no
    Linear after it, where :func:`model_widths` falls back to the last parameter; a Linear
    after it tells its own width, whatever came before). With ``problem``, the first
    layer fed another width than it takes is noted there (:func:`width_mismatch`), also past
    a layer whose width is unknown."""
    kind = config.get("type") if isinstance(config, dict) else None
    noting = problem is not None and not problem  # only the first mismatch is told
    if kind == "Linear":
        n_in, n_out = config.get("n_in"), config.get("n_out")
        if noting and isinstance(n_in, int) and width not in (None, n_in):
            problem.append(f"{where or 'the model'}, Linear({n_in}, {n_out}), gets {width} inputs")
        return n_out if isinstance(n_out, int) else None
    if kind in _SAME_WIDTH:
        return width
    if kind == "Sequential" and isinstance(config.get("layers"), list):
        # an unknown layer passes None on, and a Linear after it tells its n_out again
        for k, layer in enumerate(config["layers"]):
            inner = f"{where}.{k}" if where else f"layer {k}"
            width = _output_width(layer, width, problem, inner)
        return width
    if kind == "Parallel" and isinstance(config.get("widths"), list):
        widths, branches = config["widths"], config.get("branches") or []
        total = sum(w for w in widths if isinstance(w, int))
        if noting and width is not None and total != width:
            problem.append(f"{where or 'the model'}, Parallel{tuple(widths)}, gets {width} inputs")
        outputs = [
            _output_width(branch, w if isinstance(w, int) else None, problem, f"{where} branch {k}")
            for k, (w, branch) in enumerate(zip(widths, branches))
        ]
        return None if None in outputs else sum(outputs)
    return None


def width_mismatch(architecture: Any) -> str | None:
    """Where a module's config feeds a layer another width than it takes, as a phrase ("layer
    2, Linear(6, 2), gets 5 inputs"), or None. Only what the config tells is checked: after a
    module type of the user's own the width is unknown, and nothing is refused for it."""
    problem: list[str] = []
    _output_width(architecture, None, problem)
    return problem[0] if problem else None


def model_widths(model_info: dict) -> tuple[int | None, int] | None:
    """``(inputs, outputs)`` of a saved model (its ``model.json``), or None without weights.
    The inputs are None where the config does not tell them (:func:`told_input_width`). The
    outputs are counted as the model computes them (a Parallel at the end joins its branches'
    outputs); a module type of the user's own, whose width the config does not tell, leaves
    the last parameter's last axis as the guess."""
    shapes = list(model_info.get("parameters", {}).values())
    if not shapes:
        return None
    n_in, n_out = told_input_width(model_info), told_output_width(model_info)
    return n_in, (shapes[-1][-1] if n_out is None else n_out)


def told_input_width(model_info: dict) -> int | None:
    """The input columns of a saved model where its file tells them: the first layer that
    reads its inputs by position, past the units and Dropout, is a Linear or a Parallel (or a
    Sequential whose first such layer is); else its standardizer's width, which scales every
    row before the model sees it. None where neither tells: a module type of the user's own
    comes first, whose width, and first parameter's shape, would be a guess (a column
    selector that takes 6 columns and passes 4 on, before a Linear(4, 3)), and a reader takes
    a file's own width, for the model itself to say whether it runs on it."""
    width = _input_width(model_info.get("architecture"))
    scaler = model_info.get("standardizer")
    if width is None and isinstance(scaler, dict) and isinstance(scaler.get("mean"), list):
        width = len(scaler["mean"])
    return width


def told_output_width(model_info: dict) -> int | None:
    """The outputs of a saved model where its config tells them, as :func:`model_widths` counts
    them; None where that would be a guess (a module type of the user's own, no weights): a
    refusal must not rest on the guess (a custom head of several outputs whose last parameter
    is one number)."""
    architecture = model_info.get("architecture")
    return _output_width(architecture, _input_width(architecture))


def check_model_fits(model_info: dict, ds: Any, source: str) -> None:
    """Raise DataError unless ``ds`` has the inputs, and the label range or target columns, a
    saved model expects."""
    if not model_info.get("parameters"):  # no weights: nothing told (model_widths' None)
        return
    n_in, n_out = told_input_width(model_info), told_output_width(model_info)
    labels = _source(ds, labels=True)
    if n_in is not None and ds.n_features != n_in:  # else the model's forward says if it fits
        raise DataError(
            f"{_source(ds)}: {counted(ds.n_features, 'input feature')} but the "
            f"model {source} expects {n_in}"
        )
    if n_out is None:  # a head of the user's own: its width would be a guess, refused on
        return
    if ds.task == "classification" and n_out == 1 and ds.n_classes > 2:
        raise DataError(
            f"{labels}: labels go up to {ds.n_classes - 1} but the model {source} has one "
            "output unit (two classes, 0 and 1)"
        )
    if ds.task == "classification" and n_out > 1 and ds.n_classes > n_out:
        raise DataError(
            f"{labels}: labels go up to {ds.n_classes - 1} but the model {source} has "
            f"{n_out} output units (classes 0..{n_out - 1})"
        )
    if ds.task != "classification" and ds.n_outputs != n_out:  # one target per output unit
        raise DataError(
            f"{labels}: {ds.n_outputs} {ds.task} target column{'s' * (ds.n_outputs != 1)} but "
            f"the model {source} has {counted(n_out, 'output unit')}"
        )
