"""A parameter's values written the ways a newcomer writes them: ``p.data`` assigned between the
forward pass and backward (backward differentiated a mix of the old and new values without a
word), a tensor or a list assigned to ``p.data`` (a Tensor inside a Tensor, or a list, that the
next op or backward crashed on), a computed tensor assigned as the parameter itself
(``lin.weight = lin.weight - lr * lin.weight.grad``: a "parameter" without ``.grad``), and
``module.training`` set to a string (read as true)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
T = np.array([[0], [1], [1], [0]], np.float64)


def _net():
    return nn.mlp([2, 3, 1], output="logistic", rng=0, dtype="float64")


def _halve_in_place(w):
    w.data *= 0.5  # Python assigns the array back: the setter runs


def _assign_new_array(w):
    w.data = w.data * 0.5


def _assign_a_tensor(w):
    w.data = w.data - 0.1 * cr.tensor(np.ones_like(w.data))  # needs no gradient: its array


@pytest.mark.parametrize("write", [_halve_in_place, _assign_new_array, _assign_a_tensor])
def test_a_data_write_between_forward_and_backward_is_refused_as_a_step_is(write):
    net = _net()
    loss = nn.SquaredError()(net(X), T)
    write(net[2].weight)
    with pytest.raises(RuntimeError, match=r"input 1 of 'linear'.* was changed in place"):
        loss.backward()


@pytest.mark.parametrize("write", [_halve_in_place, _assign_new_array, _assign_a_tensor])
def test_a_data_write_before_the_forward_pass_differentiates_the_new_values(write):
    net, reference = _net(), _net()
    write(net[2].weight)
    reference[2].weight.data[...] = net[2].weight.numpy()  # the same values, in place
    nn.SquaredError()(net(X), T).backward()
    nn.SquaredError()(reference(X), T).backward()
    for mine, theirs in zip(net.parameters(), reference.parameters()):
        np.testing.assert_array_equal(mine.grad.numpy(), theirs.grad.numpy())


def test_the_micrograd_update_trains_as_the_no_grad_update_does():
    # p.data = p.data - lr * p.grad: .grad is a tensor, so this stored a Tensor inside a Tensor
    ours, reference = _net(), _net()
    for _ in range(3):
        for model in (ours, reference):
            model.zero_grad()
            nn.SquaredError()(model(X), T).backward()
        for p in ours.parameters():
            p.data = p.data - 0.5 * p.grad
        with cr.no_grad():
            for p in reference.parameters():
                p -= 0.5 * p.grad
    for mine, theirs in zip(ours.parameters(), reference.parameters()):
        assert type(mine.data) is np.ndarray
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-15, atol=1e-15)


def test_a_tensor_that_needs_a_gradient_is_refused_naming_no_grad():
    w = nn.Linear(2, 1, rng=0).weight
    before = w.numpy().copy()
    with pytest.raises(TypeError, match=r"output of 'sub' that requires a gradient.*no_grad"):
        w.data = w - 0.1
    np.testing.assert_array_equal(w.numpy(), before)


def test_a_leaf_gives_its_array_shared_as_in_pytorch():
    w, other = nn.Linear(2, 1, rng=0).weight, nn.Linear(2, 1, rng=1).weight
    w.data = other  # a leaf, which has no recorded path to cut
    assert w.data is other.data


@pytest.mark.parametrize("value", [[[3.0], [4.0]], 2.5, "abc"])
def test_anything_but_an_array_is_refused_naming_the_conversion(value):
    w = nn.Linear(2, 1, rng=0).weight
    with pytest.raises(TypeError, match=r"must be an array .*numpy\.asarray\(values, dtype="):
        w.data = value
    assert type(w.data) is np.ndarray


def test_a_numpy_scalar_becomes_a_0d_array_and_shape_and_dtype_changes_stay_allowed():
    p = nn.Parameter(np.float64(1.0))
    p.data = np.float64(3.0)
    assert type(p.data) is np.ndarray and p.shape == ()
    p = nn.Parameter(np.zeros((2, 2), np.float32))
    p.data = np.ones(3, np.float64)  # as PyTorch's .data = takes any shape and dtype
    assert p.shape == (3,) and p.dtype == np.float64


def test_the_librarys_own_writes_of_data_do_not_trip_backward():
    net = _net()
    state = net.state_dict()
    net.to("float64")  # converts nothing: writes nothing
    net.load_state_dict(state)  # before the forward pass: its graph reads the loaded values
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        loss = nn.SquaredError()(net(X), T)
        net.to("float64")  # between forward and backward, a no-op
        loss.backward()
        opt.step()


# -- a computed tensor assigned as a parameter --------------------------------------------------


def test_a_computed_tensor_in_a_parameters_place_is_refused_naming_the_in_place_update():
    net = _net()
    nn.SquaredError()(net(X), T).backward()
    weight = net[0].weight
    with pytest.raises(TypeError, match=r"Linear\.weight is a parameter.*output of 'sub'") as e:
        net[0].weight = net[0].weight - 0.5 * net[0].weight.grad
    assert "with cr.no_grad(): module.weight -= lr * module.weight.grad" in str(e.value)
    assert net[0].weight is weight
    assert [name for name, _ in net.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]


def test_a_computed_tensor_at_a_new_name_is_kept_and_replaced_again():
    # registered as at 05b8150 (an optimizer built over it names it as no leaf: see
    # test_review_data_writes_s64), and a forward keeping its output may replace it again
    layer = nn.Linear(2, 1, rng=0)
    out = layer(cr.tensor(X))
    layer.last_output = out
    assert layer.last_output is out
    layer.last_output = layer(cr.tensor(X))  # and again, as a forward that keeps its output
    assert layer.last_output is not out


def test_leaf_tensors_still_replace_a_parameter():
    layer = nn.Linear(2, 1, rng=0)
    layer.weight = cr.tensor(layer.weight.numpy())  # a frozen copy
    layer.bias = cr.tensor(np.zeros(1, np.float32), requires_grad=True)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


# -- the training flag --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["no", 0, None, "False"])
def test_training_set_to_anything_but_a_bool_is_refused(value):
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5))
    with pytest.raises(ValueError, match=r"Sequential\.training must be True or False"):
        net.training = value
    assert net.training is True


def test_training_set_to_a_bool_is_kept_as_one():
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5))
    net[1].training = np.bool_(False)
    assert net[1].training is False
    net.training = True
    assert net.training is True
