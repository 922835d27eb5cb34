"""A PyTorch module given to ``cr.explain`` or ``cr.explorer`` is named as one, with the converter
to use: it was "cannot read a network from Sequential; give an nn.Sequential ...", which reads
as if the torch.nn.Sequential were one of chainrule's."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer import ExplainError


def torch_net(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))


@pytest.mark.parametrize("function", ["explain", "explorer"])
def test_a_torch_module_is_named_with_the_converter(torch, function):
    net = torch_net(torch)
    x, t = np.array([[0.3, -1.2]]), np.array([[0.5]])
    with pytest.raises(ExplainError) as raised:
        if function == "explain":
            cr.explain(net, x, t, "squared-error")
        else:
            cr.explorer(net, (x[0], t[0]), "squared-error")
    message = str(raised.value)
    assert message.startswith(f"{function}: the model is a PyTorch module")
    assert "torch.nn.modules.container.Sequential" in message
    assert "chainrule.interop.from_torch(net)" in message
    assert "give an nn.Sequential" not in message


def test_the_converted_module_is_explained_with_torchs_own_gradients(torch):
    """What the message says to do works: from_torch(net) is explained, and its dE/dw are
    PyTorch's own backward() of the same loss."""
    net = torch_net(torch).double()
    x, t = np.array([[0.3, -1.2]]), np.array([[0.5]])
    d = cr.explain(cr.interop.from_torch(net), x, t, "squared-error")
    E = 0.5 * ((net(torch.tensor(x)) - torch.tensor(t)) ** 2).sum()  # squared-error: half the sum
    E.backward()
    assert d.error == pytest.approx(E.item(), rel=1e-12)
    for below, layer in enumerate([net[0], net[2]]):
        np.testing.assert_allclose(d.connections[below].dE_dw, layer.weight.grad.numpy().T)


def test_anything_else_is_still_refused_as_before():
    with pytest.raises(ExplainError, match="cannot read a network from object; give an nn"):
        cr.explain(object(), [[0.0]], [[0.0]], "squared-error")
