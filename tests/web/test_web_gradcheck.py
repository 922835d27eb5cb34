"""The explorer's gradient check: correct gradients of a network with a huge E pass (the finite
difference's rounding is allowed for), and a wrong gradient is named where it is wrong."""

import numpy as np
import pytest

from chainrule.explainer import explain
from chainrule.web import network as web_network
from chainrule.web.network import NetworkState, gradient_check


def _big_network(seed: int, activation: str, scale: float = 30.0) -> NetworkState:
    """Weights and biases of about ``scale``: with relu units E reaches 1e9-1e11."""
    rng = np.random.default_rng(seed)
    sizes = [4, 6, 5, 3]
    return NetworkState(
        sizes=sizes,
        weights=[rng.normal(0, scale, (a, b)) for a, b in zip(sizes, sizes[1:])],
        biases=[rng.normal(0, scale, b) for b in sizes[1:]],
        activation=activation,
        output="linear",
        loss="squared-error",
        input=rng.normal(0, 3, 4),
        target=rng.normal(0, 1, 3),
    )


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize("seed", range(6))
def test_correct_gradients_of_a_huge_error_pass(activation, seed):
    state = _big_network(seed, activation)
    d = state.derivation(check=True)
    # the oracle: a linear top unit under squared error has dE/db_j = y_j - t_j exactly
    top = d.connections[-1]
    np.testing.assert_allclose(top.dE_db, d.layers[-1].y[0] - d.t[0], rtol=1e-12)
    report = gradient_check(state)
    assert report["ok"] and report["failed"] == 0 and report["where"] is None, report
    assert d.all_ok  # the explainer's own check (the CLI's) agrees
    # no relative error out of a rounding-noise numeric value (it read 1e25 where FD was 0):
    # against the tolerance, a rounding noise measured at most 0.11 of it over 360 networks
    assert report["max_rel_error"] < 0.5, report


def test_a_wrong_gradient_is_named_and_counted(monkeypatch):
    """One dE/dw entry made wrong by a little more than its tolerance, beside entries that are
    larger but right: ``where`` names the wrong one, not the largest difference."""
    state = _big_network(0, "relu")
    derivation = NetworkState.derivation

    def tampered(self, *args, **options):
        d = derivation(self, *args, **options)
        check = d.dE_dw(1, 2, 3)
        d.connections[1].dE_dw[2, 3] += 3 * (check.atol + check.rtol * abs(check.numeric))
        return d

    monkeypatch.setattr(web_network.NetworkState, "derivation", tampered)
    report = gradient_check(state)
    assert not report["ok"] and report["failed"] == 1
    assert report["where"] == "weights[1][2, 3]"


def test_explain_check_of_a_huge_error_passes_in_float64():
    state = _big_network(3, "relu")
    d = explain(state.model(), state.input[None], state.target[None], "squared-error", check=True)
    assert d.error > 1e8 and d.all_ok
