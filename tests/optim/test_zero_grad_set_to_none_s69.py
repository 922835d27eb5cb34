"""``zero_grad(set_to_none=...)``, PyTorch's keyword, on tensors, modules, optimizers and
``cr.zero_grad``: None by default; zeros with ``set_to_none=False``, which the next step still
moves a parameter by (momentum, Adam), as PyTorch's does."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _net(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 2), nn.Logistic(), nn.Linear(2, 1))


def _backward(net):
    x = cr.tensor(np.arange(6.0).reshape(2, 3) / 5)
    (net(x) ** 2).sum().backward()


@pytest.mark.parametrize("where", ["module", "optimizer", "tensor", "function"])
def test_set_to_none_false_leaves_zeros_where_a_gradient_was(where):
    net = _net()
    opt = optim.Adam(net.parameters(), lr=0.1)
    _backward(net)
    params = list(net.parameters())
    params[0].grad = None  # one without a gradient stays without one
    if where == "module":
        net.zero_grad(set_to_none=False)
    elif where == "optimizer":
        opt.zero_grad(set_to_none=False)
    elif where == "tensor":
        for p in params:
            p.zero_grad(set_to_none=False)
    else:
        cr.zero_grad(net, set_to_none=False)
    assert params[0].grad is None
    for p in params[1:]:
        assert p.grad is not None and p.grad.shape == p.shape
        assert not np.any(p.grad.numpy())


@pytest.mark.parametrize("where", ["module", "optimizer", "function"])
def test_the_default_sets_none(where):
    net = _net()
    opt = optim.SGD(net.parameters(), lr=0.1)
    _backward(net)
    {"module": net.zero_grad, "optimizer": opt.zero_grad, "function": lambda: cr.zero_grad(net)}[
        where
    ]()
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_adam_after_zero_grad_moves_as_torchs(torch, set_to_none):
    """Two Adam steps, then zero_grad(set_to_none) and a third step: with zeros the parameters
    still move by Adam's running averages; with None they stay. Compared with torch 2.13."""
    from chainrule.interop import to_torch

    net = _net(1)
    tnet = to_torch(net)
    opt = optim.Adam(net.parameters(), lr=0.05)
    topt = torch.optim.Adam(tnet.parameters(), lr=0.05)
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    for _ in range(2):
        opt.zero_grad()
        (net(cr.tensor(x.astype(np.float32))) ** 2).sum().backward()
        opt.step()
        topt.zero_grad()
        (tnet(torch.tensor(x, dtype=torch.float32)) ** 2).sum().backward()
        topt.step()
    before = [p.numpy().copy() for p in net.parameters()]
    opt.zero_grad(set_to_none=set_to_none)
    topt.zero_grad(set_to_none=set_to_none)
    opt.step()
    topt.step()
    for ours, theirs, old in zip(net.parameters(), tnet.parameters(), before):
        theirs = theirs.detach().numpy()  # torch stores a Linear's weight (out, in)
        np.testing.assert_allclose(ours.numpy(), theirs.T, rtol=1e-5, atol=1e-6)
        assert np.array_equal(ours.numpy(), old) == set_to_none
