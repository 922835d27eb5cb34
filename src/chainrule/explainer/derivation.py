"""The derivation: every quantity of one forward and backward pass, per layer, unit and connection.

A :class:`Derivation` holds numbers only: per layer y, z, dE/dy and dE/dz, per connection dE/dw
and dE/db, each beside its central finite difference. :func:`chainrule.explainer.explain` builds
one (:mod:`chainrule.explainer.build`); the renderers (text, Markdown, LaTeX, HTML) and the JSON
serialiser are functions of a derivation that live above it and import it, never the other way.

Numbering: layers are 0 (the input layer) to L (the output layer); in Python and JSON units are
0-based (``index``), while the renderers and the ``--unit L:i`` option count units from 1, as the
lecture does (j = 1, 2, 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.explainer.network import ExplainError
from chainrule.nn.losses import Loss

SCHEMA_VERSION = 1


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
    #: a teaching bug's report beside this derivation (:mod:`chainrule.explainer.bugs`)
    bug: Any = None
    #: dE/dy of the focused unit in three views (:mod:`chainrule.explainer.views`)
    views: dict | None = None
    #: paths against dynamic programming, layer by layer (:mod:`chainrule.explainer.paths`)
    paths: dict | None = None

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

    def _repr_markdown_(self) -> str:
        """How a notebook shows a derivation: the explainer's Markdown, maths set by MathJax."""
        from chainrule.explainer.render import render  # a renderer reads this; loaded on use

        return render(self, "markdown")


def _ravel(array: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """The finite differences of ``like``'s entries, NaN (unchecked) where there are none."""
    return np.full(like.size, np.nan) if array is None else array.ravel()


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
