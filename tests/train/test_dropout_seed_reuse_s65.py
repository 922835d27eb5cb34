"""A network reused across fits (hyperparameter search: build once, restore the initial weights,
a fresh optimizer, fit with the trial's seed) makes the run a fresh network makes with that
seed. The first fit gave a Dropout built without ``rng=`` a generator seeded from its seed,
which the layer kept; every later fit took it for a generator of the layer's own and seeded
only the shuffling: the same weights, optimizer and seed gave 0.0669, then 0.0751, then 0.0747.
A generator a trainer handed out is now seeded afresh by the next trainer's seed; one the user
gave (``Dropout(rng=...)``, ``layer.rng = ...``) is still never touched."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import chainrule as cr
from chainrule import nn, optim, train


@pytest.fixture(scope="module")
def iris() -> cr.data.Dataset:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return cr.data.Dataset(X, y, task="classification", n_classes=3)


def _net(*dropouts: nn.Module) -> nn.Sequential:
    """The tester's network, ``Dropout(0.5)`` (or the layers given) between tanh and the top."""
    middle = dropouts or (nn.Dropout(0.5),)
    return nn.Sequential(nn.Linear(4, 16, rng=0), nn.Tanh(), *middle, nn.Linear(16, 3, rng=1))


def _trial(net: nn.Sequential, init: dict, ds: cr.data.Dataset, seed: int) -> dict:
    """The tester's trial: the initial weights back, a fresh Adam, a fit of 5 epochs."""
    net.load_state_dict(init)
    opt = optim.Adam(net.parameters(), lr=0.05)
    train.fit(net, nn.CrossEntropy(), opt, ds, epochs=5, batch_size=16, seed=seed, progress=False)
    return net.state_dict()


def _assert_same(run: dict, expected: dict, what: str) -> None:
    for name in expected:
        np.testing.assert_array_equal(run[name], expected[name], err_msg=f"{what}: {name}")


def test_trials_on_one_network_with_one_seed_are_the_fresh_networks_run(iris):
    """The tester's repro: three fits with seed 3 after restoring the weights are one run, the
    run of a network built afresh; another seed between them does not move them either."""
    net = _net()
    init = copy.deepcopy(net.state_dict())
    fresh = _net()
    expected = _trial(fresh, init, iris, 3)
    runs = [_trial(net, init, iris, seed) for seed in (3, 3, 3, 4, 3)]
    for k in (0, 1, 2, 4):
        _assert_same(runs[k], expected, f"trial {k + 1}")
    _assert_same(runs[3], _trial(_net(), init, iris, 4), "seed 4")
    assert not np.array_equal(runs[3]["0.weight"], expected["0.weight"])  # the seed decides


def test_a_generator_the_user_gave_is_untouched_across_fits(iris):
    """Beside a layer drawing from the default (seeded afresh by each fit), a layer given a
    generator of the user's keeps that object, and the second fit goes on from the state the
    first left it in: the run of fresh layers, the user's one in that state."""
    users = np.random.default_rng(7)
    net = _net(nn.Dropout(0.5), nn.Dropout(0.25, rng=users))
    init = copy.deepcopy(net.state_dict())
    first = _trial(net, init, iris, 3)
    assert net[3].rng is users
    left = users.bit_generator.state
    assert left != np.random.default_rng(7).bit_generator.state  # the fit drew from it
    second = _trial(net, init, iris, 3)
    assert net[3].rng is users
    assert not np.array_equal(first["0.weight"], second["0.weight"])  # its masks went on
    going_on = np.random.default_rng()
    going_on.bit_generator.state = left
    _assert_same(second, _trial(_net(nn.Dropout(0.5), nn.Dropout(0.25, rng=going_on)), init,
                                iris, 3), "the user's generator went on")  # fmt: skip


def test_a_generator_given_after_a_fit_is_the_users(iris):
    """``layer.rng = generator`` after a fit takes the layer from the trainer: the next fit
    leaves it (its masks as that generator draws them), and seeds the others afresh."""
    net = _net(nn.Dropout(0.5), nn.Dropout(0.25))
    init = copy.deepcopy(net.state_dict())
    _trial(net, init, iris, 3)
    assert net[2].rng is net[3].rng  # the first fit's generator, shared as the default was
    net[3].rng = users = np.random.default_rng(11)
    run = _trial(net, init, iris, 3)
    assert net[3].rng is users and net[2].rng is not users
    expected = _trial(_net(nn.Dropout(0.5), nn.Dropout(0.25, rng=11)), init, iris, 3)
    _assert_same(run, expected, "the user's generator given after a fit")


def test_a_copy_of_a_trained_network_fits_as_a_fresh_one(iris):
    """The mark travels with the generator: a deep copy (or a pickle) of a network a fit
    seeded is seeded afresh by the next fit too."""
    net = _net()
    init = copy.deepcopy(net.state_dict())
    _trial(net, init, iris, 3)
    _assert_same(_trial(copy.deepcopy(net), init, iris, 5), _trial(_net(), init, iris, 5), "copy")


def test_a_copy_of_an_untrained_network_fits_as_a_fresh_one(iris):
    """The other search pattern, a deep copy of a template per trial: the copy held a plain
    copy of the default generator, which a fit took for the layer's own and did not seed, so
    its masks followed the default's state at the copy (another run in every process). The
    default is copied as itself: a copy's layer draws from it, and a fit seeds it."""
    template = _net()
    init = copy.deepcopy(template.state_dict())
    cr.manual_seed(123)
    first = _trial(copy.deepcopy(template), init, iris, 5)
    cr.manual_seed(456)  # the default's state at the copy no longer decides the masks
    second = _trial(copy.deepcopy(template), init, iris, 5)
    _assert_same(first, _trial(_net(), init, iris, 5), "copy 1")
    _assert_same(second, first, "copy 2")
    assert copy.deepcopy(template)[2].rng is template[2].rng is cr.creation.as_generator(None)


def test_a_modules_deep_copy_is_pythons_own_but_for_the_default_generator():
    """Second review: the first ``Module.__deepcopy__`` rebuilt the copy from ``__dict__``
    alone, so a subclass's ``__slots__`` were lost and its ``__getstate__``/``__setstate__``
    skipped; a tie between layers must hold in the copy too."""

    class Slotted(nn.Module):
        __slots__ = ("k",)

        def forward(self, x):
            return x

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            object.__setattr__(self, "cache", "big")

        def __getstate__(self):
            return {**self.__dict__, "cache": None}

        def __setstate__(self, state):
            self.__dict__.update(state, restored=True)

        def forward(self, x):
            return x

    slotted = Slotted()
    slotted.k = 3.0
    assert copy.deepcopy(slotted).k == 3.0
    copied = copy.deepcopy(WithState())
    assert copied.cache is None and copied.restored
    shared = nn.Linear(3, 3, rng=0)
    tied = copy.deepcopy(nn.Sequential(shared, nn.Tanh(), shared, nn.Dropout(0.5)))
    assert tied[0] is tied[2] and tied[0] is not shared
    assert tied[3].rng is cr.creation.as_generator(None)
