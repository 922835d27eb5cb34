# ruff: noqa: B008  (typer declares options as argument defaults)
"""``chainrule train``, ``chainrule evaluate`` and ``chainrule predict``.

``chainrule train`` with no options trains a logistic network on the built-in 8x8 digits and
reports its accuracy on held-out test cases; see docs/training.md for every option.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from chainrule.cli import refuse_overwriting
from chainrule.cli.app import (
    STDOUT,
    app,
    file_path_value,
    model_argument,
    model_option,
    one_model,
    one_of,
    path_value,
)
from chainrule.errors import DataError, ModelFileError, UserError, counted

if TYPE_CHECKING:  # NumPy loads when a command runs, not for --help
    import numpy as np

#: A long run prints a line and saves a checkpoint at least this often, whatever the epochs
#: (by count: a line every tenth of the run, a checkpoint every twentieth), so an interrupt
#: loses at most a minute of training.
CHECKPOINT_SECONDS = 60.0

#: The most epochs a run takes (--epochs): 200 times the longest preset's (symmetry's 5000); a
#: run of 10^20 epochs is a mistake, refused as --hidden's layer sizes over a million are.
#: history.json keeps a record of each epoch (about 160 bytes).
MAX_EPOCHS = 1_000_000

#: How the help names a default that depends on --data (docs/training.md has every preset's);
#: ``classic``: the classic problems' (xor, parity, symmetry, encoder, family-trees), which
#: the help left out (they were in docs/training.md alone)
BY_DATA = "depends on --data; {digits} for digits, {generic} for a CSV or IDX; {classic}"


@app.command(short_help="Train a network (by default on the digits) and save it.")
def train(
    ctx: typer.Context,
    data: str = typer.Option(
        None,
        "--data",
        metavar="NAME|PATH",
        show_default="digits",
        help="digits, xor, parity, symmetry, encoder, family-trees (or with sizes, as the "
        "summary names them: parity-6, encoder-4-2-4), a CSV file or an IDX directory",
    ),
    hidden: str = typer.Option(
        None,
        metavar="SIZES",
        show_default=BY_DATA.format(
            digits="128",
            generic="64",
            classic="3 for xor, 6 for parity, 2 for symmetry, 3 for encoder (encoder-N-H-N: H), "
            "6,12,6 for family-trees",
        ),
        help="hidden layer sizes, e.g. 64,32; none for no hidden layer (the inputs feed the "
        "output units: logistic, softmax or linear regression)",
    ),
    activation: str = typer.Option(
        None,
        metavar="NAME",
        show_default="logistic",
        help="hidden units: logistic (or sigmoid), tanh or relu",
    ),
    task: str = typer.Option(
        None,
        metavar="NAME",
        show_default="classification",
        help="what a CSV file's label column holds: classification (integer classes or class "
        "names) or regression (real numbers)",
    ),
    label_column: str = typer.Option(
        None,
        "--label-column",
        metavar="NAME|NUMBER",
        show_default="the last column",
        help="a CSV file's label column: its name in the header, or its number counted from 1 "
        "(-1 is the last); one column: several target columns (an autoencoder's) need the "
        "Python API (Dataset(X, y=Y, task='regression') and cr.train.fit)",
    ),
    delimiter: str = typer.Option(
        None,
        "--delimiter",
        metavar="CHARACTER",
        show_default="',' (tab for a .tsv file)",
        help="what separates a CSV file's columns: one character, such as ';', or tab",
    ),
    loss: str = typer.Option(
        None,
        metavar="NAME",
        show_default="depends on --data; cross-entropy for digits, a CSV or IDX and encoder, "
        "mse for --task regression; squared-error for xor and parity, binary-cross-entropy "
        "for symmetry, margin-squared-error for family-trees",
        help="squared-error, mse, cross-entropy, binary-cross-entropy or margin-squared-error",
    ),
    optimizer: str = typer.Option(
        None,
        metavar="NAME",
        show_default=BY_DATA.format(
            digits="adam",
            generic="adam",
            classic="momentum for the classic problems (xor, parity, symmetry, encoder, "
            "family-trees)",
        ),
        help="sgd, rmsprop, adam, adamw or momentum",
    ),
    lr: float = typer.Option(
        None,
        metavar="NUMBER",
        show_default=BY_DATA.format(
            digits="0.01",
            generic="0.003",
            classic="0.5 for xor, parity and encoder, 0.1 for symmetry, 0.07 for family-trees",
        )
        + ", each the dataset's own optimizer's (momentum for the classic problems); another "
        "--optimizer on xor, parity, symmetry or encoder trains at the rate measured for it "
        "there (docs/training.md); elsewhere at this one, which a note says: give --lr",
        help="learning rate (epsilon)",
    ),
    momentum: float = typer.Option(
        None,
        metavar="NUMBER",
        show_default="0.9 with --optimizer momentum, else none",
        help="momentum (alpha) for sgd/momentum/rmsprop",
    ),
    weight_decay: float = typer.Option(
        None,
        metavar="NUMBER",
        show_default="0; 0.01 for adamw, as PyTorch's AdamW",
        help="weight decay: decoupled (w *= 1 - lr * decay each step) for adamw, L2 (decay * w "
        "added to the gradient) for the others; of every parameter, biases too (as PyTorch's). "
        "It is in the step alone: every loss reported, and the one early stopping watches, is "
        "the data's, without decay/2 * sum w^2",
    ),
    epochs: int = typer.Option(
        None,
        min=1,
        max=MAX_EPOCHS,
        metavar="INTEGER",
        show_default=BY_DATA.format(
            digits="40",
            generic="20",
            classic="500 for xor, 2000 for parity, 5000 for symmetry, 3000 for family-trees, "
            "300 for encoder",
        ),
        help="number of epochs (sweeps) in all",
    ),
    batch_size: str = typer.Option(
        None,
        metavar="INTEGER|full",
        show_default=BY_DATA.format(
            digits="32", generic="32", classic="full for the classic problems"
        ),
        help="cases per mini-batch, or 'full'",
    ),
    seed: int = typer.Option(
        None,
        metavar="INTEGER",
        show_default="0",
        help="seed for the split, the weights and the shuffling",
    ),
    schedule: str = typer.Option(
        None,
        metavar="NAME",
        show_default="cosine for digits, family-trees for family-trees, else constant",
        help="learning-rate schedule: constant, cosine or family-trees (RHW's warm-up)",
    ),
    early_stopping: int = typer.Option(
        None,
        min=1,
        metavar="PATIENCE",
        show_default="off",
        help="stop after PATIENCE epochs without improvement of the validation loss (the "
        "training loss without a validation split; the data's alone, without --weight-decay's "
        "term); restores the best weights",
    ),
    out: Path = typer.Option(
        None,
        metavar="DIRECTORY",
        show_default="runs/<dataset>-<time>",
        parser=path_value,
        help="run directory",
    ),
    resume: Path = typer.Option(
        None, parser=path_value, help="continue from a checkpoint or run directory"
    ),
    dtype: str = typer.Option(
        None,
        metavar="NAME",
        show_default="float32; float64 for family-trees",
        help="float32 or float64",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
    json_output: bool = typer.Option(False, "--json", help="print a JSON summary on stdout"),
    explain: bool = typer.Option(
        None,
        "--explain/--no-explain",
        show_default="off; with --resume, as the run was trained",
        help="watch gradient health: per-layer gradient norms and the share "
        "of saturated units (slope f'(z) < 0.01: logistic y(1-y), tanh 1-y^2; relu units "
        "off on every case), plotted to gradient_health.png; "
        "recorded with the run, so --resume goes on watching (--no-explain stops)",
    ),
) -> int:
    """Train a network (by default: logistic units on the built-in digits) and save it."""
    from chainrule.train import runs

    activation, task, loss, optimizer, schedule, dtype = _choices_named(
        activation, task, loss, optimizer, schedule, dtype
    )
    options = {
        "data": data, "task": task, "hidden": runs.parse_hidden(hidden), "activation": activation,
        "loss": loss, "optimizer": optimizer, "lr": lr, "momentum": momentum,
        "weight_decay": weight_decay, "epochs": epochs, "seed": seed, "schedule": schedule,
        "early_stopping": early_stopping, "dtype": dtype,
        "label_column": runs.parse_label_column(label_column),
        "delimiter": runs.parse_delimiter(delimiter),
    }  # fmt: skip
    parsed_batch = runs.parse_batch_size(batch_size)
    if parsed_batch != "default":
        options["batch_size"] = parsed_batch
    # chainrule --import MODULE ...: recorded with the run, for the commands its hints print
    imports = list(ctx.find_root().params.get("imports") or ())
    if resume is not None:
        return _resume(resume, options, out, quiet, json_output, explain, imports)
    config = runs.resolve_config({**options, "explain": bool(explain)})  # recorded: resumed too
    config.imports = imports
    _note_a_warmup_that_overrides(config, options)
    _note_an_lr_of_another_optimizer(config, options)
    return _run(config, out, None, quiet, json_output, config.explain)


def _choices_named(
    activation: str | None,
    task: str | None,
    loss: str | None,
    optimizer: str | None,
    schedule: str | None,
    dtype: str | None,
) -> tuple[str | None, ...]:
    """train's choice options as their choices spell them, each matched in any case
    (:func:`~chainrule.cli.app.one_of`: ``--optimizer Adam`` was refused where ``--activation
    ReLU`` and ``--data XOR`` were taken), and refused in one wording naming the choices as the
    help lists them: the library's lists, whose registries a registered loss or optimizer
    joins. ``--activation``'s other names (sigmoid) are the unit's, as ``nn.activation`` takes
    them."""
    from chainrule.nn.activations import ACTIVATIONS as UNITS
    from chainrule.nn.losses import LOSSES
    from chainrule.optim.optimizers import names
    from chainrule.train import runs

    if activation is not None:
        unit = UNITS.get(activation.strip().casefold())
        if unit is not None and unit.name in runs.ACTIVATIONS:
            activation = unit.name
    return (
        one_of("--activation", activation, runs.ACTIVATIONS),
        one_of("--task", task, runs.TABLE_TASKS),
        one_of("--loss", loss, list(LOSSES)),
        one_of("--optimizer", optimizer, names()),
        one_of("--schedule", schedule, runs.SCHEDULES),
        one_of("--dtype", dtype, runs.DTYPES),
    )


def _note_an_lr_of_another_optimizer(config: Any, options: dict) -> None:
    """--optimizer without --lr trains at the rate measured for that optimizer on that dataset
    (``runs.measured_rate``: a classic problem's ``runs.PRESET_RATES``). Where none was measured
    (a CSV file or IDX directory, digits or family-trees with another optimizer than the
    preset's) it trains at the dataset's rate, chosen for the dataset's own optimizer (digits'
    0.01, adam's, went to momentum silently): said in a note naming the optimizer it was
    chosen for."""
    from chainrule.train.runs import GENERIC, PRESETS, dataset_key, measured_rate

    if options.get("optimizer") is None or options.get("lr") is not None:
        return
    if (
        measured_rate(config.data, config.optimizer, options.get("momentum")) is not None
        or not _prints_results()
    ):
        return
    key = dataset_key(config.data)
    own = PRESETS.get(key, GENERIC)["optimizer"]
    data = key or "a CSV or IDX"
    measured = config.optimizer  # one measured at the optimizer's own momentum is not this one's
    if measured_rate(config.data, config.optimizer) is not None:
        measured += f" with --momentum {options['momentum']:g}"
    print(f"note: no --lr given: {config.optimizer} trains at lr {config.lr:g}, the rate for "
          f"{data} with {own} (none was measured for {measured}), which may not suit "
          f"{config.optimizer}; give --lr", file=sys.stderr)  # fmt: skip


def _note_a_warmup_that_overrides(config: Any, options: dict) -> None:
    """The family-trees warm-up sets the learning rate and the momentum for its first sweeps:
    a run no longer than that trains without the --lr or --momentum given (silently, before)."""
    from chainrule.train.family_trees import RECIPES

    given = [f"--{name}" for name in ("lr", "momentum") if options.get(name) is not None]
    recipe = RECIPES["default"]  # the schedule's warm-up (runs._schedule)
    short = config.epochs <= recipe.warmup_sweeps
    if config.schedule == "family-trees" and given and short and _prints_results():
        print(f"note: --schedule family-trees trains its first {recipe.warmup_sweeps} epochs at "
              f"lr {recipe.warmup_lr} and momentum {recipe.warmup_momentum} (RHW 1986's "
              f"warm-up): these {config.epochs} use neither {' nor '.join(given)}",
              file=sys.stderr)  # fmt: skip


def _resume(
    path: Path,
    options: dict,
    out: Path | None,
    quiet: bool,
    json_output: bool,
    explain: bool | None,
    imports: list[str],
) -> int:
    from chainrule import distributed, io

    # the run's lock before its checkpoints are read: a run still training it writes them
    # (a resume then read a half-pruned directory and failed in ways that depended on timing)
    source = _run_dir_of(path) if distributed.world().is_main else None
    run = "" if source is None or source == path else f"its run {source} is "
    refusal = f"--resume {path}: {run}in use by another run; wait for it to end"
    with _run_dir_lock(source, refusal) if source else contextlib.nullcontext():
        checkpoint = distributed.world().on_root(io.load_checkpoint, path)  # rank 0 reads it
        if out is None or (source and out.resolve() == source.resolve()):
            # continued in its own directory: the lock is held on through the training
            return _resume_read(checkpoint, path, options, out, quiet, json_output, explain,
                                imports, held=source)  # fmt: skip
    return _resume_read(checkpoint, path, options, out, quiet, json_output, explain, imports)


def _run_dir_of(path: Path) -> Path | None:
    """The run directory ``--resume PATH`` names (the run itself, its checkpoints/ or one of
    its epoch folders), where it is one that exists, else None (a checkpoint folder of the
    user's own)."""
    for candidate, inner in ((path, path / "checkpoints"), (path.parent, path),
                             (path.parent.parent, path.parent)):  # fmt: skip
        if inner.name == "checkpoints" and inner.is_dir() and candidate.is_dir():
            return candidate
    return None


def _resume_read(
    checkpoint: Any,
    path: Path,
    options: dict,
    out: Path | None,
    quiet: bool,
    json_output: bool,
    explain: bool | None,
    imports: list[str],
    held: Path | None = None,
) -> int:
    """The resume of ``checkpoint``, read from ``path``; ``held``: the run directory whose
    lock this process holds already (a second ``flock`` of it would refuse the process).
    ``imports``: this process's ``--import`` modules, which the run records in place of its
    own where given (they read it now); none given, the run's are kept for its hints."""
    from chainrule import distributed
    from chainrule.train import runs
    from chainrule.train.trainer import stopped_early

    config = _stored_config(checkpoint)
    _check_unchanged(options, config, _loss_used(checkpoint))
    if imports:
        config.imports = list(imports)
    # a run trained with --explain goes on watching its gradient health (a resume without it
    # dropped the plot and the history, silently); --explain or --no-explain given changes
    # that from here on, and the configuration records it (None: not given)
    if explain is not None:
        config.explain = explain
    planned = config.epochs
    if options.get("epochs") is not None:
        config.epochs = options["epochs"]
        runs.validate(config)
    done = int(checkpoint["state"]["epoch"])
    stopped = stopped_early(checkpoint["state"])  # early stopping ended it: finished
    epoch_dir = Path(checkpoint["path"])
    run_dir = epoch_dir.parent.parent if epoch_dir.parent.name == "checkpoints" else None
    if out is not None and run_dir is not None and out.resolve() == run_dir.resolve():
        out = None  # --out naming the run's own directory: continue there
    if out is None and run_dir is None:
        raise UserError(
            f"--resume {path}: {epoch_dir} is not inside a run directory's checkpoints/; "
            "pass --out DIR to continue in a new run directory"
        )
    if out is None:  # it continues in run_dir, whose run.json it reads and writes again
        distributed.world().on_root(_refuse_a_newer_run, run_dir)
    finished = stopped or done >= config.epochs
    if (
        out is None
        and finished
        and distributed.world().on_root(_results_written, run_dir, epoch_dir, done)
    ):
        return _already_complete(run_dir, done, stopped, json_output)
    if config.epochs < done:
        raise UserError(
            f"--epochs {config.epochs}: {path} has already trained {done} epochs; "
            f"pass --epochs N with N >= {done}"
        )
    if config.schedule == "cosine" and config.epochs != planned and distributed.world().is_main:
        _note_stretched_cosine(config, planned, done)
    if distributed.world().is_main:
        _note_newer_checkpoints(run_dir if out is None else None, epoch_dir, done, finished)
    if out is None:  # before any epoch: nothing written through a link planted there
        distributed.world().on_root(_refuse_links_in, run_dir)
    # The checkpoint never chooses where to write: its own run directory, or a new --out.
    fresh_out = out is not None
    # the data path it records is a saved run's (runs.data_source: read by its checksum, or
    # inside the run); one given again with --data is the user's own, read as typed
    recorded_in = None if options.get("data") is not None else (run_dir or epoch_dir)
    target = out or run_dir
    held_already = held is not None and target.resolve() == held.resolve()
    return _run(config, target, checkpoint, quiet, json_output, config.explain,
                fresh_out, recorded_in, held_already)  # fmt: skip


def _refuse_links_in(run_dir: Path) -> None:
    """Refuse, naming it, a symbolic link where a resumed run writes in its own directory: the
    files and folders of :data:`_RUN_FILES` and the epoch folders in checkpoints/. A run
    directory may come from someone else, and a write through a link planted there
    (history.json -> a file of yours) would replace the file it names: the atomic writes
    follow links on purpose (``--out link.html`` writes the page the link names)."""
    checkpoints = run_dir / "checkpoints"
    paths = [run_dir / name for name in _RUN_FILES]
    if checkpoints.is_dir() and not checkpoints.is_symlink():
        paths += sorted(checkpoints.iterdir())
    for path in paths:
        if path.is_symlink():
            raise UserError(
                f"--resume: {path} is a symbolic link; a resumed run does not write through "
                "links in its run directory (put the file itself there, or continue in a new "
                "directory with --out DIR)"
            )
    for name in _RUN_FILES:  # before any epoch, not when the results are written
        path = run_dir / name
        folder = name in ("checkpoints", "model")
        if path.exists() and (path.is_dir() != folder):
            should = "a folder" if folder else "a file"
            raise UserError(
                f"--resume: {path} is not {should}, as a run writes it; move it away (or "
                "continue in a new directory with --out DIR)"
            )


def _refuse_a_newer_run(run_dir: Path) -> None:
    """Refuse, in one line naming it and the versions, to resume in ``run_dir`` where its
    run.json was written by a newer chainrule (a version past :data:`chainrule.io.RUN_VERSION`):
    this one would read its record and write it again in an older format. A run.json that is
    missing or cannot be read is an unfinished run's, which the resume writes again."""
    from chainrule import io
    from chainrule.file_schemas import check_version

    path = run_dir / "run.json"
    try:
        record = io.read_json(path)
    except ModelFileError:
        return
    check_version(record, path, io.RUN_VERSION, "run")


def _results_written(run_dir: Path, epoch_dir: Path, done: int) -> bool:
    """Whether ``run_dir`` holds the finished results of the checkpoint ``epoch_dir`` (``done``
    epochs): its ``run.json``, which a run writes last (see :func:`_finish`), records those
    epochs, and the checkpoint is the directory's latest. A run stopped while writing its
    results, or resumed from an earlier checkpoint, is not finished: resuming it writes them."""
    from chainrule import io

    try:
        record = io.read_json(run_dir / "run.json")
        latest = io.find_checkpoint(run_dir / "checkpoints")
    except (ModelFileError, OSError):
        return False
    same = latest.resolve() == epoch_dir.resolve()
    return same and isinstance(record, dict) and record.get("epochs") == done


def _note_newer_checkpoints(
    run_dir: Path | None, epoch_dir: Path, done: int, finished: bool
) -> None:
    """Say on stderr which epoch directories beside the one resumed were passed over for
    holding no trainer state, and which checkpoints of ``run_dir`` come after the one resumed
    (a run resumed from an earlier ``epoch-N/``): the resumed run replaces that later training,
    so they are removed when it saves its first checkpoint (with nothing to train, before it
    writes its results). Nothing said where there are none."""
    from chainrule import io

    # the epochs after the one resumed: run_dir's checkpoints/ is epoch_dir's folder
    newer = io.newer_checkpoints(epoch_dir.parent, done)
    for skipped in [] if newer else io.incomplete_checkpoints(epoch_dir.parent, done):
        print(f"note: {skipped} holds no {io.TRAINER_JSON} (an incomplete checkpoint): "
              f"resuming from {epoch_dir.name}, the latest complete one",
              file=sys.stderr)  # fmt: skip
    if run_dir is None or not newer:
        return
    names = ", ".join(d.name for d in newer)
    when = "before it writes its results" if finished else "when it saves its first checkpoint"
    print(f"note: resuming {run_dir} from epoch {done}: this run replaces its later checkpoints "
          f"({names}) and removes them {when}; --out DIR continues in a new directory instead",
          file=sys.stderr)  # fmt: skip


def _note_stretched_cosine(config: Any, planned: int, done: int) -> None:
    """Say on stderr that a cosine schedule is rebuilt for the new --epochs (the total): its
    learning rate at the resumed epoch is not the one the run had reached, a jump a user who
    extends a finished schedule would not expect."""
    from chainrule.optim.schedules import cosine_lr

    reached = cosine_lr(config.lr, 0.0, done, planned)
    now = cosine_lr(config.lr, 0.0, done, config.epochs)
    print(f"note: the cosine schedule now spans {config.epochs} epochs instead of {planned}: "
          f"the learning rate goes from {reached:.4g} to {now:.4g} at epoch {done + 1}",
          file=sys.stderr)  # fmt: skip


def _already_complete(run_dir: Path, done: int, stopped: bool, json_output: bool) -> int:
    """Nothing to train and the run's results are written: say so, change nothing. Exit 0, so
    a job script that resumes after a preemption may find its run already finished. A run
    that stopped early trains no further, whatever --epochs says. Under mpiexec/srun rank 0
    alone says it (so --json prints one run.json)."""
    from chainrule import distributed

    if not distributed.world().is_main:
        return 0
    _remove_checkpoint_leftovers(run_dir)  # under the run's lock (see _resume)
    trained = f"stopped early after {done} epochs" if stopped else f"{done} epochs trained"
    further = "" if stopped else f"; to train further pass --epochs N with N > {done}"
    print(f"chainrule: {run_dir} is already complete: {trained}, results in "
          f"{run_dir / 'run.json'}{further}", file=sys.stderr)  # fmt: skip
    if json_output:
        sys.stdout.write((run_dir / "run.json").read_text())
    return 0


def _stored_config(checkpoint: dict) -> Any:
    """The run configuration a checkpoint of ``chainrule train`` stored."""
    from chainrule.train import runs

    meta = checkpoint["state"].get("meta", {})
    trainer_json = Path(checkpoint["path"]) / "trainer.json"
    if meta.get("run") is None:
        raise ModelFileError(
            f"{trainer_json}: field 'meta.run' is missing (no run "
            "configuration: a checkpoint of the library's Trainer, resume it from Python)"
        )
    return runs.RunConfig.from_json(meta["run"], trainer_json)


def _loss_used(checkpoint: dict) -> str | None:
    """The name of the loss a checkpoint's run trains with (its model file records it)."""
    loss = checkpoint["model_info"].get("loss")
    return loss.get("type") if isinstance(loss, dict) else loss


def _same_file(key: str, given: Any, stored: dict) -> bool:
    """Whether ``--data`` names the file the run pinned, another way (./cls.csv, its absolute
    path): it was refused as a change."""
    pinned = stored.get("data_file")
    if key != "data" or not pinned or not isinstance(given, str):
        return False
    return Path(given).expanduser().resolve() == Path(pinned)


def _check_unchanged(options: dict, config: Any, loss_used: str | None) -> None:
    """Options given with --resume must equal the stored ones (only --epochs may change). A
    run whose --loss was left to its data ("auto") may be given the loss that chose."""
    stored = config.to_json()
    if stored.get("loss") == "auto" and loss_used is not None:
        stored["loss"] = loss_used
    given = {
        k: v for k, v in options.items() if k != "epochs" and (v is not None or k == "batch_size")
    }
    changed = [k for k, v in given.items() if v != stored.get(k) and not _same_file(k, v, stored)]
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        had = ", ".join(f"--{k.replace('_', '-')} {_shown(k, stored.get(k))}" for k in changed)
        raise UserError(
            f"{flags} cannot change when resuming (the run has {had}; only --epochs can)"
        )


def _shown(option: str, value: Any) -> str:
    """A stored option's value as one would type it (64,32, none for no hidden layer; full for
    a full batch)."""
    if option == "hidden" and isinstance(value, list):
        from chainrule.train.runs import hidden_shown

        return hidden_shown(value)
    if isinstance(value, list):
        return ",".join(map(str, value))
    if option == "delimiter" and value is not None:  # quoted: ";" read as the sentence's own
        from chainrule.train.runs import delimiter_shown

        return delimiter_shown(value)
    if value is None:
        return "full" if option == "batch_size" else "none"
    return str(value)


def _run(
    config: Any,
    out: Path | None,
    checkpoint: Any,
    quiet: bool,
    json_output: bool,
    explain: bool = False,
    fresh_out: bool = True,
    recorded_in: Path | None = None,
    locked: bool = False,
) -> int:
    """Train ``config``'s run into ``out``. ``recorded_in``: the configuration is a saved run's
    (resumed), whose directory is this; its data is read as :func:`runs.data_source` reads a
    saved run's. ``locked``: this process holds ``out``'s lock already (a resume takes it
    before it reads the checkpoints)."""
    from chainrule import distributed, io
    from chainrule.cli.app import Terminated
    from chainrule.files import prove_writable, restore_replaced
    from chainrule.train import EpochPrinter, Trainer, runs

    if fresh_out and out is not None:  # a taken --out before the data: a big file takes minutes
        distributed.world().on_every_rank(_refuse_taken_out, Path(out))
    if not quiet and distributed.world().is_main:
        _say_reading_a_big_file(config, recorded_in)
    # every mistake in the input surfaces before any file: under mpiexec/srun, on any rank
    # (rank 0 creates the run directory only once every rank has read its data)
    prepared, (model, loss, optimizer, schedule) = distributed.world().on_every_rank(
        _prepare, config, recorded_in
    )
    if fresh_out:  # a resumed run said so when it started
        _note_classes_that_never_occur(prepared.full, config.data)
        _note_suspect_columns(prepared.full, config.data)
    # under mpiexec/srun: one run, rank 0's directory; only rank 0 prints and writes
    main_rank = distributed.world().is_main
    out, created = _claim_out(config, out, fresh_out) if main_rank else (out, None)
    # a given --out (or the run resumed) is this process's until it ends: two runs started
    # with one --out wrote each other's checkpoints, and the loser's cleanup removed both
    with _run_dir_lock(out) if main_rank and not locked else contextlib.nullcontext():
        if main_rank:  # under the lock: what a killed write left is no other run's
            _remove_leftovers(out)  # (a folder holding only a writability check's is empty)
        if main_rank and not fresh_out:  # a model swap killed midway: the old model back
            restore_replaced(out / "model")
            _remove_checkpoint_leftovers(out)  # killed saves' (this resume may save none)
        if main_rank and fresh_out:  # under the lock: another run's first checkpoint,
            runs.check_new_run_dir(out)  # half written, is no leftover to remove
        if main_rank:  # a directory that was there (on a read-only mount): before any epoch
            prove_writable(out)
        out = distributed.world().broadcast_object(out)
        # what the numbers depend on besides the configuration, as the run starts: rank 0's on
        # every rank (the ranks compare their meta), written with every checkpoint and result
        environment = distributed.world().on_root(runs.environment)
        printer = EpochPrinter.over(config.epochs)
        callbacks = [] if quiet or not main_rank else [printer]
        health = None
        if explain:
            from chainrule.explainer.health import GradientHealth

            health = GradientHealth()
            callbacks.append(health)
        trainer = Trainer(
            model, loss, optimizer, batch_size=config.batch_size, seed=config.seed,
            schedule=schedule, early_stopping=config.early_stopping, callbacks=callbacks,
            checkpoint_dir=out / "checkpoints",
            checkpoint_every=runs.checkpoint_every(config.epochs),
            checkpoint_seconds=CHECKPOINT_SECONDS,
            progress=not quiet,
            meta={"run": config.to_json(), "environment": environment, **data_meta(prepared.full),
                  "split": split_record(prepared)},
            standardizer=prepared.standardizer, class_names=prepared.full.class_names,
        )  # fmt: skip
        if checkpoint is not None:
            trainer.load_state(checkpoint)
        # rank 0 writes the results alone after the fit: the other ranks wait for it in the
        # command (wait_for_root), where a stop signal stops them as it stops rank 0
        results_pending = False
        try:
            if main_rank:
                out.mkdir(parents=True, exist_ok=True)
            trainer.fit(prepared.train, prepared.val, epochs=config.epochs)
            if not main_rank:
                distributed.world().wait_for_root()  # raises rank 0's stop, if it stopped
                return 0
            results_pending = True
            if checkpoint is not None and not fresh_out and trainer.last_checkpoint is None:
                io.remove_newer_checkpoints(out / "checkpoints", trainer.epoch)  # none saved
            summary = _finish(trainer, prepared, config, out, health)
            results_pending = False
            distributed.world().wait_for_root()
        except KeyboardInterrupt as stop:
            terminated = isinstance(stop, Terminated)
            code, word = (143, "terminated") if terminated else (130, "interrupted")
            if results_pending:  # rank 0 stopped writing the results: every rank stops with it
                signum = signal.SIGTERM if terminated else signal.SIGINT
                distributed.world().wait_for_root(stop, signum)
            distributed.end_together_with(stop)  # every rank stopped at one step: no abort
            if not main_rank:
                return code
            if trainer.last_checkpoint is None and fresh_out:
                _discard(out, created)
            if trainer.last_checkpoint is None and checkpoint is None:
                print(f"chainrule: {word} before the first checkpoint; nothing saved",
                      file=sys.stderr)  # fmt: skip
            else:
                saved = trainer.last_checkpoint or checkpoint["path"]
                again = out if trainer.last_checkpoint is not None else saved
                print(f"chainrule: {word}; the last complete checkpoint is {saved}\n"
                      f"continue with: {_resume_command(again, config, explain)}",
                      file=sys.stderr)  # fmt: skip
            return code
        except BaseException as error:
            _name_what_was_written(error)
            if main_rank:
                _keep_checkpoints_or_discard(error, trainer, out, created, fresh_out, config,
                                             explain)  # fmt: skip
            raise
        _refuse_an_overflowing_test_loss(summary)
        _report(summary, quiet, json_output)
        return 0


#: A data file this large is named on stderr before it is read: a CSV file of 100 MB takes
#: seconds to read, and the command said nothing meanwhile (it looked hung)
BIG_DATA_BYTES = 32 * 2**20


def _say_reading_a_big_file(config: Any, recorded_in: Path | None) -> None:
    """``reading big.csv (143 MB)...`` on stderr, once, where the run's data is a file of at
    least :data:`BIG_DATA_BYTES` (the one :func:`runs.data_source` reads: a pinned file, else
    ``--data``, in a resumed run's directory where relative); nothing for a smaller file, a
    directory or a built-in dataset, or a path that is no file (the reading says why)."""
    from chainrule.train.runs import dataset_key

    pinned = config.data_sha256 is not None and config.data_file is not None
    if not pinned and dataset_key(config.data):
        return
    path = Path(config.data_file if pinned else config.data).expanduser()
    if recorded_in is not None and not pinned:
        path = recorded_in / path  # an absolute path is itself
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        return
    if size >= BIG_DATA_BYTES:
        shown = config.data if recorded_in is None else str(path)  # a new run: as typed
        print(f"reading {shown} ({_size_shown(size)})...", file=sys.stderr)


def _size_shown(size: int) -> str:
    """A file's size for a message: ``143 MB``, ``1.2 GB``, ``12 kB``, ``900 bytes``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    return f"{size} bytes"


def _prepare(config: Any, recorded_in: Path | None = None) -> tuple[Any, tuple[Any, Any, Any, Any]]:
    """The run's data (a saved run's, in ``recorded_in``, as :func:`runs.load_data` reads it),
    and the model, loss, optimizer and schedule built for it."""
    from chainrule.train import runs

    prepared = runs.load_data(config, run_dir=recorded_in)
    return prepared, runs.build(config, prepared.train)


def _note_classes_that_never_occur(dataset: Any, source: str) -> None:
    """A note where class numbers below the largest label never occur (labels 0 and 5, or 1..10
    numbered from 1): the model gets an output unit for each, trained only to stay off, and
    its accuracy and confusion matrix count classes the data never had. For a CSV file, whose
    whole-number measurements (ages, prices) read as classes too, it names --task regression."""
    import numpy as np

    from chainrule.data import is_table_file

    if dataset.task != "classification" or dataset.class_names is not None:
        return
    seen = np.unique(dataset.y)
    if len(seen) == dataset.n_classes or not _prints_results():
        return
    missing = sorted(set(range(dataset.n_classes)) - set(seen.tolist()))
    shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
    never = f"class {shown} never occurs" if len(missing) == 1 else f"classes {shown} never occur"
    from chainrule.data.csvfile import regression_hint

    measured = f"; {regression_hint('measurements, not classes,')}" * is_table_file(source)
    print(f"note: {dataset.name}: {never} among the labels, which hold "
          f"{len(seen)} classes; the model gets {dataset.n_classes} output units, one per "
          f"class 0..{dataset.n_classes - 1}: number the labels 0..{len(seen) - 1} unless "
          f"those classes are meant{measured}", file=sys.stderr)  # fmt: skip


def _note_suspect_columns(dataset: Any, source: str) -> None:
    """A warning for each input column of a new run's CSV file that looks like a row id (named
    id or index, or 1, 2, ..., n: :func:`~chainrule.data.csvfile.note_row_id_columns`), saying
    how to leave it out; its numbers were trained on as a measurement, silently. And one for
    input columns equal to the label column (:func:`~chainrule.data.csvfile.note_label_copies`):
    a file of inputs and targets (an autoencoder's) trained on its last target, copied."""
    from chainrule.data import is_table_file
    from chainrule.data.csvfile import note_label_copies, note_row_id_columns

    if is_table_file(source) and "label_column" in dataset.meta and _prints_results():
        note_row_id_columns(dataset)
        note_label_copies(dataset)


def _refuse_taken_out(out: Path) -> None:
    """Refuse a new run's ``--out`` that holds another run (rank 0's: the directory it writes),
    as :func:`runs.check_new_run_dir` does under the run's lock, which asks again."""
    from chainrule import distributed
    from chainrule.train import runs

    if not distributed.world().is_main:
        return
    refusal = runs.occupied_run_dir(out, _leftovers(out))  # (removed under the run's lock)
    if refusal is not None:
        raise UserError(refusal)


def _claim_out(config: Any, out: Path | None, fresh_out: bool) -> tuple[Path, Path | None]:
    """The run directory and the outermost directory this run creates (removed on failure):
    a default-named one is claimed atomically; a given new ``--out`` must be absent or empty."""
    from chainrule.train import runs

    if out is None:
        created = _first_missing(Path("runs"))
        try:
            out = runs.claim_default_out(config, "runs")
        except OSError as error:  # a read-only working directory: "runs: Permission denied"
            where = error.filename if error.filename is not None else "runs"
            with contextlib.suppress(OSError):  # a working directory that is gone
                where = os.path.abspath(where)
            raise UserError(
                f"cannot create the run directory {where} ({error.strerror or error}); give "
                "--out DIR to write the run elsewhere"
            ) from None
        return out, created or out
    out = Path(out)
    if out.is_symlink() and not out.exists():  # mkdir said "File exists"
        raise UserError(
            f"--out {out}: is a symbolic link to {os.readlink(out)}, which does not exist; "
            "give a directory"
        )
    if fresh_out and out.exists() and not out.is_dir():  # the rest is checked under the lock
        runs.check_new_run_dir(out)
    return out, _first_missing(out)


@contextlib.contextmanager
def _run_dir_lock(out: Path, refusal: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the run directory ``out`` (created if need be) while the run
    writes it, or refuse naming it: another run holds it (``refusal``: the words of that
    refusal, else ``--out OUT: in use by another run``). The lock (``flock`` on the
    directory) ends with the process, so a killed run leaves none behind; where the system has
    no ``flock`` (Windows), nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # it said "/nonexistent: Permission denied" of --out /nonexistent/x
        made = error.filename
        which = "" if made is None or Path(made) == out else f" {made}"
        raise UserError(f"--out {out}: cannot create{which} ({error.strerror or error})") from None
    handle = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            in_use = refusal or f"--out {out}: in use by another run; choose another directory"
            raise UserError(in_use) from None
        yield
    finally:
        os.close(handle)  # and with it the lock


def _first_missing(out: Path) -> Path | None:
    """The outermost directory of ``out``'s path that does not exist yet (a run creates it and
    so removes it again on failure: no empty ``runs/`` is left behind), or None."""
    missing = None
    for candidate in (out, *out.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _keep_checkpoints_or_discard(
    error: BaseException, trainer: Any, out: Path, created: Path | None, fresh_out: bool,
    config: Any, explain: bool = False,
) -> None:  # fmt: skip
    """After a run failed: keep its complete checkpoints, and say how to go on from the last,
    where it failed for a reason a resume can get past (the system's: a full disk, memory);
    else remove what a new run wrote, so no half-finished run directory is left behind. A run
    that diverged, or met a bug, would fail again from its checkpoints with the same settings;
    one whose output was closed (| head) was stopped by its reader. A resumed run removes
    nothing: the files of the run it extends are still that run's."""
    resumable = (
        trainer.last_checkpoint is not None
        and isinstance(error, (OSError, MemoryError))
        and not isinstance(error, BrokenPipeError)
    )
    if not resumable:
        if fresh_out:
            _discard(out, created)
        return
    if fresh_out:  # what a new run began to write after its last checkpoint (its model)
        for name in _RUN_FILES:
            if name != "checkpoints":
                _remove(out / name)
    elif io_model_complete(out / "model"):  # the run it extends keeps its model until then
        error.add_note(f"{out / 'model'} is still the model the run had before this resume")
    error.add_note(
        f"the last complete checkpoint is {trainer.last_checkpoint}; continue with: "
        f"{_resume_command(out, config, explain)}"
    )


def io_model_complete(model_dir: Path) -> bool:
    """Whether ``model_dir`` holds a model's two files (a loadable one: they are replaced only
    together, :func:`chainrule.files.replace_dir`)."""
    return (model_dir / "model.json").is_file() and (model_dir / "model.safetensors").is_file()


def _resume_command(path: Path, config: Any, explain: bool) -> str:
    """The command that continues a stopped run from ``path``: the options a resume does not
    read from the checkpoint too (--explain: without it the resumed run wrote no
    gradient_health.png, and said nothing)."""
    from chainrule import distributed
    from chainrule.launcher import launcher_name
    from chainrule.train.runs import command_line

    resume = f"train --resume {shlex.quote(str(path))} --epochs {config.epochs}"
    command = f"{command_line(config.imports)} {resume}"
    ranks = distributed.world().size
    if ranks > 1:  # as the run was launched (any number of ranks resumes it: docs/training.md)
        command = f"{launcher_name()} -n {ranks} {command}"
    return command + " --explain" if explain else command


def _discard(out: Path, created: Path | None) -> None:
    """Remove what a failed run wrote, so no half-finished run directory is left behind."""
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
    else:
        for name in _RUN_FILES:
            _remove(out / name)


def _remove(target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    elif target.exists():
        target.unlink()


#: What a run writes into its directory (removed again if the run fails before finishing).
_RUN_FILES = (
    "checkpoints", "model", "history.json", "curves.png", "gradient_health.png", "run.json",
)  # fmt: skip


def data_meta(dataset: Any) -> dict[str, Any]:
    """What a model records of the data it is trained on, for evaluate, predict and explain
    to check other data against: the pixel range its images were mapped from and their shape,
    the names of a CSV file's input columns. The final model/ and every checkpoint record it
    (a checkpoints/ folder or an epoch-N/ given as the model skipped those checks)."""
    meta: dict[str, Any] = {}
    if "pixel_range" in dataset.meta:  # images (IDX, digits): others are mapped from it
        meta["pixel_range"] = list(dataset.meta["pixel_range"])
        if "image_shape" in dataset.meta:  # and must have this shape (4x9 is no 6x6)
            meta["image_shape"] = list(dataset.meta["image_shape"])
    names = dataset.feature_names
    if names and "label_column" in dataset.meta:  # a CSV file's header: another file's
        meta["feature_names"] = list(names)  # columns are checked to be in this order
    if "label_column" in dataset.meta and len(dataset):  # a CSV file's
        import numpy as np

        # each input's range, which predict and evaluate name for a value far outside it
        X = np.asarray(dataset.X, dtype=np.float64)
        meta["input_range"] = {"min": X.min(axis=0).tolist(), "max": X.max(axis=0).tolist()}
        if names and isinstance(dataset.meta["label_column"], str):
            # the header's name for it: what predict calls a regression's predictions
            meta["label_column_name"] = dataset.meta["label_column"]
    return meta


#: A run's parts, as ``evaluate --part`` names them (the first two its own split's alone).
RUN_PARTS = ("train", "validation", "test")


def split_record(prepared: Any) -> dict[str, Any]:
    """What a run records of how it split its data (``meta["split"]`` of its model and every
    checkpoint), so that ``evaluate --part`` rebuilds that split, or refuses: each part's
    number of cases, and the sha256 of the rows each part took from the data as loaded (its
    ``meta["indices"]``; a part without them, an IDX directory's own test files, all of its
    rows in order). Rebuilding the split from the recorded seed and fractions alone could give
    other rows than the run trained on: chainrule's stratified split has changed before."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    record: dict[str, Any] = {}
    for name, part in zip(RUN_PARTS, (prepared.train, prepared.val, prepared.test)):
        n = 0 if part is None else len(part)
        rows = None if part is None else part.meta.get("indices")
        rows = np.arange(n) if rows is None else np.asarray(rows)
        digest.update(f"{name}:{n}:".encode())
        digest.update(rows.astype("<i8").tobytes())
        record[name] = n
    record["sha256"] = digest.hexdigest()
    return record


def _kept_epoch(trainer: Any) -> int:
    """The epoch whose weights a run keeps: the best one under early stopping, else the last."""
    return trainer.epoch if trainer.best_epoch is None else trainer.best_epoch


def _finish(
    trainer: Any, prepared: Any, config: Any, out: Path, health: Any = None
) -> dict[str, Any]:
    from chainrule import io
    from chainrule.files import replace_dir, staging_dir, strict_json
    from chainrule.train import evaluate, runs
    from chainrule.train.callbacks import summed_cases
    from chainrule.viz.curves import matplotlib_folder_in, plot_history

    test = evaluate(trainer.model, trainer.loss, prepared.test)
    summary = {
        # run.json's kind and version (a resume refuses a newer one: _refuse_a_newer_run),
        # also the version of the history.json beside it
        "format": io.RUN_FORMAT,
        "version": io.RUN_VERSION,
        "data": config.data,
        "dataset": prepared.full.name,
        "task": prepared.full.task,
        "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch,
        "stopped_early": trainer.stopped_early,
        "evaluated_on": prepared.evaluated_on,
        "test_cases": len(prepared.test),
        # the parts it trained and validated on (0: no validation split), and the weight
        # updates an epoch made (1 for full-batch sweeps); a run.json of an older version has
        # none of the three, and nothing that reads one needs them
        "train_cases": len(prepared.train),
        "validation_cases": 0 if prepared.val is None else len(prepared.val),
        "steps_per_epoch": trainer.batches_per_epoch,
        # the weight updates (the course's iterations) in all, and the one after which the
        # saved model's weights were taken: the best epoch's last under early stopping
        "steps": trainer.epoch * trainer.batches_per_epoch,
        "kept_step": _kept_epoch(trainer) * trainer.batches_per_epoch,
        "loss": runs.resolve_loss(config, prepared.full),  # config's may be "auto": this chose
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        # "saturation" and "saturation_units": each layer's share and unit (a relu layer's
        # share counts its dead units)
        **_saturation_if_unlearned(trainer.model, prepared, test["accuracy"]),
        # a regression's baseline: the loss of predicting the training targets' mean
        "mean_predictor_loss": runs.mean_predictor_loss(
            trainer.loss, prepared.train, prepared.test
        ),
        # and its training targets' spread, which a note names where it is far from 1
        "target_std": runs.target_std(prepared.train),
        # a classifier's baseline: the accuracy of predicting the largest class for every case
        "largest_class": runs.largest_class(prepared.test),
        "final": trainer.history.last,
        # the saved model's epoch: the best one under early stopping, else the last
        "kept": _record_of(trainer.history, trainer.best_epoch),
        "out": str(out),
        "model": str(out / "model"),
        "curves": str(out / "curves.png"),
        "history": str(out / "history.json"),
        "checkpoint": str(trainer.last_checkpoint) if trainer.last_checkpoint else None,
        "config": config.to_json(),
        "environment": trainer.meta.get("environment"),  # recorded when the run started
    }
    meta = strict_json({"run": config.to_json(), "environment": summary["environment"],
                        "dataset": prepared.full.name,
                        "task": prepared.full.task, "test_accuracy": test["accuracy"],
                        "test_loss": test["loss"], "epochs": trainer.epoch,
                        **data_meta(prepared.full), "split": split_record(prepared)})  # fmt: skip
    # the new model is written in full beside the old one, which stays until the new one
    # takes its name (a resume that fails, or is killed, leaves the run's model/ loadable)
    model_dir = out / "model"
    staging = staging_dir(model_dir)
    try:
        io.save_model(staging / "model", trainer.model, loss=trainer.loss,
                      standardizer=prepared.standardizer, class_names=prepared.full.class_names,
                      meta=meta)  # fmt: skip
        # run.json is the mark of a finished run (see _results_written): removed before the
        # results are replaced, and written last, so a run stopped in between is not finished
        (out / "run.json").unlink(missing_ok=True)
        replace_dir(staging / "model", model_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    io.atomic_write_bytes(out / "history.json", (trainer.history.to_json(indent=1) + "\n").encode())
    # matplotlib without a folder of its own to write (no home, MPLCONFIGDIR read-only) keeps
    # its cache in the run directory meanwhile: its import failed, and the run was lost
    with matplotlib_folder_in(out):
        if trainer.history.records:  # a resumed checkpoint's history may be empty (optional)
            cases = summed_cases(trainer)  # a summed loss (E) drawn per case: sets of two sizes
            plot_history(
                trainer.history, out / "curves.png", title=f"{prepared.full.name}", cases=cases
            )
        if health is not None:
            summary["gradient_health"] = health.plot(out / "gradient_health.png")
            summary["gradient_health_history"] = health.history
            # the last epoch's fall of the weights' gradient norms to the bottom layer
            summary["gradient_falloff"] = health.falloff()
    summary["notes"] = _summary_notes(summary)  # the summary's notes, for --json and run.json
    io.atomic_write_json(out / "run.json", strict_json(summary))
    _remove_leftovers(out)
    return summary


def cannot_write(option: str, path: str | os.PathLike, error: OSError) -> UserError:
    """The one line for a command's output file that could not be written (explain's, graph's
    and export's ``--out``, predict's ``--output``): the option, the file as given and the
    operating system's reason, ``--out e.html: cannot write (Read-only file system)``."""
    return UserError(f"{option} {os.fspath(path)}: cannot write ({error.strerror or error})")


def _name_what_was_written(error: BaseException) -> None:
    """Make an operating-system ``error`` (a full disk) that names a temporary file or folder
    of an atomic write (``run/checkpoints/.tmp-epoch-000001.o_ky7vs7/model.safetensors``) name
    what was being written instead (``run/checkpoints/epoch-000001``): the user's folder, not a
    random name that is gone once the write failed."""
    from chainrule.files import TMP_PREFIX

    filename = getattr(error, "filename", None) if isinstance(error, OSError) else None
    if not isinstance(filename, str):
        return
    parts = Path(filename).parts
    for index, part in enumerate(parts):
        if part.startswith(TMP_PREFIX) and "." in part[len(TMP_PREFIX) :]:
            written = part[len(TMP_PREFIX) :].rsplit(".", 1)[0]  # less tempfile's random part
            error.filename = str(Path(*parts[:index], written))
            return


def _remove_leftovers(out: Path) -> None:
    """Remove what writes of the run directory ``out`` killed midway left in it: the temporary
    files and folders of its results and of the writability check (exactly those names; the
    caller holds the directory's lock, so none is another run's write in progress)."""
    from chainrule import io

    for leftover in _leftovers(out):
        io._remove_temporary(leftover)


def _remove_checkpoint_leftovers(run_dir: Path) -> None:
    """Remove what a save or a removal of a checkpoint of the run directory ``run_dir``
    killed midway left in its ``checkpoints/`` (a ``.tmp-epoch-*`` folder, a complete epoch
    moved aside and not put back): the run's next save clears them
    (:func:`chainrule.io.save_checkpoint`), but a resume that finds nothing to train saves
    none, and they stayed for good. Its own ``checkpoints/`` alone, not a folder a link
    there names; the caller holds the run's lock, so none is another run's save in progress.
    A leftover that cannot go (a read-only mount) is no reason to fail."""
    from chainrule import io

    checkpoints = run_dir / "checkpoints"
    if checkpoints.is_dir() and not checkpoints.is_symlink():
        with contextlib.suppress(OSError):
            io._remove_stale_temporaries(checkpoints)


def _leftovers(out: Path) -> list[Path]:
    """The temporary files and folders that writes of the run directory ``out`` (its results,
    the writability check, matplotlib's cache while the plots are drawn) killed midway left in
    it."""
    from chainrule import io
    from chainrule.viz.curves import MATPLOTLIB_FOLDER

    names = [*_RUN_FILES, _PROBE, MATPLOTLIB_FOLDER]
    return list(io._staging_leftovers(out, names)) if out.is_dir() else []


#: The folder :func:`chainrule.files.prove_writable` makes and removes in a run directory.
_PROBE = "probe"


def _record_of(history: Any, epoch: int | None) -> dict[str, Any] | None:
    """``history``'s record of ``epoch`` (the last record where ``epoch`` is None or has none:
    a resumed checkpoint's history may start after it)."""
    found = [record for record in history.records if record.get("epoch") == epoch]
    return found[-1] if epoch is not None and found else history.last


def _refuse_an_overflowing_test_loss(summary: dict[str, Any]) -> None:
    """A run whose test loss is NaN or infinite (the network's numbers overflow its dtype on
    some test cases) ends with an error after it is saved: it printed a test accuracy in which
    those cases counted as class 0, and exited 0."""
    loss = summary["test_loss"]
    if loss is not None and not math.isfinite(loss):
        raise DataError(
            f"the run is saved in {summary['out']}, but its loss on the {summary['evaluated_on']} "
            f"cases is {loss}: the network's numbers overflow {summary['config']['dtype']} on "
            "some of them; retrain with --dtype float64, a smaller --lr, or rescaled data"
        )


#: A regression whose test loss is at least this share of a constant predictor's (the
#: training targets' mean) has learnt next to nothing: the summary says so.
HARDLY_BETTER = 0.9
#: A classifier whose test accuracy gets fewer than this share of the cases right that the
#: largest class's share leaves (99.0% of one class: 99.25%) is not clearly better than
#: predicting that class for every case: the summary says so (a 99% accuracy on a 1%-positive
#: file may find no positive at all).
CLEARLY_ABOVE = 0.25


def _report(summary: dict[str, Any], quiet: bool, json_output: bool) -> None:
    from chainrule.files import strict_json
    from chainrule.train.runs import command_line

    if json_output:
        print(json.dumps(strict_json(summary), indent=2, allow_nan=False))
        for note in summary["notes"]:  # its "notes" too, where a person watching sees them
            print(f"note: {note}", file=sys.stderr)
        return
    accuracy = summary["test_accuracy"]
    held_out = summary["evaluated_on"] == "test"
    # a classic problem is judged on the cases it learns: not a "test" accuracy; a regression
    # (no accuracy) by its loss
    measure = "accuracy" if accuracy is not None else "loss"
    where = (f"test {measure} {{}} on {summary['test_cases']} held-out test cases" if held_out
             else f"{measure} {{}} on all {summary['test_cases']} training cases")  # fmt: skip
    score = f"{accuracy:.2%}" if accuracy is not None else f"{summary['test_loss']:.4g}"
    epochs = counted(summary["epochs"], "epoch")
    print(f"{summary['dataset']}: {where.format(score)} after {epochs}{_best_kept(summary)}")
    for note in summary["notes"]:
        print(f"note: {note}")
    print(f"steps:  {_steps_words(summary)}")
    print(f"model:  {summary['model']}")
    print(f"curves: {summary['curves']}")
    if "gradient_health" in summary:
        last = summary["gradient_health_history"][-1] if summary["gradient_health_history"] else {}
        saturated = ", ".join(f"layer {k}: {v:.0%}" for k, v in last.get("saturation", {}).items())
        dead = " (a relu layer's: its units off on every case)" * (
            summary["config"].get("activation") == "relu"
        )
        notes = [f"saturated units at the end{dead}: {saturated}"] if saturated else []
        if _vanishing(summary):  # before the shares, which a deep net's list makes long
            from chainrule.explainer.health import falloff_words

            notes.insert(0, f"vanishing: {falloff_words(summary['gradient_falloff'])}")
        note = f" ({'; '.join(notes)})" if notes else ""
        print(f"gradient health: {summary['gradient_health']}{note}")
    run_dir, case = shlex.quote(summary["out"]), "held-out" if held_out else "training"
    chainrule = command_line(summary["config"].get("imports") or ())  # its --import modules
    print(f"next:   {chainrule} explain --model {run_dir} --case 0 (backprop through one "
          f"{case} case, with its numbers); {chainrule} serve --model {run_dir} (the "
          "explorer)")  # fmt: skip


#: The share of saturated units in every saturating layer (health.SATURATING: logistic, tanh)
#: from which a classic problem
#: left unlearned is put down to saturation rather than to a local minimum: a --lr far too large
#: saturates them all (xor at --lr 50: 100% and 100%); a local minimum can hold one of two hidden
#: units there (xor --hidden 2 --seed 0: 50% and 0%), which a smaller --lr does not get out of.
#: A relu layer's share (its dead units) is no part of the rule: at --lr 50, xor's relu layer
#: had 67% dead and its logistic output 100% saturated, and the note blamed a local minimum.
MOSTLY_SATURATED = 0.9


def _saturation_if_unlearned(model: Any, prepared: Any, accuracy: float | None) -> dict:
    """The summary's ``saturation`` (each measured layer's share, health.measured_layers, on
    the training cases) and ``saturation_units`` (each layer's unit, which says what its share
    counts: saturated units, or a relu layer's dead ones), for a classic problem (judged on its
    own cases) not all learned; else both None. A --lr far too large (xor at --lr 50) drives
    every unit to 0 or 1, where its slope y(1 - y) is about 0 and backprop moves nothing: the
    note blamed a local minimum and advised training longer."""
    nothing = {"saturation": None, "saturation_units": None}
    if prepared.evaluated_on == "test" or accuracy is None or accuracy == 1:
        return nothing
    from chainrule.explainer.health import PROBE_CASES, measured_layers
    from chainrule.explainer.network import ExplainError

    try:  # on as many cases as the gradient-health callback probes
        measured = measured_layers(model, prepared.train.X[:PROBE_CASES])
    except ExplainError:  # a model explain cannot read: no shares, the plain note
        return nothing
    return {
        "saturation": {number: share for number, _, share in measured},
        "saturation_units": {number: unit for number, unit, _ in measured},
    }


def _summary_notes(summary: dict[str, Any]) -> list[str]:
    """The notes on a run's result (``notes`` in ``run.json`` and ``--json``; the summary prints
    each as ``note: ...`` under its first line, ``--json`` on stderr): a regression hardly
    better than predicting the training targets' mean (naming their spread where it is far
    from 1, :func:`runs.target_spread_advice`); a classic problem (judged on its own
    cases) not all learned; a classifier hardly more accurate on its test cases than
    predicting its largest class for every case (:func:`runs.largest_class`)."""
    from chainrule.train import runs

    notes = []
    baseline = summary.get("mean_predictor_loss")
    if baseline is not None and summary["test_loss"] >= HARDLY_BETTER * baseline:
        than = "worse than" if summary["test_loss"] > baseline else "hardly better than"
        # targets of a spread far from 1 are the likely cause (the CLI does not scale them)
        advice = runs.target_spread_advice(summary.get("target_std")) or (
            "train longer (--epochs), with another --lr, or on rescaled targets"
        )
        notes.append(
            f"{than} predicting the training targets' mean (loss {baseline:.4g}); {advice}"
        )
    accuracy = summary["test_accuracy"]
    if summary["evaluated_on"] != "test" and accuracy is not None and accuracy < 1:
        notes.append(_unlearned_note(summary))
    largest = summary.get("largest_class")
    if summary["evaluated_on"] == "test" and largest is not None and accuracy is not None:
        share = largest["share"]
        if accuracy < share + CLEARLY_ABOVE * (1 - share):
            notes.append(_largest_class_note(summary, largest["class"], share, accuracy))
    return notes


def _largest_class_note(summary: dict[str, Any], name: str, share: float, accuracy: float) -> str:
    """The note on a classifier not clearly more accurate than predicting its largest class
    for every case (``share`` of the test cases are of class ``name``): accuracy says nothing
    of the smaller classes, ``chainrule evaluate``'s per-class recall does."""
    from chainrule.train.runs import command_line

    than = "worse than" if accuracy < share else "hardly better than"
    if math.isclose(accuracy, share):
        than = "no better than"
    chainrule = command_line(summary["config"].get("imports") or ())
    return (
        f"{than} a model predicting {name!r} for every case, which scores {share:.1%} on these "
        f"test cases ({name!r} is the largest class): accuracy hides how the other classes "
        f"fare; see each class's recall with {chainrule} evaluate {shlex.quote(summary['out'])}"
    )


#: The classic problems no network without a hidden layer can learn: no line (plane) through
#: their cases separates the classes (the encoder's one-hot cases are separable)
LINEARLY_INSEPARABLE = frozenset({"xor", "parity", "symmetry"})


def _linearly_inseparable(data: str) -> bool:
    """Whether the run's classic problem is one of :data:`LINEARLY_INSEPARABLE`, by its name
    with or without a size ("parity-6", "symmetry-4"); of one bit, none is (parity-1 is the
    bit itself)."""
    name, _, size = data.partition("-")
    return name in LINEARLY_INSEPARABLE and size != "1"


def _unlearned_note(summary: dict[str, Any]) -> str:
    """The note on a classic problem whose cases are not all learned. Unsaturated units do not
    tell a local minimum (xor --hidden 2 --seed 0: 2 of 4 cases at 800 epochs and at 5000)
    from a plateau that more epochs pass (symmetry's seeds 1, 3, 4 and 6-9 at 3000 sweeps, each
    learned by its sweep 4137): the note names both. Units mostly saturated, or (under
    --explain) weights' gradient norms that fall by :data:`~chainrule.explainer.health.VANISHING`
    or more from the top layer to the bottom (20 hidden layers of 3 logistic units: 2.8e-16 at
    layer 1 against 1.7e-9 at layer 20, with 0% saturated), are named instead, with what to do."""
    from chainrule.explainer.health import SATURATING, SATURATION, SWITCHING, falloff_words

    cases = summary["test_cases"]
    config = summary["config"]
    if not config.get("hidden") and _linearly_inseparable(str(config.get("data"))):
        # no hidden layer: one layer of weights draws one line (plane) through the cases, and
        # xor, parity and symmetry are no such problems; no seed or epoch count changes that
        return (f"the net has not learned all {cases} cases, and no net without a hidden layer "
                "can: its one layer of weights separates the cases by a single line (plane), "
                "which no setting of them puts between these classes; train with hidden units "
                "(leave --hidden out for the dataset's preset)")  # fmt: skip
    shares = summary.get("saturation") or {}
    units = summary.get("saturation_units") or {}
    saturating = {n: share for n, share in shares.items() if units.get(n) in SATURATING}
    dead = {n: share for n, share in shares.items() if units.get(n) in SWITCHING and share > 0}
    saturated = bool(saturating) and min(saturating.values()) >= MOSTLY_SATURATED
    # no saturating layer measured (relu hidden units under a softmax top): a layer of units
    # dead on every case is what a --lr too large leaves (encoder --activation relu --lr 50)
    all_dead = not saturating and bool(dead) and max(dead.values()) >= MOSTLY_SATURATED
    if all_dead:
        layers = ", ".join(f"layer {n} {share:.0%}" for n, share in dead.items())
        return (f"the net has not learned all {cases} cases, and its relu units are dead, off "
                f"on every case ({layers}): no case moves their weights; a --lr too large (this "
                f"run's is {config['lr']:g}) drives units there: train again with a smaller "
                "--lr, or another --seed")  # fmt: skip
    if not saturated and _vanishing(summary):  # a deep net's lower layers left behind
        unit = config.get("activation") or "logistic"
        scales = ("by its weights and by y(1 - y), at most 0.25" if unit == "logistic"
                  else f"by its weights and by its {unit} units' slopes")  # fmt: skip
        other = " or ".join(a for a in ("tanh", "relu") if a != unit)
        return (f"the net has not learned all {cases} cases, and its gradients vanish on the "
                f"way down: {falloff_words(summary['gradient_falloff'])}, so the lower layers "
                f"hardly move (each {unit} layer scales the gradient it passes down {scales}); "
                f"train again with fewer hidden layers (--hidden), with --activation {other}, "
                "or, in Python, with another initialisation (nn.init)")  # fmt: skip
    if not saturated:
        return (f"the net has not learned all {cases} cases (it may be stuck in a local minimum, "
                "or on a plateau that more --epochs may pass): train again with another --seed, "
                "or longer (more --epochs)")  # fmt: skip
    layers = ", ".join(f"layer {layer} {share:.0%}" for layer, share in saturating.items())
    kinds = list(dict.fromkeys(units[n] for n in saturating))  # in the layers' order
    slopes = ", ".join(_SATURATED_Y[kind] for kind in kinds)
    which = f"{' and '.join(kinds)} units" if dead else "units"  # the relu ones are not
    return (
        f"the net has not learned all {cases} cases, and its {which} are saturated "
        f"({layers}; slope f'(z) < {SATURATION}: {slopes}; backprop, which scales by that "
        f"slope, hardly moves their weights){_dead_words(dead, units)}; a --lr too large (this "
        f"run's is {summary['config']['lr']:g}) drives units there: train again with a smaller "
        "--lr, or another --seed"
    )


#: Where a saturating unit's slope f'(z) is below health.SATURATION, in the unlearned note
_SATURATED_Y = {"logistic": "a logistic y near 0 or 1", "tanh": "a tanh y near -1 or 1"}


def _dead_words(dead: dict[str, float], units: dict[str, str]) -> str:
    """The unlearned note's fact on layers with dead units (relu units off on every training
    case: their slope is 0 whatever z's size, so that no case moves their weights), beside the
    saturated ones; "" for none."""
    if not dead:
        return ""
    layers = ", ".join(f"layer {n} {share:.0%}" for n, share in dead.items())
    kinds = " and ".join(dict.fromkeys(units[n] for n in dead))
    return f", and some {kinds} units are dead, off on every case ({layers})"


def _vanishing(summary: dict[str, Any]) -> bool:
    """Whether the run's gradient health (--explain) saw the weights' gradient norms fall from
    the top layer to the bottom by :data:`~chainrule.explainer.health.VANISHING` or more."""
    from chainrule.explainer.health import VANISHING

    falloff = summary.get("gradient_falloff")
    return bool(falloff) and falloff["ratio"] >= VANISHING


def _steps_words(summary: dict[str, Any]) -> str:
    """The summary's weight updates (the course counts these, its iterations; the epochs are
    sweeps through the training cases): in all and per epoch, and where early stopping kept an
    earlier epoch's weights, the update after which they were taken."""
    steps, kept = summary["steps"], summary["kept_step"]
    words = (f"{counted(steps, 'weight update')} (iterations) in all, "
             f"{summary['steps_per_epoch']} per epoch")  # fmt: skip
    if kept != steps:
        words += (
            f"; the model kept has the weights after update {kept} (epoch {summary['best_epoch']})"
        )
    return words


def _best_kept(summary: dict[str, Any]) -> str:
    """What the summary line adds where the model and its score are not the last epoch's:
    early stopping kept the best epoch's weights (the line said "after 8 epochs" of the
    model of epoch 6)."""
    best, stopped = summary.get("best_epoch"), summary.get("stopped_early")
    if best is None or best == summary["epochs"]:
        return ""
    return f" ({'stopped early; ' if stopped else ''}the best epoch, {best}, kept)"


# -- evaluate -------------------------------------------------------------------------------------


def _model_dir(path: Path) -> Path:
    """A run directory stands for its trained model (as it does for ``io.load_model``); one
    whose training has not finished (no model/ yet, checkpoints) is refused naming its
    checkpoints/, which stand for their latest epoch."""
    from chainrule import io

    model_dir = io._run_model_dir(path)
    if model_dir is not None:
        return model_dir
    if path.is_dir() and not (path / "model.json").exists():
        try:
            latest = io.find_checkpoint(path / "checkpoints")
        except (ModelFileError, OSError):
            return path
        raise UserError(
            f"{path}: has no model/ (its training did not finish); give "
            f"{shlex.quote(str(path / 'checkpoints'))} for its latest checkpoint "
            f"({latest.name}), or finish it with chainrule train --resume "
            f"{shlex.quote(str(path))}"
        )
    return path


def model_files_kept(path: Path) -> dict[str, Path]:
    """The files ``load_model`` reads for the model ``path`` names (a run directory, a model
    file, a checkpoints/ folder's latest epoch), as :func:`refuse_overwriting` takes them: a
    command's output file must not be written over them. So must not a run directory's own
    files, nor the training data file its model records (which ``--case`` reads, and whose
    checksum evaluate and --resume check)."""
    from chainrule import io

    model_dir = _model_dir(path)
    kept = {f"model's {file.name}": file for file in io.model_files(model_dir)}
    if (model_dir.parent / "run.json").is_file():
        for name in _RUN_FILES:
            kept[f"run's {name}"] = model_dir.parent / name
    data_file = _recorded_data_file(model_dir)
    if data_file is not None:
        kept["run's training data"] = data_file
    return kept


def _recorded_data_file(model_dir: Path) -> Path | None:
    """The data file a saved run's model.json records, if it records one (a model file that
    cannot be read is left to the loading that follows, which names what is wrong)."""
    from chainrule import io

    try:
        info = io.read_json(model_dir / "model.json")
        recorded = info["meta"]["run"]["data_file"]
    except (ModelFileError, OSError, KeyError, TypeError):
        return None
    return Path(recorded) if isinstance(recorded, str) else None


def load_trained(path: Path) -> tuple[Any, dict, Any]:
    """(model, model.json's info, loss object or None) of a saved model, a run directory or a
    checkpoint; None too for a checkpoint of a run whose loss was the user's own function,
    which no file can rebuild (:func:`trained_user_loss` names it): predict needs only the
    model."""
    from chainrule import io

    model_dir = _model_dir(path)
    model, info = io.load_model(model_dir)
    note_an_unfinished_resume(model_dir, info)
    if trained_user_loss(path, info) is not None:
        return model, info, None
    return model, info, io.saved_loss(info, path)


def note_an_unfinished_resume(model_dir: Path, info: dict | None = None) -> None:
    """Say on stderr (one line) where the run directory whose ``model/`` is ``model_dir`` has
    checkpoints of later epochs than that model (``info``, its model.json, read here if not
    given, records its epochs): a resume of it was stopped (killed, a full disk) before it
    wrote its results, and the numbers are the model's from before it. Nothing said for a
    finished run, a model outside a run directory (a checkpoint) or one that records no
    epochs."""
    from chainrule import io
    from chainrule.train.runs import command_line

    if model_dir.name != io.RUN_MODEL_DIR or not _prints_results():
        return
    if info is None:
        info = io.read_model_description(model_dir / io.MODEL_JSON)
    epochs = info.get("meta", {}).get("epochs") if isinstance(info.get("meta"), dict) else None
    checkpoints = model_dir.parent / "checkpoints"
    if not isinstance(epochs, int):
        return
    try:
        newer = io.newer_checkpoints(checkpoints, epochs) if checkpoints.is_dir() else []
    except OSError:  # checkpoints/ that cannot be read: nothing to tell
        return
    if not newer:
        return
    run_dir = model_dir.parent
    run = info["meta"].get("run")
    imports = run.get("imports") if isinstance(run, dict) else None
    latest = int(newer[-1].name.rsplit("-", 1)[-1])
    print(f"note: {run_dir}: its training did not finish: its checkpoints reach epoch {latest}, "
          f"past its model/ of epoch {epochs}, which this uses; finish it with "
          f"{command_line(imports or ())} train --resume {shlex.quote(str(run_dir))}, or give "
          f"{shlex.quote(str(checkpoints))} for its latest checkpoint",
          file=sys.stderr)  # fmt: skip


def no_loss(function: str | None) -> str:
    """Why a model gives no loss object, for a command that needs one: its file names none,
    or its run's loss was the user's own ``function`` (:func:`trained_user_loss`'s words)."""
    if function is None:
        return "the model file names no loss"
    return f"its run trained with a loss of its own, {function}, which no model file can hold"


def trained_user_loss(path: Path, info: dict) -> str | None:
    """The loss of the user's own (a Python function) that the checkpoint ``path`` names was
    trained with, in words, as its trainer.json records it
    (:func:`chainrule.train.trainer.checkpoint_user_loss`); None for a saved model or run
    directory, or a run with a chainrule loss. What a command that needs the loss says."""
    from chainrule import io
    from chainrule.train.trainer import checkpoint_user_loss

    model_json, _ = io.model_files(_model_dir(path))
    trainer_json = model_json.parent / io.TRAINER_JSON
    if not trainer_json.is_file():
        return None
    try:
        state = io.read_trainer_state(trainer_json)
    except ModelFileError:  # damaged: predict needs only the model (a resume says what is wrong)
        state = {}
    return checkpoint_user_loss(state, info)


def held_out_case(
    model_path: Path, info: dict, case: int, loss: Any, n_out: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Case ``case`` of the split a run was evaluated on (its test split, or all of its data for
    a run without one): its input row, standardised as in training, and its targets as ``loss``
    reads them (labels, or rows for a loss on ``n_out`` outputs), as training reads them; each
    with one row. What ``serve --model`` and ``explain --model --case`` show. Third, where the
    case comes from in plain words, read from the same split (:func:`_case_source`): which case,
    the raw row its inputs were standardised from, its class's name. A model file that records
    no training run has no cases."""
    import numpy as np

    from chainrule.train.metrics import target_array

    if info.get("meta", {}).get("run") is None:
        raise UserError(
            f"{model_path}: the model does not record the data it was trained on, so it has no "
            "cases to show; give a run directory written by chainrule train"
        )
    prepared = trained_data(model_path, info)
    ds, which = prepared.test, prepared.evaluated_on
    if not 0 <= case < len(ds):
        raise UserError(f"--case {case}: the {which} split has cases 0 to {len(ds) - 1}")
    targets = target_array(ds, loss, n_out, np.float64)
    x = ds.X[case : case + 1]
    return x, targets[case : case + 1], _case_source(ds, case, which, x, info, prepared.full)


#: the most raw values a case's description writes out (an image's 784 pixels are not read)
RAW_VALUES_SHOWN = 8


def _case_source(
    ds: Any, case: int, which: str, x: np.ndarray, info: dict, full: Any = None
) -> str:
    """Case ``case`` of split ``ds`` (``which``: "test", or "train" for a run evaluated on all
    its data) in words: the raw row its standardised inputs ``x`` came from and its class's
    name. Only what is so: no standardizer, no word of one; no class names, none.

    The raw row is the dataset's own (``full``, the data as loaded, at the row the split took
    the case from), to 6 significant digits: a CSV's -0.0131 reads -0.0131. Where that row is
    not at hand (an IDX directory's own test part), it is ``x`` unstandardised with the
    model's saved standardizer and rounded to the precision it carries (:func:`_raw_row`)."""
    split = (
        "the run's test split" if which == "test" else "the run's data (all of it: no test split)"
    )
    # counted from 0, as --case counts: the write-up numbers its own cases from 1 (case 1)
    words = [f"row {case} (counted from 0) of {split}"]
    standardizer = saved_standardizer(info)
    if standardizer is not None:
        shown = ", ".join(_raw_row(ds, case, x, standardizer, full)[:RAW_VALUES_SHOWN])
        if x.shape[1] > RAW_VALUES_SHOWN:
            shown += f", ... ({x.shape[1]} values)"
        pixels = pixel_range(info)
        mapped = "" if pixels is None else f", the pixels as mapped to [0, 1] from {pixels}"
        words.append(f"inputs standardised as in training from the raw row ({shown}{mapped})")
    names = label_names(info) if ds.task == "classification" else None
    if names:
        words.append(f"target: class {names[int(ds.y[case])]!r}")
    return "; ".join(words)


def _raw_row(ds: Any, case: int, x: np.ndarray, standardizer: Any, full: Any) -> list[str]:
    """The raw values the standardised row ``x`` (case ``case`` of split ``ds``) came from, as
    text. Read from ``full``, the dataset as loaded, at the row ``ds`` records for the case
    (``meta["indices"]``), where that row standardises to ``x`` exactly: 6 significant digits
    of the value as read. Else (no such row) ``x`` unstandardised: x carries its dtype's
    rounding (float32: about 7 digits of x, times the std), so the value is the shortest
    number within that rounding (-0.0131, not the -0.0130999 of x * std + mean), at most 6
    significant digits, and 0 where 0 is within it (a blank pixel read -1.87e-10: x is
    -mean / std there, so the rounding is float32's of the mean)."""
    import numpy as np

    indices = ds.meta.get("indices") if full is not None else None
    if indices is not None and case < len(indices) and 0 <= indices[case] < len(full):
        row = np.asarray(full.X[int(indices[case])], dtype=np.float64)
        if row.shape == x.shape[1:] and np.array_equal(
            standardizer.transform(row[None], x.dtype), x
        ):
            return [f"{value:.6g}" for value in row]
    scaled = np.asarray(x, dtype=np.float64)
    raw = standardizer.inverse_transform(scaled)[0]
    # x's rounding to its dtype (half a spacing: one here), times the std, and float64's
    # in x * std + mean
    spread = standardizer.std.ravel() * np.abs(scaled[0])
    rounding = np.finfo(x.dtype).eps * spread + 4 * np.spacing(spread + np.abs(raw))
    return [_within(value, bound) for value, bound in zip(raw, rounding)]


def _within(value: float, rounding: float) -> str:
    """The shortest decimal (at most 6 significant digits) within ``rounding`` of ``value``."""
    if abs(value) <= rounding:
        return "0"
    for digits in range(1, 6):
        text = f"{value:.{digits}g}"
        if abs(float(text) - value) <= rounding:
            return f"{float(text):.6g}"  # 300, not the 3e+02 of one significant digit
    return f"{value:.6g}"


def trained_data(model_path: Path, info: dict) -> Any:
    """The data a saved run was trained on, split and standardised as in training: read from
    the file it recorded (refused if missing or changed), as :func:`runs.load_data` does."""
    from chainrule.train import runs

    run = info.get("meta", {}).get("run")
    if run is None:
        raise UserError(f"{model_path}: the model does not record its data; pass --data")
    model_dir = _model_dir(model_path)
    config = runs.RunConfig.from_json(run, model_dir / "model.json")
    return runs.load_data(config, run_dir=model_dir.parent)


def saved_task(info: dict) -> str | None:
    """The task a saved model was trained for: what its file records (``meta.task``, which
    ``chainrule train`` writes, or its run's ``--task``), else regression for a model saved
    from Python under a mean squared error (:func:`regression_loss`) and no class names (its
    predictions were labelled as classes 0 and 1; mse on one-hot targets trains a classifier
    too, whose file names its classes); else None, not known."""
    meta = info.get("meta", {})
    task = meta.get("task") or (meta.get("run") or {}).get("task")
    if task:
        return task
    regression = regression_loss(info.get("loss"))
    return "regression" if regression and not info.get("class_names") else None  # names: classes


def regression_loss(loss: Any) -> bool:
    """Whether a model file's loss (its ``config()``, or the name older files stored, in any
    spelling a loss name may take) is one a regression is fitted on
    (:func:`chainrule.nn.losses.fits_a_regression`); a loss this program cannot rebuild is
    not known: False."""
    from chainrule import nn
    from chainrule.nn.losses import fits_a_regression

    if not loss:
        return False
    try:
        rebuilt = nn.loss_from_config(loss)
    except UserError:  # a class of one's own, not registered here: not known
        return False
    return fits_a_regression(rebuilt)


def _table_task(data: str, info: dict) -> str | None:
    """How ``data`` is read for a saved model: a CSV (or TSV) file as a regression where
    :func:`saved_task` says the model is one (the task its file records, its run's ``--task``,
    or, with neither, the mse loss and no class names); anything else (a built-in dataset, a
    directory, a classifier's CSV) as :func:`chainrule.data.load` reads it (None)."""
    from chainrule.train import runs

    if not runs.is_table_file(data):
        return None
    return "regression" if saved_task(info) == "regression" else None


def pixel_range(info: dict | None) -> Any:
    """What a model trained on images (IDX, digits) had its pixels mapped from onto [0, 1], as
    its file records it; else None."""
    return (info or {}).get("meta", {}).get("pixel_range")


def saved_standardizer(info: dict) -> Any:
    """The standardizer a model file records (None: its inputs were not scaled)."""
    if not info.get("standardizer"):
        return None
    from chainrule import data

    return data.Standardizer.from_state(info["standardizer"])


def standardized_rows(X: np.ndarray, info: dict, dtype: Any = None, source: str = "") -> np.ndarray:
    """Input rows scaled by the model's saved standardizer (as in training), in ``dtype`` (None:
    ``X``'s); unchanged without. A row whose scaled value ``dtype`` cannot hold is refused,
    naming ``source`` and its case and column counted from 1, as :func:`model_rows` names
    them (a float32 model's outputs for it were NaN, labelled class 0)."""
    standardizer = saved_standardizer(info)
    if standardizer is None:
        return X
    try:
        return standardizer.transform(X, dtype)
    except DataError as error:
        if not source:
            raise
        from chainrule.data.dataset import as_file_case

        raise DataError(f"{source}: {as_file_case(error)}") from None


def refuse_non_finite(X: np.ndarray, source: str) -> None:
    """Refuse rows ``X`` holding a NaN or an infinity, naming ``source`` (a file, ``--input``)
    and the first such value's case and column, counted from 1 as a user types them."""
    from chainrule.checks import first_non_finite

    where = first_non_finite(X)
    if where is not None:
        raise DataError(f"{source}: case {where[0] + 1}, column {where[1] + 1}: "
                        f"{X[where]:g} is not a finite number")  # fmt: skip


def model_rows(X: np.ndarray, info: dict, dtype: Any, source: str) -> np.ndarray:
    """Input rows as a saved model computes with them: what ``predict``, ``evaluate --data``
    and ``explain --input`` feed it, from ``X`` as read (a CSV file's float64). A value that is
    not finite, or that ``dtype`` (the model's, :func:`~chainrule.train.metrics.param_dtype`)
    cannot hold, is refused naming ``source``, as training refuses it in its data (1e39 is
    infinity in float32); then the rows are scaled by the model's saved standardizer
    (:func:`standardized_rows`, which refuses a scaled value beyond ``dtype``'s range) and
    rounded to ``dtype`` once, scaled."""
    import numpy as np

    from chainrule.checks import first_too_large

    dtype = np.dtype(dtype)
    refuse_non_finite(X, source)
    where = first_too_large(X, dtype)
    if where is not None:
        raise DataError(
            f"{source}: {X[where]:g} (case {where[0] + 1}, column {where[1] + 1}) is too large "
            f"for the {dtype.name} model (at most {np.finfo(dtype).max:.3g})"
        )
    return standardized_rows(X, info, dtype, source).astype(dtype, copy=False)


#: How many of its training standard deviations an input of ``predict`` or ``evaluate --data``
#: may lie from its training mean (outside the training range too) before they warn.
FAR_OUTSIDE = 10.0


def far_outside(X: np.ndarray, info: dict, source: Any, lines: Any = None) -> list[str]:
    """What ``predict`` and ``evaluate --data`` warn of (:func:`warn_of`), a note per column,
    where an input of rows ``X`` (as read, before scaling) lies far outside the data the model
    was trained on: more than :data:`FAR_OUTSIDE` of the training standard deviations from the
    training mean (its saved standardizer's) and, where the model records it, outside the
    training file's range. A note names ``source``, the first such row's line (``lines``: the
    file's line of each row; else the case, counted from 1), the column, the value and the
    training range: the model's answer there is an extrapolation, as sure-looking as any (an
    id column read as an input: z 99,500, a confident class). No refusal. A model of images
    (its pixel range recorded) is left alone: its inputs are checked to lie in [0, 1]."""
    import numpy as np

    standardizer = saved_standardizer(info)
    X = np.asarray(X, dtype=np.float64)
    if standardizer is None or pixel_range(info) is not None or X.ndim != 2 or not len(X):
        return []
    if X.shape[1] != len(standardizer.mean):  # the model refuses such rows itself
        return []
    z = (X - standardizer.mean) / standardizer.std
    far = np.abs(z) > FAR_OUTSIDE
    meta = info.get("meta", {})
    low, high = _input_range(meta, X.shape[1])
    if low is not None:
        far &= (low > X) | (high < X)  # outside the training range as well
    names = meta.get("feature_names")
    if not isinstance(names, list) or len(names) != X.shape[1]:
        names = None
    notes = []
    for j in np.flatnonzero(far.any(axis=0)).tolist():
        rows = np.flatnonzero(far[:, j])
        i = int(rows[0])
        where = f"line {lines[i]}" if lines is not None else f"case {i + 1}"
        column = f"column {j + 1}" + (f" ({names[j]!r})" if names else "")
        if low is not None:
            trained = f"{low[j]:g} to {high[j]:g} in this column"
        else:  # a model saved before its runs recorded the range
            trained = f"mean {standardizer.mean[j]:g}, std {standardizer.std[j]:g} in this column"
        more = "" if len(rows) == 1 else f"; {len(rows)} rows in all lie this far out"
        away = abs(z[i, j])
        away = f"{away:,.0f}" if away < 1e7 else f"{away:.3g}"  # 99,500; 1.04e+30
        notes.append(
            f"{source}, {where}, {column}: {X[i, j]:g} lies far outside the data the model was "
            f"trained on ({trained}; {away} standard deviations from the mean)"
            f"{more}: the model's answer there is a guess, however sure it looks (if the "
            "column is a row id or an index, train without it)"
        )
    return notes


def warn_of(notes: list[str]) -> None:
    """Each note a :class:`~chainrule.data.csvfile.DataWarning` (the command line's one line
    ``chainrule: warning: ...``): said once a command has its results, so a refusal stays the
    one line it is."""
    import warnings

    from chainrule.data.csvfile import DataWarning

    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)


def _input_range(meta: dict, n: int) -> tuple[Any, Any]:
    """(lowest, highest) of each of ``n`` inputs in the file a model was trained on, as its
    file records them (``data_meta``'s ``input_range``); (None, None) where it records none."""
    import numpy as np

    recorded = meta.get("input_range")
    try:
        low = np.asarray(recorded["min"], dtype=np.float64)
        high = np.asarray(recorded["max"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None, None
    if low.shape != (n,) or high.shape != (n,):
        return None, None
    return low, high


def file_lines(ds: Any) -> list[int] | None:
    """The file line of each case of ``ds``, a dataset read from a CSV file or a part of one
    (through its ``meta["indices"]``); None for any other."""
    lines, indices = ds.meta.get("lines"), ds.meta.get("indices")
    if lines is None:
        return None
    return lines if indices is None else [lines[k] for k in indices]


@contextlib.contextmanager
def said_by_the_model(info: dict, model_path: Path, source: str, n_columns: int) -> Iterator[None]:
    """Run a saved model on rows of ``n_columns`` inputs from ``source``, where its file does
    not tell how many it takes (a first layer of the user's own:
    :func:`~chainrule.train.runs.told_input_width`), so the rows were read at the file's own
    width: the model itself says whether it runs on them, its forward's refusal (an
    IndexError, a ValueError, a ShapeError) one line naming the file and the model rather than
    a traceback. Where the width is told, the rows were checked against it and any error of
    the forward is left as it is."""
    from chainrule.train.runs import told_input_width

    try:
        yield
    except (IndexError, ValueError) as error:
        if isinstance(error, UserError) or told_input_width(info) is not None:
            raise
        words = " ".join(str(error).split())  # one line, whole: a repr's lines were cut to one
        raise DataError(
            f"{source}: the model {model_path} does not run on {counted(n_columns, 'input column')}"
            f" ({type(error).__name__}: {words}); its file does not say how many it takes: its "
            "first layer is a module of your own"
        ) from None


@app.command(short_help="Loss, accuracy and per-class table of a saved model.")
def evaluate(
    model_path: Path = model_argument("MODEL", "a saved model or run directory"),
    model_named: Path = model_option(),
    data: str = typer.Option(
        None,
        "--data",
        metavar="NAME|PATH",
        show_default="the model's own held-out test split",
        help="dataset or file",
    ),
    part: str = typer.Option(
        None,
        "--part",
        metavar="NAME",
        show_default="the run's test split; train with --data DIR",
        help="which part of the run's own split, as it split its data: train, validation (or "
        "val) or test; with --data DIR, an IDX directory: which of its parts, train or test "
        "(t10k)",
    ),
    json_output: bool = typer.Option(
        False, "--json", help="print JSON on stdout (with the per-class table and the confusion)"
    ),
) -> int:
    """Loss and accuracy of a saved model on a dataset; for a classifier also the precision,
    recall, F1 and support of each class and the confusion matrix."""
    model_path = one_model(model_path, model_named, "chainrule evaluate MODEL [--data DATA]")
    from chainrule.train import evaluate as evaluate_model
    from chainrule.train import runs
    from chainrule.train.metrics import param_dtype

    model, info, loss = load_trained(model_path)
    if loss is None:
        function = trained_user_loss(model_path, info)
        raise ModelFileError(f"{model_path}: {no_loss(function)}: nothing to evaluate with")
    if part is not None and part.strip().casefold() == "val":  # as history.json's val_loss
        part = "validation"
    if data is None:
        ds, which = run_part(model_path, info, one_of("--part", part, RUN_PARTS))
    elif part is not None and part.strip().casefold() == "validation":
        raise UserError(
            "--part validation: the run's own validation cases, which --data replaces; drop "
            "--data (with --data DIR, an IDX directory, --part is train or test)"
        )
    else:  # an IDX directory's parts
        part = one_of("--part", part, ("train", "test"))
        ds, which = labelled_data(model_path, info, param_dtype(model), data, part)
    runs.check_model_fits(info, ds, str(model_path))
    from chainrule.train import predict as predict_outputs
    from chainrule.train.metrics import class_report

    with said_by_the_model(info, model_path, data or which, ds.n_features):
        outputs = predict_outputs(model, ds.X)
    metrics = evaluate_model(model, loss, ds)
    if not math.isfinite(metrics["loss"]):  # neither a number to report nor valid JSON
        raise DataError(
            f"{model_path}: the loss on {which} is {metrics['loss']} (it overflows "
            f"{param_dtype(model).name}); rescale the data or retrain with --dtype float64"
        )
    if _prints_results():  # scored: inputs far outside the training data (evaluate --data)
        warn_of(ds.meta.get("far_outside", []))
    result = {"model": str(model_path), "data": which, "cases": len(ds), **metrics}
    report = class_report(outputs, ds, loss)
    if report is not None:
        classes = _class_names(info.get("class_names"), len(report["per_class"]))
        for name, row in zip(classes, report["per_class"]):
            row["class"] = name
        result.update(classes=classes, per_class=report["per_class"],
                      confusion=report["confusion"])  # fmt: skip
    if not _prints_results():
        return 0
    if json_output:
        print(json.dumps(result, indent=2, allow_nan=False))
        return 0
    score = "" if metrics["accuracy"] is None else f"accuracy {metrics['accuracy']:.2%}  "
    measured = _regression_loss_words(loss, info, metrics["loss"]) if not score else ""
    print(f"{score}loss {metrics['loss']:.6g}{measured}  ({len(ds)} cases, {which})")
    if report is not None:
        _print_class_tables(result)
    return 0


def run_part(model_path: Path, info: dict, part: str | None) -> tuple[Any, str]:
    """The part of a saved run's own split that ``evaluate`` scores, standardised as in
    training, and the words for it: its test split (all its data for a run judged on its
    training cases) where ``part`` is None, or "test" (refused for a run that held out no test
    cases), else its "train" or "validation" cases.
    The split is rebuilt from the run's data, seed and fractions (:func:`trained_data`) and
    checked against the one its model records (:func:`split_record`); the train and validation
    parts need that record (a run of an older chainrule has none: refused, saying why)."""
    prepared = trained_data(model_path, info)
    data = info["meta"]["run"]["data"]
    recorded = info["meta"].get("split")
    if recorded is None and part in ("train", "validation"):
        raise UserError(
            f"{model_path}: the model does not record how its run split the data (an older "
            f"chainrule trained it), so its {part} cases cannot be rebuilt as the run split them "
            "(from its seed alone they could be other rows: chainrule's split has changed); "
            "evaluate its test split (no --part) or train it again"
        )
    if recorded is not None and recorded != split_record(prepared):
        raise DataError(
            f"{model_path}: the split rebuilt from the run's data and seed is not the one the "
            "run recorded (another chainrule splits otherwise); its train, validation and test "
            "cases cannot be rebuilt as the run split them: train it again with this chainrule"
        )
    if part == "validation" and prepared.val is None:
        judged = (
            "it is judged on its training cases" if prepared.evaluated_on == "train"
            else "it held out test cases alone"
        )  # fmt: skip
        raise UserError(
            f"--part validation: {model_path}'s run held out no validation cases ({judged}); "
            "choose train or test"
        )
    if part == "test" and prepared.evaluated_on == "train":
        raise UserError(
            f"--part test: {model_path}'s run held out no test cases (it is judged on its "
            "training cases); choose train"
        )
    if part in ("train", "validation"):
        ds = prepared.train if part == "train" else prepared.val
        return ds, f"{part} split of {data}"
    return prepared.test, f"{prepared.evaluated_on} split of {data}"


def _regression_loss_words(loss: Any, info: dict, value: float) -> str:
    """What a regression's loss measures, for evaluate's line: the loss and the column it
    predicts (:func:`_regression_name`), and for the mean squared error its root, in that
    column's units (" (mse: the mean squared error of price; its root, 38.1, is in price's
    units)"); "" for a model that is no regression."""
    if saved_task(info) != "regression":
        return ""
    name = _regression_name(info)
    what = "the targets" if name == "prediction" else name
    if getattr(loss, "name", None) == "mse" and value >= 0:
        units = "the targets'" if name == "prediction" else f"{name}'s"
        return (
            f" (mse: the mean squared error of {what}; its root, {math.sqrt(value):.4g}, is in "
            f"{units} units)"
        )
    return f" ({getattr(loss, 'name', type(loss).__name__)} of {what})"


def labelled_data(
    model_path: Path, info: dict, dtype: np.dtype, data: str, part: str | None = None
) -> tuple[Any, str]:
    """A dataset or labelled file read for a saved model as its training data was (its task,
    class names, pixel range; standardised by its saved standardizer), and the words for it:
    what ``evaluate --data`` scores and ``explain --input FILE.csv`` takes its targets from.
    Refused: inputs the model does not take, labels of another kind than its classes (names
    for numbers), regression targets whose squares overflow ``dtype``. Its inputs far outside
    the training data are noted in its ``meta["far_outside"]`` (:func:`far_outside`), which
    evaluate warns of once it has scored them."""
    import numpy as np

    from chainrule.train import runs

    meta = info.get("meta", {})
    pixels = pixel_range(info)  # as the training images were
    image_shape = meta.get("image_shape")
    if not isinstance(image_shape, list):  # none recorded (a run before it was)
        image_shape = None
    names = label_names(info)
    task = _table_task(data, info)
    table = runs.table_options(meta.get("run"))  # its label column and delimiter
    n_inputs = runs.told_input_width(info)
    # before its last column is read as labels (a file has no --part: read_dataset says so)
    if n_inputs is not None and part is None and runs.is_table_file(data):
        from chainrule.data.csvfile import check_table_width

        check_table_width(data, label_column_present(data, n_inputs, model_path),
                          table.get("delimiter"))  # fmt: skip
    raw = runs.read_dataset(data, task, dtype, pixels, names, part, image_shape, for_model=True,
                            table=table)  # fmt: skip
    _check_image_shape(data, raw.meta.get("image_shape"), image_shape)  # digits' too
    runs.check_model_fits(info, raw, str(model_path))  # the inputs first: another dataset
    if runs.is_table_file(data):  # a header naming the columns in another order
        check_feature_names(data, raw.feature_names, info)
    if len(info.get("class_names") or ()) != 1:  # one unit's name: its numbers 0, 1 read too
        _check_same_kind_of_labels(data, names, raw)
    if pixels is not None and runs.is_table_file(data):  # an IDX directory is mapped
        from chainrule.data.idx import check_rows_scaled

        # by line and header name, as predict's
        check_rows_scaled(raw.X, pixels, data, file_lines(raw), raw.feature_names)
    if raw.task == "regression" and len(raw):  # refused as training refuses them
        runs.check_targets_square(
            raw, np.dtype(dtype), "rescale the targets or retrain with --dtype float64"
        )
    part = raw.meta.get("part") if Path(data).is_dir() else None  # an IDX directory's pair
    which = f"the {part} part of {data}" if part else f"all of {data}"
    ds = runs.prepare(raw, None, np.dtype(dtype))  # its targets in dtype
    ds.X = model_rows(raw.X, info, dtype, data)  # its inputs as predict's and explain's
    ds.meta["far_outside"] = far_outside(raw.X, info, data, file_lines(raw))
    return ds, which


def _check_image_shape(data: str, found: Any, trained: Any) -> None:
    """Refuse images of another shape than a model's training images (as many pixels, 4x9 for
    6x6, passed the width check: each pixel fed another input)."""
    if found is None or trained is None or list(found) == list(trained):
        return
    shape = "x".join(map(str, found))
    raise DataError(
        f"{data}: images of shape {shape}, but the model was trained on images of shape "
        f"{'x'.join(map(str, trained))}"
    )


def check_feature_names(source: Any, found: list[str] | None, info: dict) -> None:
    """Refuse a file whose header names its input columns otherwise than the CSV file a model
    was trained on (``meta["feature_names"]``), in order: the same columns reordered were read
    into the wrong inputs, a silently wrong prediction. A file without a header, or a model
    that records no names, is not checked."""
    trained = info.get("meta", {}).get("feature_names")
    if not found or not isinstance(trained, list):
        return
    for j, (name, expected) in enumerate(zip(found, trained)):
        if not _same_name(name, expected):
            raise DataError(
                f"{source}: column {j + 1} is named {name!r}, but the model's input {j + 1} "
                f"is {expected!r} (the model was trained on a file with another column order "
                "or names); write the columns in the training file's order, under its names"
            )


def _same_name(name: Any, expected: Any) -> bool:
    """Whether a header's column name is a recorded feature name: "Age" is "age", "İZMİR" is
    "İzmir", an NFD "état" is an NFC one, but "Masse" is not "Maße" (csvfile's one rule)."""
    from chainrule.data.csvfile import same_name

    return same_name(str(name).strip(), str(expected).strip())


def label_names(info: dict) -> list[str] | None:
    """The names of a saved classifier's classes as labels read them: a one-output model that
    names its unit (xor's "odd") has the two classes (not odd, odd), class 1 its unit's name
    (read as the unit's own name, "odd" was class 0: the opposite target)."""
    names = info.get("class_names")
    return _class_names(names, 2) if names and len(names) == 1 else names


def _prints_results() -> bool:
    """Whether this process prints (or writes) a command's results: under mpiexec/srun every
    rank runs the command, rank 0 alone reports (one JSON document on stdout, as train's)."""
    from chainrule import distributed

    return distributed.world().is_main


def _check_same_kind_of_labels(data: str, model_names: list[str] | None, raw: Any) -> None:
    """Refuse a label column of class names for a model trained on class numbers, and of
    numbers for one trained on names: either way nothing says which class is which (names
    sorted by themselves were taken as the model's numbers: a silently wrong accuracy)."""

    def numbers(names: list[str] | None) -> list[str] | None:
        """None for names that are their class numbers (the digits': "0" is class 0)."""
        return None if names == [str(k) for k in range(len(names or []))] else names

    model_names = numbers(model_names)
    data_names = numbers(raw.class_names) if raw.task == "classification" else None
    if raw.task != "classification" or (model_names is None) == (data_names is None):
        return

    def some(names: list[str]) -> str:
        return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")

    if model_names is None:
        raise UserError(
            f"{data}: the label column holds class names ({some(data_names)}), but the "
            "model was trained on class numbers; write each label as the model's class number"
        )
    raise UserError(
        f"{data}: the label column holds class numbers, but the model was trained on class "
        f"names ({some(model_names)}); write each label as its name"
    )


def _class_names(names: list[str] | None, n: int) -> list[str]:
    """The names of a report's ``n`` classes; a one-output model's two are (no, yes)."""
    if n == 2 and len(names or ()) < 2:
        yes, no = _one_unit_classes(names)
        return [no, yes]
    return [names[k] if names and k < len(names) else str(k) for k in range(n)]


#: Confusion matrices with more classes than this are too wide for a terminal (--json has them).
_CONFUSION_SHOWN = 12


def _print_class_tables(result: dict[str, Any]) -> None:
    """The per-class table and the confusion matrix as rich tables (plain text when piped)."""
    from rich.table import Table

    from chainrule.terminal import stdout_console

    console = stdout_console()
    classes = result["classes"]
    table = Table()
    for name in ("class", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for row in result["per_class"]:
        table.add_row(row["class"], f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      f"{row['f1']:.3f}", str(row["support"]))  # fmt: skip
    if _fits(console, table):
        console.print(table)
    else:  # narrower than its numbers (COLUMNS=40): none is cut, --json has them all
        console.print(f"per-class scores: {len(classes)} classes, too wide for "
                      f"{console.width} columns, see --json", soft_wrap=True)  # fmt: skip
    matrix = Table()
    matrix.add_column("true \\ predicted")
    for name in classes:
        matrix.add_column(name, justify="right")
    for name, counts in zip(classes, result["confusion"]):
        matrix.add_row(name, *map(str, counts))
    if len(classes) > _CONFUSION_SHOWN:
        console.print(f"confusion matrix: {len(classes)} classes, see --json")
    elif not _fits(console, matrix):
        console.print(f"confusion matrix: {len(classes)} classes, too wide for "
                      f"{console.width} columns, see --json", soft_wrap=True)  # fmt: skip
    else:
        console.print("confusion matrix (a row per true class, a column per predicted class):",
                      soft_wrap=True)  # fmt: skip
        console.print(matrix)


def _fits(console: Any, table: Any) -> bool:
    """Whether ``table`` prints at ``console``'s width with nothing cut or wrapped: rich
    shrinks a table too wide for it, cutting its numbers to "…" or leaving them out."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(10_000)  # its own width, not the console's
    return Measurement.get(console, unbounded, table).maximum <= console.width


# -- predict --------------------------------------------------------------------------------------


#: ``predict -i -``: the rows come from standard input, as ``-o -`` writes to standard output;
#: ``-i ./-`` names a file "-" (:func:`_input_value`).
STDIN = Path("-")


def _input_value(text: str) -> Path:
    """predict's ``--input`` parser: :func:`~chainrule.cli.app.path_value`, where ``-`` is
    :data:`STDIN` and ``./-`` a file of that name (``Path("./-")`` is ``Path("-")``)."""
    path = path_value(text)
    return path.absolute() if path == STDIN and text != "-" else path


#: How many cases predict turns into text at a time: its output is written a part at a time,
#: so it holds the input's numbers and one part's text, never the whole output's.
PREDICT_CHUNK_ROWS = 8192


@app.command()
def predict(
    model_path: Path = model_argument("MODEL", "a saved model or run directory"),
    model_named: Path = model_option(),
    input_path: Path = typer.Option(
        ...,
        "--input",
        "-i",
        parser=_input_value,
        metavar="FILE",
        help="CSV of input rows (features, "
        "optionally followed by a label column, which is ignored; '-': stdin)",
    ),
    output_path: Path = typer.Option(
        None,
        "--output",
        "--out",  # the other commands' name for the file they write
        "-o",
        show_default="stdout",
        parser=file_path_value,
        metavar="FILE",
        help="write the predictions here, as CSV or with --json as JSON ('-': stdout)",
    ),
    json_output: bool = typer.Option(
        False, "--json", help="write JSON instead of CSV (on stdout, or to --output)"
    ),
) -> int:
    """Predict with a saved model for each row of a CSV file."""
    model_path = one_model(model_path, model_named, "chainrule predict MODEL --input FILE")
    from chainrule import data, io
    from chainrule.train import predict as predict_outputs

    stdin = input_path == STDIN
    if not stdin:
        data.check_file_kind(input_path)  # as --data: a pipe without a writer, a device, never end
    if output_path == STDOUT:  # "-o -": stdout, as the default (it wrote a file named "-")
        output_path = None
    if output_path is not None:  # neither the input nor the model's own files
        kept = {} if stdin else {"--input file": input_path}
        refuse_overwriting(output_path, "--output", {**kept, **model_files_kept(model_path)})
        _check_prediction_format(output_path, json_output)
    model, info, loss = load_trained(model_path)
    if loss is None:  # a loss function of one's own: what it said of the outputs, if anything
        loss = io.loss_reader(info)
    import numpy as np

    from chainrule.train.metrics import param_dtype
    from chainrule.train.runs import told_input_width

    source = _stdin_file() if stdin else input_path  # named "<stdin>" in messages
    n_in, dtype = told_input_width(info), param_dtype(model)  # None: the file's own width
    table = read_feature_table(source, n_in, dtype, pixel_range(info), info)
    X = table.values  # the file's own line numbers, read from the header counted:
    lines = np.asarray(table.body.lines, dtype=np.int64)
    del table  # the file's text, kept for its messages
    rows = model_rows(X, info, dtype, str(source))
    with said_by_the_model(info, model_path, str(source), X.shape[1]):
        outputs = predict_outputs(model, rows)
    del rows
    _refuse_overflowed_outputs(outputs, source, dtype)  # every case, before a byte is written
    scores = _as_scores(outputs, loss)
    names = _score_names(info, scores.shape[1])
    if not _prints_results():
        return 0
    warn_of(far_outside(X, info, source, lines))  # predicted: rows far outside training's
    if json_output:
        parts = _json_parts(str(model_path), names, lines, outputs, scores, info, loss)
    else:
        parts = _csv_parts(names, lines, outputs, scores, info, loss)
    if output_path is None:
        for part in parts:
            sys.stdout.write(part)
    else:
        try:
            io.atomic_write_bytes(output_path, (part.encode() for part in parts))
        except OSError as error:
            raise cannot_write("--output", output_path, error) from None
        print(f"wrote {len(lines)} predictions to {output_path}", file=sys.stderr)
    return 0


def _stdin_file() -> Any:
    """Standard input's bytes, read to the end, as the CSV reader takes a file
    (:class:`~chainrule.data.csvfile.BytesFile`, named ``<stdin>``): a closed stdin is an
    empty file. Under mpiexec/srun rank 0 alone reads it and every rank gets its bytes: the
    launcher gives standard input to rank 0 only, and another rank's read waited for ever
    on a pipe it kept open (the job hung after rank 0 had printed the predictions)."""
    from chainrule import distributed
    from chainrule.data.csvfile import BytesFile

    return BytesFile(distributed.world().on_root(_read_stdin))


def _read_stdin() -> bytes:
    """Standard input's bytes, read to the end (none from a closed stdin)."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)  # a test's StringIO has no buffer
    data = b"" if stream is None else stream.read()
    return data.encode() if isinstance(data, str) else data


def _chunks(n: int) -> Iterator[slice]:
    """The cases ``0..n-1`` a part of :data:`PREDICT_CHUNK_ROWS` at a time."""
    step = max(1, PREDICT_CHUNK_ROWS)
    return (slice(start, start + step) for start in range(0, n, step))


def _json_parts(
    model: str, names: list[str], lines: Any, outputs: Any, scores: Any, info: dict, loss: Any
) -> Iterator[str]:
    """predict's JSON document, ``{"model": ..., "outputs": names, "predictions": [...]}`` as
    ``json.dumps`` writes it whole, a part of :data:`PREDICT_CHUNK_ROWS` cases at a time: a
    case's ``line``, its ``prediction`` (:func:`_json_prediction`) and its ``outputs``."""
    regression = saved_task(info) == "regression"
    head = json.dumps({"model": model, "outputs": names}, allow_nan=False)
    yield head[:-1] + ', "predictions": ['
    for part in _chunks(len(lines)):
        labels = _labels(outputs[part], scores[part], info, loss)
        rows = (
            {"line": line, "prediction": _json_prediction(lab, row, regression),
             "outputs": json_numbers(row)}
            for line, lab, row in zip(lines[part].tolist(), labels, scores[part])
        )  # fmt: skip
        text = ", ".join(json.dumps(row, allow_nan=False) for row in rows)
        yield text if part.start == 0 else ", " + text
    yield "]}\n"


def _json_prediction(label: str, outputs: np.ndarray, regression: bool) -> Any:
    """A case's prediction in predict's JSON: a regression's is its output as a number (a list
    of them for several outputs: it was the CSV cell's text, "3.764635"), a classifier's its
    label."""
    if not regression:
        return label
    values = json_numbers(outputs)
    return values[0] if len(values) == 1 else values


def json_numbers(values: np.ndarray) -> list[float]:
    """NumPy floats as the Python floats JSON writes in the fewest digits that read back as
    the same number of their dtype (:func:`exact_text`): float32's 0.1 is 0.1, which float()
    alone made 0.10000000149011612; a float64 keeps every digit (its text is its repr)."""
    return [float(exact_text(value)) for value in values]


#: What predict writes and the suffixes its --output may have (or none), as explain, graph
#: and export check theirs: CSV went into p.json without --json, JSON into p.csv with it
PREDICTION_FORMATS = {"csv": (".csv", ".txt"), "json": (".json",)}


def _check_prediction_format(output_path: Path, json_output: bool) -> None:
    """Refuse an --output name whose suffix says another format than the one predict writes
    (by :func:`chainrule.viz.style.saved_format`, the rule of every command that writes a
    file), before anything is read or written."""
    from chainrule.viz.style import saved_format

    try:
        saved_format("--output", str(output_path), PREDICTION_FORMATS,
                     "json" if json_output else "csv")  # fmt: skip
    except ValueError as error:
        raise UserError(f"{error}, or {'leave out' if json_output else 'pass'} --json") from None


def _refuse_overflowed_outputs(outputs: np.ndarray, source: Path, dtype: Any) -> None:
    """Outputs that are NaN or infinite (the network's numbers overflow its dtype for a row)
    are no prediction: they were written as nan, labelled class 0, and exited 0."""
    import numpy as np

    finite = np.isfinite(outputs).all(axis=1)
    if not finite.all():
        case = int(np.argmin(finite))
        raise DataError(
            f"{source}: case {case + 1}: the model's outputs are {outputs[case].tolist()}: its "
            f"numbers overflow {np.dtype(dtype).name} there; rescale the data or retrain with "
            "--dtype float64"
        )


def _score_names(info: dict, n: int) -> list[str]:
    """A name for each score column: the class (or unit) it is the score of. A one-output
    model's one score is its yes class's (class 1 of a two-class BCE model, parity's odd); a
    regression model's outputs are its predictions (:func:`_regression_name`: ``price``, or
    ``price_0`` ... ``price_k`` for several)."""
    names = info.get("class_names")
    if saved_task(info) == "regression":
        name = _regression_name(info)
        return [name] if n == 1 else [f"{name}_{j}" for j in range(n)]
    if n == 1:
        return [_one_unit_classes(names)[0]]
    return names if names and len(names) == n else [str(j) for j in range(n)]


def _regression_name(info: dict) -> str:
    """What a regression model predicts, as its run names it: the label column's name in the
    training file's header (``data_meta``'s ``label_column_name``, or the run's
    ``--label-column NAME``), else ``prediction``."""
    meta = info.get("meta", {})
    name = meta.get("label_column_name")
    if not isinstance(name, str) or not name.strip():
        run = meta.get("run")
        name = run.get("label_column") if isinstance(run, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else "prediction"


def _as_scores(outputs: np.ndarray, loss: Any) -> np.ndarray:
    """Probabilities where the loss worked on logits (softmax or logistic); else the outputs."""
    return outputs if loss is None else loss.probabilities(outputs)


def _labels(outputs: np.ndarray, scores: np.ndarray, info: dict, loss: Any) -> list[str]:
    """Each case's prediction: a regression's ``scores`` (its outputs) as text, a classifier's
    label as ``evaluate`` decides it from the ``outputs`` (``predicted_classes``, ``units_on``:
    on the logits, where its probabilities, the ``scores`` printed, would round to a tie)."""
    from chainrule.train.metrics import predicted_classes, units_on

    names = info.get("class_names")
    task = saved_task(info) or "classification"
    if task == "regression":  # the value itself, in full: 1234567.89 is no 1.23457e+06
        return [";".join(map(exact_text, row)) for row in scores]
    if outputs.shape[1] == 1:  # one unit says yes or no; its one name (parity's "odd") is the yes
        yes, no = _one_unit_classes(names)
        return [yes if on else no for on in predicted_classes(outputs, loss)]
    if task == "multilabel":  # the names of the units that are on, joined by ';'
        units = names or [str(j) for j in range(outputs.shape[1])]
        on = [[unit for unit, is_on in zip(units, row) if is_on] for row in units_on(outputs, loss)]
        return [";".join(labels) or NO_LABEL for labels in on]  # never an empty cell
    picked = predicted_classes(outputs, loss)
    return [names[k] if names and k < len(names) else str(k) for k in picked]


#: A multilabel model's prediction for a case where no output unit is on.
NO_LABEL = "none"


def _one_unit_classes(names: list[str] | None) -> tuple[str, str]:
    """(yes, no) labels of a one-output classifier: never an empty cell for a no."""
    if names and len(names) >= 2:
        return names[1], names[0]
    if names and names[0]:
        return names[0], f"not {names[0]}"
    return "1", "0"


def _csv_parts(
    names: list[str], lines: Any, outputs: Any, scores: np.ndarray, info: dict, loss: Any
) -> Iterator[str]:
    """The predictions as CSV, a row per case, a part of :data:`PREDICT_CHUNK_ROWS` cases at a
    time: ``line`` (the input file's line it was read from, the header counted, so a row is
    found in the file whatever blank lines it skips), then a classifier's ``prediction``
    (:func:`_labels`, from the ``outputs``) and its probabilities (the ``scores``, ``names``'
    columns) to 6 digits, or a regression's outputs alone, under ``names`` (the column it
    predicts), each in full, as its dtype holds it (a prediction column beside them repeated
    them). Cells that start like a formula are made safe (:func:`spreadsheet_safe`)."""
    import io as _io

    regression = saved_task(info) == "regression"
    header = ["line", *names] if regression else ["line", "prediction", *names]
    shown = exact_text if regression else "{:.6g}".format
    for part in _chunks(len(lines)):
        buffer = _io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if part.start == 0:
            writer.writerow(map(spreadsheet_safe, header))
        labels = _labels(outputs[part], scores[part], info, loss)
        for line, label, row in zip(lines[part].tolist(), labels, scores[part]):
            predicted = [] if regression else [spreadsheet_safe(label)]
            writer.writerow([line, *predicted, *map(shown, row)])
        yield buffer.getvalue()


#: What a spreadsheet reads a cell starting with as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A number, or numbers joined by ';' (a regression's outputs): data, never a formula.
_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"{_NUMBER}(;{_NUMBER})*")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a CSV cell a spreadsheet shows as text: one that starts like a formula
    (:data:`FORMULA_STARTS`: a class name ``=HYPERLINK(...)`` or ``@SUM(1+1)``) gets a leading
    single quote, as OWASP advises; numbers (-0.5, a regression's 1.5;-2) are left as they are."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBERS.fullmatch(cell):
        return "'" + cell
    return cell


def exact_text(value: np.floating) -> str:
    """A NumPy float as the shortest text that reads back as the same number of its dtype
    (float32 0.1 is "0.1", not 0.10000000149011612)."""
    return str(value)


def model_input_width(path: Path, n_features: int) -> Callable[[int, int], None]:
    """``read_table``'s ``check_width`` for rows of a model's ``n_features`` inputs, optionally
    followed by one label column (a CSV with 5 columns given to a model of 64 inputs was refused
    for its text label, "not a number", rather than for its width)."""

    def check(width: int, line: int) -> None:
        if width not in (n_features, n_features + 1):
            raise DataError(
                f"{path}: {counted(width, 'column')} but the model takes "
                f"{counted(n_features, 'input')} (optionally followed by one label column)"
            )

    return check


def label_column_present(
    path: str | Path, n_features: int, model: str | Path
) -> Callable[[int, int], None]:
    """A ``check_width`` (:func:`~chainrule.data.csvfile.check_table_width`) for a labelled
    file of a model's ``n_features`` inputs: every width but the inputs and one label column
    is refused before a cell is read, as the last column would be read as the label and a
    last input refused as a label ("label 0.2 is not an integer class"). A file as wide as
    the inputs is asked whether its label column is missing (the rows for ``predict``, or a
    file short of an input, which a width alone cannot tell apart); any other width is said
    as :func:`~chainrule.train.runs.check_model_fits` says it once the label column is set
    aside, with the file's and the model's widths and the ``line`` that gave the file's."""

    def check(width: int, line: int) -> None:
        if width == n_features:
            raise DataError(
                f"{path}: {counted(width - 1, 'input feature')} but the model {model} expects "
                f"{n_features}, taking the last of its {width} columns as the label; is the "
                f"label column missing? (the model takes {counted(n_features, 'input')} and a "
                "label column; predict takes rows without labels)"
            )
        if width != n_features + 1:
            off = abs(width - n_features - 1)
            by = f"{counted(off, 'column')} {'short of' if width < n_features else 'more than'}"
            raise DataError(
                f"{path}: {counted(width - 1, 'input feature')} but the model {model} expects "
                f"{n_features}, taking the last of the {width} columns of line {line} as the "
                f"label: {by} the model's {counted(n_features, 'input')} and a label column "
                f"({n_features + 1} columns)"
            )

    return check


def _header_of_trained_names(path: Path, table: Any, n_features: int, info: dict | None) -> Any:
    """``table`` with its line 1 taken as the header where that line is the feature names the
    model records (``meta["feature_names"]``): names that are numbers (2019,2020,2021) read
    as a header only in a file whose line 1 has text, so they were predicted for as a case and
    every prediction was a row off."""
    import dataclasses

    trained = (info or {}).get("meta", {}).get("feature_names")
    if table.names is not None or not isinstance(trained, list) or len(trained) != n_features:
        return table
    _, cells = table.body[0]
    if not all(map(_same_name, cells[:n_features], trained)):
        return table
    if len(table.body) == 1:
        raise DataError(f"{path}: no data rows (only a header: the model's input names)")
    texts = table.texts[1:] if table.texts is not None else None
    names = [cell.strip() for cell in cells]
    return dataclasses.replace(
        table, values=table.values[1:], names=names, body=table.body[1:], texts=texts
    )


#: A number written with a decimal comma, as a comma-separated file splits it: an integer part,
#: then its decimal digits (0,5 -> "0", "5").
_INTEGER_PART = re.compile(r"\s*[+-]?[0-9]+\s*")
_DECIMAL_DIGITS = re.compile(r"\s*[0-9]+\s*")


def _refuse_decimal_commas(path: Path, table: Any, n_features: int) -> None:
    """Refuse a one-input model's file without a header whose every line is an integer and a
    column of digits (0,5): numbers written with a decimal comma read as the input 0 and an
    ignored label 5, a silently wrong prediction. A labelled file of whole numbers says so
    with a header line (numbers with a comma give one column under it: refused as ragged)."""
    if n_features != 1 or table.names is not None or len(table.body[0][1]) != 2:
        return
    rows = [cells for _, cells in table.body]
    if not all(_INTEGER_PART.fullmatch(a) and _DECIMAL_DIGITS.fullmatch(b) for a, b in rows):
        return
    line, (whole, digits) = table.body[0]
    raise DataError(
        f"{path}, line {line}: {whole.strip()},{digits.strip()} reads as the model's one input "
        f"{whole.strip()} followed by a label {digits.strip()}; write numbers with a decimal "
        f"point ({whole.strip()}.{digits.strip()}), or, if the second column is a label, give "
        "the file a header line"
    )


def first_line_width(path: Path, delimiter: str | None) -> int:
    """The number of fields on a file's first line (0 where it cannot be read: the reader
    then says why)."""
    from chainrule.data.csvfile import check_table_width

    widths: list[int] = []
    check_table_width(path, lambda width, line: widths.append(width), delimiter)
    return widths[0] if widths else 0


def read_feature_rows(
    path: Path,
    n_features: int | None,
    dtype: Any = "float64",
    pixel_range: Any = None,
    model_info: dict | None = None,
) -> np.ndarray:
    """The rows :func:`read_feature_table` reads, its ``values``."""
    return read_feature_table(path, n_features, dtype, pixel_range, model_info).values


def read_feature_table(
    path: Path,
    n_features: int | None,
    dtype: Any = "float64",
    pixel_range: Any = None,
    model_info: dict | None = None,
) -> Any:
    """A :class:`~chainrule.data.csvfile.Table` of rows of ``n_features`` numbers, each with
    its line in the file (``body``: what predict writes beside its prediction). A header line
    and a trailing label column, numbers or text, are allowed; the label is not read. A
    header whose names differ from the feature names ``model_info`` (a model.json) records is
    refused (:func:`check_feature_names`); a line 1 that is those names is the header, even
    where they are numbers (2019,2020). For a one-input model, a file without a header of
    lines like ``0,5`` is refused: numbers with a decimal comma
    (:func:`_refuse_decimal_commas`). ``n_features`` None (a model whose file does not tell
    its input width, :func:`~chainrule.train.runs.told_input_width`): every column is a
    feature, and the model itself says whether it takes them (:func:`said_by_the_model`).

    A missing file, a ragged row, a non-numeric feature or a number too large for ``dtype``
    raises DataError naming the line; so does a value outside [0, 1] for a model trained on
    IDX images (``pixel_range``: what its images were mapped from, see
    :func:`chainrule.data.idx.check_rows_scaled`).
    """
    from chainrule.data import read_table
    from chainrule.data.csvfile import check_fits, without_label_column
    from chainrule.data.idx import check_rows_scaled
    from chainrule.train.runs import table_options

    check = None if n_features is None else model_input_width(path, n_features)
    # as the model's training file was read: its delimiter, and its label column wherever it is
    options = table_options((model_info or {}).get("meta", {}).get("run"))
    delimiter, label = options.get("delimiter"), options.get("label_column")
    wide = n_features is not None and first_line_width(path, delimiter) > n_features
    if label is not None and wide:
        table = read_table(path, delimiter=delimiter, text_column=label, check_width=check)
        table = without_label_column(path, table, label)
    else:
        table = read_table(path, delimiter=delimiter, columns=n_features, check_width=check)
    if n_features is None:
        n_features = len(table.names or table.body[0][1])
    table = _header_of_trained_names(path, table, n_features, model_info)
    _refuse_decimal_commas(path, table, n_features)
    if model_info is not None and table.names:
        check_feature_names(path, table.names[:n_features], model_info)
    check_fits(path, table, dtype)
    if pixel_range is not None:
        lines = table.body.lines.tolist()
        names = table.names[:n_features] if table.names else None
        check_rows_scaled(table.values[:, :n_features], pixel_range, str(path), lines, names)
    return table
