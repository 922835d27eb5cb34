"""Inputs that no output reaches, and three messages that named the wrong cause or tensor.

* ``cr.gradient(u.sum(), [X[:, 0:1]])`` (a slice taken after ``u = net(X)``) and
  ``cr.gradient(u.sum(), [t])`` (``t``'s numbers, not ``t``, fed to the net) gave zeros without
  a word, where ``torch.autograd.grad`` refuses and ``cr.grad`` warns. They warn now
  (``ZeroDerivativeWarning``, naming the input by position and shape): every input where none
  is reached (``cr.grad``'s rule), and an input made after the outputs wherever it stands. A
  leaf not reached beside one that is (a parameter this forward did not use) and the inputs of
  a derivative of a function linear in them (``u_xx`` of a relu network) stay silent, as
  ``cr.grad`` and ``cr.hessian`` leave them. The gradients are unchanged (torch the oracle).
* A graph ``cr.gradient`` freed, met by ``loss.backward()`` of a loss using its result, advised
  only ``retain_graph=True``, which leaves the result a constant (its part of the gradient
  silently lost): the message names ``create_graph=True`` too.
* ``load_state_dict`` and ``nn.vector_to_parameters`` over a recorded graph were refused with
  causes that left them out.
* A transform given one parameter whose function read the model's own weights named another
  tensor (the last layer's bias, never given) as the one read: it names the argument's own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import GraphFreedError, ZeroDerivativeWarning

XN = np.random.default_rng(0).uniform(-1, 1, (5, 2))


def _net(activation="tanh"):
    return nn.mlp([2, 8, 1], activation=activation, dtype="float64", rng=0)


def _told(call):
    """``call()``'s result and the texts of the ZeroDerivativeWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, ZeroDerivativeWarning)]


def _torch_grad(torch, net, inputs_of, create_graph=False):
    """torch's gradient of net(X).sum() for the tensors ``inputs_of(tX)`` picks, unused as 0."""
    tnet = cr.interop.to_torch(net)
    tX = torch.tensor(XN, requires_grad=True)
    tu = tnet(tX).sum()
    grads = torch.autograd.grad(tu, inputs_of(tX), materialize_grads=True)
    return [g.detach().numpy() for g in grads]


# ------------------------------------------------------------------------------------------
# 1. inputs no output reaches
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("sliced", ["in the call", "before the call"])
def test_a_slice_taken_after_the_forward_warns_naming_it_and_gets_zeros(
    create_graph, sliced, torch
):
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    x = X[:, 0:1] if sliced == "before the call" else None  # before u.sum(), after the net

    def call():
        return cr.gradient(u.sum(), [X[:, 0:1] if x is None else x], create_graph=create_graph)

    (ux,), told = _told(call)
    assert len(told) == 1, told
    assert "input 0 (shape (5, 1)) is a slice the outputs were not computed from" in told[0]
    assert "slice the gradient" in told[0] and "slice the input before the forward" in told[0]
    (expected,) = _torch_grad(torch, net, lambda tX: [tX[:, 0:1]])
    np.testing.assert_array_equal(ux.numpy(), expected)
    assert not expected.any()


def test_a_leaf_whose_numbers_were_fed_to_the_net_warns_naming_it(torch):
    net = _net()
    x = cr.tensor(XN[:, :1], requires_grad=True)
    t = cr.tensor(XN[:, 1:], requires_grad=True)
    u = net(cr.concatenate([x, cr.tensor(t.numpy())], axis=1))
    (gt,), told = _told(lambda: cr.gradient(u.sum(), [t]))
    assert len(told) == 1, told
    assert "do not depend differentiably on input 0 (shape (5, 1))" in told[0]
    assert "numbers (not the tensor itself) were fed" in told[0]
    np.testing.assert_array_equal(gt.numpy(), np.zeros((5, 1)))


