"""The explorer draws its random networks with the library's initialiser, ``nn.mlp``'s "uniform"
(every weight and bias from U(-r, r), RHW 1986's), where ``web.network.random_state`` drew the
weights with its own code and left every bias at 0; and a Train tab run that names no range
starts from its dataset's (``web.training.DATASETS``), the command line's preset's where that
draws uniformly: ``chainrule train symmetry --seed S`` and the Train tab's symmetry run with seed
S start from one network (at the old 1.0, drawn with biases, symmetry learned in 4 of seeds 0-7)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import data, nn
from chainrule.nn.layers import Linear
from chainrule.train import runs
from chainrule.web.network import random_state
from chainrule.web.training import DATASETS, start_run

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from chainrule.web import create_app  # noqa: E402

LOCAL = "http://127.0.0.1"


def cli_start(dataset: str, seed: int) -> list[Linear]:
    """The Linear layers ``chainrule train DATASET --seed SEED`` starts from (float64)."""
    config = runs.resolve_config({"data": dataset, "seed": seed, "dtype": "float64"})
    model, *_ = runs.build(config, data.load(dataset))
    return [m for m in model if isinstance(m, Linear)]


def assert_same_numbers(weights, biases, linears: list[Linear]) -> None:
    assert len(weights) == len(biases) == len(linears)
    for mine, theirs in zip(weights, linears):
        np.testing.assert_array_equal(mine, theirs.weight.numpy())
    for mine, theirs in zip(biases, linears):
        np.testing.assert_array_equal(mine, theirs.bias.numpy())


def test_random_state_draws_weights_and_biases_as_nn_mlp_does():
    sizes = [3, 4, 2]
    state = random_state(sizes, "tanh", "softmax", "cross-entropy", seed=5, init_range=0.7)
    drawn = nn.mlp(sizes, "tanh", "softmax", np.float64, init="uniform", rng=5, init_range=0.7)
    linears = [m for m in drawn if isinstance(m, Linear)]
    assert_same_numbers(state.weights, state.biases, linears)
    for b in state.biases:  # drawn, not left at 0, and within the range
        assert np.all(b != 0) and np.all(np.abs(b) <= 0.7)
    assert np.all((state.input >= 0) & (state.input < 1))


@pytest.mark.parametrize("dataset", ["xor", "symmetry"])
@pytest.mark.parametrize("seed", [0, 3])
def test_a_run_naming_no_range_starts_where_chainrule_train_starts(dataset, seed):
    hidden = list(runs.PRESETS[dataset]["hidden"])  # the command line's (xor's 3, the page's 4)
    assert DATASETS[dataset].init_range == runs.PRESETS[dataset]["init_range"]
    run = start_run(dataset, hidden, seed=seed)
    assert_same_numbers(run.state.weights, run.state.biases, cli_start(dataset, seed))


def test_the_pages_train_start_draws_from_the_datasets_range():
    client = TestClient(create_app(), base_url=LOCAL)
    body = {"dataset": "symmetry", "hidden": [2], "lr": 0.03}  # what the page sends
    answer = client.post("/api/train/start", json=body)
    assert answer.status_code == 200, answer.text
    network = answer.json()["network"]
    assert_same_numbers(
        [np.array(w) for w in network["weights"]],
        [np.array(b) for b in network["biases"]],
        cli_start("symmetry", 0),
    )
