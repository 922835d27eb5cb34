"""Module's contract: a plain ``__call__``, explicit registration, parameters and buffers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

# ---------------------------------------------------------------------------------------------
# Calling a module
# ---------------------------------------------------------------------------------------------


class Logged:
    """A mixin that counts calls, as a user's logging or hook mixin would."""

    def __call__(self, *args, **kwargs):
        self.calls = getattr(self, "calls", 0) + 1
        return super().__call__(*args, **kwargs)


def test_a_mixins_call_runs_before_the_modules():
    class Net(Logged, nn.Module):
        def forward(self, x):
            return x * 2

    net = Net()
    assert net(cr.tensor([1.0])).tolist() == [2.0]
    assert net.calls == 1


def test_a_mixin_layer_inside_a_sequential_is_called_through_its_call():
    class LoggedLinear(Logged, nn.Linear):
        pass

    layer = LoggedLinear(2, 1, dtype="float64", rng=0)
    net = nn.Sequential(layer, nn.Logistic())
    x = np.array([[1.0, 2.0]])
    want = 1 / (1 + np.exp(-(x @ layer.weight.numpy() + layer.bias.numpy())))
    np.testing.assert_allclose(net(x).numpy(), want)
    assert layer.calls == 1


@pytest.mark.parametrize("inside_sequential", [False, True])
def test_a_forward_assigned_to_an_instance_is_what_a_call_runs(inside_sequential):
    unit = nn.Logistic()
    unit.forward = lambda z: z * 10
    module = nn.Sequential(unit) if inside_sequential else unit
    assert module(cr.tensor([1.0])).tolist() == [10.0]


def test_sequential_gives_the_same_result_as_calling_each_layer():
    net = nn.mlp([3, 4, 2], activation="tanh", output="logistic", rng=1)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    h = cr.tensor(x)
    for layer in net:
        h = nn.Module.__call__(layer, h)
    np.testing.assert_array_equal(net(x).numpy(), h.numpy())
