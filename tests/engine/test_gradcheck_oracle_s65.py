"""gradcheck as an oracle for hand-written backward rules (a QA tester grading students' rules):
its verdict where every derivative is below atol, its failure table, and the notes that say
when a failure or a pass is the check's own doing (a step too large for the inputs, a large
constant in f, inputs left out), not the rule's."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


square = _register_once("test_s65_square", lambda z: z * z, lambda g, out, z: 2 * g * z)
# d(z^2)/dz with its sign flipped: -2z where 2z is due
flipped_square = _register_once(
    "test_s65_flipped_square", lambda z: z * z, lambda g, out, z: -2 * g * z
)
# d(z^2)/dz 5% too large
steep_square = _register_once(
    "test_s65_steep_square", lambda z: z * z, lambda g, out, z: 2.1 * g * z
)
flipped_sigmoid = _register_once(
    "test_s65_flipped_sigmoid",
    lambda z: 1 / (1 + np.exp(-z)),
    lambda g, out, z: -g * out * (1 - out),
)
returns_none = _register_once("test_s65_returns_none", lambda z: z * 2, lambda g, out, z: None)
returns_float = _register_once("test_s65_returns_float", lambda z: z * 2, lambda g, out, z: 2.0)

X = np.array([1.0, -2.0, 0.5])


# --- 1. every derivative below atol: a sign flip is no pass --------------------------------------


def test_a_sign_flipped_rule_with_every_derivative_below_atol_gets_no_verdict() -> None:
    """Every |derivative| was below 5e-6, so atol = 1e-5 held every entry and the report said
    "passed ... max rel error 2"."""
    x = X * 1e-6  # d(sum z^2)/dz = 2z: 2e-6, -4e-6, 1e-6; the rule gives their negatives
    report = cr.gradcheck(lambda z: flipped_square(z).sum(), [x])
    assert report.ok is None and not bool(report)
    shown = str(report)
    assert shown.startswith("gradcheck NO VERDICT") and "passed" not in shown, shown
    assert "3 of 3 only because atol is larger than the derivatives" in shown, shown
    assert [m.where for m in report.hidden()] == [m.where for m in report.entries]
    # the atol it suggests tells the flip apart: the closed form 2x against the rule's -2x
    suggested = float(re.search(r"pass atol=(\S+),", shown).group(1))
    assert suggested < 2e-6
    strict = cr.gradcheck(lambda z: flipped_square(z).sum(), [x], atol=suggested)
    assert strict.ok is False
    for m in strict.entries:
        at = int(re.search(r"\[(\d+)\]", m.where).group(1))
        assert m.numeric == pytest.approx(2 * x[at], rel=1e-6)
        assert m.analytic == pytest.approx(-2 * x[at], rel=1e-12)
    with pytest.raises(cr.GradcheckError, match="NO VERDICT") as caught:
        cr.gradcheck(lambda z: flipped_square(z).sum(), [x], raise_on_failure=True)
    assert caught.value.report.ok is None


def test_a_flipped_rule_beside_large_right_derivatives_gets_no_verdict() -> None:
    """The QA tester's network: weights of 1e-4 before the flipped unit make its inputs'
    derivatives tiny, while those of the weights above it are right and large: the report
    said passed."""
    rng = np.random.default_rng(1)
    data, t = rng.standard_normal((4, 3)), rng.random((4, 2))
    w, v = rng.standard_normal((3, 2)) * 1e-4, rng.standard_normal((2, 2)) * 1e-4

    def loss(w, v):
        hidden = flipped_sigmoid(cr.tensor(data) @ w)
        return (0.5 * (cr.sigmoid(hidden @ v) - t) ** 2).sum()

    report = cr.gradcheck(loss, [w, v])
    assert report.ok is None, str(report)
    assert all(" d input 0[" in m.where for m in report.hidden())  # w's: below the flip
    assert cr.gradcheck(loss, [w, v], atol=report.resolution * 2).ok is False


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(min_value=-9.0, max_value=2.0))
def test_right_small_derivatives_pass_and_flipped_ones_never_do(scale: float) -> None:
    """At any scale, a right rule is not failed (nor left without a verdict), and a flipped
    one never passes; below atol a pass says why it is one."""
    x = X * 10.0**scale
    right = cr.gradcheck(lambda z: square(z).sum(), [x])
    assert right.ok is True, str(right)
    if np.all(np.abs(2 * x) <= 1e-5):  # every derivative within atol of 0
        assert "where atol alone would pass a gradient of 0" in right.note, right.note
    assert cr.gradcheck(lambda z: flipped_square(z).sum(), [x]).ok is not True


def test_derivatives_that_are_all_0_pass_saying_that_0_passes_too() -> None:
    report = cr.gradcheck(lambda z: cr.relu(z).sum(), [np.array([-1.0, -2.0])])
    assert report.ok is True
    assert "every derivative compared is 0" in report.note, report.note
    assert "a rule that gives 0 passes too" in str(report)


@pytest.mark.parametrize(
    "f", [lambda z: (z * z).sum(), lambda z: z * z], ids=["scalar out", "empty out"]
)
def test_a_check_that_compares_nothing_passes_saying_so(f) -> None:
    """An input of shape (0, 3) compares nothing: that was ok=True before the no verdict, and
    the no verdict raised under raise_on_failure in suites parametrized over shapes with 0."""
    report = cr.gradcheck(f, [np.zeros((0, 3))], raise_on_failure=True)
    assert report.ok is True and bool(report) and report.entries == []
    assert "nothing was compared" in report.note, report.note
    assert str(report).startswith("gradcheck passed"), str(report)


# --- 2. the failure table ------------------------------------------------------------------------


def test_the_failure_table_is_worst_first_counted_and_states_the_tolerance() -> None:
    """50 failures showed the first 20 in order, no count, not the worst (the last), and no
    tolerance."""
    x = np.linspace(1, 2, 50)
    report = cr.gradcheck(lambda z: steep_square(z).sum(), [x], atol=1e-7, rtol=1e-4)
    lines = str(report).splitlines()
    rule = "|analytic - numeric| <= atol + rtol*|numeric| (atol = 1e-07, rtol = 0.0001)"
    assert lines[1] == f"  50 of 50 entries fail {rule}", lines[1]
    rows = [line for line in lines if line.startswith("  d out")]
    assert len(rows) == 20 and lines[-1] == "  ... and 30 more"
    assert rows[0].split()[:5] == ["d", "out", "/", "d", "input"] and "0[49]" in rows[0]
    # the oracle: the error is 0.1 x, past a tolerance of 1e-7 + 1e-4 * 2x, worst at x = 2
    shown_at = [int(re.search(r"\[(\d+)\]", row).group(1)) for row in rows]
    assert shown_at == list(range(49, 29, -1))
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(lambda z: steep_square(z).sum(), [x], atol=1e-7, rtol=1e-4,
                     raise_on_failure=True)  # fmt: skip
    assert rule in str(caught.value) and caught.value.report.ok is False
    assert str(caught.value) == str(caught.value.report)


# --- 3. f not deterministic ---------------------------------------------------------------------


def test_the_not_deterministic_message_tells_the_two_values_apart() -> None:
    """It printed them with 9 digits: "out was 1.79, then 1.79"."""
    calls = iter(range(10**6))
    with pytest.raises(ValueError, match="not deterministic") as refused:
        cr.gradcheck(lambda z: (z * z).sum() + 1e-9 * next(calls), [np.array([0.3, -0.7, 1.1])])
    seen = re.search(r"out was (\S+), then (\S+), a difference of (\S+)\)", str(refused.value))
    assert seen, str(refused.value)
    first, second, difference = (float(text.rstrip(",")) for text in seen.groups())
    assert first != second and difference == pytest.approx(1e-9, rel=1e-3)


# --- 4. a step not small next to the inputs -----------------------------------------------------


@pytest.mark.parametrize(
    ("f", "at"),
    [(lambda z: (1 / z).sum(), 1e-5), (lambda z: cr.log(z).sum(), 1e-6)],
    ids=["reciprocal", "log"],
)
def test_a_right_gradient_failing_at_small_inputs_names_the_step_that_fits(f, at) -> None:
    x = np.array([at, 2 * at])
    with np.errstate(divide="ignore", invalid="ignore"):  # log at x - eps = 0
        report = cr.gradcheck(f, [x])
    assert report.ok is False
    assert "eps = 1e-06 is not small next to |x|" in report.note, report.note
    suggested = float(re.search(r"pass eps=(\S+) \(", report.note).group(1))
    assert cr.gradcheck(f, [x], eps=suggested).ok is True  # the suggestion fits
    # a wrong rule there is not blamed on the step: z^2's differences are exact at any step
    wrong = cr.gradcheck(lambda z: steep_square(z).sum(), [x], atol=1e-12)
    assert wrong.ok is False and "not small next to" not in wrong.note, wrong.note


# --- 5. inputs left out ---------------------------------------------------------------------------


def test_an_integer_input_left_out_is_named_in_the_note() -> None:
    report = cr.gradcheck(lambda w, x: (w * x).sum(), [X, np.array([1, 2, 3])])
    assert report.ok is True
    assert "input 1 (int64) is not checked" in report.note, report.note
    assert "dtype=float" in str(report)


# --- 6. a rule that returns no gradient ----------------------------------------------------------


@pytest.mark.parametrize("rule", [returns_none, returns_float], ids=["None", "float"])
@pytest.mark.parametrize("order", [1, 2])
def test_a_rule_returning_no_gradient_is_a_failed_check(rule, order) -> None:
    """It raised TypeError out of gradcheck, where a wrong shape became report.problem."""
    report = cr.gradcheck(lambda z: rule(z).sum(), [X], order=order)
    assert report.ok is False and not report
    assert report.problem.startswith("backward: the rule of 'test_s65_returns_"), report.problem
    assert "not a gradient" in report.problem
    assert str(report) == f"gradcheck FAILED (order {order}, full mode): {report.problem}"
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(lambda z: rule(z).sum(), [X], order=order, raise_on_failure=True)
    assert str(caught.value) == str(report)


# --- 7. a primitive defined again ---------------------------------------------------------------


def test_defining_a_primitive_again_says_how_and_replace_does_it() -> None:
    name = "test_s65_redefined"
    REGISTRY.pop(name, None)
    primitive(name, lambda z: z * 3, lambda g, out, z: 2 * g)  # a wrong rule: 2, not 3
    with pytest.raises(ValueError, match=r"already registered; .*replace=True"):
        primitive(name, lambda z: z * 3, lambda g, out, z: 3 * g)
    fixed = primitive(name, lambda z: z * 3, lambda g, out, z: 3 * g, replace=True)
    assert REGISTRY[name] is fixed and cr.gradcheck(lambda z: fixed(z).sum(), [X]).ok
    REGISTRY.pop(name)


def test_chainrule_own_ops_are_never_replaced() -> None:
    exp = REGISTRY["exp"]
    with pytest.raises(ValueError, match="'exp' is already registered: it is one of chainrule"):
        primitive("exp", np.exp, lambda g, out, x: g, replace=True)
    assert REGISTRY["exp"] is exp


# --- 8. a large constant in f -------------------------------------------------------------------


def test_a_failure_within_the_rounding_of_a_large_output_says_so() -> None:
    x = np.array([1e-3, 2e-3])
    report = cr.gradcheck(lambda z: (z * z).sum() + 1e7, [x])
    assert report.ok is False  # unchanged: the differences are off by 4e-3 of rounding
    assert "f's output out is 1e+07" in report.note and "(check f - c)" in report.note
    assert cr.gradcheck(lambda z: (z * z).sum(), [x]).ok  # the oracle: without the constant
    assert "float64 rounds" not in cr.gradcheck(lambda z: steep_square(z).sum(), [X]).note


# --- 9. no verdict only where the check resolves the derivative ---------------------------------

sin = _register_once("test_s65_sin", np.sin, lambda g, out, z: g * cos(z))
cos = _register_once("test_s65_cos", np.cos, lambda g, out, z: -g * sin(z))
flipped = {
    "cube": _register_once(
        "test_s65_flipped_cube", lambda z: z**3, lambda g, out, z: -3 * g * z * z
    ),  # fmt: skip
    "fourth": _register_once(
        "test_s65_flipped_fourth", lambda z: z**4, lambda g, out, z: -4 * g * z * z * z
    ),  # fmt: skip
    "tanh": _register_once(
        "test_s65_flipped_tanh", np.tanh, lambda g, out, z: -g * (1 - out * out)
    ),  # fmt: skip
    "sin": _register_once("test_s65_flipped_sin", np.sin, lambda g, out, z: -g * cos(z)),
}
right = {"cube": lambda z: z**3, "fourth": lambda z: z**4, "tanh": cr.tanh, "sin": sin}
# closed forms per function: f, f', and a bound on a central difference's truncation error
# at x with step h (x^3: exactly h^2; x^4: exactly 4 x h^2; tanh, sin: h^2 sup|f'''| / 6)
closed = {
    "cube": (lambda x: x**3, lambda x: 3 * x**2, lambda x, h: h**2),
    "fourth": (lambda x: x**4, lambda x: 4 * x**3, lambda x, h: 4 * np.abs(x) * h**2),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x, h: 2 * h**2 / 6),
    "sin": (np.sin, np.cos, lambda x, h: h**2 / 6),
}


def _to32(g):
    return lambda z: g(z.astype(np.float32)).sum()


RIGHT_CHECKS = {
    # truncation error, eps^2 f'''/6, above float64's rounding: x^3 at 0 differs by eps^2
    "cube at 0": (lambda z: (z**3).sum(), [[0.0]], {}),
    "cube at 0.01, eps 1e-3": (lambda z: (z**3).sum(), [[0.01]], {"eps": 1e-3}),
    "cube at [0, 0], random": (lambda z: (z**3).sum(), [[0.0, 0.0]], {"mode": "random"}),
    "cube at 0, order 2": (lambda z: (z**3).sum(), [[0.0]], {"order": 2}),
    "fourth at 0, order 2": (lambda z: (z**4).sum(), [[0.0]], {"order": 2}),
    # f computing in float32: its output's rounding is float32's, not float64's
    **{
        f"float32 {name}": (_to32(g), [at], {"eps": 1e-2, "atol": 1e-3, "rtol": 1e-2})
        for name, g, at in [
            ("tanh", cr.tanh, [0.3, 2.0, 6.0]),
            ("sigmoid", cr.sigmoid, [-9.0, 0.0, 9.0]),
            ("exp", cr.exp, [-10.0, 1.0]),
            ("cube", lambda z: z**3, [0.05, 1.0]),
        ]
    },
}


@pytest.mark.filterwarnings("ignore:gradcheck")  # float32's: f returns float32
@pytest.mark.parametrize("case", list(RIGHT_CHECKS))
def test_a_right_rule_within_the_check_own_error_passes(case) -> None:
    """Each gave NO VERDICT (and raised under raise_on_failure): the resolution counted
    float64's rounding of the output alone, not the difference's truncation error nor an f
    computing in float32, so a right rule's difference from its finite difference was taken
    for one atol hid."""
    f, inputs, options = RIGHT_CHECKS[case]
    report = cr.gradcheck(f, inputs, raise_on_failure=True, **options)
    assert report.ok is True, str(report)
    assert report.hidden() == [], str(report)
    # the oracle: every entry is within the tolerance (the verdict before the no verdict)
    assert report.failures() == [] and report.entries


def test_a_right_zero_derivative_seen_through_truncation_says_0_passes_too() -> None:
    """x^3 at 0: the difference is eps^2 = 1e-12, the truncation error; the derivative is 0."""
    report = cr.gradcheck(lambda z: (z**3).sum(), [[0.0]])
    (entry,) = report.entries
    assert entry.analytic == 0.0 and entry.numeric == pytest.approx(1e-12, rel=1e-3)
    assert "a rule that gives 0 passes too" in report.note, report.note


@pytest.mark.filterwarnings("ignore:gradcheck")
def test_the_suggested_atol_passes_the_right_rule_and_fails_the_flipped_one() -> None:
    """The float32 tanh check's advice, atol=6e-12, failed the right rule; and a flip of a
    derivative of 0.9 was said to pass atol = 1e-3."""
    x = np.array([0.3, 2.0, 6.0])
    options = {"eps": 1e-2, "atol": 1e-3, "rtol": 1e-2}
    assert cr.gradcheck(_to32(cr.tanh), [x], **options).ok is True
    report = cr.gradcheck(_to32(flipped["tanh"]), [x], **options)
    assert report.ok is False  # the flip at 0.3 and 2 is far past atol
    small = x * 1e-4 + 8.0  # tanh' = 4.5e-7 there, and a flip of it is within atol = 1e-5
    report = cr.gradcheck(lambda z: flipped["tanh"](z).sum(), [small])
    assert report.ok is None, str(report)
    shown = str(report)
    assert "its negative passes too" in shown, shown
    suggested = float(re.search(r"pass atol=(\S+),", shown).group(1))
    assert cr.gradcheck(lambda z: cr.tanh(z).sum(), [small], atol=suggested).ok is True
    assert cr.gradcheck(lambda z: flipped["tanh"](z).sum(), [small], atol=suggested).ok is False


def test_a_hidden_difference_not_a_sign_flip_is_not_called_one() -> None:
    """A rule off by 2e-6 at derivatives of about 1: atol = 1e-5 hides it (rtol = 0 here),
    but its negative would not pass, so the report does not say that a sign flip would."""
    off = _register_once("test_s65_off_by_2e-6", lambda z: z * 1.0, lambda g, out, z: g + 2e-6)
    report = cr.gradcheck(lambda z: off(z).sum(), [X], rtol=0.0)
    assert report.ok is None, str(report)
    shown = str(report)
    assert "sign flip" not in shown and "negative passes" not in shown, shown
    suggested = float(re.search(r"pass atol=(\S+),", shown).group(1))
    assert suggested < 2e-6
    assert cr.gradcheck(lambda z: (z * 1.0).sum(), [X], rtol=0.0, atol=suggested).ok is True


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(right)),
    scale=st.floats(min_value=-8.0, max_value=2.0),
    step=st.floats(min_value=-6.0, max_value=-2.0),
)
def test_right_rules_get_the_verdict_they_had_and_resolvable_flips_never_pass(
    name, scale, step
) -> None:
    """x^3, x^4, tanh and sin at |x| from 1e-8 to 1e2 and eps from 1e-6 to 1e-2: a right rule
    is never left without a verdict (nor failed) where every entry is within its tolerance,
    the verdict before the no verdict; a flipped one never passes where the flip's difference,
    2 |f'|, is far above the check's own error (truncation and rounding, from closed forms)."""
    x, eps = np.array([1.0, -0.5, 0.3, 0.0]) * 10.0**scale, 10.0**step
    g = right[name]
    report = cr.gradcheck(lambda z: g(z).sum(), [x], eps=eps)
    assert report.ok is (not report.failures()), str(report)
    f, slope, truncation = closed[name]
    rounding = 2 * np.finfo(float).eps * np.abs(f(x)).sum() / eps
    resolvable = 2 * np.abs(slope(x)) > 1e3 * (truncation(x, eps) + rounding)
    wrong = cr.gradcheck(lambda z: flipped[name](z).sum(), [x], eps=eps)
    if resolvable.any():
        assert wrong.ok is not True, str(wrong)


# --- a difference that moves with the step, and a kink crossed after a gain ----------------------

MOVES = "changes with the step"


def _small_mlp(activation):
    """A 6-8-8-3 network at weights x 0.01 with cross entropy: its units' inputs are about
    1e-4, so a step of eps = 1e-6 along a first-layer weight can carry one across relu's
    kink after the gain of the inputs X."""
    rng = np.random.default_rng(3)
    data, labels = rng.standard_normal((16, 6)), rng.integers(0, 3, 16)
    weights = [rng.standard_normal(shape) * 0.01 for shape in ((6, 8), (8, 8), (8, 3))]

    def f(w1, w2, w3):
        h = activation(activation(cr.tensor(data) @ w1) @ w2)
        return cr.softmax_cross_entropy(h @ w3, cr.tensor(labels))

    return f, weights


def test_a_pass_whose_difference_straddles_a_relu_kink_says_so_naming_the_entry() -> None:
    """An entry 20% off its analytic value passed with no word: its difference crosses a relu
    kink, so its Richardson estimate, and the error it lets pass, were large."""
    f, weights = _small_mlp(cr.relu)
    report = cr.gradcheck(f, weights)
    assert report.ok is True  # the verdict is unchanged; the note says what it is worth
    assert MOVES in report.note, report.note
    named = re.search(
        r"the finite difference of (d out / d input \d+\[[^\]]*\])", report.note
    ).group(1)
    entry = next(m for m in report.entries if m.where == named)
    assert entry.resolution is not None and entry.abs_error > 0.01 * abs(entry.numeric)
    assert "a kink (relu, abs, maximum, clip) or a steep curvature lies within 2 eps" in (
        report.note
    )
    assert "check at another point or with a smaller eps" in report.note


def test_smooth_right_functions_get_no_note_that_the_difference_moves() -> None:
    """The same network with tanh, whose differences do not move with the step beyond their
    rounding, and a smooth function at ordinary scale pass with no such note."""
    f, weights = _small_mlp(cr.tanh)
    report = cr.gradcheck(f, weights)
    assert report.ok is True and report.note == "", report.note
    ordinary = cr.gradcheck(lambda x: (cr.tanh(x) * x**3).sum(), [[0.3, -1.2, 2.0, 0.0]])
    assert ordinary.ok is True and MOVES not in ordinary.note, ordinary.note


@pytest.mark.parametrize("offset", [1e-9, 3e-7])
def test_a_kink_the_step_crosses_after_a_gain_gets_the_kink_note(offset: float) -> None:
    """relu(100 (x - 0.5)) at 0.5 + 3e-7: relu's input is 3e-5, 30 steps from its kink, but
    the step of x (1e-6) crosses it; the note looked only within 4 eps of relu's input."""
    report = cr.gradcheck(lambda x: cr.relu(100 * (x - 0.5)).sum(), [[0.5 + offset, 2.0]])
    assert report.ok is False
    assert "'relu' (kink at 0) at its input (computed in f) [0] =" in report.note, report.note
    assert "straddles the kink" in report.note
