"""``gradcheck(order=2)``'s notes on a rule wrong in tensor mode alone. A rule whose tensor mode
records a wrong (not absent) dependence on its op's inputs was said not to record one ("does not
record how its result depends on its op's inputs") beside the non-zero change it recorded; a
rule whose tensor mode's values are off by a factor failed the check with an empty note. And the
docs say how to reach third derivatives: ``order=2`` of ``cr.grad`` of ``f``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, array_of, primitive

X = np.random.default_rng(0).normal(size=(3, 4))


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


def _logistic(z):
    return 1 / (1 + np.exp(-z))


def _constant_of(out):
    """``out``'s value as a constant: no path back to it is recorded."""
    return cr.tensor(array_of(out))


def _sigmoid_recording_5_more(g, out, z):
    """Right values in both modes; tensor mode adds (out - c) 5, 0 at the point, whose
    derivative 5 dout/dz is recorded: a wrong dependence, not an absent one."""
    if isinstance(out, cr.Tensor):
        return g * (out * (1 - out) + (out - _constant_of(out)) * 5)
    return g * out * (1 - out)


def _sigmoid_wrong_at_third_order(g, out, z):
    """Right values and right first derivatives in tensor mode; (out - c)^2 7 has a second
    derivative 14 (dout/dz)^2 where 0 is right."""
    if isinstance(out, cr.Tensor):
        return g * (out * (1 - out) + (out - _constant_of(out)) ** 2 * 7)
    return g * out * (1 - out)


def _cube_off_in_tensor_mode(g, out, x):
    return g * 3 * x * x * 1.01 if isinstance(g, cr.Tensor) else g * 3 * x * x


sigmoid_5 = _register_once("qa_sigmoid_5_s68", _logistic, _sigmoid_recording_5_more)
sigmoid_third = _register_once("qa_sigmoid_third_s68", _logistic, _sigmoid_wrong_at_third_order)
sin_from_data = _register_once(
    "qa_sin_from_data_s68",
    np.sin,
    lambda g, out, x: g * (cr.tensor(np.cos(x.data)) if isinstance(x, cr.Tensor) else np.cos(x)),
)
cube_off = _register_once("qa_cube_off_s68", lambda x: x**3, _cube_off_in_tensor_mode)
cube_off_both = _register_once(
    "qa_cube_off_both_s68", lambda x: x**3, lambda g, out, x: g * 3 * x * x * 1.01
)


def _hessian_diagonal(f, x):
    return np.diag(cr.hessian(lambda a: f(a).sum())(x).numpy().reshape(x.size, x.size))


@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_wrong_recorded_dependence_is_named_as_wrong_not_absent(mode):
    s = _logistic(X).reshape(-1)
    right = s * (1 - s) * (1 - 2 * s)  # d2/dz2 of the logistic, closed form
    np.testing.assert_allclose(_hessian_diagonal(sigmoid_5, X), right + 5 * s * (1 - s))
    assert cr.gradcheck(lambda a: sigmoid_5(a), [X]).ok  # its first derivatives are right
    report = cr.gradcheck(lambda a: sigmoid_5(a), [X], order=2, mode=mode)
    assert report.ok is False and not report.problem
    note = report.note
    assert (
        "the rule of 'qa_sigmoid_5_s68' for input 0 records a derivative that disagrees with "
        "its values' differences in tensor mode" in note
    )
    assert "does not record how its result depends" not in note
    recorded = float(note.split(" as recorded")[0].rsplit(" by ", 1)[1])
    assert recorded != 0 and "as recorded, so the second derivatives through it are wrong" in note
    # a rule recording no dependence (a change of 0) keeps those words
    report = cr.gradcheck(lambda x: (sin_from_data(x) * x).sum(), [X[0]], order=2, mode=mode)
    assert report.ok is False
    assert (
        "the rule of 'qa_sin_from_data_s68' for input 0 does not record how its result depends "
        "on its op's inputs in tensor mode" in report.note
    )
    assert "by 0 as recorded" in report.note and "records a derivative" not in report.note


@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_tensor_mode_whose_values_are_off_by_a_factor_is_named(mode):
    assert cr.gradcheck(lambda a: cube_off(a), [X], mode=mode).ok  # array mode: right
    report = cr.gradcheck(lambda a: cube_off(a), [X], order=2, mode=mode)
    assert report.ok is False and not report.problem
    found = re.search(
        r"the rule of 'qa_cube_off_s68' for input 0 gives other values in tensor mode than in "
        r"array mode: (\S+) where array mode gives (\S+) at entry \[\d, \d\] of its result",
        report.note,
    )
    assert found, report.note
    tensor_value, array_value = map(float, found.groups())  # the worst entry: 1.01 times apart
    assert tensor_value == pytest.approx(1.01 * array_value, rel=1e-5)
    assert "qa_cube_off_s68" in str(report)
    # a rule wrong in both modes is not said to differ between them; right rules pass unnamed
    report = cr.gradcheck(lambda a: cube_off_both(a), [X], order=2, mode=mode)
    assert report.ok is False and "the rule of" not in report.note
    report = cr.gradcheck(lambda a: (cr.sigmoid(a) * cr.tanh(a)).sum(), [X], order=2, mode=mode)
    assert report.ok and "the rule of" not in report.note


def test_order_2_of_the_gradient_checks_third_derivatives_as_the_docs_say():
    def f(a):
        return sigmoid_third(a)

    s = _logistic(X).reshape(-1)
    np.testing.assert_allclose(_hessian_diagonal(sigmoid_third, X), s * (1 - s) * (1 - 2 * s))
    assert cr.gradcheck(f, [X], order=2).ok  # right first and second derivatives
    third = cr.gradcheck(cr.grad(lambda a: f(a).sum()), [X], order=2)
    assert third.ok is False
    assert "d (J^T u)[input 0]" in str(third)  # its derivatives: the third of f
    right = cr.gradcheck(cr.grad(lambda a: cr.sigmoid(a).sum()), [X], order=2)
    assert right.ok
    doc = " ".join(cr.gradcheck.__doc__.split())
    assert "gradcheck(cr.grad(lambda a: f(a).sum()), [x], order=2)" in doc
