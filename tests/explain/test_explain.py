"""The derivation: every number equals the engine's gradient, a finite difference and a hand sum."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError, explain, seed_network
from chainrule.explainer.perturbation import perturbation_view
from chainrule.explainer.symbolic import SymbolicTooLarge, prove


def _hand_seed():
    """The seed network worked by hand with Python floats (no NumPy, no chainrule)."""
    x = [1.0, 0.5]
    w_hi = [[0.15, -0.25], [0.40, 0.30]]
    b_i = [0.10, -0.20]
    w_ij = [[0.50, -0.30, 0.20], [-0.40, 0.60, 0.35]]
    b_j = [0.05, -0.10, 0.00]
    t = [1.0, 0.0, 1.0]

    def logistic(z):
        return 1.0 / (1.0 + math.exp(-z))

    z_i = [b_i[i] + x[0] * w_hi[0][i] + x[1] * w_hi[1][i] for i in range(2)]
    y_i = [logistic(z) for z in z_i]
    z_j = [b_j[j] + y_i[0] * w_ij[0][j] + y_i[1] * w_ij[1][j] for j in range(3)]
    y_j = [logistic(z) for z in z_j]
    E = 0.5 * sum((t[j] - y_j[j]) ** 2 for j in range(3))
    dE_dy_j = [-(t[j] - y_j[j]) for j in range(3)]
    dE_dz_j = [y_j[j] * (1 - y_j[j]) * dE_dy_j[j] for j in range(3)]
    dE_dy_i = [w_ij[i][0] * dE_dz_j[0] + w_ij[i][1] * dE_dz_j[1] + w_ij[i][2] * dE_dz_j[2]
               for i in range(2)]  # fmt: skip
    dE_dz_i = [y_i[i] * (1 - y_i[i]) * dE_dy_i[i] for i in range(2)]
    dE_dw_ij = [[y_i[i] * dE_dz_j[j] for j in range(3)] for i in range(2)]
    dE_dw_hi = [[x[h] * dE_dz_i[i] for i in range(2)] for h in range(2)]
    return locals()


def test_seed_matches_a_hand_computation_to_1e_12():
    hand = _hand_seed()
    d = explain()
    assert d.dtype == "float64"
    assert d.error == pytest.approx(hand["E"], abs=1e-12)
    for j in range(3):
        assert d.layers[2].y[0, j] == pytest.approx(hand["y_j"][j], abs=1e-12)
        assert d.dE_dy(2, j).value == pytest.approx(hand["dE_dy_j"][j], abs=1e-12)
        assert d.dE_dz(2, j).value == pytest.approx(hand["dE_dz_j"][j], abs=1e-12)
    for i in range(2):
        assert d.dE_dy(1, i).value == pytest.approx(hand["dE_dy_i"][i], abs=1e-12)
        assert d.sum_over_j(1, i) == pytest.approx(hand["dE_dy_i"][i], abs=1e-12)
        assert d.dE_dz(1, i).value == pytest.approx(hand["dE_dz_i"][i], abs=1e-12)
        for j in range(3):
            assert d.dE_dw(1, i, j).value == pytest.approx(hand["dE_dw_ij"][i][j], abs=1e-12)
            assert d.terms(1, i)[j].product == pytest.approx(
                hand["w_ij"][i][j] * hand["dE_dz_j"][j], abs=1e-12
            )
    for h in range(2):
        for i in range(2):
            assert d.dE_dw(0, h, i).value == pytest.approx(hand["dE_dw_hi"][h][i], abs=1e-12)


def _engine_grads(problem):
    """The engine's gradients of E w.r.t. every weight and bias, computed directly."""
    net = problem.network
    y = cr.tensor(problem.x)
    for layer in net.layers:
        y = cr.sigmoid(layer.linear(y))
    E = 0.5 * ((cr.tensor(problem.t) - y) ** 2).sum()
    params = [p for layer in net.layers for p in (layer.weight, layer.bias)]
    return [g.numpy() for g in cr.gradient(E, params)]


def test_every_number_equals_the_engine_and_the_finite_difference():
    d = explain()
    grads = _engine_grads(seed_network())
    for k, conn in enumerate(d.connections):
        np.testing.assert_allclose(conn.dE_dw, grads[2 * k], rtol=0, atol=1e-15)
        np.testing.assert_allclose(conn.dE_db, grads[2 * k + 1], rtol=0, atol=1e-15)
    checks = d.all_checks()
    # every y (input layer too), z, w and b: 2+2+3 y, 2+3 z, 4+2+6+3 parameters
    assert len(checks) == 7 + 5 + 15
    assert all(c.ok for c in checks)
    assert max(c.difference for c in checks) < 1e-9
    for layer in range(2):
        for unit in range(d.layers[layer].size):
            assert d.sum_over_j(layer, unit) == pytest.approx(d.dE_dy(layer, unit).value, abs=1e-15)


