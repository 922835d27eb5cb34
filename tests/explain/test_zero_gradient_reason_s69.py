"""Why a gradient of exactly 0 gives no verdict names its cause where the numbers show it: the
y_i feeding a weight is 0 (a zero input), or the unit above is a relu unit that is off; relu is
named only where a relu unit is involved. An all-logistic autoencoder's weights out of a zero
input were said to be 0 from "a relu unit that is off"."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer.notation import get_notation


@pytest.fixture(scope="module")
def logistic_autoencoder():
    """8-3-8, logistic throughout, two one-hot cases: inputs 3 to 8 are 0 in both."""
    net = nn.mlp([8, 3, 8], output=None, rng=0, dtype="float64", init_range=1.0)
    x = np.eye(8)[:2]
    d = cr.explain(net, x, x, loss=nn.BinaryCrossEntropy(), symbolic=False, perturbation=False)
    return x, d


def test_a_weight_out_of_a_zero_input_names_the_input_not_relu(logistic_autoencoder):
    x, d = logistic_autoencoder
    assert np.all(x[:, 2] == 0)  # the premise: dE/dw_3j = sum over cases of y_3 dE/dz_j = 0
    check = d.dE_dw(0, 2, 0)
    assert check.value == 0 and check.numeric == 0 and check.unresolved
    reason = check.no_verdict_reason
    assert "y_3, the input feeding the weight, is exactly 0 in every case" in reason
    assert "∂E/∂w_31 = y_3 ∂E/∂z_1 = 0" in reason
    assert "relu" not in reason
    # in another notation, that notation's symbols
    matrix = check.no_verdict_reason_in(get_notation("matrix"))
    assert "a^0_3, the input feeding the weight" in matrix and "δ^1_1" in matrix


def test_no_reason_in_an_all_logistic_network_names_relu(logistic_autoencoder):
    _, d = logistic_autoencoder
    reasons = [c.no_verdict_reason for c in d.all_checks() if c.unresolved]
    assert reasons  # 18 weights out of the six zero inputs
    assert not any("relu" in reason for reason in reasons)
    text = cr.explainer.render(d, "text")
    assert "no verdict" in text and "relu" not in text


def _relu_net(output_weight):
    """2-2-1, hidden relu; hidden unit 2's bias of -10 keeps it off for both cases."""
    model = nn.Sequential(
        nn.Linear(2, 2, dtype="float64", rng=0), nn.ReLU(), nn.Linear(2, 1, dtype="float64", rng=1)
    )
    model[0].weight.data[:] = 1.0
    model[0].bias.data[:] = [0.5, -10.0]
    model[2].weight.data[:] = output_weight
    x, t = np.array([[0.5, 1.0], [1.0, 0.0]]), np.array([[1.0], [0.0]])
    return x, cr.explain(model, x, t, symbolic=False, perturbation=False)


def test_an_off_relu_unit_is_named_for_its_weights_bias_and_z():
    x, d = _relu_net(0.7)
    z2 = x.sum(axis=1) - 10.0  # the premise: unit 2's z, below 0 in both cases
    assert np.all(z2 < 0)
    weight = d.dE_dw(0, 0, 1).no_verdict_reason
    assert "the unit above is a relu unit that is off in every case (z_2 <= 0)" in weight
    bias = d.dE_db(0, 1).no_verdict_reason
    assert "relu unit that is off" in bias and "∂E/∂b_2 = ∂E/∂z_2 = 0" in bias
    z = d.dE_dz(1, 1, case=0).no_verdict_reason
    assert f"relu unit that is off (z_2 = {z2[0]:.3g} < 0)" in z
    # the unit's output, 0 in every case, feeds the output weight: named as that
    out = d.dE_dw(1, 1, 0).no_verdict_reason
    assert "y_2, the output of the unit feeding the weight, is exactly 0" in out


def test_a_relu_unit_that_is_on_is_not_called_off():
    """Output weights of 0: every dE/dz below is 0 with unit 1 on; its dE/dz is 0 as its
    dE/dy is, not as it is off."""
    _, d = _relu_net(0.0)
    reason = d.dE_dz(1, 0, case=0).no_verdict_reason
    assert "∂E/∂y_1 is exactly 0, so ∂E/∂z_1 = f'(z_1) ∂E/∂y_1 = 0" in reason
    assert "off" not in reason
    total = d.dE_dy(1, 0, case=0).no_verdict_reason
    assert "of the sum is exactly 0" in total and "off" not in total
