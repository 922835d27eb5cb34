"""``chainrule explain --input FILE.json`` reads the file as every JSON file of chainrule is read
(:func:`chainrule.io.read_json`: regular files only, at most 64 MiB, one-line errors): a named
pipe waited for a writer for ever, and a link to /dev/zero was read until memory ran out (s61)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import assert_user_error

SRC = Path(__file__).resolve().parents[2] / "src"


def _explain(tmp_path: Path, given: Path) -> subprocess.CompletedProcess:
    """``chainrule explain --input GIVEN --target 1`` as a user runs it; a hang is a failure
    (TimeoutExpired), and the process may take at most 4 GiB, should it read without end."""

    def at_most_4_gib() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    return subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--input", str(given), "--target", "1"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True,
        text=True, timeout=60, preexec_fn=at_most_4_gib,
    )  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_as_input_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "cases.json"
    os.mkfifo(fifo)  # nothing ever writes it: opening it to read would wait for ever
    result = _explain(tmp_path, fifo)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"chainrule: --input {fifo}: is a pipe")
    assert "regular files only" in result.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_link_to_dev_zero_as_input_is_refused_without_reading_it(tmp_path):
    link = tmp_path / "cases.json"
    link.symlink_to("/dev/zero")
    result = _explain(tmp_path, link)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"--input {link}: is a character device" in result.stderr, result.stderr


def test_a_json_file_that_is_no_json_names_where(tmp_path, capsys):
    """Its line and column, as every JSON file chainrule reads (it was "not numbers (Expecting
    property name ...)", as if the file's name had been numbers written out)."""
    bad = tmp_path / "cases.json"
    bad.write_text("[[0.5, 1.0],\n {oops}]\n")
    line = assert_user_error(capsys, "explain", "--input", bad, "--target", "1",
                             match=f"--input {bad}: not valid JSON (line 2, column 3")  # fmt: skip
    assert "not numbers" not in line


def test_a_json_file_of_numbers_is_still_read(tmp_path, capsys):
    from cli_run import run

    given = tmp_path / "cases.json"
    given.write_text("[[0.5, 1.0]]")
    code, out, err = run(capsys, "explain", "--input", given, "--target", "1,0,1")
    assert code == 0, err
    assert "0.5" in out
