"""The note on an unlearned classic problem (s69 reviews): a network with no hidden layer on
xor, parity or symmetry is told no such network can learn them (it was told to try another seed
or more epochs, which never helps), and a deep tanh run whose gradients vanish is not told of
logistic units or to use tanh."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import run  # noqa: E402


def _notes(capsys, tmp_path, *args):
    code, out, err = run(capsys, "train", *args, "--out", tmp_path / "r", "--json", "-q")
    assert code == 0, err
    return json.loads(out)["notes"]


@pytest.mark.parametrize("data", ["xor", "parity", "symmetry", "parity-2", "symmetry-4"])
def test_no_hidden_layer_on_a_problem_no_line_separates_says_so(capsys, tmp_path, data):
    notes = _notes(capsys, tmp_path, "--data", data, "--hidden", "none", "--epochs", "30")
    note = next(n for n in notes if "has not learned" in n)
    assert "no net without a hidden layer can" in note
    assert "leave --hidden out for the dataset's preset" in note
    assert "--seed" not in note


def test_a_deep_tanh_run_whose_gradients_vanish_speaks_of_tanh(capsys, tmp_path):
    hidden = ",".join(["2"] * 24)
    notes = _notes(capsys, tmp_path, "--data", "parity", "--activation", "tanh", "--hidden",
                   hidden, "--epochs", "20", "--explain")  # fmt: skip
    note = next(n for n in notes if "has not learned" in n)
    assert "vanish" in note and "each tanh layer" in note
    assert "logistic" not in note and "y(1 - y)" not in note
    assert "--activation relu" in note and "--activation tanh" not in note
