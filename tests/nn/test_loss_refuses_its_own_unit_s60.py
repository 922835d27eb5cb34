"""A loss that applies its own unit refuses outputs that unit already made.

``BinaryCrossEntropy()(Sigmoid()(z), t)`` (PyTorch's ``BCEWithLogitsLoss`` after a
``Sigmoid``, the classic slip) applied the logistic twice without a word: the loss was
0.670 where the model's probabilities give 0.710, its gradients 0.029 off. ``Trainer``
refused a model ending in that layer; a hand-written loop got the wrong numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import UserError

Z = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]])


@pytest.mark.parametrize(
    ("loss", "unit", "target"),
    [
        (cr.nn.BinaryCrossEntropy(), cr.nn.Logistic(), np.array([[1.0, 0, 1], [0, 1, 0]])),
        (cr.nn.CrossEntropy(), cr.nn.Softmax(), np.array([2, 0])),
    ],
    ids=["bce-after-logistic", "ce-after-softmax"],
)
def test_the_loss_refuses_what_its_own_unit_made(loss, unit, target) -> None:
    model = cr.nn.Sequential(cr.nn.Linear(3, 3, rng=0), unit)
    with pytest.raises(UserError, match=r"applied twice; give it the logits"):
        loss(model(cr.tensor(Z)), target)
    logits = cr.nn.Sequential(*model.layers[:-1])(cr.tensor(Z))
    assert np.isfinite(loss(logits, target).item())  # the logits are taken


def test_other_inputs_are_taken_and_agree_with_the_closed_form() -> None:
    """log_softmax's output is a shifted logit row (its softmax is the same), and a logistic's
    output passed through another op is no longer the unit's output: both are computed."""
    z = cr.tensor(Z, requires_grad=True)
    labels = np.array([2, 0])
    shifted = cr.nn.CrossEntropy()(cr.log_softmax(z, axis=1), labels)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(shifted.item(), -log_p[[0, 1], labels].mean())
    scaled = cr.nn.BinaryCrossEntropy()(4.0 * cr.sigmoid(z) - 2.0, np.zeros((2, 3)))
    u = 4.0 / (1.0 + np.exp(-Z)) - 2.0
    np.testing.assert_allclose(scaled.item(), np.mean(np.logaddexp(0.0, u)))


def test_an_output_made_without_recording_is_taken() -> None:
    """Nothing recorded, nothing to read: an evaluation under no_grad is computed as before."""
    with cr.no_grad():
        value = cr.nn.BinaryCrossEntropy()(cr.sigmoid(cr.tensor(Z)), np.zeros((2, 3)))
    assert np.isfinite(value.item())
