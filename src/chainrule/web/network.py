"""The explorer's network: a stack of fully connected layers, computed by chainrule's engine.

The page edits a small network given by its numbers (a :class:`NetworkState`); every number it
shows comes from here: the forward pass (z and y per unit), the backward pass (dE/dz and dE/dy per
unit, dE/dw per connection), the split of dE/dy_i into its paths i -> j, finite-difference checks
and the nudge experiment. All of it runs on chainrule tensors in float64, so finite differences
agree with the backward pass to about 1e-9.

Notation follows the lecture: for a connection from unit i (layer below) to unit j (layer above),
``z_j = b_j + sum_i y_i w_ij``, ``y_j = f(z_j)`` and ``dE/dy_i = sum_j w_ij dE/dz_j``.
Layer 0 holds the input units (their y is the input; they have no z).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.tensor import Tensor

HIDDEN_ACTIVATIONS = ("logistic", "tanh", "relu")
OUTPUT_ACTIVATIONS = ("logistic", "linear", "softmax")
LOSSES = ("squared-error", "cross-entropy", "binary-cross-entropy")
# Which output units each loss is defined for (the stable forms work from the logits z).
LOSS_OUTPUT = {"cross-entropy": "softmax", "binary-cross-entropy": "logistic"}
FD_EPS = 1e-6


@dataclass
class NetworkState:
    """A network's numbers: layer sizes, weights w_ij (rows i below, columns j above), biases,
    activations, loss and one training case (input and target)."""

    sizes: list[int]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str = "logistic"
    output: str = "logistic"
    loss: str = "squared-error"
    input: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_json(self) -> dict:
        """The JSON form the API and the page's save/load use."""
        return {
            "sizes": list(self.sizes),
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "activation": self.activation,
            "output": self.output,
            "loss": self.loss,
            "input": self.input.tolist(),
            "target": self.target.tolist(),
        }

    @classmethod
    def from_json(cls, spec: dict) -> NetworkState:
        """Build from the JSON form (already validated by the API's schema)."""
        return cls(
            sizes=[int(n) for n in spec["sizes"]],
            weights=[np.asarray(w, dtype=np.float64) for w in spec["weights"]],
            biases=[np.asarray(b, dtype=np.float64) for b in spec["biases"]],
            activation=spec.get("activation", "logistic"),
            output=spec.get("output", "logistic"),
            loss=spec.get("loss", "squared-error"),
            input=np.asarray(spec["input"], dtype=np.float64),
            target=np.asarray(spec["target"], dtype=np.float64),
        )


def seed_state() -> NetworkState:
    """The lecture's picture, the explainer's seed network: 2 inputs, a hidden layer i of 2
    logistic units, a top layer j of 3 logistic units, squared error against one target."""
    from chainrule.web.derivation import seed_from_explainer

    return seed_from_explainer()


def random_state(
    sizes: list[int],
    activation: str = "logistic",
    output: str = "logistic",
    loss: str = "squared-error",
    seed: int = 0,
    init_range: float = 0.5,
) -> NetworkState:
    """A network of the given sizes with weights drawn uniformly from [-init_range, init_range]."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-init_range, init_range, (a, b)) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    n_out = sizes[-1]
    target = np.zeros(n_out)
    target[0] = 1.0
    return NetworkState(
        sizes=list(sizes),
        weights=weights,
        biases=biases,
        activation=activation,
        output=output,
        loss=loss,
        input=rng.uniform(0.0, 1.0, sizes[0]),
        target=target,
    )


def activate(z: Tensor, name: str) -> Tensor:
    """Apply the unit's nonlinearity f(z) by name."""
    if name == "logistic":
        return cr.sigmoid(z)
    if name == "tanh":
        return cr.tanh(z)
    if name == "relu":
        return cr.relu(z)
    if name == "softmax":
        return cr.softmax(z, axis=-1)
    if name == "linear":
        return z
    raise ValueError(f"activation: unknown unit {name!r}")


