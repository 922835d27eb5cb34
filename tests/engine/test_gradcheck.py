"""The gradient checker: it passes right rules and catches wrong ones, at first and second order."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.ops.registry import REGISTRY, array_of, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


# d(x^2)/dx written as x instead of 2x: wrong at first order.
bad_square = _register_once(
    "test_gradcheck_bad_square",
    lambda x: x * x,
    lambda g, out, x: g * x,
)
# d(x^3)/dx = 3x^2 is right in value, but built from a constant array, so the rule itself has no
# derivative: right at first order, wrong at second order (it says 0 where 6x is due).
frozen_cube = _register_once(
    "test_gradcheck_frozen_cube",
    lambda x: x**3,
    lambda g, out, x: g * (3 * array_of(x) ** 2),  # a plain array: no derivative recorded
)
# A wrong rule for the second input of a binary primitive only.
bad_second_input = _register_once(
    "test_gradcheck_bad_second_input",
    lambda a, b: a * b,
    lambda g, out, a, b: g * b,
    lambda g, out, a, b: g * b,  # should be g * a
)

# a + b with b of shape (n, 1) broadcast along axis 1; b's rule forgets keepdims=True.
dropped_keepdims = _register_once(
    "test_gradcheck_dropped_keepdims",
    lambda a, b: a + b,
    lambda g, out, a, b: g,
    lambda g, out, a, b: g.sum(axis=1),  # shape (n,): should be g.sum(axis=1, keepdims=True)
)
# x of shape (n,) broadcast to (2, n); the rule forgets to sum over the new axis.
unreduced_broadcast = _register_once(
    "test_gradcheck_unreduced_broadcast",
    lambda x: np.broadcast_to(2 * x, (2,) + x.shape).copy(),
    lambda g, out, x: g * 2,  # shape (2, n): should be (g * 2).sum(axis=0)
)

# d(x^2)/dx with its sign flipped: as large as the right one, the other way (the commonest slip
# of a hand-written rule; a comparison of sizes alone would pass it).
negated_square = _register_once(
    "test_gradcheck_negated_square",
    lambda x: x * x,
    lambda g, out, x: -2 * g * x,
)
# Right at first order, its second order (the rule's own derivative) negated: -2 g where 2 g is due.
negated_square_slope = _register_once(
    "test_gradcheck_negated_square_slope",
    lambda x: x * x,
    lambda g, out, x: g * (4 * array_of(x)) - 2 * g * x,  # 2x in value, -2 in slope
)

X = np.array([1.5, -0.5, 2.0])


def test_passes_for_correct_functions() -> None:
    report = cr.gradcheck(lambda x: cr.sigmoid(x) * x, [X])
    assert report.ok and bool(report)
    assert report.max_abs_error < 1e-8 and report.mode == "full" and report.order == 1
    assert "passed" in str(report)
    assert len(report.entries) == 9  # a 3 x 3 Jacobian, every entry compared


def test_passes_with_several_inputs_and_outputs() -> None:
    def f(a, b):
        return a @ b, cr.tanh(a).sum(), {"c": b * 2.0}

    report = cr.gradcheck(f, [np.ones((2, 3)) * 0.3, np.arange(6.0).reshape(3, 2) / 6])
    assert report.ok, str(report)
    assert len(report.entries) == (4 + 1 + 6) * (6 + 6)


def test_a_wrong_first_derivative_fails_with_values_side_by_side() -> None:
    report = cr.gradcheck(lambda x: bad_square(x), [X])
    assert not report.ok and not bool(report)
    assert report.max_abs_error == pytest.approx(2.0, rel=1e-6)  # |x - 2x| at x = 2
    assert report.where == "d out[2] / d input 0[2]"
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(lambda x: bad_square(x), [X], raise_on_failure=True)
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert "FAILED" in message and "analytic" in message and "numeric" in message
    # the row for x = 1.5: analytic 1.5, numeric 3 (= 2x), difference 1.5
    assert re.search(r"d out\[0\] / d input 0\[0\]\s+1\.5\s+3(\.0*)?\s+1\.5", message), message
    # off-diagonal zeros agree, so they are not shown as failures
    assert "d out[1] / d input 0[0]" not in message


@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_rule_with_its_sign_flipped_fails(mode) -> None:
    report = cr.gradcheck(lambda x: negated_square(x).sum(), [X], mode=mode)
    assert not report.ok
    if mode == "full":  # analytic -2x beside numeric 2x: an error of 4|x|, 8 at x = 2
        assert report.max_abs_error == pytest.approx(8.0, rel=1e-6)
    assert cr.gradcheck(lambda x: (x * x).sum(), [X], mode=mode).ok


def test_a_second_order_with_its_sign_flipped_fails() -> None:
    assert cr.gradcheck(lambda x: negated_square_slope(x).sum(), [X]).ok  # first order right
    report = cr.gradcheck(lambda x: negated_square_slope(x).sum(), [X], order=2)
    assert not report.ok and report.order == 2


def test_a_wrong_rule_for_one_input_is_located() -> None:
    a, b = np.array([0.5, 1.0]), np.array([2.0, -3.0])
    report = cr.gradcheck(lambda a, b: bad_second_input(a, b), [a, b])
    assert not report.ok
    failing = {m.where.split(" d input ")[1][0] for m in report.failures()}
    assert failing == {"1"}  # input 0's rule is right


def test_random_mode_catches_the_wrong_rule_and_passes_the_right_one() -> None:
    big = np.linspace(-1.0, 1.0, 50) + 0.01
    bad = cr.gradcheck(lambda x: bad_square(x), [big], mode="random", n_directions=3)
    assert not bad.ok and len(bad.entries) == 3
    assert bad.where.startswith("direction")
    good = cr.gradcheck(lambda x: (x * x).sum() * cr.sigmoid(x), [big], mode="random")
    assert good.ok and good.mode == "random"
    with pytest.raises(cr.GradcheckError, match="random mode"):
        cr.gradcheck(lambda x: bad_square(x), [big], mode="random", raise_on_failure=True)


def test_order_two_catches_a_rule_that_is_right_but_not_differentiable() -> None:
    assert cr.gradcheck(lambda x: frozen_cube(x), [X]).ok
    report = cr.gradcheck(lambda x: frozen_cube(x), [X], order=2)
    assert not report.ok and report.order == 2
    assert cr.gradcheck(lambda x: x**3, [X], order=2).ok


def _cube_with_slope(x):
    return x**3, 3 * x * x  # saves=True: the forward hands the rule its slope


def _cube_rule_wrong_in_tensor_mode(g, out, x, saved):
    if saved is None:  # tensor mode (create_graph) recomputes the slope, with a slip
        saved = 3.3 * x * x
    return g * saved


# Right on arrays, wrong (and smooth) in tensor mode: what create_graph, Hessians and forward
# mode run. Its tensor mode agrees with its own derivatives; only its values show the slip.
_CUBE = "test_gradcheck_cube_wrong_in_tensor_mode"
cube_wrong_in_tensor_mode = (
    REGISTRY[_CUBE]
    if _CUBE in REGISTRY
    else primitive(_CUBE, _cube_with_slope, _cube_rule_wrong_in_tensor_mode, saves=True)
)


@pytest.mark.parametrize("mode", ["full", "random"])
def test_order_two_checks_the_tensor_modes_values_not_only_their_derivatives(mode) -> None:
    def f(x):
        return cube_wrong_in_tensor_mode(x)

    assert cr.gradcheck(f, [X]).ok  # the array mode is right
    report = cr.gradcheck(f, [X], order=2, mode=mode)
    assert not report.ok
    assert "create_graph" in report.where
    assert cr.gradcheck(lambda x: x**3, [X], order=2, mode=mode).ok


def test_order_two_of_a_network_layer() -> None:
    rng = np.random.default_rng(0)
    y, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    report = cr.gradcheck(lambda y, w: cr.sigmoid(y @ w), [y, w], order=2)
    assert report.ok, str(report)


def test_float32_inputs_warn_and_are_checked_in_float64() -> None:
    x32 = X.astype(np.float32)
    with pytest.warns(UserWarning, match="input 0 is float32, too coarse for finite differences"):
        report = cr.gradcheck(lambda x: cr.exp(x), [x32])
    assert report.ok
    with pytest.warns(UserWarning, match="float32"):
        cr.gradcheck(lambda x: cr.exp(x), [cr.tensor(x32)])


def test_tolerances_decide() -> None:
    # a rule wrong by a relative 1e-4 passes a loose check and fails a tight one
    slightly_off = _register_once(
        "test_gradcheck_slightly_off",
        lambda x: x * 2.0,
        lambda g, out, x: g * 2.0002,
    )
    assert cr.gradcheck(lambda x: slightly_off(x), [X], rtol=1e-3).ok
    assert not cr.gradcheck(lambda x: slightly_off(x), [X], rtol=1e-6, atol=1e-9).ok


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="mode must be 'full' or 'random', not 'fast'"):
        cr.gradcheck(lambda x: x, [X], mode="fast")
    with pytest.raises(ValueError, match="order must be 1 or 2, not 3"):
        cr.gradcheck(lambda x: x, [X], order=3)


@pytest.mark.parametrize("n_directions", [0, -2, True, 2.0, "3"])
def test_n_directions_must_be_a_whole_number_of_at_least_one(n_directions) -> None:
    """0 or fewer directions compared nothing and passed ("nowhere (no entries)")."""
    with pytest.raises(ValueError, match=r"gradcheck: n_directions must be"):
        cr.gradcheck(lambda x: bad_square(x), [X], mode="random", n_directions=n_directions)


def test_n_directions_counts_the_directions_compared() -> None:
    report = cr.gradcheck(lambda x: x * x, [X], mode="random", n_directions=np.int64(1))
    assert report.ok and len(report.entries) == 1


def test_gradcheck_inside_no_grad_checks_the_real_derivatives() -> None:
    """The analytic side needs the graph even when the caller turned recording off."""
    with cr.no_grad():
        assert cr.gradcheck(lambda x: (x**3).sum(), [[0.5, -1.0, 2.0]])
        assert cr.gradcheck(lambda x: (x**3).sum(), [[0.5, -1.0, 2.0]], order=2)
        assert not cr.gradcheck(lambda x: bad_square(x).sum(), [[0.5, -1.0, 2.0]])


def _wrong_shape_message(f, inputs, mode: str) -> str:
    """What checking a rule that returns a gradient of the wrong shape says: a failed check
    (a GradcheckError with raise_on_failure), or the engine's own ShapeError if the engine
    refuses the gradient before the check sees it."""
    try:
        report = cr.gradcheck(f, inputs, mode=mode)
    except ShapeError as refused:
        return str(refused)
    assert not report.ok and not bool(report)
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(f, inputs, mode=mode, raise_on_failure=True)
    assert str(caught.value) == str(report)
    return str(report)


@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_gradient_of_the_wrong_shape_fails_naming_the_input_and_shapes(mode: str) -> None:
    """Flattened (full mode) or broadcast (random mode), right values in a wrong shape compared
    equal, and an unreduced broadcast crashed in NumPy."""
    a, b = np.arange(12.0).reshape(3, 4), np.array([[1.0], [2.0], [3.0]])
    message = _wrong_shape_message(lambda a, b: dropped_keepdims(a, b), [a, b], mode)
    assert "input 1" in message and "(3,)" in message and "(3, 1)" in message, message
    message = _wrong_shape_message(lambda x: unreduced_broadcast(x), [X], mode)
    assert "input 0" in message and "(2, 3)" in message and "(3,)" in message, message


def test_inputs_must_be_a_list_of_inputs() -> None:
    """A bare tensor or array would be iterated: its elements would become f's arguments."""
    for bare in (cr.tensor([3.0]), np.array([3.0, 4.0])):
        with pytest.raises(TypeError, match="gradcheck: inputs must be a tuple or list of inputs"):
            cr.gradcheck(lambda x: x * x, bare)
    assert cr.gradcheck(lambda x: x * x, (np.array([3.0, 4.0]),)).ok


