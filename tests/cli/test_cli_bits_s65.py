"""Command-line leftovers: NO_COLOR, Ctrl-C while the command starts, a pixel range message
naming its column by the header, and quiz's kinds in one place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import assert_user_error, run

import chainrule

ESC = "\x1b"


# -- NO_COLOR (https://no-color.org) ------------------------------------------------------------


@pytest.fixture
def forced_terminal(monkeypatch):
    """Standard output and standard error taken for a terminal, as FORCE_COLOR tells rich."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    return monkeypatch


def test_no_color_takes_every_escape_out_of_explain_on_a_terminal(forced_terminal, capsys):
    """explain's headings were bold and underlined with NO_COLOR set: rich drops the colours
    for it but keeps the other styles, which are escapes all the same. NO_COLOR wins over
    FORCE_COLOR; set but empty, it says nothing (the convention)."""
    code, coloured, _ = run(capsys, "explain")
    assert code == 0 and ESC + "[" in coloured  # a terminal: the escapes are there to remove
    forced_terminal.setenv("NO_COLOR", "")
    assert ESC in run(capsys, "explain")[1]
    forced_terminal.setenv("NO_COLOR", "1")
    code, out, err = run(capsys, "explain")
    assert code == 0, err
    assert ESC not in out + err
    # the same text, every escape aside
    assert out.splitlines()[:12] == _plain(coloured).splitlines()[:12]


def test_no_color_takes_every_escape_out_of_the_class_tables(forced_terminal, trained_run, capsys):
    """evaluate's (and train's) per-class table and confusion matrix: bold headers."""
    digits = trained_run("digits")
    code, coloured, _ = run(capsys, "evaluate", digits)
    assert code == 0 and ESC + "[1m" in coloured
    forced_terminal.setenv("NO_COLOR", "yes")
    code, out, err = run(capsys, "evaluate", digits)
    assert code == 0, err
    assert ESC not in out + err
    assert "confusion matrix" in out and "precision" in out


def test_no_color_trains_with_a_progress_bar_without_colour(forced_terminal, tmp_path, capsys):
    """NO_COLOR is about colour and styles (SGR escapes), not the bar: with it, train's progress
    bar on a terminal still redraws its line (cursor escapes), in no colour or style."""
    import re

    args = ["train", "--data", "xor", "--epochs", 40, "--out"]
    code, _, coloured = run(capsys, *args, tmp_path / "bar")
    assert code == 0 and re.search(r"\x1b\[[0-9;]*m", coloured)  # styled, on a terminal
    forced_terminal.setenv("NO_COLOR", "1")
    code, out, err = run(capsys, *args, tmp_path / "plain")
    assert code == 0, err
    assert not re.search(r"\x1b\[[0-9;]*m", out + err)  # no colour, bold or underline
    assert "\x1b[2K" in err  # the bar, still drawn


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# -- Ctrl-C while the command starts -----------------------------------------------------------

#: The console script pip writes for ``chainrule = "chainrule.cli:run"``.
CONSOLE_SCRIPT = """\
import re
import sys
from chainrule.cli import run
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(run())
"""


def _interrupted_after(entry: list[str], module: str) -> tuple[int, list[str]]:
    """``chainrule explain`` sent SIGINT as soon as ``module`` is imported, told by Python's
    own ``-X importtime``, which writes a line on stderr as each import ends: the exit code and
    the other lines of stderr."""
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", *entry, "explain"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    sent = False
    try:
        for raw in child.stderr:
            if raw.decode().rsplit("|", 1)[-1].strip() == module:
                child.send_signal(signal.SIGINT)
                sent = True
                break
        rest = child.stderr.read().decode()
    finally:
        child.stderr.close()
        child.wait(timeout=60)
    assert sent, f"{module} was never imported"
    return child.returncode, [line for line in rest.splitlines() if "import time:" not in line]


@pytest.mark.parametrize("module", ["typer", "chainrule.cli.app", "numpy"])
def test_ctrl_c_while_the_command_starts_is_one_line_and_130(module):
    """Ctrl-C while chainrule imported typer (before any handler) printed the
    KeyboardInterrupt's traceback, and while a command imported NumPy (typer turns it into
    exit 130) printed nothing; now any time after the command's first imports it is the one
    line and the 130 of a later Ctrl-C."""
    code, lines = _interrupted_after(["-m", "chainrule"], module)
    assert (code, lines) == (130, ["chainrule: interrupted"])


def test_ctrl_c_while_the_console_script_starts_is_one_line_and_130_importing_keeps_it(
    tmp_path,
):
    """The same for the script pip installs; a program that merely imports chainrule.cli (a
    test, a notebook, a script calling main) keeps Python's own Ctrl-C, a KeyboardInterrupt."""
    script = tmp_path / "chainrule"
    script.write_text(CONSOLE_SCRIPT)
    for module in ("typer", "numpy"):
        assert _interrupted_after([str(script)], module) == (130, ["chainrule: interrupted"])
    code = (
        "import signal, chainrule.cli; "
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _env() -> dict[str, str]:
    """The environment of a child running this chainrule."""
    return dict(os.environ, PYTHONPATH=str(Path(chainrule.__file__).parents[1]))


# -- a pixel outside [0, 1] in a file with a header ---------------------------------------------


def test_a_pixel_outside_the_range_names_its_column_by_the_header(trained_run, tmp_path, capsys):
    """The message said "line 3, column 6" where the header names column 6 'p5': named now as
    the other messages about a cell of a file name it, "line 3, column 6 ('p5')"; without a
    header, by its number."""
    digits = trained_run("digits")
    header = ",".join(f"p{k}" for k in range(64))
    rows = [[0.5] * 64 for _ in range(3)]
    rows[1][5] = 3
    inputs = tmp_path / "inputs.csv"
    inputs.write_text("\n".join([header, *(",".join(map(str, r)) for r in rows)]) + "\n")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("\n".join([f"{header},y", *(",".join(map(str, r)) + ",1" for r in rows)]))
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(map(str, r)) + ",1" for r in rows) + "\n")
    for args in (
        ["predict", digits, "--input", inputs],
        ["evaluate", digits, "--data", labelled],
        ["explain", "--model", digits, "--input", labelled],
    ):
        assert_user_error(capsys, *args, match=": line 3, column 6 ('p5'): 3 is outside [0, 1]")
    line = assert_user_error(capsys, "evaluate", digits, "--data", bare,
                             match="bare.csv: line 2, column 6: 3 is outside [0, 1]")  # fmt: skip
    assert "(" not in line.split(" is outside")[0]


# -- quiz --kind --------------------------------------------------------------------------------


def test_quiz_kinds_have_one_home(capsys):
    """quiz --kind's choices and make_quiz's kinds were two literals: one list now, which the
    command's refusal and the library's both name."""
    from chainrule.explainer.network import ExplainError
    from chainrule.explainer.quiz import KINDS, make_quiz

    assert KINDS == ("dy", "dw")
    line = assert_user_error(capsys, "quiz", "--kind", "dz", "--seed", 1, match="--kind")
    assert line.endswith(f"choose one of {', '.join(KINDS)}")
    with pytest.raises(ExplainError, match="use dy or dw"):
        make_quiz(1, "dz")
    for kind in KINDS:
        assert make_quiz(1, kind).kind == kind
