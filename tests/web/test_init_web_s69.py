"""The explorer's Train tab and ``chainrule train`` should start from one network for one seed
and range: the command line's ``nn.mlp`` draws every bias from U(-r, r) as RHW 1986's weights from
an always-on unit, ``web.network.random_state`` leaves the biases at 0 and draws the weights in
another order.

Not fixed yet (strict xfail): drawing the web's start with ``nn.mlp`` (the change is ready in
/tmp/s69/init_web_random_state.patch) makes the Train tab's symmetry defaults (hidden 2, lr 0.03,
init_range 1.0) learn in 4 of seeds 0-7 where they learned in 8
(tests/web/test_web_training_defaults.py); with init_range 0.5 they learn in 8 of 8. The web's
per-dataset defaults (web/training.py) need that range first."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import data
from chainrule.train import runs
from chainrule.web.training import start_run


@pytest.mark.xfail(strict=True, reason="the web draws no biases; see the module's docstring")
def test_train_start_and_chainrule_train_start_from_one_network():
    config = runs.resolve_config({"data": "xor", "seed": 0, "dtype": "float64"})
    model, *_ = runs.build(config, data.load("xor"))  # what `chainrule train xor --seed 0` builds
    run = start_run("xor", list(config.hidden), seed=0, init_range=config.init_range)
    linears = [model[0], model[2]]
    for mine, theirs in zip(run.state.weights, linears):
        np.testing.assert_array_equal(mine, theirs.weight.numpy())
    for mine, theirs in zip(run.state.biases, linears):
        np.testing.assert_array_equal(mine, theirs.bias.numpy())
