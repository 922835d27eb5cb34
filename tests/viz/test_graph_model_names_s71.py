"""``graph(E, model=net)`` labels the parameters by their names in the model (``fc1.weight``,
``fc2.weight``), as ``model.named_parameters()`` and ``chainrule graph --model`` name them: a
parameter's own ``.name`` is its attribute's alone, so ``graph(E)`` of a module with fc1 and
fc2 drew two boxes "weight" and two "bias", and which was which could not be told."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.graph import graph


class _TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype="float64", rng=0)
        self.fc2 = nn.Linear(4, 2, dtype="float64", rng=1)

    def forward(self, x):
        return self.fc2(cr.relu(self.fc1(x)))


def _loss(net):
    x = np.random.default_rng(2).normal(size=(5, 3))
    return (net(cr.tensor(x)) ** 2).sum()


def _parameters(drawing) -> list:
    return [n for n in drawing.nodes.values() if n.op == "leaf" and n.requires_grad]


def _labels(drawing) -> list[str]:
    return sorted(n.name for n in _parameters(drawing))


@pytest.mark.parametrize(
    "net",
    [
        _TwoLayers(),
        nn.Sequential(
            nn.Linear(3, 4, dtype="float64", rng=0),
            nn.Tanh(),
            nn.Linear(4, 2, dtype="float64", rng=1),
        ),  # fmt: skip
    ],
    ids=["attributes", "sequential"],
)
def test_a_model_s_parameters_are_labelled_by_their_names_in_it(net) -> None:
    E = _loss(net)
    drawing = graph(E, model=net)
    named = dict(net.named_parameters())
    assert _labels(drawing) == sorted(named)
    gradients = dict(zip(named, cr.gradient(E, list(named.values()))))
    for node in _parameters(drawing):  # each box is the parameter it names, with its gradient
        np.testing.assert_array_equal(node.value, named[node.name].numpy())
        np.testing.assert_allclose(node.grad, gradients[node.name].numpy(), rtol=1e-12)
    dot = drawing.to_dot()
    assert all(f'label="{name} (' in dot for name in named)


def test_without_the_model_the_short_names_stay_and_names_still_win() -> None:
    net = _TwoLayers()
    E = _loss(net)
    assert _labels(graph(E)) == ["bias", "bias", "weight", "weight"]
    drawing = graph(E, model=net, names={id(net.fc1.weight): "W1", id(E): "E"})
    assert _labels(drawing) == ["W1", "fc1.bias", "fc2.bias", "fc2.weight"]
    assert drawing.nodes[drawing.output].name == "E"


def test_a_model_that_is_not_a_module_is_refused() -> None:
    E = _loss(_TwoLayers())
    with pytest.raises(TypeError, match=r"graph: model= takes a chainrule module .*got dict"):
        graph(E, model={"fc1": 1})
