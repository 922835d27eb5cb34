"""The names a run takes have one home each, the library's registry: ``nn.losses.LOSSES`` for
``--loss``, ``optim.OPTIMIZERS`` (and its ``ALIASES``) for ``--optimizer``. ``train.runs`` kept
copies of both lists, so a loss or optimizer added to the library was refused by the command
line ("unknown value"). And ``--momentum`` (``--weight-decay``, a preset's ``shrink``) reached
the optimizer by a tuple of optimizer names: a new optimizer that takes momentum silently
trained without it, one that takes none was handed it (a TypeError from its constructor). Now
the optimizer's class says which settings it takes (``Optimizer.hyperparameters``) and what
its own defaults are (its constructor's signature), and a run forwards or refuses each from
that. The built-in optimizers keep today's behaviour.

Oracles: the registered class itself (the run builds an object of exactly that class, with
the settings given), and for the built-ins the values the optimizers had before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chainrule import nn, optim
from chainrule.errors import UserError
from chainrule.nn import losses
from chainrule.train import runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))


class HeavyBall(optim.SGD):
    """An optimizer of the user's that takes momentum (SGD's settings, another name)."""

    name = "heavy-ball"


class NoMomentum(optim.Adam):
    """An optimizer of the user's that takes no momentum."""

    name = "no-momentum"


class OwnDecay(optim.AdamW):
    """An optimizer whose constructor decays by 0.05 unless told otherwise."""

    name = "own-decay"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class Bare(optim.Optimizer):
    """An optimizer of the learning rate alone: no momentum, no weight decay."""

    name = "bare"
    hyperparameters = ("lr",)

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)

    def _update(self, index, w, g):
        w -= self.lr * g


class Halved(nn.SquaredError):
    """A loss of the user's."""

    name = "halved-squared-error"


@pytest.fixture
def registered(monkeypatch):
    for cls in (HeavyBall, NoMomentum, OwnDecay, Bare):
        monkeypatch.setitem(optim.OPTIMIZERS, cls.name, cls)
    monkeypatch.setitem(losses.LOSSES, Halved.name, Halved)


def _built(**options):
    config = runs.resolve_config({"data": "xor", **options})
    model, loss, optimizer, _ = runs.build(config, runs.load_data(config).train)
    return config, loss, optimizer


def test_a_loss_added_to_the_registry_is_a_runs_loss(registered):
    config, loss, _ = _built(loss="halved-squared-error")
    assert config.loss == "halved-squared-error"
    assert type(loss) is Halved


def test_an_optimizer_added_to_the_registry_takes_the_momentum_given(registered):
    config, _, optimizer = _built(optimizer="heavy-ball", momentum=0.5)
    assert config.optimizer == "heavy-ball"
    assert type(optimizer) is HeavyBall and optimizer.momentum == 0.5


def test_momentum_is_refused_by_name_for_an_optimizer_that_takes_none(registered):
    expected = r"^--momentum is not a setting of no-momentum \(of these options it takes --lr, "
    with pytest.raises(UserError, match=expected + r"--weight-decay\)$"):
        runs.resolve_config({"data": "xor", "optimizer": "no-momentum", "momentum": 0.5})
    _, _, optimizer = _built(optimizer="no-momentum")  # without it, it trains
    assert type(optimizer) is NoMomentum


def test_an_optimizer_of_the_learning_rate_alone_is_given_nothing_else(registered):
    _, _, optimizer = _built(optimizer="bare", lr=0.25)
    assert type(optimizer) is Bare and optimizer.config() == {"type": "bare", "lr": 0.25}
    for option, value, flag in [("momentum", 0.5, "--momentum"),
                                ("weight_decay", 0.1, "--weight-decay")]:  # fmt: skip
        with pytest.raises(UserError, match=rf"^{flag} is not a setting of bare \(of these "
                                            r"options it takes --lr\)$"):  # fmt: skip
            runs.resolve_config({"data": "xor", "optimizer": "bare", option: value})


def test_an_unset_weight_decay_is_the_optimizers_own_default(registered):
    config, _, optimizer = _built(optimizer="own-decay")
    assert config.weight_decay == optimizer.weight_decay == 0.05
    config, _, optimizer = _built(optimizer="own-decay", weight_decay=0.0)
    assert config.weight_decay == optimizer.weight_decay == 0.0


def test_an_unknown_name_is_refused_listing_the_registered_ones(registered):
    with pytest.raises(UserError, match=r"^--optimizer: unknown value 'lbfgs'; choose one") as e:
        runs.resolve_config({"data": "xor", "optimizer": "lbfgs"})
    assert set(str(e.value).split("choose one of ")[1].split(", ")) == {
        *optim.OPTIMIZERS,
        *optim.optimizers.ALIASES,
    }
    with pytest.raises(UserError, match=r"^--loss: unknown value 'hinge'; choose one of ") as e:
        runs.resolve_config({"data": "xor", "loss": "hinge"})
    assert set(str(e.value).split("choose one of ")[1].split(", ")) == set(losses.LOSSES)


# -- the built-in optimizers keep their behaviour -------------------------------------------


@pytest.mark.parametrize(
    ("name", "momentum", "kind", "used"),
    [("sgd", 0.5, optim.SGD, 0.5), ("sgd", None, optim.SGD, 0.0),
     ("momentum", None, optim.SGD, 0.9), ("momentum", 0.3, optim.SGD, 0.3),
     ("rmsprop", 0.5, optim.RMSprop, 0.5), ("rmsprop", None, optim.RMSprop, 0.0)],
)  # fmt: skip
def test_the_built_in_optimizers_take_momentum_as_before(name, momentum, kind, used):
    config, _, optimizer = _built(optimizer=name, momentum=momentum)
    assert type(optimizer) is kind and optimizer.momentum == used
    assert config.momentum == (0.9 if name == "momentum" and momentum is None else momentum)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_refuses_momentum_naming_its_settings(name):
    with pytest.raises(UserError, match=rf"^--momentum is not a setting of {name} \(of these "
                                        r"options it takes --lr, --weight-decay\)$"):  # fmt: skip
        runs.resolve_config({"data": "xor", "optimizer": name, "momentum": 0.5})
    _, _, optimizer = _built(optimizer=name, momentum=0.0)  # 0, no momentum: taken, as before
    assert not hasattr(optimizer, "momentum")


def test_the_family_trees_shrink_reaches_sgd_alone():
    config, _, optimizer = _built(data="family-trees", epochs=1)
    assert config.shrink == optimizer.shrink == 0.002
    config = runs.resolve_config({"data": "family-trees", "optimizer": "adam",
                                  "schedule": "constant"})  # fmt: skip
    assert config.shrink == 0.0


# -- the web page's lists are subsets of the library's ---------------------------------------


def test_the_pages_losses_are_library_losses_the_explainer_writes_out():
    from chainrule.explainer import network as explainer_network
    from chainrule.web import network as web_network

    assert set(web_network.PAGE_LOSSES) <= set(losses.LOSSES)
    assert set(web_network.PAGE_LOSSES) <= set(explainer_network.LOSSES)


def test_the_pages_optimizers_are_the_librarys_names_as_the_library_makes_them():
    from chainrule.web import training

    for name, choice in training.OPTIMIZERS.items():
        kind, settings = optim.optimizers.lookup(name)
        assert optim.OPTIMIZERS[choice.optimizer] is kind, name
        assert choice.settings == settings, name
