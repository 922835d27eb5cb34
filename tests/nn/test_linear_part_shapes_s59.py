"""A Linear's weight or bias of another shape than the layer's, given where ``__setattr__`` does
not look (``functional_call``, ``layer.bias.data = ...``), is refused in its forward in
cr.linear's words, naming the part (and functional_call's parameter). A (4, 1) bias over a
batch of 4 cases broadcast into other numbers without an error, and a transposed weight gave
NumPy's gufunc wording. The check compares the arrays with the ones checked last, so a new
array is checked at its first forward and an optimizer's in-place step is not checked again."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


def _net():
    return nn.mlp([3, 4, 2], output="logistic", rng=0).to("float64")


def _forward(state: dict, x: np.ndarray) -> np.ndarray:
    """The network by hand (the oracle): logistic units on both layers."""
    hidden = 1 / (1 + np.exp(-(x @ state["0.weight"] + state["0.bias"])))
    return 1 / (1 + np.exp(-(hidden @ state["2.weight"] + state["2.bias"])))


X4 = np.random.default_rng(0).normal(size=(4, 3))  # a batch as wide as the first layer's units
BIAS_WORDS = "linear: bias of shape (4, 1) does not match weight (3, 4) (expected (4,))"


def test_a_column_bias_through_functional_call_is_refused_as_cr_linear_refuses_it() -> None:
    net = _net()
    state = net.state_dict()
    b_col = state["0.bias"].reshape(-1, 1)
    with pytest.raises(ShapeError) as cr_linear:
        cr.linear(cr.tensor(X4), net[0].weight, b_col)
    with pytest.raises(ShapeError) as refused:
        nn.functional_call(net, {"0.bias": b_col}, X4)
    message = str(refused.value)
    assert message.startswith(str(cr_linear.value)) and BIAS_WORDS in message
    assert "Linear(3, 4).bias has shape (4, 1), not (n_out,) = (4,)" in message
    assert "'0.bias' was given shape (4, 1)" in message
    # the model is restored, and a bias of the right shape computes the hand-made numbers
    other = {**state, "0.bias": state["0.bias"] + 0.5}
    out = nn.functional_call(net, {"0.bias": other["0.bias"]}, X4)
    np.testing.assert_allclose(out.numpy(), _forward(other, X4), rtol=1e-12)
    np.testing.assert_allclose(net(X4).numpy(), _forward(state, X4), rtol=1e-12)


@pytest.mark.parametrize("wrong", [(4, 1), (1, 4), (1,), (4, 4), ()])
def test_every_bias_that_broadcasts_is_refused(wrong) -> None:
    """Each of these broadcast into the (4, 4) net input without an error."""
    net = _net()
    with pytest.raises(ShapeError) as refused:
        nn.functional_call(net, {"0.bias": np.full(wrong, 0.1)}, X4)
    assert f"Linear(3, 4).bias has shape {wrong}, not (n_out,) = (4,)" in str(refused.value)


def test_a_bias_set_through_data_is_refused_and_a_right_one_after_it_is_used() -> None:
    net = _net()
    state = net.state_dict()
    net[0].bias.data = state["0.bias"].reshape(-1, 1)
    with pytest.raises(ShapeError, match=r"^linear: bias of shape \(4, 1\)") as refused:
        net(X4)
    assert "Linear(3, 4).bias has shape (4, 1)" in str(refused.value)
    assert "set through .data" in str(refused.value)
    net[0].bias.data = state["0.bias"] * 2  # a new array of the right shape: checked, used
    np.testing.assert_allclose(
        net(X4).numpy(), _forward({**state, "0.bias": state["0.bias"] * 2}, X4), rtol=1e-12
    )
    net[0].bias.data = np.zeros(1)  # and a wrong one after a right one is checked again
    with pytest.raises(ShapeError, match=r"Linear\(3, 4\)\.bias has shape \(1,\)"):
        net(X4)


def test_a_transposed_weight_says_what_cr_linear_says_and_names_the_parameter() -> None:
    net = _net()
    x5 = np.random.default_rng(1).normal(size=(5, 3))
    weight = net.state_dict()["0.weight"]
    with pytest.raises(ShapeError) as cr_linear:
        cr.linear(cr.tensor(x5), weight.T)
    assert str(cr_linear.value) == "linear: shapes (5, 3) and (4, 3) do not align (3 != 4)"
    with pytest.raises(ShapeError) as refused:
        nn.functional_call(net, {"0.weight": weight.T}, x5)
    message = str(refused.value)
    assert message.startswith("linear: shapes (5, 3) and (4, 3) do not align (3 != 4): ")
    assert "gufunc" not in message
    assert "Linear(3, 4).weight has shape (4, 3), not (n_in, n_out) = (3, 4)" in message
    assert "transpose it" in message and "'0.weight' was given shape (4, 3)" in message


def test_a_weight_that_fits_the_input_but_not_the_layer_is_refused() -> None:
    """(3, 5) on a Linear(3, 4) without a bias gave 5 outputs where the layer has 4 units;
    cr.linear itself takes it (it knows no layer), so the layer says what it expected."""
    layer = nn.Linear(3, 4, bias=False, dtype="float64", rng=0)
    wide = np.ones((3, 5))
    with pytest.raises(ShapeError) as refused:
        nn.functional_call(layer, {"weight": wide}, X4)
    message = str(refused.value)
    assert message.startswith("Linear(3, 4).weight has shape (3, 5), not (n_in, n_out) = (3, 4)")
    assert "'weight' was given shape (3, 5)" in message
    layer.weight.data = wide
    with pytest.raises(ShapeError, match=r"^Linear\(3, 4\)\.weight has shape \(3, 5\)"):
        layer(X4)


def test_a_layer_set_through_setattr_then_data_is_checked_again() -> None:
    """Setting a part through the layer forgets the arrays checked last (it does not keep the
    replaced one alive), and the new part's array is checked at its first forward."""
    layer = nn.Linear(3, 4, dtype="float64", rng=0)
    layer(X4)
    replaced = weakref.ref(layer.bias.data)
    layer.bias = nn.Parameter(np.zeros(4))
    gc.collect()
    assert replaced() is None  # nothing keeps the replaced bias alive
    np.testing.assert_allclose(layer(X4).numpy(), X4 @ layer.weight.numpy(), rtol=1e-12)
    layer.bias.data = np.zeros((4, 1))
    with pytest.raises(ShapeError, match=r"Linear\(3, 4\)\.bias has shape \(4, 1\)"):
        layer(X4)


def test_training_steps_in_place_still_compute_the_closed_form_gradient() -> None:
    """An optimizer writes the same arrays in place (not checked again): the gradient after a
    step is still the hand-made one, and a wrong bias set between steps is refused."""
    layer = nn.Linear(3, 4, dtype="float64", rng=0)
    optimizer = cr.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        (layer(X4) ** 2).sum().backward()
        z = X4 @ layer.weight.numpy() + layer.bias.numpy()
        np.testing.assert_allclose(layer.weight.grad.numpy(), X4.T @ (2 * z), rtol=1e-12)
        np.testing.assert_allclose(layer.bias.grad.numpy(), (2 * z).sum(axis=0), rtol=1e-12)
        optimizer.step()
    layer.bias.data = layer.bias.data[None, :]
    with pytest.raises(ShapeError, match=r"Linear\(3, 4\)\.bias has shape \(1, 4\)"):
        layer(X4)
