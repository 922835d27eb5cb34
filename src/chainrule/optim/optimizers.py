"""Optimizers: update each parameter's array in place from its ``.grad``.

On NumPy every update is vectorised with in-place array operations (``np.multiply(..., out=)``)
on buffers allocated once per parameter, so a step allocates little and keeps each parameter's
dtype (float32 stays float32); plain SGD updates a large weight in one pass of BLAS axpy
(:func:`chainrule.backend.add_scaled`). PyTorch and CuPy arrays take the same in-place update (their
``out=`` and in-place operators, through array-api-compat). On any other array library the update
is written in the array API standard without ``out=`` (``_updated``), and the new values go back
into the parameter in place where the library allows it (array-api-strict), or replace its array
where it does not (JAX's arrays are immutable: ``w -= lr * g`` there would only rebind a name).

A parameter whose ``.grad`` is None is skipped (its buffers and step count stay as they were).
Hyperparameters are plain attributes (``opt.lr``, ``opt.momentum``) that a schedule may change
between epochs; a write to one is checked as the constructor checks it (``opt.lr = -5`` is
refused, and the old value stays).

Weight decay (``weight_decay=lambda``) is L2 regularisation: ``lambda * w`` is added to the
gradient before the update, as if the loss had ``lambda/2 * sum w^2`` added; AdamW instead
shrinks the weights directly (decoupled). SGD's ``shrink=s`` multiplies every weight by
``(1 - s)`` after each step, as Rumelhart, Hinton & Williams (1986) "decayed the weights by 0.2%
after each weight change" (``shrink=0.002``). Each decays every parameter the optimizer was
given, the biases too, as PyTorch's ``weight_decay`` does (Hinton's course decays the weights
alone: there, give ``weight_decay=0`` and add ``lambda * w`` to each weight's ``.grad`` in a
callback's ``on_after_backward``). The decay lives in the step alone: a loss function's value,
and every loss a ``Trainer`` reports or early-stops on, is the data's, without
``lambda/2 * sum w^2``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from chainrule import backend, engine
from chainrule.backend import array_module
from chainrule.checks import is_real
from chainrule.errors import ConfigError
from chainrule.nn.module import ON_THE_COMMAND_LINE, Module
from chainrule.optim.base import Optimizer, _plain, _Refused
from chainrule.tensor import Tensor, check_writeable

__all__ = [
    "OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "from_config", "from_name",
    "lookup", "names",
]  # fmt: skip


class SGD(Optimizer):
    """Gradient descent with classical momentum, exactly as Rumelhart, Hinton & Williams (1986),
    eq. 9:

        dw(t) = -lr * dE/dw(t) + momentum * dw(t-1),     w(t) = w(t-1) + dw(t).

    The velocity dw holds the learning rate inside it. PyTorch keeps b = momentum * b + g and
    steps w -= lr * b; that is the same update while lr is constant (dw = -lr * b), and differs
    only in how a changed lr acts on the momentum already gathered: here the old velocity keeps
    its old lr, as in the paper.

    ``nesterov=True`` is PyTorch's Nesterov (the same weights while lr is constant): with g the
    gradient at the parameters, dw(t) = momentum * dw(t-1) - lr * g, then
    w += momentum * dw(t) - lr * g. The parameters then hold the *look-ahead point* of Hinton's
    lecture 6c (Sutskever et al. 2013), not its weights. The lecture keeps weights W, jumps to
    W + momentum * dw, measures the gradient there and corrects:

        dw(t) = momentum * dw(t-1) - lr * dE/dw(W(t-1) + momentum * dw(t-1)),
        W(t) = W(t-1) + dw(t),

    and here w(t) = W(t) + momentum * dw(t) (the same dw), the point the next gradient is taken
    at: the loss a step computes, the weights a fit reports or saves, are those at w. The two
    start equal (dw(0) = 0) and reach the same minimum (where dw -> 0), but differ on the way
    (on E = 5 w1^2 + w2^2 / 2 from (1, 1), lr 0.05, momentum 0.9: w(1) = (0.05, 0.905), the
    lecture's W(1) = (0.5, 0.95)); the lecture's weights are w - momentum * dw, ``dw`` being
    ``opt.state[i]["velocity"]``.

    ``weight_decay`` adds ``weight_decay * w`` to the
    gradient (L2); ``shrink`` (in [0, 1)) multiplies w by (1 - shrink) after the step (RHW's
    0.2% decay). Both act on every parameter given, biases included, as PyTorch's
    ``weight_decay`` does.
    """

    name = "sgd"
    hyperparameters = ("lr", "momentum", "nesterov", "weight_decay", "shrink")
    buffers = ("velocity",)

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        shrink: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            shrink=shrink,
        )
        # as PyTorch, at construction only: a schedule may later set momentum 0
        if self.nesterov and not self.momentum:
            raise ConfigError("SGD: nesterov=True needs momentum > 0")

    @classmethod
    def _checked(cls, key: str, value: Any) -> Any:
        if key == "nesterov":
            value = _plain(value)
            if isinstance(value, bool) or (type(value) is int and value in (0, 1)):
                return bool(value)
            raise _Refused("True or False")
        if key == "shrink":  # w * (1 - shrink): 1 zeroes every weight, more flips their signs
            value = _plain(value)
            if not (is_real(value) and 0.0 <= value < 1.0):
                raise _Refused("in [0, 1)")
            return value
        return super()._checked(key, value)

    def updates_add_up(self) -> bool:
        """Linear in the gradient, with or without momentum (two views' velocities add up to
        the tied weight's); weight decay and shrink read each view's values, so not then."""
        return not (self.weight_decay or self.shrink)

    def step(self) -> None:
        """Update every parameter that has a gradient, in place. Plain descent (no momentum,
        weight decay or shrink) on NumPy arrays is one loop of ``w -= lr * g`` (BLAS axpy for a
        large weight): it is every training step's update, run right after the backward's last
        matrix product at cold caches, where each call and check costs several times its work."""
        if self.momentum or self.weight_decay or self.shrink:
            super().step()
            return
        state = self.state
        plain = []  # (index, w, g): every parameter is looked at before any moves
        for index, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                continue
            w, g = param.data, grad.data if isinstance(grad, Tensor) else grad
            on_numpy = type(w) is np.ndarray and type(g) is np.ndarray
            if on_numpy and g.shape == w.shape and g.dtype == w.dtype and not state[index]:
                if not w.flags.writeable:  # refused before any moves: no step count changes
                    check_writeable(w, f"{type(self).__name__}.step", f"parameter {index}")
                plain.append((index, w, g))
                continue
            # the update Optimizer.step would make; a gradient of another shape (an error) or
            # dtype (a narrower one is read in the parameter's), a parameter or gradient of
            # another library or a velocity left from momentum take its path, which checks
            # every parameter first
            super().step()
            return
        alpha, steps = -float(self.lr), self.steps
        written, now = engine.written_at, engine.note_write()  # what backward checks
        for index, w, g in plain:
            steps[index] += 1
            backend.add_scaled(w, alpha, g)
            # engine.note_written, inline (a call per parameter and step): the array backward
            # will read, and where it is a view, the memory every view reads
            written[id(w)] = now
            if w.base is not None:
                written[id(w.base)] = now

    def _update(self, index: int, w: Any, g: Any) -> None:
        if self.weight_decay:
            g = self._decayed_gradient(index, w, g)
        if not self.momentum and "velocity" not in self.state[index]:
            backend.add_scaled(w, -float(self.lr), g)  # plain descent, one pass where BLAS can
        else:
            self._momentum_update(index, w, g)
        if self.shrink:
            w *= 1.0 - self.shrink

    def _updated(self, index: int, w: Any, g: Any) -> Any:
        if self.weight_decay:
            g = w * self.weight_decay + g
        if not self.momentum and "velocity" not in self.state[index]:
            w = w - self.lr * g
        else:
            step = g * self.lr
            velocity = self._state_of(index, "velocity", w) * self.momentum - step
            self.state[index]["velocity"] = velocity
            w = (w - step) + velocity * self.momentum if self.nesterov else w + velocity
        if self.shrink:
            w = w * (1.0 - self.shrink)
        return w

    def _momentum_update(self, index: int, w: Any, g: Any) -> None:
        """dw(t) = momentum * dw(t-1) - lr * dE/dw, then w += dw(t) (or Nesterov's step)."""
        xp = array_module(w)
        step = self._scratch_for(index, w)
        xp.multiply(g, self.lr, out=step)  # lr * dE/dw
        velocity = self._buffer(index, "velocity", w)
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            w -= step
            xp.multiply(velocity, self.momentum, out=step)
            w += step
        else:
            w += velocity


class RMSprop(Optimizer):
    """RMSprop as in Hinton's lecture 6e: divide the gradient by a running average of its size,

        MeanSquare = alpha * MeanSquare + (1 - alpha) * g^2,
        w -= lr * g / (sqrt(MeanSquare) + eps),

    with alpha = 0.9 as in the lecture. PyTorch's ``RMSprop`` uses the same convention for
    ``alpha`` (the weight of the old average) but a default of 0.99. With ``momentum`` the
    scaled step goes through RHW momentum: dw = momentum * dw - lr * g / (sqrt(MS) + eps),
    so the velocity holds the learning rate, as :class:`SGD`'s does. PyTorch keeps
    b = momentum * b + g / (sqrt(MS) + eps) and steps w -= lr * b: the same trajectory while lr
    is constant, but after a change of lr (a schedule, ``opt.lr = ...``) the velocity here
    still carries the old lr, fading by ``momentum`` a step, where PyTorch's rescales at once:
    the new rate takes hold over about 1 / (1 - momentum) steps, and the trajectories part
    (lr 0.01 halved after 10 steps, momentum 0.9, on E = 5 w1^2 + w2^2 / 2 from (1, 1): the
    next step is 1.94 times PyTorch's, the weights 16% apart).
    ``weight_decay`` is L2 (added to g before it is scaled), for every parameter given, biases
    included, as PyTorch's.
    """

    name = "rmsprop"
    hyperparameters = ("lr", "alpha", "eps", "momentum", "weight_decay")
    buffers = ("mean_square", "velocity")
    stepped_buffers = ("mean_square",)  # the velocity only with momentum
    non_negative_buffers = ("mean_square",)

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float,
        alpha: float = 0.9,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay
        )

    @classmethod
    def _checked(cls, key: str, value: Any) -> Any:
        if key == "alpha":
            value = _plain(value)
            if not (is_real(value) and 0.0 <= value < 1.0):
                raise _Refused("in [0, 1)")
            return value
        return super()._checked(key, value)

    def _update(self, index: int, w: Any, g: Any) -> None:
        xp = array_module(w)
        g = self._decayed_gradient(index, w, g)
        mean_square = self._buffer(index, "mean_square", w)
        work = self._scratch_for(index, w)
        mean_square *= self.alpha
        # (1 - alpha) g first, then times g, as PyTorch's addcmul: g * g overflows float32 from
        # |g| ~ 1.8e19, and an infinite mean square never decays (the weight stops for good)
        xp.multiply(g, 1.0 - self.alpha, out=work)
        work *= g
        mean_square += work
        xp.sqrt(mean_square, out=work)
        work += self.eps
        xp.divide(g, work, out=work)
        work *= self.lr  # lr * g / (sqrt(MeanSquare) + eps)
        if self.momentum or "velocity" in self.state[index]:
            velocity = self._buffer(index, "velocity", w)
            velocity *= self.momentum
            velocity -= work
            w += velocity
        else:
            w -= work

    def _updated(self, index: int, w: Any, g: Any) -> Any:
        xp = array_module(w)
        if self.weight_decay:
            g = w * self.weight_decay + g
        state = self.state[index]
        mean_square = self._state_of(index, "mean_square", w) * self.alpha
        mean_square = state["mean_square"] = mean_square + (g * (1.0 - self.alpha)) * g
        work = (g / (xp.sqrt(mean_square) + self.eps)) * self.lr
        if self.momentum or "velocity" in state:
            velocity = state["velocity"] = self._state_of(index, "velocity", w) * self.momentum
            velocity = state["velocity"] = velocity - work
            return w + velocity
        return w - work


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction:

        m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2,
        w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).

    ``weight_decay`` is L2 (added to g, for every parameter given, biases included, as
    PyTorch's); for decoupled decay use :class:`AdamW`. The step count t is kept per parameter,
    as PyTorch does.
    """

    name = "adam"
    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    buffers = ("m", "v")
    stepped_buffers = ("m", "v")
    non_negative_buffers = ("v",)
    decoupled = False

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    @classmethod
    def _checked(cls, key: str, value: Any) -> Any:
        if key == "betas":
            pair = value.tolist() if isinstance(value, np.ndarray) and value.ndim == 1 else value
            pair = tuple(_plain(b) for b in pair) if isinstance(pair, (tuple, list)) else ()
            if len(pair) != 2 or not all(is_real(b) and 0.0 <= b < 1.0 for b in pair):
                raise _Refused("two numbers in [0, 1)")
            return tuple(float(b) for b in pair)
        return super()._checked(key, value)

    def _update(self, index: int, w: Any, g: Any) -> None:
        xp = array_module(w)
        beta1, beta2 = self.betas
        t = self.steps[index]
        if self.decoupled:
            if self.weight_decay:
                w *= 1.0 - self.lr * self.weight_decay
        else:
            g = self._decayed_gradient(index, w, g)
        m = self._buffer(index, "m", w)
        v = self._buffer(index, "v", w)
        work = self._scratch_for(index, w)
        m *= beta1
        xp.multiply(g, 1.0 - beta1, out=work)
        m += work
        v *= beta2
        xp.multiply(g, 1.0 - beta2, out=work)  # then times g: see RMSprop's mean square
        work *= g
        v += work
        bias1 = 1.0 - beta1**t
        bias2 = 1.0 - beta2**t
        xp.sqrt(v, out=work)
        work *= 1.0 / math.sqrt(bias2)
        work += self.eps  # sqrt(v_hat) + eps
        xp.divide(m, work, out=work)
        work *= self.lr / bias1
        w -= work

    def _updated(self, index: int, w: Any, g: Any) -> Any:
        xp = array_module(w)
        beta1, beta2 = self.betas
        t = self.steps[index]
        if self.decoupled:
            if self.weight_decay:
                w = w * (1.0 - self.lr * self.weight_decay)
        elif self.weight_decay:
            g = w * self.weight_decay + g
        state = self.state[index]
        m = state["m"] = self._state_of(index, "m", w) * beta1 + g * (1.0 - beta1)
        v = state["v"] = self._state_of(index, "v", w) * beta2 + (g * (1.0 - beta2)) * g
        bias1 = 1.0 - beta1**t
        bias2 = 1.0 - beta2**t
        denominator = xp.sqrt(v) * (1.0 / math.sqrt(bias2)) + self.eps  # sqrt(v_hat) + eps
        return w - (m / denominator) * (self.lr / bias1)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): before the Adam step,
    w *= 1 - lr * weight_decay (default 0.01, as in PyTorch) for every parameter given, biases
    included, as PyTorch's; the decay never enters m or v."""

    name = "adamw"

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


#: Names :func:`from_name` takes besides :data:`OPTIMIZERS`' own, each an optimizer of that
#: table with settings of its own that the call's ``hyper`` may override: "momentum" (the
#: command line's ``--optimizer momentum``, the web page's, a run.json's) is SGD with momentum
#: 0.9, RHW 1986's.
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {"momentum": ("sgd", {"momentum": 0.9})}


def names() -> tuple[str, ...]:
    """Every name :func:`from_name` takes, :data:`OPTIMIZERS`' then :data:`ALIASES`', read from
    the two tables now (an optimizer registered since import is among them): the one list the
    command line's ``--optimizer`` and an unknown name's error offer."""
    return (*OPTIMIZERS, *ALIASES)


def lookup(name: str) -> tuple[type[Optimizer], dict[str, Any]]:
    """The optimizer class ``name`` stands for (a name of :data:`OPTIMIZERS` or :data:`ALIASES`,
    in any case) and the settings the name gives it (an alias's, a copy; ``{}`` for a class's own
    name). An unknown name is a :class:`ConfigError` offering :func:`names` and naming
    :func:`~chainrule.optim.register_optimizer` and, for the command line, ``--import``. What
    the class takes is its ``hyperparameters``, and its defaults :meth:`Optimizer.defaults`."""
    key = str(name).strip().lower()
    settings: dict[str, Any] = {}
    if key in ALIASES:
        key, settings = ALIASES[key]
    cls = OPTIMIZERS.get(key)
    if cls is None:
        raise ConfigError(
            f"unknown optimizer {name!r}; choose one of {', '.join(names())}, or, where "
            f"{name!r} is an optimizer class of your own, register the class with "
            f"@chainrule.optim.register_optimizer in the program that uses it; "
            f"{ON_THE_COMMAND_LINE}"
        )
    return cls, dict(settings)


def from_name(name: str, params: Iterable[Tensor] | Module, **hyper: Any) -> Optimizer:
    """An optimizer by name ("sgd", "rmsprop", "adam", "adamw", or an alias of :data:`ALIASES`:
    "momentum", SGD with momentum 0.9 unless ``momentum`` is given); ``hyper`` goes to it."""
    cls, settings = lookup(name)
    try:
        return cls(params, **{**settings, **hyper})
    except TypeError as error:
        raise ConfigError(f"optimizer {name!r}: {error}") from None


def from_config(config: Mapping[str, Any], params: Iterable[Tensor] | Module) -> Optimizer:
    """Rebuild an optimizer from ``opt.config()`` (or ``state_dict()["config"]``).

    The hyperparameters are checked as :meth:`Optimizer.load_state_dict` checks them, not as
    the constructor does: a config is the state an optimizer reached, and a schedule may have
    set what a constructor refuses (SGD's momentum 0 under ``nesterov=True``).
    """
    if not isinstance(config, Mapping) or "type" not in config:
        raise ConfigError(f"optim.from_config: expected a dict with a 'type' key, got {config!r}")
    hyper = {key: value for key, value in config.items() if key != "type"}
    required = {"lr": hyper.pop("lr")} if "lr" in hyper else {}  # SGD has no default lr
    optimizer = from_name(config["type"], params, **required)
    optimizer.set_hyperparameters(hyper, who="optim.from_config")
    return optimizer
