"""The functional transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp, gradient.

Reference values come from central differences computed here with NumPy-only forward passes, so
a transform cannot agree with itself by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(42)
X0 = RNG.standard_normal(3)
Y0 = RNG.standard_normal(3)
M0 = RNG.standard_normal((2, 3))


def _numeric_jacobian(f_np, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, shaped f(x).shape + x.shape."""
    out_shape = np.shape(f_np(x))
    columns = []
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = eps
        step = step.reshape(x.shape)
        columns.append((np.asarray(f_np(x + step)) - np.asarray(f_np(x - step))) / (2 * eps))
    jac = np.stack(columns, axis=-1) if columns else np.zeros(out_shape + (0,))
    return jac.reshape(out_shape + x.shape)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------------------------------------
# grad and value_and_grad
# ---------------------------------------------------------------------------------------------


def f_xy(x, y):
    return (x * y * y).sum()


def test_grad_with_respect_to_each_argument() -> None:
    x, y = cr.tensor(X0), cr.tensor(Y0)
    np.testing.assert_allclose(cr.grad(f_xy)(x, y).numpy(), Y0**2)
    np.testing.assert_allclose(cr.grad(f_xy, argnums=1)(x, y).numpy(), 2 * X0 * Y0)
    np.testing.assert_allclose(cr.grad(f_xy, argnums=-1)(x, y).numpy(), 2 * X0 * Y0)
    gx, gy = cr.grad(f_xy, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx.numpy(), Y0**2)
    np.testing.assert_allclose(gy.numpy(), 2 * X0 * Y0)
    (only_y,) = cr.grad(f_xy, argnums=(1,))(x, y)
    np.testing.assert_allclose(only_y.numpy(), 2 * X0 * Y0)


def test_grad_accepts_arrays_lists_and_numbers() -> None:
    np.testing.assert_allclose(cr.grad(f_xy)(X0, Y0).numpy(), Y0**2)
    # a list is a container (as in JAX): its elements are differentiated one by one
    g_list = cr.grad(lambda xs: xs[0] * xs[1] * 2.0)([3.0, 5.0])
    assert isinstance(g_list, list) and [g.item() for g in g_list] == [10.0, 6.0]
    assert cr.grad(lambda x: x * x)(3.0).item() == 6.0
    assert cr.grad(lambda x: x * x)(3).item() == 6.0  # an int argument is made float64


def test_grad_keeps_float32() -> None:
    x = cr.tensor(X0.astype(np.float32))
    g = cr.grad(lambda x: (cr.sigmoid(x) * 2.0).sum())(x)
    assert g.dtype == np.float32


def test_grad_with_aux() -> None:
    def loss_with_aux(x):
        out = cr.sigmoid(x)
        return (out * out).sum(), {"out": out, "note": "aux"}

    g, aux = cr.grad(loss_with_aux, has_aux=True)(cr.tensor(X0))
    s = _sigmoid(X0)
    np.testing.assert_allclose(g.numpy(), 2 * s * s * (1 - s))
    np.testing.assert_allclose(aux["out"].numpy(), s)
    assert aux["note"] == "aux"


def test_an_outer_derivative_flows_through_aux_alone() -> None:
    """aux that depends on an outer variable, while the value does not, stays on the graph:
    d/dw of aux = sum(w x) is sum(x) (JAX's grad gives the same); it was detached, and 0."""
    x0 = cr.tensor(X0)

    def outer(w):
        return cr.grad(lambda x: ((x * x).sum(), (w * x).sum()), has_aux=True)(x0)[1]

    assert cr.grad(outer)(cr.tensor(2.0)).item() == pytest.approx(float(X0.sum()), rel=1e-14)
    w = cr.tensor(2.0, requires_grad=True)
    (value, aux), _ = cr.value_and_grad(
        lambda x: ((x * x).sum(), {"wx": (w * x).sum(), "x3": (3 * x).sum()}), has_aux=True
    )(x0)
    assert not value.requires_grad and aux["wx"].requires_grad
    aux["wx"].backward()
    assert w.grad.item() == pytest.approx(float(X0.sum()), rel=1e-14)


