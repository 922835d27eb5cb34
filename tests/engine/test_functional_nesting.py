"""Transforms inside transforms: an outer derivative flows through every tensor the inner one's
result depends on (an argument it does not differentiate, a tensor its function closes over, a
tangent or cotangent), never silently stopping there as a constant. Closed forms first, then
PyTorch's double backward as the second reference; and the pairing of tangents with primals by
key."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def f_xy(x, y):
    return x**2 * y**3


def test_a_mixed_partial_through_an_argument_the_inner_grad_does_not_take():
    """d/dx (d/dy x^2 y^3) = 6 x y^2 = 108 at (2, 3); the inner gradient's x was a constant."""
    mixed = cr.grad(lambda x, y: cr.grad(f_xy, argnums=1)(x, y), argnums=0)
    got = mixed(cr.tensor(2.0), cr.tensor(3.0))
    assert float(got.item()) == pytest.approx(108.0)
    assert not got.requires_grad  # nothing outside differentiates through the outer result


def test_a_tensor_the_inner_function_closes_over():
    """d/dx [x * (d/dy x y)] = d/dx x^2 = 2x."""
    outer = cr.grad(lambda x: x * cr.grad(lambda y: x * y)(cr.tensor(1.0)))
    assert float(outer(cr.tensor(3.0)).item()) == pytest.approx(6.0)


def test_a_users_tensor_requiring_a_gradient_keeps_the_result_differentiable():
    w = cr.tensor(2.0, requires_grad=True)
    g = cr.grad(lambda x: w * x * x)(cr.tensor(3.0))  # 2 w x
    assert g.requires_grad
    g.backward()  # d(2 w x)/dw = 2x
    assert float(w.grad.item()) == pytest.approx(6.0)


def f_vec(x):
    return cr.sigmoid(x) * x


X = np.array([0.3, -1.2, 2.0])
V = np.array([1.0, 2.0, 3.0])


def f_prime_closed_form(x):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s) * x + s


def test_the_derivative_of_a_jvp_with_respect_to_its_tangent():
    """sum(J v) is linear in v with gradient diag(J) = f'(x) elementwise."""
    x = cr.tensor(X)
    got = cr.grad(lambda v: cr.jvp(f_vec, (x,), (v,))[1].sum())(cr.tensor(V))
    np.testing.assert_allclose(got.numpy(), f_prime_closed_form(X), rtol=1e-12)


def test_the_derivative_of_a_vjp_with_respect_to_its_cotangent():
    x = cr.tensor(X)
    got = cr.grad(lambda u: cr.vjp(f_vec, x)[1](u)[0].sum())(cr.tensor(V))
    np.testing.assert_allclose(got.numpy(), f_prime_closed_form(X), rtol=1e-12)


