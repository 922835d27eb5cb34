"""A Python list passed to a transform is a structure of scalars, and an error says so.

``grad(f)([0.3, -0.2, 0.5], W)`` differentiates three numbers (the documented pytree reading);
an op given that list whole (``x @ W``) used to fail with a bare "a tensor that needs a gradient
cannot become a NumPy array", which never said the list had been read as scalars. The
references are closed forms: d sum(x @ W) / dx = W 1 and / dW = x 1^T.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X = [0.3, -0.2, 0.5]
W = np.arange(6.0).reshape(3, 2) / 7


def _loss(x, w):
    return cr.sum(x @ w)


@pytest.mark.parametrize(
    "transform, args, argnums, argument, named",
    [
        ("grad", (X, cr.tensor(W)), (0, 1), 0, "grad"),
        ("grad", (cr.tensor(W).T, X), 1, 1, "grad"),
        ("value_and_grad", (X, cr.tensor(W)), 0, 0, "value_and_grad"),
        ("jacobian", (X, cr.tensor(W)), 0, 0, "jacobian"),
    ],
)
def test_an_op_given_a_list_argument_whole_says_it_was_taken_as_scalars(
    transform, args, argnums, argument, named
):
    f = _loss if argument == 0 else (lambda w, x: cr.sum(w @ x))
    with pytest.raises(TypeError) as e:
        getattr(cr, transform)(f, argnums=argnums)(*args)
    message = str(e.value)
    assert message.startswith(f"{named}: argument {argument} is a list"), message
    assert "3 scalar tensors" in message and "np.array(" in message


def test_vjp_names_the_list_primal_too():
    with pytest.raises(TypeError, match=r"^vjp: argument 0 is a list.*3 scalar tensors"):
        cr.vjp(_loss, X, cr.tensor(W))


def test_a_nested_tuple_counts_every_scalar():
    with pytest.raises(TypeError, match=r"^grad: argument 0 is a tuple.*4 scalar tensors"):
        cr.grad(lambda x: cr.sum(x @ cr.tensor(np.ones(2))))(((1.0, 2.0), (3.0, 4.0)))


def test_the_array_the_message_suggests_gives_the_closed_form_gradients():
    gx, gw = cr.grad(_loss, argnums=(0, 1))(np.array(X), cr.tensor(W))
    np.testing.assert_allclose(gx.numpy(), W @ np.ones(2), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), np.outer(X, np.ones(2)), rtol=1e-12)


def test_a_list_is_still_a_structure_of_scalars_where_its_items_are_used():
    grads = cr.grad(lambda x: x[0] * x[1] + x[2] ** 2)([2.0, 3.0, 0.5])
    assert isinstance(grads, list) and [g.shape for g in grads] == [(), (), ()]
    np.testing.assert_allclose([g.item() for g in grads], [3.0, 2.0, 1.0], rtol=1e-12)


def test_other_type_errors_pass_through_unchanged():
    def refuses(x):
        raise TypeError("the function's own complaint")

    with pytest.raises(TypeError, match=r"^the function's own complaint$"):
        cr.grad(refuses)(X)
    # a tensor argument (no list) given to NumPy keeps the tensor's own refusal
    with pytest.raises(TypeError, match=r"^a tensor that needs a gradient cannot become"):
        cr.grad(lambda x: cr.tensor(np.asarray(x)).sum())(cr.tensor(np.array(X)))
