"""Second and third derivatives of a ** b at a negative base, where the exponent's gradient is
selected away.

x ** relu(x) is the constant 1 for x < 0, so every derivative there is 0; relu's backward selects
away the exponent's gradient, which is NaN there (log of a negative base). The exponent rule put
that NaN in log a, inside its product g * (out * log a). Differentiated again, the product sent
the 0 coming back through relu's selection times the NaN to out, and out's own rule took it to
x: a NaN second derivative where PyTorch gives 0 (the "double where" problem). Now the NaN is
selected in after the product, and the selection sends the 0 back untouched.

The oracles: central finite differences of the first (and second) derivative in float64, where
the function is smooth (x is kept away from the kink at 0), the closed form b (b-1) a**(b-2), and
torch.autograd.grad with create_graph.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X0 = np.array([-2.0, -0.7, -0.3, 0.4, 1.3, 2.0])
NEGATIVE = X0 < 0

#: exponents whose gradient is selected away at x < 0, each with its torch twin
EXPONENTS = {
    "relu": (cr.relu, lambda torch, t: torch.relu(t)),
    "where-zero": (
        lambda x: cr.where(x.data > 0, x, 0.0),
        lambda torch, t: torch.where(t > 0, t, 0.0),
    ),
    "where-two": (  # x ** 2 for x < 0: second derivative 2, where torch's is NaN
        lambda x: cr.where(x.data < 0, 2.0, x),
        lambda torch, t: torch.where(t < 0, 2.0, t),
    ),
    "relu-plus-three": (lambda x: cr.relu(x) + 3.0, lambda torch, t: torch.relu(t) + 3.0),
}


def _derivatives(exponent, x0: np.ndarray, orders: int = 3) -> list[np.ndarray]:
    """d^k/dx^k of x ** exponent(x), elementwise, for k = 1..orders."""
    x = cr.tensor(x0, requires_grad=True)
    total = (x ** exponent(x)).sum()
    found = []
    for _ in range(orders):
        (slope,) = cr.gradient(total, [x], create_graph=True)
        found.append(slope.numpy())
        total = slope.sum()
    return found


def _torch_derivatives(torch, exponent, x0: np.ndarray) -> list[np.ndarray]:
    t = torch.tensor(x0, requires_grad=True)
    total = (t ** exponent(torch, t)).sum()
    found = []
    for _ in range(3):
        (slope,) = torch.autograd.grad(total, t, create_graph=True)
        found.append(slope.detach().numpy())
        total = slope.sum()
    return found


@pytest.mark.parametrize("name", list(EXPONENTS))
def test_higher_derivatives_match_finite_differences_of_the_one_below(name) -> None:
    exponent, _ = EXPONENTS[name]
    with np.errstate(all="raise"):  # and nothing on the way makes a NaN (0 * NaN is silent)
        found = _derivatives(exponent, X0)
    h = 1e-6
    below = [_derivatives(exponent, X0 + s * h, orders=2) for s in (1, -1)]
    for order in (2, 3):
        central = (below[0][order - 2] - below[1][order - 2]) / (2 * h)
        assert np.isfinite(found[order - 1]).all(), (order, found[order - 1])
        np.testing.assert_allclose(found[order - 1], central, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(EXPONENTS))
def test_derivatives_match_torch_where_its_are_finite(torch, name) -> None:
    """The first derivative as torch's, NaN pattern included; the second and third wherever
    torch's are finite (torch's own are NaN at x < 0 for where-two and relu-plus-three, and its
    third at x < 0 for all: a NaN from log of the negative base reaches x there)."""
    exponent, torch_exponent = EXPONENTS[name]
    found = _derivatives(exponent, X0)
    expected = _torch_derivatives(torch, torch_exponent, X0)
    np.testing.assert_allclose(found[0], expected[0], rtol=1e-13)
    for order in (2, 3):
        finite = np.isfinite(expected[order - 1])
        np.testing.assert_allclose(
            found[order - 1][finite], expected[order - 1][finite], rtol=1e-12, atol=1e-15
        )
        assert np.isfinite(found[order - 1][NEGATIVE]).all(), (order, found[order - 1])


A0 = np.array([-0.5, -2.0, -3.7, -0.5, -2.0, -3.7])
B0 = np.array([0.0, 1.0, 2.0, 3.0, -1.0, -2.0])  # integer-valued: a real a**b at a < 0


def _second_and_third_in_a(a0: np.ndarray, b0: np.ndarray) -> list[np.ndarray]:
    """d2/da2 and d3/da3 of sum(a**b), elementwise in the broadcast shape (closed forms)."""
    a, b = np.broadcast_arrays(a0.astype(np.float64), b0.astype(np.float64))
    return [b * (b - 1) * a ** (b - 2), b * (b - 1) * (b - 2) * a ** (b - 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_hessian_of_a_negative_base_to_an_integer_exponent_in_one_vector(torch, dtype):
    """x holds bases and exponents, as a parameter vector would: d2f/da2 is the closed form
    b (b-1) a**(b-2) (it was NaN: the zero cotangent that the exponents' half of the gradient
    gets in the base's row met the NaN of d/db); every entry with a derivative in b stays NaN,
    and d/db itself is NaN whatever its cotangent, 0 included, as in torch."""
    n = A0.size
    x0 = np.concatenate([A0, B0]).astype(dtype)
    hessian = cr.hessian(lambda x: (x[:n] ** x[n:]).sum())(x0).numpy()
    assert hessian.dtype == np.dtype(dtype)
    np.testing.assert_allclose(np.diag(hessian[:n, :n]), _second_and_third_in_a(A0, B0)[0], 1e-5)
    np.testing.assert_array_equal(hessian[:n, :n] - np.diag(np.diag(hessian[:n, :n])), 0.0)
    assert np.isnan(np.diag(hessian[:n, n:])).all() and np.isnan(np.diag(hessian[n:, n:])).all()
    expected = torch.autograd.functional.hessian(
        lambda t: (t[:n] ** t[n:]).sum(), torch.tensor(x0)
    ).numpy()
    finite = np.isfinite(expected[:n, :n])
    np.testing.assert_allclose(hessian[:n, :n][finite], expected[:n, :n][finite], rtol=1e-5)
    a, b = cr.tensor(A0, requires_grad=True), cr.tensor(B0, requires_grad=True)
    (slope_b,) = cr.gradient(a**b, [b], cr.tensor(np.linspace(0.0, 1.0, n)))
    assert np.isnan(slope_b.numpy()).all()  # the first derivative, unchanged


@pytest.mark.parametrize("shapes", [((6,), (6,)), ((3, 1), (1, 6))], ids=["same", "broadcast"])
def test_hessian_vector_products_along_a_negative_base(shapes) -> None:
    """H v with v = (1, 0): 0 along the exponents, so the gradient in b is weighted by 0 and
    its NaN must not reach the base's part; that part is d2/da2 summed over b's axes, and its
    own derivative in a, d3/da3 (finite differences of the part confirm it)."""
    a0, b0 = np.resize(A0[:3], shapes[0]), np.resize(B0, shapes[1])

    def f(a, b):
        return (a**b).sum()

    along_a, along_b = np.ones_like(a0), np.zeros_like(b0)
    part, _ = cr.hvp(f, (a0, b0), (along_a, along_b))
    summed_over = tuple(i for i, n in enumerate(a0.shape) if n == 1)  # b's axes a broadcasts on
    second, third = (
        form.sum(axis=summed_over, keepdims=True) for form in _second_and_third_in_a(a0, b0)
    )
    np.testing.assert_allclose(part.numpy(), second, rtol=1e-12)
    h = 1e-6
    parts = [cr.hvp(f, (a0 + s * h, b0), (along_a, along_b))[0].numpy() for s in (1, -1)]
    np.testing.assert_allclose((parts[0] - parts[1]) / (2 * h), third, rtol=1e-5)
