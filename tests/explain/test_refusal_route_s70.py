"""``cr.explain`` of a model with a layer it cannot read says where to go next.

"explain: layer 1 is a BatchNorm1d; the explainer reads Linear layers with logistic, tanh,
relu, softmax units" stopped there, where the command line adds "chainrule graph --model m draws
its computation graph op by op". The Python refusal now names the Python route,
``chainrule.viz.graph.graph(E)`` of ``E = loss(model(x), t)``; followed as written, it draws the
layer's own ops. The command's line still names ``chainrule graph`` alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError

X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
LABELS = np.array([0, 1])


class _CentreS70(nn.Module):
    """Subtracts the batch's mean: a layer of one's own, as a BatchNorm's first half."""

    def forward(self, x):
        return x - cr.mean(x, 0)


def _net():
    return nn.Sequential(nn.Linear(3, 4, rng=0), _CentreS70(), nn.Tanh(), nn.Linear(4, 2, rng=1))


@pytest.mark.parametrize("function", [cr.explain, cr.explainer.build.problem_of])
def test_the_refusal_names_the_python_route_and_it_draws_the_layer(function) -> None:
    net = _net()
    with pytest.raises(ExplainError) as raised:
        function(net, X, LABELS, nn.CrossEntropy())
    message = str(raised.value)
    assert message.startswith("explain: layer 1 is a _CentreS70; the explainer reads"), message
    assert "chainrule.viz.graph.graph(E) draws the computation graph of E = loss(model(x), t)" in (
        message
    )
    E = nn.CrossEntropy()(net(cr.tensor(X)), LABELS)  # the route, followed as written
    dot = cr.viz.graph.graph(E).to_dot()
    assert 'label="sub (2x4)' in dot and 'label="div (4)' in dot, dot  # the layer's own ops


def test_the_command_line_names_chainrule_graph_alone() -> None:
    from chainrule.cli.explain import _unreadable_network

    reason = _unreadable_network(_net())
    assert reason == (
        "explain: layer 1 is a _CentreS70; the explainer reads Linear layers with logistic, "
        "tanh, relu, softmax units"
    )
