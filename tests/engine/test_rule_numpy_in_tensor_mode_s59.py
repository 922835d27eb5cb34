"""A custom rule written with NumPy functions is right on arrays (gradcheck passes it) but meets
tensors in tensor mode (create_graph: hessian, jvp, jacobian(mode="forward"), gradcheck(order=2)),
where NumPy refuses them: ``operand 'Tensor' does not support ufuncs``, naming no rule. The
engine says which op's rule, for which input, and what tensor mode asks of a rule, keeping
NumPy's words (and its error as the cause), as it does for a rule that returns a bare array."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive


def _register_once(name: str, *args):
    """Register a test-only primitive (a repeated import of this module reuses it)."""
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


def _logistic(z):
    return 1 / (1 + np.exp(-z))


# the student's rule: dy/dz = e^-z / (1 + e^-z)^2 with NumPy's exp, a ufunc
numpy_sigmoid = _register_once(
    "qa_sigmoid_numpy_s59", _logistic, lambda g, out, z: g * np.exp(-z) / (1 + np.exp(-z)) ** 2
)
# the same rule with chainrule's exp: right in both modes (the oracle's check of the test)
sigmoid = _register_once(
    "qa_sigmoid_cr_s59", _logistic, lambda g, out, z: g * cr.exp(-z) / (1 + cr.exp(-z)) ** 2
)
# a product whose rules use np.dot: on a tensor that needs a gradient, Tensor.__array__ refuses
numpy_matmul = _register_once(
    "qa_matmul_numpy_s59",
    lambda a, b: a @ b,
    lambda g, out, a, b: np.dot(g, b.T),
    lambda g, out, a, b: np.dot(a.T, g),
)


def _typo(g, out, x):
    raise TypeError("my own mistake")


raises_its_own = _register_once("qa_raises_its_own_s59", lambda x: x * 2, _typo)

X = np.array([0.5, -1.2, 2.0])
NAMED = r"the rule of 'qa_sigmoid_numpy_s59' for input 0 called a NumPy function on tensors"


def _sigmoid_second_derivative(z):
    s = _logistic(z)
    return s * (1 - s) * (1 - 2 * s)


def test_the_rule_passes_first_order_and_is_named_wherever_tensor_mode_runs() -> None:
    assert cr.gradcheck(numpy_sigmoid, [X]).ok  # right on arrays
    np.testing.assert_allclose(  # the same rule on chainrule's ops: the closed form
        cr.hessian(lambda x: sigmoid(x).sum())(X).numpy(),
        np.diag(_sigmoid_second_derivative(X)),
        rtol=1e-10,
    )
    calls = {
        "hessian": lambda: cr.hessian(lambda x: numpy_sigmoid(x).sum())(X),
        "jvp": lambda: cr.jvp(numpy_sigmoid, (X,), (np.ones(3),)),
        "jacobian": lambda: cr.jacobian(numpy_sigmoid, mode="forward")(X),
    }
    for op, call in calls.items():
        with pytest.raises(TypeError, match=rf"^{op}: {NAMED} in tensor mode") as refused:
            call()
        message = str(refused.value)
        assert "chainrule's ops" in message and "cr.exp(z) for np.exp(z)" in message
        assert "does not support ufuncs" in message  # NumPy's words are kept
        assert "does not support ufuncs" in str(refused.value.__cause__)
    report = cr.gradcheck(numpy_sigmoid, [X], order=2)  # a failed report, naming the rule
    assert report.ok is False and re.match(rf"^gradcheck: {NAMED} in tensor mode", report.problem)


def test_numpy_refusing_to_convert_a_tensor_is_named_too_and_anomaly_mode_names_it() -> None:
    a, b = np.array([[0.3, -1.0, 2.0]]), np.array([[1.0], [0.5], [-2.0]])
    assert cr.gradcheck(numpy_matmul, [a, b]).ok
    named = r"the rule of 'qa_matmul_numpy_s59' for input 0 called a NumPy function on tensors"
    with pytest.raises(TypeError, match=rf"^hessian: {named}") as refused:
        cr.hessian(lambda a: (numpy_matmul(a, b) ** 2).sum())(a)
    assert "cannot become a NumPy array" in str(refused.value)
    with cr.detect_anomaly(), pytest.raises(TypeError) as refused:  # where the op ran, too
        cr.jvp(lambda a: numpy_matmul(a, b), (a,), (np.ones((1, 3)),))
    message = str(refused.value)
    assert message.startswith("jvp: the rule of 'qa_matmul_numpy_s59' (created at ")
    assert "test_rule_numpy_in_tensor_mode_s59.py" in message
    assert "for input 0 called a NumPy function on tensors in tensor mode" in message


def test_a_rules_own_type_error_is_raised_as_it_was() -> None:
    """Only NumPy's refusals of tensors are told so; the rule's own error is its own (in array
    mode too), and a rule right in tensor mode gives the closed form."""
    with pytest.raises(TypeError, match=r"^my own mistake$"):
        cr.hessian(lambda x: (raises_its_own(x) ** 2).sum())(X)
    with pytest.raises(TypeError, match=r"^my own mistake$"):
        cr.grad(lambda x: raises_its_own(x).sum())(X)
    # and the NumPy rule is named in gradcheck(order=2): a failed report (an autograder gets one
    # per rule), as a rule returning an array, or a gradient of the wrong shape, gives
    report = cr.gradcheck(numpy_sigmoid, [X], order=2, raise_on_failure=False)
    assert report.ok is False and re.match(rf"^gradcheck: {NAMED}", report.problem)
