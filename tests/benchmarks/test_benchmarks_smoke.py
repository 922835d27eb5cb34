"""The benchmark's hand-written NumPy peer computes what chainrule computes (no timing here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root holds benchmarks/

from benchmarks.common import mlp_problem  # noqa: E402
from benchmarks.peers.numpy_mlp import NumpyMLP  # noqa: E402

SIZES = [784, 256, 10]  # workload 1's network


def chainrule_gradients(x, labels, weights, biases):
    """Mean softmax cross-entropy of the logistic MLP and its gradients, through the engine."""
    ws = [cr.tensor(w, requires_grad=True) for w in weights]
    bs = [cr.tensor(b, requires_grad=True) for b in biases]
    h = cr.tensor(x)
    for k, (w, b) in enumerate(zip(ws, bs)):
        h = h @ w + b
        if k < len(ws) - 1:
            h = cr.sigmoid(h)
    onehot = np.eye(weights[-1].shape[1], dtype=x.dtype)[labels]
    loss = -(cr.log_softmax(h, axis=-1) * onehot).sum() * (1.0 / x.shape[0])
    loss.backward()
    return float(loss.data), [w.grad.data for w in ws], [b.grad.data for b in bs]


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol"), [(np.float64, 1e-10, 1e-12), (np.float32, 1e-4, 1e-6)]
)
def test_numpy_peer_gradients_match_chainrule(dtype, rtol, atol):
    x, labels, weights, biases = mlp_problem(SIZES, batch=6, seed=3, dtype=dtype)
    x *= 3  # push the hidden units away from 1/2, so y (1 - y) varies
    net = NumpyMLP(weights, biases, batch=6)
    loss = net.forward_backward(x, labels)
    expected_loss, dws, dbs = chainrule_gradients(x, labels, weights, biases)
    assert loss == pytest.approx(expected_loss, rel=rtol)
    for got, want in zip(net.dw + net.db, dws + dbs):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    assert np.abs(net.dw[0]).max() > 1e-4  # the comparison is not of zeros


def test_numpy_peer_sgd_step_moves_against_the_gradient():
    x, labels, weights, biases = mlp_problem([20, 8, 3], batch=5, seed=1, dtype=np.float64)
    net = NumpyMLP(weights, biases, batch=5)
    _, dws, dbs = chainrule_gradients(x, labels, weights, biases)
    before = net.sgd_step(x, labels, lr=0.5)
    for w, w0, dw in zip(net.weights, weights, dws):
        np.testing.assert_allclose(w, w0 - 0.5 * dw, rtol=1e-12, atol=1e-14)
    for b, b0, db in zip(net.biases, biases, dbs):
        np.testing.assert_allclose(b, b0 - 0.5 * db, rtol=1e-12, atol=1e-14)
    assert net.forward_backward(x, labels) < before  # a small step downhill lowers the loss
    assert weights[0] is not net.weights[0]  # the caller's arrays were copied, not trained
