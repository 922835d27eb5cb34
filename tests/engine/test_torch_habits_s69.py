"""PyTorch's tensor methods that RL and training code reaches for: each either works as PyTorch's
(``clone``, ``clip(min=, max=)``) or names chainrule's way (an ``_Absent`` hint), and every way a
hint names is run here against torch, so no hint names a call that fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(69)
X = RNG.normal(size=(4, 3))
W = RNG.normal(size=(4, 3))


def _hint(name: str) -> str:
    t = cr.randn(3)
    with pytest.raises(AttributeError) as caught:
        getattr(t, name)
    assert not hasattr(t, name) and name not in dir(t)
    message = str(caught.value)
    assert message.startswith(f"Tensor has no .{name}; ")
    return message


def _both(torch, values=X):
    """The same float64 leaf in chainrule and in torch."""
    return cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def _same_value_and_grad(ours, x, theirs, tx):
    """ours and theirs agree, and so do the gradients of sum(v * out) they send back to x, tx."""
    import torch

    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    v = np.cos(np.arange(max(ours.size, 1))).reshape(ours.shape) + 2.0
    (ours * cr.tensor(v)).sum().backward()
    (theirs * torch.as_tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- clamp and clip(min=, max=) ----------------------------------------------------------------
def test_clamp_names_clip_and_clip_takes_pytorchs_min_and_max(torch):
    message = _hint("clamp")
    assert "x.clip(lo, hi)" in message and "x.clip(min=0)" in message
    for kwargs in ({"min": -0.5, "max": 0.7}, {"min": 0.0}, {"max": 0.2}):
        x, tx = _both(torch)
        _same_value_and_grad(x.clip(**kwargs), x, torch.clamp(tx, **kwargs), tx)
    x, tx = _both(torch)
    _same_value_and_grad(x.clip(-0.5, 0.7), x, tx.clamp(-0.5, 0.7), tx)
    x, tx = _both(torch)
    _same_value_and_grad(cr.clip(x, None, 0.3), x, tx.clamp(max=0.3), tx)


@pytest.mark.parametrize("kwargs", [{"min": 0.0}, {"max": 0.2}, {"min": -0.5, "max": 0.7}])
def test_the_function_clip_takes_min_and_max_as_the_method_does(kwargs, torch):
    """``cr.clip(x, min=0)`` was a TypeError where ``x.clip(min=0)`` worked."""
    x, tx = _both(torch)
    _same_value_and_grad(cr.clip(x, **kwargs), x, torch.clamp(tx, **kwargs), tx)
    np.testing.assert_array_equal(cr.clip(x, **kwargs).numpy(), x.clip(**kwargs).numpy())


def test_the_function_clip_takes_one_bound_once_too():
    x = cr.tensor(X)
    with pytest.raises(TypeError, match=r"clip: low and min= are two names of one bound"):
        cr.clip(x, 0.0, min=0.1)
    np.testing.assert_array_equal(cr.clip(x, -0.1, max=0.1).numpy(), np.clip(X, -0.1, 0.1))
    with pytest.raises(ValueError, match=r"clip: give low, high, or both"):
        cr.clip(x)


def test_clip_takes_one_bound_once():
    x = cr.tensor(X)
    with pytest.raises(TypeError, match=r"clip: low and min= are two names of one bound"):
        x.clip(0.0, min=0.1)
    with pytest.raises(TypeError, match=r"clip: high and max= are two names of one bound"):
        x.clip(None, 1.0, max=2.0)
    # a bound by either name beside the other's
    np.testing.assert_array_equal(x.clip(-0.1, max=0.1).numpy(), np.clip(X, -0.1, 0.1))
    np.testing.assert_array_equal(x.clip(min=-0.1, high=0.1).numpy(), np.clip(X, -0.1, 0.1))


# -- std ---------------------------------------------------------------------------------------
def test_std_hint_names_var_with_ddof_and_it_is_pytorchs_std(torch):
    message = _hint("std")
    assert "cr.sqrt(x.var(axis, ddof=1))" in message and "ddof=0" in message
    for axis in (None, 0, 1):
        x, tx = _both(torch)
        theirs = tx.std() if axis is None else tx.std(axis)
        _same_value_and_grad(cr.sqrt(x.var(axis, ddof=1)), x, theirs, tx)
    # var's default divides by n, as the hint says (torch's correction=0)
    x, tx = _both(torch)
    _same_value_and_grad(x.var(0), x, tx.var(0, correction=0), tx)


# -- gather --------------------------------------------------------------------------------------
def test_gather_hint_indexes_one_entry_per_row_as_gather(torch):
    message = _hint("gather")
    assert "q[np.arange(len(a)), a]" in message
    a = np.array([2, 0, 1, 2])
    q, tq = _both(torch)
    theirs = tq.gather(1, torch.as_tensor(a)[:, None]).squeeze(1)
    _same_value_and_grad(q[np.arange(len(a)), a], q, theirs, tq)


# -- pow, square, masked_fill ----------------------------------------------------------------------
def test_pow_and_square_hints_name_the_power_operator(torch):
    assert "x ** p" in _hint("pow") and "cr.power(x, p)" in _hint("pow")
    assert "x ** 2" in _hint("square") and "x * x" in _hint("square")
    x, tx = _both(torch)
    _same_value_and_grad(x**3, x, tx.pow(3), tx)
    x, tx = _both(torch)
    _same_value_and_grad(cr.power(x, 3), x, tx.pow(3), tx)
    x, tx = _both(torch)
    _same_value_and_grad(x**2, x, tx.square(), tx)
    x, tx = _both(torch)
    _same_value_and_grad(x * x, x, tx.square(), tx)


def test_masked_fill_hint_is_where(torch):
    assert "cr.where(mask, value, x)" in _hint("masked_fill")
    mask = X > 0.3
    x, tx = _both(torch)
    theirs = tx.masked_fill(torch.as_tensor(mask), -1e9)
    _same_value_and_grad(cr.where(mask, -1e9, x), x, theirs, tx)


# -- in place: add_, mul_, copy_, exp_, zero_, detach_ -------------------------------------------
def test_add_and_mul_hints_change_a_parameter_in_place_as_torch(torch):
    assert "with cr.no_grad(): p += a" in _hint("add_") and "p -= lr * g" in _hint("add_")
    assert "with cr.no_grad(): p *= a" in _hint("mul_")
    p = cr.nn.Parameter(X.copy())
    tp = torch.nn.Parameter(torch.tensor(X))
    array, g, lr = p.data, W, 0.1
    with cr.no_grad():
        p *= 0.9
        p += 0.5
        p -= lr * cr.tensor(g)
    with torch.no_grad():
        tp.mul_(0.9).add_(0.5).add_(torch.tensor(g), alpha=-lr)
    assert p.data is array  # in place: the array the module and the optimizer hold
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-15)
    # any other tensor is rebound, as the hints say
    x = cr.tensor(X)
    assert "x = x + a" in _hint("add_") and "x = x * a" in _hint("mul_")
    y = x
    x = x + 1.0
    np.testing.assert_array_equal(y.numpy(), X)


def test_copy_hint_copies_the_values_as_copy_(torch):
    message = _hint("copy_")
    assert "p.data = q.detach().clone()" in message
    assert "target.load_state_dict(online.state_dict())" in message
    p, q = cr.nn.Parameter(np.zeros((4, 3))), cr.nn.Parameter(X.copy())
    tp, tq = (
        torch.nn.Parameter(torch.zeros(4, 3, dtype=torch.float64)),
        torch.nn.Parameter(torch.tensor(X)),
    )
    p.data = q.detach().clone()  # with recording on, q requiring a gradient
    with torch.no_grad():
        tp.copy_(tq)
    with cr.no_grad():  # q's step changes q only, as torch's copy_ made a copy
        q *= 2.0
    with torch.no_grad():
        tq.mul_(2.0)
    np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
    np.testing.assert_array_equal(q.numpy(), tq.detach().numpy())
    online, target = cr.nn.mlp([3, 4, 2], rng=0), cr.nn.mlp([3, 4, 2], rng=1)
    target.load_state_dict(online.state_dict())
    for (name, a), (_, b) in zip(online.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
        assert not np.shares_memory(a.data, b.data)


def test_exp_hint(torch):
    message = _hint("exp_")
    assert "x = x.exp()" in message and "with cr.no_grad(): p.data = p.exp()" in message
    p = cr.nn.Parameter(X.copy())
    tp = torch.nn.Parameter(torch.tensor(X))
    with cr.no_grad():
        p.data = p.exp()
    with torch.no_grad():
        tp.exp_()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-15)
    assert p.requires_grad


def test_zero_hint_says_parameters_change_in_place_and_its_ways_work(torch):
    message = _hint("zero_")
    assert "not changed in place; clear" not in message  # the old, untrue opening
    assert "zero_grad" in message and "p.data = cr.zeros_like(p)" in message
    assert "changed in place under cr.no_grad() too: p *= 0.9" in message
    p = cr.nn.Parameter(np.array([np.nan, -1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([np.nan, -1.0, 2.0]))
    held = p
    p.data = cr.zeros_like(p)
    with torch.no_grad():
        tp.zero_()
    assert p is held and p.requires_grad
    np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())
    q = cr.nn.Parameter(X.copy())
    array = q.data
    with cr.no_grad():
        q *= 0.9  # the hint's claim: in place
    assert q.data is array
    np.testing.assert_allclose(array, X * 0.9)


def test_detach_hint(torch):
    assert "x = x.detach()" in _hint("detach_")
    x = cr.tensor(X, requires_grad=True) * 2.0
    x = x.detach()
    assert not x.requires_grad and x.is_leaf
    np.testing.assert_array_equal(x.numpy(), X * 2.0)


def test_new_zeros_hint_keeps_dtype_library_and_device(torch):
    message = _hint("new_zeros")
    assert "cr.zeros(shape, dtype=x.dtype, xp=x.xp, device=x.device)" in message
    assert "cr.zeros_like(x)" in message
    for x in (cr.tensor(X.astype(np.float32)), cr.tensor(torch.tensor(X, dtype=torch.float32))):
        shape = (2, 5)
        z = cr.zeros(shape, dtype=x.dtype, xp=x.xp, device=x.device)
        theirs = torch.tensor(X, dtype=torch.float32).new_zeros(shape)
        assert z.shape == tuple(theirs.shape) and z.dtype == x.dtype
        assert type(z.data) is type(x.data)
        np.testing.assert_array_equal(z.numpy(), theirs.numpy())
        assert cr.zeros_like(x).shape == x.shape and cr.zeros_like(x).dtype == x.dtype


# -- clone ---------------------------------------------------------------------------------------
def test_clone_is_a_recorded_copy_as_torchs(torch):
    x, tx = _both(torch)
    y, ty = x.clone(), tx.clone()
    assert y.requires_grad and not y.is_leaf and not np.shares_memory(y.data, x.data)
    (y * y * cr.tensor(W)).sum().backward()
    (ty * ty * torch.tensor(W)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), 2 * X * W, rtol=1e-15)  # closed form


def test_clone_survives_an_in_place_step_of_its_source(torch):
    p, tp = cr.nn.Parameter(X.copy()), torch.nn.Parameter(torch.tensor(X))
    old, told = p.detach().clone(), tp.detach().clone()
    opt, topt = cr.optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    (p * p).sum().backward()
    (tp * tp).sum().backward()
    opt.step()
    topt.step()
    np.testing.assert_array_equal(old.numpy(), told.numpy())
    np.testing.assert_array_equal(old.numpy(), X)
    assert not old.requires_grad


@pytest.mark.parametrize(
    "values",
    [
        np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45], np.float32),
        np.array([-0.0, 3.5]),
        np.array([1, -7], np.int32),
        np.array([True, False]),
        np.array(-0.0),
    ],
    ids=["float32", "float64", "int32", "bool", "0-d"],
)
def test_clone_keeps_dtype_and_bits(values):
    x = cr.tensor(values)
    y = x.clone()
    assert y.dtype == x.dtype and y.shape == x.shape
    assert y.numpy().tobytes() == values.tobytes()
    assert not np.shares_memory(y.data, x.data)


def test_clone_makes_a_new_array_on_torch_arrays(torch):
    for dtype in (torch.float32, torch.int64, torch.bool):
        x = cr.tensor(torch.tensor([1, 0, 1]).to(dtype))
        y = x.clone()
        assert y.data.dtype == dtype and y.data.data_ptr() != x.data.data_ptr()
        assert torch.equal(y.data, x.data)


# -- requires_grad_ takes a bool ---------------------------------------------------------------
@pytest.mark.parametrize("flag", ["no", None, "float32"])
def test_tensor_requires_grad_takes_only_a_bool(flag, torch):
    t = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"requires_grad_: requires_grad must be True or False"):
        t.requires_grad_(flag)
    assert t.requires_grad is False
    with pytest.raises(TypeError):  # torch refuses it too
        torch.tensor([1.0, 2.0]).requires_grad_(flag)
    assert t.requires_grad_(np.True_).requires_grad is True
