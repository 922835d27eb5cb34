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

SRC = Path(__file__).resolve().parents[2] / "src"


def _chainrule(tmp_path: Path, *args: str, asked: str | None = None):
    """``chainrule ARGS`` whose streams Python opens in the locale's code page: an ASCII locale
    without Python's UTF-8 mode (a Windows code page's stand-in), or ``asked`` for
    ``PYTHONIOENCODING``, the encoding a user asks for."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    env.update(PYTHONPATH=str(SRC), LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")
    if asked is not None:
        env["PYTHONIOENCODING"] = asked
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], cwd=tmp_path, env=env, capture_output=True
    )


def test_explain_to_a_pipe_is_written_whole_in_utf8(tmp_path):
    done = _chainrule(tmp_path, "explain")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    text = done.stdout.decode("utf-8")  # strict: every byte is UTF-8
    assert "Σ" in text and "✓" in text and "Traceback" not in done.stderr.decode()


def test_a_message_naming_a_file_keeps_its_letters(tmp_path):
    done = _chainrule(tmp_path, "train", "--data", "Größe.csv")
    line = done.stderr.decode("utf-8")
    assert done.returncode == 2 and line.startswith("chainrule: Größe.csv: no such file"), line


def test_an_encoding_the_user_asked_for_is_kept(tmp_path):
    """PYTHONIOENCODING=latin-1:replace: the text is written in Latin-1, as asked (a character
    it lacks replaced), not switched to UTF-8 (review, session 62)."""
    done = _chainrule(tmp_path, "explain", asked="latin-1:replace")
    assert done.returncode == 0
    text = done.stdout.decode("latin-1")
    assert "Backpropagation" in text and "?" in text  # Σ replaced, as latin-1:replace does
    assert "Σ".encode() not in done.stdout
