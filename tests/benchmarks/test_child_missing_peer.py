"""A peer library that is not installed is a skipped row naming it (it read as an error with a
traceback); a library every row needs, missing, is still an error."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repo root holds benchmarks/


@pytest.mark.skipif(importlib.util.find_spec("autograd") is not None, reason="autograd installed")
def test_a_missing_peer_is_skipped_naming_it():
    spec = {"workload": "mlp", "system": "autograd", "sizes": [8, 4, 2], "batch": 4, "reps": 2,
            "warmup": 1}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", json.dumps(spec)], cwd=ROOT, timeout=120,
        capture_output=True, text=True,
        env={**os.environ, "BENCH_CORES": str(min(os.sched_getaffinity(0)))},
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    assert (result["status"], result["reason"]) == ("skipped", "autograd not installed")
    assert "Traceback" not in done.stderr


def test_a_required_library_missing_is_an_error():
    from benchmarks import child

    missing = ModuleNotFoundError("No module named 'numpy.linalg'", name="numpy.linalg")
    assert child._missing_peer(missing)["status"] == "error"
    peer = ModuleNotFoundError("No module named 'jax'", name="jax")
    assert child._missing_peer(peer) == {"status": "skipped", "reason": "jax not installed"}
