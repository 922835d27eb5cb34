"""Custom rules that are right in array mode but wrong in tensor mode, where the transforms that
differentiate twice run them: gradcheck's ``order=2`` checks forward mode too (a rule not linear
in its cotangent passed it while ``jvp`` gave zeros), and a rule that returns a bare array in
tensor mode is refused naming the op (``hessian`` blamed the user's function, or gave zeros)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, array_of, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


def _cube_rule_cutting_g(g, out, x):
    """d(x^3)/dx, right in both modes' values, but in tensor mode g is read as an array: the
    result no longer depends on g, so forward mode (which differentiates in g) gets 0."""
    if isinstance(x, cr.Tensor):
        return cr.tensor(array_of(g)) * 3 * x * x
    return g * 3 * x * x


cube_cutting_g = _register_once("qa_cube_s58", lambda x: x**3, _cube_rule_cutting_g)
cube = _register_once("qa_cube_right_s58", lambda x: x**3, lambda g, out, x: g * 3 * x * x)
# d(a*b): right for a, and for b built from g's array in tensor mode
mul_cutting_g_for_b = _register_once(
    "qa_mul_s58",
    lambda a, b: a * b,
    lambda g, out, a, b: g * b,
    lambda g, out, a, b: cr.tensor(array_of(g)) * a if isinstance(a, cr.Tensor) else g * a,
)
# the suffix sums of g (the vjp of cumsum), computed on g's array: a bare array in tensor mode
cumsum_on_arrays = _register_once(
    "qa_cumsum_s58",
    lambda x: np.cumsum(x),
    lambda g, out, x: np.cumsum(array_of(g)[::-1])[::-1],
)

X = np.array([0.5, -1.2, 2.0])
FORWARD = "forward mode (J v)"


@pytest.mark.parametrize("mode", ["full", "random"])
def test_order_two_fails_a_rule_that_treats_its_cotangent_as_a_constant(mode) -> None:
    """It passed (J^T u and its derivatives are right) while jvp returned zeros."""
    assert cr.gradcheck(cube_cutting_g, [X]).ok  # first order is right
    hessian = cr.hessian(lambda x: cube_cutting_g(x).sum())(X).numpy()
    np.testing.assert_allclose(hessian, np.diag(6 * X))  # and so are Hessians
    assert np.all(cr.jvp(cube_cutting_g, (X,), (np.ones(3),))[1].numpy() == 0)  # 3x^2 is due
    report = cr.gradcheck(cube_cutting_g, [X], order=2, mode=mode)
    assert not report.ok
    assert report.where.endswith(FORWARD)
    failures = report.failures()
    assert failures and all(m.where.endswith(FORWARD) for m in failures)
    assert all(m.analytic == 0 for m in failures)  # what jvp gave
    assert "the rule of 'qa_cube_s58' for input 0 is not linear in its cotangent" in report.note
    assert "array_of(g)" in report.note
    shown = str(report)
    assert FORWARD in shown and "not linear in its cotangent" in shown
    with pytest.raises(cr.GradcheckError, match=r"forward mode \(J v\)"):
        cr.gradcheck(cube_cutting_g, [X], order=2, mode=mode, raise_on_failure=True)


def test_forward_mode_rows_compare_jvp_with_the_closed_form() -> None:
    """Full mode compares J v at every output entry; for x^3, J v = 3 x^2 v (so v can be read
    off the numeric side, and the analytic side must agree with it)."""
    report = cr.gradcheck(cube, [X], order=2)
    assert report.ok
    rows = [m for m in report.entries if m.where.endswith(FORWARD)]
    assert [m.where for m in rows] == [f"d out[{k}] / d input 0 . v, {FORWARD}" for k in range(3)]
    v = np.array([m.numeric for m in rows]) / (3 * X**2)
    jvp = cr.jvp(cube, (X,), (v,))[1].numpy()
    np.testing.assert_allclose([m.analytic for m in rows], jvp, rtol=1e-8)  # v read off rounds
    np.testing.assert_allclose(jvp, 3 * X**2 * v, rtol=1e-6)
    random_report = cr.gradcheck(cube, [X], order=2, mode="random")
    assert random_report.ok
    assert [m.where for m in random_report.entries if m.where.endswith(FORWARD)] == [
        f"input 0: u . J v, {FORWARD}"
    ]


def test_the_note_names_the_input_and_the_op_among_others() -> None:
    """Among built-in ops below it, the rule cut from g is the one named, with its input (it
    is f's last op, so g is the seed and the Hessians stay right: forward mode alone fails)."""
    a, b = np.array([0.3, -0.7]), np.array([1.5, 0.4])

    def f(a, b):
        return mul_cutting_g_for_b(cr.tanh(a * 2), b * b)

    report = cr.gradcheck(f, [a, b], order=2)
    assert not report.ok
    assert report.failures() and all(m.where.endswith(FORWARD) for m in report.failures())
    assert {m.where.split(" / ")[1].split(" .")[0] for m in report.failures()} == {"d input 1"}
    assert "the rule of 'qa_mul_s58' for input 1 is not linear" in report.note
    assert cr.gradcheck(lambda a, b: cr.tanh(a * 2) * (b * b), [a, b], order=2).ok


def test_a_rule_returning_an_array_in_tensor_mode_is_named() -> None:
    """hessian said "the function must return tensors, got ndarray" of a function that does."""
    assert np.allclose(cr.grad(lambda x: cumsum_on_arrays(x).sum())(X).numpy(), [3, 2, 1])
    named = r"the rule of 'qa_cumsum_s58' for input 0 returned a numpy\.ndarray in tensor mode"
    with pytest.raises(TypeError, match=rf"^hessian: {named}") as refused:
        cr.hessian(lambda x: (cumsum_on_arrays(x) ** 2).sum())(X)
    assert "chainrule's ops" in str(refused.value)
    # composed, the array was taken as a constant and the Hessian came out zeros
    with pytest.raises(TypeError, match=rf"^hessian: {named}"):
        cr.hessian(lambda x: (cumsum_on_arrays(x * 2) ** 2).sum())(X)
    with pytest.raises(TypeError, match=rf"^jvp: {named}"):
        cr.jvp(cumsum_on_arrays, (X,), (np.ones(3),))
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(TypeError, match=rf"^gradient: {named}"):  # it returned an ndarray
        cr.gradient((cumsum_on_arrays(x) ** 2).sum(), [x], create_graph=True)
    report = cr.gradcheck(lambda x: cumsum_on_arrays(x) ** 2, [X], order=2)  # a report per rule
    assert report.ok is False and re.match(rf"^gradcheck: {named}", report.problem)
