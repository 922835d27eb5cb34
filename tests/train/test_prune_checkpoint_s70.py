"""A float64 pruning mask makes a float32 weight float64 (``p.data * np.where(mask, 1.0, 0.0)``,
as PyTorch promotes it). ``save_model`` refused such a model, but a fit with ``checkpoint_dir``
wrote every epoch's checkpoint, which the resume, ``load_model`` and ``chainrule predict`` then
refused ("stored as float32 but model.json describes a float64 model"). Now the checkpoints
refuse it as ``save_model`` does, naming the parameter, and write nothing: when the Trainer is
made, when a fit starts, and at a checkpoint (a callback that pruned during the fit)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ModelFileError

REFUSAL = r"parameter '0\.weight' is float64 but the model's are float32.*nothing was written"


def _prune(p) -> None:
    p.data = p.data * np.where(np.abs(p.data) > 0.1, 1.0, 0.0)  # the float64 mask


def _dataset():
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    return cr.data.Dataset(X=X, y=np.zeros((64, 2), np.float32), task="regression")


def _weights(model):
    return [p.numpy().copy() for p in model.parameters()]


def test_fit_with_checkpoints_refuses_a_pruned_float64_weight_before_training(tmp_path):
    net = nn.mlp([4, 3, 2], rng=0)
    _prune(net[0].weight)
    before = _weights(net)
    with pytest.raises(ModelFileError, match=REFUSAL):
        cr.train.fit(net, nn.MSE(), optim.SGD(net.parameters(), lr=0.1), _dataset(), epochs=2,
                     progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    assert not (tmp_path / "ck").exists()
    for old, p in zip(before, net.parameters()):  # refused before any step
        np.testing.assert_array_equal(old, p.numpy())


def test_a_model_pruned_after_the_trainer_was_made_is_refused_when_the_fit_starts(tmp_path):
    net = nn.mlp([4, 3, 2], rng=0)
    trainer = cr.train.Trainer(net, nn.MSE(), optim.SGD(net.parameters(), lr=0.1),
                               progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    _prune(net[0].weight)
    before = _weights(net)
    with pytest.raises(ModelFileError, match=REFUSAL):
        trainer.fit(_dataset(), epochs=2)
    assert trainer.epoch == 0 and not (tmp_path / "ck").exists()
    for old, p in zip(before, net.parameters()):
        np.testing.assert_array_equal(old, p.numpy())


class _PruneWithFloat64Mask(cr.train.Callback):
    def on_batch_end(self, trainer, batch, loss):
        _prune(trainer.model[0].weight)


def test_a_callback_pruning_during_the_fit_is_refused_at_the_checkpoint(tmp_path):
    net = nn.mlp([4, 3, 2], rng=0)
    with pytest.raises(ModelFileError, match=REFUSAL):
        cr.train.fit(net, nn.MSE(), optim.SGD(net.parameters(), lr=0.1), _dataset(), epochs=2,
                     progress=False, checkpoint_dir=tmp_path / "ck",
                     callbacks=[_PruneWithFloat64Mask()])  # fmt: skip
    assert not list((tmp_path / "ck").glob("epoch-*"))  # no checkpoint that would not load


def test_save_checkpoint_itself_refuses_it_and_writes_nothing(tmp_path):
    net = nn.mlp([4, 3, 2], rng=0)
    trainer = cr.train.Trainer(net, nn.MSE(), optim.SGD(net.parameters(), lr=0.1),
                               progress=False)  # fmt: skip
    _prune(net[0].weight)
    with pytest.raises(ModelFileError, match=REFUSAL):
        cr.io.save_checkpoint(tmp_path / "ck", trainer)
    assert not (tmp_path / "ck").exists()
