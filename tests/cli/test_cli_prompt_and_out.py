"""The quiz's prompt when its input ends (a missing answer, not an interruption), and a file
option given a name that ends in a directory (written as a file of that name once)."""

from __future__ import annotations

import io

import pytest
from cli_run import assert_user_error, run


def test_input_ending_at_the_quiz_prompt_is_no_answer_not_an_interruption(capsys, monkeypatch):
    """`echo -n | chainrule quiz` said "interrupted" with Ctrl-C's exit code 130: click's prompt
    turns the end of input and Ctrl-C into one Abort."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert_user_error(capsys, "quiz", "--seed", "7", match="no answer given")
    # after an answer that asks again (too few digits), the input ending is the same
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n\n"))
    line = assert_user_error(capsys, "quiz", "--seed", "7", match="no answer given")
    assert "--answer" in line


def test_ctrl_c_at_the_quiz_prompt_is_still_interrupted(capsys, monkeypatch):
    class CtrlC(io.StringIO):
        def readline(self, *args):
            raise KeyboardInterrupt

    monkeypatch.setattr("sys.stdin", CtrlC())
    code, _, err = run(capsys, "quiz", "--seed", "7")
    assert code == 130 and err.strip() == "chainrule: interrupted", err


def test_the_quiz_prompt_still_reads_an_answer(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\nx\n-0.2183\n"))  # empty, a typo, the answer
    code, out, _ = run(capsys, "quiz", "--seed", "7", "--kind", "dy")
    assert "'x' is not a number" in out
    assert code in (0, 1) and ("Correct" in out or "Not quite" in out), out


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    from chainrule.cli import main

    out = tmp_path_factory.mktemp("runs") / "xor"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("name", ["missing_dir/", "missing_dir/.", "."])
@pytest.mark.parametrize(
    "command",
    [
        ["export", "{run}", "--format", "torch"],
        ["export", "{run}", "--format", "onnx"],
        ["explain", "--input", "1,0", "--target", "1", "--model", "{run}"],
        ["graph"],
        ["predict", "{run}", "--input", "{rows}", "--output"],
    ],
    ids=["export-torch", "export-onnx", "explain", "graph", "predict"],
)
def test_a_file_option_naming_a_directory_is_refused(xor_run, tmp_path, capsys, monkeypatch,
                                                     command, name):  # fmt: skip
    """`export --out missing_dir/` wrote a file called missing_dir (Path drops the slash)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.csv").write_text("1,0\n")
    args = [a.format(run=xor_run, rows=tmp_path / "rows.csv") for a in command]
    option = [] if args[-1] == "--output" else ["--out"]  # predict -o wrote a file of that name
    assert_user_error(capsys, *args, *option, name, match="names a directory")
    assert not (tmp_path / "missing_dir").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "--model", "{run}", "--no-symbolic", "--out"],
        ["explain", "--out"],
        ["graph", "--format", "svg", "--out"],
        ["predict", "{run}", "--input", "{rows}", "--output"],
        ["export", "{run}", "--format", "torch", "--out"],
    ],
    ids=["explain-model", "explain-seed", "graph", "predict", "export"],
)
def test_no_output_is_written_into_a_checkpoint(xor_run, tmp_path, capsys, command):
    """explain --out onto a checkpoint's trainer.json was written, and --resume then failed on
    it as 'not valid JSON'; the run's own files were refused, its checkpoints were not."""
    latest = sorted((xor_run / "checkpoints").glob("epoch-*"))[-1]
    state = (latest / "trainer.json").read_bytes()
    (tmp_path / "rows.csv").write_text("1,0\n")
    args = [a.format(run=xor_run, rows=tmp_path / "rows.csv") for a in command]
    for target in (latest / "trainer.json", latest / "new.svg"):
        assert_user_error(capsys, *args, target, match="is inside the checkpoint")
    assert (latest / "trainer.json").read_bytes() == state and not (latest / "new.svg").exists()


@pytest.mark.parametrize(
    "command",
    [["explain"], ["explain", "--format", "json"], ["--help"], ["train", "--help"], ["--version"]],
)
def test_a_closed_stdout_ends_quietly_with_sigpipes_code_not_a_failed_check(
    command, monkeypatch, capsys
):
    """``chainrule explain | head`` exited 1 (rich's answer to a closed pipe), the code that
    says a gradient check disagrees; it exits 141, as a tool SIGPIPE ended, saying nothing."""
    import os

    from chainrule.cli import main

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    closed = open(write_end, "w")  # noqa: SIM115 - closed by the test, after main
    monkeypatch.setattr("sys.stdout", closed)
    try:
        assert main(command) == 141
    finally:
        closed.close()
    assert capsys.readouterr().err == ""
