"""Nothing said how to differentiate through training: an optimizer updates ``p.data`` in place
and refuses a tensor lr (``SGD: lr must be a number >= 0, not tensor(...)``). docs/nn.md's
"Differentiating through training" writes the update as a function with
``nn.functional_call`` and ``cr.grad``; its example runs here and its hypergradient is checked
against a central difference, with the claims the section makes around it, and the refusal of
a tensor lr points to the section."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, ZeroDerivativeWarning

SECTION = "## Differentiating through training"
DOC = Path(__file__).resolve().parents[2] / "docs" / "nn.md"


@pytest.fixture(scope="module")
def example() -> dict:
    """The namespace the section's Python block leaves, run as the docs test runs it."""
    text = DOC.read_text(encoding="utf-8")
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict = {}
    exec(compile(code, f"{DOC}:{SECTION}", "exec"), namespace)
    return namespace


def test_the_hypergradient_is_the_central_difference_of_the_validation_loss(example):
    validation_loss, start = example["validation_loss"], example["start"]
    h = 1e-5
    with cr.no_grad():  # the transforms inside still differentiate; the loss is a number
        numeric = (validation_loss(0.5 + h, start) - validation_loss(0.5 - h, start)).item()
    numeric /= 2 * h
    assert abs(numeric) > 1e-3  # the check can fail: lr moves the validation loss
    np.testing.assert_allclose(example["hypergradient"].item(), numeric, rtol=1e-6)


def test_the_sections_other_ways_give_the_same_numbers(example):
    net, ce = example["net"], example["ce"]
    X_train, y_train = example["X_train"], example["y_train"]
    X_val, y_val = example["X_val"], example["y_val"]
    validation_loss, start = example["validation_loss"], example["start"]
    expected = example["hypergradient"].item()
    # cr.gradient(..., create_graph=True) with leaves that require a gradient
    lr = cr.tensor(0.5, dtype="float64", requires_grad=True)
    weights = {name: w.detach().requires_grad_() for name, w in start.items()}
    for _ in range(3):
        train_loss = ce(nn.functional_call(net, weights, X_train), y_train)
        grads = cr.gradient(train_loss, list(weights.values()), create_graph=True)
        weights = {name: w - lr * g for (name, w), g in zip(weights.items(), grads)}
    validation = ce(nn.functional_call(net, weights, X_val), y_val)
    (by_gradient,) = cr.gradient(validation, [lr])
    np.testing.assert_allclose(by_gradient.item(), expected, rtol=1e-10)
    # the second derivative in lr, against the difference of hypergradients
    second = cr.hessian(validation_loss)(0.5, start).item()
    h = 1e-5
    slope = cr.grad(validation_loss)
    numeric = (slope(0.5 + h, start).item() - slope(0.5 - h, start).item()) / (2 * h)
    np.testing.assert_allclose(second, numeric, rtol=1e-5)
    # the meta-gradient with respect to the starting weights, along a random direction
    meta = cr.grad(validation_loss, argnums=1)(0.5, start)
    rng = np.random.default_rng(3)
    v = {name: rng.normal(size=w.shape) for name, w in start.items()}
    moved = [{n: cr.tensor(w.numpy() + s * v[n]) for n, w in start.items()} for s in (h, -h)]
    with cr.no_grad():
        numeric = (validation_loss(0.5, moved[0]) - validation_loss(0.5, moved[1])).item()
    along = sum(float((meta[n].numpy() * v[n]).sum()) for n in start)
    np.testing.assert_allclose(along, numeric / (2 * h), rtol=1e-6)


def test_reading_the_networks_own_parameters_is_warned_of_as_the_section_says(example):
    net, ce, start = example["net"], example["ce"], example["start"]
    X_train, y_train = example["X_train"], example["y_train"]
    with pytest.warns(ZeroDerivativeWarning, match=r"nn\.functional_call"):
        cr.grad(lambda w: ce(net(X_train), y_train))(start)
    with pytest.raises(RuntimeError, match=r"nn\.functional_call"):  # its own parameters
        cr.grad(lambda w: ce(net(X_train), y_train))(dict(net.named_parameters()))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop])
def test_a_tensor_learning_rate_is_refused_pointing_to_the_section(cls):
    net = nn.mlp([3, 4, 1], activation="tanh", dtype="float64", rng=0)
    lr = cr.tensor(0.1, dtype="float64", requires_grad=True)
    with pytest.raises(ConfigError) as refused:
        cls(net.parameters(), lr=lr)
    message = str(refused.value)
    assert message.startswith(f"{cls.__name__}: lr must be a number >= 0 (a step writes p.data")
    assert "'Differentiating through training' in docs/nn.md" in message
    assert "nn.functional_call and cr.grad" in message
    opt = cls(net.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=r"Differentiating through training"):
        opt.lr = lr
    assert opt.lr == 0.1
    with pytest.raises(ConfigError, match=r"^SGD: lr must be a number >= 0, not -1$"):
        optim.SGD(net.parameters(), lr=-1)  # other refusals keep their words
