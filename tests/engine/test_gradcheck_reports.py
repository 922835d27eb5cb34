"""What gradcheck refuses (complex inputs, outputs that are not tensors, a random f), that it
checks the point it was given (an f that writes into its input), and how its report names the
compared entries (which output and where in it; at order 2, the entries of J^T u)."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, array_of, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


# d(x^2)/dx written as x instead of 2x: wrong at first order.
bad_square = _register_once(
    "test_gradcheck_reports_bad_square", lambda x: x * x, lambda g, out, x: g * x
)
# d(x^3)/dx right in value but built from a plain array: right at first order, 0 at second.
frozen_cube = _register_once(
    "test_gradcheck_reports_frozen_cube",
    lambda x: x**3,
    lambda g, out, x: g * (3 * array_of(x) ** 2),
)

X = np.array([1.5, -0.5, 2.0])
ENTRY = re.compile(r"d (?P<out>.+) / d input (?P<input>\d+)(?P<at>\[[\d, ]*\])?")


def _at(text: str | None) -> tuple:
    return tuple(ast.literal_eval(text)) if text else ()


def _as_numbers(tree):
    """f's output with each tensor as a NumPy array, for indexing by the report's names."""
    if isinstance(tree, dict):
        return {key: _as_numbers(value) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_as_numbers(value) for value in tree)
    return tree.numpy()


def _difference_of_named_entry(f, inputs, where: str, eps: float = 1e-6) -> float:
    """The oracle: d (the output entry ``where`` names) / d (the input entry it names), by
    central differences on the output the name picks out of f's own return value."""
    found = ENTRY.fullmatch(where)
    assert found, where
    index, at = int(found["input"]), _at(found["at"])

    def named_entry(step: float) -> float:
        moved = [np.array(x, dtype=float) for x in inputs]
        moved[index][at] += step
        out = _as_numbers(f(*[cr.tensor(x) for x in moved]))
        return float(eval(found["out"], {"out": out}))  # the name is the Python path

    return (named_entry(eps) - named_entry(-eps)) / (2 * eps)


# --- 1. complex inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "complex_input",
    [
        np.array([1.0 + 2.0j, -0.5j]),
        [1.0 + 2.0j, 3.0],  # a list of numbers was "not an array of numbers"
        2.0 - 1.0j,
        cr.tensor(np.array([1.0 + 0.5j])),
    ],
    ids=["ndarray", "list", "number", "tensor"],
)
def test_a_complex_input_is_refused_naming_it_and_its_dtype(complex_input) -> None:
    """It was cast to float64 (its imaginary part dropped) and reported "passed" for that
    other point."""
    calls = []

    def f(x, z):
        calls.append(z)
        return x * z

    with pytest.raises(TypeError, match=r"^gradcheck: input 1 is complex128: complex numbers"):
        cr.gradcheck(f, [X[:1], complex_input])
    assert calls == []  # refused before f ran


def test_a_complex_torch_input_is_refused() -> None:
    torch = pytest.importorskip("torch")
    z = torch.tensor([1.0 + 2.0j], dtype=torch.complex128)
    with pytest.raises(TypeError, match=r"^gradcheck: input 0 is complex128: complex numbers"):
        cr.gradcheck(lambda x: x * x, [z])


def test_a_complex_output_is_refused_naming_its_dtype() -> None:
    """Compared on the host as float64, only its real part was differenced."""
    with pytest.raises(TypeError, match=r"^gradcheck: f returns complex128: complex numbers"):
        cr.gradcheck(lambda x: x * (1.0 + 2.0j), [X])


# --- 2. entries named by output and position ---------------------------------------------------


def _several_outputs(a, b):
    return a * 2.0, {"e": bad_square(b), "d": cr.sum(a * a)}


