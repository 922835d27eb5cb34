"""Freezing a module as PyTorch code does (``module.requires_grad_(False)``), the write that
looked like it (``module.requires_grad = False``, a plain attribute that froze nothing) refused by
name, and the advice given for PyTorch's parameter groups (one optimizer per group in one's own
loop) shown to work, and to be refused by ``fit`` as it says.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError

RNG = np.random.default_rng(69)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 1))


def _net():
    return nn.Sequential(nn.Linear(3, 4, rng=0, dtype="float64"), nn.Tanh(),
                         nn.Linear(4, 1, rng=1, dtype="float64"))  # fmt: skip


def _torch_net(torch, net):
    """The same network in torch (chainrule's weight is (n_in, n_out), torch's transposed)."""
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    tnet = tnet.double()
    with torch.no_grad():
        for position in (0, 2):
            tnet[position].weight.copy_(torch.tensor(net[position].weight.numpy().T))
            tnet[position].bias.copy_(torch.tensor(net[position].bias.numpy()))
    return tnet


def _train(net, steps=5):
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(steps):
        opt.zero_grad()
        ((net(cr.tensor(X)) - cr.tensor(Y)) ** 2).mean().backward()
        opt.step()


def _train_torch(torch, tnet, steps=5):
    opt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(steps):
        opt.zero_grad()
        ((tnet(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean().backward()
        opt.step()


def _values(module):
    return [p.numpy().copy() for p in module.parameters()]


def test_requires_grad_false_freezes_a_module_as_torchs(torch):
    net = _net()
    tnet = _torch_net(torch, net)
    assert net[0].requires_grad_(False) is net[0]  # returns the module, as torch's
    tnet[0].requires_grad_(False)
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]
    frozen = _values(net[0])
    _train(net)
    _train_torch(torch, tnet)
    for before, p in zip(frozen, net[0].parameters()):
        np.testing.assert_array_equal(p.numpy(), before)  # nothing of it moved
        assert p.grad is None
    for position in (0, 2):  # and the rest trained as torch's
        np.testing.assert_allclose(
            net[position].weight.numpy(), tnet[position].weight.detach().numpy().T, rtol=1e-12
        )
        np.testing.assert_allclose(
            net[position].bias.numpy(), tnet[position].bias.detach().numpy(), rtol=1e-12
        )
    assert not np.array_equal(net[2].weight.numpy(), _net()[2].weight.numpy())


def test_requires_grad_true_unfreezes(torch):
    net = _net()
    tnet = _torch_net(torch, net)
    net.requires_grad_(False).requires_grad_()
    tnet.requires_grad_(False).requires_grad_()
    assert all(p.requires_grad for p in net.parameters())
    _train(net)
    _train_torch(torch, tnet)
    np.testing.assert_allclose(net[0].weight.numpy(), tnet[0].weight.detach().numpy().T, rtol=1e-12)
    assert not np.array_equal(net[0].weight.numpy(), _net()[0].weight.numpy())


def test_a_frozen_module_stays_put_in_fit():
    net = _net()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net[2].requires_grad_(False)
    frozen, other = _values(net[2]), _values(net[0])
    ds = cr.data.Dataset(X, Y, task="regression")
    cr.train.fit(net, nn.SquaredError(), opt, ds, epochs=3, batch_size=4, progress=False)
    for before, p in zip(frozen, net[2].parameters()):
        np.testing.assert_array_equal(p.numpy(), before)
    assert not np.array_equal(net[0].weight.numpy(), other[0])


@pytest.mark.parametrize("flag", [False, True])
def test_writing_requires_grad_on_a_module_is_refused_naming_requires_grad_(flag):
    net = _net()
    for module in (net, net[0], nn.ModuleList([nn.Linear(2, 2)])):
        with pytest.raises(
            AttributeError,
            match=rf"^{type(module).__name__}\.requires_grad = {flag}: a module has no "
            rf"requires_grad flag .* module\.requires_grad_\({flag}\)",
        ):
            module.requires_grad = flag
        assert "requires_grad" not in vars(module)
    assert all(p.requires_grad for p in net.parameters())  # nothing changed
    net[0].weight.requires_grad = False  # a parameter's own flag, as the message says
    assert not net[0].weight.requires_grad


def test_a_module_class_with_its_own_requires_grad_keeps_it():
    class Flagged(nn.Module):
        requires_grad = True  # the class's own attribute: its design, not the slip

        def forward(self, x):
            return x

    module = Flagged()
    module.requires_grad = False
    assert module.requires_grad is False


class _Configured(nn.Module):
    """A user's module that stores its own ``requires_grad`` config flag while it is built."""

    def __init__(self, n, requires_grad=True):
        super().__init__()
        self.requires_grad = requires_grad
        self.w = nn.Parameter(np.ones(n))
        self.w.requires_grad = requires_grad

    def forward(self, x):
        return x * self.w


