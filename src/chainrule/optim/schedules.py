"""Schedules: change an optimizer's hyperparameters between epochs.

Each schedule is stepped once per epoch, after the epoch, with ``.step()``; ``.epoch`` counts
the epochs done. It writes the optimizer's plain attributes (``opt.lr``, ``opt.momentum``), so
anything else may change them too. ``state_dict()`` / ``load_state_dict()`` are JSON-able for
checkpoints. Every schedule here is a function of the epoch count alone (the closed forms below),
so ``start_at(epoch)`` puts one where ``epoch`` steps from 0 would have: a resumed run whose
checkpoint holds no state of its schedule (the first run had none, or another kind) continues
it from the resumed epoch, as an uninterrupted run with this schedule would have. A value
written by hand between epochs (``opt.lr = 1.0``) therefore lasts until the schedule's next
step, which writes its own again; PyTorch's StepLR and ExponentialLR multiply the lr as it is,
so there a hand-set lr carries on, scaled.

- :class:`StepLR`: lr = base_lr * gamma ** (epoch // step_size).
- :class:`ExponentialLR`: lr = base_lr * gamma ** epoch.
- :class:`CosineLR`: lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / total)) / 2.
- :class:`PiecewiseSchedule`: any hyperparameters from given epochs on, e.g. for Rumelhart,
  Hinton & Williams' family trees
  ``{0: {"lr": 0.005, "momentum": 0.5}, 20: {"lr": 0.01, "momentum": 0.9}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from chainrule.checks import is_integer
from chainrule.errors import ConfigError, StateDictError, type_name
from chainrule.optim.base import _non_negative, _plain
from chainrule.optim.optimizers import Optimizer


class Schedule:
    """The base of every schedule: the optimizer, the epoch count, and ``step``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):  # a torch.optim one has no set_hyperparameters
            raise ConfigError(
                f"{type(self).__name__}: expected a chainrule.optim optimizer (the one whose "
                f"hyperparameters it changes), got {type_name(optimizer)}"
            )
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (counting from 0)."""
        raise NotImplementedError

    def apply(self) -> None:
        """Set the optimizer's hyperparameters for the current epoch (checked as the
        optimizer's constructor checks them; a learning rate past the largest float, as
        ``gamma > 1`` reaches after some hundreds of epochs, is refused as one)."""
        try:
            lr = self.lr_at(self.epoch)
        except OverflowError:  # Python's float power raises where NumPy's gives inf
            lr = math.inf
        if not math.isfinite(lr):
            raise ConfigError(f"{self._who()}: the learning rate overflows ({lr}); lower gamma")
        self.optimizer.set_hyperparameters({"lr": lr}, self._who())

    def _who(self) -> str:
        return f"{type(self).__name__} at epoch {self.epoch}"

    def step(self) -> None:
        """One more epoch is done: move on and set the hyperparameters for the next (where
        they are refused, nothing changes: the epoch stays, as the optimizer's values)."""
        self.start_at(self.epoch + 1)

    def start_at(self, epoch: int) -> None:
        """Stand where ``epoch`` steps from 0 leave the schedule, the optimizer set to match
        (exact: the hyperparameters are a function of the epoch count); nothing changes where
        the optimizer refuses them."""
        epoch = _whole(epoch, f"{type(self).__name__}.start_at", "epoch", 0)
        kept, self.epoch = self.epoch, epoch
        try:
            self.apply()
        except ConfigError:
            self.epoch = kept
            raise

    def holds(self, state: Any) -> bool:
        """Whether ``state`` is a :meth:`state_dict` of this kind of schedule."""
        return isinstance(state, Mapping) and state.get("type") == type(self).__name__

    def state_dict(self) -> dict[str, Any]:
        """The epoch count and the base learning rate (JSON-able)."""
        return {"type": type(self).__name__, "epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a saved :meth:`state_dict` (and set the optimizer to match)."""
        who = f"{type(self).__name__}.load_state_dict"
        if not self.holds(state):
            found = state.get("type") if isinstance(state, Mapping) else state
            raise StateDictError(f"{who}: the state is for {found!r}")
        epoch, base_lr = state.get("epoch"), _plain(state.get("base_lr"))
        if not (type(_plain(epoch)) is int and _plain(epoch) >= 0):
            raise StateDictError(f"{who}: 'epoch' must be a whole number >= 0, not {epoch!r}")
        if not _non_negative(base_lr):
            raise StateDictError(f"{who}: 'base_lr' must be a number >= 0, not {base_lr!r}")
        kept = self.epoch, self.base_lr
        self.epoch, self.base_lr = _plain(epoch), float(base_lr)
        try:
            self.apply()
        except ConfigError as error:  # nothing changes
            self.epoch, self.base_lr = kept
            raise StateDictError(f"{who}: {error}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.epoch}, lr={self.optimizer.lr:g})"


def _whole(value: Any, who: str, what: str, minimum: int) -> int:
    """``value`` as a whole number >= ``minimum``: a Python or NumPy integer (a milestone's epoch
    may also be its digits, as a JSON key holds it); anything else is a ConfigError naming it
    (``int(2.5)`` would be 2 without a word, ``int("x")`` a bare ValueError)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not is_integer(value):
        raise ConfigError(f"{who}: {what} must be a whole number >= {minimum}, not {value!r}")
    if value < minimum:
        raise ConfigError(f"{who}: {what} must be >= {minimum}, not {value}")
    return int(value)


class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _whole(step_size, "StepLR", "step_size", 1)
        self.gamma = _gamma("StepLR", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """Multiply the learning rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _gamma("ExponentialLR", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineLR(Schedule):
    """Anneal the learning rate from its start to ``min_lr`` along half a cosine over
    ``total_epochs`` (and stay at ``min_lr`` after)."""

    def __init__(self, optimizer: Optimizer, total_epochs: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        total_epochs = _whole(total_epochs, "CosineLR", "total_epochs", 1)
        value = _plain(min_lr)
        if not _non_negative(value):
            raise ConfigError(f"CosineLR: min_lr must be a number >= 0, not {min_lr!r}")
        self.total_epochs, self.min_lr = total_epochs, float(value)

    def lr_at(self, epoch: int) -> float:
        return cosine_lr(self.base_lr, self.min_lr, epoch, self.total_epochs)


def cosine_lr(base_lr: float, min_lr: float, epoch: int, total_epochs: int) -> float:
    """:class:`CosineLR`'s learning rate at ``epoch`` (counting from 0) of ``total_epochs``."""
    progress = min(epoch, total_epochs) / total_epochs
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2


class PiecewiseSchedule(Schedule):
    """Set hyperparameters from given epochs on: ``{epoch: {"lr": ..., "momentum": ...}}``.

    At epoch e the settings of every milestone <= e apply (later ones win), so milestone 0 is
    applied when the schedule is made. Any plain hyperparameter of the optimizer may be set
    (lr, momentum, weight_decay, shrink ...). Keys may be strings (as after a JSON round trip).

    >>> import chainrule as cr
    >>> net = cr.nn.mlp([2, 1], rng=0)
    >>> opt = cr.optim.SGD(net.parameters(), lr=0.1)
    >>> schedule = PiecewiseSchedule(opt, {0: {"lr": 0.005, "momentum": 0.5},
    ...                                    20: {"lr": 0.01, "momentum": 0.9}})
    >>> opt.lr, opt.momentum
    (0.005, 0.5)
    """

    def __init__(
        self, optimizer: Optimizer, milestones: Mapping[int | str, Mapping[str, Any]]
    ) -> None:
        super().__init__(optimizer)
        _check_milestones(milestones)
        self.milestones: dict[int, dict[str, Any]] = {}
        for key, settings in milestones.items():
            epoch = _whole(key, "PiecewiseSchedule", "a milestone's epoch", 0)
            for name in settings:
                if name not in optimizer.hyperparameters:
                    raise ConfigError(
                        f"PiecewiseSchedule: {type(optimizer).__name__} has no hyperparameter "
                        f"{name!r} (it has {', '.join(optimizer.hyperparameters)})"
                    )
            # every milestone checked now, as the optimizer's constructor checks it, rather
            # than at its epoch in the middle of a run (NumPy scalars become Python numbers)
            self.milestones[epoch] = optimizer.check_hyperparameters(
                settings, f"PiecewiseSchedule: epoch {epoch}"
            )
        self.milestones = dict(sorted(self.milestones.items()))
        self.apply()

    def settings_at(self, epoch: int) -> dict[str, Any]:
        """The hyperparameters in force at ``epoch`` (only those the milestones mention)."""
        settings: dict[str, Any] = {}
        for start, values in self.milestones.items():
            if start <= epoch:
                settings.update(values)
        return settings

    def lr_at(self, epoch: int) -> float:
        return float(self.settings_at(epoch).get("lr", self.base_lr))

    def apply(self) -> None:
        self.optimizer.set_hyperparameters(self.settings_at(self.epoch), self._who())


_MILESTONES_FORM = "{epoch: {hyperparameter: value}}, e.g. {0: {'lr': 0.005}, 20: {'lr': 0.01}}"


def _check_milestones(milestones: Any) -> None:
    """Refuse milestones of another form than a dict of dicts, naming the form: a list of
    pairs failed on ``.items()``, a bare number as the settings on iterating over it."""
    if not isinstance(milestones, Mapping):
        raise ConfigError(
            f"PiecewiseSchedule: milestones must be a dict {_MILESTONES_FORM}, "
            f"not {type_name(milestones)}"
        )
    for epoch, settings in milestones.items():
        if not isinstance(settings, Mapping):
            raise ConfigError(
                f"PiecewiseSchedule: the settings of milestone {epoch!r} must be a dict "
                f"{{hyperparameter: value}} such as {{'lr': 0.01}} (milestones are "
                f"{_MILESTONES_FORM}), not {type_name(settings)} {settings!r}"
            )


def _gamma(who: str, gamma: Any) -> float:
    """A schedule's factor: a number > 0 (0 or less would give a learning rate the optimizer
    refuses, or 0 for good)."""
    value = _plain(gamma)
    if not (_non_negative(value) and value > 0):
        raise ConfigError(f"{who}: gamma must be a number > 0, not {gamma!r}")
    return float(value)