def test_entries_are_named_by_output_and_position_in_it() -> None:
    """One flat index over all outputs (d out[9] / ...) named nothing a user could look up."""
    a, b = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([[1.0, 2.0, -3.0], [0.5, 1.5, 4.0]])
    report = cr.gradcheck(_several_outputs, [a, b])
    assert len(report.entries) == (4 + 1 + 6) * (4 + 6)
    for entry in report.entries:
        oracle = _difference_of_named_entry(_several_outputs, [a, b], entry.where)
        assert entry.numeric == pytest.approx(oracle, abs=1e-6), entry.where
    # the wrong rule is out[1]['e']'s: each entry fails against its own element of b
    failing = {m.where for m in report.failures()}
    expected = {
        f"d out[1]['e'][{i}, {j}] / d input 1[{i}, {j}]" for i in range(2) for j in range(3)
    }
    assert failing == expected
    for entry in report.failures():
        i, j = _at(ENTRY.fullmatch(entry.where)["at"])
        assert entry.analytic == pytest.approx(b[i, j]) and entry.numeric == pytest.approx(
            2 * b[i, j], rel=1e-6
        )
    assert "d out[1]['e'][" in str(report)


def test_a_lone_output_is_out_and_a_0d_input_has_no_position() -> None:
    x = np.float64(0.7)
    report = cr.gradcheck(lambda t: (cr.tanh(t), cr.exp(t) * np.ones((2, 2))), [x])
    names = [m.where for m in report.entries]
    assert names == [
        "d out[0] / d input 0",
        "d out[1][0, 0] / d input 0",
        "d out[1][0, 1] / d input 0",
        "d out[1][1, 0] / d input 0",
        "d out[1][1, 1] / d input 0",
    ]
    grid = np.array([[0.3, -1.0], [2.0, 0.5]])
    report = cr.gradcheck(lambda t: bad_square(t), [grid])
    assert report.where == "d out[1, 0] / d input 0[1, 0]"  # the entry of x = 2.0


# --- 3. order 2 names the entries of J^T u ----------------------------------------------------


def _cube_and_square(a, b):
    return frozen_cube(a), b * b


def test_order_two_names_the_entries_of_j_transpose_u_not_outputs_of_f() -> None:
    """The second stage's entries were labelled d out[k] / ..., as if they were f's."""
    a, b = X, np.array([[0.5, -1.0], [1.5, 2.0]])
    report = cr.gradcheck(_cube_and_square, [a, b], order=2)
    assert not report.ok
    first = {m.where: m for m in report.entries if m.where.endswith(", create_graph")}
    second = [m for m in report.entries if not m.where.endswith(", create_graph")]
    assert len(first) == a.size + b.size and len(second) == (a.size + b.size) ** 2
    assert not any(m.where.startswith("d out") for m in report.entries)
    # J^T u is u0 * 3a^2 for input 0 and 2 u1 * b for input 1: the first stage reads u off
    u0 = [first[f"(J^T u)[input 0][{i}], create_graph"].numeric / (3 * a[i] ** 2) for i in range(3)]
    u1 = {
        (i, j): first[f"(J^T u)[input 1][{i}, {j}], create_graph"].numeric / (2 * b[i, j])
        for i in range(2)
        for j in range(2)
    }
    # and the second stage's numbers are its derivatives, 6 u0 a and 2 u1 on the diagonals
    pattern = re.compile(r"d \(J\^T u\)\[input (\d)\](\[[\d, ]*\]) / d input (\d)(\[[\d, ]*\])")
    for entry in second:
        found = pattern.fullmatch(entry.where)
        assert found, entry.where
        of, at, by, by_at = int(found[1]), _at(found[2]), int(found[3]), _at(found[4])
        expected = 0.0
        if (of, at) == (by, by_at):
            expected = 6 * u0[at[0]] * a[at] if of == 0 else 2 * u1[at]
        assert entry.numeric == pytest.approx(expected, abs=1e-6), entry.where
    # the frozen rule's second derivatives (input 0's diagonal) are the failures
    assert {m.where for m in report.failures()} == {
        f"d (J^T u)[input 0][{i}] / d input 0[{i}]" for i in range(3)
    }


def test_order_two_random_mode_marks_the_derivatives_of_j_transpose_u() -> None:
    report = cr.gradcheck(lambda x: frozen_cube(x), [X], order=2, mode="random")
    assert not report.ok and report.failures()
    assert all(m.where.endswith(", derivatives of J^T u") for m in report.failures())
    first_order = cr.gradcheck(lambda x: bad_square(x), [X], mode="random")
    assert not any("J^T u" in m.where for m in first_order.entries)


# --- 4. a random f -----------------------------------------------------------------------------


