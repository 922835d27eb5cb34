"""Softmax over one output unit is always 1: CrossEntropy's loss and gradient were 0 for any
weights, so a one-unit network trained nothing while fit reported loss 0 and accuracy 1. The
CLI refused it; the loss itself now does, naming the fix."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.ops.registry import ShapeError


def test_one_output_unit_is_refused_naming_the_fix() -> None:
    logits = cr.tensor(np.array([[0.3], [-1.2], [2.0]]), requires_grad=True)
    for target in (np.array([0, 1, 0]), np.array([[1.0], [0.0], [1.0]])):
        with pytest.raises(ShapeError, match=r"one output unit.*BinaryCrossEntropy"):
            nn.CrossEntropy()(logits, target)


def test_fit_of_a_one_unit_network_says_why_before_training() -> None:
    net = nn.mlp([2, 3, 1], rng=0)
    before = [p.data.copy() for p in net.parameters()]
    sgd = optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    with pytest.raises(ShapeError, match="softmax over one unit is always 1"):
        train.fit(net, nn.CrossEntropy(), sgd, data.load("xor"), epochs=5, progress=False)
    for p, old in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.data, old)


def test_two_units_still_train_and_match_the_closed_form() -> None:
    """The refusal is for one unit only: dE/dz = (softmax(z) - onehot) / n for two."""
    z = np.array([[0.3, -0.1], [1.5, 2.0]])
    logits = cr.tensor(z, requires_grad=True)
    nn.CrossEntropy()(logits, np.array([1, 0])).backward()
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad.numpy(), (p - np.eye(2)[[1, 0]]) / 2, rtol=1e-12)