def loss_value(loss: str, z: Tensor, y: Tensor, target: Tensor) -> Tensor:
    """E by chainrule.nn's loss of that name, averaged over the cases (rows) of a batch.

    Each sums over the output units, as the explainer writes E: squared-error is the lecture's
    E = 1/2 sum_j (t_j - y_j)^2; the cross-entropies take the logits z, for stability.
    """
    if loss == "squared-error":
        return nn.SquaredError(reduction="mean")(y, target)
    if loss == "cross-entropy":
        return nn.CrossEntropy()(z, target)
    if loss == "binary-cross-entropy":  # nn's is a mean over every output: undo the 1/k
        return nn.BinaryCrossEntropy()(z, target) * z.shape[-1]
    raise ValueError(f"loss: unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")


@dataclass
class Pass:
    """One forward and backward pass: per layer l the units' z, y, dE/dz and dE/dy (1-D arrays),
    per weight layer dE/dw and dE/db, and the error E."""

    z: list[np.ndarray | None]
    y: list[np.ndarray]
    dE_dz: list[np.ndarray | None]
    dE_dy: list[np.ndarray]
    dE_dw: list[np.ndarray]
    dE_db: list[np.ndarray]
    E: float

    def to_json(self) -> dict:
        """Plain lists, layer by layer (layer 0's z and dE/dz are null: input units have none)."""

        def listed(arrays):
            return [None if a is None else a.tolist() for a in arrays]

        return {
            "E": self.E,
            "layers": [
                {"z": z, "y": y, "dE_dz": dz, "dE_dy": dy}
                for z, y, dz, dy in zip(
                    listed(self.z), listed(self.y), listed(self.dE_dz), listed(self.dE_dy)
                )
            ],
            "dE_dw": listed(self.dE_dw),
            "dE_db": listed(self.dE_db),
        }


