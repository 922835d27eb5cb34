"""An optimizer of one's own: a public hook to check its own hyperparameters
(``check_hyperparameter``, run by the constructor, a write, ``load_state_dict``, the schedules
and ``from_config``), where ``Adagrad(lr_decay=-1)`` was taken and ``betas="abc"`` failed
inside the step; and ``register_optimizer``, so ``optim.from_config`` rebuilds it (it raised
"unknown optimizer 'adagrad'")."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.errors import ConfigError, StateDictError
from chainrule.optim import optimizers


@pytest.fixture(autouse=True)
def optimizers_kept():
    """The table a test registers into, as it was (a class left there would join
    ``optim.names()`` and the array-library coverage test of every other test)."""
    before = dict(optimizers.OPTIMIZERS)
    yield
    optimizers.OPTIMIZERS.clear()
    optimizers.OPTIMIZERS.update(before)


def _adagrad_class():
    """PyTorch's Adagrad, as an extender writes it, checking its own lr_decay."""

    class Adagrad(optim.Optimizer):
        name = "adagrad"
        hyperparameters = ("lr", "lr_decay", "eps")
        buffers = ("sum",)
        stepped_buffers = ("sum",)
        non_negative_buffers = ("sum",)

        def __init__(self, params, lr=0.01, lr_decay=0.0, eps=1e-10):
            super().__init__(params, lr=lr, lr_decay=lr_decay, eps=eps)

        @classmethod
        def check_hyperparameter(cls, key, value):
            value = super().check_hyperparameter(key, value)
            if key == "lr_decay" and not (isinstance(value, float) and value >= 0):
                raise ValueError("a float >= 0")
            return value

        def _update(self, index, w, g):
            total = self._buffer(index, "sum", w)
            total += g * g
            lr = self.lr / (1 + (self.steps[index] - 1) * self.lr_decay)
            w -= lr * g / (np.sqrt(total) + self.eps)

    return Adagrad


def _params():
    return [cr.tensor(np.array([1.0, -2.0]), requires_grad=True)]


def test_the_subclass_hook_refuses_in_every_way_a_value_arrives():
    Adagrad = _adagrad_class()
    with pytest.raises(ConfigError, match=r"^Adagrad: lr_decay must be a float >= 0, not -1.0$"):
        Adagrad(_params(), lr_decay=-1.0)
    opt = Adagrad(_params(), lr_decay=0.5)
    with pytest.raises(ConfigError, match="lr_decay must be a float >= 0, not 'abc'"):
        opt.lr_decay = "abc"
    assert opt.lr_decay == 0.5  # the old value stays
    state = opt.state_dict()
    state["config"]["lr_decay"] = -3.0
    with pytest.raises(StateDictError, match="lr_decay must be a float >= 0"):
        opt.load_state_dict(state)
    with pytest.raises(ConfigError, match="lr_decay must be a float >= 0"):
        cr.optim.PiecewiseSchedule(opt, {0: {"lr_decay": -1.0}})


def test_the_shared_checks_still_run_under_the_hook():
    Adagrad = _adagrad_class()
    with pytest.raises(ConfigError, match=r"^Adagrad: lr must be a number >= 0, not -1$"):
        Adagrad(_params(), lr=-1)
    assert Adagrad(_params(), lr=np.float32(0.5)).lr == 0.5  # a NumPy scalar made plain
    assert type(Adagrad(_params(), lr=np.float32(0.5)).lr) is float


def test_chainrules_own_checks_keep_their_words():
    with pytest.raises(ConfigError, match=r"^SGD: nesterov must be True or False, not 'yes'$"):
        optim.SGD(_params(), lr=0.1, momentum=0.9, nesterov="yes")
    with pytest.raises(ConfigError, match=r"^Adam: betas must be two numbers in \[0, 1\)"):
        optim.Adam(_params(), betas="abc")
    assert optim.Adam.check_hyperparameter("betas", [0.5, 0.6]) == (0.5, 0.6)


def test_a_registered_optimizer_is_rebuilt_from_its_config():
    Adagrad = optim.register_optimizer(_adagrad_class())
    assert "adagrad" in optim.names()
    opt = Adagrad(_params(), lr=0.3, lr_decay=0.1)
    rebuilt = optim.from_config(opt.config(), _params())
    assert type(rebuilt) is Adagrad
    assert rebuilt.config() == opt.config() == {"type": "adagrad", "lr": 0.3, "lr_decay": 0.1,
                                                "eps": 1e-10}  # fmt: skip
    assert type(optim.from_name("Adagrad", _params(), lr=0.2)) is Adagrad
    with pytest.raises(ConfigError, match="optim.from_config: lr_decay must be a float >= 0"):
        optim.from_config({"type": "adagrad", "lr_decay": -1.0}, _params())


def test_registering_again_is_harmless_and_a_rerun_cell_replaces_the_class():
    first = optim.register_optimizer(_adagrad_class())
    assert optim.register_optimizer(first) is first
    again = optim.register_optimizer(_adagrad_class())  # the same place: a re-run cell
    assert optimizers.OPTIMIZERS["adagrad"] is again


def test_a_name_that_is_taken_or_missing_is_refused():
    class MySGD(optim.SGD):
        pass  # keeps "sgd"

    with pytest.raises(ConfigError, match="the name 'sgd' is taken by chainrule's own SGD"):
        optim.register_optimizer(MySGD)

    class Heavy(optim.SGD):
        name = "momentum"

    with pytest.raises(ConfigError, match="'momentum' is chainrule's name for sgd"):
        optim.register_optimizer(Heavy)

    class Upper(optim.SGD):
        name = "Upper"

    with pytest.raises(ConfigError, match='name = "upper"'):
        optim.register_optimizer(Upper)
    with pytest.raises(ConfigError, match="is not an Optimizer subclass"):
        optim.register_optimizer(dict)
    assert optim.names() == ("sgd", "rmsprop", "adam", "adamw", "momentum")


def test_another_class_under_a_registered_name_is_refused():
    optim.register_optimizer(_adagrad_class())

    class Other(optim.SGD):
        name = "adagrad"

    with pytest.raises(ConfigError, match="the name 'adagrad' is taken by .*Adagrad"):
        optim.register_optimizer(Other)
