"""A write to a misspelt hyperparameter (``opt.momentun = 0.9``) or to another library's name for
one (Keras' ``opt.learning_rate = 0.01``) made a new attribute the step never reads: the run went
on with the old value, in silence. ``del opt.lr`` was taken, and the next step failed inside with
an AttributeError. Both now raise ConfigError naming the hyperparameter meant; a subclass's or a
user's own new attribute is still written as usual."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.errors import ConfigError

CLASSES = list(optim.OPTIMIZERS.values())


def make(cls):
    w = cr.tensor([1.0, -2.0, 0.5]).requires_grad_()
    return cls([w], lr=0.1), w


def misspelt(name: str) -> str:
    """``name`` with its last two letters swapped (``momentum`` -> ``momentmu``)."""
    return name[:-2] + name[-1] + name[-2] if len(name) >= 5 else name + name[-1]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_misspelt_hyperparameter_is_refused_and_nothing_is_set(cls):
    opt, _ = make(cls)
    for name in cls.hyperparameters:
        wrong = misspelt(name)
        if len(wrong) < 4:
            continue  # too short to be told from a name of one's own
        with pytest.raises(
            ConfigError, match=f"no hyperparameter '{wrong}'; did you mean '{name}'"
        ):
            setattr(opt, wrong, 0.5)
        assert not hasattr(opt, wrong)


@pytest.mark.parametrize(
    ("cls", "other", "meant"),
    [(optim.SGD, "learning_rate", "lr"), (optim.Adam, "beta_1", "betas"),
     (optim.Adam, "epsilon", "eps"), (optim.RMSprop, "rho", "alpha")],
)  # fmt: skip
def test_another_librarys_name_is_refused_naming_ours(cls, other, meant):
    opt, w = make(cls)
    with pytest.raises(ConfigError, match=f"did you mean '{meant}'"):
        setattr(opt, other, 0.5)
    w.grad = cr.tensor([1.0, 1.0, 1.0]).data
    before = w.data.copy()
    opt.step()  # the old hyperparameters still step
    assert (w.data != before).all()


def test_a_name_of_ones_own_is_written_as_usual():
    opt, _ = make(optim.SGD)
    opt.note = "run 3"
    opt.lrs = [0.1, 0.01]  # close to lr, but a list of one's own
    assert (opt.note, opt.lrs) == ("run 3", [0.1, 0.01])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_deleting_a_hyperparameter_is_refused_and_it_stays(cls):
    opt, _ = make(cls)
    for name in cls.hyperparameters:
        before = getattr(opt, name)
        with pytest.raises(ConfigError, match=f"{name} is a hyperparameter every step reads"):
            delattr(opt, name)
        assert getattr(opt, name) == before
    opt.note = "x"
    del opt.note  # one's own attribute is deleted as usual
    assert not hasattr(opt, "note")


def test_a_subclass_of_ones_own_sets_its_own_names():
    """The review's case: an Adam subclass unpacking betas into self.beta1 and self.beta2, an
    SGD subclass keeping self.momentums, a property named like a hyperparameter: refused as
    "did you mean" on the first version of this check."""

    class MyAdam(optim.Adam):
        def __init__(self, params, **kwargs):
            super().__init__(params, **kwargs)
            self.beta1, self.beta2 = self.betas

    class MySGD(optim.SGD):
        def __init__(self, params, **kwargs):
            super().__init__(params, **kwargs)
            self.momentums = [self.momentum]

    w = cr.tensor([1.0]).requires_grad_()
    assert MyAdam([w], lr=0.1).beta1 == 0.9
    assert MySGD([w], lr=0.1, momentum=0.5).momentums == [0.5]
    opt = MyAdam([w], lr=0.1)
    opt.epsilon = 1e-6  # one's own class: one's own names, checked by no one
    assert opt.epsilon == 1e-6 and opt.eps == 1e-8
