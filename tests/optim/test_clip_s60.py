"""grad_norm, clip_grad_norm_ and clip_grad_value_: the library's one gradient norm, and PyTorch's
clipping contract (the total norm before clipping returned, every gradient scaled by
max_norm / (total + 1e-6) where that is below 1).

Oracles: closed forms (a float64 norm of gradients small enough to square), PyTorch's own
``torch.nn.utils`` on the same gradients (float32 and float64, several norm types)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, TrainingDiverged
from chainrule.optim import clip_grad_norm_, clip_grad_value_, grad_norm

NORM_TYPES = [0.5, 1.0, 2.0, 3.0, math.inf]


def _params(grads, dtype=np.float64):
    """Parameters shaped like ``grads`` whose .grad holds them (None: no gradient)."""
    out = []
    for g in grads:
        shape = (1,) if g is None else np.shape(g)
        p = cr.Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)
        p.grad = None if g is None else cr.Tensor(np.array(g, dtype=dtype))
        out.append(p)
    return out


def _closed_form(grads, p):
    flat = np.concatenate([np.ravel(np.asarray(g, dtype=np.float64)) for g in grads])
    largest = float(np.max(np.abs(flat)))
    if p == math.inf or largest == 0.0:
        return largest
    # scaled by the largest, as a norm is computed: |x|**p of a subnormal x underflows to 0
    # (hypothesis found 1e-222, whose norm grad_norm gives right)
    return largest * float(np.sum((np.abs(flat) / largest) ** p) ** (1.0 / p))


# -- grad_norm ----------------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    grads=st.lists(st.lists(finite, min_size=1, max_size=6), min_size=1, max_size=4),
    p=st.sampled_from(NORM_TYPES),
)
def test_grad_norm_is_the_norm_of_every_gradient_as_one_vector(grads, p):
    expected = _closed_form(grads, p)
    got = grad_norm(_params(grads), norm_type=p)
    assert type(got) is float
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_parameters_without_a_gradient_are_skipped_and_none_left_is_zero():
    params = _params([[3.0], None, [4.0]])
    assert grad_norm(params) == pytest.approx(5.0, rel=1e-15)
    assert grad_norm(_params([None, None])) == 0.0
    assert grad_norm([]) == 0.0
    net = nn.mlp([2, 3, 1], rng=0)  # a module, before any backward: no gradients
    assert grad_norm(net) == 0.0


@pytest.mark.parametrize("dtype, size", [(np.float64, 1e200), (np.float64, 1e160),
                                         (np.float32, 1e30)])  # fmt: skip
def test_finite_huge_gradients_have_a_finite_norm(dtype, size):
    """The squares overflow (1e160^2 > 1.8e308; float32 from 1.8e19): the scaled sum does not."""
    params = _params([np.full((2, 2), 3.0), np.full(2, 4.0)], dtype)
    for q in params:
        q.grad.data *= dtype(size)
    expected = math.sqrt(4 * 9 + 2 * 16) * size
    assert grad_norm(params) == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-14)
    assert grad_norm(params, norm_type=1) == pytest.approx(20 * size, rel=1e-6)
    assert grad_norm(params, norm_type="inf") == pytest.approx(4 * size, rel=1e-6)


def test_tiny_gradients_keep_their_digits():
    """1e-170 squared is 0 in float64: the unscaled norm was 0."""
    params = _params([[3e-170, 4e-170]])
    assert grad_norm(params) == pytest.approx(5e-170, rel=1e-14)


def test_a_nan_gives_nan_and_an_infinity_inf():
    assert math.isnan(grad_norm(_params([[1.0, np.nan], [np.inf]])))
    assert math.isnan(grad_norm(_params([[1.0], [np.inf, np.nan]]), norm_type=math.inf))
    assert grad_norm(_params([[1.0, 2.0], [np.inf]])) == math.inf
    assert grad_norm(_params([[-np.inf]]), norm_type=1) == math.inf


# -- clip_grad_norm_ ------------------------------------------------------------------------------


def test_clipping_scales_by_max_norm_over_the_norm_and_returns_the_norm_before():
    params = _params([[3.0, 0.0], [4.0]])  # total 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3.0 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(params[1].grad.numpy(), [4.0 * scale], rtol=1e-15)
    assert grad_norm(params) == pytest.approx(5.0 * scale, rel=1e-14)


def test_gradients_within_the_limit_are_left_as_they_are():
    params = _params([[3.0, 0.0], [4.0]])
    held = [q.grad.data for q in params]
    # at the limit itself PyTorch still scales: 5 / (5 + 1e-6) < 1
    assert clip_grad_norm_(params, max_norm=5.0) == pytest.approx(5.0)
    np.testing.assert_allclose(held[0], [3.0 * 5 / (5 + 1e-6), 0.0], rtol=1e-15)
    params = _params([[3.0, 0.0], [4.0]])
    clip_grad_norm_(params, max_norm=6.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [3.0, 0.0])
    clip_grad_norm_(params, max_norm=math.inf)
    np.testing.assert_array_equal(params[1].grad.numpy(), [4.0])


def test_clipping_is_in_place_and_keeps_the_dtype():
    params = _params([np.ones((3, 2)), np.ones(2)], np.float32)
    arrays = [q.grad.data for q in params]
    clip_grad_norm_(params, max_norm=0.5)
    assert all(q.grad.data is a and a.dtype == np.float32 for q, a in zip(params, arrays))
    assert grad_norm(params) == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.3, 100.0])
def test_clip_grad_norm_agrees_with_pytorch(torch, dtype, norm_type, max_norm):
    rng = np.random.default_rng(7)
    grads = [rng.normal(size=(4, 3)) * 2, rng.normal(size=3), rng.normal(size=(3, 2)) * 0.1]
    params = _params(grads, np.dtype(dtype))
    theirs = []
    for g in grads:
        t = torch.zeros(np.shape(g), dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(np.array(g, dtype=dtype))
        theirs.append(t)
    ours_total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert ours_total == pytest.approx(float(their_total), rel=rtol)
    for q, t in zip(params, theirs):
        assert q.grad.data.dtype == np.dtype(dtype)
        np.testing.assert_allclose(q.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=0)


def test_clip_grad_value_agrees_with_pytorch(torch):
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(5, 2)), np.array([np.nan, -3.0, 0.2])]
    params = _params(grads)
    theirs = []
    for g in grads:
        t = torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g)
        theirs.append(t)
    assert clip_grad_value_(params, 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for q, t in zip(params, theirs):
        np.testing.assert_array_equal(q.grad.numpy(), t.grad.numpy())
    assert np.abs(params[0].grad.numpy()).max() == 0.5


def test_an_infinite_norm_zeroes_the_finite_gradients_as_pytorch_does(torch):
    params = _params([[1.0, 2.0], [np.inf]])
    theirs = [torch.zeros(2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    theirs[0].grad = torch.tensor([1.0, 2.0], dtype=torch.float64)
    theirs[1].grad = torch.tensor([np.inf], dtype=torch.float64)
    assert clip_grad_norm_(params, 1.0) == math.inf
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for q, t in zip(params, theirs):
        np.testing.assert_array_equal(q.grad.numpy(), t.grad.numpy())  # 0, 0 and nan


def test_a_nan_norm_leaves_the_gradients_and_error_if_nonfinite_refuses():
    params = _params([[1.0, 2.0], [np.nan]])
    assert math.isnan(clip_grad_norm_(params, 1.0))
    np.testing.assert_array_equal(params[0].grad.numpy(), [1.0, 2.0])
    params = _params([[100.0], [np.inf]])
    with pytest.raises(TrainingDiverged, match=r"total 2-norm of the gradients is inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[0].grad.numpy(), [100.0])  # nothing changed


def test_a_gradient_shared_by_two_parameters_is_scaled_once():
    a, b = _params([[3.0], [4.0]])
    b.grad = a.grad  # by hand: one array, two parameters
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(math.sqrt(18.0))
    assert a.grad.numpy()[0] == pytest.approx(3.0 / (math.sqrt(18.0) + 1e-6), rel=1e-14)


def test_a_read_only_gradient_is_replaced_not_written():
    (a,) = _params([[0.0, 0.0]])
    a.grad = cr.Tensor(np.broadcast_to(np.array(6.0), (2,)))  # read-only, by hand
    clip_grad_norm_([a], max_norm=1.0)
    np.testing.assert_allclose(a.grad.numpy(), [1 / math.sqrt(2)] * 2, rtol=1e-5)
    clip_grad_value_([a], 0.1)
    np.testing.assert_allclose(a.grad.numpy(), [0.1, 0.1])


def test_a_training_loop_with_clipping_takes_the_clipped_step():
    net = nn.mlp([2, 3, 1], output="logistic", rng=0, dtype=np.float64)
    opt = optim.SGD(net.parameters(), lr=1.0)
    before = [q.numpy().copy() for q in net.parameters()]
    E = nn.SquaredError()(net([[0.0, 1.0], [1.0, 1.0]]), [[1.0], [0.0]])
    E.backward()
    total = clip_grad_norm_(net.parameters(), max_norm=1e-3)
    assert total > 1e-3  # it did clip
    opt.step()
    moved = [q.numpy() - w for q, w in zip(net.parameters(), before)]
    step = math.sqrt(sum(float(np.sum(m**2)) for m in moved))
    assert step == pytest.approx(1e-3 * total / (total + 1e-6), rel=1e-9)


# -- other array libraries ------------------------------------------------------------------------


def test_gradients_of_another_library_are_normed_and_clipped_there(torch):
    w = cr.Tensor(torch.zeros(3, dtype=torch.float64), requires_grad=True)
    (w * torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64)).sum().backward()
    held = w.grad.data
    assert grad_norm([w]) == pytest.approx(3.0)
    assert clip_grad_norm_([w], 1.5) == pytest.approx(3.0)
    assert w.grad.data is held and isinstance(held, torch.Tensor)  # in place, in torch
    np.testing.assert_allclose(held.numpy(), np.array([1.0, 2.0, 2.0]) * 1.5 / (3 + 1e-6))


def test_gradients_of_an_array_api_library_are_clipped():
    xp = pytest.importorskip("array_api_strict")
    w = cr.Tensor(xp.asarray([0.0, 0.0]), requires_grad=True)
    (w * xp.asarray([3e200, 4e200])).sum().backward()
    assert grad_norm([w]) == pytest.approx(5e200, rel=1e-14)
    clip_grad_norm_([w], 1.0)
    assert grad_norm([w]) == pytest.approx(1.0, rel=1e-6)
    clip_grad_value_([w], 0.5)
    np.testing.assert_allclose(np.asarray(w.grad.data), [0.5, 0.5])


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1.0, math.nan, "1", None, True])
def test_a_bad_max_norm_is_refused_naming_it(value):
    with pytest.raises(ConfigError, match=r"clip_grad_norm_: max_norm must be a number >= 0, not"):
        clip_grad_norm_(_params([[1.0]]), value)


@pytest.mark.parametrize("value", [0, -2.0, math.nan, -math.inf, "two", None])
def test_a_bad_norm_type_is_refused_naming_it(value):
    with pytest.raises(ConfigError, match=r"grad_norm: norm_type must be a number > 0 or inf"):
        grad_norm(_params([[1.0]]), norm_type=value)
    with pytest.raises(ConfigError, match=r"clip_grad_norm_: norm_type must be"):
        clip_grad_norm_(_params([[1.0]]), 1.0, norm_type=value)


@pytest.mark.parametrize("value", [-0.1, math.nan])
def test_a_bad_clip_value_is_refused_naming_it(value):
    with pytest.raises(ConfigError, match=r"clip_grad_value_: clip_value must be a number >= 0"):
        clip_grad_value_(_params([[1.0]]), value)


def test_error_if_nonfinite_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"error_if_nonfinite must be True or False, not 'no'"):
        clip_grad_norm_(_params([[1.0]]), 1.0, error_if_nonfinite="no")


def test_what_is_not_a_parameter_is_refused_naming_its_position():
    (w,) = _params([[1.0]])
    with pytest.raises(ConfigError, match=r"grad_norm: params\[1\] is numpy.ndarray, not a param"):
        grad_norm([w, np.ones(2)])
    net = nn.mlp([2, 1], rng=0)
    with pytest.raises(ConfigError, match=r"params\[0\] is a \(name, parameter\) pair"):
        clip_grad_norm_(net.named_parameters(), 1.0)
    with pytest.raises(ConfigError, match=r"params is a mapping of names to parameters"):
        clip_grad_norm_(dict(net.named_parameters()), 1.0)
    with pytest.raises(ConfigError, match=r"params is the function .*parameters, not what it"):
        clip_grad_value_(net.parameters, 1.0)
    with pytest.raises(ConfigError, match=r"params must be a parameter, an iterable"):
        grad_norm(3.0)
    w.grad = [1.0, 2.0]  # by hand, not an array
    with pytest.raises(TypeError, match=r"params\[0\]'s .grad is a list, not an array"):
        grad_norm([w])


def test_a_single_parameter_and_a_generator_are_taken():
    (w,) = _params([[3.0, 4.0]])
    assert grad_norm(w) == pytest.approx(5.0)
    assert clip_grad_norm_((q for q in [w]), 1.0) == pytest.approx(5.0)
    assert grad_norm(w) == pytest.approx(5.0 / (5.0 + 1e-6))


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_float16_gradients_are_summed_wide_enough(library, request) -> None:
    """100,000 float16 gradients of 1: the scaled squares summed in float16 pass its largest
    value, 65504, and the norm was inf (clip_grad_norm_ then zeroed every gradient); the
    closed form is sqrt(100000) = 316.23 (torch's float16 total: 316.25)."""
    if library == "torch":
        torch = request.getfixturevalue("torch")
        ones, zeros = (
            torch.ones(100_000, dtype=torch.float16),
            torch.zeros(100_000, dtype=torch.float16),
        )
    else:
        ones, zeros = np.ones(100_000, np.float16), np.zeros(100_000, np.float16)
    w = cr.tensor(zeros, requires_grad=True)
    w.grad = cr.tensor(ones)
    assert cr.optim.grad_norm([w]) == pytest.approx(np.sqrt(100_000), rel=1e-6)
    before = cr.optim.clip_grad_norm_([w], max_norm=31.622776601683796)
    assert before == pytest.approx(np.sqrt(100_000), rel=1e-6)
    np.testing.assert_allclose(
        np.asarray(cr.backend.to_numpy(w.grad.data), np.float64), 0.1, rtol=1e-3
    )
