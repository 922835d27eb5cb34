"""``optim.from_name`` takes every optimizer name the command line and the web page take:
"momentum" (run.json's ``"optimizer": "momentum"``, ``--optimizer momentum``) was "unknown
optimizer". It is SGD with momentum, 0.9 unless given (RHW 1986's, the CLI's default).

Oracle: RHW's update dw(t) = momentum * dw(t-1) - lr * dE/dw, w += dw, written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.errors import ConfigError


def test_momentum_is_sgd_with_momentum_point_nine():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    made = optim.from_name("momentum", [w], lr=0.1)
    assert type(made) is optim.SGD
    assert made.config() == optim.SGD([w], lr=0.1, momentum=0.9).config()
    given = optim.from_name("Momentum", [w], lr=0.1, momentum=0.5)
    assert given.momentum == 0.5


def test_its_steps_are_rhw_momentum():
    start = np.array([1.0, -2.0])
    w = cr.tensor(start.copy(), requires_grad=True)
    opt = optim.from_name("momentum", [w], lr=0.1)
    expected, velocity = start.copy(), np.zeros(2)
    for _ in range(4):
        opt.zero_grad()
        (0.5 * (w * w).sum()).backward()  # dE/dw = w
        opt.step()
        velocity = 0.9 * velocity - 0.1 * expected
        expected = expected + velocity
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)


def test_every_name_the_command_line_and_the_page_take_is_made():
    from chainrule.optim.optimizers import names
    from chainrule.web import training

    for name in {*names(), *training.OPTIMIZERS}:
        w = cr.tensor([1.0], requires_grad=True)
        assert isinstance(optim.from_name(name, [w], lr=0.1), optim.Optimizer), name


def test_an_unknown_name_lists_momentum_too():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ConfigError, match=r"unknown optimizer 'lbfgs'; choose one of sgd, .*"
                                          r"momentum"):  # fmt: skip
        optim.from_name("lbfgs", [w], lr=0.1)
