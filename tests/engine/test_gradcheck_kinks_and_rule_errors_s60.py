"""What a TA autograding students' backprop needs from ``cr.gradcheck``:

- a check that fails at a kink (relu or abs at 0, maximum or minimum at a tie, clip at a bound,
  or within the finite-difference step of one) says so in the report's ``note``, naming the op
  and the entries there: not differentiable there, the difference straddles the kink. The check
  still fails, and a passing check records nothing more;
- a custom rule that raises chainrule's ShapeError (a student's ``cr.matmul(g, w)`` for
  ``g @ w.T``) is a failed report naming the rule's op, its input and the error, as a rule's
  gradient of the wrong shape is, not an exception; f's own ShapeError and wrong inputs are
  still raised."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.gradcheck import RANDOM_RECALLS
from chainrule.ops.registry import REGISTRY, primitive

STRADDLES = "not differentiable there; the finite difference straddles the kink"


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


# ------------------------------------------------------------------------------------------
# kinks
# ------------------------------------------------------------------------------------------


def test_relu_at_zero_fails_saying_which_op_and_entries_sit_at_the_kink() -> None:
    """relu at 0 and at 4e-7 (within eps = 1e-6): the central differences are (x + eps) / 2 eps,
    0.5 and 0.7 (closed form), against the rule's 0 and 1; the note names relu and exactly
    those two entries, the ones away from 0 are not named."""
    x = [0.0, 1.0, -2.0, 4e-7]
    report = cr.gradcheck(lambda v: cr.relu(v).sum(), [x])
    assert not report.ok
    numeric = {m.where: m.numeric for m in report.failures()}
    assert numeric == pytest.approx({"d out / d input 0[0]": 0.5, "d out / d input 0[3]": 0.7})
    assert "'relu' (kink at 0) at input 0[0] = 0, input 0[3] = 4e-07:" in report.note
    assert STRADDLES in report.note
    assert "input 0[1]" not in report.note and "input 0[2]" not in report.note
    assert report.note in str(report)
    with pytest.raises(cr.GradcheckError, match=re.escape(STRADDLES)):
        cr.gradcheck(lambda v: cr.relu(v).sum(), [x], raise_on_failure=True)


@pytest.mark.parametrize(
    ("f", "inputs", "named"),
    [
        # abs within the step: the difference is x / eps = 0.3 against the rule's 1
        (lambda x: cr.abs(x).sum(), [[3e-7, 2.0]], "'abs' (kink at 0) at input 0[0] = 3e-07"),
        # maximum of two inputs 5e-7 apart: the difference straddles the tie
        (
            lambda a, b: cr.maximum(a, b).sum(),
            [[1.0, 2.0], [1.0 + 5e-7, 3.0]],
            "'maximum' (kink where its two inputs are equal) at input 0[0] = 1",
        ),
        (
            lambda a, b: cr.minimum(a, b).sum(),
            [[2.0, 1.0], [3.0, 1.0 - 5e-7]],
            "'minimum' (kink where its two inputs are equal) at input 0[1] = 1",
        ),
        # clip at its two bounds
        (
            lambda x: cr.clip(x, 0.0, 1.0).sum(),
            [[0.0, 0.5, 1.0]],
            "'clip' (kinks at its bounds) at input 0[0] = 0, input 0[2] = 1",
        ),
        # a bound that is an input too (clip_to_bounds), x at it
        (
            lambda x, low: cr.clip(x, low, None).sum(),
            [[0.0, 0.5, 1.0], [0.5]],
            "'clip_to_bounds' (kinks at its bounds) at input 0[1] = 0.5",
        ),
        # an intermediate at the kink: x @ w's entry [0, 0] is 1 * 0 + 0 * 2 = 0
        (
            lambda x, w: cr.relu(x @ w).sum(),
            [[[1.0, 0.0]], [[0.0, 1.0], [2.0, 3.0]]],
            "'relu' (kink at 0) at its input (computed in f) [0, 0] = 0",
        ),
    ],
)
def test_each_kinked_op_is_named_with_its_entries(f, inputs, named) -> None:
    report = cr.gradcheck(f, inputs)
    assert not report.ok
    assert named in report.note, report.note
    assert STRADDLES in report.note


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-0.95e-6, 0.95e-6), order=st.sampled_from([1, 2]))
def test_any_point_within_the_step_of_relus_kink_fails_and_says_so(x, order) -> None:
    """Within eps of 0 the difference is (x + eps) / 2 eps, between 0.025 and 0.975, never the
    rule's 0 or 1: every such check fails, and its note names relu at input 0[0]."""
    report = cr.gradcheck(lambda v: (cr.relu(v) * 3.0).sum(), [[x, 1.5]], order=order)
    assert not report.ok
    assert f"'relu' (kink at 0) at input 0[0] = {x:.6g}" in report.note
    assert STRADDLES in report.note


def test_random_mode_and_a_long_list_of_entries() -> None:
    """Random mode's failure is explained the same way; twelve entries at 0 show five and the
    count of the rest."""
    report = cr.gradcheck(lambda v: cr.relu(v * 1.0).sum(), [np.zeros((3, 4))], mode="random")
    assert not report.ok
    assert (
        "'relu' (kink at 0) at its input (computed in f) [0, 0] = 0, [0, 1] = 0, [0, 2] = 0, "
        "[0, 3] = 0, [1, 0] = 0 and 7 more:" in report.note
    ), report.note


