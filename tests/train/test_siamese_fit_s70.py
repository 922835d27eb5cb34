"""Siamese and metric-learning models in ``train.fit`` (QA s70).

- A model whose forward returns a tuple ``(ea, eb)`` failed in fit with "'tuple' object has no
  attribute 'data'" (and so did ``predict`` and ``evaluate``): now one refusal, before any
  training, saying to concatenate the outputs and split them in the loss.
- A regression set whose model gives 3-D outputs (a ``cr.stack`` of the two embeddings) trained
  an epoch, then failed in the epoch's accuracy, which regression does not have: it trains.
- A multilabel set whose targets are wider or narrower than the model's outputs raised NumPy's
  broadcast words after the first epoch (or broadcast one unit against every label silently):
  now refused before the first epoch, naming both widths. A classification model whose outputs
  are not one row per case is refused there too.
- A NaN gradient under a finite loss (sqrt's backward at 0) was reported as "try a smaller
  learning rate" even at lr=1e-9: the message now says the loss or the gradients became
  non-finite and points to ``cr.detect_anomaly()``, which finds the op.

Oracles: the model's weights before the refusal; the loss computed by hand (NumPy) on
``predict``'s outputs; ``cr.detect_anomaly``'s own error naming sqrt.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.errors import AnomalyError, DataError, TrainingDiverged, UserError


class Pair(nn.Module):
    """One encoder on both halves of each row: the outputs as ``how`` says."""

    def __init__(self, how: str, width: int = 3) -> None:
        super().__init__()
        self.how = how
        self.enc = nn.mlp([5, 8, width], activation="tanh", rng=0)

    def forward(self, x):
        a, b = self.enc(x[:, :5]), self.enc(x[:, 5:])
        if self.how == "tuple":
            return a, b
        if self.how == "list":
            return [a, b]
        if self.how == "dict":
            return {"a": a, "b": b}
        if self.how == "stack":
            return cr.stack([a, b], axis=1)
        return cr.concatenate([a, b], axis=1)


def pair_loss(out, t):
    a, b = (out[:, 0], out[:, 1]) if out.ndim == 3 else (out[:, :3], out[:, 3:])
    return (((a - b) ** 2).sum(axis=1, keepdims=True) * t).mean()


def pairs(n: int = 40) -> data.Dataset:
    rng = np.random.default_rng(0)
    return data.Dataset(X=rng.normal(size=(n, 10)), y=rng.random((n, 1)), task="regression")


def weights(model) -> list[np.ndarray]:
    return [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("how", ["tuple", "list", "dict"])
def test_fit_refuses_several_outputs_before_training_and_says_to_concatenate(how):
    model, ds = Pair(how), pairs()
    before = weights(model)
    with pytest.raises(UserError) as refusal:
        train.fit(model, pair_loss, optim.Adam(model.parameters()), ds, epochs=2, progress=False)
    said = str(refusal.value)
    assert said.startswith(f"fit: the model's forward returned a {how} of 2 outputs"), said
    assert "one output tensor" in said and "cr.concatenate" in said and "cr.stack" in said, said
    assert "split it in the loss" in said, said
    for old, new in zip(before, weights(model), strict=True):  # nothing trained
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_predict_and_evaluate_refuse_several_outputs_in_the_same_words(call):
    model, ds = Pair("tuple"), pairs()
    with pytest.raises(UserError) as refusal:
        if call == "predict":
            train.predict(model, ds.X)
        else:
            train.evaluate(model, pair_loss, ds)
    said = str(refusal.value)  # evaluate's refusal names evaluate, though it runs predict's code
    assert said.startswith(f"{call}: the model's forward returned a tuple of 2 outputs"), said
    assert "cr.concatenate" in said, said


def test_the_concatenated_siamese_trains_as_the_refusal_says():
    model, ds = Pair("concatenate"), pairs()
    history = train.fit(
        model, pair_loss, optim.Adam(model.parameters(), lr=0.01), ds, epochs=2, progress=False
    )
    out = train.predict(model, ds.X)
    a, b = out[:, :3], out[:, 3:]
    expected = np.mean(((a - b) ** 2).sum(axis=1, keepdims=True) * ds.y)
    assert history.last["loss"] == pytest.approx(expected, rel=1e-5)
    assert history.last["accuracy"] is None


def test_regression_with_stacked_3d_outputs_trains_and_has_no_accuracy():
    model, ds = Pair("stack"), pairs()
    history = train.fit(
        model, pair_loss, optim.Adam(model.parameters(), lr=0.01), ds, epochs=2,
        batch_size=20, progress=False,
    )  # fmt: skip
    assert len(history) == 2  # it failed at the first epoch's end, in the accuracy
    out = train.predict(model, ds.X)
    assert out.shape == (40, 2, 3)
    expected = np.mean(((out[:, 0] - out[:, 1]) ** 2).sum(axis=1, keepdims=True) * ds.y)
    assert history.last["loss"] == pytest.approx(expected, rel=1e-5)
    assert history.last["accuracy"] is None
    assert train.accuracy(out, ds) is None  # no accuracy for regression, whatever the shape
    assert train.evaluate(model, pair_loss, ds)["accuracy"] is None


def multilabel(n: int, labels: int) -> data.Dataset:
    rng = np.random.default_rng(1)
    y = (rng.random((n, labels)) > 0.5).astype(float)
    return data.Dataset(X=rng.normal(size=(n, 4)), y=y, task="multilabel")


@pytest.mark.parametrize("units", [2, 1, 5])  # 1: broadcast against every label, silently
def test_fit_refuses_multilabel_targets_of_another_width_before_the_first_epoch(units):
    model = nn.mlp([4, 6, units], rng=0)
    before = weights(model)
    loss = nn.BinaryCrossEntropy()
    with pytest.raises(DataError) as refusal:
        train.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), multilabel(12, 3),
                  epochs=1, progress=False)  # fmt: skip
    said = str(refusal.value)
    assert said.startswith("fit: the training set (train_ds): "), said
    assert "multilabel targets have 3 columns" in said, said
    assert f"the network has {units} output unit" in said, said
    for old, new in zip(before, weights(model), strict=True):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(DataError, match="multilabel targets have 3 columns"):  # no NumPy words
        train.evaluate(model, loss, multilabel(12, 3))


def test_fit_names_the_validation_set_whose_multilabel_width_differs():
    model = nn.mlp([4, 6, 3], rng=0)
    loss = nn.BinaryCrossEntropy()
    train_ds = multilabel(12, 3)
    val = multilabel(6, 2)
    with pytest.raises(DataError) as refusal:
        train.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), train_ds, val,
                  epochs=1, progress=False)  # fmt: skip
    said = str(refusal.value)
    assert said.startswith("fit: the validation set (val_ds): "), said
    assert "have 2 columns" in said and "has 3 output units" in said, said
    # the same widths train: the check refuses only a difference
    history = train.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), train_ds,
                        multilabel(6, 3), epochs=1, progress=False)  # fmt: skip
    assert 0.0 <= history.last["val_accuracy"] <= 1.0


def test_fit_refuses_a_classifier_whose_outputs_are_not_rows_before_the_first_epoch():
    model = Pair("stack")
    rng = np.random.default_rng(2)
    ds = data.Dataset(X=rng.normal(size=(20, 10)), y=rng.integers(0, 3, 20), task="classification")
    before = weights(model)
    with pytest.raises(DataError) as refusal:
        train.fit(model, lambda out, t: (out * out).mean(), optim.SGD(model.parameters(), lr=0.1),
                  ds,
                  epochs=1, progress=False)  # fmt: skip
    said = str(refusal.value)
    assert "outputs of shape (n, 2, 3)" in said and "classification" in said, said
    for old, new in zip(before, weights(model), strict=True):
        np.testing.assert_array_equal(old, new)


class Cat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.mlp([5, 8, 3], activation="relu", rng=0)

    def forward(self, x):
        return cr.concatenate([self.enc(x[:, :5]), self.enc(x[:, 5:])], axis=1)


def contrastive(out, t):
    d = cr.sqrt(((out[:, :3] - out[:, 3:]) ** 2).sum(axis=1, keepdims=True))  # no eps
    return (t * d**2 + (1 - t) * cr.relu(1.0 - d) ** 2).mean()


def identical_pairs() -> data.Dataset:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(64, 5))
    B = A.copy()
    B[32:] = rng.normal(size=(32, 5))  # half the pairs identical: sqrt(0), a NaN gradient
    y = np.r_[np.ones(32), np.zeros(32)][:, None]
    return data.Dataset(X=np.hstack([A, B]), y=y, task="regression")


def test_a_nan_gradient_is_not_blamed_on_the_learning_rate_alone_and_the_hint_works():
    ds = identical_pairs()
    model = Cat()
    with pytest.raises(TrainingDiverged) as diverged, np.errstate(invalid="ignore"):
        train.fit(model, contrastive, optim.Adam(model.parameters(), lr=1e-9), ds, epochs=1,
                  batch_size=16, progress=False)  # fmt: skip
    said = str(diverged.value)
    assert said.startswith("the training loss became nan in epoch 1: "), said
    assert "the loss or its gradients became NaN or infinite" in said, said
    assert "cr.detect_anomaly()" in said, said
    assert "and so does, at any learning rate, an op whose derivative" in said, said
    # the hint, followed: the op that made the NaN, named
    model = Cat()
    with pytest.raises(AnomalyError, match=r"^sqrt: backward produced NaN"), cr.detect_anomaly():
        train.fit(model, contrastive, optim.Adam(model.parameters(), lr=1e-9), ds, epochs=1,
                  batch_size=16, progress=False)  # fmt: skip
