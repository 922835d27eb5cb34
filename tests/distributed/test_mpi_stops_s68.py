"""Stops under a real ``mpiexec -n 2`` that QA found still said per rank (session 68).

A SIGTERM or Ctrl-C that mpiexec passed on to the ranks while they started (before they had
joined the job) printed "chainrule: terminated" once per rank; one noted while rank 0 wrote
the last checkpoint was raised on each rank alone, rank 0 aborting the job while rank 1 waited
for it. Each rank here is held at the moment that matters (a file it touches says it is
there), so the signal lands where it must, without timing.
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
from test_mpi import MPIEXEC, _env, needs_mpi
from test_mpi_qa_s57 import LAUNCHER_PREFIXES
from test_world import run_ranks

from chainrule import cli
from chainrule import distributed as dist

#: chainrule's command line, held until told (or 20 s) where the test names it: HELD_AT is
#: ``start`` (each rank as its command starts, before NumPy is loaded), ``joining`` (each rank
#: as its command joins the job, before MPI starts) or ``last-checkpoint`` (rank 0 while it
#: writes the run's last checkpoint). Each rank touches ``ready-<rank>`` in
#: the folder given as the first argument when it is held there, and writes ``ended-<rank>``
#: with the exit code its main() returns. The rest of the arguments are chainrule's.
HELD_CHAINRULE = r"""
import os, sys, time
from pathlib import Path

import chainrule.cli as cli

folder, held_at = Path(sys.argv[1]), sys.argv[2]
rank = os.environ.get("PMI_RANK", "0")


