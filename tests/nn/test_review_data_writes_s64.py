"""Review of dac9620 (a parameter's .data assigned is a write backward sees):

- ``b.weight.data = a.weight.data`` between a's forward and backward made a's backward refuse
  ("changed in place"), though nothing a read had changed: the write was marked on the array
  given, which is a's. A replacement by another array is now marked on the tensor replaced, so
  only graphs reading it are refused; an array changed in place (``p.data *= 0.5``) is still
  marked on the array, seen through every tensor sharing it.
- A computed tensor stored under a new name in ``__init__`` (``self.scale = t * 2.0``) was
  dropped from the parameters without a word (05b8150 registered it, and the optimizer named it
  as no leaf); it is registered again. Replacing a leaf parameter by a computed tensor stays
  refused.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError


def _x():
    return cr.tensor(np.array([[1.0, -2.0]]))


def test_another_tensors_array_given_leaves_its_graph_good():
    a, b = nn.Linear(2, 2, dtype="float64"), nn.Linear(2, 2, dtype="float64")
    expected = cr.grad(lambda w: ((_x() @ w + a.bias) ** 2).sum())(a.weight.detach())
    loss = (a(_x()) ** 2).sum()
    b.weight.data = a.weight.data  # b now shares a's weights: a's values did not change
    loss.backward()
    np.testing.assert_allclose(a.weight.grad.numpy(), expected.numpy(), rtol=1e-12)


def test_the_replaced_tensors_own_graph_is_refused():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    loss = (b(_x()) ** 2).sum()
    b.weight.data = a.weight.data * 1.0  # b's graph would read the new values at backward
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_an_array_changed_in_place_is_seen_through_each_tensor_sharing_it():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight.data = a.weight.data
    loss = (a(_x()) ** 2).sum()
    b.weight.data *= 0.5  # the shared array itself: a's graph read it
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_computed_tensor_under_a_new_name_is_a_parameter_the_optimizer_names():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.scale = cr.tensor(np.ones(2), requires_grad=True) * 2.0

        def forward(self, x):
            self.last = self.lin(x) * self.scale  # a forward keeping its output, twice
            return self.last

    model = Scaled()
    assert "scale" in dict(model.named_parameters())
    model(_x())
    model(_x())
    with pytest.raises(ConfigError, match=r"parameter 0 is the result of an op \(mul\)"):
        cr.optim.SGD(model.parameters(), lr=0.1)
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot replace it by the output of 'mul'"):
        lin.weight = lin.weight * 2.0
