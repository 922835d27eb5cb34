"""A newcomer's habits that crashed deep in the engine or read silently wrong: a Tensor stored in
a plain tensor's ``.data`` (the micrograd update ``w.data = w.data - lr * w.grad``, whose
``.grad`` is a tensor), a custom primitive's rule calling a public op (``cr.sigmoid``, which
returns a tensor where the array mode wants an array), and ``.grad`` read on a tensor an op
made (None, without a word). Each was an ``AttributeError: 'Tensor' object has no attribute
'base'`` from the engine, or nothing at all."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import primitive


def _swish(x):
    return x / (1.0 + np.exp(-x))


def _registered(name, rule):
    """A primitive of one's own, defined once per process (the registry is global)."""
    return cr.REGISTRY.get(name) or primitive(name, _swish, rule)


def _public_op_rule(g, out, x):  # the first rule a student writes: right values, a Tensor
    s = cr.sigmoid(x)
    return g * (s + x * s * (1 - s))


def _primitive_rule(g, out, x):  # the fix the refusal names: the primitive, by name
    sigmoid = cr.REGISTRY["sigmoid"]
    s = sigmoid(x)
    return g * (s + x * s * (1 - s))


X = np.array([-1.5, 0.3, 2.0])


def _swish_derivative(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s + x * s * (1.0 - s)


# -- a rule that returns a Tensor in the array mode ---------------------------------------------


def test_a_rule_calling_a_public_op_is_refused_by_backward_naming_the_fix():
    op = _registered("swish_public_s64", _public_op_rule)
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(TypeError, match=r"came back as a Tensor.*cr\.REGISTRY\['sigmoid'\]"):
        op(x).sum().backward()


def test_under_detect_anomaly_the_refusal_names_the_rule():
    op = _registered("swish_public_s64", _public_op_rule)
    x = cr.tensor(X, requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(TypeError) as caught:
        op(x).sum().backward()
    assert "the rule of 'swish_public_s64'" in str(caught.value)
    assert "for input 0 returned a Tensor" in str(caught.value)


@pytest.mark.parametrize("call", ["gradcheck", "grad", "gradient"])
def test_gradcheck_and_the_transforms_name_it_too(call):
    op = _registered("swish_public_s64", _public_op_rule)
    with pytest.raises(TypeError, match="returned a Tensor") as caught:
        if call == "gradcheck":
            cr.gradcheck(op, [X.copy()])
        elif call == "grad":
            cr.grad(lambda v: op(v).sum())(X.copy())
        else:
            x = cr.tensor(X, requires_grad=True)
            cr.gradient(op(x).sum(), [x])
    assert "\n" not in str(caught.value)


def test_the_fix_the_refusal_names_gives_the_right_gradient_in_both_modes():
    op = _registered("swish_primitive_s64", _primitive_rule)
    x = cr.tensor(X, requires_grad=True)
    op(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _swish_derivative(X), rtol=1e-12)
    assert cr.gradcheck(op, [X.copy()], order=2)


# -- a Tensor inside a plain tensor's .data ----------------------------------------------------


def _nested() -> cr.Tensor:
    """A plain tensor after the micrograd update: its .data a Tensor (no setter to stop it)."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data = w.data - 0.1 * w.grad
    assert isinstance(w.data, cr.Tensor)
    return w


def test_backward_through_a_tensor_held_in_data_names_the_data_and_the_fix():
    w = _nested()
    with pytest.raises(TypeError, match=r"holds a Tensor in its \.data") as caught:
        (w * w).sum().backward()
    assert "w -= lr * w.grad" in str(caught.value)


def test_an_op_that_numpy_refuses_on_it_names_the_data_not_the_ufunc():
    w = _nested()
    with pytest.raises(TypeError, match=r"sigmoid: input 0 .*holds a Tensor in its \.data"):
        cr.sigmoid(w)


# -- .grad of a tensor an op made ---------------------------------------------------------------


def test_reading_a_non_leafs_grad_warns_naming_what_to_use():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3.0
    (h * h).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf \(the output of 'mul'\).*cr\.gradient"):
        assert h.grad is None
    # what it points to gives dE/dh = 2h
    h = w * 3.0
    (dh,) = cr.gradient((h * h).sum(), [h])
    np.testing.assert_allclose(dh.numpy(), 2 * np.array([3.0, 6.0]))


def test_a_leafs_grad_and_a_tensors_display_read_without_a_warning():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert w.grad is None
        (h * h).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), 18 * np.array([1.0, 2.0]))
        assert cr.tensor([1.0]).grad is None  # a leaf that needs no gradient
        assert ".grad" not in h._repr_html_()  # the notebook shows a non-leaf without one
        layer = cr.nn.Linear(2, 1, rng=0)
        (layer(cr.tensor([[1.0, 2.0]])) ** 2).sum().backward()
        assert layer.weight.grad is not None


def test_grad_is_still_set_and_cleared_and_copied():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    (w * w).sum().backward()  # accumulates
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 8.0])
    import copy

    assert np.array_equal(copy.deepcopy(w).grad.numpy(), w.grad.numpy())
    w.zero_grad()
    assert w.grad is None
    w.grad = cr.tensor([1.0, 1.0])
    assert w.grad.shape == (2,)
