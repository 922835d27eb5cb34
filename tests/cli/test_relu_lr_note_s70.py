"""The unlearned note's rule reads only the layers whose units saturate (logistic, tanh).

Once health.saturation measured relu layers too (their share: the units dead on every case), xor
at --lr 50 with relu hidden units (67% dead, its logistic output 100% saturated) fell below the
rule's bar and the note blamed a local minimum, where before it named --lr. A relu layer's dead
units are said beside the saturated ones as a fact; ``saturation_units`` in run.json says what
each layer's share counts."""

from __future__ import annotations

import json

import numpy as np
from cli_run import run

import chainrule as cr

XOR = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


def _trained(tmp_path, capsys, *options):
    out = tmp_path / "run"
    args = ("train", "--data", "xor", "--lr", "50", "--epochs", "200", "--out", out)
    code, text, err = run(capsys, *args, *options)
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    assert summary["test_accuracy"] < 1
    [note] = [line for line in text.splitlines() if line.startswith("note: the net has not")]
    return note, summary, cr.io.load_model(out / "model")[0]


def test_relu_hidden_units_at_a_huge_lr_get_the_lr_note(tmp_path, capsys):
    note, summary, model = _trained(tmp_path, capsys, "--activation", "relu", "--explain")
    assert summary["saturation_units"] == {"1": "relu", "2": "logistic"}
    # the relu layer's share is its units off on every case (dead), from the model itself
    h = cr.relu(model[0](cr.tensor(XOR))).numpy()
    dead = np.all(h == 0, axis=0).mean()
    assert summary["saturation"]["1"] == dead < 0.9
    assert summary["saturation"]["2"] >= 0.9
    assert "local minimum" not in note
    assert "its logistic units are saturated (layer 2 100%" in note
    assert "a logistic y near 0 or 1;" in note and "tanh" not in note
    assert f"some relu units are dead, off on every case (layer 1 {dead:.0%})" in note
    assert "smaller --lr" in note and "this run's is 50)" in note


def test_tanh_hidden_units_at_a_huge_lr_get_the_note_in_tanh_words(tmp_path, capsys):
    note, summary, _ = _trained(tmp_path, capsys, "--activation", "tanh")
    assert summary["saturation_units"] == {"1": "tanh", "2": "logistic"}
    assert min(summary["saturation"].values()) >= 0.9
    assert "its units are saturated (layer 1 100%, layer 2 100%" in note
    assert "slope f'(z) < 0.01: a tanh y near -1 or 1, a logistic y near 0 or 1;" in note
    assert "relu" not in note and "dead" not in note
    assert "smaller --lr" in note and "local minimum" not in note


def test_logistic_units_at_a_huge_lr_keep_their_note(tmp_path, capsys):
    note, summary, _ = _trained(tmp_path, capsys)
    assert summary["saturation_units"] == {"1": "logistic", "2": "logistic"}
    assert "its units are saturated (layer 1 100%, layer 2 100%" in note
    assert "slope f'(z) < 0.01: a logistic y near 0 or 1;" in note
    assert "tanh" not in note and "relu" not in note
    assert "smaller --lr" in note and "local minimum" not in note


def test_the_health_line_says_a_relu_layers_share_is_dead_units(tmp_path, capsys):
    out = tmp_path / "run"
    args = ("train", "--data", "xor", "--lr", "50", "--epochs", "200", "--out", out)
    code, text, err = run(capsys, *args, "--activation", "relu", "--explain")
    assert code == 0, err
    [line] = [line for line in text.splitlines() if line.startswith("gradient health:")]
    assert "saturated units at the end (a relu layer's: its units off on every case): " in line


def test_relu_units_under_a_softmax_top_dead_at_a_huge_lr_get_the_lr_note(tmp_path, capsys):
    """Review 5: with no saturating layer measured (relu hidden units, a softmax top), a layer
    dead on every case fell through to "a local minimum, train longer"."""
    out = tmp_path / "run"
    args = ("train", "--data", "encoder", "--activation", "relu", "--lr", "50", "--explain")
    code, text, err = run(capsys, *args, "--out", out)
    assert code == 0, err
    [note] = [line for line in text.splitlines() if line.startswith("note: the net has not")]
    assert "its relu units are dead, off on every case (layer 1 " in note
    assert "smaller --lr" in note and "local minimum" not in note
