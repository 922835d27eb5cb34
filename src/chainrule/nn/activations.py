"""The one table of activations: a unit's name, the engine op that computes it, its module.

Every tool that names a unit (the explainer, the explorer, scikit-learn's estimators, the CLI,
``mlp``) looks it up here, and a network's modules are recognised by the table's classes, never by
their class names. "identity" (alias "linear") is a layer with no nonlinearity: the logits.

>>> from chainrule.nn.activations import ACTIVATIONS, activation_of
>>> ACTIVATIONS["logistic"].op is ACTIVATIONS["sigmoid"].op
True
>>> activation_of(ACTIVATIONS["tanh"].module())
'tanh'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.checks import computes_as, is_integer
from chainrule.nn import init as initialisers
from chainrule.nn.init import RNG, as_generator
from chainrule.nn.layers import Identity, Linear, Logistic, ReLU, Sequential, Softmax, Tanh
from chainrule.nn.module import ConfigError, Module
from chainrule.ops.registry import REGISTRY
from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Activation:
    """A kind of unit: ``op`` computes y = f(z) on tensors; ``module`` is its layer (None for
    the identity, which needs no layer); ``primitive`` is the registered op behind ``op``;
    ``max_slope`` is the largest |f'(z)| over every z, a fact of the function (the logistic's
    is 1/4, at z = 0) that bounds what a unit passes down without evaluating its derivative."""

    name: str
    op: Callable[[Tensor], Tensor]
    module: type[Module] | None
    primitive: str | None = None
    max_slope: float = 1.0

    def on_array(self, z: Any) -> Any:
        """y = f(z) on a plain array: the same primitive's forward, with nothing recorded."""
        if self.primitive is None:
            return z
        params = {"axis": z.ndim - 1} if self.name == "softmax" else {}
        return REGISTRY[self.primitive](z, **params)


def _identity(z: Tensor) -> Tensor:
    return z


def _softmax(z: Tensor) -> Tensor:
    return ops.softmax(z, axis=-1)


_UNITS = (
    Activation("logistic", ops.sigmoid, Logistic, "sigmoid", max_slope=0.25),
    Activation("tanh", ops.tanh, Tanh, "tanh"),
    Activation("relu", ops.relu, ReLU, "relu"),
    Activation("softmax", _softmax, Softmax, "softmax"),
    Activation("identity", _identity, None),
)

#: Every unit by name; "sigmoid" and "linear" are aliases of "logistic" and "identity".
ACTIVATIONS: dict[str, Activation] = {unit.name: unit for unit in _UNITS}
ACTIVATIONS["sigmoid"] = ACTIVATIONS["logistic"]
ACTIVATIONS["linear"] = ACTIVATIONS["identity"]

#: Every unit's name, in the table's order: the names an unknown one's error offers (the
#: aliases "sigmoid" and "linear" are taken too)
NAMES: tuple[str, ...] = tuple(unit.name for unit in _UNITS)

#: The units a hidden layer may use (softmax belongs on top; identity hides nothing).
HIDDEN = ("logistic", "tanh", "relu")


def max_slope(name: str | None) -> float:
    """The largest slope of the unit called ``name``; 1 for none (an input layer) or an
    unknown one, the most any of the table's units has (softmax's Jacobian passes at most
    half of a gradient's largest entry, relu's and tanh's slopes reach 1)."""
    unit = ACTIVATIONS.get(str(name).lower())
    return 1.0 if unit is None else unit.max_slope


def get(name: str) -> Activation:
    """The activation called ``name``; a clear error names the known ones."""
    try:
        return ACTIVATIONS[str(name).lower()]
    except KeyError:
        raise ConfigError(
            f"unknown activation {name!r}; choose one of {', '.join(NAMES)}"
        ) from None


def activation(name: str) -> Module:
    """A unit layer by name: "logistic" (or "sigmoid"), "tanh", "relu", "softmax", and
    "identity" (or "linear"): ``nn.Identity()``, the layer that passes its input on (a network
    needs none: ``mlp`` leaves it out)."""
    unit = get(name)
    if unit.module is None:  # the identity's unit has no layer of its own in the table
        return Identity()
    return unit.module()


def activation_of(module: Any) -> str | None:
    """The table's name of a unit layer, or None when ``module`` is not one of its units. A
    subclass that computes its own ``forward`` (a scaled tanh on ``Tanh``) is not: the views and
    exporters that read this name would show or write the parent's unit in its place."""
    for unit in _UNITS:
        if unit.module is not None and computes_as(module, unit.module):
            return unit.name
    return None


def mlp(
    sizes: Sequence[int],
    activation: str = "logistic",
    output: str | None = None,
    dtype: Any = np.float32,
    init: str | Callable[..., np.ndarray] = "uniform",
    rng: RNG = None,
    bias: bool = True,
    init_range: float = 0.3,
) -> Sequential:
    """A multilayer network: Linear layers between consecutive ``sizes``, each hidden one
    followed by ``activation``, and the last by ``output`` (None or "identity": the raw logits,
    which is what CrossEntropy and BinaryCrossEntropy expect; "logistic"; "softmax").

    Every Linear is given ``bias``, ``init``, ``dtype`` and ``init_range``; one generator from
    ``rng`` draws them all, in order. Under ``init="cosine"`` the sequence 0.1 cos(k) runs on
    across the layers, as assignment 3's flat theta does: each layer starts where the weights
    below it end (its ``init_start``); biases, which start at 0, take no place in it.

    >>> net = mlp([6, 2, 1], output="logistic", rng=0)   # RHW 1986's symmetry network
    >>> [type(layer).__name__ for layer in net]
    ['Linear', 'Logistic', 'Linear', 'Logistic']
    """
    sizes = list(sizes)
    if not all(is_integer(n) and n >= 1 for n in sizes):
        raise ConfigError(f"mlp: sizes must be whole numbers >= 1, got {sizes}")
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2:
        raise ConfigError(f"mlp: sizes needs at least an input and an output size, got {sizes}")
    hidden, top = get(activation), get(output or "identity")
    generator = as_generator(rng)
    # assignment 3's flat theta: cosine's sequence goes on where the layer below ended
    runs_on = (isinstance(init, str) and init == "cosine") or init is initialisers.cosine
    start = 0
    layers: list[Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, bias, init, dtype, generator, init_range, start))
        start += n_in * n_out if runs_on else 0
        unit = top if index == len(sizes) - 2 else hidden
        if unit.module is not None:
            layers.append(unit.module())
    return Sequential(*layers)
