"""A benchmark child counts only the CPU time spent after it started: a wrapper's finished
subprocesses (a pyenv shim's), carried across its exec, read as the child using more cores than
it was given, and its row was flagged."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux's affinity")
def test_a_wrappers_finished_subprocess_is_not_the_childs_cpu_time():
    core = min(os.sched_getaffinity(0))
    burn = "import time; t = time.process_time()\nwhile time.process_time() - t < 1.5: pass"
    child = [
        sys.executable,
        "-m",
        "benchmarks.child",
        json.dumps({"workload": "sgemm", "n": 64, "reps": 3}),
    ]
    wrapper = f"{shlex.quote(sys.executable)} -c {shlex.quote(burn)}; exec {shlex.join(child)}"
    done = subprocess.run(
        ["sh", "-c", wrapper], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "BENCH_CORES": str(core)},
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    pinning = json.loads(line.removeprefix("BENCH-RESULT "))["pinning"]
    # one core: at most its wall time (the wrapper's 1.5 s burn made it several times that)
    assert pinning["process_cpu_per_wall"] <= 1.1, pinning
