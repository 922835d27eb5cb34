"""``cr.zero_grad`` takes a module (its parameters) as the optimizers and ``clip_grad_norm_``
do; it refused one, naming its first layer ("not Linear(2, 3 ...)") rather than the model."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _with_gradients(model):
    loss = nn.MSE()(model(cr.tensor(np.ones((2, 2), np.float32))), np.zeros((2, 1)))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    return model


def test_a_module_has_its_parameters_gradients_cleared():
    model = _with_gradients(nn.mlp([2, 3, 1], output="logistic", rng=0))
    cr.zero_grad(model)
    assert [p.grad for p in model.parameters()] == [None] * 4


def test_modules_tensors_and_lists_mix():
    first = _with_gradients(nn.mlp([2, 3, 1], rng=0))
    second = _with_gradients(nn.mlp([2, 2, 1], rng=1))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    cr.zero_grad(first, x, second.parameters())
    assert x.grad is None
    assert all(p.grad is None for p in [*first.parameters(), *second.parameters()])


def test_anything_else_is_still_refused():
    with pytest.raises(TypeError, match=r"^zero_grad: takes tensors or collections of them, "
                                        r"or modules, not 3"):  # fmt: skip
        cr.zero_grad([3])
