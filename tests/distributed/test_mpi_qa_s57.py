"""MPI's failures before it starts, said once; a hand-written loop's signals (QA, session 57).

Under ``mpiexec -n 64`` without mpi4py every rank printed the same line (64 lines); under
``srun`` an mpi4py on another MPI was blamed on "the mpiexec that launched it", with no word of
``CHAINRULE_MPI=0`` for a sweep's independent tasks; a hand-written loop stopped for SIGTERM
by its program's handler ended with 130, as for Ctrl-C, not 143. The launcher's variables are
set here with monkeypatch (in-process); two jobs run under a real ``mpiexec -n 2``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import types

import pytest
from test_mpi import MPIEXEC, _env, _run_job, needs_mpi

from chainrule import cli, launcher
from chainrule import distributed as dist

#: The prefixes of the variables launchers set (and chainrule's own), cleared before each test.
LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "HYDI_", "MPI_LOCAL", "SLURM_", "CHAINRULE_")


@pytest.fixture
def launched(monkeypatch, tmp_path):
    """Set a launcher's variables in this process's environment, and none other; no world
    joined yet (another test's may be left), in an empty directory."""
    monkeypatch.setattr(dist, "_WORLD", None)
    monkeypatch.setattr(dist, "_ENDING_TOGETHER", False)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(LAUNCHER_PREFIXES):
            monkeypatch.delenv(name)

    def set_vars(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_vars


@pytest.fixture
def without_mpi4py(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if it were not installed


@pytest.fixture
def mpi_of_one(monkeypatch):
    """An mpi4py that sees a world of one: built on another MPI than the launcher's."""
    alone = types.SimpleNamespace(Get_size=lambda: 1, Get_rank=lambda: 0)
    fake = types.ModuleType("mpi4py")
    fake.MPI = types.SimpleNamespace(COMM_WORLD=alone, IN_PLACE=object())
    monkeypatch.setitem(sys.modules, "mpi4py", fake)


@pytest.mark.parametrize(
    ("variables", "rank"),
    [
        ({"PMI_SIZE": "64", "PMI_RANK": "17"}, 17),  # MPICH's and Intel MPI's Hydra
        ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3"}, 3),  # Open MPI
        ({"PMIX_RANK": "2"}, 2),  # PMIx, no size
        ({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1"}, 1),  # srun
        ({"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1"}, 0),  # a batch script: no step
        ({"PMI_SIZE": "4", "PMI_RANK": "3", "CHAINRULE_MPI": "0"}, 0),  # each runs alone
        ({}, 0),
    ],
)
def test_the_launchers_rank_is_read_where_the_launch_is_detected(variables, rank):
    assert launcher.launched_rank(variables) == rank


@pytest.mark.parametrize(
    ("variables", "name"),
    [
        ({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "2"}, "srun"),
        ({"SLURM_STEP_ID": "0", "PMI_SIZE": "2", "PMI_RANK": "0"}, "srun"),  # --mpi=pmi2
        # Hydra inside an allocation starts its proxies with srun: a step, but mpiexec's ranks
        ({"SLURM_STEP_ID": "0", "PMI_SIZE": "2", "HYDI_CONTROL_FD": "7"}, "mpiexec"),
        ({"SLURM_STEP_ID": "0", "OMPI_COMM_WORLD_SIZE": "2"}, "mpiexec"),
        ({"PMI_SIZE": "2", "PMI_RANK": "0"}, "mpiexec"),
    ],
)
def test_the_launcher_is_named_as_the_environment_shows_it(variables, name):
    assert launcher.launcher_name(variables) == name


def test_without_mpi4py_only_rank_0_says_so(launched, without_mpi4py, capsys):
    """The command line: rank 0's one line and status 2; rank 1 ends with 2 and no word. In
    Python every rank raises DistributedError (a program's fallback runs on each), the
    others' marked as said by another rank."""
    launched(PMI_SIZE="2", PMI_RANK="1", HYDI_CONTROL_FD="7")
    train = ["train", "--data", "xor", "--epochs", "1", "--quiet", "--out", "run"]
    assert cli.main(train) == 2
    assert capsys.readouterr().err == ""
    assert dist.exit_code(2) == 2  # what cli.run passes on: no MPI, nothing to abort
    with pytest.raises(dist.DistributedError) as quiet:
        dist.init()
    assert dist.said_by_another_rank(quiet.value)
    assert quiet.value.__context__ is None or quiet.value.__suppress_context__

    launched(PMI_RANK="0")
    with pytest.raises(dist.DistributedError) as refused:
        dist.init()
    message = str(refused.value)
    assert message.startswith("mpiexec started 2 ranks but mpi4py is not installed: pip ")
    assert "CHAINRULE_MPI=0" in message and not dist.said_by_another_rank(refused.value)
    assert cli.main(train) == 2
    assert capsys.readouterr().err == f"chainrule: {message}\n"


def test_an_mpi_of_one_under_srun_names_srun_and_the_way_out(launched, mpi_of_one):
    launched(SLURM_STEP_ID="0", SLURM_STEP_NUM_TASKS="2", SLURM_PROCID="0")
    with pytest.raises(dist.DistributedError) as refused:
        dist._world_from_environment()
    message = str(refused.value)
    assert "srun started 2 ranks but MPI sees 1" in message
    assert "the one srun starts ranks for" in message and "mpiexec" not in message
    assert "(`srun -n 4 python sweep.py`), set CHAINRULE_MPI=0" in message


def test_an_mpi_of_one_is_said_by_rank_0_alone(launched, mpi_of_one, capsys):
    launched(SLURM_STEP_ID="0", SLURM_STEP_NUM_TASKS="2", SLURM_PROCID="1")
    with pytest.raises(dist.DistributedError) as refused:
        dist._world_from_environment()
    assert dist.said_by_another_rank(refused.value)


@needs_mpi
def test_mpiexec_without_mpi4py_reports_once(tmp_path, monkeypatch):
    """The QA's reproducer: ``mpiexec -n 2 chainrule train`` with an mpi4py that fails."""
    fake = tmp_path / "fake" / "mpi4py"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("not this one")\n')
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))  # after this checkout's src (_env)
    train = ["-m", "chainrule", "train", "--data", "xor", "--epochs", "2", "-q", "--out", "run"]
    done = _run_job([MPIEXEC, "-n", "2", sys.executable, *train], tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("mpi4py is not installed") == 1, done.stderr
    assert done.stderr.startswith("chainrule: mpiexec started 2 ranks but mpi4py is not inst")
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


#: The guide's hand-written loop (docs/distributed.md), with SIGTERM stopping as Ctrl-C does.
LOOP = """
import signal
import socket
import numpy as np
import chainrule as cr
from chainrule import distributed as dist
from chainrule.tensor import Tensor

signal.signal(signal.SIGTERM, signal.default_int_handler)
world = dist.init()
rng = np.random.default_rng(0)
X, y = rng.normal(size=(64, 4)), rng.integers(0, 3, 64)
model = cr.nn.mlp([4, 8, 3], rng=0, dtype=np.float64)
opt, loss = cr.optim.SGD(model, lr=0.1), cr.nn.CrossEntropy()
dist.broadcast_parameters(model)
with world.deferring_interrupts():
    for epoch in range(10**9):
        for rows in cr.data.batches(len(X), 16, rng=np.random.default_rng(epoch)):
            local = dist.shard(rows)
            opt.zero_grad()
            loss(model(Tensor(X[local])), Tensor(y[local])).backward()
            dist.average_gradients(model, cases=len(local), reduction=loss.reduction)
            opt.step()
        if epoch == 0:
            print("training", world.rank, flush=True)
"""


@needs_mpi
def test_a_hand_written_loop_stopped_by_sigterm_ends_with_143(tmp_path):
    """Every rank stops at one gradient average and ends with 128 + SIGTERM (130 before,
    Ctrl-C's status), rank 0 alone printing the stop: no rank's failure, no MPI_Abort."""
    (tmp_path / "loop.py").write_text(LOOP)
    started = tmp_path / "started"
    with started.open("w") as out:
        process = subprocess.Popen(
            [MPIEXEC, "-n", "2", sys.executable, "loop.py"], cwd=tmp_path, env=_env(),
            start_new_session=True, text=True, stdout=out, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while started.read_text().count("training") < 2 and time.monotonic() < deadline:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)  # mpiexec, which passes it on to the ranks
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143, stderr
    assert stderr.count("KeyboardInterrupt") == 1, stderr  # rank 0's traceback, once
    assert "failed" not in stderr and "Abort" not in stderr, stderr


@pytest.mark.parametrize(
    ("variables", "first"),
    [
        ({"PMI_SIZE": "64", "PMI_RANK": "17", "MPI_LOCALRANKID": "1"}, False),  # Hydra
        ({"PMI_SIZE": "64", "PMI_RANK": "16", "MPI_LOCALRANKID": "0"}, True),  # a node's first
        (
            {
                "OMPI_COMM_WORLD_SIZE": "8",
                "OMPI_COMM_WORLD_RANK": "4",
                "OMPI_COMM_WORLD_LOCAL_RANK": "0",
            },
            True,
        ),  # fmt: skip
        (
            {
                "SLURM_STEP_ID": "0",
                "SLURM_STEP_NUM_TASKS": "4",
                "SLURM_PROCID": "3",
                "SLURM_LOCALID": "1",
            },
            False,
        ),  # fmt: skip
        ({"PMI_SIZE": "4", "PMI_RANK": "2"}, False),  # no local rank: rank 0 alone
        ({"PMI_SIZE": "4", "PMI_RANK": "0"}, True),
        ({}, True),  # alone
    ],
)
def test_the_first_rank_of_each_machine_is_read_from_the_local_rank(variables, first):
    assert launcher.first_on_its_machine(variables) is first


def test_without_mpi4py_on_another_machine_its_first_rank_says_so_naming_it(
    launched, without_mpi4py
):
    """A machine whose install lacks mpi4py while rank 0's has it: rank 0 waits in MPI_Init,
    so this machine's line is the only word the job gives; it names the machine and rank."""
    launched(PMI_SIZE="4", PMI_RANK="2", MPI_LOCALRANKID="0")
    with pytest.raises(dist.DistributedError) as refused:
        dist._world_from_environment()
    assert str(refused.value).startswith(
        f"on {socket.gethostname()} (rank 2): mpiexec started 4 ranks but mpi4py is not inst"
    )
