"""benchmarks/profile_step.py refuses a step count that is no count, in one line (--steps 0
divided by zero; --steps -5 printed negative shares)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "profile_step.py"


@pytest.mark.parametrize("option", ["--steps", "--top"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_count_that_is_not_positive_is_one_line(option, value):
    done = subprocess.run([sys.executable, str(SCRIPT), option, value], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"argument {option}: must be a whole number > 0, not {value}" in done.stderr
