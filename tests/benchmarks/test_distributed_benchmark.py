"""benchmarks/distributed.py runs end to end (tiny sizes; no timing is checked here)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which(
        "mpiexec",
        path=os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)]),
    )
    is None
    or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')",
)
def test_the_distributed_benchmark_reports_every_part(tmp_path):
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI_", "SLURM_"))}
    command = [sys.executable, str(ROOT / "benchmarks" / "distributed.py"), "--ranks", "1,2",
               "--only", "workload2,allreduce,overlap", "--steps", "1", "--megabytes", "1",
               "--repeats", "1", "--output", str(tmp_path / "report.md")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "report.md").read_text()
    assert "| 2 | - | - | - |" in report  # the scaling table, digits left out
    assert "| 2 | 1MB |" in report  # averager against raw mpi4py
    assert "Iallreduce during the work" in report
