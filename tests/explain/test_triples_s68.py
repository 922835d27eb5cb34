"""The explainer's (weight, bias, activation) triples, and its refusals of recurrent models.

- Triples of ``nn.Parameter`` s (or tensors requiring a gradient) failed in the explainer's own
  ``np.asarray`` ("a tensor that needs a gradient cannot become a NumPy array ... Use
  chainrule's ops"): their values are read, as the explainer copies the weights anyway.
- Triples passing one array in two layers were explained as two weights, each dE/dw one use's
  share, where a Sequential using one Linear twice is refused: triples are refused in the same
  words, by the same check (shared memory found by ``checks.shared_arrays``).
- ``cr.explain(torch.nn.RNN(...))`` said to convert it with ``from_torch``, which refuses an
  RNN: from_torch is suggested only for what it converts. A custom (recurrent) module's refusal
  points to the one drawing that shows any model's backward pass, ``chainrule.viz.graph.graph``,
  as the command line points to ``chainrule graph``.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError

X, T = np.array([[0.5, -1.0]]), np.array([[1.0]])


def _arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=(2, 1)), np.zeros(1)


@pytest.mark.parametrize("kind", ["Parameter", "tensor requiring a gradient"])
def test_triples_of_tensors_needing_a_gradient_are_explained_as_torch_differentiates(torch, kind):
    W, b, Wo, bo = _arrays()
    make = nn.Parameter if kind == "Parameter" else lambda a: cr.tensor(a, requires_grad=True)
    tensors = [make(a.copy()) for a in (W, b, Wo, bo)]
    d = cr.explain(
        [(tensors[0], tensors[1], "logistic"), (tensors[2], tensors[3], "logistic")], X, T
    )
    Wt, bt, Wot, bot = (torch.tensor(a, requires_grad=True) for a in (W, b, Wo, bo))
    y = torch.sigmoid(torch.sigmoid(torch.tensor(X) @ Wt + bt) @ Wot + bot)
    E = 0.5 * ((y - torch.tensor(T)) ** 2).sum()  # squared error: half the sum
    E.backward()
    assert d.error == pytest.approx(E.item(), rel=1e-12)
    np.testing.assert_allclose(d.connections[0].dE_dw, Wt.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(d.connections[1].dE_dw, Wot.grad.numpy(), rtol=1e-9)
    assert all(t.grad is None for t in tensors)  # the user's tensors are only read
    np.testing.assert_array_equal(tensors[0].numpy(), W)


def _refusal(layers) -> str:
    with pytest.raises(ExplainError) as raised:
        cr.explain(layers, X, T)
    return str(raised.value)


def test_one_array_in_two_triples_is_refused_as_a_layer_used_twice_and_a_copy_is_not():
    W0, b, Wo, bo = _arrays()
    W = np.random.default_rng(1).normal(size=(2, 2))
    message = _refusal(
        [(W0, b, "logistic"), (W, b.copy(), "logistic"), (W, b.copy(), "logistic"),
         (Wo, bo, "logistic")]
    )  # fmt: skip
    assert message == (
        "explain: layer 3's weight is the same array as layer 2's weight (a layer used twice, or "
        "tied weights); the explainer writes out each layer's weights as its own, so its dE/dw "
        "would be one use's share, not the model's total; where the layers' weights only start "
        "equal, give each layer its own copy (np.array(...) of it)"
    )
    # equal copies are two weights: each its own dE/dw, the model's
    layers = [(W0, b, "logistic"), (W0.copy(), b.copy(), "logistic"), (Wo, bo, "logistic")]
    d = cr.explain(layers, X, T)
    net = nn.Sequential(
        nn.Linear(2, 2, dtype="float64"), nn.Logistic(), nn.Linear(2, 2, dtype="float64"),
        nn.Logistic(), nn.Linear(2, 1, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    for linear, (w, bias, _) in zip(net[::2], layers):
        linear.weight.data[...], linear.bias.data[...] = w, bias
    (0.5 * ((net(X) - T) ** 2).sum()).backward()
    for below, linear in enumerate(net[::2]):
        np.testing.assert_allclose(d.connections[below].dE_dw, linear.weight.grad.numpy())


def test_a_tensor_and_a_view_shared_by_triples_are_refused_a_bias_and_tuples_are_values():
    W0, b, Wo, bo = _arrays()
    W = cr.tensor(np.random.default_rng(1).normal(size=(2, 2)), requires_grad=True)
    message = _refusal([(W0, b, "logistic"), (W, b.copy(), "logistic"), (W, b.copy(), "tanh")])
    assert "layer 3's weight is the same tensor as layer 2's weight" in message
    message = _refusal([(W0, b, "logistic"), (W0[:, :], b.copy(), "logistic")])
    assert "layer 2's weight shares its memory with layer 1's weight" in message
    assert "its dE/dw would be one use's share" in message
    # review: one zero bias for every layer, and equal tuple literals (one object to Python),
    # are values the explainer copies, explained as copies are
    top = (Wo, bo, "logistic")
    shared_bias = cr.explain([(W0, b, "logistic"), (W0.copy(), b, "logistic"), top], X, T)
    copied = cr.explain([(W0, b, "logistic"), (W0.copy(), b.copy(), "logistic"), top], X, T)
    for below in range(2):
        np.testing.assert_array_equal(
            shared_bias.connections[below].dE_dw, copied.connections[below].dE_dw
        )
    tuples = [(((0.5, 0.5), (0.5, 0.5)), (0.0, 0.0), "logistic")] * 2
    tuples.append((((0.5,), (0.5,)), (0.0,), "logistic"))
    assert cr.explain(tuples, X, T).connections[0].dE_dw.shape == (2, 2)


class _Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_xh = nn.Parameter(np.full((2, 2), 0.1))
        self.W_hh = nn.Parameter(np.eye(2) * 0.5)

    def forward(self, x):
        h = cr.zeros((1, 2), dtype="float64")
        for t in range(x.shape[0]):
            h = cr.tanh(cr.matmul(x[t : t + 1], self.W_xh) + cr.matmul(h, self.W_hh))
        return h


@pytest.mark.parametrize("function", ["explain", "explorer"])
def test_a_custom_module_is_pointed_to_the_graph_drawing(function):
    with pytest.raises(ExplainError) as raised:
        if function == "explain":
            cr.explain(_Recurrent(), X, np.array([[1.0, 0.0]]))
        else:
            cr.explorer(_Recurrent(), (X[0], np.array([1.0, 0.0])), "squared-error")
    message = str(raised.value)
    assert message.startswith(f"{function}: cannot read a network from _Recurrent; give an nn")
    assert "chainrule.viz.graph.graph(E) draws the computation graph of E" in message


@pytest.mark.parametrize("function", ["explain", "explorer"])
def test_a_torch_module_from_torch_cannot_convert_is_not_sent_to_it(torch, function):
    rnn = torch.nn.RNN(2, 3)
    with pytest.raises(ExplainError) as raised:
        if function == "explain":
            cr.explain(rnn, X, T)
        else:
            cr.explorer(rnn, (X[0], T[0]), "squared-error")
    message = str(raised.value)
    assert message.startswith(f"{function}: the model is a PyTorch module")
    assert "torch.nn.modules.rnn.RNN" in message
    assert "chainrule.interop.from_torch cannot convert it" in message
    assert "convert it first" not in message
    with pytest.raises(cr.errors.ConversionError):  # what the message says
        cr.interop.from_torch(rnn)


def test_the_command_line_names_its_own_way_to_the_graph_alone():
    """A command's refusal names ``chainrule graph --model``, not the Python call too."""
    from chainrule.cli.explain import refuse_an_unreadable_network
    from chainrule.errors import UserError

    with pytest.raises(UserError) as raised:
        refuse_an_unreadable_network(_Recurrent(), "runs/rnn/model", "explain")
    message = str(raised.value)
    assert "chainrule graph --model runs/rnn/model draws its computation graph" in message
    assert "chainrule.viz.graph.graph" not in message