def test_a_wrong_gradient_would_be_flagged():
    d = explain()
    d.layers[1].dE_dy[0, 0] += 1e-4  # tamper: the check must notice
    assert not d.all_ok
    assert not d.dE_dy(1, 0).ok


def test_sequential_float32_deep_tanh_and_minibatch():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(3, 4, rng=0),
        nn.Tanh(),
        nn.Linear(4, 3, rng=1),
        nn.Logistic(),
        nn.Linear(3, 2, rng=2),
        nn.Logistic(),
    )
    x, t = rng.normal(size=(5, 3)), rng.random((5, 2))
    d = explain(model, x, t, nn.SquaredError())
    assert d.dtype == "float32" and d.n_cases == 5 and d.n_layers == 3
    assert d.all_ok
    # the model's own parameters, read by name: dE/dw is the sum over cases of y_i dE/dz_j
    conn = d.connections[2]
    assert conn.weight_name == "4.weight"
    per_case = np.einsum("ci,cj->ij", d.layers[2].y, d.layers[3].dE_dz)
    np.testing.assert_allclose(conn.dE_dw, per_case, rtol=1e-5, atol=1e-7)
    # the layers below the top repeat the same step: sum over the units above, per case
    for c in range(5):
        for i in range(4):
            assert d.sum_over_j(1, i, c) == pytest.approx(d.dE_dy(1, i, c).value, abs=1e-6)
    assert not any(p.grad is not None for p in model.parameters())  # .grad untouched


def test_a_confident_float32_classifier_passes_its_own_check_and_a_wrong_gradient_does_not():
    """Softmax 0.9999 against 1: p - t in float32 is right to about 1e-3 of itself (torch's
    float32 gives the same dE/dw_11, -7.1778e-05 against float64's -7.1966e-05), which a
    tolerance relative to the small difference flagged as a mismatch."""
    rng = np.random.default_rng(0)
    x, labels = (rng.normal(size=(5, 3)) * 2).astype(np.float32), rng.integers(0, 3, 5)
    model = nn.mlp([3, 4, 3], "tanh", None, rng=1)
    step = cr.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    for _ in range(200):
        step.zero_grad()
        nn.CrossEntropy()(model(cr.tensor(x)), labels).backward()
        step.step()
    d = explain(model, x, labels, nn.CrossEntropy())
    assert d.dtype == "float32" and d.output.y.max() > 0.9999
    assert d.all_ok and d.dE_dw(0, 0, 0).ok
    d.connections[0].dE_dw[0, 0] *= 1.1  # tamper: 10% is far beyond float32's rounding
    assert not d.dE_dw(0, 0, 0).ok and not d.all_ok


def test_softmax_cross_entropy_dE_dz_is_y_minus_t_over_n():
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).normal(size=(2, 4))
    d = explain(model, x, np.array([0, 2]), "cross-entropy")
    top = d.output
    assert top.activation == "softmax" and top.dE_dy is None
    t = np.eye(3)[[0, 2]]
    np.testing.assert_allclose(top.dE_dz, (top.y - t) / 2, atol=1e-12)  # mean over 2 cases
    assert d.all_ok


def test_perturbation_error_shrinks_quadratically_and_dropping_a_term_fails():
    d = explain()
    rows = d.perturbation["rows"]
    for row in rows:
        assert row["sum_predicted"] == pytest.approx(sum(p["predicted"] for p in row["paths"]))
        for drop in row["drop_one"]:  # one path left out: the miss is of order eps, not eps^2
            assert abs(drop["error"]) > (5 if row["eps"] >= 0.1 else 100) * abs(row["error"])
    for big, small in zip(rows, rows[1:]):
        ratio = abs(big["error"]) / abs(small["error"])
        assert 50 < ratio < 200  # eps / 10 -> error / 100
        dropped = abs(big["drop_one"][0]["error"]) / abs(small["drop_one"][0]["error"])
        assert 5 < dropped < 20  # without a path: eps / 10 -> error / 10 only
    assert d.perturbation["shrinks_quadratically"]


@pytest.mark.parametrize("eps", [0.0, -0.0, 1e-300, 5e-324])
def test_perturbation_at_zero_or_an_underflowing_eps_has_no_ratio(eps):
    """eps = 0 is the page's nudge slider at its midpoint; eps^2 of 1e-300 underflows to 0."""
    view = perturbation_view(explain(check=False), 1, 0, eps_values=(eps,))
    row = view["rows"][0]
    assert row["error_over_eps2"] is None
    assert row["measured"] == 0.0 and abs(row["sum_predicted"]) <= abs(eps)
    assert view["shrinks_quadratically"]


