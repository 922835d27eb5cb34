"""`chainrule train` ends by saying what to run next on the model it saved; the command it
prints runs as printed, on that run's held-out case (or its training case, for a problem with no
test split)."""

from __future__ import annotations

import shlex

import pytest
from cli_run import run


@pytest.mark.parametrize(("data", "case"), [("xor", "training"), ("parity-3", "training")])
def test_the_next_command_printed_runs_as_printed(tmp_path, capsys, data, case):
    out = tmp_path / "run dir"  # a space: the printed command must quote it
    code, stdout, err = run(capsys, "train", "--data", data, "--epochs", 2, "-q", "--out", out)
    assert code == 0, err
    line = stdout.strip().splitlines()[-1]
    assert line.startswith("next:") and f"one {case} case" in line, stdout
    explain = line.removeprefix("next:").split(" (")[0].strip()
    argv = shlex.split(explain)
    assert argv[:2] == ["chainrule", "explain"] and argv[argv.index("--model") + 1] == str(out)
    code, text, err = run(capsys, *argv[1:])
    assert code == 0, err
    assert "Backpropagation step by step" in text and "row 0 (counted from 0) of the run's" in text


def test_a_held_out_case_is_named_so(tmp_path, capsys):
    rows = ["a,b,label"] + [f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{i % 2}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code, stdout, err = run(
        capsys, "train", "--data", tmp_path / "d.csv", "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err
    assert "one held-out case" in stdout.strip().splitlines()[-1]


def test_json_output_has_no_next_line(tmp_path, capsys):
    code, stdout, err = run(
        capsys, "train", "--data", "xor", "--epochs", 1, "-q", "--json", "--out", tmp_path / "r"
    )
    assert code == 0, err
    assert "next:" not in stdout