def test_a_connected_input_gets_torchs_gradient_without_a_warning(torch):
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    (gX,), told = _told(lambda: cr.gradient(net(X).sum(), [X]))
    assert not told, told
    (expected,) = _torch_grad(torch, net, lambda tX: [tX])
    np.testing.assert_allclose(gX.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_beside_a_reached_input_only_the_one_made_after_the_forward_is_named(torch):
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    (gX, gx), told = _told(lambda: cr.gradient(u.sum(), [X, X[:, 1:2]]))
    assert len(told) == 1, told
    assert "1 input " in told[0] and "input 1 (shape (5, 1)) is a slice" in told[0]
    assert "input 0" not in told[0]
    expected_X, expected_x = _torch_grad(torch, net, lambda tX: [tX, tX[:, 1:2]])
    np.testing.assert_allclose(gX.numpy(), expected_X, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(gx.numpy(), expected_x)


def test_a_slice_of_the_input_differentiated_twice_warns():
    """u_xx taken by the slice rather than by X: the slice of X, which du was computed from."""
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    (du,) = cr.gradient(net(X).sum(), [X], create_graph=True)
    x = X[:, 0:1]
    (zeros,), told = _told(lambda: cr.gradient(du[:, 0].sum(), [x]))
    assert len(told) == 1 and "input 0 (shape (5, 1)) is a slice" in told[0], told
    assert not zeros.numpy().any()


def test_a_tensor_computed_beside_the_outputs_and_a_reached_input_is_silent():
    """An activation a loss from logits does not read, asked beside the logits (the
    explainer's every y and z): made before the loss, so no slip is sure."""
    X = cr.tensor(XN, requires_grad=True)
    z = X * 2.0
    y = cr.tanh(z)  # not read by the loss
    loss = (z**2).sum()
    (gz, gy), told = _told(lambda: cr.gradient(loss, [z, y]))
    assert not told, told
    np.testing.assert_allclose(gz.numpy(), 4.0 * XN, rtol=1e-12)
    assert not gy.numpy().any()


def test_a_parameter_this_forward_did_not_use_beside_used_ones_is_silent():
    """cr.grad's rule: a leaf made before the outputs and unreached beside a reached one."""
    net, spare = _net(), nn.Linear(2, 2, dtype="float64", rng=3)
    loss = net(XN).sum()
    grads, told = _told(lambda: cr.gradient(loss, [*net.parameters(), *spare.parameters()]))
    assert not told, told
    assert not grads[-1].numpy().any() and grads[0].numpy().any()


@pytest.mark.parametrize("activation", ["relu", None])
def test_a_second_derivative_of_a_piecewise_linear_net_is_zeros_silently(activation, torch):
    """u_xx of a relu (or linear) net is rightly 0: the output is itself a derivative, as in a
    transform's f that differentiates inside (cr.hessian gives the zeros silently too)."""
    net = _net(activation) if activation else nn.Sequential(nn.Linear(2, 1, dtype="float64"))
    X = cr.tensor(XN, requires_grad=True)
    (du,) = cr.gradient(net(X).sum(), [X], create_graph=True)
    (d2u,), told = _told(lambda: cr.gradient(du[:, 0].sum(), [X], create_graph=True))
    assert not told, told
    tX = torch.tensor(XN, requires_grad=True)
    (tdu,) = torch.autograd.grad(cr.interop.to_torch(net)(tX).sum(), tX, create_graph=True)
    (td2u,) = torch.autograd.grad(tdu[:, 0].sum(), tX, materialize_grads=True)
    np.testing.assert_array_equal(d2u.numpy(), td2u.numpy())


def test_a_second_derivative_of_a_tanh_net_matches_torch_without_a_warning(torch):
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    (du,) = cr.gradient(net(X).sum(), [X], create_graph=True)
    (d2u,), told = _told(lambda: cr.gradient(du[:, 0].sum(), [X]))
    assert not told, told
    tX = torch.tensor(XN, requires_grad=True)
    (tdu,) = torch.autograd.grad(cr.interop.to_torch(net)(tX).sum(), tX, create_graph=True)
    (td2u,) = torch.autograd.grad(tdu[:, 0].sum(), tX)
    np.testing.assert_allclose(d2u.numpy(), td2u.numpy(), rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------------------
# 2. a graph cr.gradient freed: create_graph=True is named beside retain_graph=True
# ------------------------------------------------------------------------------------------


def test_a_result_of_gradient_in_a_loss_is_told_create_graph():
    net = _net()
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    (du,) = cr.gradient(u.sum(), [X])
    loss = (du**2).sum() + (u**2).sum()
    with pytest.raises(GraphFreedError) as error:
        loss.backward()
    message = str(error.value)
    assert "pass retain_graph=True to that cr.gradient()" in message
    assert "or create_graph=True if you meant to differentiate its result" in message


def test_a_graph_backward_freed_is_not_told_create_graph():
    net = _net()
    u = net(cr.tensor(XN, requires_grad=True)).sum()
    u.backward()
    with pytest.raises(GraphFreedError) as error:
        u.backward()
    assert "create_graph" not in str(error.value)


# ------------------------------------------------------------------------------------------
# 4. writes of load_state_dict and vector_to_parameters are among the causes named
# ------------------------------------------------------------------------------------------


def _classifier():
    return nn.Sequential(
        nn.Linear(4, 8, dtype="float64", rng=0), nn.Tanh(), nn.Linear(8, 3, dtype="float64", rng=1)
    )


@pytest.mark.parametrize("write", ["vector_to_parameters", "load_state_dict"])
def test_a_load_over_a_recorded_graph_is_named_among_the_causes(write):
    m = _classifier()
    loss = nn.CrossEntropy()(m(np.ones((5, 4))), np.zeros(5, int))
    if write == "vector_to_parameters":
        nn.vector_to_parameters(nn.parameters_to_vector(m) + 0.1, m)
    else:
        m.load_state_dict({k: v.numpy() + 0.1 for k, v in m.named_parameters()})
    with pytest.raises(RuntimeError, match="was changed in place") as error:
        loss.backward()
    assert "load_state_dict or nn.vector_to_parameters" in str(error.value)


# ------------------------------------------------------------------------------------------
# 5. a transform names the argument's own tensor that the function reads directly
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transform", [cr.grad, cr.hessian, cr.jacobian])
def test_a_transform_names_the_parameter_given_not_another_leaf(transform):
    m = _classifier()

    def f(W):  # reads m's own weights, not W
        return nn.CrossEntropy()(m(np.ones((2, 4))), np.zeros(2, int))

    with pytest.raises(RuntimeError, match="reads the tensors given as that argument") as error:
        transform(f)(m[0].weight)
    message = str(error.value)
    assert "directly (shape (4, 8), named 'weight')" in message
    assert "'bias'" not in message and "more" not in message.split("directly")[1][:40]


def test_a_transform_names_the_given_dicts_key():
    m = _classifier()

    def f(p):
        return nn.CrossEntropy()(m(np.ones((2, 4))), np.zeros(2, int))

    with pytest.raises(RuntimeError, match=r"directly \(shape \(8, 3\), named '2.weight'\)"):
        cr.grad(f)({"2.weight": m[2].weight})
