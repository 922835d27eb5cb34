"""``jacobian`` and ``hessian`` take ``has_aux``, as ``grad`` and ``value_and_grad`` do (and as
``jax.jacobian``, ``jax.hessian`` and ``torch.func.jacrev`` do): ``f`` returns ``(output, aux)``
and the call gives ``(jacobian, aux)``, ``aux`` not differentiated. They had no ``has_aux``.

Oracles: central finite differences and torch.func (``jacrev``/``jacfwd`` with ``has_aux``).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X = np.array([0.3, -1.2, 2.0])
Y = np.array([[0.5, -0.4], [1.5, 0.2]])


def central_jacobian(f, x, eps=1e-6):
    """d f(x) / dx by central differences, shaped f(x).shape + x.shape (f on arrays)."""
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        jac[(...,) + index] = (f(x + step) - f(x - step)) / (2 * eps)
    return jac


def with_aux(x):
    """A vector output and an aux dict (a tensor and a non-tensor leaf)."""
    return cr.tanh(x) * x, {"norm": (x * x).sum(), "tag": "tanh"}


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_jacobian_with_aux_matches_finite_differences_and_torch(mode) -> None:
    torch = pytest.importorskip("torch")
    jac, aux = cr.jacobian(with_aux, mode=mode, has_aux=True)(cr.tensor(X))
    np.testing.assert_allclose(
        jac.numpy(), central_jacobian(lambda v: np.tanh(v) * v, X), atol=1e-8
    )
    torch_transform = torch.func.jacrev if mode == "reverse" else torch.func.jacfwd

    def torch_f(v):
        return torch.tanh(v) * v, {"norm": (v * v).sum()}  # torch's aux holds tensors only

    torch_jac, torch_aux = torch_transform(torch_f, has_aux=True)(torch.tensor(X))
    np.testing.assert_allclose(jac.numpy(), torch_jac.numpy(), rtol=1e-12)
    assert aux["tag"] == "tanh"  # a leaf that is no tensor is returned as it is
    np.testing.assert_allclose(aux["norm"].item(), torch_aux["norm"].item(), rtol=1e-12)
    assert not aux["norm"].requires_grad  # returned, not differentiated: detached as grad's


def test_several_argnums_with_aux_match_torch() -> None:
    torch = pytest.importorskip("torch")

    def f(x, w):
        out = w @ x[:2]
        return out, out.sum()

    jac, aux = cr.jacobian(f, argnums=(0, 1), has_aux=True)(cr.tensor(X), cr.tensor(Y))
    torch_jac, torch_aux = torch.func.jacrev(f, argnums=(0, 1), has_aux=True)(
        torch.tensor(X), torch.tensor(Y)
    )
    for got, want in zip(jac, torch_jac):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(aux.item(), torch_aux.item(), rtol=1e-12)


def test_the_hessian_with_aux_matches_finite_differences_and_torch() -> None:
    torch = pytest.importorskip("torch")

    def f(x):
        return (x**3).sum() + x[0] * x[1], x * 2

    hess, aux = cr.hessian(f, has_aux=True)(cr.tensor(X))

    def gradient_of_f(v):  # d/dx of sum(x^3) + x0 x1, in closed form
        return 3 * v**2 + np.array([v[1], v[0], 0.0])

    np.testing.assert_allclose(hess.numpy(), central_jacobian(gradient_of_f, X), atol=1e-7)
    np.testing.assert_allclose(aux.numpy(), 2 * X)
    assert not aux.requires_grad

    def torch_f(v):
        return (v**3).sum() + v[0] * v[1], v * 2

    torch_hess, torch_aux = torch.func.jacfwd(
        torch.func.jacrev(torch_f, has_aux=True), has_aux=True
    )(torch.tensor(X))  # what jax.hessian(f, has_aux=True) is
    np.testing.assert_allclose(hess.numpy(), torch_hess.numpy(), rtol=1e-12)
    np.testing.assert_allclose(aux.numpy(), torch_aux.numpy())


@pytest.mark.parametrize(
    ("transform", "name"),
    [
        (lambda f: cr.jacobian(f, has_aux=True), "jacobian"),
        (lambda f: cr.jacobian(f, mode="forward", has_aux=True), "jacobian"),
        (lambda f: cr.hessian(f, has_aux=True), "hessian"),
    ],
)
def test_a_function_that_returns_no_pair_is_refused_naming_the_transform(transform, name) -> None:
    """The same refusal as value_and_grad's (one home), named after the transform called."""
    with pytest.raises(TypeError, match=rf"^{name}: with has_aux=True the function must return "
                       r"a tuple \(output, aux\), got Tensor"):  # fmt: skip
        transform(lambda x: (x * x).sum())(cr.tensor(X))


def test_aux_that_depends_on_an_outer_variable_carries_the_outer_derivative() -> None:
    """aux is an output of its own: where it depends on an outer transform's variable it is
    recorded, as value_and_grad's is. d/dy sum(x * y) = sum(x)."""
    x = cr.tensor(X)

    def aux_of_inner(y):
        return cr.jacobian(lambda v: (v * y, (v * y).sum()), has_aux=True)(x)[1]

    np.testing.assert_allclose(cr.grad(aux_of_inner)(cr.tensor(2.0)).item(), X.sum(), rtol=1e-12)
