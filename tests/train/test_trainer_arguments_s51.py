"""What fit and Trainer are given, checked before anything trains, as a QA pass found them: the
optimizer given as the schedule stepped it a second time after every epoch (on stale
gradients); a schedule built on another optimizer left the trainer's learning rate where it
was; a torch.optim optimizer trained nothing, silently; ``schedule="cosine"`` and
``callbacks=[print]`` failed with an AttributeError, the first after epoch 1 had changed the
weights. The schedules named a torch optimizer by its bare class name, a PiecewiseSchedule of
the wrong form raised Python's own errors, and early stopping suggested monitoring a key that
no epoch logs."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset
from chainrule.errors import ConfigError, type_name
from chainrule.train import Callback, EarlyStopping, Trainer


def _data(n: int = 12) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(X=rng.normal(size=(n, 4)), y=rng.integers(0, 3, n), task="classification")


def _net_and_sgd():
    net = cr.nn.mlp([4, 5, 3], rng=0)
    return net, cr.optim.SGD(net.parameters(), lr=0.1)


def _fit(net, opt, **options):
    return cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), progress=False, **options)


def _trainer(net, opt, **options):
    return Trainer(net, cr.nn.CrossEntropy(), opt, progress=False, **options).fit(_data(), epochs=3)


def _torch_sgd(torch):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


HOSTS = {"fit": lambda net, opt, **o: _fit(net, opt, epochs=3, **o), "Trainer": _trainer}


def _refused_before_training(host, net, opt, match, **options) -> None:
    """``host`` refuses ``options`` with a ConfigError matching ``match``, and no weight moved."""
    before = {name: value.copy() for name, value in net.state_dict().items()}
    with pytest.raises(ConfigError, match=match):
        HOSTS[host](net, opt, **options)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    if isinstance(opt, cr.optim.Optimizer):
        assert opt.steps == [0] * len(opt.params)


@pytest.mark.parametrize("host", HOSTS)
def test_the_optimizer_as_its_own_schedule_is_refused(host):
    """It has step() and state_dict(): it passed for a schedule and stepped twice an epoch."""
    net, opt = _net_and_sgd()
    _refused_before_training(
        host, net, opt, rf"schedule is the trainer's optimizer itself \({type_name(opt)}\)",
        schedule=opt,
    )  # fmt: skip
    # one step per full-batch epoch with a real schedule: three epochs, three steps
    _fit(net, opt, epochs=3, schedule=cr.optim.StepLR(opt, 1, gamma=0.5))
    assert opt.steps == [3] * len(opt.params)


@pytest.mark.parametrize("host", HOSTS)
def test_a_schedule_of_another_optimizer_is_refused(host):
    net, opt = _net_and_sgd()
    other = cr.optim.SGD(net.parameters(), lr=0.1)
    _refused_before_training(
        host, net, opt, "schedule StepLR was built on another SGD than the trainer's optimizer",
        schedule=cr.optim.StepLR(other, 1, gamma=0.5),
    )  # fmt: skip
    assert other.lr == 0.1  # nothing stepped the other schedule either
    # built on the trainer's optimizer, the logged learning rate follows the closed form
    history = _fit(net, opt, epochs=3, schedule=cr.optim.StepLR(opt, 1, gamma=0.5))
    assert history["lr"] == pytest.approx([0.1 * 0.5**e for e in range(3)], rel=1e-12)


@pytest.mark.parametrize("host", HOSTS)
def test_a_torch_optimizer_is_refused_naming_it(torch, host):
    """It stepped its own tensor: every epoch's loss was the first one's."""
    net, _ = _net_and_sgd()
    given = _torch_sgd(torch)
    with pytest.raises(ConfigError) as caught:
        HOSTS[host](net, given)
    message = str(caught.value)
    assert f"optimizer is {type_name(given)}, not a chainrule optimizer" in message
    assert "chainrule.optim" in message


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    ("schedule", "match"),
    [("cosine", "schedule is the string 'cosine', not a schedule: a schedule is one of "
                "chainrule.optim's"),
     (lambda epoch: 0.1, "schedule is function, not a schedule"),
     (cr.optim.StepLR, "schedule is the class StepLR, not a schedule")],
)  # fmt: skip
def test_a_schedule_that_is_no_schedule_is_refused_before_the_first_epoch(host, schedule, match):
    """A name ("cosine") failed on .step() after epoch 1 had updated the weights."""
    net, opt = _net_and_sgd()
    _refused_before_training(host, net, opt, match, schedule=schedule)


class _Hooks:
    """Every hook of a callback without subclassing Callback: the loop calls them all."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append(name)


