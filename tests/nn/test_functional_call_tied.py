"""``nn.functional_call`` with a tied parameter (QA: a silent wrong number). A module used twice,
``Sequential(lin, Tanh(), lin)``, or one Parameter set on two modules, has one parameter under two
names, ``"0.weight"`` and ``"2.weight"``. Given once, under either name, the value is used at every
use and its gradient is the whole gradient, as ``torch.func.functional_call`` and
``torch.func.grad`` give; given under both names, the values are refused unless they are one
object, as PyTorch refuses them (where one value was dropped and the other name's gradient was 0).
PyTorch is the oracle: ``Linear`` there computes ``x W^T + b``, so its weight is chainrule's
transposed.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.array([[1.0, 2.0], [-0.5, 0.3]])
V = np.array([[0.4, -0.7], [1.1, 0.2]])  # a value for the tied weight, not the model's own


def _module_used_twice() -> nn.Module:
    shared = nn.Linear(2, 2, dtype="float64", rng=0)
    return nn.Sequential(shared, nn.Tanh(), shared)


def _one_parameter_on_two_modules() -> nn.Module:
    first = nn.Linear(2, 2, dtype="float64", rng=0)
    second = nn.Linear(2, 2, dtype="float64", rng=1)
    second.weight = first.weight  # tied: the second keeps its own bias
    return nn.Sequential(first, nn.Tanh(), second)


TIED = [_module_used_twice, _one_parameter_on_two_modules]


def _torch_twin(torch, net: nn.Module):
    """The same network in PyTorch, tied the same way (built afresh for every PyTorch call: its
    functional_call writes a one-name tied value into the module, which it leaves there)."""
    layers = []
    for layer in (net[0], net[2]):
        twin = torch.nn.Linear(2, 2, dtype=torch.float64)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.numpy().T))
            twin.bias.copy_(torch.from_numpy(layer.bias.numpy()))
        layers.append(twin)
    if net[0] is net[2]:
        layers[1] = layers[0]
    else:
        layers[1].weight = layers[0].weight
    return torch.nn.Sequential(layers[0], torch.nn.Tanh(), layers[1])


def _loss(net: nn.Module, params: dict):
    return (nn.functional_call(net, params, cr.tensor(X)) ** 2).sum()


def _torch_loss(torch, twin, params: dict):
    return (torch.func.functional_call(twin, params, (torch.from_numpy(X),)) ** 2).sum()


@pytest.mark.parametrize("name", ["0.weight", "2.weight"])
def test_one_value_for_a_tied_weight_is_used_at_every_use_with_the_whole_gradient(torch, name):
    # both ways of tying in one test: a module used twice already took the one value at both
    # uses (one module, one attribute); a Parameter on two modules took it at one use only
    for build in TIED:
        net = build()
        before = net(cr.tensor(X)).numpy()
        loss = _loss(net, {name: V})
        gradient = cr.grad(lambda p, net=net: _loss(net, p))({name: V})
        given = {name: torch.from_numpy(V.T)}
        expected_loss = _torch_loss(torch, _torch_twin(torch, net), given)
        twin = _torch_twin(torch, net)
        expected = torch.func.grad(lambda p, twin=twin: _torch_loss(torch, twin, p))(given)
        assert list(gradient) == [name]
        np.testing.assert_allclose(loss.item(), expected_loss.item(), rtol=1e-12)
        np.testing.assert_allclose(
            gradient[name].numpy(), expected[name].detach().numpy().T, rtol=1e-12
        )
        np.testing.assert_array_equal(net(cr.tensor(X)).numpy(), before)  # restored


def _values_for_both_names(kind: str) -> dict:
    if kind == "another value":
        return {"0.weight": V * 0, "2.weight": V}
    return {"0.weight": V, "2.weight": V.copy()}  # equal, but two objects


@pytest.mark.parametrize("build", TIED)
@pytest.mark.parametrize("kind", ["another value", "an equal value"])
def test_values_for_two_names_of_a_tied_weight_are_refused_unless_one_object(torch, build, kind):
    net = build()
    before = net(cr.tensor(X)).numpy()
    refusal = (
        r"got values for \['0\.weight', '2\.weight'\], which are tied: they name one parameter"
    )
    with pytest.raises(ValueError, match=refusal):
        _loss(net, _values_for_both_names(kind))
    np.testing.assert_array_equal(net(cr.tensor(X)).numpy(), before)  # nothing left replaced
    twin = _torch_twin(torch, net)
    both = {k: torch.from_numpy(v.T) for k, v in _values_for_both_names(kind).items()}
    with pytest.raises(ValueError, match=r"multiple values for keys \['0.weight', '2.weight'\]"):
        torch.func.functional_call(twin, both, (torch.from_numpy(X),))

    # one tensor under both names is one value: its gradient is the whole gradient, as in torch
    weight = cr.tensor(V, requires_grad=True)
    loss = _loss(net, {"0.weight": weight, "2.weight": weight})
    (got,) = cr.gradient(loss, [weight])
    same = torch.from_numpy(V.T).requires_grad_()
    once = {"0.weight": same, "2.weight": same}
    expected = _torch_loss(torch, twin, once)
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item())
    np.testing.assert_allclose(got.numpy(), same.grad.numpy().T, rtol=1e-12)
    given_once = cr.grad(lambda p: _loss(net, p))({"2.weight": V})["2.weight"]
    np.testing.assert_allclose(got.numpy(), given_once.numpy(), rtol=1e-12)


@pytest.mark.parametrize("build", TIED)
def test_grad_of_one_array_under_both_tied_names_is_refused_as_by_torch_func_grad(torch, build):
    # QA's case: grad makes each name's value a variable of its own, so the first got a
    # gradient of 0 and the second the whole; torch.func.grad refuses it the same way
    net = build()
    both = {"0.weight": V, "2.weight": V}
    with pytest.raises(ValueError, match=r"one parameter .* cr\.grad makes each its own"):
        cr.grad(lambda p: _loss(net, p))(both)
    twin = _torch_twin(torch, net)
    same = torch.from_numpy(V.T)
    with pytest.raises(ValueError, match="which are tied"):
        torch.func.grad(lambda p: _torch_loss(torch, twin, p))({"0.weight": same, "2.weight": same})
