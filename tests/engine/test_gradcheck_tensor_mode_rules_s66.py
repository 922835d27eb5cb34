"""``gradcheck(order=2)`` of a custom primitive whose rule is right on arrays but wrong in tensor
mode: a rule calling a NumPy function on the tensors it gets there (``g * np.cos(x)``) raised
TypeError instead of returning a failed report naming the rule, and a rule building its result
from its input's array (``g * cr.tensor(np.cos(x.data))``: no path recorded to x, so second
derivatives of 0) gave ok=False without naming the rule."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradcheckError
from chainrule.ops.registry import REGISTRY, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


def _cos(x):
    """cos built from chainrule's ops, in both modes: sin(x + pi/2) by the primitive below."""
    return sin_right(x + np.pi / 2)


sin_numpy = _register_once("qa_sin_numpy_s66", np.sin, lambda g, out, x: g * np.cos(x))
sin_from_data = _register_once(
    "qa_sin_from_data_s66",
    np.sin,
    lambda g, out, x: g * (cr.tensor(np.cos(x.data)) if isinstance(x, cr.Tensor) else np.cos(x)),
)
sin_right = _register_once("qa_sin_right_s66", np.sin, lambda g, out, x: g * _cos(x))
X = np.array([0.3, 0.9, -1.4])


def _summed(rule):
    return lambda x: rule(x).sum()


def test_a_rule_calling_numpy_on_tensors_is_a_failed_report_naming_it():
    report = cr.gradcheck(lambda x: (sin_numpy(x) ** 2).sum(), [X], order=2)
    assert report.ok is False
    assert report.problem.startswith(
        "gradcheck: the rule of 'qa_sin_numpy_s66' for input 0 called a NumPy function on "
        "tensors in tensor mode"
    )
    assert "the rule of 'qa_sin_numpy_s66'" in str(report)
    with pytest.raises(GradcheckError, match=r"the rule of 'qa_sin_numpy_s66' for input 0"):
        cr.gradcheck(lambda x: sin_numpy(x).sum(), [X], order=2, raise_on_failure=True)


def test_a_rule_building_its_result_from_arrays_fails_and_its_note_names_it():
    for rule in (sin_numpy, sin_from_data, sin_right):  # each right on arrays
        assert cr.gradcheck(_summed(rule), [X]).ok
    report = cr.gradcheck(lambda x: sin_right(x).sum(), [X], order=2)
    assert report.ok and "the rule of" not in report.note
    np.testing.assert_allclose(  # the closed form: d2/dx2 sin = -sin
        cr.hessian(lambda x: sin_right(x).sum())(X).numpy(), np.diag(-np.sin(X)), rtol=1e-12
    )
    for mode in ("full", "random"):
        report = cr.gradcheck(lambda x: (sin_from_data(x) * x).sum(), [X], order=2, mode=mode)
        assert report.ok is False and not report.problem
        assert (
            "the rule of 'qa_sin_from_data_s66' for input 0 does not record how its result "
            "depends on its op's inputs in tensor mode" in report.note
        )
        assert "cr.tensor(np.exp(z.data))" in report.note
        assert "qa_sin_from_data_s66" in str(report)
    # a failure of a right rule names none: the wrong first derivative of a rule of its own
    wrong = _register_once("qa_sin_wrong_s66", np.sin, lambda g, out, x: g * 2 * _cos(x))
    report = cr.gradcheck(lambda x: wrong(x).sum(), [X], order=2)
    assert report.ok is False and "does not record" not in report.note
    # nor does a kink's: relu's rule masks g, whose jump at 0 is no slope to compare
    report = cr.gradcheck(lambda x: (cr.relu(x) ** 2).sum(), [np.array([0.0, 1.0])], order=2)
    assert report.ok is False and "kink" in report.note and "does not record" not in report.note