def test_symbolic_result_is_the_sum_and_equals_the_numbers():
    d = explain(symbolic=True)
    s = d.symbolic
    assert s["status"] == "proved" and s["difference"] == "0"
    assert s["value"] == pytest.approx(d.dE_dy(1, 0).value, abs=1e-12)
    assert s["general"]["verified"]


def test_symbolic_for_a_small_tanh_sequential_and_the_input_layer():
    model = nn.Sequential(nn.Linear(2, 2, rng=3), nn.Tanh(), nn.Linear(2, 2, rng=4), nn.Logistic())
    model.to(np.float64)
    d = explain(model, [[0.3, -0.2]], [[1.0, 0.0]], unit="0:2")
    s = prove(d, 0, 1)
    assert s["equal"] and s["value"] == pytest.approx(d.dE_dy(0, 1).value, abs=1e-12)


def test_too_large_for_symbolic_gives_a_message_and_the_numbers():
    model = nn.mlp([3, 20, 10], output="logistic", dtype=np.float64, rng=0)
    x, t = np.ones((1, 3)), np.zeros((1, 10))
    d = explain(model, x, t, symbolic=True, perturbation=False)
    assert d.symbolic["status"] == "skipped" and "at most" in d.symbolic["message"]
    assert d.all_ok
    with pytest.raises(SymbolicTooLarge, match="symbolic mode"):
        prove(d, 1, 0)


def test_bad_input_names_the_problem():
    model = nn.mlp([3, 2, 1], dtype=np.float64, rng=0)
    with pytest.raises(ExplainError, match=r"shape \(1, 2\).*expects 3"):
        explain(model, [[1.0, 2.0]], [[1.0]])
    d = explain()
    with pytest.raises(ExplainError, match=r"terms\(1, 5, case=0\): the unit of layer 1 must be "
                       r"0 to 1 \(2 units, counted from 0\), not 5"):  # fmt: skip
        d.terms(1, 5)
    with pytest.raises(ExplainError, match="layer 7 is out of range"):
        explain(unit="7:1")
    with pytest.raises(ExplainError, match="LAYER:UNIT"):
        explain(unit="one")
    with pytest.raises(ExplainError, match="loss 'hinge'"):
        explain(model, [[1.0, 2.0, 3.0]], [[1.0]], loss="hinge")
    with pytest.raises(ExplainError, match="Conv"):
        explain(
            nn.Sequential(type("Conv", (nn.Module,), {"forward": lambda s, x: x})()),
            [[1.0]],
            [[1.0]],
        )


def test_the_accessors_name_the_layer_unit_and_range_of_a_bad_index():
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).normal(size=(2, 4))
    d = explain(model, x, [0, 2], "cross-entropy")
    with pytest.raises(ExplainError, match=r"dE_dy\(2, 0\).*output layer.*use dE_dz\(2, 0\)"):
        d.dE_dy(2, 0)  # cross-entropy works from z: there is no dE/dy to give
    with pytest.raises(
        ExplainError, match=r"dE_dy\(1, 7, case=0\): the unit of layer 1 must be 0 to 4 .*7"
    ):
        d.dE_dy(1, 7)
    with pytest.raises(ExplainError, match=r"the unit of layer 1 must be 0 to 4 \(5 units.*not -1"):
        d.dE_dy(1, -1)  # not wrapped round to the last unit
    with pytest.raises(ExplainError, match=r"the case must be 0 to 1 \(2 cases.*not 2"):
        d.dE_dz(1, 0, case=2)
    with pytest.raises(ExplainError, match=r"layer 0 is the input layer and has no z"):
        d.dE_dz(0, 1)
    with pytest.raises(ExplainError, match=r"the layer must be 0 to 2 .*not 3"):
        d.dE_dz(3, 0)
    with pytest.raises(
        ExplainError, match=r"dE_dw\(0, 9, 0\): unit i of layer 0 must be 0 to 3 .*not 9"
    ):
        d.dE_dw(0, 9, 0)
    with pytest.raises(ExplainError, match=r"unit j of layer 2 must be 0 to 2 .*not 3"):
        d.dE_db(1, 3)
    with pytest.raises(ExplainError, match=r"the layer below must be 0 to 1 .*not 2"):
        d.dE_dw(2, 0, 0)
    # in range, they are the model's own backward()
    nn.CrossEntropy()(model(cr.tensor(x)), np.array([0, 2])).backward()
    assert d.dE_dw(1, 4, 2).value == pytest.approx(model[2].weight.grad.numpy()[4, 2], rel=1e-12)
    assert d.dE_db(0, 4).value == pytest.approx(model[0].bias.grad.numpy()[4], rel=1e-12)
