"""``predict -i -`` and ``quiz`` under a real ``mpiexec -n 2`` (QA, session 71).

MPICH gives standard input to rank 0 alone and keeps the other ranks' pipe open: rank 1 of
``predict -i -`` waited for ever on it, after rank 0 had printed the predictions (the job never
ended). ``quiz`` asked and graded its exercise once per rank, where ``serve`` refuses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from test_mpi import MPIEXEC, _env, _launch, needs_mpi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

ROWS = "0,0\n0,1\n1,0\n1,1\n"


def _launch_with_stdin(args: list[str], cwd: Path, stdin: str, timeout: float = 60):
    """``mpiexec -n 2 python ARGS`` fed ``stdin``; a job that hangs is killed whole (as
    test_mpi's ``_run_job`` does) and fails the test."""
    command = [MPIEXEC, "-n", "2", sys.executable, *args]
    with subprocess.Popen(command, cwd=cwd, env=_env(), text=True, start_new_session=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@needs_mpi
def test_predict_from_stdin_under_mpiexec_prints_once_and_ends(tmp_path, capsys):
    # the run and the reference predictions are made here, in this process
    train = ["train", "--data", "xor", "--epochs", "2", "--quiet"]
    assert run(capsys, *train, "--out", tmp_path / "run")[0] == 0
    (tmp_path / "rows.csv").write_text(ROWS)
    code, expected, _ = run(capsys, "predict", tmp_path / "run", "-i", tmp_path / "rows.csv")
    assert code == 0 and expected.count("\n") == 5  # a header and four predictions

    done = _launch_with_stdin(["-m", "chainrule", "predict", "run", "-i", "-"], tmp_path, ROWS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected  # once, by rank 0, the rows every rank read


@needs_mpi
def test_a_mistake_in_stdin_under_mpiexec_is_reported_once(tmp_path, capsys):
    train = ["train", "--data", "xor", "--epochs", "1", "--quiet"]
    assert run(capsys, *train, "--out", tmp_path / "run")[0] == 0
    done = _launch_with_stdin(
        ["-m", "chainrule", "predict", "run", "-i", "-"], tmp_path, "0,0\n0,1,1,1\n"
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: <stdin>, line 2: "), lines
    assert done.stdout == ""


@needs_mpi
def test_quiz_under_mpiexec_is_refused_in_one_line(tmp_path):
    """Each rank printed the exercise and graded the answer: two quizzes, two verdicts."""
    quiz = ["-m", "chainrule", "quiz", "--seed", "3", "--answer", "0.1"]
    done = _launch(2, quiz, tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0] == (
        "chainrule: quiz: the exercise is one prompt for one person; start it without "
        "mpiexec or srun"
    )
    assert done.stdout == ""
