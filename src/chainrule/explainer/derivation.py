"""The derivation: every quantity of one forward and backward pass, per layer, unit and connection.

:func:`explain` runs the network's forward pass with engine tensors, asks the engine for dE/d of
every layer's y and z and of every weight and bias (one backward pass over the recorded graph, with
those tensors as targets), and stores the numbers in a :class:`Derivation`. Each number is then
checked against a central finite difference of E computed independently in float64
(:mod:`chainrule.explainer.numeric`). The derivation holds numbers only; the renderers
(text, Markdown, LaTeX, HTML, JSON) lay them out in a chosen notation.

Numbering: layers are 0 (the input layer) to L (the output layer); in Python and JSON units are
0-based (``index``), while the renderers and the ``--unit L:i`` option count units from 1, as the
lecture does (j = 1, 2, 3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.engine import enable_grad
from chainrule.explainer import numeric
from chainrule.explainer.network import (
    ACTIVATIONS,
    ExplainError,
    Network,
    Problem,
    as_cases,
    as_loss,
    as_network,
    seed_network,
    targets_for,
)
from chainrule.functional import gradient
from chainrule.nn.losses import Loss
from chainrule.tensor import Tensor

SCHEMA_VERSION = 1

#: Letters for the layers, from the top down: the top layer is j, the one below it i (lecture).
_LETTERS_FROM_TOP = "jihgfedcba"


@dataclass
class Checked:
    """A gradient from the engine beside its central finite difference."""

    value: float
    numeric: float | None = None
    atol: float = 0.0
    rtol: float = 0.0

    @property
    def difference(self) -> float | None:
        return None if self.numeric is None else abs(self.value - self.numeric)

    @property
    def ok(self) -> bool | None:
        if self.numeric is None:
            return None
        return self.difference <= self.atol + self.rtol * abs(self.numeric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _finite(self.value),
            "numeric": _finite(self.numeric),
            "difference": _finite(self.difference),
            "ok": self.ok,
        }


@dataclass
class LayerRecord:
    """One layer's units across the cases: arrays of shape (cases, units), float64.

    ``z`` and ``dE_dz`` are None for the input layer; ``dE_dy`` is None for an output layer whose
    loss works from z (cross-entropy after softmax, binary cross-entropy after logistic).
    """

    index: int
    role: str
    letter: str
    size: int
    activation: str | None
    y: np.ndarray
    z: np.ndarray | None
    dE_dy: np.ndarray | None
    dE_dz: np.ndarray | None
    dE_dy_numeric: np.ndarray | None = None
    dE_dz_numeric: np.ndarray | None = None


@dataclass
class ConnectionRecord:
    """The weights from layer ``below`` to layer ``below + 1`` and their gradients."""

    below: int
    weight: np.ndarray
    bias: np.ndarray | None
    dE_dw: np.ndarray
    dE_db: np.ndarray | None
    weight_name: str
    bias_name: str | None
    dE_dw_numeric: np.ndarray | None = None
    dE_db_numeric: np.ndarray | None = None

    @property
    def above(self) -> int:
        return self.below + 1


@dataclass
class Term:
    """One path's share of a sum: w_ij dE/dz_j."""

    j: int
    w: float
    dE_dz: float

    @property
    def product(self) -> float:
        return self.w * self.dE_dz


