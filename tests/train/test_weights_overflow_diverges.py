"""A run whose weights overflow stops, though its loss stays finite.

With logistic outputs the loss saturates at a finite value while a parameter becomes infinite:
the Trainer checked only the loss, so it trained on, logged normal-looking epochs and wrote
checkpoints of infinite weights that load_checkpoint and save_model then refused (the CLI said
the run's model was "damaged" after the whole run). It now raises TrainingDiverged naming the
parameter, before any checkpoint is written, as for a loss that became NaN.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import TrainingDiverged


def _overflowing_fit(checkpoint_dir):
    X = np.random.default_rng(0).normal(size=(64, 8))
    ds = cr.data.Dataset(X=X, y=np.arange(64) % 3, task="classification")
    net = nn.mlp([8, 8, 3], activation="logistic", output="logistic", dtype="float32", rng=0)
    # the output bias's update, lr times a gradient summed over 64 cases, passes float32's max
    # while the saturated outputs keep the loss finite
    opt = optim.SGD(net.parameters(), lr=1e38)
    with np.errstate(over="ignore", invalid="ignore"):
        return net, cr.train.fit(net, nn.SquaredError(), opt, ds, epochs=3, batch_size=64,
                                 progress=False, checkpoint_dir=checkpoint_dir)  # fmt: skip


def test_infinite_weights_stop_the_run_before_a_checkpoint(tmp_path) -> None:
    with pytest.raises(TrainingDiverged, match=r"parameter '\d\.\w+' became NaN or infinite in "
                       r"epoch 1 \(the loss, [\d.]+, stayed finite"):  # fmt: skip
        _overflowing_fit(tmp_path / "ck")
    assert not any((tmp_path / "ck").glob("epoch-*"))


def test_a_frozen_infinite_bias_that_masks_a_class_trains_on() -> None:
    """A bias of -inf, frozen, masks its class out (CrossEntropy takes a logit of -inf): it
    never became anything, and the run stopped with "try a smaller learning rate"."""
    X = np.random.default_rng(0).normal(size=(32, 4))
    ds = cr.data.Dataset(X=X, y=np.arange(32) % 2, task="classification")
    net = nn.mlp([4, 6, 3], rng=0)
    net[2].bias.data[2] = -np.inf
    net[2].bias.requires_grad_(False)
    opt = optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    history = cr.train.fit(net, nn.CrossEntropy(), opt, ds, epochs=2, progress=False)
    assert len(history) == 2 and np.isfinite(history["loss"]).all()
