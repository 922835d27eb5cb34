"""Second and third derivatives of a ** b at a negative base, where the exponent's gradient is
selected away.

x ** relu(x) is the constant 1 for x < 0, so every derivative there is 0; relu's backward selects
away the exponent's gradient, which is NaN there (log of a negative base). The exponent rule put
that NaN in log a, inside its product g * (out * log a). Differentiated again, the product sent
the 0 coming back through relu's selection times the NaN to out, and out's own rule took it to
x: a NaN second derivative where PyTorch gives 0 (the "double where" problem). Now the NaN is
selected in after the product, and the selection sends the 0 back untouched.

Selected in as a constant, though, the NaN sent nothing back where a nonzero cotangent came: the
derivative in a of d(a**b)/db at a < 0 was 0, where a**b has no derivative in b and so neither
has its derivative (a Hessian [[2, nan], [0, nan]]). The NaN is now a value of g and a whose
derivatives are NaN times the cotangent, but 0 where the cotangent is 0: NaN where something
comes back, and still 0 where a selection sends back 0.

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
    # d/da_i of d/db_i is NaN too (it was 0), and nothing spreads to d/da_j of d/db_i
    crossed = hessian[n:, :n]
    assert np.isnan(np.diag(crossed)).all()
    np.testing.assert_array_equal(crossed[~np.eye(n, dtype=bool)], 0.0)
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


# ---------------------------------------------------------------------------------------------
# The cross terms: d/da of d(a**b)/db is NaN at a < 0 where a nonzero cotangent reaches it
# ---------------------------------------------------------------------------------------------

#: a negative base with an integer exponent (a real a**b), and positive bases for contrast
BASES = np.array([-2.0, -0.7, -3.7, -1.5, 0.5, 1.3])
POWERS = np.array([2.0, 3.0, -1.0, 0.0, 2.5, -0.5])


def _power_hessian(a0: np.ndarray, b0: np.ndarray) -> np.ndarray:
    """[[d2/da2, d2/da db], [d2/db da, d2/db2]] of a**b at scalars a0, b0."""
    rows = cr.hessian(lambda a, b: a**b, argnums=(0, 1))(a0, b0)
    return np.array([[entry.numpy() for entry in row] for row in rows])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_hessian_of_a_negative_base_is_nan_in_both_cross_terms(torch, dtype) -> None:
    """At a < 0, a**b has no derivative in b, so its derivative in a has none either: the
    Hessian is [[b (b-1) a**(b-2), nan], [nan, nan]], symmetric in its NaNs (the d/da of d/db
    was 0). Torch's is the same, NaNs and numbers, at every base; but at b = 0 its d/da of d/db
    is 1/a (and its d/db of d/da NaN), which is torch's asymmetry, not a derivative."""
    for a_value, b_value in zip(BASES, POWERS):
        a0, b0 = np.array(a_value, dtype), np.array(b_value, dtype)
        with np.errstate(all="raise"):  # the NaN is selected, not made by arithmetic
            found = _power_hessian(a0, b0)
        assert found.dtype == np.dtype(dtype)
        if a_value < 0:
            assert np.isnan(found[[0, 1, 1], [1, 0, 1]]).all(), (a0, b0, found)
            closed = b_value * (b_value - 1) * a_value ** (b_value - 2)
            np.testing.assert_allclose(found[0, 0], closed, rtol=1e-6)
        else:
            assert np.isfinite(found).all(), found
        if b_value == 0:
            continue
        expected = torch.autograd.functional.hessian(
            lambda a, b: a**b, (torch.tensor(a0), torch.tensor(b0))
        )
        expected = np.array([[entry.numpy() for entry in row] for row in expected])
        np.testing.assert_array_equal(np.isnan(found), np.isnan(expected), err_msg=f"a={a0}")
        np.testing.assert_allclose(found, expected, rtol=1e-6, err_msg=f"a={a0} b={b0}")


def test_third_derivatives_through_the_cross_term_are_nan_only_where_it_is() -> None:
    """d/da of d2(a**b)/db da: NaN at a < 0 (the cotangent times a derivative that does not
    exist, once more), and at a > 0 the closed form a**(b-2) (b (b-1) log a + 2b - 1)."""
    a = cr.tensor(BASES, requires_grad=True)
    b = cr.tensor(POWERS, requires_grad=True)
    (along_b,) = cr.gradient((a**b).sum(), [b], create_graph=True)
    (crossed,) = cr.gradient(along_b.sum(), [a], create_graph=True)
    (third,) = cr.gradient(crossed.sum(), [a])
    negative = BASES < 0
    assert np.isnan(crossed.numpy()[negative]).all() and np.isnan(third.numpy()[negative]).all()
    a0, b0 = BASES[~negative], POWERS[~negative]
    closed = a0 ** (b0 - 2) * (b0 * (b0 - 1) * np.log(a0) + 2 * b0 - 1)
    np.testing.assert_allclose(third.numpy()[~negative], closed, rtol=1e-12)


