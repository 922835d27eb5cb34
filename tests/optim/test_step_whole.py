"""A step that refuses one parameter moves none: every parameter is checked before the first
update, so a refused step leaves the model as it was (not half stepped)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

OPTIMIZERS = [
    pytest.param(lambda ps: optim.SGD(ps, lr=0.1), id="sgd"),
    pytest.param(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), id="momentum"),
    pytest.param(lambda ps: optim.RMSprop(ps, lr=0.1), id="rmsprop"),
    pytest.param(lambda ps: optim.Adam(ps, lr=0.1), id="adam"),
]


def _params():
    rng = np.random.default_rng(0)
    return [cr.Tensor(rng.normal(size=shape), requires_grad=True) for shape in [(2, 3), (3,)]]


def _snapshot(opt):
    return [p.data.copy() for p in opt.params], list(opt.steps)


def _unchanged(opt, before):
    values, steps = before
    for param, value in zip(opt.params, values):
        np.testing.assert_array_equal(param.data, value)
    assert opt.steps == steps


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_later_gradient_of_another_shape_moves_no_parameter(make):
    params = _params()
    opt = make(params)
    params[0].grad = np.ones((2, 3))
    params[1].grad = np.ones((4,))  # set by hand, wrong
    before = _snapshot(opt)
    with pytest.raises(cr.ShapeError, match=r"parameter 1 has shape \(3,\) but its gradient"):
        opt.step()
    _unchanged(opt, before)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_later_gradient_that_is_no_array_moves_no_parameter(make):
    params = _params()
    opt = make(params)
    params[0].grad = np.ones((2, 3))
    params[1].grad = [1.0, 2.0, 3.0]
    before = _snapshot(opt)
    with pytest.raises(TypeError, match="parameter 1's .grad is a list"):
        opt.step()
    _unchanged(opt, before)


@pytest.mark.parametrize("name, buffer", [("adam", "m"), ("momentum", "velocity")])
def test_buffers_of_another_shape_are_named_and_nothing_moves(name, buffer):
    make = {p.id: p.values[0] for p in OPTIMIZERS}[name]
    params = _params()
    opt = make(params)
    for p in params:
        p.grad = np.ones(p.shape)
    opt.step()
    params[1].data = np.zeros(5)  # replaced after its buffers were made
    params[1].grad = np.ones(5)
    before = _snapshot(opt)
    with pytest.raises(cr.ShapeError, match=rf"parameter 1 has shape \(5,\) but its '{buffer}'"):
        opt.step()
    _unchanged(opt, before)


def test_a_plain_step_still_moves_every_parameter_by_lr_times_its_gradient():
    params = _params()
    opt = optim.SGD(params, lr=0.5)
    start = [p.data.copy() for p in params]
    grads = [np.full(p.shape, 2.0) for p in params]
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()
    for p, w, g in zip(params, start, grads):
        np.testing.assert_allclose(p.data, w - 0.5 * g)
    assert opt.steps == [1, 1]
