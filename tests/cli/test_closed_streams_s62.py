"""Streams a grading script closed (session 62, a course's automation): ``explain --format
json >&-`` crashed with an AttributeError and exit code 1, which is explain's code for a failed
gradient check; ``evaluate --json >&-`` lost its output and exited 0; ``quiz <&-`` crashed
(``input(): lost sys.stdin``, exit 1, quiz's code for a wrong answer); ``train 2>&-`` died at
its first progress line. Now a closed stdout is one line and exit 2, a closed stdin reads as
empty, a closed stderr discards; and a traceback (a fault of chainrule's own) exits 70, a
code no answer of a command shares. The processes are started with the descriptors really
closed (as the shell's ``>&-`` leaves them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _chainrule(tmp_path: Path, *args: str, closed: int, read_only: Path | None = None):
    """``chainrule ARGS`` with file descriptor ``closed`` closed (or, given ``read_only``, that
    file open read-only in its place, as pyenv's shim leaves a closed stderr)."""

    def close() -> None:
        os.close(closed)
        if read_only is not None:
            assert os.open(read_only, os.O_RDONLY) == closed

    pipes = {0: "stdin", 1: "stdout", 2: "stderr"}
    streams = {name: subprocess.PIPE for number, name in pipes.items() if number not in (0, closed)}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], cwd=tmp_path, preexec_fn=close,
        env={**os.environ, "PYTHONPATH": str(SRC)}, **streams,
    )  # fmt: skip


def test_a_closed_stdout_is_one_line_and_exit_2(tmp_path):
    for args in (("explain", "--format", "json"), ("train", "--data", "xor", "--json")):
        done = _chainrule(tmp_path, *args, closed=1)
        assert done.returncode == 2, done.stderr
        assert done.stderr.decode().strip() == (
            "chainrule: standard output is closed (>&-); send it to a file or to /dev/null"
        )
    assert not (tmp_path / "runs").exists()  # refused before anything ran


def test_a_closed_stdin_reads_as_no_answer(tmp_path):
    done = _chainrule(tmp_path, "quiz", "--seed", "1", closed=0)
    assert done.returncode == 2
    assert done.stderr.decode().strip().startswith("chainrule: no answer given")


def test_a_closed_stderr_costs_the_run_nothing(tmp_path):
    for name, read_only in (("closed", None), ("shim", Path(sys.executable))):
        out = tmp_path / name
        args = ("train", "--data", "xor", "--epochs", "60", "--json", "--out", str(out))
        done = _chainrule(tmp_path, *args, closed=2, read_only=read_only)
        assert done.returncode == 0, name
        assert json.loads(done.stdout)["epochs"] == 60
        assert (out / "run.json").is_file() and (out / "model").is_dir()


def test_a_fault_of_chainrules_own_exits_70_with_its_traceback(tmp_path):
    code = "import chainrule.cli as cli; cli.main = lambda: 1 / 0; cli.run()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert done.returncode == 70
    assert "ZeroDivisionError" in done.stderr.decode() and "Traceback" in done.stderr.decode()