def test_the_derivative_of_an_hvp_with_respect_to_its_tangent_against_torch():
    """d/dv sum(H v) = H 1, from torch.autograd's double backward."""
    torch = pytest.importorskip("torch")

    def loss(x):
        return (cr.sigmoid(x) * x * x).sum()

    got = cr.grad(lambda v: cr.hvp(loss, (cr.tensor(X),), (v,)).sum())(cr.tensor(V))
    x = torch.tensor(X, requires_grad=True)
    (g,) = torch.autograd.grad((torch.sigmoid(x) * x * x).sum(), x, create_graph=True)
    (want,) = torch.autograd.grad(g, x, torch.ones(3, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_nested_partials_against_torch():
    torch = pytest.importorskip("torch")

    def g(x, y):
        return cr.tanh(x * y) * x

    got = cr.grad(lambda x, y: cr.grad(g, argnums=1)(x, y), argnums=0)(
        cr.tensor(0.7), cr.tensor(-1.3)
    )
    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    (dy,) = torch.autograd.grad(torch.tanh(x * y) * x, y, create_graph=True)
    (want,) = torch.autograd.grad(dy, x)
    assert float(got.item()) == pytest.approx(float(want), rel=1e-12)


def test_hessian_is_still_computed_without_keeping_a_graph():
    h = cr.hessian(lambda x: (x**3).sum())(cr.tensor(X))
    np.testing.assert_allclose(h.numpy(), np.diag(6 * X), rtol=1e-12)
    assert not h.requires_grad


# -- pairing and counting ----------------------------------------------------------------------


def test_dict_tangents_pair_with_primals_by_key_not_by_order():
    def f(p):
        return p["a"] * 2 + p["b"] * 3

    primal = {"a": cr.tensor([1.0]), "b": cr.tensor([1.0])}
    in_order = {"a": cr.tensor([1.0]), "b": cr.tensor([0.0])}
    reversed_order = {"b": cr.tensor([0.0]), "a": cr.tensor([1.0])}
    assert cr.jvp(f, (primal,), (in_order,))[1].item() == 2.0
    assert cr.jvp(f, (primal,), (reversed_order,))[1].item() == 2.0
    _, vjp_fn = cr.vjp(lambda x: {"two": x * 2, "three": x * 3}, cr.tensor([1.0]))
    (g,) = vjp_fn({"three": cr.tensor([0.0]), "two": cr.tensor([1.0])})
    assert g.item() == 2.0


def test_tangents_nested_unlike_the_primals_are_refused():
    primal = {"a": cr.tensor([1.0]), "b": cr.tensor([1.0])}
    with pytest.raises(ValueError, match="jvp: the tangents are nested as"):
        cr.jvp(lambda p: p["a"] + p["b"], (primal,), ({"a": cr.tensor([1.0]), "c": cr.ones(1)},))
    with pytest.raises(ValueError, match="jvp: got 1 tangents for 2 primals"):
        cr.jvp(lambda p: p["a"] + p["b"], (primal,), ({"a": cr.tensor([1.0])},))


def test_hvp_needs_one_tangent_per_primal_shaped_like_it():
    a, b = cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])
    with pytest.raises(ValueError, match="hvp: got 1 tangents for 2 primals"):
        cr.hvp(lambda a, b: (a * b).sum(), (a, b), (cr.ones(2),))
    with pytest.raises(ValueError, match="hvp: got 2 tangents for 1 primals"):
        cr.hvp(lambda a: (a * a).sum(), (a,), (cr.ones(2), cr.ones(7)))
    with pytest.raises(ValueError, match=r"hvp: tangent 0 has shape \(3,\) but primal 0"):
        cr.hvp(lambda a: (a * a).sum(), (a,), (cr.ones(3),))


def test_vjp_names_itself_and_the_output_in_a_shape_error():
    _, vjp_fn = cr.vjp(lambda x: x * 2, cr.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"vjp: cotangent 0 has shape \(3,\) but output 0"):
        vjp_fn(cr.ones(3))


def test_has_aux_returns_the_auxiliary_output_detached():
    x = cr.tensor([1.0, 2.0])
    (value, aux), g = cr.value_and_grad(lambda x: ((x * x).sum(), {"three": x * 3}), has_aux=True)(
        x
    )
    assert not value.requires_grad and not aux["three"].requires_grad
    assert aux["three"].op is None
    np.testing.assert_array_equal(aux["three"].numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])


def test_has_aux_keeps_a_namedtuple_and_other_leaves():
    from collections import namedtuple

    Aux = namedtuple("Aux", ["scaled", "label"])
    (_, aux), _ = cr.value_and_grad(lambda x: ((x * x).sum(), Aux(x * 3, "three")), has_aux=True)(
        cr.tensor([1.0, 2.0])
    )
    assert isinstance(aux, Aux) and aux.label == "three" and not aux.scaled.requires_grad
    np.testing.assert_array_equal(aux.scaled.numpy(), [3.0, 6.0])


