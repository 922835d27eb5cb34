"""NumPy meeting a tensor. ``arr * t`` is NumPy's ``np.multiply(arr, t)``: it gives what the
tensor's reflected operator gives (``t.__rmul__(arr)``), recorded for backward, whether the
operator or the ufunc is written. Any other ufunc (the lecture's logistic unit written
``1 / (1 + np.exp(-z))``), ``out=`` (``arr += t``) or a ufunc method (``np.add.reduce``) is
refused naming chainrule's function: it was refused in NumPy's words alone ("operand 'Tensor'
does not support ufuncs"), naming neither chainrule nor the fix."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(65)
T = np.array([[0.7, 1.3], [2.1, 0.4]])  # positive: a power's base and exponent
ARR = np.array([[1.5, 0.6], [0.9, 2.2]])
WEIGHTS = RNG.normal(size=(2, 2))

# the operator with the array or NumPy scalar on the left (on arrays too: the finite
# differences), the ufunc NumPy calls for it, and the tensor's reflected operator
OPERATORS = {
    "add": (lambda a, t: a + t, np.add, "__radd__"),
    "subtract": (lambda a, t: a - t, np.subtract, "__rsub__"),
    "multiply": (lambda a, t: a * t, np.multiply, "__rmul__"),
    "true_divide": (lambda a, t: a / t, np.true_divide, "__rtruediv__"),
    "power": (lambda a, t: a**t, np.power, "__rpow__"),
    "matmul": (lambda a, t: a @ t, np.matmul, "__rmatmul__"),
}
LEFTS = {
    "ndarray": ARR,
    "float64 scalar": np.float64(2.5),
    "float32 scalar": np.float32(0.5),
    "0-d array": np.array(1.75),
}


def _central_differences(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    ("name", "left"),
    [(n, k) for n in OPERATORS for k in LEFTS if n != "matmul" or k == "ndarray"],  # @ scalar
)
def test_an_operator_with_numpy_on_the_left_gives_the_reflected_operators_result(
    name: str, left: str
) -> None:
    operator, ufunc, reflected = OPERATORS[name]
    a = LEFTS[left]
    expected = _central_differences(lambda x: float((operator(a, x) * WEIGHTS).sum()), T)
    for form in (operator, ufunc):  # a * t, and np.multiply(a, t) that NumPy calls for it
        t = cr.tensor(T, requires_grad=True)
        y = form(a, t)
        same = getattr(cr.tensor(T, requires_grad=True), reflected)(a)  # t on the left
        assert type(y) is cr.Tensor and y.requires_grad and y.op == same.op
        assert y.dtype == same.dtype
        np.testing.assert_array_equal(y.numpy(), same.numpy())
        (y * WEIGHTS).sum().backward()
        np.testing.assert_allclose(t.grad, expected, rtol=1e-6, atol=1e-8)


COMPARISONS = {
    "less": (lambda a, t: a < t, np.less),
    "less_equal": (lambda a, t: a <= t, np.less_equal),
    "greater": (lambda a, t: a > t, np.greater),
    "greater_equal": (lambda a, t: a >= t, np.greater_equal),
    "equal": (lambda a, t: a == t, np.equal),
    "not_equal": (lambda a, t: a != t, np.not_equal),
}


@pytest.mark.parametrize("name", COMPARISONS, ids=str)
def test_a_comparison_with_numpy_on_the_left_gives_a_plain_array(name: str) -> None:
    operator, ufunc = COMPARISONS[name]
    a = np.array([[0.7, 0.0], [2.1, 5.0]])  # equal, less and greater than T somewhere
    t = cr.tensor(T, requires_grad=True)
    for form in (operator, ufunc):
        result = form(a, t)
        assert type(result) is np.ndarray and result.dtype == bool
        np.testing.assert_array_equal(result, operator(a, T))
        np.testing.assert_array_equal(form(np.float64(0.7), t), operator(0.7, T))


def test_the_operators_ufunc_with_the_tensor_first_is_the_tensors_operator() -> None:
    t = cr.tensor(T, requires_grad=True)
    y = np.subtract(t, ARR)  # t - ARR, not ARR - t
    np.testing.assert_array_equal(y.numpy(), T - ARR)
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones_like(T))
    np.testing.assert_array_equal(np.less(t, ARR), T < ARR)


def test_the_newcomers_logistic_unit_is_refused_naming_cr_exp() -> None:
    z = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^np\.exp on a chainrule Tensor: .*use cr\.exp\(t\)$"):
        1 / (1 + np.exp(-z))
    # chainrule's own function gives the unit, and its gradient y (1 - y)
    y = 1 / (1 + cr.exp(-z))
    y.sum().backward()
    s = 1 / (1 + np.exp(-np.array([1.0, 2.0])))
    np.testing.assert_allclose(z.grad, s * (1 - s), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda t: np.log(t), "use cr.log(t)"),
        (lambda t: np.tanh(t), "use cr.tanh(t)"),
        (lambda t: np.sqrt(t), "use cr.sqrt(t)"),
        (lambda t: np.maximum(t, 0.0), "use cr.maximum(a, b)"),
        (lambda t: np.minimum(ARR, t), "use cr.minimum(a, b)"),
        (lambda t: np.absolute(t), "use cr.abs(t)"),
    ],
)
def test_any_other_ufunc_is_refused_naming_chainrules_function(call, named: str) -> None:
    for requires_grad in (True, False):  # no gradient wanted: still no NumPy ufunc on a tensor
        t = cr.tensor(T, requires_grad=requires_grad)
        with pytest.raises(TypeError, match=r"^np\.\w+ on a chainrule Tensor: ") as refused:
            call(t)
        assert str(refused.value).endswith(named)
        assert "does not support ufuncs" in str(refused.value)  # the engine's mark (s59)


def test_a_ufunc_chainrule_lacks_says_to_use_the_values() -> None:
    t = cr.tensor(T, requires_grad=True)
    with pytest.raises(TypeError, match=r"^np\.arctan on a chainrule Tensor: .*no arctan") as no:
        np.arctan(t)
    assert "np.arctan on t.numpy() where no gradient is wanted" in str(no.value)
    np.testing.assert_array_equal(np.arctan(t.numpy()), np.arctan(T))


def test_np_sin_names_chainrules_sin() -> None:
    """sin became an op (session 70): np.sin on a tensor names it, as np.exp names cr.exp."""
    t = cr.tensor(T, requires_grad=True)
    with pytest.raises(TypeError, match=r"^np\.sin on a chainrule Tensor: .*cr\.sin\(t\)"):
        np.sin(t)


def test_out_and_ufunc_methods_are_refused_clearly() -> None:
    t = cr.tensor(T, requires_grad=True)
    buffer = np.zeros_like(T)
    with pytest.raises(
        TypeError, match=r"^np\.add on a chainrule Tensor with out= .*arr = arr \+ t"
    ):
        np.add(ARR, t, out=buffer)
    with pytest.raises(TypeError, match=r"^np\.multiply .*with out= \(as `arr \*= t` asks\)"):
        buffer *= t
    np.testing.assert_array_equal(buffer, 0.0)  # nothing written
    with pytest.raises(TypeError, match=r"^np\.exp on a chainrule Tensor: .*cr\.exp\(t\)$"):
        np.exp(t, out=buffer)
    with pytest.raises(TypeError, match=r"^np\.add\.reduce on a chainrule Tensor: .*cr\.sum\(t\)$"):
        np.add.reduce(t)
    for method in (
        lambda: np.add.accumulate(t),
        lambda: np.multiply.outer(ARR, t),
        lambda: np.add.at(t, [0], 1.0),
    ):
        with pytest.raises(TypeError, match=r"^np\.(add|multiply)\.\w+ on a chainrule Tensor"):
            method()