def test_value_and_grad() -> None:
    value, g = cr.value_and_grad(f_xy, argnums=(0, 1))(cr.tensor(X0), cr.tensor(Y0))
    assert value.item() == pytest.approx(float(np.sum(X0 * Y0 * Y0)))
    assert not value.requires_grad  # nothing outside differentiates: the value is detached
    np.testing.assert_allclose(g[1].numpy(), 2 * X0 * Y0)
    (value, aux), g = cr.value_and_grad(lambda x: ((x * 2).sum(), 7), has_aux=True)(X0)
    assert value.item() == pytest.approx(2 * X0.sum()) and aux == 7
    np.testing.assert_allclose(g.numpy(), 2.0)


def test_grad_errors() -> None:
    with pytest.raises(ValueError, match=r"grad: the function must return a scalar, got shape"):
        cr.grad(lambda x: x * 2)(X0)
    with pytest.raises(ValueError, match="argnums 2 is out of range for 2 arguments"):
        cr.grad(f_xy, argnums=2)(X0, Y0)
    with pytest.raises(TypeError, match="must return a tensor, got float"):
        cr.grad(lambda x: 1.0)(X0)


def test_hessian_errors_name_hessian() -> None:
    """hessian is jacobian(grad(f)); its errors name what the user called, not its parts."""
    with pytest.raises(ValueError, match=r"^hessian: the function must return a scalar, got shape"):
        cr.hessian(lambda x: x * 2)(X0)
    with pytest.raises(ValueError, match="^hessian: argnums 2 is out of range for 2 arguments"):
        cr.hessian(f_xy, argnums=2)(X0, Y0)
    with pytest.raises(TypeError, match="^hessian: the function must return a tensor, got float"):
        cr.hessian(lambda x: 1.0)(X0)
    with pytest.raises(TypeError, match="^hessian: argument 1 is an array of int64.*argnums"):
        cr.hessian(lambda x, i: (x * x).sum(), argnums=(0, 1))(X0, np.array([1, 2]))


def test_an_input_that_does_not_matter_gets_zeros() -> None:
    gx, gy = cr.grad(lambda x, y: (x * 2.0).sum(), argnums=(0, 1))(X0, M0)
    np.testing.assert_array_equal(gy.numpy(), np.zeros_like(M0))
    np.testing.assert_allclose(gx.numpy(), 2.0)


# ---------------------------------------------------------------------------------------------
# vjp, jvp, jacobian
# ---------------------------------------------------------------------------------------------


def f_vec(x, m):
    """R^3 x R^(2x3) -> R^2: a logistic layer with fan-out of x into both outputs."""
    return cr.tanh(m @ cr.sigmoid(x)) + (x * x).sum()


def f_vec_np(x, m):
    return np.tanh(m @ _sigmoid(x)) + (x * x).sum()


def test_vjp_matches_the_numeric_jacobian() -> None:
    out, vjp_fn = cr.vjp(f_vec, cr.tensor(X0), cr.tensor(M0))
    np.testing.assert_allclose(out.numpy(), f_vec_np(X0, M0))
    jx = _numeric_jacobian(lambda x: f_vec_np(x, M0), X0)
    jm = _numeric_jacobian(lambda m: f_vec_np(X0, m), M0)
    for u in (np.array([1.0, 0.0]), np.array([0.3, -2.0])):  # vjp_fn may be called again
        gx, gm = vjp_fn(cr.tensor(u))
        np.testing.assert_allclose(gx.numpy(), u @ jx, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gm.numpy(), np.tensordot(u, jm, 1), rtol=1e-6, atol=1e-8)


def test_vjp_with_tuple_outputs() -> None:
    out, vjp_fn = cr.vjp(lambda x: (x * 2.0, cr.exp(x).sum()), cr.tensor(X0))
    assert isinstance(out, tuple) and out[1].shape == ()
    (gx,) = vjp_fn((np.ones(3), np.array(1.0)))
    np.testing.assert_allclose(gx.numpy(), 2.0 + np.exp(X0))
    with pytest.raises(ValueError, match="vjp: got 1 cotangents for 2 outputs"):
        vjp_fn(np.ones(3))


