"""A plain write to a hyperparameter after construction (``opt.lr = -5``, ``opt.momentum = 1.5``,
``opt.lr = "0.1"``, ``opt.lr = float("nan")``) was taken in silence, and the next step computed
garbage or failed deep inside NumPy. A write now goes through the constructor's check (the one
home of the rule, ``Optimizer.check_hyperparameters``): a refused value raises ConfigError in the
constructor's words and the old value stays; a good one is kept as the constructor keeps it
(a NumPy scalar as the Python number it holds) and the next step uses it. The schedules' writes
and a loaded state's hyperparameters still go through."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import optim
from chainrule.errors import ConfigError

#: Values no hyperparameter of any optimizer takes.
BAD_FOR_ALL = ["0.1", float("nan"), float("inf"), -5.0, None, np.array(0.1), [0.1]]
#: Values past one hyperparameter's own bound (by hyperparameter, whichever optimizer has it).
BAD_BY_NAME = {
    "momentum": [1.5, 1.0001],
    "alpha": [1.0],
    "shrink": [1.0],
    "betas": [(0.9, 1.0), (0.9,), (-0.1, 0.9)],
    "nesterov": [2, "yes"],
}
#: A good value for every hyperparameter, written the way a user might: NumPy scalars, a list.
GOOD = {
    "lr": np.float32(0.25),
    "momentum": np.float64(0.75),
    "nesterov": np.bool_(True),
    "weight_decay": np.float64(0.125),
    "shrink": np.float64(0.0625),
    "alpha": np.float64(0.5),
    "eps": np.float64(1e-6),
    "betas": [np.float64(0.5), 0.75],
}

CLASSES = list(optim.OPTIMIZERS.values())
HYPER = [(cls, name) for cls in CLASSES for name in cls.hyperparameters]


def ids(case):
    return f"{case[0].__name__}.{case[1]}"


def make(cls, w=None, **hyper):
    w = cr.tensor([1.0, -2.0, 0.5]) if w is None else w
    w.requires_grad_()
    return cls([w], **{"lr": 0.1, **hyper}), w


def test_every_hyperparameter_has_a_good_value_here():
    """A hyperparameter added to an optimizer of the registry must be added to GOOD."""
    assert {name for _, name in HYPER} <= set(GOOD)


@pytest.mark.parametrize("case", HYPER, ids=ids)
def test_a_bad_write_is_refused_in_the_constructors_words_and_changes_nothing(case):
    cls, name = case
    opt, _ = make(cls)
    before = getattr(opt, name)
    for value in BAD_FOR_ALL + BAD_BY_NAME.get(name, []):
        with pytest.raises(ConfigError) as written:
            setattr(opt, name, value)
        message = str(written.value)
        assert message.startswith(f"{cls.__name__}: {name} must be ")
        assert message.endswith(f", not {value!r}")
        with pytest.raises(ConfigError) as constructed:  # the constructor says the same
            make(cls, **{name: value})
        assert str(constructed.value) == message
        assert getattr(opt, name) == before and type(getattr(opt, name)) is type(before)


@pytest.mark.parametrize("case", HYPER, ids=ids)
def test_a_good_write_is_kept_as_the_constructor_keeps_it(case):
    cls, name = case
    opt, _ = make(cls)
    setattr(opt, name, GOOD[name])
    kept = cls.check_hyperparameters({name: GOOD[name]})[name]
    assert getattr(opt, name) == kept and type(getattr(opt, name)) is type(kept)
    assert type(kept) in (float, bool, tuple)  # not the NumPy scalar or list written
    assert opt.config()[name] == (list(kept) if isinstance(kept, tuple) else kept)


@settings(max_examples=60, deadline=None)
@given(
    case=st.sampled_from(HYPER),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-3, 3),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
        st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5)),
    ),
)
def test_a_write_takes_exactly_what_the_constructor_takes(case, value):
    cls, name = case
    opt, _ = make(cls)
    try:
        expected = cls.check_hyperparameters({name: value})[name]
    except ConfigError as refused:
        with pytest.raises(ConfigError) as written:
            setattr(opt, name, value)
        assert str(written.value) == str(refused)
        return
    setattr(opt, name, value)
    assert getattr(opt, name) == expected and type(getattr(opt, name)) is type(expected)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_after_a_refused_write_a_good_one_steps_as_if_constructed_with_it(cls):
    g = np.array([0.5, 3.0, -1.0])
    opt, w = make(cls)
    with pytest.raises(ConfigError, match=rf"{cls.__name__}: lr must be a number >= 0"):
        opt.lr = -5.0
    opt.lr = np.float64(0.05)
    w.grad = cr.tensor(g)
    opt.step()
    fresh, v = make(cls, lr=0.05)
    v.grad = cr.tensor(g)
    fresh.step()
    np.testing.assert_array_equal(w.numpy(), v.numpy())
    assert np.all(np.isfinite(w.numpy()))


def test_a_written_learning_rate_is_the_one_sgd_steps_with():
    """By hand: plain descent w - lr g (the fast path reads opt.lr), then RHW momentum
    v = momentum v - lr g, w += v, with the lr written between the steps."""
    w0, g1, g2 = np.array([1.0, -2.0, 0.5]), np.array([0.5, 3.0, -1.0]), np.array([1.0, 1.0, 2.0])
    opt, w = make(optim.SGD, cr.tensor(w0.copy()))
    with pytest.raises(ConfigError, match="SGD: lr must be a number >= 0, not '0.2'"):
        opt.lr = "0.2"
    opt.lr = 0.2
    w.grad = cr.tensor(g1)
    opt.step()
    np.testing.assert_allclose(w.numpy(), w0 - 0.2 * g1, rtol=1e-15)

    opt, w = make(optim.SGD, cr.tensor(w0.copy()), momentum=0.5)
    w.grad = cr.tensor(g1)
    opt.step()
    with pytest.raises(ConfigError, match=r"SGD: momentum must be in \[0, 1\], not 1.5"):
        opt.momentum = 1.5
    opt.lr, opt.momentum = 0.01, 0.9
    w.grad = cr.tensor(g2)
    opt.step()
    v1 = -0.1 * g1
    v2 = 0.9 * v1 - 0.01 * g2
    np.testing.assert_allclose(w.numpy(), w0 + v1 + v2, rtol=1e-14)


def test_a_written_learning_rate_is_the_one_adam_steps_with():
    """Adam's first step by hand: m_hat = g, v_hat = g^2, w -= lr g / (|g| + eps)."""
    w0, g = np.array([1.0, -2.0, 0.5]), np.array([0.5, 3.0, -1.0])
    opt, w = make(optim.Adam, cr.tensor(w0.copy()))
    with pytest.raises(ConfigError, match="Adam: lr must be a number >= 0, not nan"):
        opt.lr = float("nan")
    opt.lr = 0.3
    w.grad = cr.tensor(g)
    opt.step()
    np.testing.assert_allclose(w.numpy(), w0 - 0.3 * g / (np.abs(g) + 1e-8), rtol=1e-12)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_schedules_and_loaded_states_still_set_the_hyperparameters(cls):
    opt, w = make(cls, lr=0.8)
    schedule = optim.StepLR(opt, step_size=1, gamma=0.5)
    for epoch in range(1, 4):
        w.grad = cr.tensor(np.ones(3))
        opt.step()
        schedule.step()
        assert opt.lr == 0.8 * 0.5**epoch
    with pytest.raises(ConfigError, match=rf"{cls.__name__}: lr must be a number >= 0"):
        opt.lr = -1.0
    assert opt.lr == 0.1
    other, _ = make(cls, w=cr.tensor(w.numpy().copy()), lr=0.5)
    other.load_state_dict(opt.state_dict())
    assert other.config() == opt.config() and other.lr == 0.1
    piecewise = optim.PiecewiseSchedule(other, {0: {"lr": 0.02}, 2: {"lr": 0.004}})
    piecewise.start_at(2)
    assert other.lr == 0.004 and math.isfinite(other.lr)
