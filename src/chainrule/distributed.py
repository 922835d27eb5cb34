"""Synchronous data-parallel training over MPI: ranks, collectives, sharding, averaging.

Launch any chainrule program under ``mpiexec -n 4`` (or ``srun -n 4``) and every process finds
its place with :func:`init` (or lazily, at the first :func:`world`). Without a launcher, or
without mpi4py, the world is one process and nothing here costs more than a look at the
environment::

    from chainrule import distributed as dist
    dist.init()                                  # world of 1 without MPI: same code alone
    dist.broadcast_parameters(model)             # rank 0's initial weights everywhere
    with dist.world().deferring_interrupts():    # Ctrl-C: every rank stops at one step
        for rows in cr.data.batches(n, 256, rng=np.random.default_rng(epoch_seed)):
            local = dist.shard(rows)             # this rank's part of the global batch
            opt.zero_grad(); loss(model(Tensor(X[local])), Tensor(T[local])).backward()
            dist.average_gradients(model, cases=len(local), reduction=loss.reduction)
            opt.step()

The :class:`~chainrule.train.Trainer` (and so ``chainrule train``) does exactly this when it
finds itself in a world of several ranks: each global mini-batch (``batch_size`` stays the
global batch) is cut into one contiguous block per rank; after the backward pass the gradients
are summed over ranks in flat buckets (``Allreduce`` in place, in a fixed order) and divided by
the number of cases (a loss that is a sum over cases, ``reduction="sum"``, is summed and not
divided), so every replica takes the same step a single process would take on the whole batch
(up to the order of float additions). Only rank 0 prints and writes files.

mpi4py is imported only when the environment says a launcher started several ranks
(``PMI_SIZE``, ``OMPI_COMM_WORLD_SIZE``, ``PMIX_RANK``, ``SLURM_STEP_NUM_TASKS`` under
``srun``); ``CHAINRULE_MPI=0`` turns the detection off, ``CHAINRULE_MPI=1`` forces MPI on.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn

import numpy as np

from chainrule import backend
from chainrule.errors import ConfigError, UserError
from chainrule.launcher import first_on_its_machine, launched_rank, launched_size, launcher_name
from chainrule.tensor import Tensor

#: How long a failing rank other than 0 waits before it reports and aborts the job: a failure
#: every rank meets (Ctrl-C, ranks that disagree) is rank 0's to report, and it removes what it
#: wrote.
GRACE_S = 3.0
#: How long a rank waiting in a collective has, after a second stop signal, to come back to
#: Python (a collective that was just completing) before it ends the job
#: (:func:`_watch_stop_signals`). One signal alone never ends it: the rank it waits for may be
#: busy (rank 0 writing a large checkpoint), not gone.
SECOND_SIGNAL_S = 0.5
#: Signals closer together than this are one: a job's processes are signalled by the batch
#: system and by ``mpiexec``, which passes the signal on, so a rank may get one SIGTERM twice.
SAME_SIGNAL_S = 0.25
#: Gradients are packed into flat buffers of at most this many bytes (PyTorch DDP's default).
BUCKET_BYTES = 25 * 2**20


class DistributedError(UserError):
    """The ranks of a parallel run disagree, or MPI is not set up as the launcher expects."""


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous block of ``n`` items split ``size`` ways.

    The first ``n % size`` ranks take one item more, so the block sizes differ by at most one
    and every rank gets a block (possibly empty), as ``np.array_split`` does.
    """
    base, extra = divmod(int(n), int(size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class World:
    """The processes of one run and the collectives chainrule uses between them.

    ``comm`` is an mpi4py communicator (or anything with the same ``Get_rank``, ``Get_size``,
    ``Allreduce``, ``Bcast``, ``bcast``, ``allgather`` and ``Abort``); ``None`` is a world of one
    process, where every collective returns its input. ``in_place`` is the marker the
    communicator takes for an in-place ``Allreduce`` (``MPI.IN_PLACE``).
    """

    def __init__(self, comm: Any = None, in_place: Any = None) -> None:
        self.comm = comm
        self.in_place = in_place
        self.pid = os.getpid()  # a process forked from a rank is no rank (see world())
        self.rank = 0 if comm is None else int(comm.Get_rank())
        self.size = 1 if comm is None else int(comm.Get_size())
        self.blas_limit: Any = None
        self.interrupt_pending = 0
        self._interrupted_at: Any = None  # the frame the noted signal arrived in
        self._deferred: dict[int, Any] = {}  # the handlers deferring_interrupts replaced
        self._deferring = False
        #: when the collective this rank waits in began (``time.monotonic()``; None: in none)
        self.waiting_since: float | None = None

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size})"

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one that prints, checkpoints and writes the run directory."""
        return self.rank == 0

    @contextlib.contextmanager
    def deferring_interrupts(self, where: Callable[[], str] | None = None) -> Iterator[None]:
        """Within this block a Ctrl-C (SIGINT), or a SIGTERM that a Python handler turns into
        an exception (the command line's), is noted rather than raised: every rank stops
        together at the next gradient average (a rank that raised alone would leave the others
        waiting in a collective; so would one that a SIGTERM from the launcher or the batch
        system stopped first), and a single process between two steps (:meth:`stop_between`;
        raised where it landed, it stopped an optimizer's step halfway: some parameters moved,
        their step counts apart for good). A second signal is delivered at once (a rank stops).
        A block inside the block (a fit a callback runs) defers nothing more: the outer one
        holds the handlers (a second layer took the first's for the user's, and left Ctrl-C
        noted for ever).

        A rank that MPI keeps waiting in a collective cannot run a Python handler at all (the
        signal would wait for the collective to end, which it never does when another rank is
        stopped or gone): :func:`_watch_stop_signals` then ends the job on a second signal.

        ``interrupt_pending`` is the noted signal's number (0: none). A signal noted after the
        last step is delivered when the block ends, saying ``where()`` it stopped (a single
        process; a bare ``KeyboardInterrupt`` said nothing of what was done); several ranks
        each raise theirs there, alone, unless they decide together first at a point every
        rank reaches (:meth:`stop_if_noted_on_any_rank`, as the Trainer's fit does at its end).

        The :class:`~chainrule.train.Trainer` and the scikit-learn fits train in this block; a
        hand-written loop enters it itself, and every rank (or the one process) then stops at
        the next :func:`average_gradients`, before the step::

            world = dist.init()
            with world.deferring_interrupts():
                for rows in batches:
                    ...  # forward and backward on dist.shard(rows)
                    dist.average_gradients(model, cases=len(local))  # stops here, together
                    opt.step()

        Several ranks then end with 130 (Ctrl-C) or 143 (SIGTERM), rank 0 alone printing the
        traceback (:func:`init`'s exception hook). Python's default SIGTERM ends the process
        at once and is not deferred: ``signal.signal(signal.SIGTERM,
        signal.default_int_handler)`` before the block makes SIGTERM stop as Ctrl-C does."""
        if threading.current_thread() is not threading.main_thread() or self._deferring:
            yield
            return

        def note(signum: int, frame: Any) -> None:
            if self.interrupt_pending and self.size > 1:
                self._raise_for(signum)
            if self.interrupt_pending:  # the first and this one, now, to the handler in place
                first, self.interrupt_pending = self.interrupt_pending, 0
                self._deliver(first, self._interrupted_at)
                self._deliver(signum, frame)
                return
            self.interrupt_pending, self._interrupted_at = signum, frame

        self._deferring = True
        self._deferred = {
            signum: signal.signal(signum, note)
            for signum in (signal.SIGINT, signal.SIGTERM)
            if callable(signal.getsignal(signum))  # SIGTERM's default ends the process at once
        }
        try:
            yield
        finally:
            for signum, previous in self._deferred.items():
                signal.signal(signum, previous)
            self._deferring = False
            pending, self.interrupt_pending = self.interrupt_pending, 0
        if pending and self.size > 1:  # noted after the last step: not swallowed
            self._raise_for(pending)
        elif pending and where is not None:
            self.interrupt_pending = pending
            self.stop_between(where())
        elif pending:
            self._deliver(pending)

    @property
    def stops_between_steps(self) -> bool:
        """Whether a training loop must deliver a noted signal now, between two steps
        (:meth:`stop_between`): a single process's; several ranks stop together in the gradient
        average instead."""
        return bool(self.interrupt_pending) and self.size == 1

    def stop_between(self, where: str) -> None:
        """Deliver the noted signal to this one process between two steps: the handler in place
        before deferring raises (``KeyboardInterrupt``, the command line's ``Terminated`` for
        SIGTERM), saying ``where`` it stopped; a handler of the user's that does not raise has
        had its say, and training goes on."""
        signum, self.interrupt_pending = self.interrupt_pending, 0
        try:
            self._deliver(signum)
        except KeyboardInterrupt as stop:
            raise type(stop)(where) from None

    def _deliver(self, signum: int, frame: Any = None) -> None:
        """Call the handler that was in place before deferring for ``signum``, with the frame
        the signal arrived in (the noted one's by default)."""
        handler = self._deferred.get(signum)
        frame, self._interrupted_at = frame or self._interrupted_at, None
        if callable(handler):
            handler(signum, frame)

    def stop_for(self, signum: int) -> NoReturn:
        """Stop this rank for a signal noted on some rank (:meth:`deferring_interrupts`): every
        rank stops here together (the signals the watching thread saw have reached Python: a
        program that goes on after this stop starts afresh, see :func:`_watch_stop_signals`)."""
        self.interrupt_pending = 0
        _STOP_SIGNALS.clear()
        try:
            self._raise_for(signum)
        except BaseException as stop:  # KeyboardInterrupt, or what the CLI's handler raises
            raise _stopping_together(stop, signum) from None

    def stop_if_noted_on_any_rank(self) -> None:
        """Stop every rank here together where a stop signal was noted on any rank
        (:meth:`deferring_interrupts`), as the gradient average stops them at a step: for the
        point after the last step that every rank reaches inside the block (the end of a
        :class:`~chainrule.train.Trainer`'s fit, whose last checkpoint rank 0 may still be
        writing when a signal comes). Each rank raised the stop it had noted itself when the
        block ended, alone: rank 0 reported and aborted the job while the others waited for
        it, or went on as if the run had finished. A signal noted while this rank waits here
        stops nothing: the ranks have decided (the work it would have stopped is done). Call
        it on every rank; one process goes on (its block delivers what it noted)."""
        if self.size == 1:
            return
        noted = self.allgather_object(self.interrupt_pending)
        self.interrupt_pending = 0  # the ranks' word stands
        if any(noted):  # SIGTERM wins, as in the gradient average (the batch system's end)
            self.stop_for(signal.SIGTERM if signal.SIGTERM in noted else signal.SIGINT)

    def _raise_for(self, signum: int) -> NoReturn:
        """What the handler that was in place before deferring raises for ``signum`` (the
        command line's SIGTERM handler its ``Terminated``), else ``KeyboardInterrupt``."""
        self._deliver(signum)
        raise KeyboardInterrupt

    # -- collectives --------------------------------------------------------------------------
    def _wait_for_all(self, collective: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one of the communicator's collectives, noting meanwhile that this rank waits
        in MPI (:attr:`waiting_since`, which :func:`_watch_stop_signals` reads)."""
        self.waiting_since = time.monotonic()
        try:
            return collective(*args, **kwargs)
        finally:
            self.waiting_since = None

    def allreduce_(self, array: np.ndarray) -> np.ndarray:
        """Sum ``array`` over all ranks, in place (every rank ends with the same sum)."""
        if self.size > 1:
            self._wait_for_all(self.comm.Allreduce, self.in_place, array)
        return array

    def broadcast_(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``array`` with rank ``root``'s values (a contiguous array), in place."""
        if self.size > 1:
            self._wait_for_all(self.comm.Bcast, array, root=root)
        return array

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        """Rank ``root``'s ``value`` on every rank (pickled in memory, never written)."""
        if self.size == 1:
            return value
        return self._wait_for_all(self.comm.bcast, value, root=root)

    def allgather_object(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank (pickled in memory): small
        things only, such as the dropout generators' states a checkpoint keeps per rank."""
        if self.size == 1:
            return [value]
        return list(self._wait_for_all(self.comm.allgather, value))

    def decide(self, flag: bool) -> bool:
        """Rank 0's decision (e.g. to stop early) on every rank, so they stop together."""
        return bool(self.broadcast_object(bool(flag)))

    def wait_for_root(self, stop: BaseException | None = None, signum: int = 0) -> None:
        """The end of a program whose rank 0 works on alone after the last collective (the
        command line's ``train`` writes the results): every rank calls it once rank 0 is done,
        rank 0 with the ``stop`` (Ctrl-C, SIGTERM: ``signum``) that cut its work short, if one
        did. Every other rank waits here for rank 0, inside the program, its stop signals noted
        as :meth:`deferring_interrupts` notes them: a rank that had returned waited in
        ``MPI_Finalize``, where SIGTERM's default action (the program's handler gone) ended it
        outright, and MPI then killed rank 0 in the middle of its writes. Rank 0 decides:
        where it stopped, every rank raises that stop here (rank 0's ``stop`` is marked so),
        together, ending with 128 + ``signum`` and no abort (:func:`raised_together`), rank 0
        alone reporting; where it did not, a signal noted on another rank meanwhile stops
        nothing (the work it would have stopped is done). Two signals to a waiting rank end
        the job (:func:`_watch_stop_signals`), as in any collective."""
        if self.size == 1:
            return
        if self.is_main:
            self.broadcast_object(int(signum) if stop is not None else 0)
            if stop is not None:
                _stopping_together(stop, signum)
            return
        with self.deferring_interrupts():
            decided = self.broadcast_object(0)
            self.interrupt_pending = 0  # rank 0's word stands (a signal it also had, or not)
        if decided:
            self.stop_for(decided)

    def on_root(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` on rank 0 alone (read a checkpoint) and give its result to all.

        An exception on rank 0 is raised there (the job then aborts); the others wait.
        """
        result = function(*args, **kwargs) if self.is_main else None
        return self.broadcast_object(result)

    def on_every_rank(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` on every rank and return this rank's result, or raise on every rank
        if it failed on any: the failing rank raises its own error, the others a
        :class:`DistributedError` naming the first failing rank and its message.

        For the steps before a run writes anything (reading the data): rank 0 then does not go
        on to create files while another rank is failing, to be killed by its abort. One
        process calls ``function`` and nothing more.
        """
        if self.size == 1:
            return function(*args, **kwargs)
        result, failure, message = None, None, None
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # raised again below, on every rank
            failure, message = error, _failure_line(error)
        failures = self._wait_for_all(self.comm.allgather, message)
        if failure is not None:
            raise failure
        for rank, theirs in enumerate(failures):
            if theirs is not None:
                raise DistributedError(f"rank {rank}: {theirs}")
        return result

    def check_same(self, what: str, values: Mapping[str, Any]) -> None:
        """Raise :class:`DistributedError` on every rank unless all ranks hold equal ``values``.

        Run at the start, so ranks that would deadlock or silently diverge later (another
        configuration, another number of cases) stop with a message saying where they differ.
        """
        if self.size == 1:
            return
        everyone = [
            _flat(theirs) for theirs in self._wait_for_all(self.comm.allgather, dict(values))
        ]
        reference = everyone[0]
        for rank, theirs in enumerate(everyone[1:], start=1):
            for key in [*reference, *(k for k in theirs if k not in reference)]:
                if _differs(reference.get(key), theirs.get(key)):
                    raise _stopping_together(
                        DistributedError(
                            f"the ranks disagree on the {what}: rank {rank} has {key}="
                            f"{theirs.get(key)!r} where rank 0 has {reference.get(key)!r} "
                            f"({_SAME_DATA if 'data' in key else _SAME_COMMAND})"
                        )
                    )

    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This rank's contiguous block of a global batch's ``rows`` (see :func:`shard_bounds`)."""
        if self.size == 1:
            return rows
        start, stop = shard_bounds(len(rows), self.rank, self.size)
        return rows[start:stop]

    def reduce_metrics(
        self, values: Mapping[str, float | None], cases: int, summed: Iterable[str] = ()
    ) -> dict[str, float | None]:
        """Combine per-rank metrics into the metrics of the whole set, in one allreduce.

        Each value is a mean over this rank's ``cases`` cases and is averaged weighted by cases,
        except the keys in ``summed`` (a loss with ``reduction="sum"``), which are added. A value
        that is ``None`` on every rank stays ``None``.
        """
        if self.size == 1:
            return dict(values)
        keys, summed = list(values), set(summed)
        packed = np.zeros(2 * len(keys), dtype=np.float64)
        for j, key in enumerate(keys):
            value = values[key]
            if value is not None and cases > 0:
                weight = 1.0 if key in summed else float(cases)
                packed[2 * j], packed[2 * j + 1] = value * weight, weight
        self.allreduce_(packed)
        out: dict[str, float | None] = {}
        for j, key in enumerate(keys):
            total, weight = packed[2 * j], packed[2 * j + 1]
            if weight == 0:
                out[key] = None
            else:
                out[key] = float(total if key in summed else total / weight)
        return out

    def abort(self, code: int = 1, *, said: bool = False) -> None:
        """End every rank of the job now with exit status ``code`` (``MPI_Abort``). ``said``:
        why is on stderr already, so MPI's own line ("Abort(2) on node 0 ...: application
        called MPI_Abort"), which adds only that the program ended the job, is left out: a
        user's mistake under mpiexec reads as one line, as it does without it."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        if self.size > 1:
            time.sleep(0.2)  # MPI_Abort kills at once: let the launcher forward what we printed
            if said:
                _quiet_stderr()
            self.comm.Abort(int(code))
        raise SystemExit(code)


def _quiet_stderr() -> None:
    """Point this process's standard error (the descriptor MPI writes to) at the null device."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)


def _failure_line(error: Exception) -> str:
    """A failed step's error in one line, as the command line prints it."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or type(error).__name__}"
    if isinstance(error, MemoryError):
        return "out of memory: the data or the network is too large for this machine"
    return f"{type(error).__name__}: {error}"


_SAME_COMMAND = "every rank must run the same command on the same data"
_SAME_DATA = (
    "every rank must hold the whole data set, not its own part: each takes its own block of "
    "every batch"
)


def fingerprint(*arrays: Any) -> str:
    """A digest of arrays' shapes, dtypes and bytes, for ranks to compare their data by.

    Every rank must hold the whole data set (each trains on its own block of every batch): a
    program that gives each rank its own shard of the same size would otherwise train on one
    rank's share of every batch, silently. Hashing runs once per fit, at about a GB a second.
    """
    import hashlib

    digest = hashlib.blake2b(digest_size=12)
    described = []
    for array in arrays:
        host = np.ascontiguousarray(np.asarray(array))
        described.append(f"{host.dtype} {tuple(host.shape)}")
        digest.update(repr((host.dtype.str, host.shape)).encode())
        if host.dtype.hasobject:  # labels as Python objects: their reprs, in order
            digest.update(repr(host.tolist()).encode())
        elif host.size:
            digest.update(memoryview(host.reshape(-1)).cast("B"))
    return f"{', '.join(described)}, blake2b {digest.hexdigest()}"


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys, so a message names the one setting that differs."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):  # != of arrays is an array
        return not np.array_equal(np.asarray(a), np.asarray(b))
    return a != b


# -- gradient averaging -------------------------------------------------------------------------


class GradientAverager:
    """Averages the gradients of ``params`` over the ranks, one flat bucket at a time.

    The parameters are packed, in their fixed order, into buckets of one dtype and at most
    ``bucket_bytes`` bytes. :meth:`average` copies each ``p.grad`` (scaled by the rank's weight)
    into its bucket, sums each bucket over the ranks with one in-place ``Allreduce``, divides by
    the total weight and hands every parameter its averaged gradient as a tensor whose array is
    a view into the bucket (as DDP's ``gradient_as_bucket_view``: valid until the next
    :meth:`average`; copy it to keep it longer; it saves a copy of every gradient per step). The
    last bucket carries more numbers per step for free: the weighted loss, the weight, which
    parameters had a gradient anywhere (one that had none on every rank keeps ``None``, so the
    optimizer skips it as it would in one process), and whether any rank was interrupted or
    terminated (see :meth:`World.deferring_interrupts`): then every rank stops at this same step,
    raising ``KeyboardInterrupt`` (or what its SIGTERM handler raises, for a SIGTERM).

    A float16 parameter's gradient travels in a float32 bucket (and comes back as float16, a
    copy): scaled by a case count and summed over ranks, float16 (largest value 65504) overflowed
    to ``inf`` and then NaN. The case counts and losses of the last bucket travel in its dtype.

    The buckets live on the host (NumPy), where MPI reads them. A parameter of another array
    library (PyTorch, CuPy, JAX, array-api-strict) or on a device has its gradient copied to the
    host into the bucket and the averaged gradient copied back to the parameter's library and
    device (its own array there, not a view): one copy each way per step (a device-aware MPI
    could skip both; not done here).
    """

    def __init__(self, params: Iterable[Any], world: World, bucket_bytes: int = BUCKET_BYTES):
        self.params = list(params)
        self.world = world
        self.buckets: list[tuple[np.ndarray, list[tuple[int, int, int]]]] = []
        plan: list[tuple[np.dtype, list[int]]] = []
        size = 0
        #: per parameter: whether its arrays live outside NumPy (copied through the host)
        self.elsewhere = [type(p.data) is not np.ndarray for p in self.params]
        for index, param in enumerate(self.params):
            dtype = _bucket_dtype(np.dtype(backend.dtype_name(param.dtype)))
            nbytes = backend.size(param.data) * dtype.itemsize
            if not plan or plan[-1][0] != dtype or (size and size + nbytes > bucket_bytes):
                plan.append((dtype, []))
                size = 0
            plan[-1][1].append(index)
            size += nbytes
        tail = _TAIL + len(self.params)
        for number, (dtype, members) in enumerate(plan):
            layout, offset = [], 0
            for index in members:
                n = int(np.prod(self.params[index].shape))
                layout.append((index, offset, n))
                offset += n
            extra = tail if number == len(plan) - 1 else 0
            self.buckets.append((np.zeros(offset + extra, dtype=dtype), layout))
        if not self.buckets:
            self.buckets.append((np.zeros(tail, dtype=np.float64), []))

    def average(self, weight: float = 1.0, loss: float = 0.0, divide: bool = True) -> float:
        """Replace every ``p.grad`` by the weighted mean (``divide``) or sum of all ranks'.

        ``weight`` is this rank's share: its number of cases for a loss that is a mean over
        cases, 1 for a plain average over ranks (or for a sum, with ``divide=False``). Returns
        the weighted mean (or the sum) of the ranks' ``loss`` values: the loss of the whole
        global batch. A rank of weight 0 (an empty block) adds nothing, neither its gradients
        nor its ``loss`` (over no cases a mean is NaN, and NaN times 0 stays NaN).
        """
        tail = _TAIL + len(self.params)
        *_, (last, _) = self.buckets
        head = last[last.size - tail :]
        pending = self.world.interrupt_pending
        head[0], head[1] = (loss * weight if weight else 0.0), weight
        head[2], head[3] = float(bool(pending)), float(pending == signal.SIGTERM)
        for j, param in enumerate(self.params):
            head[_TAIL + j] = 0.0 if param.grad is None else 1.0
        for bucket, layout in self.buckets:
            for index, offset, n in layout:
                grad = self.params[index].grad
                view = bucket[offset : offset + n]
                if grad is None or not weight:
                    view[...] = 0.0
                else:  # in the bucket's dtype (float32 for float16: no overflow on the way)
                    np.multiply(_array(grad).reshape(-1), weight, out=view, dtype=view.dtype)
            self.world.allreduce_(bucket)
        if head[2] > 0:  # Ctrl-C or SIGTERM on some rank: every rank stops here, before the update
            self.world.stop_for(signal.SIGTERM if head[3] > 0 else signal.SIGINT)
        total = float(head[1])
        scale = 1.0 / total if divide and total > 0 else 1.0
        for bucket, layout in self.buckets:
            if layout and scale != 1.0:
                end = layout[-1][1] + layout[-1][2]
                bucket[:end] *= scale  # in place: a fresh array per step costs page faults
            for index, offset, n in layout:
                param = self.params[index]
                has_grad = head[_TAIL + index] != 0
                grad = bucket[offset : offset + n].reshape(param.shape) if has_grad else None
                if grad is not None and self.elsewhere[index]:  # back to its library and device
                    # its own array: PyTorch on the CPU and array-api-strict would wrap the
                    # bucket, and a gradient kept from this step would change at the next
                    grad = backend.asarray_like(grad, param.data, param.data.dtype, copy=True)
                elif grad is not None and grad.dtype != param.data.dtype:  # float16, a copy
                    grad = grad.astype(param.data.dtype)
                # a tensor, as backward leaves it (``p.grad.numpy()``, ``p.grad.data`` work)
                param.grad = None if grad is None else Tensor._wrap(grad)
        return float(head[0]) * scale


#: The numbers the last bucket carries after the gradients: weighted loss, weight, interrupted,
#: terminated (SIGTERM).
_TAIL = 4


def _bucket_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a parameter's gradient travels in: its own, but float32 for a narrower float
    (float16 overflows when scaled by a case count and summed over ranks)."""
    if dtype.kind == "f" and dtype.itemsize < 4:
        return np.dtype(np.float32)
    return dtype


def _array(grad: Any) -> np.ndarray:
    """A gradient (a Tensor or an array of any library and device) on the host."""
    return backend.to_numpy(grad.data if isinstance(grad, Tensor) else grad)


# -- the process's world ------------------------------------------------------------------------

_WORLD: World | None = None
_EXCEPTHOOK_INSTALLED = False
#: What the main thread last passed to ``sys.exit`` (see :func:`_note_exit_status`).
_EXIT_STATUS: object = None
#: Whether this rank has already waited for rank 0 to report (see :func:`let_rank_0_report_first`).
_WAITED_FOR_RANK_0 = False
#: Whether this rank is ending with every other (see :func:`end_together_with`).
_ENDING_TOGETHER = False
#: Whether a thread watches for stop signals that cannot reach Python (see
#: :func:`_watch_stop_signals`).
_WATCHING_STOP_SIGNALS = False
#: The stop signals that thread saw (number, when it arrived) since the last stop at a step.
_STOP_SIGNALS: list[tuple[int, float]] = []


def init(comm: Any = None, blas_threads: int | None = None) -> World:
    """Find this process's place in the run and return its :class:`World` (idempotent).

    With ``comm`` (an mpi4py communicator, or a stand-in for tests) that communicator is used;
    otherwise MPI is started only when the launcher's environment says there are several ranks.
    In a world of several ranks, an uncaught exception or a ``sys.exit`` with a non-zero status
    on any rank aborts the whole job (no hang in a collective), and so does a second stop
    signal to a rank that waits in a collective for a rank that never comes
    (:func:`_watch_stop_signals`; where ``init`` runs in the main thread). When several ranks
    share a machine each uses ``blas_threads`` BLAS threads (default 1, or
    ``CHAINRULE_BLAS_THREADS``; 0 leaves the library's default).

    Where MPI cannot start as the launcher announced (mpi4py missing, or built on another
    MPI), every rank raises :class:`DistributedError`; the command line says it once per
    machine (:func:`said_by_another_rank`), where each rank said the same line.
    """
    global _WORLD
    if comm is not None:
        _WORLD = World(comm, in_place=_mpi_in_place())
    elif _WORLD is None:
        _WORLD = _world_from_environment()
    if _WORLD.size > 1:
        _install_excepthook()
        _watch_stop_signals()
        if _WORLD.blas_limit is None or blas_threads is not None:
            _WORLD.blas_limit = _limit_blas(_WORLD, blas_threads)
    return _WORLD


def world() -> World:
    """The process's :class:`World`, found from the environment on first use (and found again
    in a process forked from a rank, which is no rank: it runs alone)."""
    global _WORLD
    if _WORLD is not None and _WORLD.pid != os.getpid():
        _WORLD = World()
    return _WORLD if _WORLD is not None else init()


def _world_from_environment() -> World:
    announced = launched_size()
    if announced == 1:
        return World()
    launcher, ranks = launcher_name(), announced or "several"
    try:
        with _signals_end_the_process():
            from mpi4py import MPI  # MPI_Init: waits there for every rank to start it
    except ImportError:
        raise _before_mpi(
            f"{launcher} started {ranks} ranks but mpi4py is not installed: pip install "
            f"'chainrule[mpi]', or run without {launcher}; {_each_alone(launcher)}"
        ) from None
    comm = MPI.COMM_WORLD
    if announced > 1 and comm.Get_size() != announced:
        raise _before_mpi(
            f"{launcher} started {announced} ranks but MPI sees {comm.Get_size()}: mpi4py is "
            f"built on another MPI than the one {launcher} starts ranks for: launch with that "
            "MPI, or rebuild mpi4py on this one (pip install --no-binary=mpi4py mpi4py); "
            + _each_alone(launcher)
        )
    return World(comm, in_place=MPI.IN_PLACE)


def _each_alone(launcher: str) -> str:
    """The way out for processes a launcher starts that are meant to run alone (a sweep's
    tasks), where chainrule took them for the ranks of one job."""
    return (
        f"for independent processes that each run alone (`{launcher} -n 4 python sweep.py`), "
        "set CHAINRULE_MPI=0"
    )


def _before_mpi(message: str) -> DistributedError:
    """The :class:`DistributedError` for a failure met before MPI starts, which every rank of
    a machine meets alike (mpi4py missing): said by the first rank of each machine
    (:func:`~chainrule.launcher.first_on_its_machine`), naming the machine where it is not
    rank 0's. Every rank raises it (a program's ``except DistributedError`` runs alone on
    each), and on the others it is marked :func:`said_by_another_rank`, so the command line
    prints it once per machine: 64 ranks printed 64 identical lines. No world exists yet to
    let rank 0 report for the job (:func:`let_rank_0_report_first`); once per machine, not
    once per job, since a machine whose install lacks mpi4py while rank 0's has it must be
    named (rank 0 waits in MPI_Init, saying nothing)."""
    if launched_rank() != 0:
        message = f"on {socket.gethostname()} (rank {launched_rank()}): {message}"
    error = DistributedError(message)
    error._said_by_another_rank = not first_on_its_machine()  # type: ignore[attr-defined]
    return error


def said_by_another_rank(error: BaseException) -> bool:
    """Whether ``error`` is one another rank of this machine says for it, so this rank's
    report would repeat it (a failure before MPI started: :func:`init`)."""
    return getattr(error, "_said_by_another_rank", False)


@contextlib.contextmanager
def _signals_end_the_process() -> Iterator[None]:
    """Let SIGTERM and Ctrl-C end the process at once (the system's default action) while MPI
    starts: ``MPI_Init`` waits for every rank to start it, for ever where one never does (it
    ended before), and holds Python's lock meanwhile, so no Python handler (the command line's,
    Python's own for Ctrl-C) nor any thread could run, and only SIGKILL ended the job. Nothing
    is trained or written yet. Only the main thread can change the handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, signal.SIG_DFL) for signum in stops}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _watch_stop_signals() -> None:
    """End this rank's job when a stop signal (SIGTERM, Ctrl-C) cannot reach Python: a rank
    waiting in one of its :func:`world`'s collectives for a rank that never comes (stopped,
    gone, or waiting elsewhere) is inside MPI, and Python runs a signal's handler only once MPI
    returns.

    The C-level handler writes each signal's number to a pipe (``signal.set_wakeup_fd``) at
    once; a daemon thread reads it (mpi4py lets other threads run while MPI waits). When the
    main thread, waiting in one collective, has been sent a second stop signal
    :data:`SECOND_SIGNAL_S` ago (:func:`_waits_too_long`), the thread ends the job
    (:func:`_end_waiting_rank`): a second signal stops at once. One signal does not: the rank
    it waits for may be busy, and it stops the ranks together at the next gradient average
    (see :meth:`World.deferring_interrupts`). A program that sets its own wakeup descriptor
    after ``init`` (``asyncio.run``'s loop, which also unsets it when it closes) turns this
    watch off. Started once, by :func:`init` in the main thread (the only one that may set
    the pipe)."""
    global _WATCHING_STOP_SIGNALS
    if _WATCHING_STOP_SIGNALS or threading.current_thread() is not threading.main_thread():
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # a signal handler must never block
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def forget_in_a_forked_child() -> None:  # its signals are its own, and no thread reads
        signal.set_wakeup_fd(previous)
        for end in (read_end, write_end):
            with contextlib.suppress(OSError):
                os.close(end)

    os.register_at_fork(after_in_child=forget_in_a_forked_child)
    threading.Thread(
        target=_watch, args=(read_end, previous), name="chainrule-stop-signals", daemon=True
    ).start()
    _WATCHING_STOP_SIGNALS = True


def _watch(read_end: int, previous: int) -> None:
    """The watching thread's loop: note when each stop signal arrives; from the first on, look
    every 50 ms whether the main thread has waited in a collective for too long."""
    stops = _STOP_SIGNALS
    while True:
        ready, _, _ = select.select([read_end], [], [], 0.05 if stops else None)
        if ready:
            numbers = os.read(read_end, 512)
            if previous >= 0:  # the wakeup descriptor set before ours (an event loop's)
                with contextlib.suppress(OSError):
                    os.write(previous, numbers)
            now = time.monotonic()
            stops.extend((n, now) for n in numbers if n in (signal.SIGINT, signal.SIGTERM))
            del stops[:-4]  # the last few are all the rule reads
        current, seen = _WORLD, list(stops)  # the main thread may clear them meanwhile
        if seen and current is not None and _waits_too_long(current, seen, time.monotonic()):
            _end_waiting_rank(current, seen[-1][0])


def _waits_too_long(world: World, stops: list[tuple[int, float]], now: float) -> bool:
    """Whether the main thread, waiting in one collective, has had a second stop signal
    :data:`SECOND_SIGNAL_S` ago: two that arrived while it waited, or one that arrived then
    after one Python noted before (``interrupt_pending``: the stop it would make at the next
    step, which the wait never reaches). Signals from before the wait that Python handled
    (a program's own ``except KeyboardInterrupt``) do not count, nor does one signal alone,
    nor one that came twice (:data:`SAME_SIGNAL_S`)."""
    began = world.waiting_since
    if began is None:
        return False
    during: list[float] = []
    for _, arrived in stops:
        if arrived >= began and not (during and arrived - during[-1] < SAME_SIGNAL_S):
            during.append(arrived)
    signals = len(during) + (1 if world.interrupt_pending else 0)
    return signals >= 2 and now - during[-1] >= SECOND_SIGNAL_S


def _end_waiting_rank(world: World, signum: int) -> NoReturn:
    """End the job from the watching thread: say why on stderr, then ``MPI_Abort`` with
    128 + the signal's number (143 for SIGTERM, 130 for Ctrl-C), as a shell reports a process
    the signal ended. The main thread is inside MPI: the abort is MPI's own way to end every
    rank (a process that merely exits is enough for MPICH's mpiexec, not for every launcher),
    safe from a second thread where MPI was started for threads (mpi4py asks for that)."""
    if not world.is_main:  # rank 0, waiting too, ends the job and says so once
        time.sleep(1.0)
    word = "terminated" if signum == signal.SIGTERM else "interrupted"
    print(f"chainrule: rank {world.rank}: {word} again while waiting in MPI for the other "
          "ranks (one of them is stopped or gone?); ending the job", file=sys.stderr)  # fmt: skip
    code = 128 + int(signum)
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and not mpi.Is_finalized() and mpi.Query_thread() == mpi.THREAD_MULTIPLE:
        with contextlib.suppress(SystemExit):
            world.abort(code, said=True)
    os._exit(code)  # MPI_Abort may return before the launcher ends this process (MPICH)


def _mpi_in_place() -> Any:
    mpi = sys.modules.get("mpi4py.MPI")
    return None if mpi is None else mpi.IN_PLACE


def _limit_blas(world: World, blas_threads: int | None) -> Any:
    """One BLAS thread per rank when ranks share a machine (they would fight for the cores)."""
    if blas_threads is None:
        text = os.environ.get("CHAINRULE_BLAS_THREADS", "").strip()
        if text and not text.isdigit():
            raise DistributedError(f"CHAINRULE_BLAS_THREADS must be an integer, not {text!r}")
        blas_threads = int(text) if text else 1
    if blas_threads <= 0 or _local_ranks(world) <= 1:
        return False
    # without threadpoolctl (the [mpi] extra brings it), say nothing and go on
    return backend.limit_blas_threads(blas_threads) or False


def _local_ranks(world: World) -> int:
    """How many ranks run on this machine."""
    text = os.environ.get("MPI_LOCALNRANKS") or os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE")
    if text and text.isdigit():
        return int(text)
    split = getattr(world.comm, "Split_type", None)
    mpi = sys.modules.get("mpi4py.MPI")
    if split is None or mpi is None:
        return world.size
    local = split(mpi.COMM_TYPE_SHARED)
    try:
        return int(local.Get_size())
    finally:
        local.Free()


def _install_excepthook() -> None:
    """An uncaught exception, or ``sys.exit`` with a non-zero status, on any rank ends the whole
    job (as ``python -m mpi4py`` does)."""
    global _EXCEPTHOOK_INSTALLED
    if _EXCEPTHOOK_INSTALLED:
        return
    previous = sys.excepthook

    def abort_on_exception(kind: type, value: BaseException, tb: Any) -> None:
        code = 130 if issubclass(kind, KeyboardInterrupt) else 1
        if raised_together(value):  # every rank raised it at one point: rank 0 says it
            if world().is_main:
                previous(kind, value, tb)
            # a stop for a signal ends as the signal would have, as the shell reports it: a
            # SIGTERM turned into a KeyboardInterrupt by the program's handler with 143
            _end_together(128 + value._stop_signal if hasattr(value, "_stop_signal") else code)
        let_rank_0_report_first()  # a failure every rank meets (ranks that disagree): once
        if issubclass(kind, UserError):
            print(f"chainrule: rank {world().rank}: {value}", file=sys.stderr)
        else:
            previous(kind, value, tb)
            last = traceback.format_exception_only(kind, value)[-1].strip()
            print(f"chainrule: rank {world().rank} failed ({last}); aborting the job",
                  file=sys.stderr)  # fmt: skip
        world().abort(code, said=True)

    sys.excepthook = abort_on_exception
    _note_exit_status()
    _EXCEPTHOOK_INSTALLED = True


def _end_together(code: int) -> NoReturn:
    """End this rank with ``code`` where every rank ends alike: MPI finalized (as at a normal
    exit; some MPIs complain of a process that exits without it), then exit at once (an
    exception hook cannot choose the status)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.Finalize()
    os._exit(code)


def _note_exit_status() -> None:
    """``sys.exit`` notes its status; at exit, a non-zero one aborts the job with it.

    ``sys.excepthook`` never sees ``SystemExit``, and a rank that exits alone leaves the others
    waiting in a collective. Python tells no hook the status it exits with, so ``sys.exit``
    (what programs call) notes it; the hook registered here runs before mpi4py finalizes MPI
    (atexit hooks run last registered first). A ``sys.exit`` that is caught counts until the
    next one; ``raise SystemExit(n)`` is not seen.
    """
    previous = sys.exit

    def noting_exit(status: object = None) -> NoReturn:
        global _EXIT_STATUS
        if threading.current_thread() is threading.main_thread():  # elsewhere it ends a thread
            _EXIT_STATUS = status
        previous(status)

    sys.exit = noting_exit
    atexit.register(_abort_on_failing_exit)


def _abort_on_failing_exit() -> None:
    status = _EXIT_STATUS
    # MPI_Abort may return before the launcher kills this process (MPICH): exiting anyway
    with contextlib.suppress(SystemExit):
        # the process's exit status, as Python makes it: None is 0, a message (printed) is 1
        # MPI's abort line is kept: it says which rank's exit ended the job
        exit_code(0 if status is None else status if isinstance(status, int) else 1, said=False)


def raised_together(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it was raised from or while handling) is a stop every rank
    met at the same point: ranks that disagree at the start, a signal that stops all of them at
    one gradient average. No rank then waits in a collective, so the job can end with each
    rank's exit status and no ``MPI_Abort``, rank 0 alone reporting. The mark is on the
    exception, not the process: a program that catches it and goes on (or raises another
    error while handling it, on one rank) has that failure abort the job as any other does;
    only an error raised *from* it (``raise ... from``) counts as the same stop."""
    seen = 0
    while error is not None and seen < 16:
        if getattr(error, "_every_rank", False):
            return True
        error, seen = error.__cause__, seen + 1
    return False


def _stopping_together(error: BaseException, signum: int = 0) -> BaseException:
    """Mark ``error`` as raised on every rank at one point (:func:`raised_together`), for the
    signal ``signum`` where a signal stopped the ranks (the exit status says which)."""
    error._every_rank = True  # type: ignore[attr-defined]
    if signum:
        error._stop_signal = int(signum)  # type: ignore[attr-defined]
    return error


def end_together_with(error: BaseException | None) -> bool:
    """Note that the program ends because of ``error`` (the command line's last word) and say
    whether every rank ends with it (:func:`raised_together`); :func:`exit_code` then aborts
    nothing."""
    global _ENDING_TOGETHER
    _ENDING_TOGETHER = raised_together(error)
    return _ENDING_TOGETHER


def exit_code(code: int, *, said: bool = True) -> int:
    """Pass a program's exit ``code`` through; a non-zero code on any rank of a parallel run
    aborts the whole job with it (the other ranks may be waiting in a collective), unless every
    rank ends with the same stop (:func:`end_together_with`). ``said``: the program has said
    why on stderr (the command line has), so MPI's own abort line is left out
    (:meth:`World.abort`)."""
    if code and not _ENDING_TOGETHER and (_WORLD is not None or launched_size() != 1):
        try:
            current = world()
        except DistributedError:  # no MPI: no job to end
            return code
        if current.size > 1:
            # rank 0 may be failing too (Ctrl-C reaches every rank; so does a disagreement): it
            # then reports, cleans up and ends the job; this rank aborts only if it does not
            let_rank_0_report_first()
            current.abort(code, said=said)
    return code


def let_rank_0_report_first() -> None:
    """On a failing rank other than 0 of a parallel run, wait ``GRACE_S`` (once) before saying
    anything or aborting: a failure every rank meets (a bad option, a missing file, Ctrl-C, ranks
    that disagree) is rank 0's to report and clean up, and rank 0 aborts the job meanwhile, so
    the job reports it once. A rank that fails where rank 0 does not reports after the wait.

    Only a world already joined counts: reporting an error never starts MPI.
    """
    global _WAITED_FOR_RANK_0
    current = _WORLD
    if current is None or current.size == 1 or current.is_main or _WAITED_FOR_RANK_0:
        return
    _WAITED_FOR_RANK_0 = True
    # a second Ctrl-C (or the launcher's) cuts the wait short: this rank then reports and
    # aborts at once, with no traceback from inside the wait
    with contextlib.suppress(KeyboardInterrupt):
        time.sleep(GRACE_S)


def joined() -> bool:
    """Whether this process has found its place in the run (:func:`world` or :func:`init` has
    run; a parallel job's ranks then know each other). Asking never starts MPI."""
    return _WORLD is not None and _WORLD.pid == os.getpid()


def rank_label() -> str:
    """``"rank N: "`` on rank N > 0 of a parallel run, else ``""``: what a rank's own failure
    line starts with (rank 0 speaks for the job). Only a world already joined counts: reporting
    an error never starts MPI."""
    current = _WORLD
    if current is None or current.size == 1 or current.is_main:
        return ""
    return f"rank {current.rank}: "


# -- module-level shortcuts ---------------------------------------------------------------------


def rank() -> int:
    """This process's rank, 0 to ``size() - 1``."""
    return world().rank


def size() -> int:
    """The number of ranks in the run (1 without MPI)."""
    return world().size


def is_main() -> bool:
    """True on rank 0."""
    return world().is_main


def shard(rows: np.ndarray) -> np.ndarray:
    """This rank's block of a global batch's ``rows`` (see :meth:`World.shard`)."""
    return world().shard(rows)


def broadcast_parameters(model: Any, root: int = 0, group: World | None = None) -> None:
    """Copy rank ``root``'s weights (everything in ``model.state_dict()``) to every rank of
    ``group`` (default: the process's :func:`world`)."""
    current = group or world()
    if current.size == 1:
        return
    state = model.state_dict()
    for name in sorted(state):
        array = np.ascontiguousarray(state[name])
        current.broadcast_(array, root=root)
        state[name] = array
    if current.rank != root:
        model.load_state_dict(state)


def broadcast_optimizer(optimizer: Any, root: int = 0, group: World | None = None) -> None:
    """Copy rank ``root``'s optimizer state (step counts, momentum buffers) to every rank."""
    current = group or world()
    if current.size > 1:
        state = current.broadcast_object(optimizer.state_dict(), root=root)
        if current.rank != root:
            optimizer.load_state_dict(state)


def average_gradients(
    model: Any,
    cases: int | None = None,
    loss: float = 0.0,
    group: World | None = None,
    *,
    reduction: str = "mean",
) -> float:
    """Combine every parameter's ``.grad`` over the ranks, in place; returns the whole global
    batch's loss (from each rank's ``loss`` on its block).

    ``reduction`` says how the loss combines cases, as the loss's own ``reduction`` does:

    - ``"mean"`` (the default; ``CrossEntropy()``): the gradients and losses are averaged.
      ``cases`` is this rank's number of cases (ranks with more cases then count for more, and
      the result is the gradient of the mean over the whole global batch); without it every
      rank counts the same.
    - ``"sum"`` (``SquaredError()``'s default, the lecture's E): the gradients and losses are
      summed over the ranks, not divided: the gradient of the sum over the whole global batch.
      ``cases=0`` (an empty block) adds nothing; otherwise ``cases`` does not matter.

    A rank with ``cases=0`` adds neither its gradients nor its loss. For repeated calls keep a
    :class:`GradientAverager`, which allocates its buckets once (``divide=False`` sums).
    """
    if reduction not in ("mean", "sum"):
        raise ConfigError(
            f"average_gradients: reduction must be 'mean' or 'sum' (as the loss's reduction), "
            f"not {reduction!r}"
        )
    params = model.parameters() if hasattr(model, "parameters") else list(model)
    averager = GradientAverager(params, group or world())
    if reduction == "sum":
        return averager.average(0.0 if cases == 0 else 1.0, loss, divide=False)
    return averager.average(1.0 if cases is None else float(cases), loss)