@dataclass
class Derivation:
    """Every number of one forward and backward pass, ready to be rendered in any notation.

    Build one with :func:`explain`. ``layers[l]`` holds y, z, dE/dy and dE/dz of layer l (0 is the
    input layer); ``connections[l]`` the weights from layer l to layer l + 1 and dE/dw.
    """

    description: str
    dtype: str
    loss: Loss
    error: float
    x: np.ndarray
    t: np.ndarray
    layers: list[LayerRecord]
    connections: list[ConnectionRecord]
    n_parameters: int
    eps: float
    atol: float
    rtol: float
    notation: str = "hinton"
    focus: tuple[int, int] | None = None
    perturbation: dict | None = None
    symbolic: dict | None = None
    notes: list[str] = field(default_factory=list)

    # -- shape of the network -----------------------------------------------------------------
    @property
    def n_cases(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_layers(self) -> int:
        """L: the number of layers above the input layer."""
        return len(self.connections)

    @property
    def output(self) -> LayerRecord:
        return self.layers[-1]

    # -- the sums -----------------------------------------------------------------------------
    def terms(self, layer: int, unit: int, case: int = 0) -> list[Term]:
        """The terms w_ij dE/dz_j of dE/dy_i for unit ``unit`` (0-based) of layer ``layer``."""
        self._check_unit(layer, unit, need_above=True)
        conn = self.connections[layer]
        dE_dz = self.layers[layer + 1].dE_dz[case]
        return [Term(j, float(conn.weight[unit, j]), float(dE_dz[j])) for j in range(len(dE_dz))]

    def sum_over_j(self, layer: int, unit: int, case: int = 0) -> float:
        """sum_j w_ij dE/dz_j, added up here term by term (compare with the engine's dE/dy_i)."""
        return float(sum(term.product for term in self.terms(layer, unit, case)))

    def dE_dy(self, layer: int, unit: int, case: int = 0) -> Checked:
        """The engine's dE/dy for one unit and case, with its finite difference."""
        record = self.layers[layer]
        numeric_value = None if record.dE_dy_numeric is None else record.dE_dy_numeric[case, unit]
        return self._checked(record.dE_dy[case, unit], numeric_value)

    def dE_dz(self, layer: int, unit: int, case: int = 0) -> Checked:
        """The engine's dE/dz for one unit and case, with its finite difference."""
        record = self.layers[layer]
        numeric_value = None if record.dE_dz_numeric is None else record.dE_dz_numeric[case, unit]
        return self._checked(record.dE_dz[case, unit], numeric_value)

    def dE_dw(self, below: int, i: int, j: int) -> Checked:
        """The engine's dE/dw_ij (summed over cases), with its finite difference."""
        conn = self.connections[below]
        numeric_value = None if conn.dE_dw_numeric is None else conn.dE_dw_numeric[i, j]
        return self._checked(conn.dE_dw[i, j], numeric_value)

    def dE_db(self, below: int, j: int) -> Checked | None:
        conn = self.connections[below]
        if conn.dE_db is None:
            return None
        numeric_value = None if conn.dE_db_numeric is None else conn.dE_db_numeric[j]
        return self._checked(conn.dE_db[j], numeric_value)

    def _checked(self, value: float, numeric_value: float | None) -> Checked:
        nv = None if numeric_value is None or np.isnan(numeric_value) else float(numeric_value)
        return Checked(float(value), nv, self.atol, self.rtol)

    def _check_unit(self, layer: int, unit: int, need_above: bool = False) -> None:
        top = self.n_layers - 1 if need_above else self.n_layers
        if not 0 <= layer <= top:
            raise ExplainError(
                f"unit {layer}:{unit + 1}: layer {layer} is out of range; this network has "
                f"layers 0 (input) to {self.n_layers} (output)"
                + (f", and the sums belong to layers 0 to {top}" if need_above else "")
            )
        size = self.layers[layer].size
        if not 0 <= unit < size:
            raise ExplainError(
                f"unit {layer}:{unit + 1}: layer {layer} has {size} unit{'s' * (size != 1)} "
                f"(1 to {size})"
            )

    # -- checks -------------------------------------------------------------------------------
    def all_checks(self) -> list[Checked]:
        """Every engine gradient that was compared with a finite difference."""
        out = []
        for record in self.layers:
            for grads, numerics in (
                (record.dE_dy, record.dE_dy_numeric),
                (record.dE_dz, record.dE_dz_numeric),
            ):
                if grads is not None and numerics is not None:
                    out += [self._checked(g, n) for g, n in zip(grads.ravel(), numerics.ravel())]
        for conn in self.connections:
            out += [
                self._checked(g, n)
                for g, n in zip(conn.dE_dw.ravel(), _ravel(conn.dE_dw_numeric, conn.dE_dw))
            ]
            if conn.dE_db is not None:
                out += [
                    self._checked(g, n)
                    for g, n in zip(conn.dE_db.ravel(), _ravel(conn.dE_db_numeric, conn.dE_db))
                ]
        return [c for c in out if c.numeric is not None]

    @property
    def all_ok(self) -> bool:
        """Whether every checked gradient agrees with its finite difference."""
        return all(c.ok for c in self.all_checks())

    @property
    def max_difference(self) -> float:
        diffs = [c.difference for c in self.all_checks()]
        return max(diffs) if diffs else 0.0

    # -- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The derivation as JSON-able data, following ``schema.json`` (see docs/explain.md)."""
        from chainrule.explainer.serialize import derivation_to_dict

        return derivation_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The derivation as a JSON document (validates against ``schema.json``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def render(self, format: str = "text", notation: str | None = None, **options: Any) -> str:
        """The derivation as text, markdown, latex, html or json (see :func:`render`)."""
        from chainrule.explainer.render import render

        return render(self, format, notation=notation, **options)


def _ravel(array: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """The finite differences of ``like``'s entries, NaN (unchecked) where there are none."""
    return np.full(like.size, np.nan) if array is None else array.ravel()


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# Building a derivation
# ---------------------------------------------------------------------------------------------


def explain(
    model: Any = None,
    x: Any = None,
    t: Any = None,
    loss: Any = "squared-error",
    *,
    notation: str = "hinton",
    unit: Any = None,
    check: bool = True,
    eps: float = 1e-6,
    perturbation: bool = True,
    symbolic: bool = False,
    max_checks: int = 20000,
) -> Derivation:
    """Run ``model`` forward and backward on inputs ``x`` and targets ``t``; lay out every number.

    ``model`` is an ``nn.Sequential`` of Linear and activation layers (or a
    :class:`~chainrule.explainer.network.Network`, or a list of ``(weight, bias, activation)``);
    with no model, the seed network (:func:`seed_network`). ``x`` is (cases, inputs) or one case;
    ``t`` is (cases, outputs), or class labels for cross-entropy. ``unit`` focuses on one unit:
    ``"L:i"`` or ``(L, i)`` with layer L (0 = input) and unit i counted from 1. Every gradient is
    checked against a central finite difference (step ``eps``) unless ``check=False``; with
    ``perturbation`` the derivation also carries the perturbation view of the focused unit, and
    with ``symbolic`` the sympy proof (or why it was skipped).

    >>> d = explain()                      # the seed network
    >>> round(d.sum_over_j(1, 0) - d.dE_dy(1, 0).value, 12)
    0.0
    """
    problem = problem_of(model, x, t, loss)
    derivation = _run(problem, eps=eps, notation=notation)
    if check:
        _finite_differences(derivation, problem, eps, max_checks)
    derivation.focus = _focus(derivation, unit)
    if perturbation and derivation.focus[0] < derivation.n_layers:
        from chainrule.explainer.perturbation import perturbation_view

        derivation.perturbation = perturbation_view(derivation, *derivation.focus)
    if symbolic:
        from chainrule.explainer.symbolic import symbolic_view

        derivation.symbolic = symbolic_view(derivation, problem.network, *derivation.focus)
    return derivation


def problem_of(model: Any, x: Any, t: Any, loss: Any) -> Problem:
    """What :func:`explain` explains: the network's view, input rows, target rows and loss."""
    if model is None:
        seed = seed_network()
        if x is None and t is None:
            return seed
        model = seed.network
    if isinstance(model, Problem):
        return model
    network = as_network(model)
    if x is None or t is None:
        raise ExplainError("explain: give both the input x and the target t for this model")
    spec = as_loss(loss)
    inputs = as_cases(x, network.sizes[0], "input")
    targets = targets_for(t, network.sizes[-1], spec, inputs.shape[0])
    return Problem(network, inputs, targets, spec)


def output_activation(network: Network, loss: Loss) -> str:
    """The output units' activation as the loss sees it: a loss that reads logits applies its
    own unit (softmax for cross-entropy, logistic for binary cross-entropy)."""
    act, own = network.layers[-1].activation, loss.output_activation
    if own is None:
        return act
    if act not in ("identity", own):
        raise ExplainError(
            f"explain: {loss.name} needs {own} output units (or a last Linear layer whose "
            f"outputs are the logits), but the output layer is {act}"
        )
    return own


def engine_error(z_out: Tensor, y_out: Tensor, t: Tensor, loss: Loss) -> Tensor:
    """E as the model's own loss computes it: from the logits z when the loss applies its own
    unit (stable), else from the outputs y."""
    return loss(z_out if loss.output_activation is not None else y_out, t)


def forward(problem: Problem) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """The problem's forward pass on the model's own modules, recorded: every layer's y (from
    the input layer up), every layer's z, and E by the model's own loss."""
    network, loss = problem.network, problem.loss
    dtype = network.dtype
    out_act = output_activation(network, loss)
    x = Tensor(problem.x.astype(dtype)).requires_grad_()
    t = Tensor(problem.t.astype(dtype))
    ys: list[Tensor] = [x]
    zs: list[Tensor] = []
    with enable_grad():
        for k, layer in enumerate(network.layers):
            z = layer.linear(ys[-1])
            if z.shape != (x.shape[0], layer.n_out):
                raise ExplainError(
                    f"explain: layer {k + 1} produced shape {z.shape}, expected "
                    f"{(x.shape[0], layer.n_out)}"
                )
            zs.append(z)
            is_top = k == len(network.layers) - 1
            y = _act(out_act if is_top else layer.activation, z)
            # an identity layer's y is its z: a distinct tensor keeps dE/dy and dE/dz apart
            ys.append(y + 0.0 if y is z else y)
        E = engine_error(zs[-1], ys[-1], t, loss)
    return ys, zs, E


def _run(problem: Problem, eps: float, notation: str) -> Derivation:
    """The forward pass with engine tensors, then one backward pass to every y, z, w and b."""
    network, loss = problem.network, problem.loss
    dtype = network.dtype
    out_act = output_activation(network, loss)
    ys, zs, E = forward(problem)
    params = [layer.weight for layer in network.layers]
    biases = [layer.bias for layer in network.layers if layer.bias is not None]
    grads = gradient(E, ys + zs + params + biases)
    g = [np.array(gr.numpy(), dtype=np.float64) for gr in grads]
    n = len(ys)
    g_y, g_z, g_w, g_b = g[:n], g[n : 2 * n - 1], g[2 * n - 1 : 3 * n - 2], g[3 * n - 2 :]
    float64 = dtype == np.float64
    atol, rtol = (1e-7, 1e-5) if float64 else (1e-4, 1e-3)
    loss_from_z = loss.output_activation is not None
    layers = []
    L = len(network.layers)
    for k in range(n):
        letter = _letter(L - k)
        top = k == L
        layers.append(
            LayerRecord(
                index=k,
                role="input" if k == 0 else ("output" if top else "hidden"),
                letter=letter,
                size=network.sizes[k],
                activation=None
                if k == 0
                else (out_act if top else network.layers[k - 1].activation),
                y=_f64(ys[k]),
                z=None if k == 0 else _f64(zs[k - 1]),
                dE_dy=None if (top and loss_from_z) else g_y[k],
                dE_dz=None if k == 0 else g_z[k - 1],
            )
        )
    connections = []
    bias_iter = iter(g_b)
    for k, layer in enumerate(network.layers):
        connections.append(
            ConnectionRecord(
                below=k,
                weight=_f64(layer.weight),
                bias=None if layer.bias is None else _f64(layer.bias),
                dE_dw=g_w[k],
                dE_db=None if layer.bias is None else next(bias_iter),
                weight_name=layer.weight_name,
                bias_name=layer.bias_name,
            )
        )
    return Derivation(
        description=network.describe(),
        dtype=str(dtype),
        loss=loss,
        error=float(E.item()),
        x=problem.x.astype(np.float64),
        t=problem.t.astype(np.float64),
        layers=layers,
        connections=connections,
        n_parameters=network.n_parameters,
        eps=eps,
        atol=atol,
        rtol=rtol,
        notation=notation,
    )


def _act(name: str, z: Tensor) -> Tensor:
    return ACTIVATIONS[name].op(z)


def _letter(from_top: int) -> str:
    return _LETTERS_FROM_TOP[from_top] if from_top < len(_LETTERS_FROM_TOP) else f"u{from_top}"


def _f64(tensor: Tensor) -> np.ndarray:
    return np.array(tensor.numpy(), dtype=np.float64)


def _finite_differences(derivation: Derivation, problem: Problem, eps: float, limit: int) -> None:
    """Central differences of E for every y, z, w and b (a deterministic sample past ``limit``)."""
    arrays = numeric.arrays_of(derivation)
    t, loss = derivation.t, derivation.loss
    sample = _Sampler(derivation, limit)
    for record in derivation.layers:
        k = record.index
        if record.dE_dy is not None:
            base = record.y

            def e_y(v, k=k):
                return numeric.error_from(arrays, t, loss, k, v)

            record.dE_dy_numeric = sample.differences(e_y, base, eps)
        if record.dE_dz is not None:

            def e_z(v, k=k):
                return numeric.error_from_z(arrays, t, loss, k, v)

            record.dE_dz_numeric = sample.differences(e_z, record.z, eps)
    for k, conn in enumerate(derivation.connections):

        def e_w(w, k=k):
            changed = list(arrays)
            changed[k] = (w, arrays[k][1], arrays[k][2])
            return numeric.error_from(changed, t, loss, 0, derivation.x)

        conn.dE_dw_numeric = sample.differences(e_w, conn.weight, eps)
        if conn.bias is not None:

            def e_b(b, k=k):
                changed = list(arrays)
                changed[k] = (arrays[k][0], b, arrays[k][2])
                return numeric.error_from(changed, t, loss, 0, derivation.x)

            conn.dE_db_numeric = sample.differences(e_b, conn.bias, eps)
    if sample.skipped:
        derivation.notes.append(
            f"{sample.skipped} of {sample.total} gradients were not checked by finite differences "
            f"(a sample of {limit} was; raise max_checks to check them all)"
        )


class _Sampler:
    """Checks every entry, or a fixed random share of them when there are more than ``limit``."""

    def __init__(self, derivation: Derivation, limit: int) -> None:
        sizes = [r.y.size for r in derivation.layers if r.dE_dy is not None]
        sizes += [r.z.size for r in derivation.layers if r.dE_dz is not None]
        sizes += [
            c.weight.size + (0 if c.bias is None else c.bias.size) for c in derivation.connections
        ]
        self.total = int(sum(sizes))
        self.share = 1.0 if self.total <= limit else limit / self.total
        self.rng = np.random.default_rng(0)
        self.skipped = 0

    def differences(self, evaluate, base: np.ndarray, eps: float) -> np.ndarray:
        out = np.full(base.shape, np.nan)
        for index in np.ndindex(base.shape):
            if self.share < 1.0 and self.rng.random() > self.share:
                self.skipped += 1
                continue
            out[index] = numeric.central_difference(evaluate, base, index, eps)
        return out


def _focus(derivation: Derivation, unit: Any) -> tuple[int, int]:
    """(layer, 0-based unit) from ``"L:i"`` or ``(L, i)`` (i from 1); default: 1 below the top."""
    if unit is None:
        return (max(derivation.n_layers - 1, 0), 0)
    if isinstance(unit, str):
        try:
            layer_text, unit_text = unit.split(":")
            layer, number = int(layer_text), int(unit_text)
        except ValueError:
            raise ExplainError(
                f"--unit {unit!r}: write LAYER:UNIT, e.g. 1:2 for unit 2 of layer 1 "
                "(layer 0 is the input layer, units count from 1)"
            ) from None
    else:
        layer, number = unit
    derivation._check_unit(int(layer), int(number) - 1)
    return (int(layer), int(number) - 1)
