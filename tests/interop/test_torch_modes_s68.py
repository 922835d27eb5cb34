"""from_torch and to_torch carry each module's own training flag (QA of modes, s68): only the
top-level flag was copied, so a PyTorch network in training with its dropout in evaluation
became a chainrule model whose dropout drew masks."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn


def test_from_torch_copies_each_layer_s_own_mode(torch) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2)
    ).double()
    net.train()
    net[2].eval()
    model = cr.interop.torch.from_torch(net)
    assert model.training is True
    assert [layer.training for layer in model] == [m.training for m in net]  # dropout: False
    x = np.random.default_rng(0).normal(size=(5, 3))
    expected = net(torch.tensor(x)).detach().numpy()  # dropout off: deterministic
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    net.eval()
    net[2].train()
    model = cr.interop.torch.from_torch(net)
    assert model.training is False and [layer.training for layer in model] == [
        m.training for m in net
    ]


def test_to_torch_copies_each_layer_s_own_mode(torch) -> None:
    model = nn.Sequential(
        nn.Linear(3, 8, rng=0, dtype="float64"),
        nn.Tanh(),
        nn.Dropout(0.5),
        nn.Linear(8, 2, rng=1, dtype="float64"),
    )
    model.train()
    model[2].eval()
    net = cr.interop.torch.to_torch(model)
    assert net.training is True
    assert [m.training for m in net] == [layer.training for layer in model]  # dropout: False
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(
        net(torch.tensor(x)).detach().numpy(), model(x).numpy(), rtol=1e-12, atol=1e-12
    )
    model.eval()
    model[2].train()
    net = cr.interop.torch.to_torch(model)
    assert net.training is False and [m.training for m in net] == [
        layer.training for layer in model
    ]