def forward(
    state: NetworkState,
    y_start: Tensor,
    weights: list[Tensor],
    biases: list[Tensor],
    layer: int = 0,
    target: np.ndarray | None = None,
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """Run the layers above ``layer`` from its outputs ``y_start`` (rows are cases).

    Returns the z's and y's of ``layer`` + 1 upwards (the y's start with ``y_start``) and E
    against ``target`` rows (the state's one target when None)."""
    zs, ys = [], [y_start]
    top = len(state.sizes) - 1
    for l in range(layer, top):
        z = ys[-1] @ weights[l] + biases[l]
        unit = state.output if l + 1 == top else state.activation
        zs.append(z)
        ys.append(activate(z, unit))
    rows = state.target[None, :] if target is None else target
    return zs, ys, loss_value(state.loss, zs[-1], ys[-1], cr.tensor(rows))


def error_from_layer(state: NetworkState, layer: int, y_layer: np.ndarray) -> float:
    """E when layer ``layer``'s outputs are set to ``y_layer`` (the layers below are cut off)."""
    weights = [cr.tensor(w) for w in state.weights]
    biases = [cr.tensor(b) for b in state.biases]
    with cr.no_grad():
        _, _, E = forward(state, cr.tensor(y_layer[None, :]), weights, biases, layer)
    return float(E.item())


def run(state: NetworkState) -> Pass:
    """Forward and backward pass through the engine, keeping every unit's numbers."""
    weights = [cr.tensor(w, requires_grad=True) for w in state.weights]
    biases = [cr.tensor(b, requires_grad=True) for b in state.biases]
    x = cr.tensor(state.input[None, :], requires_grad=True)
    zs, ys, E = forward(state, x, weights, biases)
    grads = cr.gradient(E, [*ys, *zs, *weights, *biases])
    n = len(ys)
    g_y, g_z = grads[:n], grads[n : 2 * n - 1]
    g_w, g_b = grads[2 * n - 1 : 3 * n - 2], grads[3 * n - 2 :]

    def row(t: Tensor) -> np.ndarray:
        return np.asarray(t.numpy(), dtype=np.float64)[0]

    return Pass(
        z=[None] + [row(z) for z in zs],
        y=[row(y) for y in ys],
        dE_dz=[None] + [row(g) for g in g_z],
        dE_dy=[row(g) for g in g_y],
        dE_dw=[np.asarray(g.numpy(), dtype=np.float64) for g in g_w],
        dE_db=[np.asarray(g.numpy(), dtype=np.float64) for g in g_b],
        E=float(E.item()),
    )


def finite_difference_dE_dy(
    state: NetworkState, layer: int, unit: int, y_layer: np.ndarray, eps: float = FD_EPS
) -> float:
    """Central difference (E(y_i + eps) - E(y_i - eps)) / 2 eps, other units held fixed."""
    up, down = y_layer.copy(), y_layer.copy()
    up[unit] += eps
    down[unit] -= eps
    return (error_from_layer(state, layer, up) - error_from_layer(state, layer, down)) / (2 * eps)


def paths(state: NetworkState, layer: int, unit: int, result: Pass | None = None) -> dict:
    """dE/dy_i split into one term per path i -> j: w_ij dE/dz_j, with their sum, the engine's
    dE/dy_i and the finite-difference check. ``layer`` must have a layer above it."""
    result = result or run(state)
    w_row = state.weights[layer][unit]
    dE_dz_above = result.dE_dz[layer + 1]
    terms = w_row * dE_dz_above
    fd = finite_difference_dE_dy(state, layer, unit, result.y[layer])
    return {
        "layer": layer,
        "unit": unit,
        "y": float(result.y[layer][unit]),
        "terms": [
            {"j": j, "w_ij": float(w_row[j]), "dE_dz_j": float(dE_dz_above[j]), "term": float(t)}
            for j, t in enumerate(terms)
        ],
        "sum_of_terms": float(terms.sum()),
        "dE_dy": float(result.dE_dy[layer][unit]),
        "finite_difference": fd,
        "fd_eps": FD_EPS,
        "E": result.E,
    }


def nudge(state: NetworkState, layer: int, unit: int, eps: float) -> dict:
    """Move y_i by ``eps``: each path's predicted change w_ij dE/dz_j eps, their sum, and the
    change in E measured by running the layers above again."""
    result = run(state)
    w_row = state.weights[layer][unit]
    dE_dz_above = result.dE_dz[layer + 1]
    predicted = w_row * dE_dz_above * eps
    moved = result.y[layer].copy()
    moved[unit] += eps
    E_after = error_from_layer(state, layer, moved)
    return {
        "layer": layer,
        "unit": unit,
        "eps": eps,
        "predicted_per_path": [float(p) for p in predicted],
        "predicted": float(predicted.sum()),
        "measured": E_after - result.E,
        "E_before": result.E,
        "E_after": E_after,
    }


def gradient_check(state: NetworkState) -> dict:
    """Check dE/dw, dE/db and dE/dx of the whole network against central differences."""
    n_layers = len(state.weights)

    def error(x: Tensor, *params: Tensor) -> Tensor:
        weights, biases = list(params[:n_layers]), list(params[n_layers:])
        return forward(state, x, weights, biases)[2]

    inputs = [state.input[None, :], *state.weights, *state.biases]
    report = cr.gradcheck(error, inputs, mode="full")
    names = ["input"] + [f"weights[{l}]" for l in range(n_layers)]
    names += [f"biases[{l}]" for l in range(n_layers)]
    return {
        "ok": bool(report),
        "max_abs_error": float(report.max_abs_error),
        "max_rel_error": float(report.max_rel_error),
        "where": _where(report, names),
        "eps": FD_EPS,
        "checked": int(sum(np.size(a) for a in inputs)),
    }


def _where(report: cr.GradcheckReport, names: list[str]) -> str | None:
    """Name the worst entry in the API's words (gradcheck numbers inputs by position)."""
    where = getattr(report, "where", None)
    if where is None:
        return None
    text = str(where)
    for position, name in reversed(list(enumerate(names))):  # 'input 12' before 'input 1'
        text = text.replace(f"input {position}", name)
    return text
