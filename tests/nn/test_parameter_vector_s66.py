"""A network's parameters as one flat vector and back (scipy.optimize takes a vector):
``nn.parameters_to_vector``, ``nn.vector_to_parameters`` (torch.nn.utils' names and order) and
``nn.unflatten_parameters`` (the vector as functional_call's dict, made with chainrule's ops so a
transform differentiates through it). There was no way between the two but the user's own
slicing loop, whose order was easy to get wrong."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _net(dtype="float64"):
    return nn.Sequential(
        nn.Linear(3, 4, dtype=dtype, rng=1), nn.Tanh(), nn.Linear(4, 2, dtype=dtype, rng=2)
    )


RNG = np.random.default_rng(0)
X = RNG.standard_normal((10, 3))
T = RNG.standard_normal((10, 2))


def _error_at(net):
    def error(theta):
        return nn.MSE()(nn.functional_call(net, nn.unflatten_parameters(theta, net), X), T)

    return error


def _central(fn, theta, eps=1e-6):
    steps = np.eye(theta.size) * eps
    return np.array([(fn(theta + e) - fn(theta - e)) / (2 * eps) for e in steps])


def test_the_vector_is_the_parameters_in_named_parameters_order():
    net = _net()
    vector = nn.parameters_to_vector(net)
    expected = np.concatenate([p.data.ravel() for _, p in net.named_parameters()])
    assert vector.dtype == np.float64
    np.testing.assert_array_equal(vector, expected)
    vector[:] = 0  # a copy: the network keeps its weights
    assert np.any(net[0].weight.data != 0)
    # a dict (cr.grad's) in its own order, a list in its
    named = dict(net.named_parameters())
    np.testing.assert_array_equal(nn.parameters_to_vector(named), expected)
    np.testing.assert_array_equal(nn.parameters_to_vector(net.parameters()), expected)


def test_the_order_is_torch_nn_utils(torch):
    net = _net()
    theirs = torch.nn.utils.parameters_to_vector([torch.tensor(p.data) for p in net.parameters()])
    np.testing.assert_array_equal(nn.parameters_to_vector(net), theirs.numpy())


def test_a_tied_parameter_is_in_the_vector_once():
    shared = nn.Linear(2, 2, dtype="float64", rng=0)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert nn.parameters_to_vector(net).size == 6
    assert list(nn.unflatten_parameters(np.arange(6.0), net)) == ["0.weight", "0.bias"]


def test_vector_to_parameters_writes_in_place_in_each_parameters_dtype():
    net = _net("float32")
    params = net.parameters()
    arrays = [p.data for p in params]
    vector = np.linspace(-1, 1, net.num_parameters())  # float64, as scipy gives
    nn.vector_to_parameters(vector, net)
    assert net.parameters() == params and all(p.data is a for p, a in zip(params, arrays))
    assert all(p.dtype == np.float32 for p in params)
    np.testing.assert_array_equal(nn.parameters_to_vector(net), vector.astype(np.float32))
    # and back: unflatten_parameters gives the same tensors' values
    for name, value in nn.unflatten_parameters(vector, net).items():
        np.testing.assert_allclose(value.numpy(), dict(net.named_parameters())[name].numpy())


HOLD = "Sequential's 4 parameters hold 26"  # (3 x 4 + 4) + (4 x 2 + 2)


@pytest.mark.parametrize("who", ["vector_to_parameters", "unflatten_parameters"])
@pytest.mark.parametrize(
    ("vector", "error", "says"),
    [
        (np.zeros(25), ValueError, f"the vector has 25 numbers, but {HOLD}"),
        (np.zeros(27), ValueError, f"the vector has 27 numbers, but {HOLD}"),
        (np.zeros((2, 13)), ValueError, f"one axis, not shape (2, 13); {HOLD}"),
        (np.zeros(26, dtype=int), TypeError, f"real floats, not int64; {HOLD}"),
        (np.zeros(26, dtype=complex), TypeError, f"real floats, not complex128; {HOLD}"),
        (np.zeros(26, dtype=bool), TypeError, f"real floats, not bool; {HOLD}"),
    ],
)
def test_a_vector_of_another_length_or_kind_is_refused(who, vector, error, says):
    net = _net()
    before = nn.parameters_to_vector(net)
    with pytest.raises(error, match=f"^{who}: .*" + re.escape(says)):
        getattr(nn, who)(vector, net)
    np.testing.assert_array_equal(nn.parameters_to_vector(net), before)


def test_the_gradient_through_unflatten_parameters_is_one_vector():
    net = _net()
    theta = nn.parameters_to_vector(net)
    error = _error_at(net)
    g = cr.grad(error)(theta)
    assert g.shape == theta.shape
    np.testing.assert_allclose(g.numpy(), _central(lambda v: error(v).item(), theta), rtol=1e-6)
    # the gradient backward gives, flattened alike
    nn.MSE()(net(X), T).backward()
    np.testing.assert_allclose(
        g.numpy(), nn.parameters_to_vector([p.grad for p in net.parameters()]), rtol=1e-12
    )
    # and cr.grad's dict, flattened, pairs with the parameters' vector
    params = {k: p.data for k, p in net.named_parameters()}
    grads = cr.grad(lambda p: nn.MSE()(nn.functional_call(net, p, X), T))(params)
    np.testing.assert_allclose(nn.parameters_to_vector(grads), g.numpy(), rtol=1e-12)


def test_scipy_lbfgsb_through_the_vector_helpers():
    optimize = pytest.importorskip("scipy.optimize")
    net = _net()
    error = _error_at(net)

    def error_and_gradient(theta):
        value, gradient = cr.value_and_grad(error)(theta)
        return value.item(), gradient.numpy()

    start = nn.parameters_to_vector(net)
    value, gradient = error_and_gradient(start)
    np.testing.assert_allclose(gradient, _central(lambda v: error(v).item(), start), rtol=1e-6)
    found = optimize.minimize(
        error_and_gradient, start, jac=True, method="L-BFGS-B", options={"maxiter": 50}
    )
    assert found.fun < value
    nn.vector_to_parameters(found.x, net)
    assert nn.MSE()(net(X), T).item() == pytest.approx(found.fun, rel=1e-12)
    at_end = error_and_gradient(found.x)[1]
    np.testing.assert_allclose(at_end, _central(lambda v: error(v).item(), found.x), atol=1e-7)
