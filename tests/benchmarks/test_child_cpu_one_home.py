"""benchmarks.child reads its CPU time with benchmarks.common.cpu_seconds (one home for the
count, start value subtracted), which it can only import before a workload loads NumPy if
benchmarks.common itself loads none: it had a second copy because common imported NumPy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_child_imports_no_numpy_before_its_workload():
    probe = (
        "import sys, benchmarks.child as child, benchmarks.common as common\n"
        "assert child.cpu_seconds is common.cpu_seconds, 'child has its own CPU count'\n"
        "assert 'numpy' not in sys.modules, 'numpy loaded before the workload chose to'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
