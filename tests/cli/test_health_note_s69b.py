"""``chainrule train --explain`` on a deep logistic net (s69): where the run's own gradient health
saw the weights' gradient norms fall by 1e4 or more from the top layer to the bottom, the note on
an unlearned problem says the gradients vanish, naming the fall, instead of blaming a local
minimum with 0% saturation; a shallow run keeps the old note."""

from __future__ import annotations

import json

from cli_run import run

DEEP = ",".join(["3"] * 20)


def falloff_of(record: dict) -> tuple[int, float, float]:
    """From a record of the run's own history: the top layer with a weight-gradient norm above
    0 (counted from 1), its norm, and the first layer's (layer k's weight is module 2(k-1)'s)."""
    norms = record["grad_norms"]
    weights = [norms[f"{2 * k}.weight"] for k in range(len(norms) // 2)]
    top = max(k for k, v in enumerate(weights) if v > 0)
    return top + 1, weights[top], weights[0]


def test_a_deep_runs_note_says_its_gradients_vanish(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--data", "xor", "--hidden", DEEP, "--epochs", "5",
                         "--explain", "--json", "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["test_accuracy"] < 1
    top, high, low = falloff_of(summary["gradient_health_history"][-1])
    assert high / low >= 1e4
    (note,) = summary["notes"]
    assert "vanish" in note and "local minimum" not in note, note
    assert f"from {high:.2g} at layer {top} to {low:.2g} at layer 1" in note, note
    assert f"({high / low:.2g} times smaller) in epoch 5" in note, note
    assert "--hidden" in note and "relu" in note
    assert f"note: {note}" in err  # where a person watching sees it


def test_a_deep_runs_summary_names_the_fall_beside_the_saturation(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--data", "xor", "--hidden", DEEP, "--epochs", "3",
                         "--explain", "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    (line,) = [ln for ln in out.splitlines() if ln.startswith("gradient health: ")]
    record = json.loads((tmp_path / "r" / "run.json").read_text())["gradient_health_history"][-1]
    top, high, low = falloff_of(record)
    assert (
        f"vanishing: the weights' mean gradient norm falls from {high:.2g} at layer {top}" in line
    )
    assert "saturated units at the end: layer 1: " in line


def test_a_shallow_unlearned_run_keeps_the_local_minimum_note(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--data", "xor", "--hidden", "2", "--epochs", "5",
                         "--explain", "--json", "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["test_accuracy"] < 1
    top, high, low = falloff_of(summary["gradient_health_history"][-1])
    assert high / low < 1e4  # no vanishing gradient to speak of
    (note,) = summary["notes"]
    assert "local minimum" in note and "vanish" not in note, note
