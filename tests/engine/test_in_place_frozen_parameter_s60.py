"""``p *= d`` on a frozen ``nn.Parameter`` changes it in place, as PyTorch does.

It rebound the name to a new tensor: ``ema_p *= 0.5`` in a loop over ``ema.parameters()``
changed nothing the model holds (an exponential moving average never moved), and
``lin.weight *= 0.5`` put a plain tensor in the layer while the optimizer kept the old
parameter, so unfreezing the layer later trained nothing. Oracle: torch 2.13, the same code.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr


def _pair(torch):
    """A chainrule Linear and a torch Linear with the same weights (torch's is transposed)."""
    lin = cr.nn.Linear(3, 2, rng=0, dtype=np.float64)
    lin_t = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        lin_t.weight.copy_(torch.from_numpy(lin.weight.numpy().T.copy()))
        lin_t.bias.copy_(torch.from_numpy(lin.bias.numpy().copy()))
    return lin, lin_t


def test_an_exponential_moving_average_of_the_weights_moves_as_torch_s(torch) -> None:
    model, model_t = _pair(torch)
    ema, ema_t = copy.deepcopy(model), copy.deepcopy(model_t)
    for p in ema.parameters():
        p.requires_grad_(False)
    for p in ema_t.parameters():
        p.requires_grad_(False)
    held = list(ema.parameters())
    with cr.no_grad():
        model.weight += 1.0  # the model moves on
        for ema_p, p in zip(ema.parameters(), model.parameters()):
            ema_p *= 0.5
            ema_p += 0.5 * p
    with torch.no_grad():
        model_t.weight += 1.0
        for ema_p, p in zip(ema_t.parameters(), model_t.parameters()):
            ema_p *= 0.5
            ema_p += 0.5 * p
    assert all(a is b for a, b in zip(ema.parameters(), held))  # the objects the module holds
    np.testing.assert_allclose(ema.weight.numpy(), ema_t.weight.detach().numpy().T)
    np.testing.assert_allclose(ema.bias.numpy(), ema_t.bias.detach().numpy())
    assert not np.allclose(ema.weight.numpy(), model.weight.numpy() - 1.0)  # it did move


def test_a_frozen_layer_scaled_then_unfrozen_is_trained_by_its_optimizer(torch) -> None:
    lin, lin_t = _pair(torch)
    opt = cr.optim.SGD(lin.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(lin_t.parameters(), lr=0.1)
    weight = lin.weight
    lin.weight.requires_grad_(False)
    lin_t.weight.requires_grad_(False)
    lin.weight *= 0.5  # recording on: a frozen weight takes a plain number in place too
    lin_t.weight *= 0.5
    assert lin.weight is weight and isinstance(lin.weight, cr.nn.Parameter)
    lin.weight.requires_grad_(True)
    lin_t.weight.requires_grad_(True)
    x = np.arange(6.0).reshape(2, 3) / 6
    for _ in range(2):
        opt.zero_grad()
        opt_t.zero_grad()
        (lin(cr.tensor(x)) ** 2).sum().backward()
        (lin_t(torch.from_numpy(x)) ** 2).sum().backward()
        opt.step()
        opt_t.step()
    np.testing.assert_allclose(lin.weight.numpy(), lin_t.weight.detach().numpy().T, rtol=1e-12)


def test_a_graph_that_read_the_frozen_weight_is_refused_after_it_changed(torch) -> None:
    """dE/dx of x @ W reads W: backward after W changed would mix old and new values."""
    lin = cr.nn.Linear(3, 2, rng=0)
    lin.weight.requires_grad_(False)
    x = cr.tensor(np.ones((1, 3)), requires_grad=True)
    loss = lin(x).sum()
    lin.weight *= 2.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    w_t = torch.ones(3, 2, dtype=torch.float64)
    x_t = torch.ones(1, 3, dtype=torch.float64, requires_grad=True)
    loss_t = (x_t @ w_t).sum()
    w_t *= 2.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss_t.backward()


def test_a_value_that_needs_a_gradient_is_refused_while_recording() -> None:
    frozen = cr.nn.Parameter(np.ones(2), requires_grad=False)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="frozen parameter .* requires a gradient.*no_grad"):
        frozen += w
    np.testing.assert_array_equal(frozen.numpy(), [1.0, 1.0])
    with cr.no_grad():
        frozen += w
    np.testing.assert_array_equal(frozen.numpy(), [2.0, 3.0])


def test_a_frozen_integer_parameter_refuses_a_fractional_result(torch) -> None:
    count = cr.nn.Parameter(np.array([3, 4]), requires_grad=False)
    with pytest.raises(TypeError, match=r"\*=: the result is float64 .* int64"):
        count *= 0.5
    np.testing.assert_array_equal(count.numpy(), [3, 4])
    count_t = torch.tensor([3, 4])
    with pytest.raises(RuntimeError, match="can't be cast"):
        count_t *= 0.5


@pytest.mark.parametrize(
    ("values", "update", "words"),
    [
        ([True, False], "p += 1", r"\+=: the result is int64 .* bool"),
        ([1.0, 2.0], "p *= 1j", r"\*=: the result is complex128 .* float64"),
    ],
    ids=["bool-plus-one", "float-times-1j"],
)
def test_a_result_of_a_wider_kind_is_refused_as_torch_refuses_it(values, update, words) -> None:
    """(review) The first guard refused only floats into integers: True + 1 stayed True, and
    1j times a float weight dropped the imaginary part to 0 with NumPy's warning alone."""
    p = cr.nn.Parameter(np.array(values), requires_grad=False)
    with pytest.raises(TypeError, match=words):
        exec(update, {"p": p})
    np.testing.assert_array_equal(p.numpy(), values)


def test_a_plain_tensor_and_a_recorded_output_are_still_rebound() -> None:
    x = cr.tensor([1.0, 2.0])
    alias = x
    x *= 2.0
    np.testing.assert_array_equal(alias.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [2.0, 4.0])