def hold():
    (folder / f"ready-{rank}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 20
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


if held_at == "start":  # main() runs the app once its SIGTERM handler is in place
    app = cli.app

    def held_app(*args, **kwargs):
        hold()
        return app(*args, **kwargs)

    cli.app = held_app
elif held_at == "joining":  # the command has loaded NumPy and the engine, and joins the job
    from chainrule import distributed

    world = distributed.world

    def held_world():
        distributed.world = world
        hold()
        return world()

    distributed.world = held_world
else:
    from chainrule import io

    save, epochs = io.save_checkpoint, int(sys.argv[sys.argv.index("--epochs") + 1])

    def held_save(directory, trainer, *args, **kwargs):
        if trainer.epoch == epochs:
            hold()
        return save(directory, trainer, *args, **kwargs)

    io.save_checkpoint = held_save

main = cli.main


def noted_main(argv=None):
    code = main(argv)
    (folder / f"ended-{rank}").write_text(str(code))
    return code


cli.main = noted_main
sys.argv = ["chainrule", *sys.argv[3:]]
cli.run()
"""


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _signalled_while_held(
    tmp_path: Path, held_at: str, signum: int, *train: str, only_rank: int | None = None
) -> tuple[int, str, dict[str, str]]:
    """Run ``chainrule train *train`` on 2 ranks held at ``held_at``; once they are held there
    (rank 0 alone for ``last-checkpoint``), send ``signum`` to mpiexec, which passes it on to
    every rank (as a batch system's SIGTERM or a terminal's Ctrl-C reaches them), or to rank
    ``only_rank`` alone, then let them go on. Returns the job's exit status, its stderr and
    the codes the ranks' main() returned; a job that does not end is killed whole."""
    folder = tmp_path / "held"
    folder.mkdir()
    script = tmp_path / "held_chainrule.py"
    script.write_text(HELD_CHAINRULE)
    command = [MPIEXEC, "-n", "2", sys.executable, str(script), str(folder), held_at,
               "train", *train]  # fmt: skip
    held = 1 if held_at == "last-checkpoint" else 2
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_env(), start_new_session=True, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for(lambda: len(list(folder.glob("ready-*"))) == held, 60, f"ranks at {held_at}")
        time.sleep(0.2)  # a rank not held waits for rank 0 in MPI meanwhile
        if only_rank is None:
            process.send_signal(signum)
        else:
            os.kill(int((folder / f"ready-{only_rank}").read_text()), signum)
        time.sleep(0.2)
        (folder / "go").touch()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    ended = {f.name[len("ended-") :]: f.read_text() for f in folder.glob("ended-*")}
    return process.returncode, stderr, ended


_TRAIN = ("--data", "xor", "--epochs", "2", "--quiet")


# -- 1. a signal while the ranks start ----------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("held_at", ["start", "joining"])
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_while_the_ranks_start_is_said_once_by_rank_0(
    tmp_path, held_at, signum, code, word
):
    """mpiexec passes the signal on to both ranks before they have joined the job: each said
    it. Now rank 0 does, and every rank ends with the signal's code, no MPI started to end the
    job (the ranks that had loaded NumPy started it, to abort the job)."""
    out = tmp_path / "run"
    status, stderr, ended = _signalled_while_held(
        tmp_path, held_at, signum, *_TRAIN, "--out", str(out)
    )
    assert status == code, stderr
    assert stderr.splitlines() == [f"chainrule: {word}"], stderr
    assert ended == {"0": str(code), "1": str(code)}
    assert not out.exists()


@pytest.fixture
def rank_1_of_2(monkeypatch):
    """This process as rank 1 of 2 as mpiexec (Hydra) announces it, no world joined yet."""
    for name in list(os.environ):
        if name.startswith(LAUNCHER_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "1")
    monkeypatch.setattr(dist, "_WORLD", None)
    monkeypatch.setattr(dist, "_ENDING_TOGETHER", False)


def test_rank_1_says_its_own_failure_before_the_job_but_not_a_signal(rank_1_of_2, capsys):
    """Before the job is joined a rank other than 0 leaves a signal's line to rank 0 (mpiexec
    passes a signal on to every rank), but a failure of its own (its own file unreadable,
    which rank 0 may never meet) is still said by it."""
    cli._report("chainrule: terminated", cli.Terminated())
    cli._report("chainrule: interrupted", KeyboardInterrupt())
    assert capsys.readouterr().err == ""
    cli._report("chainrule: data.csv: Permission denied", PermissionError(13, "no", "data.csv"))
    cli._report("chainrule: --data data.csv: no such file", cli.UserError("no such file"))
    assert capsys.readouterr().err.splitlines() == [
        "chainrule: data.csv: Permission denied",
        "chainrule: --data data.csv: no such file",
    ]


def test_ctrl_c_while_the_command_is_imported_is_said_by_rank_0_alone(
    rank_1_of_2, monkeypatch, capfd
):
    """The handler for a Ctrl-C while typer and the commands are imported: silent on rank 1,
    the one line on rank 0; exit 130 on both."""
    with pytest.raises(SystemExit) as rank_1:
        cli._interrupted_while_starting(signal.SIGINT, None)
    assert rank_1.value.code == 130 and capfd.readouterr().err == ""
    monkeypatch.setenv("PMI_RANK", "0")
    with pytest.raises(SystemExit) as rank_0:
        cli._interrupted_while_starting(signal.SIGINT, None)
    assert rank_0.value.code == 130 and capfd.readouterr().err == "chainrule: interrupted\n"


# -- 2. a signal while rank 0 writes the last checkpoint ---------------------------------------


@needs_mpi
def test_a_sigterm_during_the_last_checkpoint_stops_every_rank_together(tmp_path):
    """Rank 0 noted the signal while it wrote the last checkpoint and raised it alone when the
    fit's block ended, then aborted the job; rank 1, done with the fit, was waiting for it (it
    had the run finished) and was killed. Now the ranks decide together at the fit's end:
    both stop, ending with 143 and no abort, rank 0 alone reporting."""
    out = tmp_path / "run"
    status, stderr, ended = _signalled_while_held(
        tmp_path, "last-checkpoint", signal.SIGTERM, *_TRAIN, "--out", str(out)
    )
    assert status == 143, stderr
    assert ended == {"0": "143", "1": "143"}, stderr
    last = out / "checkpoints" / "epoch-000002"
    assert stderr.splitlines() == [
        f"chainrule: terminated; the last complete checkpoint is {last}",
        f"continue with: mpiexec -n 2 chainrule train --resume {out} --epochs 2",
    ]
    assert (last / "trainer.json").is_file()
    assert not (out / "run.json").exists()  # stopped before the results: a resume writes them


@pytest.mark.parametrize(
    ("noted", "stop"),
    [
        ({}, None),
        ({1: signal.SIGTERM}, signal.SIGTERM),  # one rank alone: every rank stops
        ({0: signal.SIGINT}, signal.SIGINT),
        ({0: signal.SIGINT, 2: signal.SIGTERM}, signal.SIGTERM),  # as the gradient average
    ],
)
def test_the_ranks_stop_together_where_any_noted_a_signal_after_the_last_step(noted, stop):
    """The decision at a fit's end (fake ranks, no MPI): a signal noted on any rank stops
    every rank, marked as raised together with the signal's number (its exit status), each
    noted signal cleared; none noted, every rank goes on."""

    def end_of_fit(world):
        world.interrupt_pending = noted.get(world.rank, 0)
        try:
            world.stop_if_noted_on_any_rank()
        except KeyboardInterrupt as raised:
            together = dist.raised_together(raised)
            return raised._stop_signal, together, world.interrupt_pending
        return None, False, world.interrupt_pending

    expected = (stop, stop is not None, 0)
    assert run_ranks(3, end_of_fit) == [expected] * 3
