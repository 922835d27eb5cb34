"""A schedule whose learning rate grows past the largest float is refused by name, and a refused
step changes nothing (an OverflowError left epoch one ahead of the optimizer's lr)."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError


def _sgd():
    return optim.SGD([cr.Tensor(np.zeros(1), requires_grad=True)], lr=1.0)


@pytest.mark.parametrize(
    "make", [lambda o: optim.ExponentialLR(o, gamma=10.0), lambda o: optim.StepLR(o, 1, 10.0)]
)
def test_an_overflowing_learning_rate_is_refused_and_nothing_changes(make):
    opt = _sgd()
    schedule = make(opt)
    last = math.floor(math.log10(np.finfo(float).max))  # 10 ** 308: the last finite power
    for _ in range(last):
        schedule.step()
    assert opt.lr == pytest.approx(10.0**last)  # the closed form, still finite
    with pytest.raises(ConfigError, match=rf"at epoch {last + 1}: the learning rate overflows"):
        schedule.step()
    assert schedule.epoch == last and opt.lr == pytest.approx(10.0**last)


def test_sequential_append_refuses_what_is_not_a_module():
    model = nn.mlp([2, 2], rng=0)
    with pytest.raises(ConfigError, match=r"Sequential: layer 1 must be a Module, not numpy.ufunc"):
        model.append(np.tanh)
    assert len(model.layers) == 1 and len(list(model.children())) == 1
