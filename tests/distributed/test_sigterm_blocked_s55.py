"""A stop signal reaches a rank that MPI keeps waiting (QA of the MPI support, session 55).

Python runs a signal's handler only when the main thread comes back from C; a rank waiting in
``MPI_Init`` or in a collective for a rank that never comes did not, so ``timeout``, ``kill``,
mpiexec's forwarded SIGTERM and Slurm's first signal had no effect: only SIGKILL ended the job.
Each job here is bounded: on the old code it is killed (ranks too) and the test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_mpi import MPIEXEC, _env, _run_job, needs_mpi

from chainrule import distributed as dist

#: How long a job may take to end once signalled (it ends in a second or two when it works).
ENDS_WITHIN_S = 8.0
needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")


def _ranks(marker: str) -> dict[int, int]:
    """{rank: pid} of the processes whose command line holds ``marker`` and that a launcher
    started (their ``PMI_RANK``); mpiexec's own command line holds it too, but no rank."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if marker.encode() in command:
            for variable in environ:
                if variable.startswith(b"PMI_RANK="):
                    found[int(variable.split(b"=")[1])] = int(entry.name)
    return found


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def _has_loaded_mpi(pid: int) -> bool:
    """Whether the process has started importing mpi4py.MPI (its MPI library is mapped): it is
    in ``MPI_Init`` or past it, and its command line's SIGTERM handler is in place."""
    try:
        return "libmpi" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