def test_a_module_storing_its_own_requires_grad_while_built_keeps_it():
    """It could no longer be built: its own config flag was refused as the slip."""
    module = _Configured(3, requires_grad=False)
    assert module.requires_grad is False and module.w.requires_grad is False
    module.requires_grad = True  # its own flag from then on, as any attribute of its own
    assert module.requires_grad is True


def test_a_parent_writing_a_child_modules_requires_grad_while_built_is_refused():
    """Only the module's own building counts: freezing a pretrained encoder this way in a
    model's __init__ is the slip (it froze nothing)."""

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(2, 2, rng=0)
            self.encoder.requires_grad = False

    with pytest.raises(AttributeError, match=r"^Linear\.requires_grad = False: a module has no"):
        Model()


@pytest.mark.parametrize("flag", ["no", 0, 1, None])
def test_a_parameters_requires_grad_write_takes_only_a_bool(flag, torch):
    """``p.requires_grad = "no"`` was stored unchecked, and the parameter then trained, where
    ``requires_grad_("no")`` is refused (and torch refuses both)."""
    net = _net()
    weight = net[0].weight
    with pytest.raises(
        TypeError, match=r"^Parameter\.requires_grad = .*: requires_grad must be True or False"
    ):
        weight.requires_grad = flag
    assert weight.requires_grad is True
    with pytest.raises(RuntimeError, match="must be a bool"):
        torch.nn.Linear(2, 2).weight.requires_grad = flag
    weight.requires_grad = np.False_  # NumPy's bool is a bool
    assert weight.requires_grad is False
    ((net(cr.tensor(X)) - cr.tensor(Y)) ** 2).mean().backward()
    assert weight.grad is None and net[2].weight.grad is not None


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_module_requires_grad_takes_only_a_bool(flag, torch):
    net = _net()
    with pytest.raises(
        TypeError, match=r"^Sequential\.requires_grad_: requires_grad must be True or False"
    ):
        net.requires_grad_(flag)
    assert all(p.requires_grad is True for p in net.parameters())
    with pytest.raises(TypeError):  # torch refuses it too
        torch.nn.Linear(2, 2).requires_grad_(flag)
    assert not any(p.requires_grad for p in net.requires_grad_(np.False_).parameters())


# -- parameter groups: one optimizer per group, in one's own loop --------------------------------
def test_parameter_groups_advice_works_in_own_loop_and_fit_refuses_it(torch):
    net = _net()
    groups = [{"params": net[0].parameters(), "lr": 0.01}, {"params": net[2].parameters()}]
    with pytest.raises(ConfigError) as caught:
        optim.SGD(groups, lr=0.1)
    message = str(caught.value)
    assert "one optimizer per group" in message and "opt1.step(); opt2.step()" in message
    assert "fit and Trainer take one optimizer" in message
    # the advice, against torch's parameter groups
    tnet = _torch_net(torch, net)
    opt1 = optim.SGD(net[0].parameters(), lr=0.01, momentum=0.9)
    opt2 = optim.SGD(net[2].parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(
        [{"params": tnet[0].parameters(), "lr": 0.01}, {"params": tnet[2].parameters()}],
        lr=0.1,
        momentum=0.9,
    )
    for _ in range(4):
        opt1.zero_grad()
        opt2.zero_grad()
        ((net(cr.tensor(X)) - cr.tensor(Y)) ** 2).mean().backward()
        opt1.step()
        opt2.step()
        topt.zero_grad()
        ((tnet(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean().backward()
        topt.step()
    for position in (0, 2):
        np.testing.assert_allclose(
            net[position].weight.numpy(), tnet[position].weight.detach().numpy().T, rtol=1e-12
        )
    # and fit takes one optimizer, as the message says
    ds = cr.data.Dataset(X, Y, task="regression")
    with pytest.raises(ConfigError, match="optimizer is list"):
        cr.train.fit(net, nn.SquaredError(), [opt1, opt2], ds, epochs=1, progress=False)
