"""benchmarks/profile_step.py profiles on one thread whatever the user's environment says (it
used os.environ.setdefault, so OPENBLAS_NUM_THREADS=4 won and skewed the GEMM share)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POOLS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def test_every_thread_pool_is_one_thread_over_the_users_setting():
    probe = f"import os, benchmarks.profile_step\nprint([os.environ[n] for n in {POOLS!r}])"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **{name: "4" for name in POOLS}},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == str(["1", "1", "1"])
