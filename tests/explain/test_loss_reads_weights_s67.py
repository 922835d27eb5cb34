"""A loss of one's own that reads a weight of the explained model itself (a penalty) is refused.

``class PenalisedSE(nn.Loss): forward = 0.5 * ((t - y)**2).sum() + 0.5 * (l2.weight**2).sum()``
was explained as if E depended on the weights through the outputs alone: the write-up showed the
engine's dE/dw (the penalty's term in it) as ``y_i dE/dz_j`` (a false equation) and a "finite
difference" that nudged copies of the weights and so measured y_i dE/dz_j alone, every weight
of 2.weight a MISMATCH; the JSON carried the same pair. The explainer now asks the engine's
graph whether the loss, called on a detached copy of the outputs, reaches a parameter of the
model, and refuses in one line naming it. A tensor of the loss's own (a constant, a copy of a
weight) is fine. Networks that share one array between two parameters
(``nn.Parameter(l1.weight.data)``) are refused as a layer used twice is.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError


def network(seed=0):
    cr.manual_seed(seed)
    l1 = nn.Linear(2, 2, dtype="float64")
    l2 = nn.Linear(2, 3, dtype="float64")
    return nn.Sequential(l1, nn.Logistic(), l2, nn.Logistic())


X = [[0.3, -0.7]]
T = [[0.1, 0.9, 0.4]]


class Penalised(nn.Loss):
    """Half the summed squared error plus half the sum of squares of ``read``."""

    def __init__(self, read):
        super().__init__()
        self.read = read

    def forward(self, y, t):
        return 0.5 * ((t - y) ** 2).sum() + 0.5 * (self.read**2).sum()


def test_a_penalty_on_a_weight_is_refused_and_one_on_a_copy_explained():
    net = network()
    with pytest.raises(ExplainError) as caught:
        cr.explain(net, X, T, Penalised(net[2].weight))
    message = str(caught.value)
    assert "\n" not in message
    assert "reads 2.weight itself" in message and "Penalised" in message
    assert "y_i dE/dz_j alone" in message
    # The same loss reading a tensor that is not the model's (a copy of the weight, which
    # requires a gradient of its own) adds a constant to E: dE/dw is y_i dE/dz_j, checked by
    # central differences of E itself.
    copy = cr.tensor(net[2].weight.numpy().copy(), requires_grad=True)
    d = cr.explain(net, X, T, Penalised(copy))
    assert d.all_ok
    W0 = net[2].weight.numpy().copy()
    h = 1e-6
    for idx in np.ndindex(W0.shape):
        values = []
        for step in (h, -h):
            W = W0.copy()
            W[idx] += step
            with cr.no_grad():
                net[2].weight.data = W
                values.append(Penalised(copy)(net(cr.tensor(X)), cr.tensor(T)).item())
        net[2].weight.data = W0.copy()
        fd = (values[0] - values[1]) / (2 * h)
        assert d.dE_dw(1, idx[0], idx[1]).value == pytest.approx(fd, abs=1e-8)


@settings(max_examples=12, deadline=None)
@given(which=st.sampled_from(["0.weight", "0.bias", "2.weight", "2.bias"]), logits=st.booleans())
def test_any_parameter_the_loss_reads_is_named(which, logits):
    """Whichever parameter the penalty reads, and whether the loss reads the outputs or the
    logits (applying softmax itself), the refusal names that parameter and no other."""
    net = network(1)
    read = dict(net.named_parameters())[which]
    if logits:
        model = nn.Sequential(*list(net)[:-1])  # the loss applies its own unit to the logits

        class OwnSoftmax(nn.Loss):
            output_activation = "softmax"

            def forward(self, z, t):
                p = z.softmax(axis=-1)
                return -(t * p.log()).sum() + 0.5 * (read**2).sum()

        loss = OwnSoftmax()
        target = [[0.0, 1.0, 0.0]]
    else:
        model, loss, target = net, Penalised(read), T
    with pytest.raises(ExplainError, match=f"reads {which} itself") as caught:
        cr.explain(model, X, target, loss)
    others = {"0.weight", "0.bias", "2.weight", "2.bias"} - {which}
    assert not any(f"reads {other}" in str(caught.value) for other in others)


def test_two_parameters_on_one_array_are_refused_as_tied_weights():
    """``l2.weight = nn.Parameter(l1.weight.data)``: two tensors, one array (np.shares_memory),
    passed the explainer's check by id; its dE/dw would be one use's share."""
    l1 = nn.Linear(2, 2, dtype="float64")
    l2 = nn.Linear(2, 2, dtype="float64")
    l2.weight = nn.Parameter(l1.weight.data)
    assert np.shares_memory(l1.weight.data, l2.weight.data)
    net = nn.Sequential(l1, nn.Logistic(), l2, nn.Logistic())
    with pytest.raises(ExplainError, match=r"2\.weight shares its memory with 0\.weight"):
        cr.explain(net, [[0.1, 0.2]], [[0.3, 0.4]])
    # a view of part of the other's array (one row of it, as the second layer's bias)
    l3 = nn.Linear(2, 2, dtype="float64")
    net = nn.Sequential(l3, nn.Logistic(), nn.Linear(2, 2, dtype="float64"), nn.Logistic())
    net[2].bias = nn.Parameter(l3.weight.data[1])
    with pytest.raises(ExplainError, match=r"2\.bias shares its memory with 0\.weight"):
        cr.explain(net, [[0.1, 0.2]], [[0.3, 0.4]])
