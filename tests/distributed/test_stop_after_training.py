"""A stop while rank 0 alone writes a run's results (after the last collective of the fit).

The QA's reproducer (``mpiexec -n 2 chainrule train ... --epochs 6``, one SIGTERM to mpiexec
during rank 0's final writes): rank 1 had returned from the command and waited in
MPI_Finalize with SIGTERM's default action back, so the forwarded signal killed it, MPICH
killed rank 0 mid-write, and the job ended with exit 15 and MPICH's "BAD TERMINATION" banner.
Now every other rank waits for rank 0 inside the command (``World.wait_for_root``) and stops
together with it; and the "continue with:" hint names the launcher the run was started with.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_world import run_ranks  # noqa: E402

from chainrule import distributed as dist  # noqa: E402


def _ending(world: dist.World, stopped: bool) -> tuple[str, int, bool]:
    """What each rank of a job whose rank 0 stopped (or not) while writing ends with."""
    if world.is_main:
        stop = KeyboardInterrupt() if stopped else None
        world.wait_for_root(stop, signal.SIGTERM if stopped else 0)
        if stop is None:
            return ("done", 0, False)
        return ("stopped", stop._stop_signal, dist.raised_together(stop))
    try:
        world.wait_for_root()
    except KeyboardInterrupt as stop:
        return ("stopped", stop._stop_signal, dist.raised_together(stop))
    return ("done", 0, False)


def test_a_stop_of_rank_0_while_it_writes_stops_every_rank_together():
    """Every rank raises rank 0's stop, marked as raised together for SIGTERM (exit 143 on
    every rank, no MPI_Abort, rank 0 alone reporting)."""
    ends = run_ranks(3, lambda world: _ending(world, stopped=True))
    assert ends == [("stopped", signal.SIGTERM, True)] * 3


def test_ranks_waiting_for_a_rank_0_that_finished_end_as_it_did():
    ends = run_ranks(3, lambda world: _ending(world, stopped=False))
    assert ends == [("done", 0, False)] * 3


def test_the_hint_after_a_stop_under_mpiexec_names_the_launcher(monkeypatch):
    """``continue with: mpiexec -n 2 chainrule train --resume ...``: the command as the run
    was launched (it read ``chainrule train --resume ...``, which resumes on one process)."""
    from chainrule.cli import train
    from chainrule.train.runs import RunConfig

    stub = type("Comm", (), {"Get_rank": lambda self: 0, "Get_size": lambda self: 2})()
    monkeypatch.setattr(dist, "_WORLD", dist.World(stub))
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.delenv("SLURM_STEP_ID", raising=False)
    hint = train._resume_command(Path("runs/a b"), RunConfig(epochs=6), False)
    assert hint == "mpiexec -n 2 chainrule train --resume 'runs/a b' --epochs 6"
    monkeypatch.setattr(dist, "_WORLD", dist.World())
    alone = train._resume_command(Path("r"), RunConfig(epochs=6), True)
    assert alone == "chainrule train --resume r --epochs 6 --explain"
