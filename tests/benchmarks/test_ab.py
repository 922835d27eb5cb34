"""benchmarks/ab.py finds the two versions it compares and pairs rounds (no timing here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the repo root holds benchmarks/

from benchmarks.ab import paired_ratios, source_tree, summary  # noqa: E402


def test_a_directory_is_taken_as_it_is(tmp_path):
    assert source_tree(str(REPO / "src"), tmp_path) == (REPO / "src").resolve()
    assert source_tree(str(REPO), tmp_path) == (REPO / "src").resolve()  # a checkout: its src/


def test_a_revision_is_exported_from_git(tmp_path):
    tree = source_tree("HEAD", tmp_path)
    assert tree == tmp_path / "src"
    assert (tree / "chainrule" / "engine.py").is_file()


def test_neither_a_directory_nor_a_revision_is_named_in_the_error(tmp_path):
    with pytest.raises(ValueError, match="'no-such-revision-xyz' is neither"):
        source_tree("no-such-revision-xyz", tmp_path)


def test_ratios_are_paired_round_by_round():
    assert paired_ratios([2.0, 3.0, 0.0], [1.0, 6.0, 1.0]) == [2.0, 0.5]  # a failed 0 is dropped
    lines = summary(
        {
            "numpy": {"wall": [1.0, 1.0, 1.0], "cpu": [1.0, 1.0, 1.0]},
            "old": {"wall": [1.0, 2.0, 1.0], "cpu": [1.0, 1.0, 1.0]},
            "new": {"wall": [1.1, 2.2, 1.2], "cpu": [1.0, 1.0, 1.0]},
        },
        base="old",
    )
    assert "ratio" not in lines[0] and "/" not in lines[0]  # numpy: times only
    assert "new/old wall 1.100 (range 1.100-1.200)" in lines[2]  # paired, not median/median
    assert "new/numpy wall 1.200 (range 1.100-2.200)" in lines[2]
    five = {"wall": [1.0, 1.1, 1.2, 1.3, 1.4], "cpu": [1.0] * 5}
    lines = summary({"numpy": {"wall": [1.0] * 5, "cpu": [1.0] * 5}, "new": five}, base="old")
    assert "new/numpy wall 1.200 (90% CI 1.000-1.400)" in lines[1]  # from five rounds on
