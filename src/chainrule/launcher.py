"""Whether a launcher (mpiexec, srun) started this process as one of several ranks.

Only the environment (and, on Linux, the process tree in /proc) is read here (no NumPy, no
MPI), so ``import chainrule`` can mark it: a process that a rank starts itself (joblib's
workers for ``cross_val_score(n_jobs=2)``, a ``multiprocessing`` pool) inherits the launcher's
variables but is no rank, and MPI started there dies in the launcher's protocol. At import, a
rank records its process id beside a digest of the launcher's variables (:data:`MARKER`); a
process that finds the mark of another process with the same launcher variables is such a child
and runs alone, unless a launcher's process (``hydra_pmi_proxy``, ``orted``, ``srun`` ...)
stands between it and the marking rank: ``mpiexec`` started inside a rank makes ranks again,
even where its variables repeat the outer job's (Hydra numbers its descriptors alike).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

#: The environment variable a rank marks itself with: ``"<pid>:<digest of the launcher's vars>"``.
MARKER = "CHAINRULE_RANK_PROCESS"
#: The variables MPI launchers and Slurm set per rank (their names start so), and the one that
#: forces MPI on where no launcher chainrule knows set any.
_LAUNCHER_PREFIXES = (
    "PMI_", "PMIX_", "OMPI_", "HYDI_", "MPI_LOCAL", "SLURM_STEP_", "SLURM_PROCID", "CHAINRULE_MPI",
)  # fmt: skip
#: How long a rank that fails before MPI started waits for MPI to start (``MPI_Init`` returns
#: once every rank has called it) so that ``MPI_Abort`` can end the job; then it ends itself by
#: a signal (SIGALRM), which Hydra's mpiexec takes for a failure of the job too.
ABORT_WAIT_SECONDS = 30
#: The variables launchers give each rank its number in (for the message of a failing rank).
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
#: The process's ``sys.excepthook`` before :func:`abort_on_exception` replaced it.
_PREVIOUS_HOOK: Any = None
#: The processes launchers start ranks under (/proc's 15-character names).
_LAUNCHER_PROCESSES = frozenset({
    "hydra_pmi_proxy", "mpiexec", "mpiexec.hydra", "mpirun", "orted", "prted", "prterun",
    "srun", "slurmstepd",
})  # fmt: skip


def launched_size(environ: Mapping[str, str] | None = None) -> int:
    """How many ranks the launcher announced in ``environ`` (default ``os.environ``).

    1 means "not launched in parallel" (no launcher, or a process a rank started: see the
    module's docstring); 0 means "a launcher is present but did not say how many" (PMIx
    without a size): MPI must be asked. ``CHAINRULE_MPI=0``/``1`` overrides.
    """
    env = os.environ if environ is None else environ
    forced = env.get("CHAINRULE_MPI", "").strip().lower()
    if forced in ("0", "no", "off", "false") or started_by_a_rank(env):
        return 1
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"):
        if env.get(name, "").strip().isdigit():
            return max(1, int(env[name]))
    # srun sets SLURM_STEP_* only inside a job step, not in the batch script itself
    if "SLURM_STEP_ID" in env and env.get("SLURM_STEP_NUM_TASKS", "").strip().isdigit():
        return max(1, int(env["SLURM_STEP_NUM_TASKS"]))
    if "PMIX_RANK" in env or forced in ("1", "yes", "on", "true"):
        return 0
    return 1


def mark_rank(environ: MutableMapping[str, str] | None = None, pid: int | None = None) -> None:
    """Record this process as the launcher's rank, unless it is a rank's child (or no rank)."""
    env = os.environ if environ is None else environ
    digest = _launcher_digest(env)
    if digest is not None and not started_by_a_rank(env, pid):
        env[MARKER] = f"{os.getpid() if pid is None else pid}:{digest}"


def started_by_a_rank(environ: Mapping[str, str], pid: int | None = None) -> bool:
    """Whether process ``pid`` (this one) was started by the rank whose mark ``environ``
    carries: the same launcher variables, another process, and no launcher's process between
    the two."""
    owner, _, digest = environ.get(MARKER, "").partition(":")
    if not owner.isdigit() or digest != _launcher_digest(environ):
        return False
    me = os.getpid() if pid is None else pid
    return int(owner) != me and not _launched_between(int(owner), me)


def _launched_between(owner: int, pid: int) -> bool:
    """Whether a launcher's process stands between ``pid`` and its ancestor ``owner`` (a
    launcher that ``owner`` started made ``pid`` one of its ranks). Read from /proc; where the
    process tree cannot be read, or ``owner`` is no ancestor, False."""
    current = _parent(pid)
    for _ in range(64):  # a process tree is never this deep between a rank and its children
        if current is None or current <= 1 or current == owner:
            return False
        if _name(current) in _LAUNCHER_PROCESSES:
            return True
        current = _parent(current)
    return False


def _parent(pid: int) -> int | None:
    """``pid``'s parent's id from /proc (None where there is no /proc or no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # the name may hold spaces
        return int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _name(pid: int) -> str:
    """``pid``'s executable name from /proc (15 characters at most), or ""."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def _launcher_digest(environ: Mapping[str, str]) -> str | None:
    """A digest of the launcher's variables in ``environ`` (None where there are none)."""
    names = sorted(k for k in environ if k.startswith(_LAUNCHER_PREFIXES))
    if not names:
        return None
    text = "\n".join(f"{k}={environ[k]}" for k in names)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def abort_on_exception(environ: Mapping[str, str] | None = None) -> bool:
    """Under a launcher of several ranks, make an uncaught exception end the whole job.

    ``import chainrule`` installs it: a rank that fails before chainrule starts MPI (a file it
    cannot read, a bad option) otherwise ends alone, and the others wait for it in
    ``MPI_Init`` or their first collective until the job's time runs out (MPICH's Hydra does not
    end a job when one of its ranks exits with a failing status). The hook prints the traceback,
    then starts MPI and calls ``MPI_Abort`` (mpi4py is imported there, not at start-up); a rank
    whose MPI does not start within :data:`ABORT_WAIT_SECONDS` (the others never start theirs)
    ends by a signal. :func:`chainrule.distributed.init` puts its own hook in front later.
    Returns whether it was installed (not where the process is no rank of several).
    """
    global _PREVIOUS_HOOK
    if sys.excepthook is _abort_job or launched_size(environ) == 1:
        return False
    _PREVIOUS_HOOK = sys.excepthook
    sys.excepthook = _abort_job
    return True


def excepthook_before_abort() -> Any:
    """``sys.excepthook`` as it was before :func:`abort_on_exception` (the one in place now if
    that hook is not): what a hook that ends the job its own way reports through."""
    return _PREVIOUS_HOOK if sys.excepthook is _abort_job else sys.excepthook


def _abort_job(kind: type, value: BaseException, tb: Any) -> None:
    import traceback

    (_PREVIOUS_HOOK or sys.__excepthook__)(kind, value, tb)
    code = 130 if issubclass(kind, KeyboardInterrupt) else 1
    rank = next((os.environ[k] for k in _RANK_VARIABLES if k in os.environ), "?")
    last = traceback.format_exception_only(kind, value)[-1].strip()
    print(f"chainrule: rank {rank} failed ({last}); aborting the job", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        import signal

        # MPI_Init waits for every rank: where the others never start MPI, end by a signal
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(ABORT_WAIT_SECONDS)
    except (AttributeError, ValueError, OSError):  # no SIGALRM (Windows), or not main thread
        pass
    try:
        from mpi4py import MPI

        if not MPI.Is_finalized():
            MPI.COMM_WORLD.Abort(code)
    except Exception:  # no mpi4py, or an MPI that cannot start: the exit below ends this rank
        pass
    os._exit(code)  # MPI_Abort may return before the launcher ends this process (MPICH)
