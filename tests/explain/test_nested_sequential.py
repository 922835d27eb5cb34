"""A network built of blocks (an ``nn.Sequential`` inside the model, an "encoder" torch-style) is
read by every view as the flat chain of its layers: the model's own modules and parameters, named
as the model names them ("0.0.weight"), every number the flat network's.

The oracles are the same weights in a flat ``nn.Sequential`` (every format must be its write-up,
with the nested model's names), PyTorch's backward on the same nested network, and central
finite differences of the user's own model's loss."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import ExplainError, as_network, explain, render
from chainrule.explainer.health import saturation
from chainrule.tensor import Tensor

X = np.array([[0.3, -1.2], [1.1, 0.4]])
T = np.array([[1.0, 0.0], [0.0, 1.0]])


def _linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    return nn.Linear(n_in, n_out, rng=seed, dtype="float64")


def nested_net() -> nn.Sequential:
    """2 inputs -> 3 tanh -> 3 logistic -> 2 logistic, the first two layers an encoder block
    that itself holds a block: its parameters are 0.0.0.*, 0.1.*, 1.* in the state dict."""
    encoder = nn.Sequential(nn.Sequential(_linear(2, 3, 0), nn.Tanh()), _linear(3, 3, 1))
    return nn.Sequential(encoder, nn.Logistic(), nn.Sequential(_linear(3, 2, 2), nn.Logistic()))


#: each parameter's name in the flat twin -> its name in the nested model
NAMES = {"0": "0.0.0", "2": "0.1", "4": "2.0"}


def flat_twin(nested: nn.Sequential) -> nn.Sequential:
    """The same network, one layer after another, with copies of the nested model's weights."""
    first, second, third = nested[0][0][0], nested[0][1], nested[2][0]
    flat = nn.Sequential(
        _linear(2, 3, 9),
        nn.Tanh(),
        _linear(3, 3, 9),
        nn.Logistic(),
        _linear(3, 2, 9),
        nn.Logistic(),
    )
    for position, linear in zip((0, 2, 4), (first, second, third)):
        flat[position].weight.data[...] = linear.weight.data
        flat[position].bias.data[...] = linear.bias.data
    return flat


def with_nested_names(text: str) -> str:
    """The flat twin's write-up with each parameter named as the nested model names it."""
    return re.sub(
        r"(?<![\w.])([024])\.(weight|bias)", lambda m: f"{NAMES[m[1]]}.{m[2]}", text
    )  # fmt: skip


def test_it_reads_the_models_own_modules_and_parameters_not_copies():
    net = nested_net()
    network = as_network(net)
    assert network.describe() == "2 inputs -> 3 tanh -> 3 logistic -> 2 logistic"
    assert [layer.linear for layer in network.layers] == [net[0][0][0], net[0][1], net[2][0]]
    assert network.layers[0].weight is net[0][0][0].weight
    assert network.layers[2].bias is net[2][0].bias
    names = [(layer.weight_name, layer.bias_name) for layer in network.layers]
    own = dict(net.named_parameters())
    for (weight_name, bias_name), layer in zip(names, network.layers):
        assert own[weight_name] is layer.weight and own[bias_name] is layer.bias
    assert [layer.unit_position for layer in network.layers] == ["0.0.1", "1", "2.1"]


@pytest.mark.parametrize("format", ["text", "markdown", "latex", "html", "json"])
def test_every_format_is_the_flat_networks_with_the_models_names(format):
    """Every number, check, sympy proof, view and teaching bug the same as the flat network's;
    only the parameters' names differ, each the one the user's model gives it."""
    net = nested_net()
    options = {"loss": nn.SquaredError(), "unit": "2:2", "symbolic": True, "bug": "assign"}
    nested = explain(net, X, T, **options)
    flat = explain(flat_twin(net), X, T, **options)
    assert nested.all_ok and nested.dE_dw(0, 1, 2).numeric is not None  # checked
    assert nested.symbolic and nested.bug and nested.views and nested.perturbation
    written = render(nested, format)
    assert written == with_nested_names(render(flat, format))
    shown = set(re.findall(r"(?<![\w.])[0-9.]+\.weight", written))
    assert shown == {f"{name}.weight" for name in NAMES.values()}


