"""Output through a stream whose encoding is not UTF-8 (session 62, a student on Windows: Python
writes a redirected stdout in the ANSI code page, cp1252). ``chainrule explain > file`` wrote
68 bytes and then a UnicodeEncodeError traceback, as its text always holds Σ, · and ✓, and a class
named İzmir did the same to predict and evaluate. A file or a pipe is written in UTF-8 now.
Oracle: the bytes the process wrote, decoded as UTF-8."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _chainrule(tmp_path: Path, encoding: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], cwd=tmp_path, env=env, capture_output=True
    )


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_explain_to_a_pipe_is_written_whole_in_utf8(tmp_path, encoding):
    done = _chainrule(tmp_path, encoding, "explain")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    text = done.stdout.decode("utf-8")  # strict: every byte is UTF-8
    assert "Σ" in text and "✓" in text and "Traceback" not in done.stderr.decode()


def test_a_message_naming_a_file_keeps_its_letters(tmp_path):
    done = _chainrule(tmp_path, "ascii", "train", "--data", "Größe.csv")
    line = done.stderr.decode("utf-8")
    assert done.returncode == 2 and line.startswith("chainrule: Größe.csv: no such file"), line
