"""graph() and zoom() after an in-place change of a tensor the graph read (an optimizer's step,
``w -= ...`` under no_grad): refused as backward refuses it, instead of drawing a recorded
output's old value beside its inputs' new values (and gradients from the new weights)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine, nn, optim
from chainrule.viz.graph import graph, zoom

X = np.array([[0.5, -1.0]])
T = np.ones((1, 1))


def _net_and_loss():
    net = nn.mlp([2, 2, 1], output="logistic", rng=0, dtype="float64")
    return net, nn.SquaredError()(net(X), T)


def test_graph_after_an_optimizer_step_is_refused_as_backward_is():
    net, E = _net_and_loss()
    E.backward(retain_graph=True)
    optim.SGD(net.parameters(), lr=10.0).step()  # the weights change in place
    with pytest.raises(RuntimeError, match="changed in place"):
        E.backward(retain_graph=True)
    with pytest.raises(RuntimeError) as refused:
        graph(E)
    message = str(refused.value)
    assert message.startswith("graph: input 1 ('weight', shape (2, 1)) of 'linear'")
    assert "changed in place" in message
    assert "draw before the step" in message and "forward again" in message
    with pytest.raises(RuntimeError, match="^graph: .* changed in place"):
        graph(E, gradient=False)  # the values alone would be wrong too


def test_graph_in_the_normal_order_and_after_backward_with_retain_graph():
    net, E = _net_and_loss()
    before = graph(E)
    E.backward(retain_graph=True)
    after_backward = graph(E)  # after backward, before the step: still drawn
    for g in (before, after_backward):
        np.testing.assert_allclose(g.nodes[g.output].value, E.numpy())
        np.testing.assert_allclose(
            g.nodes[id(net[0].weight)].grad, net[0].weight.grad.numpy(), rtol=1e-12
        )
    optim.SGD(net.parameters(), lr=10.0).step()
    E2 = nn.SquaredError()(net(X), T)  # the forward run again after the step
    g = graph(E2)
    np.testing.assert_allclose(g.nodes[g.output].value, E2.numpy())
    np.testing.assert_allclose(g.nodes[id(net[0].weight)].value, net[0].weight.numpy())


def test_a_change_to_a_tensor_the_graph_did_not_read_is_no_reason_to_refuse():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    other = cr.tensor([3.0], requires_grad=True)
    out = (w * w).sum()
    with cr.no_grad():
        other -= 1.0
    g = graph(out)
    np.testing.assert_allclose(g.nodes[id(w)].grad, [2.0, 4.0])
    with cr.no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match=r"^graph: input 0 \(shape \(2,\)\) of 'mul'"):
        graph(out)


def test_the_check_is_not_run_for_a_graph_recorded_after_the_last_change(monkeypatch):
    """Like backward, the drawing looks at the written arrays only for ops recorded before the
    latest in-place change: none in the order forward, graph, backward, step."""
    calls = []

    def counted(output):
        calls.append(output)
        return None

    monkeypatch.setattr(engine, "changed_input", counted)
    with cr.no_grad():
        cr.tensor([1.0], requires_grad=True).__isub__(1.0)  # some earlier change
    _, E = _net_and_loss()
    graph(E)
    assert calls == []


def test_zoom_after_the_weight_changed_in_place_is_refused():
    lin = nn.Linear(2, 2, rng=0, dtype="float64")
    x = np.array([[1.0, 2.0]])
    z = lin(x)
    recorded = z.numpy().ravel()
    before = zoom(z)  # drawn before the change: the recorded numbers
    zs = [n.value for n in before.nodes.values() if n.name and n.name.startswith("z_")]
    np.testing.assert_allclose(np.ravel(zs), recorded)
    with cr.no_grad():
        lin.weight -= 1.0
    with pytest.raises(RuntimeError) as refused:
        zoom(z)
    message = str(refused.value)
    assert message.startswith("zoom: input 1 ('weight', shape (2, 2)) of 'linear'")
    assert "changed in place" in message and "draw before the step" in message
    z_again = lin(x)  # the forward run again: drawn with the new weights
    g = zoom(z_again)
    zs = [n.value for n in g.nodes.values() if n.name and n.name.startswith("z_")]
    np.testing.assert_allclose(np.ravel(zs), z_again.numpy().ravel())