def test_a_random_f_is_refused_as_not_deterministic_not_blamed_on_the_gradient() -> None:
    """Dropout in training mode failed the check with differences of 1e6, as a wrong rule."""
    dropout = cr.nn.Dropout(0.5, rng=0)
    x = np.linspace(0.5, 2.0, 8)
    with pytest.raises(ValueError, match=r"^gradcheck: f is not deterministic") as refused:
        cr.gradcheck(lambda t: dropout(t) * t, [x])
    assert "model.eval()" in str(refused.value) and "seed" in str(refused.value)
    dropout.eval()
    assert cr.gradcheck(lambda t: dropout(t) * t, [x]).ok


def test_noise_too_small_to_move_a_difference_is_let_pass() -> None:
    """A device summing in another order differs in the last digits: that is not randomness
    a finite difference can see (1e-14 / eps = 1e-8, far below atol)."""
    rng = np.random.default_rng(0)
    report = cr.gradcheck(lambda t: t * t + cr.tensor(1e-14 * rng.standard_normal(3)), [X])
    assert report.ok


def test_the_determinism_check_adds_no_evaluation_of_f() -> None:
    """f runs twice at the point (the two compared calls), once per output row of the Jacobian
    and twice per input entry for its differences: as many calls as before the check."""
    calls = []

    def f(t):
        calls.append(1)
        return cr.tanh(t)

    assert cr.gradcheck(f, [X]).ok
    assert len(calls) == 2 + X.size + 2 * X.size


# --- 5. outputs that are not tensors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "said"),
    [
        (lambda x: x.numpy() * 2.0, "it returned a numpy.ndarray"),
        (lambda x: 3.0, "it returned a float"),
        (lambda x: None, "it returned None"),
        (lambda x: (x * 2.0, np.sin(x.numpy())), "its output out[1] is a numpy.ndarray"),
        (lambda x: {"b": 1.5, "a": x * 2.0}, "its output out['b'] is a float"),
        (lambda x: (), "it returned a tuple with no tensor in it"),
    ],
    ids=["ndarray", "float", "None", "tuple-with-array", "dict-with-number", "empty"],
)
def test_an_output_that_is_not_a_tensor_is_refused_naming_its_type(f, said) -> None:
    """A NumPy result was compared as a gradient of 0 against its differences, and a number
    passed (its differences are 0 too)."""
    with pytest.raises(TypeError) as refused:
        cr.gradcheck(f, [X])
    message = str(refused.value)
    assert message.startswith("gradcheck: f must return chainrule tensors computed from its inputs")
    assert said in message, message


# --- 6. an f that writes into its input ----------------------------------------------------------


def _exp_then_double_the_input(x):
    y = cr.exp(x)  # its rule reads its output, not x
    x.data[...] *= 2.0  # then f writes into its input
    return y


@pytest.mark.parametrize("order", [1, 2])
def test_an_f_that_writes_into_its_input_is_checked_at_the_point_given(order) -> None:
    """The base point's arrays were handed to f: each call doubled them, and the check ran at
    4x, 8x, ... (analytic exp(6) = 403 where exp(1.5) = 4.48 is due)."""
    given = X.copy()
    report = cr.gradcheck(_exp_then_double_the_input, [given], order=order, raise_on_failure=True)
    np.testing.assert_array_equal(given, X)
    if order == 1:
        on_diagonal = re.compile(r"d out\[(\d)\] / d input 0\[\1\]")
        diagonal = [m.analytic for m in report.entries if on_diagonal.fullmatch(m.where)]
        np.testing.assert_allclose(diagonal, np.exp(X), rtol=1e-12)
    else:  # J^T u = u exp(x), its derivative's diagonal the same: their ratio is 1 at X
        first = [m.analytic for m in report.entries if m.where.endswith("create_graph")]
        second = [
            m.analytic
            for m in report.entries
            if re.fullmatch(r"d \(J\^T u\)\[input 0\]\[(\d)\] / d input 0\[\1\]", m.where)
        ]
        np.testing.assert_allclose(second, first, rtol=1e-9)
        assert not np.allclose(first, 0.0)
    for mode in ("full", "random"):
        assert cr.gradcheck(_exp_then_double_the_input, [X], order=order, mode=mode)
