"""A custom rule that writes into the ``g`` it is given (``g *= ...``, ``np.multiply(g, ...,
out=g)``) is a failed ``cr.gradcheck`` report in the engine's words, as a rule raising NumPy's
misaligned-``@`` ValueError is: checking many students' rules gives a report for each, not an
exception for the first that writes in place. Outside gradcheck, backward still raises."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _rule_writing_into_g(g, out, z):
    return np.multiply(g, out * (1 - out), out=g)


NAME = "qa_sigmoid_in_place_s71"
in_place = REGISTRY[NAME] if NAME in REGISTRY else primitive(NAME, _sigmoid, _rule_writing_into_g)
Z = np.random.default_rng(71).normal(size=3)
WORDS = (
    f"backward: the rule of '{NAME}' for input 0 wrote into an array it was given "
    "(output array is read-only)"
)


@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_rule_writing_into_its_g_is_a_failed_report_naming_the_op(mode) -> None:
    report = cr.gradcheck(lambda z: in_place(z).sum(), [Z], mode=mode)
    assert report.ok is False and not bool(report)
    assert report.problem.startswith(WORDS), report.problem
    assert "return a new array (g * 2, not g *= 2)" in report.problem
    assert str(report) == f"gradcheck FAILED (order 1, {mode} mode): {report.problem}"
    with pytest.raises(cr.GradcheckError) as caught:
        cr.gradcheck(lambda z: in_place(z).sum(), [Z], mode=mode, raise_on_failure=True)
    assert str(caught.value) == str(report)


def test_outside_gradcheck_backward_still_raises_the_engine_s_words() -> None:
    with pytest.raises(ValueError) as caught:
        cr.grad(lambda z: in_place(z).sum())(Z)
    assert str(caught.value).startswith(WORDS)
