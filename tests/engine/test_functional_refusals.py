"""The transforms' refusals name the transform the user called and what went wrong.

- ``value_and_grad``'s errors said ``grad:`` (it is built on the same function as grad).
- A function that returns no tensor (None from a missing ``return``, or ``()``) gave None,
  ``(None, None)`` or zeros from ``jacobian``, ``jvp`` and ``vjp``, and a bare AttributeError
  from ``hvp``; now each refuses, asking whether a return is missing.
- A list argument (a structure of scalars) that the function used as a tensor after Python's
  own operators met it (``(x * 2).sum()`` repeats the list) raised a bare
  ``'list' object has no attribute 'sum'``; now it says the list was taken as scalars.
- A one-element output of shape (1,) is a scalar to ``grad``, as to ``backward()`` and torch's
  ``Tensor.backward`` (kept, and documented in grad's docstring).

Oracles: closed forms (d sum(2x) / dx = 2, d x^2 / dx = 2x) and torch's autograd.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr

X = cr.tensor([1.0, 2.0])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: cr.value_and_grad(lambda a: a)(X), ValueError,
         "value_and_grad: the function must return a scalar"),
        (lambda: cr.value_and_grad(lambda a: a.sum(), argnums=3)(X), ValueError,
         "value_and_grad: argnums 3 is out of range"),
        (lambda: cr.value_and_grad(lambda a: a.sum(), argnums=True)(X), TypeError,
         "value_and_grad: argnums must be an integer"),
        (lambda: cr.value_and_grad(lambda a: a.sum())(np.array([1, 2])), TypeError,
         "value_and_grad: argument 0 is an array of int64, which has no derivative; pass it "
         "as floats, or leave it out of argnums"),
        (lambda: cr.value_and_grad(lambda a: a.sum(), has_aux=True)(X), TypeError,
         "value_and_grad: with has_aux=True"),
    ],
)  # fmt: skip
def test_value_and_grads_errors_name_value_and_grad(call, error, message) -> None:
    with pytest.raises(error) as e:
        call()
    assert str(e.value).startswith(message), str(e.value)


def _returns_nothing(x):
    x * 2  # the return is missing


@pytest.mark.parametrize("f, shown", [(_returns_nothing, "None"), (lambda x: (), "()"),
                                      (lambda x: {}, "{}")])  # fmt: skip
@pytest.mark.parametrize(
    "transform",
    [
        lambda f: cr.jacobian(f)(X),
        lambda f: cr.jacobian(f, mode="forward")(X),
        lambda f: cr.jvp(f, (X,), (X,)),
        lambda f: cr.vjp(f, X),
    ],
    ids=["jacobian", "jacobian-forward", "jvp", "vjp"],
)
def test_a_function_returning_no_tensor_is_refused(f, shown, transform) -> None:
    with pytest.raises(TypeError, match=r"^(jacobian|jvp|vjp): the function returned no tensor "
                       rf"\(it returned {re.escape(shown)}\); is a return missing\?"):  # fmt: skip
        transform(f)


@pytest.mark.parametrize(
    "call, named",
    [
        (lambda: cr.hvp(_returns_nothing, (X,), (X,)), "hvp"),
        (lambda: cr.grad(_returns_nothing)(X), "grad"),
        (lambda: cr.value_and_grad(_returns_nothing)(X), "value_and_grad"),
        (lambda: cr.hessian(_returns_nothing)(X), "hessian"),
    ],
)
def test_a_scalar_transform_given_none_says_a_return_may_be_missing(call, named) -> None:
    with pytest.raises(TypeError, match=rf"^{named}: the function must return a tensor, got "
                       "NoneType; is a return missing"):  # fmt: skip
        call()


def test_an_output_with_a_none_beside_a_tensor_is_still_differentiated() -> None:
    """None holds no leaves (as in JAX): beside a tensor it is kept, and only an output with
    no tensor at all is refused. d(2x)/dx = 2 I."""
    jac, nothing = cr.jacobian(lambda x: (x * 2, None))(X)
    np.testing.assert_allclose(jac.numpy(), 2 * np.eye(2))
    assert nothing is None


@pytest.mark.parametrize(
    "f, attribute",
    [
        (lambda a: (a * 2).sum(), "sum"),  # the list repeated: [a0, a1, a0, a1]
        (lambda a: a.sum(), "sum"),
        (lambda a: (a + a).shape, "shape"),
    ],
)
@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_argument_used_as_a_tensor_says_it_was_taken_as_scalars(
    f, attribute, container
) -> None:
    kind = container.__name__
    with pytest.raises(AttributeError) as e:
        cr.grad(f)(container([1.0, 2.0]))
    message = str(e.value)
    assert message.startswith(
        f"grad: argument 0 is a {kind}, which a transform takes as a structure of 2 scalar tensors"
    ), message
    assert f"a {kind} has no .{attribute}" in message and "cr.tensor(...)" in message
    assert isinstance(e.value.__cause__, AttributeError)  # Python's own error, kept as cause


@pytest.mark.parametrize(
    "f",
    [
        lambda a: a.append(3.0),  # a tuple used as a list: not a tensor's attribute
        lambda a: [a[0] * 2].sum(),  # a list the function built of its own values
        lambda a: [].sum(),
    ],
)
def test_an_attribute_error_not_about_the_list_argument_keeps_pythons_message(f) -> None:
    with pytest.raises(AttributeError) as e:
        cr.grad(f)((1.0, 2.0))
    assert str(e.value).endswith("object has no attribute " + repr(str(e.value.name))), e.value


def test_the_explained_slip_computes_when_the_list_is_passed_as_an_array() -> None:
    """The advice in the message works: as one array, d sum(2a) / da = 2."""
    g = cr.grad(lambda a: (a * 2).sum())(cr.tensor([1.0, 2.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_a_one_element_output_is_a_scalar_as_for_backward_and_torch(shape) -> None:
    torch = pytest.importorskip("torch")
    x0 = np.array([0.5, -1.5, 2.0])

    def f(x):
        return cr.reshape((x * x).sum(), shape)

    value, g = cr.value_and_grad(f)(cr.tensor(x0))
    assert value.shape == shape
    leaf = cr.tensor(x0, requires_grad=True)
    f(leaf).backward()  # chainrule's backward takes the same output without gradient=
    t = torch.tensor(x0, requires_grad=True)
    (t * t).sum().reshape(shape).backward()
    np.testing.assert_allclose(g.numpy(), t.grad.numpy())
    np.testing.assert_allclose(leaf.grad.numpy(), t.grad.numpy())


def test_a_number_returned_says_where_numbers_come_from():
    """A plain number returned to grad is a value taken out of the graph (.item()) or computed
    without the differentiated argument: the refusal names both, where it said only the type."""
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"got float: .*\.item\(\).*without the differentiated"):
        cr.grad(lambda a: (a * 2).sum().item())(x)
    with pytest.raises(TypeError, match=r"got float64: .*without the differentiated"):
        cr.grad(lambda a, b: (b * 2).sum())(x, x)
    with pytest.raises(TypeError, match=r"got str$"):
        cr.grad(lambda a: "loss")(x)
