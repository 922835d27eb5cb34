"""The explorer's Train tab and ``chainrule train`` start from one network for one seed and
range: both draw it with ``nn.mlp``'s "uniform" init (RHW 1986's), every weight and every bias
from U(-r, r), biases drawn as weights from an always-on unit, in one generator's order.

Before, ``web.network.random_state`` left the biases at 0 and drew the weights with its own code
(strict xfail until s70). Drawn by ``nn.mlp``, the Train tab's symmetry defaults (hidden 2, lr
0.03) learned in 4 of seeds 0-7 at init_range 1.0 and in 8 of 8 at 0.5 and at the command line
preset's 0.3, which the page's per-dataset defaults now read (``web.training.DATASETS``,
tests/web/test_web_training_defaults.py)."""

from __future__ import annotations

import numpy as np

from chainrule import data
from chainrule.train import runs
from chainrule.web.training import start_run


def test_train_start_and_chainrule_train_start_from_one_network():
    config = runs.resolve_config({"data": "xor", "seed": 0, "dtype": "float64"})
    model, *_ = runs.build(config, data.load("xor"))  # what `chainrule train xor --seed 0` builds
    run = start_run("xor", list(config.hidden), seed=0, init_range=config.init_range)
    linears = [model[0], model[2]]
    for mine, theirs in zip(run.state.weights, linears):
        np.testing.assert_array_equal(mine, theirs.weight.numpy())
    for mine, theirs in zip(run.state.biases, linears):
        np.testing.assert_array_equal(mine, theirs.bias.numpy())
