"""A recurrent module's hidden state stored on it (``self.h = h`` in forward) is a plain
attribute, not a parameter, as in PyTorch (which registers only nn.Parameter).

``h`` is the output of an op (tanh) and requires a gradient: it was registered as a parameter,
so ``named_parameters``, ``num_parameters`` and the ``state_dict`` listed it, an optimizer on
``m.parameters()`` refused it as "the result of an op ... make it a leaf" (which would have
made the state a trained weight), ``save_model`` failed on ``config()``, and after
``self.h = h.detach()`` it stayed a frozen parameter that the next ``self.h = h`` could not
replace. chainrule's rule is a module's parameters are its ``Parameter`` s and leaf tensors
requiring a gradient; a tensor an op computed is a plain attribute. Replacing a parameter by an
op's output is still refused.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError

N_IN, N_H = 2, 3


class _Stateful(nn.Module):
    """An Elman layer keeping its last hidden state on itself, as the QA script did."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.W = nn.Parameter(rng.normal(0, 0.5, (N_H, N_H)))
        self.U = nn.Parameter(rng.normal(0, 0.5, (N_IN, N_H)))
        self.h = None

    def config(self) -> dict:
        return {"type": "_Stateful"}

    def forward(self, x):
        h = self.h if self.h is not None else cr.zeros((x.shape[1], N_H), dtype="float64")
        for t in range(x.shape[0]):
            h = cr.tanh(cr.matmul(x[t], self.U) + cr.matmul(h, self.W))
        self.h = h  # as the QA script's first version, which forgot to detach
        return h


class _Detaching(_Stateful):
    """The QA script's fix: a subclass cutting the stored state after the forward stored it."""

    def forward(self, x):
        h = super().forward(x)
        self.h = h.detach()
        return h


def _batches(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.normal(size=(4, 2, N_IN)) for _ in range(n)]


def test_a_hidden_state_stored_in_forward_is_no_parameter():
    m = _Stateful()
    m(_batches(1)[0])
    assert isinstance(m.h, cr.Tensor) and not m.h.is_leaf and m.h.requires_grad
    assert [name for name, _ in m.named_parameters()] == ["W", "U"]
    assert m.num_parameters() == N_H * N_H + N_IN * N_H
    assert list(m.state_dict()) == ["W", "U"]
    cr.optim.SGD(m.parameters(), lr=0.1)  # no "the result of an op (tanh)"


def test_the_state_can_be_replaced_by_its_detached_copy_and_back():
    """forward's ``self.h = h.detach()`` then ``self.h = h``: a plain attribute each time (it
    was a frozen parameter, which the op's output could not replace). A leaf requiring a
    gradient is still a parameter, and a parameter still refuses an op's output."""
    m = _Detaching()
    x = _batches(1)[0]
    m(x)
    assert m.h.is_leaf and "h" not in dict(m.named_parameters())
    _Stateful.forward(m, x)  # self.h = h, the output of tanh, over the detached state
    assert not m.h.is_leaf and "h" not in dict(m.named_parameters())
    m.s = cr.tensor(np.ones(N_H), requires_grad=True)  # a leaf requiring a gradient
    assert [name for name, _ in m.named_parameters()] == ["W", "U", "s"]
    with pytest.raises(TypeError, match=r"_Detaching\.W is a parameter: cannot replace it by"):
        m.W = m.W * 2.0


def test_truncated_bptt_with_the_state_kept_on_the_module_trains_as_torch(torch):
    """Three batches, the state carried detached from one to the next and kept on the module
    (the second batch's ``self.h = h`` was refused); SGD on ``m.parameters()`` takes the steps
    PyTorch takes on the same network."""
    m = _Detaching()
    optimizer = cr.optim.SGD(m.parameters(), lr=0.1)
    W = torch.tensor(m.W.numpy().copy(), requires_grad=True)
    U = torch.tensor(m.U.numpy().copy(), requires_grad=True)
    torch_optimizer = torch.optim.SGD([W, U], lr=0.1)
    h = None
    for x in _batches():
        optimizer.zero_grad()
        (m(x) ** 2).sum().backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        ht = torch.zeros(x.shape[1], N_H, dtype=torch.float64) if h is None else h
        for t in range(x.shape[0]):
            ht = torch.tanh(torch.tensor(x[t]) @ U + ht @ W)
        (ht**2).sum().backward()
        torch_optimizer.step()
        h = ht.detach()
        np.testing.assert_allclose(m.h.numpy(), h.numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.W.numpy(), W.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.U.numpy(), U.detach().numpy(), rtol=1e-12)


