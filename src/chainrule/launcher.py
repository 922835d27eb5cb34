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

import hashlib
import os
from collections.abc import Mapping, MutableMapping

#: The environment variable a rank marks itself with: ``"<pid>:<digest of the launcher's vars>"``.
MARKER = "CHAINRULE_RANK_PROCESS"
#: The variables MPI launchers and Slurm set per rank (their names start so), and the one that
#: forces MPI on where no launcher chainrule knows set any.
_LAUNCHER_PREFIXES = (
    "PMI_", "PMIX_", "OMPI_", "HYDI_", "MPI_LOCAL", "SLURM_STEP_", "SLURM_PROCID", "CHAINRULE_MPI",
)  # fmt: skip
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
    for size, _ in _announced_by(env):
        if env.get(size, "").strip().isdigit():
            return max(1, int(env[size]))
    if "PMIX_RANK" in env or forced in ("1", "yes", "on", "true"):
        return 0
    return 1


def launched_rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's rank as the launcher announced it in ``environ`` (0 where it runs alone,
    see :func:`launched_size`, or no launcher said): what a process knows of its place before
    MPI has started."""
    env = os.environ if environ is None else environ
    if launched_size(env) == 1:
        return 0
    for _, rank in _announced_by(env):
        if env.get(rank, "").strip().isdigit():
            return int(env[rank])
    return 0


def first_on_its_machine(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is the first rank the launcher started on its machine (its local
    rank is 0: Hydra's ``MPI_LOCALRANKID``, Open MPI's ``OMPI_COMM_WORLD_LOCAL_RANK``, Slurm's
    ``SLURM_LOCALID`` in a step), or, where no local rank is announced, rank 0. A failure met
    before MPI starts (mpi4py missing) is said by these alone: once per machine, not once per
    rank, and never by nobody on a machine whose install differs from rank 0's."""
    env = os.environ if environ is None else environ
    if launched_size(env) == 1:
        return True
    local = ["MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"]
    if "SLURM_STEP_ID" in env:
        local.append("SLURM_LOCALID")
    for name in local:
        if env.get(name, "").strip().isdigit():
            return int(env[name]) == 0
    return launched_rank(env) == 0


def launcher_name(environ: Mapping[str, str] | None = None) -> str:
    """The command that started this process's ranks, as ``environ`` shows it, for messages:
    ``"srun"`` in a Slurm job step that no MPI launcher of its own started, else
    ``"mpiexec"``. ``srun`` sets ``PMI_*`` (``--mpi=pmi2``) or ``PMIX_*`` too, so those say
    nothing; an ``mpiexec`` run inside an allocation starts its daemons with ``srun`` (a step)
    but leaves its own variables: Open MPI's ``OMPI_COMM_WORLD_*``, Hydra's ``HYDI_*``."""
    env = os.environ if environ is None else environ
    own = any(name.startswith(("OMPI_COMM_WORLD_", "HYDI_")) for name in env)
    return "srun" if "SLURM_STEP_ID" in env and not own else "mpiexec"


def _announced_by(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (size, rank) variables of the launchers ``env`` may carry, the first found winning:
    Open MPI, PMI (MPICH's and Intel MPI's Hydra, ``srun --mpi=pmi2``), PMIx, and Slurm's own,
    which ``srun`` sets only inside a job step, not in the batch script itself."""
    pairs = [("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"), ("PMI_SIZE", "PMI_RANK"),
             ("PMIX_SIZE", "PMIX_RANK")]  # fmt: skip
    if "SLURM_STEP_ID" in env:
        pairs.append(("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"))
    return pairs


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