LOGITS = np.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.4]])
LABELS = np.array([2, 0])


def _cross_entropy_gradient(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The closed form of d mean_i(-log softmax(z_i)[t_i]) / dz: (softmax(z) - onehot(t)) / n."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return p / len(labels)


def test_integer_labels_are_passed_unchanged_and_not_checked() -> None:
    """Labels were cast to float64 and perturbed: cross-entropy refused them as "targets of
    shape (2,)", and a function that took them would have been differentiated by them."""
    seen = []

    def loss(z, t):
        seen.append(t.data)
        return cr.softmax_cross_entropy(z, t)

    report = cr.gradcheck(loss, [LOGITS, LABELS], raise_on_failure=True)
    assert len(report.entries) == LOGITS.size  # one output, d by each logit; none by a label
    assert all(m.where.startswith("d out / d input 0[") for m in report.entries)
    expected = _cross_entropy_gradient(LOGITS, LABELS).reshape(-1)
    np.testing.assert_allclose([m.analytic for m in report.entries], expected, atol=1e-12)
    assert all(a.dtype == LABELS.dtype and np.array_equal(a, LABELS) for a in seen)
    for mode in ("full", "random"):
        assert cr.gradcheck(loss, [LOGITS, [2, 0]], order=2, mode=mode, raise_on_failure=True)


def test_checked_inputs_keep_their_positions_in_the_report() -> None:
    """The report names an input by its place in the caller's list, constants included."""
    a, b = np.array([0.5, 1.0]), np.array([2.0, -3.0])
    mask = np.array([True, False])

    def f(labels, a, mask, b):
        assert labels.dtype == np.int64 and mask.dtype == bool
        return bad_second_input(a, b)

    report = cr.gradcheck(f, [np.array([1, 0]), a, mask, b])
    assert not report.ok
    assert {m.where.split(" d input ")[1][0] for m in report.entries} == {"1", "3"}
    assert {m.where.split(" d input ")[1][0] for m in report.failures()} == {"3"}
    random = cr.gradcheck(f, [np.array([1, 0]), a, mask, b], mode="random", n_directions=2)
    assert [m.where for m in random.failures()] == ["direction 0, input 3", "direction 1, input 3"]
    assert cr.gradcheck(f, [np.array([1, 0]), a, mask, b], order=2).order == 2


def test_an_integer_tensor_is_passed_as_it_is() -> None:
    """A chainrule tensor of labels reaches f as the same object; floating tensors are checked,
    requires_grad or not (test_array_api places inputs on other libraries that way)."""
    labels = cr.tensor(LABELS)
    seen = []

    def loss(z, t):
        seen.append(t)
        return cr.softmax_cross_entropy(z, t)

    report = cr.gradcheck(loss, [cr.tensor(LOGITS), labels], raise_on_failure=True)
    assert len(report.entries) == LOGITS.size and all(t is labels for t in seen)


def test_no_input_left_to_check_is_refused() -> None:
    for inputs in ([LABELS], [np.array([True, False])], [cr.tensor(LABELS)], [[1, 2]]):
        with pytest.raises(ValueError, match="gradcheck: no input to check"):
            cr.gradcheck(lambda x: x * 2, inputs)


def test_a_nan_is_the_worst_error_and_located_where_it_is() -> None:
    """max() passed over NaN errors and the headline gave 2e-12 at d out[1] / d input 0[0]."""
    report = cr.gradcheck(lambda a: a * a, [np.array([1.0, np.nan])])
    assert not report.ok
    assert np.isnan(report.max_abs_error) and np.isnan(report.max_rel_error)
    assert report.where == "d out[1] / d input 0[1]"
    headline = str(report).splitlines()[0]
    assert (
        "max abs error nan, max rel error nan; furthest from its tolerance: d out[1] / d input 0[1]"
        in headline
    )


def test_a_nan_from_a_rule_outranks_a_large_finite_error() -> None:
    # right (2) at x[0], NaN at x[1], wrong by 5 at x[2]
    nan_rule = _register_once(
        "test_gradcheck_nan_rule",
        lambda x: x * 2.0,
        lambda g, out, x: g * np.array([2.0, np.nan, 7.0]),
    )
    report = cr.gradcheck(lambda x: nan_rule(x), [X])
    assert np.isnan(report.max_abs_error) and " d input 0[1]" in report.where
    assert "max abs error nan" in str(report)
    assert max(m.abs_error for m in report.failures() if np.isfinite(m.abs_error)) == (
        pytest.approx(5.0, rel=1e-6)
    )


def test_order_true_is_refused_not_taken_as_one():
    with pytest.raises(ValueError, match="order must be 1 or 2, not True"):
        cr.gradcheck(lambda x: x * x, [np.ones(2)], order=True)


_WRONG_SQUARE = _register_once("qa_wrong_square", lambda a: a * a, lambda g, out, a: g * 3.0 * a)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [("atol", float("inf"), ValueError), ("rtol", float("inf"), ValueError),
     ("atol", -1.0, ValueError), ("atol", float("nan"), ValueError), ("eps", 0.0, ValueError),
     ("eps", float("nan"), ValueError), ("eps", "1e-6", TypeError), ("atol", None, TypeError),
     ("rtol", True, TypeError), ("eps", 1j, TypeError)],
)  # fmt: skip
def test_a_step_or_tolerance_that_cannot_judge_is_refused_naming_it(option, value, error):
    """atol=inf passed a wrong rule (dx^2 = 3x), atol=-1 failed sigmoid's right one, eps=0
    compared NaN, and '1e-6' raised NumPy's UFuncTypeError (torch refuses negative tolerances)."""
    x = np.array([0.3, -0.7, 1.1])
    with pytest.raises(error, match=f"gradcheck: {option} must be a"):
        cr.gradcheck(lambda a: _WRONG_SQUARE(a).sum(), [x], **{option: value})
    assert not cr.gradcheck(lambda a: _WRONG_SQUARE(a).sum(), [x])


