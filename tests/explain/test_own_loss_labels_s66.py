"""A loss of one's own that reads class labels (session 66): ``loss(net(X), labels)`` worked,
but ``cr.explain(net, X, labels, loss)`` refused ("the target has shape (4,) but the output
layer expects 3 values per case"): only chainrule's cross-entropy had its labels read as
one-hot rows, and the explainer handed every loss the rows. The loss's own forward now says
whether it takes the labels, and is given them, as the user's call gives them.

The oracles: the model's own ``loss(model(x), labels)`` and ``.backward()``, and central
finite differences of that loss in float64, computed here, never by the explainer."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.engine import no_grad
from chainrule.explainer import explain, render, to_json
from chainrule.explainer.network import ExplainError


class LabelSmoothing(nn.Loss):
    """Cross-entropy against label-smoothed rows from integer class labels (n,) alone: rows of
    probabilities are refused, as a user's loss may refuse them."""

    name = "label-smoothing-s66b"
    output_activation = "softmax"

    def __init__(self, smoothing: float = 0.2) -> None:
        self.smoothing = float(smoothing)

    def forward(self, output, target):
        labels = np.asarray(target)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(
                f"LabelSmoothing: integer labels (n,), not {labels.dtype} {labels.shape}"
            )
        k = output.shape[1]
        rows = np.eye(k)[labels] * (1 - self.smoothing) + self.smoothing / k
        return -(cr.log_softmax(output, axis=1) * cr.tensor(rows)).sum() / output.shape[0]


class RowsOnly(nn.Loss):
    """A loss of one's own that compares rows alone (labels are not its targets)."""

    name = "rows-only-s66b"

    def forward(self, output, target):
        output, t = self._compared(output, target)
        return ((t - output) * (t - output)).sum()


def _model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 4, rng=0, dtype="float64"), nn.Tanh(),
                         nn.Linear(4, 3, rng=1, dtype="float64"))  # fmt: skip


def _finite_differences(model, x, labels, loss, eps=1e-6) -> dict[str, np.ndarray]:
    """dE/dp for every parameter p by central differences of loss(model(x), labels)."""
    out = {}
    with no_grad():
        for name, p in model.named_parameters():
            grad = np.zeros(p.shape)
            for index in np.ndindex(*p.shape):
                kept = p.data[index]
                p.data[index] = kept + eps
                up = loss(model(cr.tensor(x)), labels).item()
                p.data[index] = kept - eps
                down = loss(model(cr.tensor(x)), labels).item()
                p.data[index] = kept
                grad[index] = (up - down) / (2 * eps)
            out[name] = grad
    return out


def explained_by_its_backward(model, x, given, loss):
    """``explain(model, x, given, loss)`` for class labels ``given``, checked against the
    model's own backward and central differences of the loss; the derivation and E."""
    labels = np.asarray(given)
    E = loss(model(cr.tensor(x)), labels)
    E.backward()
    engine = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    differences = _finite_differences(model, x, labels, loss)
    d = explain(model, x, given, loss)
    assert d.error == pytest.approx(E.item(), rel=1e-12)
    assert d.all_ok is True
    np.testing.assert_array_equal(d.t, np.eye(3)[labels])  # shown as one-hot rows
    for conn in d.connections:
        for got, name in ((conn.dE_dw, conn.weight_name), (conn.dE_db, conn.bias_name)):
            np.testing.assert_allclose(got, engine[name], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(got, differences[name], rtol=1e-6, atol=1e-9)
    return d, E.item()


# 4 cases; 3 cases of 3 classes, where a flat list of 3 also reads as one case's row; a list
@pytest.mark.parametrize(
    "n_cases, given",
    [(4, np.array([0, 2, 1, 2])), (3, np.array([2, 0, 1])), (2, [1, 0])],
    ids=["four-cases", "as-many-cases-as-classes", "a-list"],
)
def test_a_loss_of_ones_own_that_reads_labels_is_explained_from_the_labels(n_cases, given):
    model, loss = _model(), LabelSmoothing(0.2)
    x = np.random.default_rng(5).normal(size=(n_cases, 2))
    d, E = explained_by_its_backward(model, x, given, loss)
    document = json.loads(to_json(d))
    assert document["loss"]["E"] == pytest.approx(E, rel=1e-12)
    assert document["check"]["all_ok"] is True
    assert "label-smoothing-s66b" in render(d, "text")


def test_a_loss_of_ones_own_that_does_not_take_the_labels_is_still_refused():
    """Its forward refuses labels: the rows it reads do not fit, said as before."""
    x = np.random.default_rng(5).normal(size=(4, 2))
    with pytest.raises(ExplainError, match=r"the target has shape \(4,\) but the output layer"):
        explain(_model(), x, np.array([0, 2, 1, 2]), RowsOnly())
    # and the label reader is explained from labels after it: nothing of the refusal stays
    d = explain(_model(), x, np.array([0, 2, 1, 2]), LabelSmoothing())
    assert d.all_ok is True
