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
