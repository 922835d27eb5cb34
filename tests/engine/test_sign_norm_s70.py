"""``cr.sign`` (FGSM's step, x + eps * sign(grad)) and ``cr.norm`` (the 2-norm, whose gradient at
a zero vector is 0, as torch's, where sqrt(sum(x * x)) gives NaN, and whose second derivative
there is NaN, as torch's, not a finite number), each with its method form;
oracles: torch, closed forms and central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]


def _t(values, dtype="float64", requires_grad=True) -> cr.Tensor:
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


def _torch(values, dtype="float64", requires_grad=True):
    return torch.tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------
# sign
# ---------------------------------------------------------------------------------------------

SIGNED = [[-2.5, -0.0, 0.0, 1e-30, 3.0], [-np.inf, np.inf, -1e-30, 0.5, -7.0]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sign_values_match_torch(dtype) -> None:
    x = _t(SIGNED, dtype)
    out = cr.sign(x)
    assert out.dtype == np.dtype(dtype) and out.op == "sign"
    np.testing.assert_array_equal(out.numpy(), torch.sign(_torch(SIGNED, dtype)).detach().numpy())
    np.testing.assert_array_equal(x.sign().numpy(), out.numpy())


def test_sign_of_nan_is_nan_as_numpy_and_the_array_api_give_it() -> None:
    assert np.isnan(cr.sign(cr.tensor([np.nan])).numpy()).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sign_gradient_is_zero_even_for_an_infinite_cotangent(dtype) -> None:
    x = _t(SIGNED, dtype)
    seed = np.full(x.shape, np.inf, dtype=dtype)
    cr.sign(x).backward(cr.tensor(seed))
    xt = _torch(SIGNED, dtype)
    torch.sign(xt).backward(torch.tensor(seed))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(x.shape, dtype))
    assert x.grad.dtype == np.dtype(dtype)


def test_sign_second_order_matches_torch() -> None:
    """f = sum(sign(x) x^3): f' = 3 sign(x) x^2 and f'' = 6 sign(x) x, with sign's derivative 0."""
    values = np.array([-1.5, 0.7, 2.0, -0.3])

    def f(x):
        return (cr.sign(x) * x**3).sum()

    hessian = cr.hessian(f)(cr.tensor(values)).numpy()
    expected = torch.autograd.functional.hessian(
        lambda x: (torch.sign(x) * x**3).sum(), torch.tensor(values)
    ).numpy()
    np.testing.assert_allclose(hessian, expected, rtol=1e-12)
    np.testing.assert_allclose(hessian, np.diag(6 * np.sign(values) * values), rtol=1e-12)
    assert cr.gradcheck(lambda x: cr.sign(x) * x**3, [values], order=2)


def test_fgsm_step_is_written_with_chainrule_ops() -> None:
    w = cr.tensor([0.5, -1.0, 2.0])
    x = cr.tensor([1.0, 1.0, -1.0], requires_grad=True)
    loss = ((x * w).sum() - 1.0) ** 2
    (g,) = cr.gradient(loss, [x])
    adversarial = x.detach() + 0.1 * cr.sign(g)
    # loss' = 2 (x.w - 1) w, x.w - 1 = -3.5: the step goes along -sign(w)
    np.testing.assert_allclose(adversarial.numpy(), [0.9, 1.1, -1.1])


# ---------------------------------------------------------------------------------------------
# norm
# ---------------------------------------------------------------------------------------------

MATRIX = np.array([[3.0, -4.0, 12.0], [0.5, 1.5, -2.0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_values_and_gradients_match_torch(dtype, axis, keepdims) -> None:
    x = _t(MATRIX, dtype)
    out = cr.norm(x, axis=axis, keepdims=keepdims)
    xt = _torch(MATRIX, dtype)
    dim = axis if axis is not None else None
    expected = torch.linalg.vector_norm(xt, dim=dim, keepdim=keepdims)
    assert out.shape == tuple(expected.shape) and out.dtype == np.dtype(dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol)
    weights = np.linspace(0.5, 1.5, max(out.size, 1)).reshape(out.shape).astype(dtype)
    (out * cr.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=rtol)


def test_norm_method_is_the_function() -> None:
    x = _t(MATRIX)
    np.testing.assert_array_equal(x.norm(axis=1).numpy(), cr.norm(x, axis=1).numpy())
    np.testing.assert_array_equal(x.norm().numpy(), cr.norm(x).numpy())
    np.testing.assert_allclose(cr.norm(cr.tensor([3.0, 4.0])).numpy(), 5.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_gradient_at_a_zero_vector_is_zero_as_in_torch(dtype) -> None:
    """sqrt(sum(x * x)) gives NaN there (0 / 0); torch's vector_norm gives 0, and so must norm,
    also for a zero row beside a nonzero one."""
    rows = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]])
    x = _t(rows, dtype)
    cr.norm(x, axis=1).backward(cr.tensor(np.array([2.0, 1.0], dtype=dtype)))
    xt = _torch(rows, dtype)
    torch.linalg.vector_norm(xt, dim=1).backward(torch.tensor([2.0, 1.0], dtype=xt.dtype))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy()[0], np.zeros(3))
    np.testing.assert_allclose(x.grad.numpy()[1], [0.6, 0.0, -0.8], rtol=1e-6)

    naive = _t(rows, dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        cr.sqrt((naive * naive).sum(axis=1)).sum().backward()
    assert np.isnan(naive.grad.numpy()[0]).all()  # what users wrote before

    whole = _t(np.zeros(4), dtype)
    cr.norm(whole).backward()
    np.testing.assert_array_equal(whole.grad.numpy(), np.zeros(4, dtype))


def test_norm_gradient_at_zero_stays_zero_for_an_infinite_cotangent() -> None:
    """The subgradient 0 whatever the cotangent (torch's inf * 0 gives NaN there), with no
    warning; a nonzero row's gradient is the cotangent times x / norm as usual."""
    rows = np.array([[0.0, 0.0], [3.0, 4.0]])
    x = _t(rows)
    with np.errstate(all="raise"):
        cr.norm(x, axis=1).backward(cr.tensor([np.inf, 5.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [3.0, 4.0]])


def test_normalize_as_torch_does_has_a_finite_gradient_at_zero() -> None:
    """F.normalize(x) = x / max(norm(x), eps): its gradient at a zero row relies on norm's 0."""
    rows = np.array([[0.0, 0.0], [3.0, 4.0]])
    x = _t(rows)
    weights = np.array([[1.0, 2.0], [0.5, -1.0]])
    normalized = x / cr.maximum(cr.norm(x, axis=1, keepdims=True), 1e-12)
    (normalized * cr.tensor(weights)).sum().backward()
    xt = _torch(rows)
    (torch.nn.functional.normalize(xt, dim=1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 1])
def test_norm_gradcheck_first_and_second_order_away_from_zero(axis) -> None:
    rng = np.random.default_rng(70)
    x = rng.standard_normal((3, 4))
    assert cr.gradcheck(lambda x: cr.norm(x, axis=axis), [x], order=2)
    assert cr.gradcheck(lambda x: cr.norm(x * x - 0.3, axis=axis, keepdims=True), [x], order=2)


def test_norm_hessian_matches_torch_and_the_closed_form() -> None:
    """(I - u u^T) / |x| with u = x / |x|."""
    values = np.array([1.0, -2.0, 2.0])
    hessian = cr.hessian(lambda x: cr.norm(x))(cr.tensor(values)).numpy()
    expected = torch.autograd.functional.hessian(torch.linalg.vector_norm, torch.tensor(values))
    u = values / 3.0
    np.testing.assert_allclose(hessian, expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hessian, (np.eye(3) - np.outer(u, u)) / 3.0, rtol=1e-12)


def test_norm_second_derivative_with_a_zero_row_is_torch_where_torch_is_finite() -> None:
    """The norm has no second derivative at a zero vector: the Hessian is NaN over the zero
    row where the zero row's gradient is differentiated (torch's is NaN there too), and
    torch's wherever torch's is finite. The zero row's gradient does not depend on the other
    row, nor the other row's on it: 0 there, where torch spreads its NaN."""
    rows = np.array([[0.0, 0.0], [3.0, 4.0]])

    def f(x):
        return cr.norm(x, axis=1).sum()

    hessian = cr.hessian(f)(cr.tensor(rows)).numpy()
    expected = torch.autograd.functional.hessian(
        lambda x: torch.linalg.vector_norm(x, dim=1).sum(), torch.tensor(rows)
    ).numpy()
    finite = np.isfinite(expected)
    assert finite.any() and not finite.all()
    np.testing.assert_allclose(hessian[finite], expected[finite], rtol=1e-12, atol=1e-15)
    assert np.isnan(hessian[0, :, 0, :]).all()
    np.testing.assert_array_equal(hessian[1, :, 0, :], np.zeros((2, 2)))
    np.testing.assert_array_equal(hessian[0, :, 1, :], np.zeros((2, 2)))


def test_norm_create_graph_gradient_is_differentiable() -> None:
    """d/dx of (grad norm . v) = H v, through create_graph."""
    values = np.array([2.0, -1.0, 2.0])
    v = np.array([0.5, 1.0, -1.0])
    x = cr.tensor(values, requires_grad=True)
    (g,) = cr.gradient(cr.norm(x), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), values / 3.0, rtol=1e-13)
    (hv,) = cr.gradient((g * cr.tensor(v)).sum(), [x])
    u = values / 3.0
    np.testing.assert_allclose(hv.numpy(), (v - u * (u @ v)) / 3.0, rtol=1e-12)


def test_norm_of_integers_is_a_float() -> None:
    out = cr.norm(cr.tensor(np.array([3, 4])))
    assert np.issubdtype(out.dtype, np.floating)
    np.testing.assert_allclose(out.numpy(), 5.0)


def test_norm_method_refuses_torch_keywords_naming_chainrule_s() -> None:
    x = _t(MATRIX)
    with pytest.raises(TypeError, match=r"norm: p=2 .*leave p= out: .*2-norm"):
        x.norm(p=2)
    with pytest.raises(TypeError, match=r"norm: dim= is PyTorch's name; .*axis="):
        x.norm(dim=1)


def test_sign_and_norm_are_registered_and_exported() -> None:
    assert {"sign", "norm"} <= set(cr.REGISTRY)
    assert {"sign", "norm"} <= set(cr.__all__)
    assert cr.ops.sign is cr.sign and cr.ops.norm is cr.norm