def test_kinks_are_looked_for_only_after_a_failure_in_one_more_call_of_f() -> None:
    """A passing check (relu away from 0, or abs exactly at 0, whose difference and rule are
    both 0) says nothing of kinks, and a failing one calls f once more than a passing one of
    the same shapes for its diagnoses (the float32 and kink diagnoses share that one recorded
    run), beside the calls that make sure f is deterministic before a verdict: the repeats at
    the point and the failing difference's two calls again."""
    calls = []

    def f(v):
        calls.append(1)
        return cr.relu(v).sum()

    passing = cr.gradcheck(f, [[1.0, -2.0]])
    n_passing = len(calls)
    calls.clear()
    failing = cr.gradcheck(f, [[0.0, -2.0]])
    assert passing.ok and passing.note == ""
    assert not failing.ok and "'relu' (kink at 0) at input 0[0] = 0" in failing.note
    assert len(calls) == n_passing + 1 + RANDOM_RECALLS + 2
    at_zero = cr.gradcheck(lambda v: cr.abs(v).sum(), [[0.0, 1.0]])
    assert at_zero.ok and at_zero.note == ""


def test_a_failure_with_no_kink_near_says_nothing_of_kinks() -> None:
    """A wrong rule far from any kink fails with no kink note: the note is a hint, not a
    verdict, and only where an op's input is near its kink; the same wrong rule beside a relu
    at its kink fails with the kink named."""
    wrong_square = _register_once(
        "qa_wrong_square_s60", lambda x: x * x, lambda g, out, x: g * x
    )  # should be 2 g x
    report = cr.gradcheck(lambda v: cr.relu(wrong_square(v)).sum(), [[1.5, -2.0]])
    assert not report.ok
    assert "kink" not in report.note
    beside = cr.gradcheck(lambda v: (cr.relu(v) + wrong_square(v)).sum(), [[1.5, 0.0]])
    assert not beside.ok
    assert "'relu' (kink at 0) at input 0[1] = 0" in beside.note


# ------------------------------------------------------------------------------------------
# a rule that raises ShapeError
# ------------------------------------------------------------------------------------------


def _misaligned_rule(g, out, x, w):
    """A student's dE/dx = g @ w where g @ w.T is due, through chainrule's matmul (which
    raises ShapeError), on arrays (order 1) and on tensors (tensor mode, order 2)."""
    tensor_mode = isinstance(out, cr.Tensor)
    product = cr.matmul(g if tensor_mode else cr.tensor(g), w)
    return product if tensor_mode else product.data


student_matmul = _register_once(
    "qa_student_matmul_s60",
    lambda x, w: x @ w,
    _misaligned_rule,
    lambda g, out, x, w: x.T @ g,
)


def _raising_rule(g, out, x):
    raise ShapeError("my_rule: cannot fit g to x")


raises_shape = _register_once("qa_raises_shape_s60", lambda x: x * x, _raising_rule)

#: the same slip with NumPy's own @ on the rule's arrays (order 1: the rules run on arrays),
#: whose ValueError names no op
numpy_matmul = _register_once(
    "qa_numpy_matmul_s60",
    lambda x, w: x @ w,
    lambda g, out, x, w: g @ w,
    lambda g, out, x, w: x.T @ g,
)

rng = np.random.default_rng(60)
X, W = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))


def test_a_rule_tripping_numpys_own_shape_error_is_a_failed_report_naming_the_op() -> None:
    report = cr.gradcheck(numpy_matmul, [X, W])
    assert not report.ok
    assert report.problem.startswith(
        "backward: the rule of 'qa_numpy_matmul_s60' for input 0 raised ValueError: matmul"
    ), report.problem
    with pytest.raises(ValueError, match="^matmul: Input operand 1"):  # outside: NumPy's own
        cr.grad(lambda x: numpy_matmul(x, W).sum())(X)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mode", ["full", "random"])
@pytest.mark.parametrize(
    ("f", "inputs", "words"),
    [
        (
            student_matmul,
            [X, W],
            "backward: the rule of 'qa_student_matmul_s60' for input 0 raised ShapeError: "
            "matmul: shapes (3, 4) and (2, 4) do not align",
        ),
        (
            lambda x: raises_shape(x).sum(),
            [X],
            "backward: the rule of 'qa_raises_shape_s60' for input 0 raised ShapeError: "
            "my_rule: cannot fit g to x",
        ),
    ],
)
def test_a_rule_raising_shape_error_is_a_failed_report_naming_the_op(
    f, inputs, words, mode, order
) -> None:
    report = cr.gradcheck(f, inputs, mode=mode, order=order)
    assert not report.ok and not bool(report)
    assert report.problem.startswith(words), report.problem
    assert str(report) == f"gradcheck FAILED (order {order}, {mode} mode): {report.problem}"
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(f, inputs, mode=mode, order=order, raise_on_failure=True)
    assert str(caught.value) == str(report)


def test_f_s_own_shape_error_and_wrong_inputs_are_still_raised() -> None:
    """Only a rule's error becomes a report: f's forward, and gradcheck's refusals of its
    inputs, raise as before; outside gradcheck the rule's error is the rule's own."""
    assert "'qa_student_matmul_s60'" in cr.gradcheck(student_matmul, [X, W]).problem
    with pytest.raises(ShapeError, match=r"^matmul: shapes \(3, 2\) and \(4,\)"):
        cr.gradcheck(lambda x, b: cr.matmul(x, b), [X, np.ones(4)])
    with pytest.raises(TypeError, match="input 0 is a dict of arrays"):
        cr.gradcheck(student_matmul, [{"x": X}, W])
    with pytest.raises(ValueError, match="no input to check"):
        cr.gradcheck(lambda k: cr.tensor(np.ones(2)) * k, [np.array([1, 2])])
    with pytest.raises(ShapeError, match=r"^matmul: shapes \(3, 4\) and \(2, 4\)"):
        cr.grad(lambda x: student_matmul(x, W).sum())(X)
