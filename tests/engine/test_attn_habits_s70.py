"""What a user building attention by hand reaches for: ``.T`` past 2 axes warned of (it reverses
every axis, NumPy's rule, where ported code means the last two) and ``.mT``; ``x.size(-1)``
beside ``x.size == 12``; ``cr.sin`` and ``cr.cos``; gradcheck's note where f itself is NaN."""

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError

RNG = np.random.default_rng(0)


# -- .T and .mT --------------------------------------------------------------------------------


def test_T_of_a_batch_reverses_every_axis_and_warns_naming_mT_swapaxes_and_transpose():
    """NumPy's .T (the contract arrays and tensors share), with PyTorch 2's warning."""
    values = RNG.normal(size=(2, 3, 4))
    with pytest.warns(UserWarning) as caught:
        out = cr.tensor(values).T
    np.testing.assert_array_equal(out.numpy(), values.T)
    [warning] = caught
    message = str(warning.message)
    assert warning.filename == __file__  # the user's line, not chainrule's
    assert "3-d" in message and "(2, 3, 4)" in message and "reverses every axis" in message
    assert "x.mT" in message and "swapaxes(-1, -2)" in message and "x.transpose()" in message


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_T_up_to_two_axes_is_as_numpy(shape):
    values = RNG.normal(size=shape)
    np.testing.assert_array_equal(cr.tensor(values).T.numpy(), values.T)


def test_mT_swaps_the_last_two_axes_as_torch():
    torch = pytest.importorskip("torch")
    values = RNG.normal(size=(2, 3, 4))
    out = cr.tensor(values).mT
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out.numpy(), torch.tensor(values).mT.numpy())


def test_attention_scores_with_mT_are_each_batch_product():
    q, k = RNG.normal(size=(4, 4, 4)), RNG.normal(size=(4, 4, 4))
    scores = cr.tensor(q) @ cr.tensor(k).mT
    np.testing.assert_allclose(scores.numpy(), q @ np.swapaxes(k, -1, -2))


def test_mT_is_differentiable_to_second_order():
    weights = RNG.normal(size=(2, 4, 3))
    report = cr.gradcheck(lambda x: (x.mT * weights * x.mT).sum(), [RNG.normal(size=(2, 3, 4))],
                          order=2)  # fmt: skip
    assert report.ok, report


def test_mT_of_a_vector_is_refused():
    with pytest.raises(ShapeError, match=r"\.mT of a 1-d tensor"):
        cr.tensor([1.0, 2.0]).mT  # noqa: B018


# -- size ------------------------------------------------------------------------------------


def test_size_is_the_count_as_an_int():
    t = cr.tensor(np.ones((3, 4), np.float32))
    assert t.size == 12 and isinstance(t.size, int)
    assert t.size + 1 == 13 and type(t.size + 1) is int
    assert json.dumps({"n": t.size}) == '{"n": 12}'
    assert f"{t.size:>4}|{t.size}|{t.size!r}" == "  12|12|12"
    assert type(pickle.loads(pickle.dumps(t.size))) is int
    assert type(copy.copy(t.size)) is int
    assert np.zeros(t.size).shape == (12,)
    assert list(range(t.size)) == list(range(12))


def test_size_keeps_numpy_dtypes_as_a_plain_int_does():
    t = cr.tensor(np.ones((3, 4), np.float32))
    assert (t.data / t.size).dtype == np.float32  # an int64 array would make float64
    assert (np.float32(1.0) * t.size).dtype == np.float32
    assert (t / t.size).dtype == np.float32


def test_size_called_as_torch_gives_the_shape_and_an_axis():
    torch = pytest.importorskip("torch")
    values = RNG.normal(size=(2, 3, 5))
    t, tt = cr.tensor(values), torch.tensor(values)
    assert t.size() == tuple(tt.size()) == (2, 3, 5)
    for axis in (0, 1, 2, -1, -3):
        assert t.size(axis) == tt.size(axis)
    assert t.size(axis=-1) == 5


def test_size_of_an_axis_out_of_range_or_by_torch_keyword_is_named():
    t = cr.tensor(np.ones((3, 4)))
    with pytest.raises(IndexError, match=r"size: axis 2 is out of range for a 2-d tensor"):
        t.size(2)
    with pytest.raises(TypeError, match=r"size: dim= is PyTorch's name.*axis="):
        t.size(dim=1)


# -- sin and cos -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_match_torch_in_values_and_gradients(name):
    torch = pytest.importorskip("torch")
    values = RNG.normal(size=(3, 4))
    x = cr.tensor(values, requires_grad=True)
    out = getattr(cr, name)(x)
    (out * out).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    tout = getattr(torch, name)(tx)
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(getattr(cr.tensor(values), name)().numpy(), out.numpy())


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_pass_gradcheck_to_second_order(name):
    op = getattr(cr, name)
    report = cr.gradcheck(lambda x: op(x) * op(2.0 * x), [RNG.normal(size=(2, 3))], order=2)
    assert report.ok, report


def test_sin_cos_hessian_is_the_closed_form():
    x = RNG.normal(size=3)
    hessian = cr.hessian(lambda v: (cr.sin(v) + cr.cos(v)).sum())(x)
    np.testing.assert_allclose(np.asarray(hessian), np.diag(-np.sin(x) - np.cos(x)), atol=1e-12)


def test_sin_of_integers_is_floating():
    assert cr.sin(cr.tensor([0, 1])).dtype.kind == "f"


# -- gradcheck where f is NaN ----------------------------------------------------------------


def test_gradcheck_notes_f_is_not_finite_at_a_fully_masked_row():
    every = np.ones((4, 4), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "invalid value" in softmax
        report = cr.gradcheck(
            lambda s: cr.softmax(cr.where(every, -np.inf, s), axis=-1), [RNG.normal(size=(4, 4))]
        )
    assert report.ok is False
    assert "f's output is not finite at these inputs: 16 of 16 entries" in report.note
    assert "out[0, 0] is nan" in report.note


def test_gradcheck_of_a_causal_mask_passes_without_that_note():
    causal = np.triu(np.ones((4, 4), bool), 1)
    report = cr.gradcheck(
        lambda s: cr.softmax(cr.where(causal, -np.inf, s), axis=-1), [RNG.normal(size=(4, 4))]
    )
    assert report.ok and "not finite" not in report.note