class _Job:
    """An mpiexec job started in its own session; on leaving, whatever is left of it (mpiexec
    and every rank found, stopped ones too) is killed, so a failing test leaves nothing."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, env=_env(), start_new_session=True, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.pids: set[int] = set()

    def __enter__(self) -> _Job:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()

    def ended(self) -> tuple[int, str, float]:
        """(exit status, stderr, seconds it took) once the job ends; raises if it does not end
        within ENDS_WITHIN_S (the old code: the ranks waited in MPI for ever)."""
        started = time.monotonic()
        try:
            _, stderr = self.process.communicate(timeout=ENDS_WITHIN_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the job was still running {ENDS_WITHIN_S:g} s after the signal"
            ) from None
        return self.process.returncode, stderr, time.monotonic() - started


def _train(out: Path, python: list[str] | None = None) -> list[str]:
    """``chainrule train`` on 2 ranks for longer than any test waits."""
    chainrule = python or [sys.executable, "-m", "chainrule"]
    return [MPIEXEC, "-n", "2", *chainrule, "train", "--data", "parity", "--epochs", "20000",
            "--quiet", "--out", str(out)]  # fmt: skip


def _rank_1_stopped_while_training(job: _Job, out: Path) -> None:
    """Wait until the run has checkpointed (the ranks are in the training loop), then stop
    rank 1 (SIGSTOP): rank 0 soon waits for it in the gradient allreduce."""
    _wait_for(lambda: list((out / "checkpoints").glob("epoch-*")), 60, "the first checkpoint")
    ranks = _wait_for(lambda: _ranks(str(out)), 10, "the ranks' processes")
    job.pids.update(ranks.values())
    os.kill(ranks[1], signal.SIGSTOP)
    time.sleep(0.3)


@needs_mpi
@needs_proc
def test_a_sigterm_ends_ranks_waiting_in_mpi_init_for_one_that_never_came(tmp_path):
    """Repro A: the third process of the job ends without starting MPI; the two chainrule
    ranks wait in MPI_Init (holding Python's lock: no handler, no thread runs)."""
    out = tmp_path / "run"
    chainrule = [sys.executable, "-m", "chainrule", "train", "--data", "xor", "--out", str(out)]
    command = [MPIEXEC, "-n", "2", *chainrule, ":", "-n", "1", sys.executable, "-c", "pass"]
    with _Job(command, tmp_path) as job:
        ranks = _wait_for(lambda: _ranks(str(out)), 20, "the ranks' processes")
        job.pids.update(ranks.values())
        _wait_for(lambda: all(_has_loaded_mpi(pid) for pid in job.pids), 20, "MPI_Init")
        time.sleep(0.5)
        job.process.send_signal(signal.SIGTERM)  # mpiexec passes it on, as `timeout` sends it
        code, stderr, took = job.ended()
    assert code != 0, stderr
    assert took < 5, stderr
    assert not out.exists()  # nothing was written


@needs_mpi
@needs_proc
def test_a_second_sigterm_ends_a_rank_waiting_for_a_stopped_one_at_once(tmp_path):
    """Repro B: rank 1 is stopped (SIGSTOP); rank 0 waits for it in the allreduce. The docs
    promise that a second signal stops at once."""
    out = tmp_path / "run"
    with _Job(_train(out), tmp_path) as job:
        _rank_1_stopped_while_training(job, out)
        job.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # a second signal, not the first one delivered twice
        job.process.send_signal(signal.SIGTERM)
        code, stderr, took = job.ended()
    assert code == 143, stderr  # 128 + SIGTERM, as after the stop at a step
    assert took < 5, stderr
    assert stderr.count("chainrule: rank 0: terminated again while waiting in MPI") == 1, stderr
    assert "Traceback" not in stderr
    assert list((out / "checkpoints").glob("epoch-*"))  # the last complete checkpoint is kept


def test_a_rank_ends_only_on_a_second_signal_while_it_waits_in_one_collective():
    """The watching thread's rule, without MPI (review 3): one signal never ends a rank (the
    rank it waits for may be rank 0 writing a large checkpoint); a second one does,
    SECOND_SIGNAL_S after it, where both came while the rank waited in this collective, or the
    first was noted by Python before (the stop it would make at the next step). Signals that
    Python handled before the wait do not count, nor one delivered twice (by the batch system
    and by mpiexec, which passes it on)."""
    world = dist.World()
    short, same = dist.SECOND_SIGNAL_S, dist.SAME_SIGNAL_S
    one, two = [(signal.SIGTERM, 100.0)], [(signal.SIGTERM, 100.0), (signal.SIGTERM, 103.0)]
    assert not dist._waits_too_long(world, two, 200.0)  # computing: not waiting
    world.waiting_since = 99.0
    assert not dist._waits_too_long(world, one, 200.0)  # one signal, however long the wait
    assert not dist._waits_too_long(world, two, 103.0 + short - 0.01)
    assert dist._waits_too_long(world, two, 103.0 + short)
    twice = [(signal.SIGTERM, 100.0), (signal.SIGTERM, 100.0 + same / 2)]
    assert not dist._waits_too_long(world, twice, 200.0)  # one signal, delivered twice
    world.waiting_since = 101.0  # the first came before this wait and Python handled it
    assert not dist._waits_too_long(world, two, 200.0)
    world.interrupt_pending = signal.SIGTERM  # ... or noted it, to stop at the next step
    assert dist._waits_too_long(world, two, 103.0 + short)


# -- what the ranks say when they disagree or fail alone ------------------------------------


def _csv(path: Path) -> Path:
    """16 cases of 3 inputs: ``chainrule train`` splits a validation set off with the seed."""
    rows = ["a,b,c,label"] + [
        f"{i / 7:.3f},{(i * 5 % 16) / 3:.3f},{i % 3},{i % 2}" for i in range(16)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _two_ranks(tmp_path: Path, *rank_1_options: str):
    data = _csv(tmp_path / "c.csv")
    base = [sys.executable, "-m", "chainrule", "train", "--data", str(data), "--epochs", "2",
            "--quiet", "--out", str(tmp_path / "run")]  # fmt: skip
    command = [MPIEXEC, "-n", "1", *base, ":", "-n", "1", *base, *rank_1_options]
    return _run_job(command, tmp_path, timeout=40)


@needs_mpi
def test_a_seed_of_its_own_is_named_not_the_data_it_splits_differently(tmp_path):
    """The seed chooses the validation cases, so rank 1's training data differed too: the
    message blamed the data ("every rank must hold the whole data set") for an option."""
    done = _two_ranks(tmp_path, "--seed", "5")
    assert done.returncode == 2
    assert "rank 1 has seed=5 where rank 0 has 0" in done.stderr, done.stderr
    assert "whole data set" not in done.stderr


@needs_mpi
def test_a_bad_option_on_one_rank_other_than_0_says_which_rank(tmp_path):
    done = _two_ranks(tmp_path, "--epochs", "0")
    assert done.returncode == 2
    line = "chainrule: rank 1: --epochs must be a whole number from 1 to 1,000,000, not 0"
    assert done.stderr.count(line) == 1, done.stderr