def test_the_headline_names_the_entry_furthest_outside_its_tolerance():
    """It named the largest difference, 1e-4 on a derivative of 1000 (well within rtol), while
    the failure was 5e-5 where the derivative is 0."""
    c = np.array([1000.0, 0.0])
    p = _register_once(
        "qa_where", lambda a: a * c, lambda g, out, a: g * np.array([1000.0001, 5e-5])
    )
    report = cr.gradcheck(lambda x: p(x).sum(), [np.array([0.3, 0.7])])
    assert not report.ok and [m.where for m in report.failures()] == [report.where]
    assert report.where == "d out / d input 0[1]"  # out: the one 0-d output
    assert report.max_abs_error == pytest.approx(1e-4, rel=1e-3)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([{"a": np.ones(2)}], "input 0 is a dict of arrays"),
        ([np.ones(1), (np.ones(2), np.ones(3))], "input 1 is a tuple of arrays"),
        ([(np.ones(2), np.ones(2))], "input 0 is a tuple of arrays"),
        ([[[1.0, 2.0], [3.0]]], "input 0 is not an array of numbers"),
    ],
)
def test_an_input_that_is_not_one_array_is_refused_naming_it(inputs, message) -> None:
    """The transforms take nested arguments, gradcheck one array per argument: a tuple of two
    (2,) arrays reached f as one (2, 2) tensor, a dict was "float() argument must be ..."."""
    with pytest.raises(TypeError, match=rf"^gradcheck: {message}"):
        cr.gradcheck(lambda *args: cr.sum(args[0]), inputs)
    assert cr.gradcheck(lambda x: cr.sum(x * x), [[[0.5, -1.0]]])  # nested numbers: one array


def test_an_output_coarser_than_the_float64_inputs_warns_naming_its_dtype() -> None:
    """f casting to float32 inside fails a right gradient on float32 noise: the check says why."""
    with pytest.warns(UserWarning, match="f returns float32 from float64 inputs"):
        cr.gradcheck(lambda t: cr.exp(cr.astype(t, "float32")), [[0.3, 1.7, -2.2]])


def test_a_float64_output_does_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cr.gradcheck(lambda t: cr.exp(t), [[0.3, 1.7, -2.2]]).ok
