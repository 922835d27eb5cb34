"""saturation reads the units the user's own model computes in ``model(x)``.

It used to recompute each layer beside the model, ``f(z)`` with the table's op for the unit's
name, so a unit module that computes something else (here ``Logistic.forward`` replaced on the
class, which ``explain`` still reads as a logistic layer) was measured with the formula it
replaced. The oracle is a count made with NumPy from the weights and the unit the model runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, ops
from chainrule.checks import computes_as
from chainrule.explainer.health import saturation
from chainrule.ops.registry import ShapeError

GAIN = 4.0


def _logistic(z, gain=1.0):
    return 1 / (1 + np.exp(-gain * z))


def _saturated(y):
    return float(np.mean(y * (1 - y) < 0.01))


def _steep_logistic(self, z):  # the unit a user's patched Logistic computes
    return ops.sigmoid(z * GAIN)


def _model():
    model = nn.mlp([3, 6, 2], output="logistic", dtype=np.float64, rng=0)
    model[0].weight.data[:] = np.linspace(-2.5, 2.5, 18).reshape(3, 6)
    return model


X = np.array([[1.0, 0.5, -0.5], [-1.0, 0.25, 1.0], [0.5, -1.0, 0.0], [0.8, 0.8, 0.8]])


def test_the_shares_are_of_the_units_the_model_computes(monkeypatch):
    model = _model()
    z1 = X @ model[0].weight.data + model[0].bias.data
    monkeypatch.setattr(nn.Logistic, "forward", _steep_logistic)
    h = _logistic(z1, GAIN)
    y = _logistic(h @ model[2].weight.data + model[2].bias.data, GAIN)
    expected = {"1": _saturated(h), "2": _saturated(y)}
    assert expected["1"] != _saturated(_logistic(z1))  # the table's formula counts otherwise
    np.testing.assert_allclose(model(X).numpy(), y, rtol=1e-12)  # what the model computes
    assert saturation(model, X) == expected


def test_a_unit_module_used_at_two_places_is_counted_at_each():
    unit = nn.Logistic()
    model = nn.Sequential(
        nn.Linear(3, 6, dtype="float64", rng=0), unit, nn.Linear(6, 2, dtype="float64", rng=1), unit
    )
    model[0].weight.data[:] = np.linspace(-6.0, 6.0, 18).reshape(3, 6)
    h = _logistic(X @ model[0].weight.data + model[0].bias.data)
    y = _logistic(h @ model[2].weight.data + model[2].bias.data)
    assert _saturated(h) != _saturated(y)
    assert saturation(model, X) == {"1": _saturated(h), "2": _saturated(y)}


def test_the_model_is_left_as_it_was_even_when_its_forward_raises():
    model = _model()
    with pytest.raises(ShapeError):
        saturation(model, np.ones((2, 5)))  # the model's own refusal of a wrong width
    for module in model.modules():
        assert "forward" not in vars(module)
    assert computes_as(model[1], nn.Logistic) and saturation(model, X).keys() == {"1", "2"}


def test_outputs_of_lists_outermost_calls_in_order_and_keeps_an_own_forward():
    from chainrule.nn.module import outputs_of  # the hook saturation reads the units with

    branch_unit = nn.Logistic()
    parallel = nn.Parallel((2, nn.Sequential(nn.Linear(2, 2, rng=0), branch_unit)),
                           (1, nn.Linear(1, 1, rng=1)))  # fmt: skip
    top = nn.Tanh()
    top.forward = lambda z: ops.tanh(z) * 2  # the user's own instance forward
    model = nn.Sequential(parallel, top)
    x = np.ones((1, 3))
    with outputs_of([parallel, branch_unit, top]) as calls:
        out = model(x)
    assert [module for module, _ in calls] == [parallel, top]  # the branch's unit is inside
    np.testing.assert_array_equal(calls[1][1].numpy(), out.numpy())
    np.testing.assert_allclose(out.numpy(), 2 * np.tanh(calls[0][1].numpy()), rtol=1e-6)
    assert "forward" not in vars(parallel) and "forward" not in vars(branch_unit)
    assert vars(top)["forward"](np.zeros(1)).numpy() == 0.0
