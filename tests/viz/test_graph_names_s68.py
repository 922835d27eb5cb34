"""``graph(L)`` of a custom module's loss labels its parameters by their attribute names.

A Linear's parameters were drawn as "weight" and "bias" (the layer names its tensors), a custom
module's as unnamed leaves unless ``names=`` was given: an Elman network's W_xh, W_hh and b were
three "leaf" boxes among the inputs. The graph sees tensors, not modules, so a module names a
parameter it registers after its attribute (where the tensor has no name), as Linear does.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.viz.graph import graph


class _Elman(nn.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.W_xh = nn.Parameter(rng.normal(0, 0.5, (2, 3)))
        self.W_hh = nn.Parameter(rng.normal(0, 0.5, (3, 3)))
        self.b = cr.tensor(np.zeros(3), requires_grad=True)  # a leaf tensor is a parameter too
        self.out = nn.Linear(3, 1, dtype="float64", rng=1)

    def forward(self, x):
        h = cr.zeros((x.shape[1], 3), dtype="float64")
        for t in range(x.shape[0]):
            h = cr.tanh(cr.matmul(x[t], self.W_xh) + cr.matmul(h, self.W_hh) + self.b)
        return self.out(h)


def _loss(model):
    x = np.random.default_rng(1).normal(size=(3, 2, 2))
    return (model(x) ** 2).sum()


def _leaf_names(drawing) -> dict[str, object]:
    return {n.name: n for n in drawing.nodes.values() if n.op == "leaf" and n.requires_grad}


def test_a_custom_modules_parameters_are_drawn_by_their_names():
    model = _Elman()
    loss = _loss(model)
    drawn = _leaf_names(graph(loss))
    assert set(drawn) == {"W_xh", "W_hh", "b", "weight", "bias"}
    loss.backward()
    for name, param in (("W_xh", model.W_xh), ("W_hh", model.W_hh), ("b", model.b)):
        np.testing.assert_allclose(drawn[name].grad, param.grad.numpy(), rtol=1e-12)


def test_names_given_and_a_tensors_own_name_come_first():
    model = _Elman()
    own = nn.Parameter(np.ones(3))
    own.name = "bias_h"
    model.b = own  # replaced: keeps its own name
    model.W_extra = nn.Parameter(np.ones(1))
    assert model.W_extra.name == "W_extra"
    loss = _loss(model)
    drawn = _leaf_names(graph(loss, names={id(model.W_hh): "recurrent"}))
    assert set(drawn) == {"W_xh", "recurrent", "bias_h", "weight", "bias"}
