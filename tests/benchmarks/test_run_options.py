"""benchmarks/run.py refuses a report or results path it could not write, and senseless
options, at start-up in one line: they failed only after the suite's minutes of measuring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repo root holds benchmarks/

from benchmarks import run  # noqa: E402


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--output", "{dir}", "is a directory"),
        ("--json", "{dir}", "is a directory"),
        ("--output", "{file}/report.md", "is a file, not a directory"),
        ("--json", "{file}/raw.json", "is a file, not a directory"),
        ("--timeout", "0", "--timeout must be a number of seconds > 0"),
        ("--timeout", "-1", "--timeout must be a number of seconds > 0"),
        ("--only", ",", "names no workload"),
    ],
)
def test_a_bad_option_is_one_line_before_anything_is_measured(tmp_path, option, value, says):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    value = value.format(dir=tmp_path / "adir", file=tmp_path / "afile")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "sgemm", "--quick",
         "--cores", "1", "--output", str(tmp_path / "r.md"), option, value],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert "on CPU(s)" not in done.stderr  # refused before the first task started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]  # nothing written


def test_a_failed_write_leaves_no_temp_file_and_a_good_one_replaces(tmp_path):
    target = tmp_path / "report.md"
    run._write(target, "first")
    run._write(target, "second")
    assert target.read_text() == "second"
    with pytest.raises(TypeError):
        run._write(target, None)  # the write fails after the temp file is made
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
