"""A backward pass refused part-way (an input changed in place by an optimizer's step after the
forward) has released the nodes it went through. Calling again said "freed by an earlier
cr.gradient(); pass retain_graph=True to that cr.gradient()", pointing at a call that failed and
that retain_graph would not have saved; and the in-place refusal began with ``backward:`` even
where cr.gradient was called. Each error now names the call it is about."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import GraphFreedError
from chainrule.ops.registry import REGISTRY, primitive

rng = np.random.default_rng(1)
X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))

#: each lane of the engine's backward loops: the array lane of backward (every leaf a
#: target), the targeted pass on arrays, and the tensor mode (create_graph)
CALLS = {
    "backward": ("backward", "backward()", lambda loss, params: loss.backward()),
    "gradient": ("gradient", "cr.gradient()", lambda loss, params: cr.gradient(loss, params)),
    "gradient-create-graph": (
        "gradient",
        "cr.gradient()",
        lambda loss, params: cr.gradient(loss, params, create_graph=True, retain_graph=False),
    ),
}


def _stepped_after_the_forward():
    net = nn.mlp([3, 4, 1], activation="tanh", dtype="float64", rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    loss = nn.MSE()(net(X), Y)
    loss.backward(retain_graph=True)
    opt.step()  # the weights the graph read are changed in place
    return loss, list(net.parameters())


@pytest.mark.parametrize("lane", CALLS)
def test_the_refusal_and_the_second_calls_error_name_the_call_that_failed(lane):
    op, call, run = CALLS[lane]
    loss, params = _stepped_after_the_forward()
    with pytest.raises(RuntimeError) as refused:
        run(loss, params)
    message = str(refused.value)
    assert message.startswith(f"{op}: input 1 of 'linear' was changed in place")
    assert f"run {call} before the step" in message
    with pytest.raises(GraphFreedError) as again:
        run(loss, params)
    message = str(again.value)
    assert message.startswith(f"{op}: the graph through ")
    assert f"freed by an earlier {call}, which a RuntimeError stopped part-way" in message
    assert "retain_graph=True would not have let it through" in message
    assert "pass retain_graph=True to that" not in message


def test_a_rules_error_part_way_is_named_too_and_a_finished_pass_still_asks_for_retain_graph():
    x = cr.tensor(np.array([0.5, 2.0]), requires_grad=True)
    bad = REGISTRY.get("qa_fails_in_backward_s66") or primitive(
        "qa_fails_in_backward_s66", lambda x: x * 2, lambda g, out, x: 1 / 0
    )
    loss = cr.exp(bad(x)).sum()
    with pytest.raises(ZeroDivisionError):
        cr.gradient(loss, [x])
    with pytest.raises(GraphFreedError, match=r"cr.gradient\(\), which a ZeroDivisionError stop"):
        cr.gradient(loss, [x])
    done = (x * x).sum()
    cr.gradient(done, [x])
    with pytest.raises(GraphFreedError, match=r"pass retain_graph=True to that cr.gradient\(\)"):
        cr.gradient(done, [x])