@pytest.mark.parametrize("shapes", [((6,), (6,)), ((3, 1), (1, 6))], ids=["same", "broadcast"])
def test_hessian_vector_products_along_the_exponent_are_nan_at_a_negative_base(torch, shapes):
    """H v with v = (0, 1): a**b has no derivative in b at a < 0, so both parts are NaN there
    (the base's part was 0) and finite at a > 0, as torch's hvp gives them; summed over a
    broadcast axis, one negative base in the sum makes the exponent's part NaN. (No exponent
    0: there torch's base rule selects its gradient away, so its d/db of d/da, 1/a, is 0.)"""
    a0, b0 = np.resize([-2.0, 1.3, -0.5], shapes[0]), np.resize([2.0, 3.0, -1.0, -2.0], shapes[1])

    def f(a, b):
        return (a**b).sum()

    along = (np.zeros_like(a0), np.ones_like(b0))
    found = [part.numpy() for part in cr.hvp(f, (a0, b0), along)]
    _, expected = torch.autograd.functional.hvp(
        f, tuple(map(torch.tensor, (a0, b0))), tuple(map(torch.tensor, along))
    )
    for got, want in zip(found, expected):
        want = want.numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_array_equal(np.isnan(found[0]), a0 < 0)
    summed_over = tuple(i for i, n in enumerate(b0.shape) if n == 1)  # a's axes b broadcasts on
    negative = np.broadcast_to(a0 < 0, (a0 * b0).shape).any(axis=summed_over, keepdims=True)
    np.testing.assert_array_equal(np.isnan(found[1]), negative)


def _library(name: str, request):
    """(module, device, dtype) of a library under test; a missing one skips."""
    pytest.importorskip("array_api_compat")
    if name.startswith("strict"):
        xs = pytest.importorskip("array_api_strict")
        device = {"strict": "CPU_DEVICE", "strict-device1": "device1"}.get(name, "no_float64")
        return xs, xs.Device(device), "float32" if device == "no_float64" else "float64"
    if name == "torch":
        return pytest.importorskip("torch"), "cpu", "float64"
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    request.addfinalizer(lambda: jax.config.update("jax_enable_x64", previous))
    return pytest.importorskip("jax.numpy"), None, "float64"


def _higher_derivatives(make) -> list[np.ndarray]:
    """d2/db da, d2/da db, d2/db2 and d3/da2 db of sum(a**b), and d2/dx2 and d3/dx3 of
    sum(x ** relu(x)), each elementwise."""
    a, b = make(BASES), make(POWERS)
    along_a, along_b = cr.gradient((a**b).sum(), [a, b], create_graph=True)
    crossed, twice_b = cr.gradient(along_b.sum(), [a, b], create_graph=True)
    found = [*cr.gradient(along_a.sum(), [b]), crossed, twice_b, *cr.gradient(crossed.sum(), [a])]
    x = make(X0)
    (slope,) = cr.gradient((x ** cr.relu(x)).sum(), [x], create_graph=True)
    (second,) = cr.gradient(slope.sum(), [x], create_graph=True)
    found += [second, *cr.gradient(second.sum(), [x])]
    return [cr.backend.to_numpy(t.data) for t in found]


#: JAX compiles each op on first use (seconds): with ``pytest -m slow``, as in test_array_api
LIBRARIES = ["strict", "strict-device1", "strict-no-float64", "torch"]
LIBRARIES += [pytest.param("jax", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", LIBRARIES)
def test_the_nan_of_the_cross_terms_on_every_library(name, request) -> None:
    """The same NaNs and numbers on each array library as on NumPy: the undefined value and its
    derivatives are computed by the library's own namespace, on its device."""
    xp, device, dtype = _library(name, request)
    expected = _higher_derivatives(lambda v: cr.tensor(v.astype(dtype), requires_grad=True))
    found = _higher_derivatives(
        lambda v: cr.tensor(v.astype(dtype), xp=xp, device=device, requires_grad=True)
    )
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for got, want in zip(found, expected):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6 if dtype == "float32" else 0)
    negative = BASES < 0
    assert np.isnan(expected[1][negative]).all() and np.isnan(expected[3][negative]).all()
    assert np.isfinite(expected[4]).all() and np.isfinite(expected[5]).all()  # double where
