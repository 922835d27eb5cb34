"""The symbolic proof's random points are evaluated with more digits where 30 divide by 0: a
network with weights of 30 under binary cross-entropy put a logistic output past z = 69 at a
random point, whose 1 - y is 0 to 30 digits, and cr.explain(symbolic=True) failed with mpmath's
ZeroDivisionError (explainer fuzz, s69)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

W1 = [[-4.17, -4.023, 18.277], [10.935, 8.054, -6.208], [13.73, 6.575, -1.618],
      [-1.052, -16.622, -0.109], [16.701, -4.8, -14.225]]  # fmt: skip
B1 = [-7.732, 30.423, 1.204]
W2 = [[-32.985, 37.845, -1.213, 4.389, -21.237], [-9.277, -4.905, -6.175, 19.927, -3.888],
      [13.518, 12.577, -10.426, 15.284, 24.353]]  # fmt: skip
B2 = [9.913, 0.851, 16.491, -11.12, 2.224]
W3 = [[-19.029, -9.281, -15.335, 27.714], [-30.636, 7.63, 3.892, 9.537],
      [-17.883, 4.697, 0.685, 22.157], [-6.978, 9.756, -9.41, -9.155],
      [-13.966, -5.606, 6.788, -20.958]]  # fmt: skip
B3 = [-1.877, -5.885, -14.728, -6.021]
X = np.array([[0.88032142, -0.25618863, 1.55728039, -0.35724482, 0.42028407]])
T = np.array([[0.0, 0.0, 1.0, 1.0]])


def _net():
    layers = [nn.Linear(5, 3, dtype="float64"), nn.Logistic(), nn.Linear(3, 5, dtype="float64"),
              nn.Identity(), nn.Linear(5, 4, dtype="float64")]  # fmt: skip
    model = nn.Sequential(*layers)
    for parameter, value in zip(model.parameters(), (W1, B1, W2, B2, W3, B3)):
        parameter.data[...] = np.array(value)
    return model


def test_a_proof_at_confident_points_is_made():
    d = cr.explain(_net(), X, T, nn.BinaryCrossEntropy(per_unit=False), unit="0:4", symbolic=True)
    proof = d.symbolic
    assert proof["status"] in ("proved", "agrees"), proof
    assert proof["status"] != "differs"
    # the proof is of the engine's own number: its sum is the derivation's dE/dy
    assert d.all_ok is not False


def test_a_point_past_thirty_digits_is_evaluated_with_more():
    import mpmath
    import sympy

    from chainrule.explainer.symbolic import _evaluate_at

    z = sympy.Symbol("z")
    one_minus_y = 1 - 1 / (1 + sympy.exp(-z))  # 0 to 30 digits at z = 150: e^-150 is 7e-66
    evaluate = sympy.lambdify([z], 1 / one_minus_y, modules="mpmath")
    value = _evaluate_at(evaluate, np.array([150.0]), mpmath)
    assert float(mpmath.log(value)) == pytest.approx(150.0, rel=1e-12)
