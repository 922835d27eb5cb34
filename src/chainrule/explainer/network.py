"""What the explainer explains: a stack of fully connected layers, a loss, and the seed network.

A :class:`Network` is a list of :class:`Layer` s, each ``z = y_below @ weight + bias`` followed by
an activation ``y = f(z)``. It is only a *view*: the layers hold the model's own weight tensors and
call the model's own modules, so the forward and backward passes the explainer reads are the ones
the engine records for that model. :func:`as_network` makes the view from an ``nn.Sequential`` of
``Linear`` and activation modules, from a :class:`Network`, or from a list of
``(weight, bias, activation)`` triples (the explainer's small internal description, used by the
seed network and the quiz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.errors import UserError
from chainrule.tensor import Tensor

#: Activation names the explainer knows, with the engine op that computes each.
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "logistic": cr.sigmoid,
    "tanh": cr.tanh,
    "relu": cr.relu,
    "identity": lambda z: z,
    "softmax": lambda z: cr.softmax(z, axis=-1),
}

#: Module class names (nn) mapped to activation names.
_MODULE_ACTIVATIONS = {
    "Logistic": "logistic",
    "Sigmoid": "logistic",
    "Tanh": "tanh",
    "ReLU": "relu",
    "Softmax": "softmax",
    "Identity": "identity",
}

#: Loss names the explainer knows (the names of ``nn.loss_from_name``).
LOSSES = ("squared-error", "mse", "cross-entropy", "binary-cross-entropy")


class ExplainError(UserError, ValueError):
    """A model, input or option the explainer cannot use; the message says what and why."""


@dataclass
class Layer:
    """One layer of units: ``z = y_below @ weight + bias`` (the lecture's z_j), then ``y = f(z)``.

    ``weight`` has shape (units below, units here): row i, column j is w_ij.
    """

    weight: Tensor
    bias: Tensor | None
    activation: str
    linear: Callable[[Tensor], Tensor]
    weight_name: str
    bias_name: str | None

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    def activate(self, z: Tensor) -> Tensor:
        """y = f(z) with the engine's op for this layer's activation."""
        return ACTIVATIONS[self.activation](z)


@dataclass
class Network:
    """A stack of layers; ``sizes`` counts the units of the input layer and of each layer above."""

    layers: list[Layer]

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.layers[0].weight.dtype)

    @property
    def n_parameters(self) -> int:
        return sum(
            layer.weight.size + (0 if layer.bias is None else layer.bias.size)
            for layer in self.layers
        )

    def describe(self) -> str:
        """``"2 inputs -> 2 logistic -> 3 logistic"``."""
        parts = [f"{self.sizes[0]} inputs"]
        parts += [f"{layer.n_out} {layer.activation}" for layer in self.layers]
        return " -> ".join(parts)

    def arrays(self) -> list[tuple[np.ndarray, np.ndarray, str]]:
        """float64 copies ``(weight, bias, activation)`` per layer (for finite differences)."""
        out = []
        for layer in self.layers:
            w = np.array(layer.weight.numpy(), dtype=np.float64)
            b = (
                np.zeros(layer.n_out)
                if layer.bias is None
                else np.array(layer.bias.numpy(), dtype=np.float64)
            )
            out.append((w, b, layer.activation))
        return out


def dense(weight: Any, bias: Any, activation: str, index: int = 0, dtype: Any = None) -> Layer:
    """A layer of the internal description: fresh weight and bias tensors that need gradients."""
    if activation not in ACTIVATIONS:
        raise ExplainError(
            f"activation {activation!r} is not known; use one of {', '.join(ACTIVATIONS)}"
        )
    w = cr.tensor(np.asarray(weight, dtype=dtype or np.float64), requires_grad=True)
    b = None if bias is None else cr.tensor(np.asarray(bias, dtype=w.dtype), requires_grad=True)
    if w.ndim != 2 or (b is not None and b.shape != (w.shape[1],)):
        raise ExplainError(
            f"layer {index + 1}: weight must be (n_in, n_out) and bias (n_out,), got "
            f"{w.shape} and {None if b is None else b.shape}"
        )

    def linear(y: Tensor) -> Tensor:
        z = y @ w
        return z if b is None else z + b

    return Layer(
        w, b, activation, linear, f"{index}.weight", None if b is None else f"{index}.bias"
    )


def as_network(model: Any) -> Network:
    """The explainer's view of ``model``: a Network, an ``nn.Sequential``, or (W, b, act) triples.

    >>> net = as_network([([[0.1, 0.2]], [0.0, 0.0], "logistic")])
    >>> net.describe()
    '1 inputs -> 2 logistic'
    """
    if isinstance(model, Network):
        return model
    if isinstance(model, (list, tuple)) and all(isinstance(s, (list, tuple)) for s in model):
        network = Network([dense(w, b, act, index=k) for k, (w, b, act) in enumerate(model)])
        _check_chain(network)
        return network
    if hasattr(model, "children") and hasattr(model, "named_parameters"):
        return _from_sequential(model)
    raise ExplainError(
        f"explain: cannot read a network from {type(model).__name__}; give an nn.Sequential of "
        "Linear and activation layers, or a list of (weight, bias, activation) triples"
    )


def _from_sequential(model: Any) -> Network:
    """Walk ``Sequential(Linear, act, Linear, act, ...)`` keeping the model's own tensors."""
    children = list(model.children()) if type(model).__name__ == "Sequential" else [model]
    layers: list[Layer] = []
    for position, module in enumerate(children):
        kind = type(module).__name__
        if kind == "Linear":
            weight, bias = module.weight, getattr(module, "bias", None)
            layers.append(
                Layer(
                    weight,
                    bias,
                    "identity",
                    module,
                    f"{position}.weight",
                    None if bias is None else f"{position}.bias",
                )
            )
        elif kind in _MODULE_ACTIVATIONS:
            if not layers or layers[-1].activation != "identity":
                raise ExplainError(
                    f"explain: layer {position} ({kind}) must follow a Linear layer; the explainer "
                    "reads networks made of Linear layers each followed by at most one activation"
                )
            layers[-1].activation = _MODULE_ACTIVATIONS[kind]
        elif kind == "Dropout":
            continue  # the explainer runs the network as in evaluation: dropout is the identity
        else:
            raise ExplainError(
                f"explain: layer {position} is a {kind}; the explainer reads Linear layers with "
                f"logistic, tanh, relu or softmax units ({', '.join(_MODULE_ACTIVATIONS)})"
            )
    if not layers:
        raise ExplainError("explain: the model has no Linear layer")
    network = Network(layers)
    _check_chain(network)
    return network


def _check_chain(network: Network) -> None:
    for k, (below, above) in enumerate(zip(network.layers, network.layers[1:])):
        if below.n_out != above.n_in:
            raise ExplainError(
                f"explain: layer {k + 1} has {below.n_out} units but layer {k + 2}'s weight "
                f"expects {above.n_in} inputs"
            )


@dataclass
class LossSpec:
    """A loss the explainer can write out: its name and whether it sums or averages over cases."""

    name: str
    reduction: str = "sum"


def as_loss(loss: Any) -> LossSpec:
    """A :class:`LossSpec` from a name (``"squared-error"``...) or an ``nn`` loss object."""
    if isinstance(loss, LossSpec):
        return loss
    if isinstance(loss, dict) and "type" in loss:  # a model file's loss config
        spec = as_loss(str(loss["type"]))
        return LossSpec(spec.name, loss.get("reduction", spec.reduction))
    if isinstance(loss, str):
        name = loss.lower().replace("_", "-")
        aliases = {"sse": "squared-error", "ce": "cross-entropy", "bce": "binary-cross-entropy"}
        name = aliases.get(name, name)
        if name not in LOSSES:
            raise ExplainError(f"loss {loss!r} is not known; use one of {', '.join(LOSSES)}")
        return LossSpec(name, "mean" if name == "mse" else "sum")
    kind = type(loss).__name__
    by_class = {
        "SquaredError": "squared-error",
        "MSE": "mse",
        "CrossEntropy": "cross-entropy",
        "BinaryCrossEntropy": "binary-cross-entropy",
    }
    if kind in by_class:
        reduction = getattr(loss, "reduction", "mean" if kind == "MSE" else "sum")
        return LossSpec(by_class[kind], reduction)
    raise ExplainError(f"explain: loss {kind} is not one the explainer can write out ({LOSSES})")


@dataclass
class Problem:
    """A network with one batch of inputs and targets: everything :func:`explain` needs."""

    network: Network
    x: np.ndarray
    t: np.ndarray
    loss: LossSpec


def seed_network() -> Problem:
    """The lecture's picture: 2 inputs -> hidden layer i of 2 logistic units -> top layer j of 3.

    Fixed weights, one example, squared error E = 1/2 sum_j (t_j - y_j)^2, float64.
    """
    network = as_network(
        [
            ([[0.15, -0.25], [0.40, 0.30]], [0.10, -0.20], "logistic"),
            ([[0.50, -0.30, 0.20], [-0.40, 0.60, 0.35]], [0.05, -0.10, 0.00], "logistic"),
        ]
    )
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
    return Problem(network, x, t, as_loss("squared-error"))


def as_cases(values: Any, width: int, what: str, dtype: Any = np.float64) -> np.ndarray:
    """``values`` as a (cases, width) float array; a single case may be given as a flat list."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != width:
        raise ExplainError(
            f"explain: the {what} has shape {np.shape(values)} but the network expects "
            f"{width} value{'s' if width != 1 else ''} per case (shape (cases, {width}))"
        )
    if not np.all(np.isfinite(array)):
        raise ExplainError(f"explain: the {what} contains NaN or Inf")
    return array


def targets_for(t: Any, n_out: int, loss: LossSpec, n_cases: int) -> np.ndarray:
    """Targets as (cases, n_out) floats; class labels become one-hot rows for cross-entropy."""
    array = np.asarray(t)
    if loss.name == "cross-entropy" and array.dtype.kind in "iu" and array.ndim <= 1:
        labels = array.reshape(-1)
        if labels.size != n_cases or labels.min() < 0 or labels.max() >= n_out:
            raise ExplainError(
                f"explain: class targets {labels.tolist()} must be one label in 0..{n_out - 1} "
                f"per case ({n_cases} cases)"
            )
        return np.eye(n_out)[labels]
    target = as_cases(array.astype(np.float64), n_out, "target")
    if target.shape[0] != n_cases:
        raise ExplainError(
            f"explain: {target.shape[0]} target rows for {n_cases} input rows; give one per case"
        )
    return target
