"""examples/family_trees.py checks --json and --figure before training (a bad path failed after
up to 25 minutes of it, losing every number), and writes its JSON atomically."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "family_trees.py"


def _run(tmp_path, *args, timeout=60):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--splits", "1", *args],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--json", "nodir/out.json", "no directory 'nodir' to write it in"),
        ("--figure", "nodir/f.png", "no directory 'nodir' to write it in"),
        ("--figure", "f.jpgx", "give a .png file name"),
        ("--json", "sub/", "names a directory, not a file"),
    ],
)
def test_a_path_that_cannot_be_written_is_refused_before_training(tmp_path, option, value, says):
    (tmp_path / "sub").mkdir()
    done = _run(tmp_path, option, value)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "==" not in done.stdout  # no recipe started training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_the_json_holds_the_printed_summary(tmp_path):
    done = _run(tmp_path, "--json", "out dir.json", timeout=300)
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "out dir.json").read_text())["default"]
    runs = saved["runs"]
    assert saved["summary"]["runs"] == len(runs) == 1
    top = sum(sum(r["top"]) for r in runs) / len(runs)  # the printed "held-out right of 4"
    assert f"top unit {top:.2f}" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out dir.json"]