def test_a_module_holding_its_state_saves_and_loads(tmp_path):
    nn.register_module(_Stateful)
    m = _Stateful()
    x = _batches(1)[0]
    m(x)
    cr.io.save_model(tmp_path / "stateful", m)
    loaded, _ = cr.io.load_model(tmp_path / "stateful")
    assert [name for name, _ in loaded.named_parameters()] == ["W", "U"]
    assert loaded.h is None  # the state is no part of the model file
    np.testing.assert_array_equal(loaded(x).numpy(), _Stateful()(x).numpy())


def test_a_computed_tensor_set_in_init_is_named_by_the_optimizer_set_in_forward_is_not():
    """``self.scale = cr.tensor(..., requires_grad=True) * 2.0`` in ``__init__`` was meant as a
    weight: it stays registered, so the optimizer refuses it by name (make it a leaf) where
    PyTorch leaves it silently untrained; the same assignment in ``forward`` (a kept output,
    a hidden state) is a plain attribute, as in PyTorch. A subclass's own ``__setattr__``
    passing the assignment on does not hide where it came from."""

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.scale = cr.tensor(np.ones(2), requires_grad=True) * 2.0

        def forward(self, x):
            self.kept = self.lin(x) * 2.0
            return self.kept

    class Passing(Scaled):
        def __setattr__(self, name, value):
            super().__setattr__(name, value)

    for model in (Scaled(), Passing()):
        model(cr.tensor(np.ones((1, 2))))
        assert sorted(name for name, _ in model.named_parameters()) == [
            "lin.bias",
            "lin.weight",
            "scale",
        ]
        with pytest.raises(ConfigError, match=r"result of an op \(mul\)"):
            cr.optim.SGD(model.parameters(), lr=0.1)


def test_a_computed_weight_set_while_built_is_named_by_the_optimizer_state_elsewhere_is_not():
    """Review 1: a ``reset_parameters`` called from ``__init__`` (setattr in a loop there too)
    sets a computed "weight" while the module is built: registered, so the optimizer refuses
    it by name, where it was silently never trained. Review 2: anywhere else (a helper the
    forward calls, a ``step`` method of a cell used in a sampling loop, a training loop keeping
    an output) it is a plain attribute, as in PyTorch."""

    class Cell(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 1)
            self.reset_parameters()

        def reset_parameters(self):
            for name in ("scale",):
                setattr(self, name, cr.ones(3, requires_grad=True) * 0.5)

        def forward(self, x):
            self._keep(x)
            return self.lin(x * self.scale)

        def _keep(self, x):
            self.h = cr.tanh(self.lin(x))

        def step(self, x):
            self.state = cr.tanh(self.lin(x))
            return self.state

    cell = Cell()
    assert "scale" in dict(cell.named_parameters())
    with pytest.raises(ConfigError, match=r"result of an op \(mul\)"):
        cr.optim.SGD(cell.parameters(), lr=0.1)
    x = cr.tensor(np.ones((1, 3)))
    cell(x)
    cell.step(x)
    net = nn.Sequential(nn.Linear(3, 2))
    net.last = net(x)  # a training loop keeping an output
    for model, name in ((cell, "h"), (cell, "state"), (net, "last")):
        assert name not in dict(model.named_parameters())
        assert name not in model.state_dict()
    cr.optim.SGD(net.parameters(), lr=0.1)


def test_a_parameter_list_entry_keeps_no_index_as_its_name():
    """Review: naming a parameter by its attribute gave a ParameterList's entries the names
    "0", "1", which a graph box drew as if a constant 0; identifiers only."""
    entries = nn.ParameterList([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))])
    assert [p.name for p in entries] == [None, None]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.alpha = cr.tensor(np.ones(2), requires_grad=True)

    assert Holder().alpha.name == "alpha"
