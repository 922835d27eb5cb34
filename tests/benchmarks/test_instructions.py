"""benchmarks/instructions.py: its children run the workloads, and bad set-ups are one line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the repo root holds benchmarks/

from benchmarks import instructions  # noqa: E402


@pytest.mark.parametrize(
    ("what", "system"),
    [("chain", "chainrule"), ("step", "chainrule"), ("cold", "chainrule"), ("cold", "numpy")],
)
def test_the_counted_child_runs_its_workload(what, system):
    instructions.child(what, 3, system)  # what valgrind counts: it must run, and finish


def test_a_directory_without_chainrule_is_refused_in_one_line(tmp_path, capsys):
    assert instructions.main(["--src", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"instructions: no chainrule package in {tmp_path}\n"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_the_per_op_count_is_a_positive_repeatable_figure():
    first = instructions.per_unit("chain", "chainrule", REPO / "src")
    second = instructions.per_unit("chain", "chainrule", REPO / "src")
    assert 10_000 < first < 200_000  # NumPy's fixed cost alone is some thousands per op
    assert abs(first - second) < 0.02 * first  # the point of counting: it repeats


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_the_cold_table_counts_misses_per_step_for_both_systems():
    table = instructions.cold_table(REPO / "src").splitlines()
    assert [line.split()[0] for line in table[1:]] == ["instructions", "L1i", "L2", "L1d", "L2"]
    for line in table[1:]:
        ours, theirs, ratio = line.split()[-3:]
        ours, theirs = int(ours.replace(",", "")), int(theirs.replace(",", ""))
        assert ours > 0 and theirs > 0 and float(ratio) == pytest.approx(ours / theirs, abs=1e-3)
    # a step of this network runs millions of instructions (the matrix products), both systems
    assert int(table[1].split()[1].replace(",", "")) > 1_000_000
