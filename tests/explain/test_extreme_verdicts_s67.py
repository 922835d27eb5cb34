"""Extreme values gave false verdicts: a right gradient called wrong.

Oracles: closed forms (binary cross-entropy on a logit: dE/dz = sigmoid(z) - t; squared error:
dE/dy = y - t), mpmath at 50 digits, and what a finite difference can resolve at all (a step
swallowed by a huge value, or swamping a tiny one, resolves nothing: no verdict, never a
MISMATCH). Each case is the QA tester's (/api and explain), the fix's one home being
:func:`chainrule.explainer.build.difference_error` (gradcheck's ``difference_rounding``).
"""

import math

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, render


def _seq(layers, activations, dtype="float64"):
    """A Sequential of Linear layers with the given (weights, biases), each followed by its
    unit (identity: none)."""
    modules = []
    for (w, b), act in zip(layers, activations):
        w = np.array(w, dtype=dtype)
        linear = nn.Linear(w.shape[0], w.shape[1], dtype=dtype)
        linear.weight.data[...] = w
        linear.bias.data[...] = np.array(b, dtype=dtype)
        modules.append(linear)
        unit = {"logistic": nn.Logistic, "tanh": nn.Tanh}.get(act)
        if unit:
            modules.append(unit())
    return nn.Sequential(*modules)


HIDDEN = ([[1.0, 0.5], [-0.3, 1.0]], [0.0, 0.0])


def _bce_logit(bias):
    return _seq([HIDDEN, ([[1.0], [2.0]], [bias])], ["tanh", "identity"])


# -- 1. sympy's exact value, at a precision where nothing cancels ---------------------------------
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_symbolic_value_of_a_saturated_logit_is_exact(target):
    pytest.importorskip("sympy")
    mpmath = pytest.importorskip("mpmath")
    d = explain(_bce_logit(400.0), [[0.2, 0.1]], [[target]], "binary-cross-entropy",
                symbolic=True)  # fmt: skip
    s = d.symbolic
    mpmath.mp.dps = 50
    z = mpmath.mpf(float(d.layers[2].z[0, 0]))  # the logit, as the model computed it
    # w_11 (sigmoid(z) - t), with sigmoid(z) - 1 written as -sigmoid(-z): nothing cancels
    exact = float(1 / (1 + mpmath.exp(-z)) if target == 0 else -1 / (1 + mpmath.exp(z)))
    assert s["value"] == pytest.approx(exact, rel=1e-12, abs=0), s["value"]  # was 1.4e-26
    assert s["engine_agrees"] is True
    assert "gradient is wrong" not in render(d, "text")


# -- 2. a step that swamps a tiny value or is swallowed by a huge one -----------------------------
def test_a_swallowed_step_resolves_nothing():
    """fd(h) = fd(2h) = 0 where v + h rounds to v: the estimate was 0, and 0 a MISMATCH."""
    from chainrule.explainer.build import difference_error  # (new: imported here, fail-first)

    moves = np.full((4, 1), 0.09)  # E the same at every move: the step was swallowed
    fd, error = difference_error(moves, np.array([1e-6]), np.array([2e12]))
    assert fd[0] == 0 and error[0] == math.inf
    # a step that swamps a tiny y: E at the moves is that of the step, and its rounding counts
    e = 0.5 * 1e-12
    fd, error = difference_error(np.full((4, 1), e) * [[1], [1], [4], [4]], np.array([1e-6]),
                                 np.array([5e-30]))  # fmt: skip
    assert fd[0] == 0 and error[0] >= 2 * np.finfo(float).eps * e / 1e-6


def _marks(d):
    return [line for line in render(d, "text").splitlines() if "MISMATCH" in line]


@pytest.mark.parametrize(
    "name, model, x, t",
    [
        ("tiny inputs, identity units",
         _seq([HIDDEN, ([[1.0], [2.0]], [0.0])], ["identity", "identity"]),
         [[1e-30, 2e-30]], [[0.0]]),
        ("a saturated logistic output (logit -49)",
         _seq([HIDDEN, ([[1.0], [2.0]], [-50.0])], ["tanh", "logistic"]), [[0.2, 0.1]], [[0.0]]),
        ("y = 2e12 beside t = 2e12 + 1",
         _seq([HIDDEN, ([[1.0], [2.0]], [2e12])], ["identity", "identity"]),
         [[0.2, 0.1]], [[2e12 + 1]]),
    ],
)  # fmt: skip
def test_a_right_gradient_beyond_the_steps_reach_is_no_mismatch(name, model, x, t):
    d = explain(model, x, t)
    assert d.all_ok is not False and not _marks(d), (name, _marks(d))
    top = d.dE_dy(2, 0)  # y - t, the closed form, against a difference that cannot see it
    assert top.value == pytest.approx(float(d.layers[2].y[0, 0] - t[0][0]), rel=1e-12)
    assert top.unresolved or top.ok


def test_y_of_2e12_gives_no_verdict():
    d = explain(_seq([HIDDEN, ([[1.0], [2.0]], [2e12])], ["identity", "identity"]),
                [[0.2, 0.1]], [[2e12 + 1]])  # fmt: skip
    assert d.all_ok is None  # every difference is swallowed or swamped: nothing resolved


# -- 3. a float32 gradient below float32's smallest number ----------------------------------------
def test_float32_gradient_that_underflows_is_no_mismatch():
    layers = [HIDDEN, ([[1.0], [2.0]], [-90.0])]
    d32 = explain(_seq(layers, ["tanh", "logistic"], "float32"), [[0.2, 0.1]], [[0.0]])
    d64 = explain(_seq(layers, ["tanh", "logistic"]), [[0.2, 0.1]], [[0.0]])
    w64 = d64.dE_dw(0, 0, 0).value  # the float64 value: far below float32's tiny
    assert 0 < abs(w64) < np.finfo(np.float32).tiny
    assert d32.dE_dw(0, 0, 0).value == 0  # underflowed: a rounding, not a wrong rule
    assert not _marks(d32) and d32.all_ok is not False


# -- 4. the nudge below E's rounding ---------------------------------------------------------------
def test_nudge_below_the_rounding_of_E_gives_no_verdict():
    """E = 5e17 (a logit of 5e17, binary cross-entropy): every change the nudge makes (0.1 at
    most) is below E's rounding (64 a step), measured as 0: no evidence of a wrong gradient."""
    d = explain(_bce_logit(5e17), [[0.2, 0.1]], [[0.0]], "binary-cross-entropy")
    assert d.error == pytest.approx(5e17)
    text = render(d, "text")
    nudge = text[text.index("Why a sum: nudge") :][:1200]
    assert "gradient is wrong" not in nudge
    assert "No verdict" in nudge and "too large for this nudge to show" in nudge
