"""The training loop: full-batch sweeps or mini-batches, seeded, checkpointed, resumable.

One epoch: shuffle (with the trainer's own seeded generator), and for each mini-batch run the
network forward, the loss, the backward pass (every weight's dE/dw lands in ``p.grad``) and the
optimizer's step. Then the network is evaluated on the whole training set (and the validation
set) as it stands at the end of the epoch, the schedule is stepped, callbacks run and a
checkpoint is written. Everything random that the loop touches (the shuffling generator, the
generators of dropout layers) is saved in the checkpoint, so a run resumed from epoch 4 produces
bit-for-bit the weights an uninterrupted run produces.

Launched by mpiexec or srun, the same loop is data-parallel (:mod:`chainrule.distributed`):
each rank takes its block of every global mini-batch, the gradients are combined over the ranks
before each step (averaged for a loss whose ``reduction`` is ``"mean"``, summed for ``"sum"``,
so each replica gets the gradient of the whole global batch), the epoch's metrics are combined
over the ranks, and rank 0 alone writes checkpoints and decides when to stop early. The loss
must then say how it combines cases: a plain function as the loss needs a ``reduction``
attribute, ``"sum"`` or ``"mean"`` (see :meth:`Trainer.fit`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import reprlib
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import backend, distributed
from chainrule.backend import check_settings, keep_freed_memory, to_numpy
from chainrule.checks import computes_as, is_integer, is_real
from chainrule.creation import as_generator
from chainrule.errors import (
    ConfigError,
    DataError,
    LabelError,
    ModelFileError,
    ShapeError,
    TrainingDiverged,
    UserError,
    type_name,
    user_stacklevel,
)
from chainrule.ops.nn import check_labels
from chainrule.optim import Optimizer, PiecewiseSchedule, Schedule
from chainrule.tensor import Tensor
from chainrule.train.callbacks import (
    KERAS_FIT_NAMES,
    SAVED_WEIGHTS_PREFIXES,
    Callback,
    EarlyStopping,
    ProgressBar,
    check_callbacks,
    check_state_methods,
    checked_state,
    has_state,
    refuse_unknown_arguments,
    weights_to_continue_from,
)
from chainrule.train.history import History, loggable
from chainrule.train.metrics import (
    evaluate,
    first_parameter,
    loss_kind,
    model_input,
    one_output,
    param_dtype,
    target_array,
)

#: trainer.json's version: 2 since ``stopped_early`` and ``module_rngs_by_rank``, which a
#: reader of version 1 may predate (it resumed a run early stopping had ended, or an MPI
#: run's dropout with rank 0's generators). History: docs/training.md, "File formats and
#: their versions".
CHECKPOINT_VERSION = 2


class Trainer:
    """Fits ``model`` to a dataset by minimising ``loss`` with ``optimizer``.

    ``batch_size=None`` trains on the whole set at once (a "sweep", one weight change per epoch,
    as in RHW 1986); an int gives shuffled mini-batches, the last one smaller where it does not
    divide the set (kept, and stepped on its own). One of the set's size or more trains as
    None does, without a word (as PyTorch's DataLoader; a resume takes the two for one size;
    the scikit-learn estimators warn, as scikit-learn's do). ``seed`` seeds the loop's own
    randomness: the shuffling, and the masks of every Dropout layer built without a generator of
    its own (``rng=None``, which draws from chainrule's default generator, seeded from the OS at
    import: the fit that starts the run gives such a layer a generator seeded from ``seed``, so
    the run is the same in every process, ``cr.manual_seed`` called or not; the layer keeps it,
    and the fit that starts another trainer's run seeds it afresh from that trainer's ``seed``,
    so a network reused with its initial weights put back runs as a new one; a layer given
    ``rng=``, or ``layer.rng = ...``, keeps its generator and draws what it drew). The initial
    weights are the model's own doing (its layers' ``rng=``, else the default generator). A
    ``schedule`` (from :mod:`chainrule.optim`) is stepped once after every epoch.
    ``early_stopping`` is a patience (int) or an :class:`EarlyStopping`. With ``checkpoint_dir``
    the complete state is saved every ``checkpoint_every`` epochs (and after the last one), and
    also after any epoch that ends ``checkpoint_seconds`` or more after the last save (a long run
    with few, slow saves by count then loses at most that much to an interrupt);
    ``keep_checkpoints`` epoch directories are kept, the newest (0: all of them).
    ``standardizer`` and ``class_names`` (as :func:`chainrule.io.save_model` takes them) go into
    each checkpoint's model description, so a checkpoint predicts as the saved model does: the
    inputs scaled as in training, the classes named. The trainer does not apply the
    standardizer: the datasets given to :meth:`fit` hold its output
    (``standardizer.transform(X)``), and a training set whose columns keep the standardizer's
    means and standard deviations (its raw data) is refused with a ConfigError.

    Attributes: ``model``, ``loss``, ``optimizer``, ``schedule``, ``history`` (a
    :class:`History`), ``epoch`` (epochs completed), ``epochs`` (the target), ``stop_training``
    (set it from a callback to stop after the current epoch), ``stopped_early`` (True once a
    callback stopped the run, as :class:`EarlyStopping` does: the run is finished, see
    :meth:`fit`), ``train_ds``, ``val_ds``.

    Every loss it reports (what :meth:`step` returns, the History's "loss" and "val_loss", and
    so a run's history.json and run.json) and the one early stopping watches is the loss of the
    data alone, as ``loss`` computes it: the optimizer's weight decay is in its step (on every
    parameter, biases too), and its term weight_decay/2 * sum w^2 is in none of them, as in
    PyTorch (docs/training.md, "Weight decay and the losses reported", writes it into the logs).
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        optimizer: Any,
        *,
        batch_size: int | None = None,
        seed: int = 0,
        callbacks: Iterable[Callback] = (),
        schedule: Any = None,
        early_stopping: int | EarlyStopping | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        keep_checkpoints: int = 2,
        checkpoint_seconds: float | None = None,
        progress: bool = True,
        meta: dict | None = None,
        standardizer: Any = None,
        class_names: list[str] | None = None,
        **keras_names: Any,
    ) -> None:
        refuse_unknown_arguments("Trainer", keras_names, _TRAINER_ARGUMENTS, KERAS_FIT_NAMES)
        if batch_size is not None and not (is_integer(batch_size) and batch_size >= 1):
            raise UserError(f"batch_size must be a positive integer or None, not {batch_size!r}")
        if not (is_integer(seed) and seed >= 0):
            raise UserError(f"seed must be a non-negative integer, not {seed!r}")
        _check_loss(loss)
        _check_output_unit(model, loss)
        #: the warning _check_optimizer_trains gave, told once
        self._optimizer_note = _check_optimizer_trains(model, loss, optimizer)
        _check_schedule(schedule, optimizer)
        self.model, self.loss, self.optimizer, self.schedule = model, loss, optimizer, schedule
        #: the optimizer's hyperparameters as this run was set up (saved; a resume compares them)
        self._run_settings = _run_settings(optimizer, schedule)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.callbacks: list[Callback] = check_callbacks(callbacks)
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            early_stopping = EarlyStopping(patience=early_stopping)
        self.early_stopping = early_stopping
        if early_stopping is not None:
            self.callbacks.append(early_stopping)
        self._world = distributed.world()  # several ranks under mpiexec/srun: data-parallel
        self._averager: distributed.GradientAverager | None = None
        if progress and self._world.is_main:
            self.callbacks.append(ProgressBar())
        self.checkpoint_dir = None
        if checkpoint_dir is not None:  # a file in the way: refused now, not after an epoch
            from chainrule import io

            check_state_methods(self.callbacks)  # a checkpoint calls them: now
            self.checkpoint_dir = io.checkpoint_directory(checkpoint_dir)
        if not (is_integer(checkpoint_every) and checkpoint_every >= 0):
            raise UserError(
                f"checkpoint_every must be a whole number of epochs, not {checkpoint_every!r}"
            )
        self.checkpoint_every = max(1, int(checkpoint_every))  # 0: every epoch, as 1
        if checkpoint_seconds is not None and not _is_seconds(checkpoint_seconds):
            raise UserError(
                f"checkpoint_seconds must be a number of seconds >= 0 or None, not "
                f"{checkpoint_seconds!r}"
            )
        self.checkpoint_seconds = checkpoint_seconds
        self._saved_at = time.monotonic()
        if not (is_integer(keep_checkpoints) and keep_checkpoints >= 0):
            raise UserError(
                f"keep_checkpoints must be a whole number of checkpoints (0: keep all), not "
                f"{keep_checkpoints!r}"
            )
        self.keep_checkpoints = int(keep_checkpoints)
        self.meta = dict(meta or {})
        #: whether meta's "task" is the training set's, put there by a fit (not given)
        self._task_recorded = False
        self.standardizer, self.class_names = standardizer, class_names
        if self.checkpoint_dir is not None:  # what the first checkpoint would refuse: now
            from chainrule import io

            io.checkpoint_description(self, self.checkpoint_dir)
        self.history = History()
        self.epoch = 0
        self.epochs = 0
        self.stop_training = False
        self.stopped_early = False
        self.best_epoch: int | None = None
        self.last_checkpoint: Path | None = None
        self.train_ds: Any = None
        self.val_ds: Any = None
        self.batches_per_epoch = 1
        #: every rank's generator states while a checkpoint of several ranks is written
        self._rank_rngs: list[dict[str, Any]] | None = None
        #: the dropout generators that are this rank's own: split from rank 0's at the start of
        #: a fit of several ranks, or restored from this rank's states in a checkpoint
        self._own_generators: list[np.random.Generator] = []
        #: the generators this trainer gave dropout layers (seeded from ``seed``, or carrying a
        #: checkpoint's state): its own run's, never seeded again by it (a fit again goes on)
        self._handed_out: list[np.random.Generator] = []
        #: (trainer.json, its batch_size) of a checkpoint loaded, until a fit has checked it
        self._resumed_batch_size: tuple[Path, int | None] | None = None
        #: whether a fit warned that the loss does not say where an output unit counts as on
        self._told_threshold = False
        #: (callback class, key) of the writes into logs a fit has warned about
        self._told_logs: set[tuple[str, Any]] = set()

    # -- the loop -----------------------------------------------------------------------------
    def fit(
        self, train_ds: Any, val_ds: Any = None, epochs: int = 10, **keras_names: Any
    ) -> History:
        """Train until ``epochs`` epochs are complete in all (a resumed trainer continues from
        ``self.epoch``), or a callback sets ``stop_training``. Returns the :class:`History`.

        A run a callback stopped (early stopping) is finished: fitting it again, or a trainer
        resumed from its checkpoint, trains no further, whatever ``epochs`` says (only the
        callbacks' ``on_fit_start`` and ``on_fit_end`` run: early stopping puts the best
        weights back). Set ``stopped_early = False`` first to train on regardless.

        Fitting again to train more epochs continues the run exactly as one uninterrupted fit
        (or a resume from its last checkpoint) would: from the weights the last epoch ended
        with, even though :class:`EarlyStopping` put the best epoch's weights into the model at
        the end of the previous fit (they stay there between the fits; it remembers the last
        ones and puts them back when this trainer's fit trains on).

        Under mpiexec/srun (several ranks) the gradients of the ranks' blocks are averaged, or
        summed for a loss that is a sum over cases: the loss says which by its ``reduction``
        (``"mean"`` or ``"sum"``, as chainrule's losses do). A plain function as the loss has
        none: give it one (``E.reduction = "sum"``), or every rank refuses the fit at its start
        with a :class:`~chainrule.errors.ConfigError` (one process needs none).

        A keyword of Keras's ``fit`` (``validation_split``, ``validation_data``, ``verbose``,
        ``class_weight``...) is a TypeError saying chainrule's way (or that it has none), as
        :func:`fit` and :class:`Trainer` do.
        """
        refuse_unknown_arguments(
            "Trainer.fit", keras_names, ("train_ds", "val_ds", "epochs"), KERAS_FIT_NAMES
        )
        if not (is_integer(epochs) and epochs >= 0):
            raise UserError(f"epochs must be a non-negative integer, not {epochs!r}")
        for what, ds in (("train_ds", train_ds), ("val_ds", val_ds)):
            if ds is not None or what == "train_ds":
                _check_dataset(what, ds)
        if len(train_ds) == 0:
            raise UserError("the training set is empty")
        _check_same_case_shape(train_ds, val_ds)
        _check_scaled(self.standardizer, train_ds)
        if int(epochs) > self.epoch and not self.stopped_early:  # frozen or replaced since
            self._optimizer_note = _check_optimizer_trains(
                self.model, self.loss, self.optimizer, self._optimizer_note
            )
        self._check_resumed_batch_size(len(train_ds))
        self._record_task(train_ds)
        self.train_ds, self.val_ds, self.epochs = train_ds, val_ds, int(epochs)
        self.stop_training = False
        if self.epoch == 0:  # the settings the run trains with (opt.lr set after Trainer())
            self._run_settings = _run_settings(self.optimizer, self.schedule)
        check_settings()
        keep_freed_memory()  # a training loop reuses its big arrays: see the function
        self.batches_per_epoch = _n_batches(len(train_ds), self.batch_size)
        X, T = self._arrays(train_ds, val_ds)
        self._tell_assumed_threshold(train_ds, T.shape[-1] if T.ndim == 2 else None)
        self._seed_dropout_generators()
        if self._world.size > 1:
            self._start_replicas(X, T)
        try:  # the progress bar closes whatever fails (a callback's on_fit_end too: rich's
            # thread went on redrawing it, and every later print went through it)
            self._call("on_fit_start", self)
            if self.checkpoint_dir is not None:  # a state a checkpoint cannot keep: now
                self._check_callback_states()
                from chainrule import io  # a model changed since the Trainer was made

                io.checkpoint_description(self, self.checkpoint_dir)  # (a float64 mask)
            # Ctrl-C stops between two steps (several ranks: at the same one); one that comes
            # after the last step waits for the fit's end (early stopping's best weights back)
            with self._world.deferring_interrupts(lambda: self._where_stopped(self.epoch, 0)):
                while not (self.finished or self.stop_training):
                    self._run_epoch(X, T)
                self._call("on_fit_end", self)
                if self._world.size > 1:  # the best epoch's weights, as rank 0 restored them
                    distributed.broadcast_parameters(self.model)
                    # a stop noted after the last step (rank 0 writing the last checkpoint):
                    # every rank stops here together, as at a step, not each alone at the end
                    self._world.stop_if_noted_on_any_rank()
        except BaseException:  # every bar: one passed in callbacks= too, not only the own
            for bar in self.callbacks:
                if isinstance(bar, ProgressBar):
                    with contextlib.suppress(Exception):  # (a subclass's close) the error stands
                        bar.close(clear=True)
            raise
        return self.history

    def _record_task(self, ds: Any) -> None:
        """Put the training set's task (``ds.task``: "classification", "regression",
        "multilabel") into ``meta`` as ``"task"``, where ``chainrule train`` records its runs'
        (and :func:`chainrule.cli.train.saved_task` reads it), so a checkpoint predicts as the
        model it holds was trained: a multilabel one the units that are on, not one class. A
        task the ``meta`` given already records (``"task"``, or its ``run``'s) is left as given;
        a later fit on a set of another task records that one."""
        task = getattr(ds, "task", None)
        if not isinstance(task, str) or not task:
            return
        run = self.meta.get("run")
        given = self.meta.get("task") or (run.get("task") if isinstance(run, dict) else None)
        if given is None or self._task_recorded:
            self.meta["task"], self._task_recorded = task, True

    def _tell_assumed_threshold(self, ds: Any, n_outputs: int | None) -> None:
        """Warn, once for this trainer, where the accuracy of classes read from output units
        on or off (one unit for two classes, multilabel) rests on a guess: the loss says
        neither which unit it applies (``output_activation``) nor where a unit counts as on
        (``threshold``), as a plain function does not, and the model does not end in a
        logistic unit, whose outputs are probabilities. The outputs are then cut at 0.5, as
        probabilities: a loss that takes logits (a binary cross-entropy of one's own) was
        scored, and its checkpoint predicted, at logit 0.5 without a word."""
        if self._told_threshold or not _cut_is_guessed(self.loss, self.model, ds, n_outputs):
            return
        self._told_threshold = True
        name = getattr(self.loss, "__name__", None)
        name = name if isinstance(name, str) and name.isidentifier() else "loss"
        warnings.warn(
            f"fit: the loss {_described(self.loss)} does not say how the network's outputs "
            "are read, so the accuracy takes them for probabilities and counts an output unit "
            "as on above 0.5; if the loss takes logits (it applies the logistic itself), set "
            f'{name}.output_activation = "logistic" (on above logit 0); if its outputs are '
            f"probabilities, set {name}.threshold = 0.5 (or another cut) to say so",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def _check_callback_states(self) -> None:
        """Check each stateful callback's ``state()`` as a checkpoint keeps it, at the start of
        a fit that saves checkpoints: one of the wrong shape (one dict) failed at the first
        checkpoint, after epochs of training, without naming the callback. A ``state()`` that
        cannot answer yet (built at the first epoch) is asked again at the checkpoint."""
        for _, callback in self._stateful_callbacks():
            try:
                state = callback.state()
            except Exception:  # a state built later: the checkpoint asks again, its error stands
                continue
            checked_state(callback, state)

    @property
    def finished(self) -> bool:
        """Whether :meth:`fit` has nothing left to train: all its epochs done, or stopped early."""
        return self.stopped_early or self.epoch >= self.epochs

    @property
    def validates(self) -> bool:
        """Whether each epoch is evaluated on validation data: ``val_ds`` is given and has
        cases (the one place this is decided; :class:`EarlyStopping` asks it too)."""
        return self.val_ds is not None and len(self.val_ds) > 0

    def _start_replicas(self, X: np.ndarray, T: np.ndarray) -> None:
        """Several ranks: check they agree, then give every replica rank 0's state."""
        validation = None if self.val_ds is None else (self.val_ds.X, self.val_ds.y)
        # the first difference is named: the settings first (the run's too, in meta), then the
        # data (a seed or a split of its own divides the same file differently: the option is
        # what differs, not the file)
        self._world.check_same("training setup", {
            "batch_size": self.batch_size, "seed": self.seed, "epoch": self.epoch,
            "epochs": self.epochs, "loss": _described(self.loss),
            "loss reduction": repr(getattr(self.loss, "reduction", None)),
            "optimizer": repr(self.optimizer),
            "meta": _without_paths(self.meta), "schedule": self._schedule_plan(),
            # a save asks every rank whether it is due (a broadcast): ranks that checkpoint
            # differently met different collectives and died with MPI's own error at the end
            "checkpoints": (self.checkpoint_dir is not None, self.checkpoint_every,
                            self.checkpoint_seconds),
            "cases": len(self.train_ds), "validation cases": _len(self.val_ds),
            "data": distributed.fingerprint(X, T),
            "validation data": validation and distributed.fingerprint(*validation),
            "parameters": [(tuple(p.shape), str(p.dtype)) for p in self.model.parameters()],
            # a parameter frozen on some ranks only would be trained by the others alone: the
            # replicas drifted apart unseen
            "frozen parameters (requires_grad=False)": [
                name for name, p in self.model.named_parameters() if not p.requires_grad
            ],
        })  # fmt: skip
        try:  # the ranks agree on the loss's reduction (compared above): every rank stops here
            _reduction(self.loss)
        except ConfigError as error:
            raise distributed._stopping_together(error) from None
        distributed.broadcast_parameters(self.model)
        distributed.broadcast_optimizer(self.optimizer)
        # the parameters as they are now: ones replaced since the last fit (a new head) are
        # averaged too, not the ones the last fit's averager was built for
        self._averager = None
        self._split_dropout_generators()

    def _seed_dropout_generators(self) -> None:
        """Give the modules drawing from chainrule's default generator (a Dropout built without
        ``rng=``; that generator is seeded from the OS at import unless ``cr.manual_seed``
        seeded it) one generator of the trainer's, shared as they shared the default: at the
        start of a run (epoch 0) seeded from ``seed`` (the first child of its SeedSequence, not
        the shuffling's stream), so ``seed`` makes the run the same in every process; in a run
        that goes on, one carrying on from the default's state (a layer given the default
        after the start). A resume never leaves the default in a layer: it gives such a layer a
        new generator carrying the saved state (:func:`_load_module_rng_states`).

        The start of a run seeds a generator another trainer gave a layer (a
        :class:`TrainerGenerator`, an earlier fit's) as it seeds the default, which the layer
        drew from before that fit: a network reused with its initial weights put back (a
        hyperparameter search) runs as a new one does with this ``seed`` (taken for a
        generator of the layer's own, the first fit's gave another run at every later fit).
        This trainer's own generators go on (a fit again after an interrupt in the first
        epoch, a resume), and a generator of a module's own (the user's, a plain Generator)
        is left as it is, drawing what it drew."""
        default = as_generator(None)
        mine = self._handed_out + self._own_generators

        def seeded_here(generator: np.random.Generator) -> bool:
            if generator is default:
                return True
            return (
                self.epoch == 0
                and isinstance(generator, TrainerGenerator)
                and not any(generator is own for own in mine)
            )

        holders = [(m, name) for _, m, name, g in _generator_buffers(self.model) if seeded_here(g)]
        if not holders:
            return
        if self.epoch == 0:
            own = TrainerGenerator(np.random.PCG64(np.random.SeedSequence(self.seed).spawn(1)[0]))
        else:  # a layer given the default after the run started: carries on from its state
            own = _default_kind_in(default.bit_generator.state)
        self._handed_out.append(own)
        for module, name in holders:
            setattr(module, name, own)

    def _split_dropout_generators(self) -> None:
        """Several ranks: give every rank but rank 0 dropout generators of its own, so the
        blocks of a global batch get different masks (every rank built them from one seed).

        Rank ``r > 0`` gives each module whose generator is neither split yet nor restored
        from a checkpoint of this rank a new one, seeded ``SeedSequence([a number the old one
        would draw next, r])``: deterministic, and the user's own generator object is left as
        it was (the user may draw from it too). Modules that shared a generator share the new
        one. Rank 0's are untouched (one process draws what it always drew). A resumed run
        restores each rank's own states instead, and a later fit keeps the ones it has."""
        rank, fresh_for = self._world.rank, {}  # id(old generator) -> its replacement
        for module in self.model.modules():
            for name, generator in list(module._buffers.items()):
                if not isinstance(generator, np.random.Generator) or any(
                    generator is done for done in self._own_generators
                ):
                    continue
                if rank > 0:
                    if id(generator) not in fresh_for:
                        fresh_for[id(generator)] = _split_generator(generator, rank)
                    generator = fresh_for[id(generator)]
                    setattr(module, name, generator)
                self._own_generators.append(generator)

    def _schedule_plan(self) -> Any:
        """The schedule as the learning rate of every epoch of the fit (its repr names neither
        a StepLR's gamma nor its step size, so replicas could diverge on them unseen)."""
        if self.schedule is None:
            return None
        return type(self.schedule).__name__, [self.schedule.lr_at(e) for e in range(self.epochs)]

    def _arrays(self, ds: Any, val_ds: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The training set's inputs and targets as the steps take them. A validation set's
        targets are checked against the model's outputs here too, before any training: a label
        out of range surfaced only after a whole epoch (the weights already changed), from the
        loss deep in evaluate, without naming the validation set."""
        dtype = param_dtype(self.model)
        X = np.ascontiguousarray(ds.X, dtype=dtype)
        try:
            first = np.asarray(_forward_one(self.model, X[:1]))  # the first case's outputs
        except ShapeError as error:
            # the probe ran one case: the layer's message showed (1, ...), not the data's shape
            probe, shape = str(tuple(X[:1].shape)), str(tuple(X.shape))
            raise ShapeError(
                f"fit: train_ds's X has shape {shape}, which the model does not take: "
                f"{str(error).replace(probe, shape)}"
            ) from None
        if ds.task != "regression" and first.ndim != 2:  # the epoch's accuracy reads rows
            shape = ", ".join(["n", *map(str, first.shape[1:])]) + "," * (first.ndim == 1)
            if first.ndim > 2:  # one softmax over T * C classes is no sequence's loss
                fix = (
                    "fit takes one output row per case: outputs of more axes, a sequence's "
                    "per-step (n, T, C), are trained by a loop of one's own (docs/nn.md, "
                    "Recurrent nets), not reshaped to one softmax over T * C classes"
                )
            else:
                fix = (
                    "reshape the outputs in the forward (out.reshape(len(x), -1)), or use "
                    "task='regression', which has no accuracy"
                )
            raise DataError(
                f"fit: the model gives outputs of shape ({shape}) for n cases, "
                f"but a {ds.task} set is scored on one row of output units per case (2-D); {fix}"
            )
        n_outputs = int(first.shape[-1])
        T = self._targets(ds, "the training set (train_ds)", n_outputs, dtype)
        if val_ds is not None and len(val_ds):  # an empty one is never run
            self._targets(val_ds, "the validation set (val_ds)", n_outputs, dtype)
        return X, T

    def _targets(self, ds: Any, which: str, n_outputs: int, dtype: Any) -> np.ndarray:
        """``ds``'s targets as the loss reads them, their class labels checked against the
        model's ``n_outputs`` by the checks the steps would make (``target_array``'s, and the
        cross-entropy's own for labels), raising the same error naming ``which`` set."""
        try:
            T = target_array(ds, self.loss, n_outputs, dtype)
            # labels a softmax loss reads as they are; one output unit is the loss's own
            # error (softmax over one unit), not a label's
            if ds.task == "classification" and loss_kind(self.loss) == "softmax" and n_outputs > 1:
                check_labels(T, n_outputs, (len(T), n_outputs))
        except (DataError, LabelError) as error:
            raise type(error)(f"fit: {which}: {error}") from None
        return T

    def _run_epoch(self, X: np.ndarray, T: np.ndarray) -> None:
        from chainrule.data import batches

        epoch = self.epoch + 1
        started = time.perf_counter()
        self._call("on_epoch_start", self, epoch)
        lr = getattr(self.optimizer, "lr", None)  # as the epoch's batches use it
        self.model.train()
        for batch, rows in enumerate(batches(len(X), self.batch_size, shuffle=True, rng=self.rng)):
            if self._world.stops_between_steps:  # Ctrl-C, noted in one process
                self._world.stop_between(self._where_stopped(epoch, batch))
            rows = self._world.shard(rows)  # this rank's block of the global batch
            value = self.step(X[rows], T[rows])
            self._call("on_batch_end", self, batch, value)
        logs = self._epoch_logs(epoch, lr)
        if not math.isfinite(logs["loss"]):
            raise TrainingDiverged(
                f"the training loss became {logs['loss']} in epoch {epoch}: the loss or its "
                "gradients became NaN or infinite. A learning rate too large does it (try a "
                "smaller learning rate), and so does, at any learning rate, an op whose "
                "derivative is not finite where it is taken (sqrt or log at 0, a division by 0): "
                "run the fit under `with cr.detect_anomaly():` to stop at the first op that "
                "makes a NaN or an infinity, and the line that called it"
            )
        overflowed = _first_non_finite_parameter(self.model, self.optimizer)
        if overflowed is not None:  # saturated outputs keep the loss finite: no model to keep
            raise TrainingDiverged(
                f"parameter {overflowed!r} became NaN or infinite in epoch {epoch} (the loss, "
                f"{logs['loss']:.6g}, stayed finite: the units it feeds saturate); try a "
                "smaller learning rate, or, for a NaN or infinite gradient, run the fit under "
                "`with cr.detect_anomaly():` to find the op that made it"
            )
        logs["time"] = round(time.perf_counter() - started, 6)
        self.epoch = epoch
        self.history.append(logs)  # a copy: the callbacks' logs are theirs to write in
        if self.schedule is not None:
            self.schedule.step()
        self._epoch_end(epoch, logs)
        self.stop_training = self._world.decide(self.stop_training)  # rank 0 decides for all
        self.stopped_early = self.stopped_early or self.stop_training
        last = epoch >= self.epochs or self.stop_training
        if self.checkpoint_dir is not None and (
            epoch % self.checkpoint_every == 0 or last or self._save_is_due()
        ):
            if self._world.size > 1:  # every rank is here: each one's generators, to rank 0
                self._rank_rngs = self._world.allgather_object(_module_rng_states(self.model))
            self.save_checkpoint(self.checkpoint_dir)

    def _where_stopped(self, epoch: int, batch: int) -> str:
        """What the model holds when a fit stops between two steps (a notebook's interrupt)."""
        if batch == 0 and self.finished:  # after the last step: nothing was cut short
            return (
                f"training stopped after its last epoch, {self.epoch}: the fit had finished, "
                "its history records every epoch"
            )
        if batch == 0:
            return f"training stopped after epoch {self.epoch}, the last its history records"
        if self.last_checkpoint is not None:
            exact = (
                f"resume from the last checkpoint, {self.last_checkpoint} "
                "(trainer.resume(trainer.last_checkpoint), or fit's resume=)"
            )
        else:
            exact = "start again with checkpoint_dir= and resume from the last checkpoint"
        # a fit again keeps the steps, the optimizer's state and the generators as they are
        return (
            f"training stopped between two steps of epoch {epoch}, after {batch} of its "
            f"batches: the model holds the weights those steps made; the history ends at "
            f"epoch {self.epoch}. A fit again trains epoch {epoch} again from its first batch, "
            f"on top of those {batch} steps (the optimizer's state and the generators as they "
            f"are now): not the run an uninterrupted fit makes; for that, {exact}"
        )

    def _save_is_due(self) -> bool:
        """Whether ``checkpoint_seconds`` have passed since the last save (rank 0's clock
        decides for every rank, so all of them take the same path)."""
        if self.checkpoint_seconds is None:
            return False
        return self._world.decide(time.monotonic() - self._saved_at >= self.checkpoint_seconds)

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        """One training step on one batch: clear the gradients, run the network and the loss,
        backward (every dE/dw lands in ``p.grad``), the ``on_after_backward`` callbacks, then the
        optimizer's update. Returns the batch's loss (of the data alone: the optimizer's weight
        decay is in its update, not in it). This is the library's one training step:
        the epoch loop, the web explorer and any other host call it.

        Under mpiexec/srun (several ranks, see :mod:`chainrule.distributed`) ``x`` and ``t`` are
        this rank's block of the global batch: before the callbacks and the update the
        gradients are averaged over the ranks (weighted by their cases) for a loss whose
        ``reduction`` is ``"mean"``, and summed for ``"sum"``, as
        :func:`chainrule.distributed.average_gradients` does; the loss returned is the whole
        batch's."""
        self.optimizer.zero_grad()
        if len(x) or self._world.size == 1:
            # the model's first parameter, without walking it: a chainrule optimizer (the only
            # kind Trainer takes) holds at least one
            batch = model_input(x, self.optimizer.params[0])
            error = self.loss(self.model(batch), Tensor(t))
            if not getattr(error, "requires_grad", True):  # the engine's words would not say
                raise UserError(_trains_nothing(self.model, self.loss))
            error.backward()
            value = float(error.item())
        else:  # more ranks than cases in this batch: this rank contributes nothing
            value = 0.0
        if self._world.size > 1:
            value = self._average_gradients(len(x), value)
        self._call("on_after_backward", self)
        self.optimizer.step()
        return value

    def _average_gradients(self, cases: int, value: float) -> float:
        """Several ranks: every replica gets the gradient of the whole global batch."""
        if self._averager is None:
            self._averager = distributed.GradientAverager(self.model.parameters(), self._world)
        if _reduction(self.loss) == "sum":  # the batch's loss is the sum of the ranks' sums
            return self._averager.average(1.0 if cases else 0.0, value, divide=False)
        return self._averager.average(float(cases), value)

    def _epoch_logs(self, epoch: int, lr: Any) -> dict[str, Any]:
        # a diverging fit's loss overflows here; _run_epoch checks it is finite and raises
        # TrainingDiverged, so NumPy's "overflow encountered in reduce" only came before it (and
        # under -W error was raised in its place); the validation loss overflows with it, and a
        # non-finite one is reported in the logs
        with np.errstate(over="ignore", invalid="ignore"):
            train = self._evaluate(self.train_ds)
            val = self._evaluate(self.val_ds) if self.validates else {}
        return {
            "epoch": epoch,
            "loss": train["loss"],
            "accuracy": train["accuracy"],
            "val_loss": val.get("loss"),
            "val_accuracy": val.get("accuracy"),
            "lr": None if lr is None else float(lr),
        }

    def _evaluate(self, ds: Any) -> dict[str, Any]:
        """Loss and accuracy on ``ds``; with several ranks each evaluates its block, allreduced."""
        if self._world.size == 1:
            return evaluate(self.model, self.loss, ds)
        start, stop = distributed.shard_bounds(len(ds), self._world.rank, self._world.size)
        part = _rows(ds, start, stop)
        local = evaluate(self.model, self.loss, part) if len(part) else {"loss": None}
        summed = ("loss",) if _reduction(self.loss) == "sum" else ()
        return self._world.reduce_metrics(
            {"loss": local["loss"], "accuracy": local.get("accuracy")}, len(part), summed
        )

    def _epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        """Call each callback's ``on_epoch_end`` with ``logs``, and keep in the epoch's
        History record what it wrote there under a key of its own (a ``"val_f1"``), as
        :func:`~chainrule.train.history.loggable` has it. The trainer's own keys keep the
        trainer's values, whatever a callback writes over them or deletes (a ``"n/a"`` or a
        ``logs.clear()`` wrote a history no checkpoint could be resumed from); a value the
        History cannot keep (a Tensor of several values, a datetime) is left out of it. Either
        warns once, naming the key and the callback; the callbacks after it see ``logs`` as it
        left them."""
        record = self.history.records[-1]
        own = set(record)  # the trainer's keys
        for callback in self.callbacks:
            before = dict(logs)
            callback.on_epoch_end(self, epoch, logs)
            for key, value in logs.items():
                if key in before and before[key] is value:
                    continue
                if key in own:
                    if not _same(value, record[key]):
                        self._tell_logs(
                            callback,
                            key,
                            "is the trainer's: the History keeps the trainer's value; log "
                            "a number of the callback's own under another key",
                        )
                    continue
                try:
                    record[key] = loggable(key, value)
                except TypeError as error:  # what it is: "a datetime"
                    record.pop(key, None)
                    self._tell_logs(
                        callback,
                        key,
                        f"is {error}, which the History cannot keep: it is "
                        "left out of the History and the checkpoints; log numbers, strings, "
                        "True/False, None, and lists and dicts of them",
                    )
            for key in before.keys() - logs.keys() - own:  # deleted: not the History's either
                record.pop(key, None)

    def _tell_logs(self, callback: Any, key: Any, what: str) -> None:
        """Warn, once for this trainer, callback class and key, about what a callback wrote
        into ``logs[key]``."""
        told = (type(callback).__name__, key)
        if told in self._told_logs:
            return
        self._told_logs.add(told)
        warnings.warn(
            f"callback {type(callback).__name__}: logs[{key!r}] {what}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    # -- state for checkpoints ---------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything but the weights, as (JSON-able scalars, named arrays) for a checkpoint."""
        optimizer = self.optimizer.state_dict()
        arrays = {f"optimizer/{k}": np.asarray(v) for k, v in optimizer["state"].items()}
        callbacks = {}
        for key, callback in self._stateful_callbacks():
            scalars, buffers = checked_state(callback, callback.state())
            callbacks[key] = scalars
            arrays.update({f"callback/{key}/{k}": v for k, v in buffers.items()})
        scalars = {
            "version": CHECKPOINT_VERSION,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "stopped_early": self.stopped_early,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "history": self.history.to_list(),
            "rng": self.rng.bit_generator.state,
            "module_rngs": _module_rng_states(self.model),
            # config: the hyperparameters as a schedule left them; initial: as the run began
            "optimizer": {
                "type": type(self.optimizer).__name__,
                "config": optimizer["config"],
                "initial": dict(self._run_settings),
            },
            "schedule": _schedule_state(self.schedule),
            "callbacks": callbacks,
            "meta": self.meta,
            # model.json's loss is null for a loss no file can rebuild: this names what it was
            "user_loss": user_loss(self.loss),
        }
        if self._rank_rngs and any(self._rank_rngs):  # several ranks: each one's generators
            scalars["module_rngs_by_rank"] = self._rank_rngs
        return scalars, arrays

    def load_state(self, checkpoint: dict[str, Any]) -> None:
        """Continue from a checkpoint read by :func:`chainrule.io.load_checkpoint`.

        The checkpoint's weights are copied into this trainer's model, and the optimizer,
        schedule, callbacks, generators and history are restored. The run's settings must be
        this trainer's: its architecture (the activations too; not the dtype or the initial
        weights' recipe), its loss, its optimizer and the hyperparameters it was set up with
        (not those a schedule moved them to), its ``seed``, and its batch size once :meth:`fit`
        trains on.
        A difference raises :class:`~chainrule.errors.ModelFileError` naming the file, the
        field, the checkpoint's value and this trainer's, before anything changes; so does a
        part of the checkpoint that does not fit (the optimizer's state, the schedule's, a
        generator's, a callback's), and the trainer is left as it was: all or nothing.

        What decides only the epochs still to come is this trainer's: a schedule the
        checkpoint holds no state of (the first run had none, or another kind) is put at the
        resumed epoch (:meth:`~chainrule.optim.schedules.Schedule.start_at`, exact: each
        schedule is a function of the epoch count), and :class:`EarlyStopping` watches its own
        ``monitor`` and ``mode``, starting its best afresh where they differ from the
        checkpoint's (see :meth:`EarlyStopping.load_state`).
        """
        from chainrule.io import OPTIMIZER_FILE, check_weights

        check_state_methods(self.callbacks)  # the resume calls load_state: refused first
        state, arrays = checkpoint["state"], checkpoint["arrays"]
        source = checkpoint["path"]
        weights = checkpoint["model"].state_dict()
        # the settings first: a model of another size is the trainer's difference, named as
        # one (field 'architecture.layers[0].n_out'), not the checkpoint file's wrong shape
        self._check_same_run(checkpoint)
        check_weights(self.model, weights, source)
        arrays_file = Path(source) / OPTIMIZER_FILE  # what a state that does not fit is read from
        _refuse_unexpected_arrays(arrays, state, arrays_file)
        opt_arrays = _strip(arrays, "optimizer/")
        # state_dict counts every parameter's steps: a state without any is a lost one
        if not opt_arrays and self.optimizer.params:
            raise ModelFileError(f"{arrays_file}: the optimizer's state is missing (no "
                                 "optimizer/ arrays); the run cannot continue where it "
                                 "stopped")  # fmt: skip
        # everything below changes the trainer, and some parts are checked only as they load
        # (a callback's state, above all a user's own; the schedule's; the generators'): one
        # refused after others were loaded puts all of them back, so a refused resume leaves
        # the trainer as it was
        with self._all_or_nothing():
            self._load_parts(state, arrays, weights, Path(source), opt_arrays, checkpoint)

    def _load_parts(
        self,
        state: dict[str, Any],
        arrays: dict[str, np.ndarray],
        weights: dict[str, np.ndarray],
        source: Path,
        opt_arrays: dict[str, np.ndarray],
        checkpoint: dict[str, Any],
    ) -> None:
        """Load a checkpoint :meth:`load_state` has checked: the optimizer, the weights, the
        counts and generators, the schedule and the callbacks, in this order."""
        from chainrule.io import OPTIMIZER_FILE, TRAINER_JSON, check_weights

        arrays_file = source / OPTIMIZER_FILE
        try:  # the optimizer's load checks everything first and changes nothing if it refuses
            self.optimizer.load_state_dict({"config": state["optimizer"]["config"],
                                            "state": opt_arrays})  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(
                f"{arrays_file}: the optimizer state does not fit this "
                f"{type(self.optimizer).__name__} ({error})"
            ) from None
        # None: a full batch (a file without the field: this trainer's)
        batch_size = state.get("batch_size", self.batch_size)
        self._resumed_batch_size = (source / TRAINER_JSON, batch_size)
        dtypes = self._host_dtypes()
        self.model.load_state_dict({k: v.astype(dtypes[k], copy=False) for k, v in weights.items()})
        _load_frozen(self.model, checkpoint["model_info"], source)
        self.epoch = int(state["epoch"])
        self.stopped_early = stopped_early(state)
        self.history = History(state.get("history", []))
        try:  # NumPy refuses another kind's state (MT19937's for a PCG64 generator)
            self.rng.bit_generator.state = state["rng"]
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ModelFileError(
                f"{source / TRAINER_JSON}: field 'rng' does not fit this trainer's "
                f"generator ({error})"
            ) from None
        _load_module_rng_states(
            self.model, _rank_rng_states(state, self._world.rank, source), source
        )
        by_rank = state.get("module_rngs_by_rank")
        # this rank's own generator states, as its uninterrupted run had them: not split again
        # (a checkpoint of one process, or of fewer ranks, holds rank 0's: split at the fit)
        own = self._world.rank == 0 or (by_rank is not None and self._world.rank < len(by_rank))
        self._own_generators = [g for _, g in _module_generators(self.model)] if own else []
        # the run's generators, restored: this trainer's now (a fit at epoch 0 goes on with them)
        self._handed_out = [
            g for _, g in _module_generators(self.model) if isinstance(g, TrainerGenerator)
        ]
        try:
            _load_schedule_state(self.schedule, state.get("schedule"), self.epoch)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{source}: the schedule state does not fit ({error})") from None
        saved = state.get("callbacks", {})
        loaded = set()
        for key, callback in self._stateful_callbacks():
            found = key if key in saved else _older_key(saved, key)
            if found is not None:
                self._load_callback(callback, found, saved[found],
                                    _strip(arrays, f"callback/{found}/"), source,
                                    checkpoint)  # fmt: skip
                loaded.add(found)
        if "EarlyStopping" in saved and "EarlyStopping" not in loaded:
            # the best epoch's weights stood in the model when it was saved: a trainer without
            # early stopping goes on from the last epoch's too
            last = weights_to_continue_from(
                saved["EarlyStopping"], _strip(arrays, "callback/EarlyStopping/")
            )
            if last is not None and int(saved["EarlyStopping"]["last_epoch"]) == self.epoch:
                check_weights(self.model, last, arrays_file)
                prefix = "callback/EarlyStopping/" + SAVED_WEIGHTS_PREFIXES["last"]
                where = f"{arrays_file} (EarlyStopping's state), the last weights"
                _check_kept_dtypes(checkpoint, last, prefix, where)
                self.model.load_state_dict({k: v.astype(dtypes[k]) for k, v in last.items()})

    @contextlib.contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Put back everything :meth:`load_state` changes, as it was on entering the block,
        when the block raises: a callback's state, the schedule's or a generator's refused after
        the optimizer and the model were loaded left the trainer half resumed (the checkpoint's
        epoch, weights and history beside this trainer's other state)."""
        weights = self.model.state_dict()  # copies, as the optimizer's state_dict
        trains = [(p, p.requires_grad) for p in self.model.parameters()]
        optimizer = self.optimizer.state_dict()
        schedule = _schedule_state(self.schedule)
        rng, generators = self.rng.bit_generator.state, _kept_module_generators(self.model)
        callbacks = [
            (callback, _kept_callback(callback)) for _, callback in self._stateful_callbacks()
        ]
        names = ("epoch", "stopped_early", "history", "_own_generators", "_handed_out",
                 "_resumed_batch_size")  # fmt: skip
        attributes = {name: getattr(self, name) for name in names}  # each replaced, not changed
        try:
            yield
        except BaseException:
            if self.schedule is not None:
                self.schedule.load_state_dict(schedule)
            self.optimizer.load_state_dict(optimizer)  # after the schedule: its learning rate
            self.model.load_state_dict(weights)
            for parameter, flag in trains:
                parameter.requires_grad = flag
            self.rng.bit_generator.state = rng
            _put_module_generators_back(generators)
            for name, value in attributes.items():
                setattr(self, name, value)
            for callback, kept in callbacks:  # last: a user's own code, which may raise
                _put_callback_back(callback, kept)
            raise  # the refusal itself, whatever putting the callbacks back met

    def _check_same_run(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another run than this trainer's: another architecture (an
        activation of the same shapes too), loss or optimizer, the optimizer's hyperparameters
        as the run was set up (:func:`_run_settings`: the checkpoint's ``optimizer.config`` holds
        them as a schedule moved them, which the resume puts in) or another ``seed``, naming the
        file, the field, the checkpoint's value and this trainer's (weights of the same shapes
        loaded without a word, and the run went on with other settings; the checkpoint's
        hyperparameters replaced the ones given). The batch size waits for the fit
        (:meth:`_check_resumed_batch_size`). A checkpoint written before ``optimizer.initial``
        has its hyperparameters as they were reached alone: they are not compared."""
        from chainrule import io

        state, saved = checkpoint["state"], checkpoint["model_info"]
        epoch_dir = Path(checkpoint["path"])
        given = io.model_description(self.model, loss=self.loss)
        self._check_same_loss(checkpoint, given["loss"])
        initial = state["optimizer"].get("initial", {})
        if not isinstance(initial, dict):
            raise ModelFileError(
                f"{epoch_dir / io.TRAINER_JSON}: field 'optimizer.initial' must be an object of "
                f"hyperparameters, not {_shown(initial)}"
            )
        if self.epoch == 0:  # a trainer that has not trained: its optimizer's settings now
            self._run_settings = _run_settings(self.optimizer, self.schedule)
        # those both sides set up: a hyperparameter a PiecewiseSchedule writes is its own
        both = [key for key in self._run_settings if key in initial]
        settings = [  # (file, field, the checkpoint's, this trainer's, whether a new run may)
            (io.MODEL_JSON, "architecture", saved.get("architecture"), given["architecture"],
             False),
            (io.TRAINER_JSON, "optimizer.type", state["optimizer"]["type"],
             type(self.optimizer).__name__, False),
            (io.TRAINER_JSON, "optimizer.initial", {k: initial[k] for k in both},
             {k: self._run_settings[k] for k in both}, True),
            (io.TRAINER_JSON, "seed", state.get("seed", self.seed), self.seed, True),
        ]  # fmt: skip
        for file, field, theirs, ours, new_run in settings:
            _refuse_a_difference(epoch_dir / file, field, theirs, ours,
                                 epoch_dir if new_run else None)  # fmt: skip

    def _check_same_loss(self, checkpoint: dict[str, Any], described: Any) -> None:
        """Refuse a checkpoint of a run with another loss: another chainrule loss (as model.json
        describes it; ``described`` is this trainer's), or a loss of the user's own where this
        trainer has a chainrule loss, and back. A run whose loss was the user's own function
        (no model file can rebuild it: model.json's loss is null, trainer.json's ``user_loss``
        names it) resumes with a function of the user's given again; its name is not compared
        (the same function moved into a module of its own is the same loss)."""
        from chainrule.io import MODEL_JSON, TRAINER_JSON

        epoch_dir = Path(checkpoint["path"])
        theirs = checkpoint_user_loss(checkpoint["state"], checkpoint["model_info"])
        ours = user_loss(self.loss)
        if theirs is None and ours is None:
            saved = checkpoint["model_info"].get("loss")
            if isinstance(saved, dict) and isinstance(described, dict) and "threshold" not in saved:
                # a checkpoint records a threshold only since session 70 (nn.losses.with_threshold):
                # one without says nothing of it, so the loss's own is not compared
                described = {key: value for key, value in described.items() if key != "threshold"}
            elif isinstance(saved, dict) and isinstance(described, dict) and "threshold" in saved:
                # this loss cuts at its class's own (a default writes none): say which
                described = {"threshold": getattr(self.loss, "threshold", None), **described}
            _refuse_a_difference(epoch_dir / MODEL_JSON, "loss", saved, described)
        elif theirs is None:
            raise ModelFileError(
                f"{epoch_dir / MODEL_JSON}: the checkpoint's run trained with the loss "
                f"{_shown(checkpoint['model_info'].get('loss'))}, but this trainer's loss is "
                f"{ours}; resume a run with its own loss"
            )
        elif ours is None:
            raise ModelFileError(
                f"{epoch_dir / TRAINER_JSON}: the checkpoint's run trained with its own loss, "
                f"{theirs} (which no model file can hold), but this trainer's loss is "
                f"{_shown(described)}; give that function as the loss to resume the run"
            )

    def _check_resumed_batch_size(self, n: int) -> None:
        """Refuse to train a resumed run on with another batch size than it had, once, at the
        fit's start (a trainer may load a state to look at it: its batch size does not matter
        until it trains). Sizes that batch the training set's ``n`` cases alike are the same
        size: None and any size of ``n`` or more are one batch of all of them."""
        if self._resumed_batch_size is not None:
            (source, batch_size), self._resumed_batch_size = self._resumed_batch_size, None
            if _cases_a_batch(batch_size, n) != _cases_a_batch(self.batch_size, n):
                _refuse_a_difference(source, "batch_size", batch_size, self.batch_size)

    def _host_dtypes(self) -> dict[str, np.dtype]:
        """The dtype of each of the model's arrays on the host, whichever library the model
        lives in: what a resume casts saved weights to (a run may change its dtype)."""
        return {
            name: np.dtype(backend.dtype_name(value.dtype))
            for name, value in self.model.named_state()
        }

    def _load_callback(
        self,
        callback: Any,
        key: str,
        scalars: dict,
        arrays: dict,
        epoch_dir: Path,
        checkpoint: dict[str, Any],
    ) -> None:
        """A callback's saved state (``key``'s in the checkpoint ``epoch_dir``), loaded; a state
        that does not fit (a value of the wrong kind, early stopping's weights for another
        model, or stored in another dtype than the checkpoint's model) raises ModelFileError
        naming the file: its numbers are in trainer.json, its arrays in optimizer.safetensors."""
        from chainrule.io import OPTIMIZER_FILE, TRAINER_JSON, check_weights

        source = f"{epoch_dir / TRAINER_JSON} ({key}'s state)"
        try:
            callback.load_state(scalars, arrays)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{source}: does not fit ({error})") from None
        if not isinstance(callback, EarlyStopping):
            return
        source = f"{epoch_dir / OPTIMIZER_FILE} ({key}'s state)"
        if callback.restore_best and callback.best_epoch is not None and not callback.best_weights:
            raise ModelFileError(  # the run would end without the weights it promises
                f"{source}: the best epoch is {callback.best_epoch} but its weights are missing"
            )
        dtypes = self._host_dtypes()
        for what, weights in callback.saved_weights().items():
            where = f"{source}, the {what} weights"
            check_weights(self.model, weights, where)
            for name in dtypes:  # in the model's order, not the file's
                # integers or booleans are no saved weights
                array = weights[name]
                if array.dtype.kind != "f" or not np.isfinite(array).all():
                    raise ModelFileError(
                        f"{where}: {name!r} holds "
                        f"{'non-finite' if array.dtype.kind == 'f' else array.dtype} values"
                    )
            # stored in the checkpoint's model's dtype, as its own weights are (float16 and
            # bfloat16 went in cast, without a word); cast to this model's, as they are (a
            # resume may change the dtype)
            prefix = f"callback/{key}/{SAVED_WEIGHTS_PREFIXES[what]}"
            _check_kept_dtypes(checkpoint, weights, prefix, where)
            for name in dtypes:
                weights[name] = weights[name].astype(dtypes[name], copy=False)  # in its dict

    def save_checkpoint(self, directory: str | os.PathLike) -> Path | None:
        """Write the complete state to ``directory/epoch-NNNNNN/`` (atomically) and return that
        directory; with several ranks rank 0 writes, and a call on rank 0 alone is fine (no
        collective). The other ranks write nothing and get None (:attr:`last_checkpoint`, which
        stays None there). The fit loop's own saves also keep each rank's dropout generators
        (they drew their masks for blocks of different sizes), gathered before it calls this on
        every rank; a save called here by hand keeps rank 0's, as before."""
        from chainrule import io

        try:
            if self._world.is_main:  # one copy of the run: rank 0 writes it
                self.last_checkpoint = io.save_checkpoint(
                    directory, self, keep=self.keep_checkpoints
                )
        finally:
            self._rank_rngs = None
        self._saved_at = time.monotonic()
        return self.last_checkpoint

    def resume(self, path: str | os.PathLike) -> None:
        """Load the latest checkpoint under ``path`` into this trainer (see :meth:`load_state`)."""
        from chainrule import io

        _refuse_a_resume_flag(path, self.checkpoint_dir, "Trainer.resume")
        self.load_state(self._world.on_root(io.load_checkpoint, path))  # rank 0 reads it

    def _stateful_callbacks(self) -> list[tuple[str, Any]]:
        """``(key, callback)`` for each callback with a state: its class name, numbered from the
        second of one class on ("EarlyStopping", "Custom", "Custom-2"). The key does not depend
        on the other callbacks: a progress printer present in a run and not in its resume
        (``-q``) would move a positional key, and the state would silently not be loaded."""
        seen: dict[str, int] = {}
        found = []
        for cb in self.callbacks:
            if has_state(cb):
                name = type(cb).__name__
                seen[name] = seen.get(name, 0) + 1
                found.append((name if seen[name] == 1 else f"{name}-{seen[name]}", cb))
        return found


def _last_layer(model: Any) -> Any:
    """The layer a model's outputs come from: the last of a Sequential that runs its layers in
    turn (nested ones too), else the model itself (a forward of its own may leave its last
    layer out, a Softmax kept for predicting)."""
    from chainrule.nn import Sequential

    last = model
    while computes_as(last, Sequential) and len(last.layers):
        last = last.layers[-1]
    return last


def _cut_is_guessed(loss: Any, model: Any, ds: Any, n_outputs: int | None) -> bool:
    """Whether the accuracy on ``ds`` would decide output units on or off by a cut the loss
    does not give, on outputs that are not probabilities: classes from one unit, or
    multilabel units; a loss without ``output_activation`` and ``threshold`` (a plain
    function); a model whose outputs come from a layer known not to give probabilities (a
    Linear's logits, a Tanh, a ReLU). A model that ends in a module of the user's, or a
    wrapper whose last layer cannot be seen (a forward of its own ending in
    ``cr.sigmoid``), may give probabilities, which 0.5 cuts rightly: nothing is said."""
    task = getattr(ds, "task", None)
    if not (task == "multilabel" or (task == "classification" and n_outputs == 1)):
        return False
    if hasattr(loss, "output_activation") or hasattr(loss, "threshold"):
        return False
    return _gives_no_probabilities(_last_layer(model))


def _gives_no_probabilities(layer: Any) -> bool:
    """Whether ``layer``'s outputs are known not to be probabilities: a Linear (its logits),
    or a Tanh or a ReLU (a subclass with a forward of its own is none of them)."""
    from chainrule.nn import Linear
    from chainrule.nn.activations import activation_of

    return computes_as(layer, Linear) or activation_of(layer) in ("tanh", "relu")


def _same(value: Any, kept: Any) -> bool:
    """Whether a value a callback wrote over the trainer's ``kept`` one is the same (NaN as
    NaN; a value that cannot be compared is not)."""
    try:
        return value is kept or bool(value == kept) or (value != value and kept != kept)
    except Exception:  # an array of several values, a comparison that raises
        return False


def _check_output_unit(model: Any, loss: Any) -> None:
    """Refuse a model ending in the unit its loss applies itself (``nn.mlp(...,
    output="softmax")`` with ``CrossEntropy``): softmax twice trained a network whose outputs
    mean nothing the loss says, silently (``explain`` refuses the same pair)."""
    from chainrule.nn.activations import activation_of

    own = getattr(loss, "output_activation", None)
    last = _last_layer(model)
    if own is not None and last is not model and activation_of(last) == own:
        name = type(loss).__name__
        raise UserError(
            f"the model ends in a {type(last).__name__} layer and {name} applies {own} itself, "
            f"so loss(model(x), t) would apply {own} twice; remove the last layer ({name} "
            "takes the logits: nn.mlp(..., output=None)), or use a loss that compares the "
            "outputs as they are (nn.MSE(), nn.SquaredError())"
        )


def _check_optimizer_trains(
    model: Any, loss: Any, optimizer: Any, told: str | None = None
) -> str | None:
    """Refuse what is not a chainrule optimizer (a torch.optim one steps its own tensors, and
    the fit ran every epoch changing nothing), and an optimizer none of whose parameters is the
    model's or the loss's (one built on another network, or on a copy): the same silent run.
    So is an optimizer whose parameters of the model are all frozen while the model trains
    others, the rest of it no longer in the model (a layer replaced after the optimizer was
    made: every epoch changed nothing). An optimizer holding tensors that are not the model's
    while some the model trains are in none of it is told by a warning (returned, to tell it
    once: given back as ``told``, the same one is not told again): a replaced layer's new
    parameters never move, but a tensor of the user's own that a function loss uses (a
    learnable temperature) is no slip. A model whose parameters are all frozen is not refused
    here, as a callback may unfreeze them (gradual unfreezing): :meth:`Trainer.step` refuses a
    loss that requires no gradient. An optimizer on some of the trainable parameters (the
    others left as they are, or frozen) is fine."""
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(
            f"optimizer is {type_name(optimizer)}, not a chainrule optimizer: use one of "
            "chainrule.optim's, built on the model's parameters "
            "(cr.optim.SGD(model.parameters(), lr=0.1), Adam, AdamW, RMSprop)"
        )
    params = optimizer.params
    owned = dict(_named_parameters_of(model, "") + _named_parameters_of(loss, "loss."))
    if not any(id(p) in owned for p in params):
        raise UserError(
            f"{type(optimizer).__name__} updates {len(params)} parameters, none of them the "
            "model's or the loss's: build it on model.parameters() of the model being trained"
        )
    kind = type(optimizer).__name__
    remake = f"make the optimizer after replacing layers: cr.optim.{kind}(model.parameters(), ...)"
    trainable = {key: name for key, (name, p) in owned.items() if p.requires_grad}
    if not trainable:  # a callback may unfreeze them: the step refuses a loss needing no grad
        return None
    held = {id(p) for p in params}
    stale = sum(id(p) not in owned for p in params)
    left_out = [name for key, name in trainable.items() if key not in held]
    if not any(id(p) in trainable for p in params):
        frozen = [owned[id(p)][0] for p in params if id(p) in owned]
        gone = f", and {stale} no longer in the model (a layer replaced since)" if stale else ""
        raise UserError(
            f"{kind} updates {len(params)} parameters, none of which would train: the model's "
            f"{_names(frozen)} are frozen (requires_grad=False){gone}; the model's trainable "
            f"{_names(left_out)} are in no optimizer; {remake}"
        )
    if not (stale and left_out):
        return None
    tensors = "1 tensor that is" if stale == 1 else f"{stale} tensors that are"
    one = len(left_out) == 1
    note = (
        f"{kind} holds {tensors} not the model's or the loss's, and the model's trainable "
        f"{_names(left_out)} {'is' if one else 'are'} in none of it, so "
        f"{'it' if one else 'they'} will not train: if a layer was replaced after the "
        f"optimizer was made, {remake}; if leaving {'it' if one else 'them'} out is meant (the "
        "optimizer's other tensors your own, which a function loss uses), freeze "
        f"{'it' if one else 'them'} (p.requires_grad = False) and this warning goes"
    )
    if note != told:
        warnings.warn(note, UserWarning, stacklevel=3)
    return note


def _trains_nothing(model: Any, loss: Any) -> str:
    """Why a training step's loss requires no gradient, for its refusal."""
    owned = _named_parameters_of(model, "") + _named_parameters_of(loss, "loss.")
    if owned and not any(p.requires_grad for _, (_, p) in owned):
        return (
            f"all of the model's {len(owned)} parameters are frozen (requires_grad=False), so "
            "the fit would train nothing; unfreeze those to train (p.requires_grad = True, "
            "e.g. for the last layer: for p in model[-1].parameters(): p.requires_grad = True), "
            "before the fit or in a callback's on_epoch_start"
        )
    return (
        "this batch's loss requires no gradient, so the step would train nothing: it was "
        "computed from no trainable parameter (under cr.no_grad(), from .detach() or .numpy() "
        "values, by a function loss that makes a new tensor of the outputs, or one that returns "
        "a constant for a batch it masks all of, such as cr.tensor(0.0): return one computed "
        "from the outputs instead, (outputs * 0).sum(), whose gradient is 0)"
    )


def _named_parameters_of(owner: Any, prefix: str) -> list[tuple[int, tuple[str, Any]]]:
    """``(id, (name, parameter))`` of each of ``owner``'s parameters, its name prefixed; a
    loss without ``named_parameters`` (a function) has none, one with only ``parameters``
    numbered ones."""
    named = getattr(owner, "named_parameters", None)
    pairs = list(named()) if callable(named) else list(enumerate(_parameters_of(owner)))
    return [(id(p), (f"{prefix}{name}", p)) for name, p in pairs]


def _names(names: list[str], shown: int = 8) -> str:
    """``'0.weight', '0.bias'`` for a message: the first ``shown``, then how many more."""
    quoted = ", ".join(repr(name) for name in names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{quoted}{more}"


def _check_schedule(schedule: Any, optimizer: Optimizer) -> None:
    """Refuse a schedule that is not one of chainrule's built on this trainer's optimizer,
    before anything trains: the optimizer itself was stepped again after every epoch (on stale
    gradients), a name failed after the first epoch, and a schedule of another optimizer
    changed that one's learning rate while this one's stayed where it was."""
    if schedule is None or isinstance(schedule, Schedule) and schedule.optimizer is optimizer:
        return
    build = "build one on the trainer's optimizer: cr.optim.StepLR(optimizer, step_size=10)"
    if isinstance(schedule, Schedule):  # (two optimizers of one kind have the same repr)
        raise ConfigError(
            f"schedule {type(schedule).__name__} was built on another "
            f"{type(schedule.optimizer).__name__} than the trainer's optimizer, so the "
            f"trainer's learning rate would never change; {build}"
        )
    given = type_name(schedule)
    if schedule is optimizer:  # it has a step() and a state_dict(): it passed for one
        given = f"the trainer's optimizer itself ({given})"
    elif isinstance(schedule, str):
        given = f"the string {schedule!r}"
    elif isinstance(schedule, type):
        given = f"the class {schedule.__name__}"
    raise ConfigError(
        f"schedule is {given}, not a schedule: a schedule is one of chainrule.optim's "
        f"(StepLR, ExponentialLR, CosineLR, PiecewiseSchedule); {build}"
    )


def _load_frozen(model: Any, model_info: dict[str, Any], source: Path) -> None:
    """Freeze the parameters the checkpoint's model.json lists as ``frozen`` and unfreeze the
    others, as the run stood when it was saved (its flags are part of the run the resume
    continues: a run that froze or unfroze a layer part way goes on as it did, whatever the
    model was built with). A checkpoint without the field (written before it existed) leaves
    the flags as they are."""
    from chainrule.io import MODEL_JSON

    frozen = model_info.get("frozen")
    if frozen is None:
        return
    named = dict(model.named_parameters())
    unknown = [name for name in frozen if name not in named]
    if unknown:
        raise ModelFileError(
            f"{source / MODEL_JSON}: field 'frozen': {unknown[0]!r} is not a parameter of this "
            "trainer's model"
        )
    for name, parameter in named.items():
        parameter.requires_grad = name not in frozen


def _parameters_of(owner: Any) -> list[Any]:
    parameters = getattr(owner, "parameters", None)
    return list(parameters()) if callable(parameters) else []


def _older_key(saved: dict[str, Any], key: str) -> str | None:
    """The key an older checkpoint saved ``key``'s callback under ("2-EarlyStopping": its place
    among all callbacks, then its class): the n-th of that class in the list, or None."""
    name, _, number = key.partition("-")
    older = sorted(
        (int(index), k)
        for k in saved
        for index, _, cls in [k.partition("-")]
        if index.isdigit() and cls == name
    )
    n = int(number) if number else 1
    return older[n - 1][1] if len(older) >= n else None


def fit(
    model: Any,
    loss: Any,
    optimizer: Any,
    train_ds: Any,
    val_ds: Any = None,
    epochs: int = 10,
    batch_size: int | None = None,
    seed: int = 0,
    callbacks: Iterable[Callback] = (),
    schedule: Any = None,
    early_stopping: int | EarlyStopping | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    resume: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    keep_checkpoints: int = 2,
    checkpoint_seconds: float | None = None,
    meta: dict | None = None,
    standardizer: Any = None,
    class_names: list[str] | None = None,
    **keras_names: Any,
) -> History:
    """Train ``model`` on ``train_ds`` and return its :class:`History` (see :class:`Trainer`,
    whose keyword arguments it takes, each meaning the same).

    A keyword of Keras's ``fit`` (``validation_split``, ``validation_data``, ``verbose``,
    ``shuffle``, ``class_weight``, ``sample_weight``) is a TypeError saying chainrule's way of
    doing it, or that it has none (:data:`~chainrule.train.callbacks.KERAS_FIT_NAMES`).

    ``resume`` names a checkpoint (or a directory of them) to continue from (None or False:
    start afresh, so that ``resume=args.resume`` of a flag left off trains from the start);
    ``epochs`` is the total to reach, counting the epochs the checkpoint already did. A
    checkpoint of a run that stopped early is finished: nothing more is trained (see
    :meth:`Trainer.fit`); given the same ``early_stopping``, its best weights are put back
    into ``model``.

    >>> import chainrule as cr                                            # doctest: +SKIP
    >>> net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)              # doctest: +SKIP
    >>> opt = cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)        # doctest: +SKIP
    >>> ds, loss = cr.data.xor(), cr.nn.SquaredError()                    # doctest: +SKIP
    >>> history = cr.train.fit(net, loss, opt, ds, epochs=1000, progress=False)  # doctest: +SKIP
    >>> history.last["accuracy"]                                          # doctest: +SKIP
    1.0
    """
    refuse_unknown_arguments("fit", keras_names, _FIT_ARGUMENTS, KERAS_FIT_NAMES)
    if resume is False:  # resume=args.resume, the flag off (Keras's habit): no resume
        resume = None
    _refuse_a_resume_flag(resume, checkpoint_dir, "fit")
    trainer = Trainer(
        model,
        loss,
        optimizer,
        batch_size=batch_size,
        seed=seed,
        callbacks=callbacks,
        schedule=schedule,
        early_stopping=early_stopping,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        checkpoint_seconds=checkpoint_seconds,
        progress=progress,
        meta=meta,
        standardizer=standardizer,
        class_names=class_names,
    )
    if resume is not None:
        trainer.resume(resume)
    return trainer.fit(train_ds, val_ds, epochs=epochs)


def _refuse_a_resume_flag(resume: Any, checkpoint_dir: Any, where: str) -> None:
    """Refuse a ``resume`` that is not a path, naming what it takes: ``resume=True`` (Keras's
    and Lightning's habit) failed in pathlib ("expected str, bytes or os.PathLike object, not
    bool"), naming neither ``resume`` nor the path it wants. (``fit`` takes False as None.)"""
    if resume is None or isinstance(resume, (str, os.PathLike)):
        return
    if resume is False:  # Trainer.resume(False): there is nothing to call
        then = "; to start afresh, leave the call out"
    elif checkpoint_dir is not None:
        then = f"; to continue from this run's checkpoints, resume={str(checkpoint_dir)!r}"
    else:
        then = "; e.g. resume='checkpoints', the checkpoint_dir a run saved to"
    raise TypeError(
        f"{where}: resume={resume!r}: resume takes the path of the checkpoint to continue from "
        "(an epoch directory, a checkpoint_dir holding them, or a run directory holding "
        f"checkpoints/), not {type_name(resume)}{then}"
    )


def stopped_early(state: dict[str, Any]) -> bool:
    """Whether a checkpoint's trainer state (:meth:`Trainer.state`'s scalars) records a run a
    callback stopped, such as early stopping: that run is finished. A checkpoint from before
    this was recorded says no."""
    return bool(state.get("stopped_early", False))


# -- helpers ----------------------------------------------------------------------------------

#: The keyword arguments :class:`Trainer` and :func:`fit` take, for a misspelt one's "did you
#: mean".
_TRAINER_ARGUMENTS = (
    "batch_size", "seed", "callbacks", "schedule", "early_stopping", "checkpoint_dir",
    "checkpoint_every", "keep_checkpoints", "checkpoint_seconds", "progress", "meta",
    "standardizer", "class_names",
)  # fmt: skip
_FIT_ARGUMENTS = ("train_ds", "val_ds", "epochs", "resume", *_TRAINER_ARGUMENTS)


def _check_dataset(what: str, ds: Any) -> None:
    """``fit`` takes datasets (``X`` and ``y`` attributes, a length), not ``(X, y)`` tuples."""
    if not all(hasattr(ds, a) for a in ("X", "y", "__len__")):
        raise UserError(
            f"fit: {what} must be a chainrule.data.Dataset (with X and y), not "
            f"{type(ds).__name__}; wrap arrays as Dataset(X=X, y=y, task=...)"
        )
    if not hasattr(ds, "task"):  # a dataset-like object of the user's: the loss needs it
        raise UserError(
            f"fit: {what} ({type(ds).__name__}) has X and y but no task attribute, which says "
            "how its y is read: give it one ('classification', 'multilabel' or 'regression'), "
            "or wrap its arrays as Dataset(X=X, y=y, task=...)"
        )


def _check_loss(loss: Any) -> None:
    """Refuse a loss that cannot be called on (outputs, targets) before anything trains: a
    class (it would be called with the outputs as its options) and a name or any other
    non-callable (``"cross-entropy"`` failed in the first step with "'str' object is not
    callable")."""
    if isinstance(loss, type):  # nn.CrossEntropy for nn.CrossEntropy()
        raise UserError(
            f"loss is the class {loss.__name__}, not a loss; pass an instance, "
            f"loss={loss.__name__}()"
        )
    if isinstance(loss, str):
        raise UserError(f"loss is the name {loss!r}, not a loss; {_loss_for_name(loss)}")
    if not callable(loss):
        raise UserError(
            f"loss is {type_name(loss)} ({reprlib.repr(loss)}), not a loss; pass a chainrule "
            "loss object (nn.CrossEntropy(), nn.MSE(), ...) or a function (outputs, targets) -> "
            "a scalar tensor"
        )
    if type(loss).__module__.split(".")[0] == "torch":  # torch.nn.MSELoss(): a raw traceback
        raise UserError(
            f"loss is PyTorch's {type(loss).__name__}, which computes on torch tensors, not "
            "chainrule's; pass a chainrule loss object (nn.MSE(), nn.CrossEntropy(), ...; "
            "nn.loss_from_name('mse')) or a function (outputs, targets) -> a scalar tensor"
        )


def _loss_for_name(name: str) -> str:
    """What to pass for a loss given by ``name``: a name :func:`chainrule.nn.loss_from_name`
    takes (chainrule's own, or the one for Keras's: "categorical_crossentropy" is
    "cross-entropy"), else the names it takes."""
    from chainrule.nn.losses import LOSSES, loss_from_name

    try:
        loss_from_name(name)
    except (UserError, TypeError, ValueError):  # not a name of chainrule's
        pass
    else:
        return f"pass a loss object, such as nn.CrossEntropy(), or nn.loss_from_name({name!r})"
    keras = _KERAS_LOSSES.get("".join(c for c in name.lower() if c.isalnum()))
    if keras is not None:
        made, chainrule_name, note = keras
        return (
            f"Keras's name: pass chainrule's loss, {made} or "
            f"nn.loss_from_name({chainrule_name!r}){note}"
        )
    return (
        "pass a loss object (nn.CrossEntropy(), nn.MSE(), ...), or nn.loss_from_name(name) with "
        f"a name it takes: {', '.join(map(repr, LOSSES))}"
    )


#: Keras's loss names (lower case, letters and digits only): chainrule's loss for each, its
#: name for :func:`chainrule.nn.loss_from_name`, and what the model and the dataset give it.
_KERAS_LOSSES = {
    **dict.fromkeys(
        ("categoricalcrossentropy", "sparsecategoricalcrossentropy"),
        (
            "nn.CrossEntropy()",
            "cross-entropy",
            " (it takes logits: the model ends without softmax; the dataset's y holds the "
            "class labels, one-hot rows as labels: y.argmax(1))",
        ),
    ),
    "binarycrossentropy": (
        "nn.BinaryCrossEntropy()",
        "binary-cross-entropy",
        " (it takes logits: the model ends without a sigmoid)",
    ),
    **dict.fromkeys(("meansquarederror", "mse"), ("nn.MSE()", "mse", "")),
}


def _check_same_case_shape(train_ds: Any, val_ds: Any) -> None:
    """Refuse a validation set whose cases differ in shape from the training set's, before the
    first epoch: the model met it only after a whole epoch of training, failing in a layer with
    a shape error that did not say it came from ``val_ds``."""
    if val_ds is None or len(val_ds) == 0:  # an empty one is never run
        return
    train_case, val_case = (tuple(np.shape(ds.X))[1:] for ds in (train_ds, val_ds))
    if train_case != val_case:
        raise ShapeError(
            f"fit: val_ds's cases have shape {val_case} but train_ds's have {train_case} (its X "
            f"is {tuple(np.shape(val_ds.X))} against {tuple(np.shape(train_ds.X))}); give a "
            "validation set of the training set's features"
        )


def _check_scaled(standardizer: Any, train_ds: Any) -> None:
    """Refuse a ``standardizer`` given with training data it did not scale. The trainer never
    applies it: it is recorded with the model, and ``chainrule predict`` and ``evaluate`` scale
    every row with it, so a model trained on the raw rows is scored on rows it never saw the
    like of (a wrong accuracy, silently). A column is taken for raw where its mean and standard
    deviation lie near the standardizer's (within half its std, its std within a factor of 2)
    and far from scaled data's 0 and 1 (a mean beyond 1, a std beyond a factor of 3: a part
    of the cases it was fitted on, a split, stays well within). A column where the two look
    alike tells nothing; nor does a validation set, whose few cases may lie anywhere."""
    if standardizer is None or len(train_ds) < 2:
        return
    from chainrule import io
    from chainrule.data import Standardizer

    state = io._standardizer_state(standardizer)  # a fitted one, or its state; else refused
    scaler = Standardizer.from_state(state)
    X = train_ds.X
    if np.ndim(X) != 2 or np.shape(X)[1] != len(scaler.mean):  # the model checks widths
        return
    mean, std = _column_moments(X)
    scaled = (np.abs(mean) <= 1) & (std >= 1 / 3) & (std <= 3)
    raw = (
        (np.abs(mean - scaler.mean) <= 0.5 * scaler.std)
        & (std >= 0.5 * scaler.std)
        & (std <= 2 * scaler.std)
    )
    unscaled = np.flatnonzero(raw & ~scaled)
    if len(unscaled):
        j = int(unscaled[0])
        column = f"column {j}"
        names = getattr(train_ds, "feature_names", None)
        if names is not None and j < len(names):
            column += f" ({names[j]!r})"
        more = f" (and {len(unscaled) - 1} more columns)" if len(unscaled) > 1 else ""
        raise ConfigError(
            f"fit: train_ds's inputs are not scaled by the standardizer given: X's {column} "
            f"has mean {mean[j]:.4g} and std {std[j]:.4g}{more}, near the standardizer's "
            f"(mean {scaler.mean[j]:.4g}, std {scaler.std[j]:.4g}), where scaled inputs "
            "have about 0 and 1. fit does not apply standardizer=: it records it with the "
            "model, and chainrule predict and evaluate scale every row with it; scale the "
            "inputs first, Dataset(X=standardizer.transform(X), ...), or drop standardizer="
        )


def _column_moments(X: Any, rows: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, in float64, ``rows`` rows at a time (a
    float64 copy of a large training set would double its memory), about the first row (no
    cancellation where the values lie far from 0)."""
    X = np.asarray(X)
    n = len(X)
    shift = X[0].astype(np.float64)
    total = np.zeros_like(shift)
    squares = np.zeros_like(shift)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            d = X[start : start + rows].astype(np.float64) - shift
            total += d.sum(axis=0)
            squares += (d * d).sum(axis=0)
        mean = total / n
        var = np.maximum(squares / n - mean * mean, 0.0)
    return shift + mean, np.sqrt(var)


def _is_seconds(value: Any) -> bool:
    """A real number of seconds, not NaN, not negative, not a bool (``inf``: never by time)."""
    return is_real(value) and value >= 0  # NaN compares False


def _first_non_finite_parameter(model: Any, optimizer: Any) -> str | None:
    """The name of the first parameter the optimizer trains that holds a NaN or an infinity
    (any array library), or None: one pass over the weights, once an epoch. A frozen one is
    not looked at: a bias of -inf masking a class out is meant (CrossEntropy takes it)."""
    trained = {id(p) for p in optimizer.params if p.requires_grad}
    for name, p in model.named_parameters():
        if id(p) not in trained:
            continue
        xp = backend.array_module(p.data)
        if not bool(xp.all(xp.isfinite(p.data))):
            return name
    return None


def _n_batches(n: int, batch_size: int | None) -> int:
    return 1 if batch_size is None or batch_size >= n else math.ceil(n / batch_size)


def _cases_a_batch(batch_size: Any, n: int) -> Any:
    """The cases a batch of ``batch_size`` holds of ``n`` (``data.batches``): None and any size
    of ``n`` or more are all ``n``; what is no batch size (a checkpoint edited) stays as it is,
    for the refusal to name."""
    if batch_size is None:
        return n
    return min(batch_size, n) if is_integer(batch_size) else batch_size


def user_loss(loss: Any) -> str | None:
    """A loss no model file can rebuild, in words: a function of the user's ("the function
    mymodule.half_sse") or another callable without chainrule's ``config()``; None for a
    chainrule loss, which model.json describes. What trainer.json's ``user_loss`` records. A
    Module loss that only inherits the base's raising ``config()`` is one the user wrote
    (:func:`chainrule.io.defines_config`, the rule model.json's ``loss`` follows)."""
    from chainrule.io import defines_config

    if defines_config(loss):
        return None
    if callable(loss) and hasattr(loss, "__qualname__"):  # a class was refused by Trainer
        return f"the function {_described(loss)}"
    return f"a {type_name(loss)} object"


def checkpoint_user_loss(state: dict[str, Any], model_info: dict[str, Any]) -> str | None:
    """The loss of the user's own a checkpoint's run trained with, in words (its trainer.json's
    ``user_loss``), or None: a chainrule loss (its model.json's). A checkpoint of an older
    version names no such loss: its model.json holds, where a loss goes, the type's name
    ("function"), which names no chainrule loss."""
    named = state.get("user_loss")
    if isinstance(named, str):
        return named
    saved = model_info.get("loss")
    if not isinstance(saved, str):
        return None
    from chainrule.nn.losses import loss_from_config

    try:
        loss_from_config(saved)
    except UserError:
        return f"a {saved} of the user's (an older checkpoint, which does not name it)"
    return None


def _described(loss: Any) -> str:
    """A loss as ranks can compare it: its repr, or for a plain function (whose repr holds an
    address that differs on every rank, so the check refused every run) its qualified name."""
    if callable(loss) and hasattr(loss, "__qualname__") and not isinstance(loss, type):
        return f"{getattr(loss, '__module__', '?')}.{loss.__qualname__}"
    return repr(loss)


#: Architecture fields a resume may change: the weights come from the checkpoint, and a run
#: may continue in another dtype (they are cast); dropout's seed, as its generator's state is
#: restored.
_NOT_THE_RUNS_SETTINGS = frozenset({"dtype", "init", "init_range", "init_start", "rng"})


def _refuse_a_difference(
    source: Path, field: str, saved: Any, given: Any, weights_from: Path | None = None
) -> None:
    """Raise ModelFileError where a checkpoint's setting (``field`` of the file ``source``)
    differs from this trainer's, naming the first place it does and both values. A setting a
    new run may take from the checkpoint's weights on (``weights_from``, its epoch directory:
    a learning rate, a seed) says how to start that run."""
    difference = _first_difference(saved, given, field)
    if difference is None:
        return
    place, saved, given = difference
    advice = " (a new run needs a checkpoint_dir of its own)"
    if weights_from is not None:
        name = place.rpartition(".")[2].partition("[")[0]  # lr, betas, seed
        advice = (
            f"; to train on from its weights with another {name}, start a new run (a "
            "checkpoint_dir of its own) on a model given them: "
            f"model.load_state_dict(cr.io.load_model({str(weights_from)!r})[0].state_dict())"
        )
    raise ModelFileError(
        f"{source}: field {place!r} is {saved} in the checkpoint but {given} in this trainer; "
        f"resume a run with its own settings{advice}"
    )


def _run_settings(optimizer: Optimizer, schedule: Schedule | None) -> dict[str, Any]:
    """The optimizer's hyperparameters as a run is set up with them (JSON-able), which a
    resume compares: what the optimizer holds when the trainer is made, except what a schedule
    decides. Under a schedule the learning rate is the schedule's ``base_lr`` (the optimizer's
    lr when the schedule was made: a second fit with the same objects finds the lr a schedule
    moved), and a :class:`~chainrule.optim.PiecewiseSchedule`'s other hyperparameters are left
    out (its milestones set them at every epoch, milestone 0 when it is made)."""
    settings = {key: value for key, value in optimizer.config().items() if key != "type"}
    if schedule is not None:
        if "lr" in settings:
            settings["lr"] = schedule.base_lr
        if isinstance(schedule, PiecewiseSchedule):
            for key in {key for values in schedule.milestones.values() for key in values}:
                if key != "lr":
                    settings.pop(key, None)
    return settings


def _first_difference(saved: Any, given: Any, field: str) -> tuple[str, str, str] | None:
    """The first place where two JSON values differ, as ``(field, saved, given)`` for a message
    (``architecture.layers[1].type``, ``'Tanh'``, ``'Logistic'``), or None where they agree,
    passing over :data:`_NOT_THE_RUNS_SETTINGS`. A loop, not recursion: an architecture may
    nest thousands of layers deep."""
    stack = [(field, saved, given)]
    while stack:
        place, a, b = stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            keys = (set(a) | set(b)) - _NOT_THE_RUNS_SETTINGS
            ordered = sorted(keys, key=lambda k: (k != "type", k), reverse=True)  # type first
            stack.extend((f"{place}.{k}", a.get(k), b.get(k)) for k in ordered)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            stack.extend((f"{place}[{i}]", a[i], b[i]) for i in reversed(range(len(a))))
        elif a != b:
            return place, _shown(a), _shown(b)
    return None


def _shown(value: Any) -> str:
    """A setting as a message shows it: a layer by its type, a list by its length."""
    if isinstance(value, dict):
        return repr(value["type"]) if "type" in value else "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def _without_paths(meta: Any) -> Any:
    """The run's description without its data file's path, absolute (``data_file``) or as
    typed (``data``, which names a file where ``data_file`` is set, else a built-in data set):
    a node-local copy of the data (another directory, a link) is the same data, which
    ``data_sha256`` compares."""
    run = meta.get("run") if isinstance(meta, dict) else None
    if not isinstance(run, dict) or "data_file" not in run:
        return meta
    return {**meta, "run": {k: v for k, v in run.items() if k not in ("data_file", "data")}}


def _rows(ds: Any, start: int, stop: int) -> Any:
    """Cases ``start:stop`` of ``ds``: its own ``subset``, or for a dataset-like object
    without one (``fit`` asks only for ``X``, ``y`` and a length) a Dataset of those rows."""
    if hasattr(ds, "subset"):
        return ds.subset(np.arange(start, stop))
    from chainrule.data import Dataset

    return Dataset(
        X=np.asarray(ds.X)[start:stop], y=np.asarray(ds.y)[start:stop], task=ds.task,
        name=getattr(ds, "name", "the validation set"), n_classes=getattr(ds, "n_classes", None),
    )  # fmt: skip


def _len(ds: Any) -> int | None:
    return None if ds is None else len(ds)


def _reduction(loss: Any) -> str:
    """How the loss combines cases, as several ranks must know it: "mean" (the usual) or "sum"
    (the lecture's E), its ``reduction``. A loss without one (a plain function) or with another
    raises ConfigError: taken for a mean, a sum over cases trained on wrong gradients."""
    reduction = getattr(loss, "reduction", None)
    if reduction in ("mean", "sum"):
        return reduction
    name = getattr(loss, "__name__", None)
    name = name if isinstance(name, str) and name.isidentifier() else "loss"
    told = f"{name}.reduction = " + '"sum"'
    if reduction is None:
        raise ConfigError(
            f"the loss {_described(loss)} does not say how it combines the cases, and training "
            f"on several ranks must know it (to average the ranks' gradients, or to add them "
            f"up): set {told} if it adds the cases up (as 0.5 * ((t - y) ** 2).sum() does) "
            f'or "mean" if it averages them (a function takes attributes)'
        )
    raise ConfigError(
        f"the loss {_described(loss)} has reduction={reduction!r}, but training on several "
        f'ranks needs "sum" (it adds the cases up: {told}) or "mean" (it averages them)'
    )


def _forward_one(model: Any, x: np.ndarray) -> Any:
    from chainrule.engine import no_grad
    from chainrule.nn.module import eval_mode

    with eval_mode(model), no_grad():
        return to_numpy(one_output(model(model_input(x, first_parameter(model))), "fit").data)


def _strip(arrays: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _check_kept_dtypes(
    checkpoint: dict[str, Any], weights: dict[str, np.ndarray], prefix: str, where: str
) -> None:
    """Refuse early stopping's ``weights`` (its arrays named ``prefix`` + a weight's name in
    the checkpoint's optimizer.safetensors) stored in another dtype than the checkpoint's
    model has them in (:func:`chainrule.io.check_kept_weights_dtypes`), by the dtypes the file
    stores (:func:`chainrule.io.load_checkpoint`'s ``stored_dtypes``; a checkpoint dict built
    without them is checked by its arrays' own)."""
    from chainrule.io import check_kept_weights_dtypes

    stored = _strip(checkpoint.get("stored_dtypes") or {}, prefix)
    check_kept_weights_dtypes(checkpoint["model"], weights, stored, where)


def _refuse_unexpected_arrays(
    arrays: dict[str, np.ndarray], state: dict[str, Any], arrays_file: Path
) -> None:
    """Refuse a checkpoint's arrays that nothing reads: :meth:`Trainer.state` writes only
    ``optimizer/`` arrays and ``callback/<key>/`` arrays of the callbacks trainer.json lists, and
    a key of any other name (a buffer written without its prefix, another program's array, a
    callback's arrays without its state) would be skipped without a word. The optimizer's own
    keys are checked by its ``load_state_dict``; a callback the checkpoint holds and this
    trainer lacks is no error (its state is not loaded, as its trainer.json entry is not)."""
    saved = state.get("callbacks")
    prefixes = ("optimizer/",) + tuple(
        f"callback/{key}/" for key in (saved if isinstance(saved, dict) else {})
    )
    extra = sorted(key for key in arrays if not key.startswith(prefixes))
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        raise ModelFileError(
            f"{arrays_file}: unexpected array {extra[0]!r}{more} (a checkpoint holds only "
            "'optimizer/' arrays and 'callback/<name>/' arrays of the callbacks its "
            "trainer.json lists); nothing was loaded"
        )


def _kept_callback(callback: Any) -> tuple[tuple[dict, dict] | None, dict | None, dict]:
    """A stateful callback as it stands, for :func:`_put_callback_back`: its ``state()``,
    copied (a load may fill the arrays it returned in place), or None where it has none yet (a
    user's callback may build its state in ``on_fit_start``: a resume before any fit must not
    fail on it); its attributes (None: it has no ``__dict__``); and a copy of the contents of
    its NumPy arrays among them, which a load may fill in place."""
    attributes = dict(vars(callback)) if hasattr(callback, "__dict__") else None
    contents = {
        name: value.copy()
        for name, value in (attributes or {}).items()
        if isinstance(value, np.ndarray) and value.flags.writeable
    }
    try:
        scalars, arrays = callback.state()
    except Exception:  # no state to load back; the attributes are put back
        return None, attributes, contents
    state = (copy.deepcopy(scalars), {k: np.array(v) for k, v in arrays.items()})
    return state, attributes, contents


def _put_callback_back(callback: Any, kept: tuple) -> None:
    """Restore what :func:`_kept_callback` kept: its own ``load_state`` refills what it changes
    in place (where that refuses its own earlier state, the rest still comes back); the
    attributes it held come back as the very objects (early stopping's reference to its
    trainer and an unbeaten ``-inf`` best, which its saved state cannot hold), none added, and
    its NumPy arrays with their contents as they were."""
    state, attributes, contents = kept
    if state is not None:
        with contextlib.suppress(Exception):  # the refusal being raised says what went wrong
            callback.load_state(*state)
    if attributes is not None:
        vars(callback).clear()
        vars(callback).update(attributes)
    for name, values in contents.items():
        attributes[name][...] = values


class TrainerGenerator(np.random.Generator):
    """A generator a trainer gave a layer that drew from chainrule's default generator (seeded
    from the trainer's ``seed``, or carrying a checkpoint's state): marked by its class, so the
    next trainer that starts a run seeds it afresh, as it seeds the default
    (:meth:`Trainer._seed_dropout_generators`). A generator the user gives
    (``Dropout(rng=...)``, ``layer.rng = ...``) is a plain Generator, never seeded by a
    trainer. A copy or a pickle keeps the mark (NumPy's own rebuilds a plain Generator)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.bit_generator,)


def _split_generator(generator: np.random.Generator, rank: int) -> np.random.Generator:
    """A generator of ``generator``'s kind for rank ``rank``, seeded by the number
    ``generator`` would draw next and the rank, drawn from a copy (``generator`` stays as it
    was); a trainer's generator is split into a trainer's, the user's into a plain one."""
    bit_generator = type(generator.bit_generator)
    copy = bit_generator()
    copy.state = generator.bit_generator.state
    draw = int(np.random.Generator(copy).integers(2**63))
    kind = TrainerGenerator if isinstance(generator, TrainerGenerator) else np.random.Generator
    return kind(bit_generator(np.random.SeedSequence([draw, rank])))


def _module_generators(model: Any) -> list[tuple[str, np.random.Generator]]:
    """Every generator buffer (dropout masks), with its dotted name ("2.rng")."""
    return [
        (name, value)
        for name, value in model.named_buffers()
        if isinstance(value, np.random.Generator)
    ]


def _module_rng_states(model: Any) -> dict[str, Any]:
    """The state of every generator buffer (dropout masks), by dotted name ("2.rng")."""
    return {name: value.bit_generator.state for name, value in _module_generators(model)}


def _generator_buffers(model: Any) -> list[tuple[str, Any, str, np.random.Generator]]:
    """Every generator buffer (dropout masks) as ``(dotted name, module, buffer name,
    generator)``: ``("2.rng", dropout, "rng", its generator)``, for code that may put another
    generator in its place."""
    return [
        (f"{prefix}.{name}" if prefix else name, module, name, value)
        for prefix, module in model.named_modules()
        for name, value in module._buffers.items()
        if isinstance(value, np.random.Generator)
    ]


def _default_kind_in(state: Any) -> np.random.Generator:
    """A new generator of chainrule's default generator's kind, in ``state``: what stands for
    the default in a layer, never writing the default itself (a trainer's: the next run seeds
    it afresh, as it would the default)."""
    generator = TrainerGenerator(type(as_generator(None).bit_generator)())
    generator.bit_generator.state = state
    return generator


def _kept_module_generators(model: Any) -> list[tuple[Any, str, np.random.Generator, Any]]:
    """Every generator buffer as ``(module, name, generator, its state)``, for
    :func:`_put_module_generators_back` (a resume may replace the generator object too)."""
    return [(m, name, g, g.bit_generator.state) for _, m, name, g in _generator_buffers(model)]


def _put_module_generators_back(kept: list[tuple[Any, str, np.random.Generator, Any]]) -> None:
    """Put back what :func:`_kept_module_generators` kept: each module's generator object and
    its state (the default generator's is never written: a resume does not change it)."""
    default = as_generator(None)
    for module, name, generator, state in kept:
        setattr(module, name, generator)
        if generator is not default:
            generator.bit_generator.state = state


def _rank_rng_states(state: dict[str, Any], rank: int, source: Any) -> dict[str, Any]:
    """The generator states rank ``rank`` resumes with: its own from a checkpoint of several
    ranks (``module_rngs_by_rank``); rank 0's (``module_rngs``) from a checkpoint of one
    process, or for a rank the checkpoint has none for (resumed on more ranks than saved it:
    every rank starts from the same seeds too)."""
    by_rank = state.get("module_rngs_by_rank")
    if by_rank is None:
        return state.get("module_rngs", {})
    if not (
        isinstance(by_rank, list)
        and by_rank
        and all(
            isinstance(states, dict) and all(isinstance(s, dict) for s in states.values())
            for states in by_rank
        )
    ):
        raise ModelFileError(
            f"{source}: field 'module_rngs_by_rank': expected a list of each rank's generator "
            "states"
        )
    return by_rank[rank] if rank < len(by_rank) else state.get("module_rngs", by_rank[0])


def _load_module_rng_states(model: Any, states: dict[str, Any], source: Any = None) -> None:
    """Put the saved ``states`` (by dotted name, "2.rng") into the model's generator buffers.
    A module holding chainrule's default generator (a Dropout built without ``rng=``, or given
    it) gets a new generator of its kind carrying the state instead: written into the default,
    the state changed every other draw from it (``cr.randn`` no longer followed
    ``cr.manual_seed``) and anything drawing from the default between the resume and the fit
    changed the masks. Modules that held the default share one new generator per state, as
    they shared the default."""
    default = as_generator(None)
    holders = {key: (m, name, g) for key, m, name, g in _generator_buffers(model)}
    fresh: dict[str, np.random.Generator] = {}  # repr(state) -> the default's replacement
    for key, state in states.items():
        if key not in holders:
            continue
        module, name, generator = holders[key]
        try:
            if generator is default:
                if repr(state) not in fresh:
                    fresh[repr(state)] = _default_kind_in(state)
                setattr(module, name, fresh[repr(state)])
            else:
                generator.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ModelFileError(
                f"{source}: the state of the generator {key!r} does not fit ({error})"
            ) from None


def _schedule_state(schedule: Schedule | None) -> Any:
    return None if schedule is None else schedule.state_dict()


def _load_schedule_state(schedule: Schedule | None, state: Any, epoch: int) -> None:
    """Restore ``schedule`` from a checkpoint's ``state`` of it; a schedule the checkpoint holds
    no state of (the first run had none, or another kind) is put at the resumed ``epoch``
    instead: from epoch 0 its learning rate jumped back to the start."""
    if schedule is None:
        return
    if schedule.holds(state):
        schedule.load_state_dict(state)
    else:
        schedule.start_at(epoch)
