"""The list-argument error ("grad: argument 0 is a list ... taken as scalars") where the op that
takes the list whole runs in the user's helpers, not in the function given to the transform.

The oracle is the message the same transform gives when ``f`` itself makes the call ``x @ W``:
the helpers, and errors they wrap the refusal in, must not change what the user reads. The
refusal used to be recognised only when it was the innermost frame of the error's traceback,
so a helper that wrapped it in an error of its own lost the explanation.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X = [0.3, -0.2, 0.5]
W = cr.tensor(np.arange(6.0).reshape(3, 2) / 7)


def _message(transform, f, *args):
    with pytest.raises(TypeError) as caught:
        if transform == "vjp":
            cr.vjp(f, *args)
        else:
            getattr(cr, transform)(f)(*args)
    return str(caught.value), caught.value


def _direct(x, w):
    return cr.sum(x @ w)


def _project(x, w):  # two levels below the user's function: its helper's helper
    return x @ w


def _layer(x, w):
    return cr.sum(_project(x, w))


def _project_wrapping(x, w):
    try:
        return x @ w
    except TypeError as error:  # a helper that adds its own context, as libraries do
        raise TypeError(f"project: could not multiply ({error})") from error


def _project_wrapping_implicitly(x, w):
    try:
        return x @ w
    except TypeError:  # raised while handling the refusal: Python prints both
        raise TypeError("project: could not multiply")  # noqa: B904


def _layer_wrapping(x, w):
    return cr.sum(_project_wrapping(x, w))


def _layer_wrapping_implicitly(x, w):
    return cr.sum(_project_wrapping_implicitly(x, w))


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacobian", "hessian", "vjp"])
@pytest.mark.parametrize("helper", [_layer, _layer_wrapping, _layer_wrapping_implicitly])
def test_the_message_through_helpers_is_the_one_f_itself_gets(transform, helper):
    expected, _ = _message(transform, lambda x: _direct(x, W), X)
    assert "argument 0 is a list" in expected and "3 scalar tensors" in expected
    got, error = _message(transform, lambda x: helper(x, W), X)
    assert got == expected


def test_the_helpers_own_error_stays_in_the_chain():
    _, error = _message("grad", lambda x: _layer_wrapping(x, W), X)
    assert str(error.__cause__).startswith("project: could not multiply")


def _project_hiding(x, w):
    try:
        return x @ w
    except TypeError:  # ``from None``: the helper says its own error is the whole story
        raise TypeError("project: x must be an array") from None


def test_a_refusal_the_helper_hides_leaves_the_helpers_error():
    got, _ = _message("grad", lambda x: cr.sum(_project_hiding(x, W)), X)
    assert got == "project: x must be an array"


def test_a_list_whose_items_the_helpers_use_still_differentiates():
    """The closed form: d/dx_i of x_0 x_1 + x_2^2 through two helpers."""

    def product(x):
        return x[0] * x[1]

    def f(x):
        return product(x) + x[2] ** 2

    grads = cr.grad(f)([2.0, 3.0, 0.5])
    assert [type(g) for g in grads] == [cr.Tensor] * 3
    np.testing.assert_allclose([g.item() for g in grads], [3.0, 2.0, 1.0], rtol=1e-12)