def test_jvp_matches_a_directional_difference() -> None:
    v_x, v_m = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    out, tangent = cr.jvp(f_vec, (X0, M0), (v_x, v_m))
    eps = 1e-6
    numeric = f_vec_np(X0 + eps * v_x, M0 + eps * v_m) - f_vec_np(X0 - eps * v_x, M0 - eps * v_m)
    np.testing.assert_allclose(out.numpy(), f_vec_np(X0, M0))
    np.testing.assert_allclose(tangent.numpy(), numeric / (2 * eps), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_matches_finite_differences(mode: str) -> None:
    jx, jm = cr.jacobian(f_vec, argnums=(0, 1), mode=mode)(X0, M0)
    assert jx.shape == (2, 3) and jm.shape == (2, 2, 3)
    np.testing.assert_allclose(
        jx.numpy(), _numeric_jacobian(lambda x: f_vec_np(x, M0), X0), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        jm.numpy(), _numeric_jacobian(lambda m: f_vec_np(X0, m), M0), rtol=1e-6, atol=1e-8
    )


def test_reverse_and_forward_jacobians_agree_on_matrix_in_matrix_out() -> None:
    def f(m):
        return cr.softmax(m * m, axis=1)

    reverse = cr.jacobian(f, mode="reverse")(M0)
    forward = cr.jacobian(f, mode="forward")(M0)
    assert reverse.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(reverse.numpy(), forward.numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward'"):
        cr.jacobian(f, mode="sideways")


def test_jacobian_of_an_unused_input_is_zero() -> None:
    for mode in ("reverse", "forward"):
        _, jy = cr.jacobian(lambda x, y: x * 3.0, argnums=(0, 1), mode=mode)(X0, Y0)
        np.testing.assert_array_equal(jy.numpy(), np.zeros((3, 3)))


# ---------------------------------------------------------------------------------------------
# hessian and hvp of a small logistic network
# ---------------------------------------------------------------------------------------------

N_IN, N_HIDDEN, N_OUT = 3, 4, 2
SIZES = [(N_IN, N_HIDDEN), (N_HIDDEN,), (N_HIDDEN, N_OUT), (N_OUT,)]
N_PARAMS = sum(int(np.prod(s)) for s in SIZES)
CASES = RNG.uniform(-1, 1, (5, N_IN))
TARGETS = RNG.uniform(0, 1, (5, N_OUT))
THETA = RNG.uniform(-1, 1, N_PARAMS)


def _unflatten(theta, reshape):
    parts, start = [], 0
    for shape in SIZES:
        size = int(np.prod(shape))
        parts.append(reshape(theta[start : start + size], shape))
        start += size
    return parts


def network_error(theta: cr.Tensor) -> cr.Tensor:
    """E = 1/2 sum (t - y)^2 for a 3-4-2 network of logistic units, parameters flattened."""
    w1, b1, w2, b2 = _unflatten(theta, cr.reshape)
    hidden = cr.sigmoid(cr.tensor(CASES) @ w1 + b1)
    out = cr.sigmoid(hidden @ w2 + b2)
    return 0.5 * ((cr.tensor(TARGETS) - out) ** 2).sum()


def network_gradient_np(theta: np.ndarray) -> np.ndarray:
    """The same network's gradient by hand-written backprop in NumPy (the lecture's recipe)."""
    w1, b1, w2, b2 = _unflatten(theta, np.reshape)
    hidden = _sigmoid(CASES @ w1 + b1)
    out = _sigmoid(hidden @ w2 + b2)
    dE_dz2 = (out - TARGETS) * out * (1 - out)
    dE_dhidden = dE_dz2 @ w2.T  # dE/dy_i = sum_j w_ij dE/dz_j
    dE_dz1 = dE_dhidden * hidden * (1 - hidden)
    grads = [CASES.T @ dE_dz1, dE_dz1.sum(0), hidden.T @ dE_dz2, dE_dz2.sum(0)]
    return np.concatenate([g.reshape(-1) for g in grads])


def test_network_gradient_matches_hand_written_backprop() -> None:
    g = cr.grad(network_error)(THETA)
    np.testing.assert_allclose(g.numpy(), network_gradient_np(THETA), rtol=1e-12, atol=1e-15)


def test_hessian_of_a_logistic_network_matches_differences_of_the_gradient() -> None:
    hessian = cr.hessian(network_error)(THETA).numpy()
    assert hessian.shape == (N_PARAMS, N_PARAMS)
    numeric = _numeric_jacobian(network_gradient_np, THETA)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-10, atol=1e-12)


def test_hvp_of_a_logistic_network_matches_a_difference_of_gradients() -> None:
    v = RNG.standard_normal(N_PARAMS)
    product = cr.hvp(network_error, (THETA,), (v,)).numpy()
    eps = 1e-6
    numeric = (network_gradient_np(THETA + eps * v) - network_gradient_np(THETA - eps * v)) / (
        2 * eps
    )
    np.testing.assert_allclose(product, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(product, cr.hessian(network_error)(THETA).numpy() @ v, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# Nested containers, nested transforms, and .grad left alone
# ---------------------------------------------------------------------------------------------


def dict_error(params: dict) -> cr.Tensor:
    """A tiny network whose parameters live in a dict holding a tuple and a list."""
    w1, w2 = params["weights"]
    (b,) = params["biases"]
    hidden = cr.sigmoid(cr.tensor(CASES) @ w1)
    return ((hidden @ w2 + b) ** 2).sum()


def _dict_params() -> dict:
    return {
        "weights": (RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))),
        "biases": [RNG.standard_normal(2)],
    }


def test_grad_of_nested_dicts_tuples_and_lists_keeps_the_structure() -> None:
    params = _dict_params()
    g = cr.grad(dict_error)(params)
    assert set(g) == {"weights", "biases"}
    assert isinstance(g["weights"], tuple) and isinstance(g["biases"], list)
    flat = [params["weights"][0], params["weights"][1], params["biases"][0]]

    def error_of(index):
        def f(value):
            changed = list(flat)
            changed[index] = value
            w1, w2, b = changed
            hidden = _sigmoid(CASES @ w1)
            return ((hidden @ w2 + b) ** 2).sum()

        return f

    for index, got in enumerate([g["weights"][0], g["weights"][1], g["biases"][0]]):
        numeric = _numeric_jacobian(error_of(index), flat[index])
        np.testing.assert_allclose(got.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_vjp_and_jvp_with_dict_primals() -> None:
    params = {"a": X0, "b": Y0}

    def f(p):
        return p["a"] * cr.exp(p["b"])

    out, vjp_fn = cr.vjp(f, params)
    (g,) = vjp_fn(np.ones(3))
    np.testing.assert_allclose(g["a"].numpy(), np.exp(Y0))
    np.testing.assert_allclose(g["b"].numpy(), X0 * np.exp(Y0))
    _, tangent = cr.jvp(f, (params,), ({"a": np.ones(3), "b": np.zeros(3)},))
    np.testing.assert_allclose(tangent.numpy(), np.exp(Y0))


def test_transforms_never_touch_dot_grad() -> None:
    theta = cr.tensor(THETA, requires_grad=True)
    x = cr.tensor(X0, requires_grad=True)
    m = cr.tensor(M0, requires_grad=True)
    cr.grad(network_error)(theta)
    cr.value_and_grad(network_error)(theta)
    cr.hessian(network_error)(theta)
    cr.hvp(network_error, (theta,), (np.ones(N_PARAMS),))
    _, vjp_fn = cr.vjp(f_vec, x, m)
    vjp_fn(np.ones(2))
    cr.jvp(f_vec, (x, m), (np.ones(3), np.ones((2, 3))))
    cr.jacobian(f_vec, mode="forward")(x, m)
    cr.gradient(f_vec(x, m).sum(), [x, m])
    assert theta.grad is None and x.grad is None and m.grad is None


def test_grad_of_a_tensor_that_requires_grad_is_itself_differentiable() -> None:
    x = cr.tensor(X0, requires_grad=True)
    g = cr.grad(lambda t: (t**3).sum())(x)
    assert g.requires_grad  # an outer differentiation is under way
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X0)


def test_nested_transforms() -> None:
    def f(x):
        return (cr.sigmoid(x) * x).sum()

    def f_prime(x):
        return cr.grad(f)(x)

    second = cr.grad(lambda x: f_prime(x).sum())(X0)
    s = _sigmoid(X0)
    ds = s * (1 - s)
    # f = sum x s(x): f' = s + x s', f'' = 2 s' + x s' (1 - 2 s)
    np.testing.assert_allclose(second.numpy(), 2 * ds + X0 * ds * (1 - 2 * s), rtol=1e-12)
    np.testing.assert_allclose(
        cr.jacobian(f_prime)(X0).numpy(), cr.hessian(f)(X0).numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        cr.jacobian(f_prime, mode="forward")(X0).numpy(), np.diag(second.numpy()), rtol=1e-12
    )
    third = cr.grad(lambda x: cr.grad(lambda y: f_prime(y).sum())(x).sum())(X0)
    numeric = np.diag(
        _numeric_jacobian(lambda x: cr.grad(lambda y: f_prime(y).sum())(x).numpy(), X0)
    )
    np.testing.assert_allclose(third.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_transforms_differentiate_inside_no_grad() -> None:
    with cr.no_grad():
        g = cr.grad(network_error)(THETA)
        j = cr.jacobian(f_vec, mode="forward")(X0, M0)
        hv = cr.hvp(network_error, (THETA,), (np.ones(N_PARAMS),))
    np.testing.assert_allclose(g.numpy(), network_gradient_np(THETA), rtol=1e-12, atol=1e-15)
    assert np.abs(j.numpy()).sum() > 0 and np.abs(hv.numpy()).sum() > 0


def test_gradient_of_several_outputs_with_cotangents() -> None:
    x = cr.tensor(X0, requires_grad=True)
    a, b = x * 2.0, cr.exp(x)
    (g,) = cr.gradient([a, b], [x], [np.ones(3), np.full(3, 0.5)])
    np.testing.assert_allclose(g.numpy(), 2.0 + 0.5 * np.exp(X0))
    with pytest.raises(ValueError, match=r"gradient: cotangent 0 has shape \(2,\) but output 0"):
        cr.gradient(a, [x], np.ones(2))
    # one cotangent per output: a missing one is an error, not a term silently left out
    with pytest.raises(ValueError, match="gradient: got 1 cotangents for 2 outputs"):
        cr.gradient([a, b], [x], [np.ones(3)], retain_graph=True)


def test_the_same_tensor_as_two_differentiated_arguments_gets_each_partial() -> None:
    """f(a, b) = sum a b^2 at a = b = x: df/da = x^2, df/db = 2 a b; a tensor that already
    requires grad, passed twice, must not give each argument the sum of both partials."""
    x = cr.tensor(X0, requires_grad=True)

    def f(a, b):
        return (a * b**2).sum()

    da, db = cr.grad(f, argnums=(0, 1))(x, x)
    np.testing.assert_allclose(da.numpy(), X0**2, rtol=1e-12)
    np.testing.assert_allclose(db.numpy(), 2 * X0**2, rtol=1e-12)
    ja, jb = cr.jacobian(lambda a, b: a * b, argnums=(0, 1))(x, x)
    np.testing.assert_allclose(ja.numpy(), np.diag(X0), rtol=1e-12)
    np.testing.assert_allclose(jb.numpy(), np.diag(X0), rtol=1e-12)
    # inside an outer grad the argument is such a tensor: d/dx sum(x^2) = 2x, d/dx sum(2x^2) = 4x
    outer_a = cr.grad(lambda t: cr.grad(f, argnums=(0, 1))(t, t)[0].sum())(X0)
    outer_b = cr.grad(lambda t: cr.grad(f, argnums=(0, 1))(t, t)[1].sum())(X0)
    np.testing.assert_allclose(outer_a.numpy(), 2 * X0, rtol=1e-12)
    np.testing.assert_allclose(outer_b.numpy(), 4 * X0, rtol=1e-12)


def test_grad_treats_a_tensor_in_an_undifferentiated_argument_as_a_constant() -> None:
    x = cr.tensor(X0, requires_grad=True)
    g = cr.grad(lambda a, b: (a * b**2).sum(), argnums=0)(x, x)
    np.testing.assert_allclose(g.numpy(), X0**2, rtol=1e-12)  # not x^2 + 2 x^2


def test_gradient_of_one_input_listed_twice_gives_two_arrays() -> None:
    x = cr.tensor(X0, requires_grad=True)
    first, second = cr.gradient((x * x).sum(), [x, x])
    np.testing.assert_allclose(first.numpy(), 2 * X0)
    np.testing.assert_allclose(second.numpy(), 2 * X0)
    first.data[...] = 0  # writing one must leave the other alone
    np.testing.assert_allclose(second.numpy(), 2 * X0)


# ---------------------------------------------------------------------------------------------
# Arguments refused or accepted as torch.func does
# ---------------------------------------------------------------------------------------------


def test_argnums_naming_one_argument_twice_are_refused() -> None:
    """Two copies of one argument would get its gradient once and zeros once."""
    x, y = cr.tensor(X0), cr.tensor(Y0)
    with pytest.raises(ValueError, match=r"grad: argnums elements must be unique, got \(0, 0\)"):
        cr.grad(f_xy, argnums=(0, 0))(x, y)
    with pytest.raises(ValueError, match=r"must be unique, got \[1, -1\] \(arguments \(1, 1\)\)"):
        cr.value_and_grad(f_xy, argnums=[1, -1])(x, y)
    with pytest.raises(ValueError, match=r"jacobian: argnums elements must be unique"):
        cr.jacobian(lambda a, b: a * b, argnums=(0, 0))(x, y)


def test_argnums_may_be_any_integer() -> None:
    x, y = cr.tensor(X0), cr.tensor(Y0)
    np.testing.assert_allclose(cr.grad(f_xy, argnums=np.int64(1))(x, y).numpy(), 2 * X0 * Y0)
    gx, gy = cr.grad(f_xy, argnums=(np.int64(0), np.int32(1)))(x, y)
    np.testing.assert_allclose(gx.numpy(), Y0**2)
    np.testing.assert_allclose(gy.numpy(), 2 * X0 * Y0)
    jac = cr.jacobian(lambda a: a * 2.0, argnums=np.int64(0))(x)  # one block, not a tuple
    np.testing.assert_array_equal(jac.numpy(), 2.0 * np.eye(3))


def test_grad_with_aux_refuses_an_output_that_is_not_a_pair() -> None:
    """A tensor would be unpacked as (output, aux) along its first axis."""
    with pytest.raises(TypeError, match=r"has_aux=True .* tuple \(output, aux\), got Tensor"):
        cr.grad(lambda x: x * x, has_aux=True)(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"tuple \(output, aux\), got tuple"):
        cr.value_and_grad(lambda x: ((x * x).sum(), 1, 2), has_aux=True)(X0)


def test_jvp_and_hvp_refuse_a_bare_tensor_as_primals() -> None:
    """A bare tensor would be iterated: its rows would become f's arguments."""
    x, v = cr.tensor([3.0, 4.0]), cr.tensor([1.0, 1.0])
    with pytest.raises(TypeError, match="jvp: primals must be a tuple or list of inputs"):
        cr.jvp(lambda a: a * a, x, (v,))
    with pytest.raises(TypeError, match="jvp: tangents must be a tuple or list of inputs"):
        cr.jvp(lambda a: a * a, (x,), v)
    with pytest.raises(TypeError, match="hvp: primals must be a tuple or list of inputs"):
        cr.hvp(lambda a: (a**3).sum(), cr.tensor([2.0]), cr.tensor([1.0]))
    _, tangent = cr.jvp(lambda a: a * a, [x], [v])  # a list is as good as a tuple
    np.testing.assert_array_equal(tangent.numpy(), [6.0, 8.0])


# ---------------------------------------------------------------------------------------------
# Results: dtypes, integer outputs, nested Jacobians and Hessians
# ---------------------------------------------------------------------------------------------


def test_a_cotangent_takes_the_dtype_of_its_output() -> None:
    """Where the output is the input itself, the cotangent is the gradient: it must have the
    input's dtype, whatever the cotangent's."""
    x64, x32 = cr.tensor([1.5, 2.5]), cr.tensor([1.5, 2.5], dtype="float32")
    (g,) = cr.vjp(lambda a: a, x64)[1](cr.tensor([1, 2]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0])
    assert cr.vjp(lambda a: a, x32)[1](cr.tensor([1.0, 2.0]))[0].dtype == np.float32
    leaf = cr.tensor([1.5, 2.5], dtype="float32", requires_grad=True)
    assert cr.gradient(leaf, leaf, cr.tensor([1.0, 1.0]))[0].dtype == np.float32
    # the cast is recorded: a cotangent that is an outer variable is still differentiated
    d_du = cr.grad(lambda u: cr.vjp(lambda a: a * 2.0, x32)[1](u)[0].sum())(cr.tensor([1.0, 1.0]))
    assert d_du.dtype == np.float64
    np.testing.assert_array_equal(d_du.numpy(), [2.0, 2.0])


def test_the_tangent_of_an_integer_output_is_zeros() -> None:
    """An integer output depends on nothing differentiable: zeros of its shape and dtype (as
    torch.func.jvp gives), not a refusal to make it require a gradient."""
    x, k = cr.tensor([1.0, 2.0]), cr.tensor(np.array([3, 4]))
    (out, out_k), (tangent, tangent_k) = cr.jvp(lambda a: (a * 2, k), (x,), (cr.ones(2),))
    np.testing.assert_array_equal(tangent.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(out_k.numpy(), [3, 4])
    assert tangent_k.shape == (2,) and tangent_k.dtype == k.dtype
    np.testing.assert_array_equal(tangent_k.numpy(), [0, 0])
    jac = cr.jacobian(lambda a: k, mode="forward")(x)
    assert jac.shape == (2, 2)
    np.testing.assert_array_equal(jac.numpy(), np.zeros((2, 2)))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_nested_outputs_nests_the_blocks(mode: str) -> None:
    """As torch.func.jacrev: the output's nesting outside, the inputs' blocks inside."""
    x, m = cr.tensor(X0), cr.tensor(M0)
    jac = cr.jacobian(lambda a, b: (a * 2.0, {"s": b @ a}), argnums=(0, 1), mode=mode)(x, m)
    (dx, dm), sub = jac
    np.testing.assert_allclose(dx.numpy(), 2.0 * np.eye(3))
    np.testing.assert_array_equal(dm.numpy(), np.zeros((3, 2, 3)))
    s_dx, s_dm = sub["s"]
    np.testing.assert_allclose(s_dx.numpy(), M0)
    np.testing.assert_allclose(s_dm.numpy(), _numeric_jacobian(lambda b: b @ X0, M0), atol=1e-8)


def test_hessian_of_several_arguments_or_a_dict_nests_the_blocks() -> None:
    """As torch.func.hessian: block [i][j] is d2f / dx_i dx_j."""

    def f(a, b):
        return (a * a * b**3).sum()

    x, y = cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])
    xx, yy = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    expected = {
        ("a", "a"): np.diag(2 * yy**3),
        ("a", "b"): np.diag(6 * xx * yy**2),
        ("b", "a"): np.diag(6 * xx * yy**2),
        ("b", "b"): np.diag(6 * xx**2 * yy),
    }
    h = cr.hessian(f, argnums=(0, 1))(x, y)
    for i, first in enumerate("ab"):
        for j, second in enumerate("ab"):
            np.testing.assert_allclose(h[i][j].numpy(), expected[first, second])
    h_dict = cr.hessian(lambda p: f(p["a"], p["b"]))({"a": x, "b": y})
    assert set(h_dict) == {"a", "b"} and set(h_dict["a"]) == {"a", "b"}
    for first in "ab":
        for second in "ab":
            np.testing.assert_allclose(h_dict[first][second].numpy(), expected[first, second])


# ---------------------------------------------------------------------------------------------
# Arguments a transform cannot differentiate: None, integer arrays, non-integer argnums
# ---------------------------------------------------------------------------------------------


def test_none_in_an_argument_is_an_empty_subtree_as_in_jax() -> None:
    """None reached f as a NaN tensor requiring a gradient (f took its other branch: the
    gradient 2 where JAX gives 1); it holds no leaves, and its gradient is None."""
    seen = []

    def f(p):
        seen.append(p["b"])
        return p["a"].sum() if p["b"] is None else (p["a"] * 2.0).sum()

    g = cr.grad(f)({"a": cr.tensor([1.0, 2.0]), "b": None})
    assert seen == [None] and g["b"] is None
    np.testing.assert_array_equal(g["a"].numpy(), [1.0, 1.0])
    _, pullback = cr.vjp(lambda x, scale: x * 3.0 if scale is None else x, cr.tensor([1.0]), None)
    dx, dscale = pullback(cr.tensor([1.0]))
    assert dscale is None and dx.item() == 3.0
    _, tangent = cr.jvp(lambda x, o: x * 3.0, (cr.tensor([1.0]), None), (cr.tensor([1.0]), None))
    assert tangent.item() == 3.0
    with pytest.raises(ValueError, match=r"jvp: got 2 tangents for 1 primals"):
        cr.jvp(lambda x, o: x, (cr.tensor([1.0]), None), (cr.tensor([1.0]), cr.tensor([1.0])))


@pytest.mark.parametrize(
    "call",
    [
        lambda: cr.vjp(lambda x, i: x[i], cr.tensor([1.0, 2.0, 3.0]), np.array([0, 2])),
        lambda: cr.jvp(lambda x, i: x[i], (cr.tensor([1.0, 2.0]), np.array([1])), (1, 1)),
        lambda: cr.grad(lambda x: (x * x).sum())(np.arange(3)),
        lambda: cr.jacobian(lambda x: x * 2)(cr.tensor(np.array([1, 2]))),
    ],
    ids=["vjp", "jvp", "grad", "jacobian"],
)
def test_an_integer_array_to_differentiate_is_refused_naming_the_argument(call) -> None:
    """An index or label array was cast to floats: x[i] then raised NumPy's IndexError about
    float indices, and a cross-entropy read float labels as probabilities (a wrong shape)."""
    with pytest.raises(TypeError, match=r"argument \d is an array of int64, which has no deriv"):
        call()


def test_an_integer_argument_left_out_of_argnums_is_used_as_it_is() -> None:
    g = cr.grad(lambda x, i: x[i].sum())(cr.tensor([1.0, 2.0, 3.0]), np.array([0, 2, 2]))
    np.testing.assert_array_equal(g.numpy(), [1.0, 0.0, 2.0])
    assert cr.grad(lambda x: x * x)(3).item() == 6.0  # a Python number is read as a float


def test_a_bad_argnums_or_gradient_input_is_named() -> None:
    f = lambda a, b: (a * b).sum()  # noqa: E731
    with pytest.raises(TypeError, match=r"grad: argnums must be an integer or a sequence of int"):
        cr.grad(f, argnums=1.0)(cr.tensor([1.0]), cr.tensor(2.0))
    with pytest.raises(TypeError, match=r"jacobian: argnums must be an integer"):
        cr.jacobian(lambda a: a, argnums=("0",))(cr.tensor([1.0]))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"gradient: input 0 is a ndarray, not a Tensor"):
        cr.gradient((x * 2.0).sum(), [np.array([1.0])])


@pytest.mark.parametrize("transform", [cr.grad, cr.value_and_grad, cr.jacobian, cr.hessian])
def test_no_argnums_is_refused_not_answered_with_nothing(transform):
    with pytest.raises(ValueError, match="argnums must name at least one argument, got \\(\\)"):
        transform(lambda a: cr.sum(a * a), argnums=())(np.ones(3))


def test_argnums_true_is_refused_not_taken_as_one():
    with pytest.raises(TypeError, match="argnums must be an integer"):
        cr.grad(lambda a, b: cr.sum(a * b), argnums=True)(np.ones(2), np.ones(2))


@pytest.mark.parametrize("value", ["abc", object(), {"w": "abc"}])
def test_an_argument_that_is_not_numbers_is_named(value):
    with pytest.raises(TypeError, match="^grad: argument 0 is (str|object) .*not numbers"):
        cr.grad(lambda a: (a * a).sum())(value)
