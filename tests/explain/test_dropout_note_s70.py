"""explain() of a model in evaluation mode names its Dropout layers.

In training mode the explainer notes that it runs dropout as in evaluation; in evaluation mode
it said nothing, so a derivation that skipped a model's dropout read like one of a model that
had none: a lecturer could not tell the two apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

X = np.array([[0.5, -1.0, 2.0]])
T = np.array([[1.0, 0.0]])


def dropout_model(*ps):
    layers = [nn.Linear(3, 4, rng=0), nn.Tanh()]
    layers += [nn.Dropout(p, rng=i) for i, p in enumerate(ps)]
    return nn.Sequential(*layers, nn.Linear(4, 2, rng=1), nn.Logistic())


def test_an_evaluation_mode_model_names_its_dropout_layers():
    model = dropout_model(0.5, 0.2).eval()
    d = cr.explain(model, X, T, nn.SquaredError(), check=False)
    (note,) = [n for n in d.notes if "dropout" in n.lower()]
    assert "evaluation mode" in note and "identity" in note
    assert "module 2 (p=0.5)" in note and "module 3 (p=0.2)" in note
    assert not model.training  # the mode stays as it was


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_every_format_carries_the_note_as_it_carries_the_training_one(fmt):
    trained = cr.explain(dropout_model(0.5).train(), X, T, nn.SquaredError(), check=False)
    evaluated = cr.explain(dropout_model(0.5).eval(), X, T, nn.SquaredError(), check=False)
    (train_note,) = trained.notes
    (eval_note,) = evaluated.notes
    assert train_note in render(trained, fmt) or fmt == "json"
    assert eval_note in render(evaluated, fmt) or fmt == "json"
    if fmt == "json":
        assert json.loads(render(trained, fmt))["notes"] == [train_note]
        assert json.loads(render(evaluated, fmt))["notes"] == [eval_note]


def test_no_note_without_dropout_or_at_p_0():
    for model in (dropout_model().eval(), dropout_model(0.0).eval()):
        assert not cr.explain(model, X, T, nn.SquaredError(), check=False).notes


def test_a_model_in_training_mode_gets_one_note_the_training_one():
    d = cr.explain(dropout_model(0.5).train(), X, T, nn.SquaredError(), check=False)
    assert len(d.notes) == 1 and "training mode" in d.notes[0]


def test_the_cli_explain_of_a_saved_model_says_so(tmp_path, capsys):
    path = tmp_path / "m.npz"
    cr.io.save_model(str(path), dropout_model(0.5))
    code, out, err = run(capsys, "explain", "--model", path, "--input", "0.5,-1,2",
                         "--target", "1,0", "--max-checks", "0")  # fmt: skip
    assert code == 0, err
    assert "evaluation mode, with dropout at module 2 (p=0.5)" in " ".join(out.split())