def test_keyword_arguments_pass_through_the_transforms_undifferentiated():
    """grad(f)(x, scale=2.0) raised "_grad.<locals>.wrapped() got an unexpected keyword
    argument"; torch.func and JAX pass keywords to f and differentiate only the positions.
    Oracle: the closed forms d(s |x|^2)/dx = 2 s x and d2/dx2 = 2 s I."""
    x = cr.tensor([1.0, 2.0])

    def f(a, scale=1.0):
        return cr.sum(a * a) * scale

    np.testing.assert_allclose(cr.grad(f)(x, scale=2.0).numpy(), [4.0, 8.0])
    value, g = cr.value_and_grad(f)(x, scale=3.0)
    assert value.item() == 15.0 and np.allclose(g.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(cr.hessian(f)(x, scale=2.0).numpy(), 4.0 * np.eye(2))
    np.testing.assert_allclose(cr.jacobian(lambda a, k=1.0: a * k)(x, k=3.0).numpy(), 3 * np.eye(2))
    with pytest.raises(TypeError, match="unexpected keyword argument 'scael'"):
        cr.grad(f)(x, scael=2.0)  # f's own error, naming the keyword


def test_the_gradient_function_inside_a_transform_is_differentiated_through():
    """d/dx sum(d/dx sum x^3) = 6x: ``cr.gradient`` inside ``grad`` gave constants (its
    default was create_graph=False), so the outer derivative was silently 0. Checked against
    central differences of the inner gradient, 3x^2 summed."""
    x = np.array([0.5, -1.25, 2.0])
    outer = cr.grad(lambda x: cr.gradient((x * x * x).sum(), [x])[0].sum())
    h = 1e-6
    numeric = [
        (np.sum(3 * (x + h * e) ** 2) - np.sum(3 * (x - h * e) ** 2)) / (2 * h) for e in np.eye(3)
    ]
    np.testing.assert_allclose(outer(x).numpy(), numeric, rtol=1e-7)
    # a user's leaf that requires a gradient: the transform's result carries it on (d/dy 6y = 6)
    y = cr.tensor(x, requires_grad=True)
    outer(y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 6.0, 6.0])


def test_the_gradient_function_keeps_constants_where_asked_and_outside_transforms():
    """create_graph=False is the user's choice (torch.autograd.grad's); outside any transform
    the default records nothing, as before."""
    inner = cr.grad(lambda x: cr.gradient((x * x * x).sum(), [x], create_graph=False)[0].sum())
    np.testing.assert_array_equal(inner(np.array([1.0, 2.0])).numpy(), [0.0, 0.0])
    y = cr.tensor([1.0, 2.0], requires_grad=True)
    assert not cr.gradient((y * y * y).sum(), [y])[0].requires_grad


def test_the_gradient_functions_non_scalar_error_names_the_output_not_a_function():
    y = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"^gradient: output 1 has shape \(2,\); without "
                       "cotangents each output must be a scalar"):  # fmt: skip
        cr.gradient([y.sum(), y * 2], [y])


_ON_A_PARAMETER = {
    # f(x) = w x^3 at x = 3 with w = 2: grad 3 w x^2 = 54, hessian 6 w x = 36, vjp(u = w) w^2 = 4
    "grad": lambda w, x: cr.grad(lambda x: (w * x**3).sum())(x),
    "jacobian": lambda w, x: cr.jacobian(lambda x: w * x**3)(x),
    "hessian": lambda w, x: cr.hessian(lambda x: (w * x**3).sum())(x),
    "vjp": lambda w, x: cr.vjp(lambda x: w * x, x)[1](w)[0],
    "hvp": lambda w, x: cr.hvp(lambda x: (w * x**3).sum(), (x,), (np.array([1.0]),)),
    "gradient": lambda w, x: cr.grad(lambda x: cr.gradient((w * x**3).sum(), [x])[0].sum())(x),
}
_CLOSED_FORMS = {"grad": 54.0, "jacobian": 54.0, "hessian": 36.0, "vjp": 4.0, "hvp": 36.0,
                 "gradient": 36.0}  # fmt: skip


@pytest.mark.parametrize("transform", list(_ON_A_PARAMETER))
def test_a_transform_under_no_grad_gives_constants_as_torch_func_does(transform):
    """A transform whose function uses a parameter recorded its results even inside no_grad
    (graphs kept alive, results requiring a gradient); torch.func's respect torch.no_grad.
    Outside no_grad they still carry the parameter's derivative."""
    w, x = cr.tensor([2.0], requires_grad=True), np.array([3.0])
    with cr.no_grad():
        quiet = _ON_A_PARAMETER[transform](w, x)
    assert not quiet.requires_grad
    assert float(quiet.numpy().ravel()[0]) == pytest.approx(_CLOSED_FORMS[transform])
    assert _ON_A_PARAMETER[transform](w, x).requires_grad
