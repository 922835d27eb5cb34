"""Hand-written NumPy backprop for a logistic MLP with a softmax cross-entropy output.

This is the practical limit for a library on NumPy: every buffer (pre-activations z, outputs y,
their gradients, the weight gradients) is allocated once, and every step writes into them with
``out=`` arguments, so a step allocates next to nothing. The arithmetic is the lecture's:

    z_j = b_j + sum_i y_i w_ij,   y_j = 1 / (1 + e^-z_j)
    dE/dz_j = y_j (1 - y_j) dE/dy_j,   dE/dw_ij = y_i dE/dz_j,   dE/dy_i = sum_j w_ij dE/dz_j

with the top layer's dE/dz = (softmax(z) - onehot(t)) / batch for the mean cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class NumpyMLP:
    """A logistic MLP trained by plain SGD, with all of its buffers allocated up front.

    ``weights[k]`` has shape (n_in, n_out) (row i = unit below, column j = unit above) and is
    copied, so the caller's arrays stay untouched.
    """

    def __init__(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], batch: int
    ) -> None:
        self.weights = [np.array(w) for w in weights]
        self.biases = [np.array(b) for b in biases]
        dtype = self.weights[0].dtype
        widths = [w.shape[1] for w in self.weights]
        self.z = [np.empty((batch, n), dtype) for n in widths]  # pre-activations z_j
        self.y = [np.empty((batch, n), dtype) for n in widths[:-1]]  # logistic outputs y_j
        self.dz = [np.empty((batch, n), dtype) for n in widths]  # dE/dz_j
        self.dy = [np.empty((batch, n), dtype) for n in widths[:-1]]  # dE/dy_j
        self.dw = [np.empty_like(w) for w in self.weights]
        self.db = [np.empty_like(b) for b in self.biases]
        self._row_max = np.empty((batch, 1), dtype)
        self._row_sum = np.empty((batch, 1), dtype)
        self._rows = np.arange(batch)

    def forward_backward(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Fill ``dw`` and ``db`` with dE/dw and dE/db for the mean cross-entropy; return E."""
        n_layers = len(self.weights)
        below = x
        for k in range(n_layers):
            np.matmul(below, self.weights[k], out=self.z[k])
            self.z[k] += self.biases[k]
            if k < n_layers - 1:
                _logistic_into(self.z[k], self.y[k])
                below = self.y[k]
        loss = self._softmax_cross_entropy_grad(self.z[-1], labels, self.dz[-1])
        for k in range(n_layers - 1, -1, -1):
            below = x if k == 0 else self.y[k - 1]
            np.matmul(below.T, self.dz[k], out=self.dw[k])
            np.sum(self.dz[k], axis=0, out=self.db[k])
            if k > 0:
                # dE/dy_i = sum_j w_ij dE/dz_j, then dE/dz_i = y_i (1 - y_i) dE/dy_i
                np.matmul(self.dz[k], self.weights[k].T, out=self.dy[k - 1])
                y, dz = self.y[k - 1], self.dz[k - 1]
                np.subtract(1, y, out=dz)
                dz *= y
                dz *= self.dy[k - 1]
        return loss

    def _softmax_cross_entropy_grad(
        self, logits: np.ndarray, labels: np.ndarray, out: np.ndarray
    ) -> float:
        """Write (softmax(logits) - onehot) / batch into ``out``; return the mean cross-entropy."""
        batch = logits.shape[0]
        np.max(logits, axis=1, keepdims=True, out=self._row_max)
        np.subtract(logits, self._row_max, out=out)
        np.exp(out, out=out)
        np.sum(out, axis=1, keepdims=True, out=self._row_sum)
        picked = out[self._rows, labels] / self._row_sum[:, 0]
        loss = -float(np.log(picked).mean())
        out /= self._row_sum
        out[self._rows, labels] -= 1
        out *= 1.0 / batch
        return loss

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, lr: float) -> float:
        """One training step: forward, backward, and w <- w - lr dE/dw in place; return E."""
        loss = self.forward_backward(x, labels)
        for w, dw, b, db in zip(self.weights, self.dw, self.biases, self.db):
            dw *= lr
            w -= dw
            db *= lr
            b -= db
        return loss


def _logistic_into(z: np.ndarray, y: np.ndarray) -> None:
    """y = 1 / (1 + e^-z), written into ``y`` without temporaries.

    For the benchmark's moderate pre-activations e^-z cannot overflow to a warning that matters
    (a huge negative z gives e^-z = inf and y = 0, the right limit).
    """
    np.negative(z, out=y)
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