class _EpochEndOnly:
    def on_epoch_end(self, trainer, epoch, logs) -> None:
        pass


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    ("callbacks", "match"),
    [([print], r"callbacks\[0\] is the function print, not a callback: a callback is an object "
               "with the hooks on_fit_start, .*subclass cr.train.Callback"),
     ([Callback(), _EpochEndOnly()], r"callbacks\[1\] is .*_EpochEndOnly, not a callback \(it "
                                     "lacks on_fit_start, on_epoch_start, on_after_backward, "
                                     r"on_batch_end, on_fit_end\)"),
     ([EarlyStopping], r"callbacks\[0\] is the class EarlyStopping, not a callback; pass an "
                       "instance"),
     (EarlyStopping(3), "callbacks must be a list of callbacks, not .*EarlyStopping; one "
                        r"callback goes in a list: callbacks=\[callback\]")],
)  # fmt: skip
def test_callbacks_that_are_no_callbacks_are_refused_before_the_fit(host, callbacks, match):
    net, opt = _net_and_sgd()
    _refused_before_training(host, net, opt, match, callbacks=callbacks)


def test_an_object_with_every_hook_is_a_callback():
    """Duck typing, as the loop calls hooks: every hook present is enough, and each runs."""
    net, opt = _net_and_sgd()
    hooks = _Hooks()
    _fit(net, opt, epochs=1, callbacks=[hooks])
    assert hooks.calls == ["on_fit_start", "on_epoch_start", "on_after_backward",
                           "on_batch_end", "on_epoch_end", "on_fit_end"]  # fmt: skip
    with pytest.raises(ConfigError, match="lacks on_fit_start"):  # one missing: refused
        _fit(net, opt, epochs=1, callbacks=[_EpochEndOnly()])


def test_a_schedule_names_a_torch_optimizer_by_its_import_name(torch):
    given = _torch_sgd(torch)
    with pytest.raises(ConfigError) as caught:
        cr.optim.StepLR(given, 2)
    message = str(caught.value)
    assert message.startswith("StepLR: expected a chainrule.optim optimizer")
    assert message.endswith(f"got {type_name(given)}")
    assert type_name(given) != "SGD"


@pytest.mark.parametrize(
    ("milestones", "match"),
    [([(0, {"lr": 0.5})], r"PiecewiseSchedule: milestones must be a dict \{epoch: "
                          r"\{hyperparameter: value\}\}, e.g. .*, not list"),
     ({0: 0.5}, r"PiecewiseSchedule: the settings of milestone 0 must be a dict "
                r"\{hyperparameter: value\} such as \{'lr': 0.01\} .*, not float 0.5"),
     ({0: {"lr": 0.5}, 5: [("lr", 0.1)]}, "the settings of milestone 5 must be a dict .*, not "
                                          r"list \[\('lr', 0.1\)\]")],
)  # fmt: skip
def test_piecewise_milestones_of_another_form_say_the_form(milestones, match):
    """A list of pairs raised AttributeError (.items()), a bare number TypeError (iterated)."""
    net, opt = _net_and_sgd()
    with pytest.raises(ConfigError, match=match):
        cr.optim.PiecewiseSchedule(opt, milestones)
    assert opt.lr == 0.1  # nothing applied
    # the form the message gives is the one the schedule takes
    cr.optim.PiecewiseSchedule(opt, {0: {"lr": 0.005}, 20: {"lr": 0.01}})
    assert opt.lr == 0.005


@pytest.mark.parametrize(
    ("monitor", "suggested"),
    [("val_acc", "accuracy"), ("val_los", "loss"), ("val_f1", None)],
)  # fmt: skip
def test_early_stopping_without_validation_suggests_a_logged_key(monitor, suggested):
    """Monitoring "val_acc" suggested 'acc', which no epoch logs either ('los' for a typo)."""
    net, opt = _net_and_sgd()
    stopping = EarlyStopping(3, monitor=monitor, mode="max")
    trainer = Trainer(net, cr.nn.CrossEntropy(), opt, early_stopping=stopping, progress=False)
    with pytest.raises(ConfigError, match="this fit has no validation set") as caught:
        trainer.fit(_data(), epochs=2)
    message = str(caught.value)
    if suggested is None:
        assert message.endswith("or monitor one of the keys logged")
        return
    assert message.endswith(f"or monitor={suggested!r}")
    assert trainer.history[0][suggested] is not None  # the epoch logged it: watching it works
    cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=2, progress=False,
                 early_stopping=EarlyStopping(3, monitor=suggested))  # fmt: skip
