"""An output unit as the focus says why the sum's sections are left out, in words true of its loss.

``chainrule explain --model M --unit 2:1`` on a cross-entropy model said "E reads its y directly,
so its dE/dy comes from the loss", where the explainer's own record of that layer has no dE/dy
(None: E is computed from the logits z) and its dE/dz comes straight from the loss. A loss that
reads y (squared error) keeps the old words, which are true of it.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer import render

X = np.array([[0.1, 0.2, 0.3]])
#: unit 1 of the top layer, in Hinton's notation (the default); test_notation_words.py has the
#: words in the other notations
Y_WORDS = "E reads its y_1 directly, so its ∂E/∂y_1 comes from the loss"


def _z_words(loss: str, activation: str) -> str:
    return (
        f"E reads its z_1 (the {loss} applies the {activation} itself), so it has no ∂E/∂y_1 "
        "and its ∂E/∂z_1 comes straight from the loss"
    )


@pytest.mark.parametrize(
    ("loss", "output", "t"),
    [
        (cr.nn.CrossEntropy(), None, np.array([[0.0, 1.0]])),
        (cr.nn.BinaryCrossEntropy(), None, np.array([[1.0, 0.0]])),
        (cr.nn.SquaredError(), "logistic", np.array([[1.0, 0.0]])),  # reads y: the old words
    ],
)
def test_the_focus_words_follow_the_layers_own_record(loss, output, t):
    net = cr.nn.mlp([3, 4, 2], output=output, dtype="float64", rng=1)
    d = cr.explain(net, X, t, loss, unit="2:1", check=False)
    top = d.layers[-1]
    if loss.output_activation is None:  # E reads y: its dE/dy is y - t (squared error, 1 case)
        np.testing.assert_allclose(top.dE_dy, top.y - t, rtol=1e-12)
        assert f"unit 2:1 is an output unit: {Y_WORDS}" in d.sum_left_out
        assert "reads its z" not in d.sum_left_out
        return
    assert top.dE_dy is None  # the explainer's own record: no dE/dy, E is computed from z
    words = _z_words(loss.name, loss.output_activation)
    assert Y_WORDS not in d.sum_left_out
    assert f"unit 2:1 is an output unit: {words}" in d.sum_left_out
    assert words in " ".join(render(d, "text").split())


def test_the_cli_on_a_trained_cross_entropy_run_says_z(trained_run):
    """QA's command: a run of chainrule train with cross-entropy, an output unit as --unit."""
    run = trained_run("csv cross-entropy")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["explain", "--model", run, "--input", "0.1,0.2,0.3,0.4", "--target", "1"]
        assert main([str(a) for a in [*args, "--unit", "2:1"]]) == 0
    text = " ".join(out.getvalue().split())
    assert Y_WORDS not in text
    assert f"unit 2:1 is an output unit: {_z_words('cross-entropy', 'softmax')}" in text
