"""The explainer's E and dE/dw are the model's own loss and backward(), for every loss.

The oracle is the model itself: ``loss(model(x), t)`` and ``.backward()`` on its parameters, with
the loss object the user trained with. Before the explainer asked the loss object, a mean
cross-entropy was written out as a sum (E three times too large on three cases).
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, to_dict, to_json
from chainrule.tensor import Tensor

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4))
LABELS = np.array([0, 2, 1])
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
ZERO_ONE = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
REAL = RNG.normal(size=(3, 3))

CASES = {
    "squared-error sum": (nn.SquaredError("sum"), "logistic", ZERO_ONE),
    "squared-error mean": (nn.SquaredError("mean"), "logistic", ZERO_ONE),
    "mse": (nn.MSE(), None, REAL),
    "cross-entropy labels": (nn.CrossEntropy(), None, LABELS),
    "cross-entropy probabilities": (nn.CrossEntropy(), None, PROBS),
    "binary-cross-entropy": (nn.BinaryCrossEntropy(), None, ZERO_ONE),
}


def own_loss_and_grads(model, loss, x, t):
    """E and every dE/dw by the model's own forward, loss and backward()."""
    for p in model.parameters():
        p.grad = None
    E = loss(model(Tensor(x)), t)
    E.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    return float(E.item()), grads


@pytest.mark.parametrize("case", list(CASES))
def test_E_and_every_dE_dw_equal_the_models_own_loss_and_backward(case):
    loss, output, t = CASES[case]
    model = nn.mlp([4, 5, 3], output=output, dtype=np.float64, rng=1)
    E, grads = own_loss_and_grads(model, loss, X, t)
    d = explain(model, X, t, loss)
    assert d.error == pytest.approx(E, rel=1e-12, abs=1e-15)
    for conn in d.connections:
        np.testing.assert_allclose(conn.dE_dw, grads[conn.weight_name], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(conn.dE_db, grads[conn.bias_name], rtol=1e-10, atol=1e-14)
    assert d.all_ok  # and the independent finite differences agree
    assert to_dict(d)["loss"]["reduction"] == loss.reduction


def test_a_mean_cross_entropy_is_not_written_out_as_a_sum():
    model = nn.mlp([4, 5, 3], output=None, dtype=np.float64, rng=1)
    E, _ = own_loss_and_grads(model, nn.CrossEntropy(), X, LABELS)
    for loss in (nn.CrossEntropy(), "cross-entropy", {"type": "cross-entropy"}):
        d = explain(model, X, LABELS, loss, check=False)
        assert d.error == pytest.approx(E, rel=1e-12)


def test_binary_cross_entropy_reads_a_column_of_0_1_targets():
    model = nn.mlp([4, 3, 1], output=None, dtype=np.float64, rng=2)
    t = np.array([[1.0], [0.0], [1.0]])
    E, _ = own_loss_and_grads(model, nn.BinaryCrossEntropy(), X, t)
    d = explain(model, X, t, "binary-cross-entropy")
    assert d.error == pytest.approx(E, rel=1e-12)
    np.testing.assert_array_equal(d.t, t)


def test_unchecked_derivation_serialises_without_a_giant_allocation():
    model = nn.mlp([4, 5, 3], output="logistic", dtype=np.float64, rng=1)
    d = explain(model, X, ZERO_ONE, check=False)
    assert d.all_checks() == []
    text = to_json(d)
    assert '"dE_dw"' in text or '"connections"' in text