def test_its_gradients_are_torchs_and_finite_differences(torch):
    net = nested_net()
    d = explain(net, X, T, nn.SquaredError())
    # PyTorch on the same nested network (its Linear weight is (out, in): ours transposed)
    linears = [net[0][0][0], net[0][1], net[2][0]]
    twins = []
    for linear in linears:
        twin = torch.nn.Linear(linear.n_in, linear.n_out, dtype=torch.float64)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(linear.weight.numpy().T.copy()))
            twin.bias.copy_(torch.from_numpy(linear.bias.numpy().copy()))
        twins.append(twin)
    model = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Sequential(twins[0], torch.nn.Tanh()), twins[1]),
        torch.nn.Sigmoid(),
        torch.nn.Sequential(twins[2], torch.nn.Sigmoid()),
    )
    x = torch.tensor(X, requires_grad=True)
    E = 0.5 * ((model(x) - torch.tensor(T)) ** 2).sum()
    E.backward()
    assert d.error == pytest.approx(E.item(), rel=1e-13)
    np.testing.assert_allclose(d.layers[0].dE_dy, x.grad.numpy(), rtol=1e-11, atol=1e-14)
    for connection, twin in zip(d.connections, twins):
        np.testing.assert_allclose(connection.dE_dw, twin.weight.grad.numpy().T, rtol=1e-11)
        np.testing.assert_allclose(connection.dE_db, twin.bias.grad.numpy(), rtol=1e-11)
    # central differences of the user's own nested model, each weight moved in place
    loss, eps = nn.SquaredError(), 1e-6
    for connection, linear in zip(d.connections, linears):
        weight = linear.weight.data
        for i, j in np.ndindex(weight.shape):
            old = weight[i, j]
            weight[i, j] = old + eps
            up = loss(net(Tensor(X)), Tensor(T)).item()
            weight[i, j] = old - eps
            down = loss(net(Tensor(X)), Tensor(T)).item()
            weight[i, j] = old
            assert connection.dE_dw[i, j] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


def test_the_derivations_gradients_are_the_models_own_backwards():
    net = nested_net()
    d = explain(net, X, T, nn.SquaredError())
    nn.SquaredError()(net(Tensor(X)), Tensor(T)).backward()
    for connection, linear in zip(d.connections, (net[0][0][0], net[0][1], net[2][0])):
        np.testing.assert_array_equal(connection.dE_dw, linear.weight.grad.numpy())
        np.testing.assert_array_equal(connection.dE_db, linear.bias.grad.numpy())


def test_saturation_reads_the_nested_models_own_units():
    net = nested_net()
    net[2][0].weight.data[...] *= 40  # saturate some top units
    assert saturation(net, X) == saturation(flat_twin(net), X)
    assert set(saturation(net, X)) == {"1", "2", "3"}  # layer 1 is tanh, read since session 70


def test_a_parallel_branch_built_of_blocks_reads_as_its_layers():
    """A branch that is a Sequential holding a block is read as the flat branch, its Linear
    named as the model names it."""
    branch = nn.Sequential(nn.Sequential(_linear(2, 2, 3)), nn.Sequential(nn.Logistic()))
    net = nn.Sequential(
        nn.Parallel((2, branch), (1, nn.Sequential(_linear(1, 1, 4), nn.Logistic())))
    )
    flat = nn.Sequential(
        nn.Parallel(
            (2, nn.Sequential(_linear(2, 2, 3), nn.Logistic())),
            (1, nn.Sequential(_linear(1, 1, 4), nn.Logistic())),
        )
    )
    x, t = np.array([[0.2, -0.4, 0.9]]), np.array([[1.0, 0.0, 1.0]])
    nested_d, flat_d = explain(net, x, t, "squared-error"), explain(flat, x, t, "squared-error")
    layer = as_network(net).layers[0]
    assert layer.weight_name == "0.0.0.0.weight and 0.1.0.weight"
    assert layer.parts[0].weight is branch[0][0].weight
    assert render(nested_d, "json") == render(flat_d, "json").replace(
        '"0.0.0.weight and', '"0.0.0.0.weight and'
    ).replace('"0.0.0.bias and', '"0.0.0.0.bias and')


def test_a_nested_block_with_a_forward_of_its_own_is_refused_naming_it():
    class Doubled(nn.Sequential):
        def forward(self, x):
            return super().forward(x) * 2

    net = nn.Sequential(_linear(2, 3, 0), nn.Tanh(), Doubled(_linear(3, 2, 1)))
    with pytest.raises(ExplainError, match=r"layer 2 is a Doubled, which computes its own forward"):
        explain(net, X, T, "squared-error")


def test_refusals_name_a_nested_layer_as_the_model_does():
    unread = nn.Sequential(nn.Sequential(_linear(2, 3, 0), nn.LogSoftmax()), _linear(3, 2, 1))
    with pytest.raises(ExplainError, match=r"layer 0\.1 is a LogSoftmax"):
        explain(unread, X, T, "squared-error")
    twice = nn.Sequential(_linear(2, 3, 0), nn.Sequential(_linear(3, 2, 1), nn.Softmax()))
    with pytest.raises(ExplainError, match=r"module 1\.1 \(softmax\) is the model's last layer"):
        explain(twice, X, [0, 1], nn.CrossEntropy())
