"""A classic problem left unlearned because a --lr far too large saturated every logistic unit
(xor at --lr 50: y at 0 or 1, y(1 - y) = 0, so no step moves anything) was put down to a local
minimum, with "train again with another --seed, or longer". The note now reads the units'
saturation on the training cases (the gradient-health measure) and names --lr; a run stopped
early with units in their working range keeps the local-minimum note."""

from __future__ import annotations

import json

from cli_run import run

import chainrule as cr
from chainrule.explainer.health import SATURATION


def _trained(tmp_path, capsys, *options):
    out = tmp_path / "run"
    code, text, err = run(capsys, "train", "--data", "xor", "--out", out, *options)
    assert code == 0, err
    return text, json.loads((out / "run.json").read_text())


def test_a_saturating_lr_is_named_in_the_note(tmp_path, capsys):
    text, summary = _trained(tmp_path, capsys, "--lr", "50", "--epochs", "30")
    assert summary["test_accuracy"] < 1
    # the shares the note reads are the model's own units on the four cases
    model, _ = cr.io.load_model(tmp_path / "run" / "model")
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = cr.sigmoid(model[0](x)).numpy()
    assert summary["saturation"]["1"] == (y * (1 - y) < SATURATION).mean() >= 0.9
    assert min(summary["saturation"].values()) >= 0.9
    assert "its units are saturated (layer 1 100%, layer 2 100%" in text
    assert "smaller --lr" in text and "this run's is 50)" in text
    assert "local minimum" not in text


def test_units_in_their_working_range_keep_the_local_minimum_note(tmp_path, capsys):
    text, summary = _trained(tmp_path, capsys, "--epochs", "3")
    assert summary["test_accuracy"] < 1
    assert max(summary["saturation"].values()) < 0.5
    assert "it may be stuck in a local minimum" in text
    assert "saturated" not in text


def test_a_local_minimum_with_one_hidden_unit_saturated_keeps_the_local_minimum_note(
    tmp_path, capsys
):
    """xor --hidden 2 --seed 0 ends with one of its two hidden units saturated (the review's
    case): a smaller --lr does not get it out (0.1 and 0.05 end at 50% too), another seed does."""
    text, summary = _trained(tmp_path, capsys, "--hidden", "2", "--seed", "0", "--epochs", "800")
    assert summary["test_accuracy"] < 1
    assert summary["saturation"]["1"] == 0.5
    assert "it may be stuck in a local minimum" in text
    assert "--lr" not in text.split("note:")[1].splitlines()[0]


def test_a_learned_problem_has_no_note_and_no_measure(tmp_path, capsys):
    text, summary = _trained(tmp_path, capsys, "--epochs", "500")
    assert summary["test_accuracy"] == 1
    assert summary["saturation"] is None
    assert "note:" not in text
