"""A transform whose function reads a module's own parameters instead of its argument,
``cr.grad(lambda p: loss(net(X)))(dict(net.named_parameters()))``, got all-zero gradients
without a word (torch.func does the same): ``net(X)`` reads net's parameters whatever ``p``
holds. Where the output depends on none of the transform's variables but on other tensors that
require a gradient, the transform refuses it where it reads the very tensors it was given,
naming ``nn.functional_call``, and warns (``ZeroDerivativeWarning``) where it reads others: the
zeros are right for an argument entering through comparisons, masks or ``detach`` alone (the
review: a refusal there broke functions that worked). A function truly constant in its
variables, one reading tensors it was given as arguments not differentiated, an outer
transform's variable, and a derivative constant in x (the Hessian of a function linear in x
with parameters as coefficients) give zeros silently."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ZeroDerivativeWarning

rng = np.random.default_rng(1)
X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))


def _net():
    return nn.mlp([3, 4, 1], activation="tanh", dtype="float64", rng=0)


def _loss(net, params=None):
    out = net(X) if params is None else nn.functional_call(net, params, X)
    return nn.MSE()(out, Y)


CALLS = {
    "grad": lambda f, p: cr.grad(f)(p),
    "value_and_grad": lambda f, p: cr.value_and_grad(f)(p),
    "hessian": lambda f, p: cr.hessian(f)(p),
    "jacobian": lambda f, p: cr.jacobian(f)(p),
    "jacobian-forward": lambda f, p: cr.jacobian(f, mode="forward")(p),
    "hvp": lambda f, p: cr.hvp(f, (p,), ({k: cr.ones_like(v) for k, v in p.items()},)),
    "vjp": lambda f, p: cr.vjp(f, p)[1](cr.tensor(1.0, dtype="float64")),
    "jvp": lambda f, p: cr.jvp(f, (p,), ({k: cr.ones_like(v) for k, v in p.items()},)),
}


@pytest.mark.parametrize("call", CALLS)
def test_a_function_reading_the_parameters_passed_not_its_argument_is_refused(call):
    net = _net()
    params = dict(net.named_parameters())
    with pytest.raises(RuntimeError) as refused:
        CALLS[call](lambda p: _loss(net), params)
    message = str(refused.value)
    op = call.split("-")[0]
    assert message.startswith(f"{op}: the function's output does not depend on")
    assert "reads the tensors given as that argument directly" in message
    assert "nn.functional_call(net, p, X)" in message


@pytest.mark.parametrize("call", ["grad", "jacobian", "jvp", "hvp"])
def test_a_function_reading_a_modules_parameters_beside_detached_values_is_warned(call):
    net = _net()
    params = {name: p.detach() for name, p in net.named_parameters()}
    with pytest.warns(ZeroDerivativeWarning, match=r"but on other tensors that require a") as e:
        CALLS[call](lambda p: _loss(net), params)
    assert "nn.functional_call(net, p, X)" in str(e[0].message)
    # the fix the message names: the gradients backward gives
    grads = cr.grad(lambda p: _loss(net, p))(params)
    _loss(net).backward()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(grads[name].numpy(), p.grad.numpy(), rtol=1e-12)
        assert np.abs(grads[name].numpy()).max() > 0


def test_a_function_truly_constant_in_its_variables_still_gives_zeros():
    x = cr.tensor([0.5, -1.0])
    assert not cr.grad(lambda x: cr.tensor(3.0))(x).numpy().any()
    assert not cr.jacobian(lambda x: cr.ones(2))(x).numpy().any()
    assert not cr.hessian(lambda x: (2 * x).sum())(x).numpy().any()
    w = cr.tensor([2.0, 3.0], requires_grad=True)  # a parameter as a coefficient: H = 0
    assert not cr.hessian(lambda x: (w * x).sum())(x).numpy().any()
    assert not cr.jacobian(cr.grad(lambda x: (w * x).sum()))(x).numpy().any()
    assert not cr.hvp(lambda x: (w * x).sum(), (x,), (cr.ones_like(x),)).numpy().any()
    # where the first derivative reads w but not x, the slip is warned of
    with pytest.warns(ZeroDerivativeWarning, match=r"^grad: .* does not depend differentiably"):
        assert not cr.grad(lambda x: (w * w).sum())(x).numpy().any()


def test_tensors_given_as_arguments_not_differentiated_and_outer_variables_give_zeros():
    w = cr.tensor([[0.5], [-0.2], [0.1]], requires_grad=True)

    def lookahead(w, lr, steps):  # no steps: the loss does not depend on lr, rightly
        for _ in range(steps):
            (g,) = cr.gradient(((X @ w - Y) ** 2).mean(), [w], create_graph=True)
            w = w - lr * g
        return ((X @ w - Y) ** 2).mean()

    assert cr.grad(lookahead, argnums=1)(w, 0.1, 0).item() == 0
    assert cr.grad(lookahead, argnums=1)(w, 0.1, 2).item() != 0
    # an inner function constant in y that reads the outer transform's x: d/dy = 0
    outer = cr.grad(lambda x: cr.grad(lambda y: (x**2).sum())(cr.tensor(1.0)) + (x**2).sum())
    np.testing.assert_allclose(outer(cr.tensor([1.5, -2.0])).numpy(), [3.0, -4.0])
    # w closed over, not passed: warned, and the message says how to pass it
    with pytest.warns(ZeroDerivativeWarning, match=r"pass the tensors read as an argument not"):
        cr.grad(lambda lr: lookahead(w, lr, 0))(0.1)


def test_the_check_walks_nothing_where_a_variable_is_reached(monkeypatch):
    from chainrule import functional

    walked = []
    original = functional._leaves_read_instead
    monkeypatch.setattr(
        functional, "_leaves_read_instead", lambda *a: walked.append(1) or original(*a)
    )
    net = _net()
    params = {name: p.detach() for name, p in net.named_parameters()}
    cr.grad(lambda p: _loss(net, p))(params)
    cr.hessian(lambda p: _loss(net, p))(params)
    cr.jacobian(lambda x: cr.tanh(x), mode="forward")(cr.tensor([0.2, 0.4]))
    assert walked == []


W = np.array([0.5, -1.0, 2.0])
ZERO_DERIVATIVES = {
    "where": lambda w: lambda x: cr.where(x > 0, w, 2 * w).sum(),
    "mask": lambda w: lambda x: (w * (x > 0)).sum(),
    "detach": lambda w: lambda x: (w * x.detach()).sum(),
    "index": lambda w: lambda x: w[int(x.numpy().argmax())],
}


@pytest.mark.parametrize("case", ZERO_DERIVATIVES)
def test_an_argument_entering_through_masks_alone_gives_zeros_with_a_warning(case, torch):
    """The review: where f uses x only through comparisons, masks, integer indexing or detach,
    its derivative is truly 0 (torch.func gives zeros); the refusal broke such functions."""
    x0 = np.array([0.3, -0.7, 1.2])
    w = cr.tensor(W, requires_grad=True)
    with pytest.warns(ZeroDerivativeWarning):
        got = cr.grad(ZERO_DERIVATIVES[case](w))(cr.tensor(x0))
    tw = torch.tensor(W, requires_grad=True)
    if case != "index":  # torch.func cannot take .numpy() of its traced x
        torch_f = {
            "where": lambda x: torch.where(x > 0, tw, 2 * tw).sum(),
            "mask": lambda x: (tw * (x > 0)).sum(),
            "detach": lambda x: (tw * x.detach()).sum(),
        }[case]
        np.testing.assert_array_equal(torch.func.grad(torch_f)(torch.tensor(x0)).numpy(), 0.0)
    np.testing.assert_array_equal(got.numpy(), np.zeros(3))
