"""The closed-form tests of the losses and optimizers run on an install without PyTorch; only
the comparisons with torch are skipped, one by one."""

import os
import subprocess
import sys
from pathlib import Path

import chainrule as cr

TESTS = Path(__file__).resolve().parents[1]
FILES = [str(TESTS / "nn" / "test_losses.py"), str(TESTS / "optim" / "test_optim.py")]


def test_closed_form_tests_run_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"  # import torch now raises ImportError
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-k', 'closed_form or formula',\n"
        f"                     *{FILES!r}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(cr.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 5 and "skipped" not in summary, summary
