"""Distillation (Hinton, Vinyals & Dean: soft targets at temperature T), session 70.

A loss receives only (outputs, targets), so the combined loss's teacher rows and hard labels
travel as extra target columns (2k for k outputs). ``task="multilabel"`` is refused for them (its
accuracy pairs unit j with column j), but the refusal said only "give it 6 output units", wrong
for such a loss: it now names task='regression' and a callback's own metric too. Soft targets
alone: the Dataset's refusal of probability rows as class labels said y.argmax(1), which throws
them away; it now names task='multilabel' with nn.CrossEntropy, checked here to train with the
argmax agreement as its accuracy. CrossEntropy's docstring said dE/dz = (softmax(z) - t) / n,
wrong for rows that do not sum to 1 (which it takes): the oracle is PyTorch's gradient."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.errors import DataError

T, A, K = 4.0, 0.7, 3
RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 2)).astype(np.float32)
TEACHER = 3 * X @ RNG.normal(size=(2, K))
LABELS = TEACHER.argmax(1)
SOFT = cr.softmax(cr.tensor(TEACHER / T)).numpy().astype(np.float32)
Y = np.hstack([SOFT, np.eye(K, dtype=np.float32)[LABELS]])


def kd(z, t):
    soft = cr.softmax_cross_entropy(z / T, t[:, :K])
    return A * T * T * soft + (1 - A) * cr.softmax_cross_entropy(z, t[:, K:])


kd.output_activation = "softmax"
kd.reduction = "mean"


def fit(loss, ds, **options):
    net = nn.mlp([2, 8, K], output=None, rng=0)
    history = train.fit(
        net, loss, optim.SGD(net.parameters(), lr=0.5), ds, progress=False, **options
    )
    return net, history


def test_wider_multilabel_targets_name_the_way_for_a_loss_reading_extra_columns():
    with pytest.raises(DataError) as info:
        fit(kd, cr.data.Dataset(X=X, y=Y, task="multilabel"), epochs=1)
    message = str(info.value)
    assert "the multilabel targets have 6 columns" in message  # still refused
    assert "a loss of your own that reads more target columns than the outputs" in message
    assert "task='regression', which has no accuracy" in message
    assert "a callback that writes your own metric into logs" in message


def test_narrower_multilabel_targets_keep_the_one_advice():
    with pytest.raises(DataError) as info:
        fit(kd, cr.data.Dataset(X=X, y=Y[:, :2], task="multilabel"), epochs=1)
    assert "give it 2 output units, one per label" in str(info.value)
    assert "task='regression'" not in str(info.value)


def test_soft_targets_as_class_labels_name_multilabel_cross_entropy():
    with pytest.raises(DataError) as info:
        cr.data.Dataset(X=X, y=SOFT, task="classification")
    message = str(info.value)
    assert "y.argmax(1)" in message
    assert "rows of probabilities" in message
    assert "task='multilabel' with nn.CrossEntropy()" in message
    # the way it names trains, and its accuracy is the agreement of the argmaxes
    net, history = fit(
        nn.CrossEntropy(), cr.data.Dataset(X=X, y=SOFT, task="multilabel"), epochs=150
    )
    agreement = (train.predict(net, X).argmax(1) == SOFT.argmax(1)).mean()
    assert history.last["accuracy"] == agreement
    assert history.last["loss"] < history.to_list()[0]["loss"]
    assert agreement > 0.8


def test_cross_entropy_gradient_for_rows_not_summing_to_one_is_as_documented():
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(1).normal(size=(3, K))
    t = np.array([[1.0, 1.0, 0.0], [0.2, 0.3, 0.1], [0.0, 1.0, 0.0]])  # sums 2, 0.6, 1
    logits = cr.tensor(z).requires_grad_()
    nn.CrossEntropy()(logits, t).backward()
    reference = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(reference, torch.tensor(t)).backward()
    np.testing.assert_allclose(logits.grad.numpy(), reference.grad.numpy(), rtol=1e-12)
    softmax = cr.softmax(cr.tensor(z)).numpy()
    closed = (t.sum(axis=1, keepdims=True) * softmax - t) / 3
    np.testing.assert_allclose(logits.grad.numpy(), closed, rtol=1e-12)
    assert not np.allclose(logits.grad.numpy(), (softmax - t) / 3)
    assert "dE/dz = ((sum_k t_k) softmax(z) - t) / n" in " ".join(nn.CrossEntropy.__doc__.split())
