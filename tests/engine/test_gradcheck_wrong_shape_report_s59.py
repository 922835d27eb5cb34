"""gradcheck with ``raise_on_failure=False`` reports a rule that sends a gradient of the wrong
shape as a failed check, as it documents (``GradcheckReport.problem``), rather than letting the
engine's ShapeError through: an autograder checking many students' rules wants a report for
each, and ``raise_on_failure=True`` raises the GradcheckError of that report. A ShapeError of
``f`` itself (not of a rule) is still raised as it was."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.ops.registry import REGISTRY, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


# z = x @ W + b with the bias's rule left unsummed over the cases: (n, k) for a (k,) bias
student_linear = _register_once(
    "qa_student_linear_s59",
    lambda x, w, b: x @ w + b,
    lambda g, out, x, w, b: g @ w.T,
    lambda g, out, x, w, b: x.T @ g,
    lambda g, out, x, w, b: g,  # should be g.sum(axis=0)
)
right_linear = _register_once(
    "qa_right_linear_s59",
    lambda x, w, b: x @ w + b,
    lambda g, out, x, w, b: g @ w.T,
    lambda g, out, x, w, b: x.T @ g,
    lambda g, out, x, w, b: g.sum(axis=0),
)

rng = np.random.default_rng(0)
X, W, B = rng.normal(size=(3, 2)), rng.normal(size=(2, 4)), rng.normal(size=4)
WORDS = (
    "the rule of 'qa_student_linear_s59' for input 2 sent a gradient of shape (3, 4) for an "
    "input of shape (4,)"
)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_wrong_shape_is_a_failed_report_naming_the_op_input_and_shapes(mode, order) -> None:
    report = cr.gradcheck(student_linear, [X, W, B], mode=mode, order=order)
    assert not report.ok and not bool(report)
    assert WORDS in report.problem
    assert str(report) == f"gradcheck FAILED (order {order}, {mode} mode): {report.problem}"
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(student_linear, [X, W, B], mode=mode, order=order, raise_on_failure=True)
    assert str(caught.value) == str(report)
    # the right rule passes, and its bias gradient is the closed form: the sum over the cases
    assert cr.gradcheck(right_linear, [X, W, B], mode=mode, order=order).ok
    grad_b = cr.grad(lambda b: right_linear(X, W, b).sum())(B)
    np.testing.assert_allclose(grad_b.numpy(), np.full(4, 3.0))


def test_a_shape_error_of_f_itself_is_raised_and_the_backward_still_refuses_it() -> None:
    """Only a rule's gradient of the wrong shape is a report; f's own mistake is an error,
    and outside gradcheck the engine refuses the rule's gradient as before."""
    with pytest.raises(ShapeError, match=r"^matmul: shapes \(3, 2\) and \(4,\)"):
        cr.gradcheck(lambda x, b: cr.matmul(x, b), [X, B])
    with pytest.raises(ShapeError, match="^backward: " + re.escape(WORDS)):
        cr.grad(lambda b: student_linear(X, W, b).sum())(B)
    assert not cr.gradcheck(student_linear, [X, W, B]).ok
