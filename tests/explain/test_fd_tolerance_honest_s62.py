"""The finite-difference check's tolerance scales with what the difference can resolve: its own
error, |fd(2 step) - fd(step)|, plus rounding, not a flat floor of 1e-7 (which passed a 20% wrong
tanh rule on a trained XOR network's gradient of 2e-7 with a ✓: QA s62)."""

import numpy as np
import pytest
from explain_cases import rule_scaled

import chainrule as cr
from chainrule import nn
from chainrule.explainer import render

# a 2-2-1 tanh/logistic network trained on XOR (float64): at case (0, 0) its gradients are 1e-7
# to 1e-4, and each central difference is right to about 1e-11
W1 = [[4.155928457548626, -2.893821813441367], [4.169743007267337, -2.8967772854111917]]
B1 = [-2.0375904345952924, 4.253277185077229]
W2 = [[5.653790711705754], [5.8032519468027175]]
B2 = [-5.3038307227384776]
X, T = np.array([[0.0, 0.0]]), np.array([[0.0]])


def _xor_net(dtype: str):
    model = nn.mlp([2, 2, 1], "tanh", "logistic", dtype=dtype, rng=0)
    for parameter, value in zip(model.parameters(), (W1, B1, W2, B2)):
        parameter.data[...] = np.array(value)
    return model


def _explain(model):
    return cr.explain(model, X, T, "squared-error", perturbation=False, views=False, paths=False)


def _with_wrong_tanh(model, factor):
    """explain with tanh's backward rule scaled by ``factor`` (explain_cases.rule_scaled)."""
    with rule_scaled("tanh", factor):
        return _explain(model)


def test_a_20_percent_wrong_tanh_rule_fails_on_a_small_gradient_float64():
    d = _with_wrong_tanh(_xor_net("float64"), 1.2)
    small = d.dE_db(0, 1)  # about 2.2e-7 right, 2.7e-7 wrong
    assert 1e-7 < abs(small.numeric) < 1e-6
    assert abs(small.value / small.numeric - 1.2) < 1e-3
    assert small.ok is False
    assert not small.near_zero
    assert d.all_ok is False
    text = render(d, "text")
    line = next(line for line in text.splitlines() if "∂E/∂b_2" in line and "fd" in line)
    assert "MISMATCH" in line and "✓" not in line


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_right_rule_passes_with_a_verdict(dtype):
    d = _explain(_xor_net(dtype))
    assert d.all_ok is True
    small = d.dE_db(0, 1)
    assert small.ok and not small.near_zero  # resolved: a ✓, not a "?"
    for check in d.all_checks():
        # each check's absolute tolerance is its own difference's error plus rounding: far
        # below the old flat 1e-7 in float64
        if dtype == "float64":
            assert check.atol < 1e-9


def test_a_difference_is_checked_against_its_own_measured_error():
    d = _explain(_xor_net("float64"))
    error = d.difference_error["dE_db", 0]
    assert error.shape == (2,) and np.all(np.isfinite(error))
    # Richardson: |fd(2h) - fd(h)| from E recomputed here in float64
    h = d.eps

    def e(b):
        hidden = np.tanh(X @ np.array(W1) + b)
        return 0.5 * float(((1 / (1 + np.exp(-(hidden @ np.array(W2) + B2))) - T) ** 2).sum())

    def fd(step):
        plus, minus = np.array(B1), np.array(B1)
        plus[1] += step
        minus[1] -= step
        return (e(plus) - e(minus)) / (2 * step)

    assert abs(error[1] - abs(fd(2 * h) - fd(h))) <= 1e-12
    assert d.dE_db(0, 1).atol >= error[1]


def test_the_text_states_the_rule_as_applied():
    text = render(_explain(_xor_net("float64")), "text")
    line = next(line for line in text.splitlines() if "gradients checked against" in line)
    assert "|value - fd| ≤ atol + 1e-05·|fd|" in line
    assert "|fd(2·eps) - fd(eps)|" in line
    assert "·|value|" not in line
