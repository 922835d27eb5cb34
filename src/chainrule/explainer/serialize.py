"""A Derivation as JSON-able data, following ``schema.json`` (the contract with the web explorer).

Indices are 0-based; a renderer adds 1 when it shows a unit to a person. Numbers are floats; a
value that was not checked has ``numeric``, ``difference`` and ``ok`` set to null.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

from chainrule.explainer.derivation import SCHEMA_VERSION, Derivation

SCHEMA_ID = "https://chainrule.dev/schemas/derivation-1.json"


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that :func:`to_json`'s output validates against."""
    text = resources.files("chainrule.explainer").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


#: Past this many weights times cases a document is written without indentation: Python's json
#: module indents in Python, not C (a 784-100-10 network's 100 cases took 56 s, then 6 s)
INDENTED_AT_MOST = 100_000


def to_json(d: Derivation, indent: int | None = 2) -> str:
    """The derivation as a JSON document (validates against :func:`schema`), indented by
    ``indent`` where it has at most :data:`INDENTED_AT_MOST` weights times cases (a larger one
    is one line: no one reads it by eye, and indenting it took ten times as long). Numbers that
    overflowed (inf, NaN in z, y or a gradient), which JSON cannot hold, raise ExplainError."""
    from chainrule.explainer.network import ExplainError

    weights = sum(conn.n_weights for conn in d.connections)
    if weights * d.n_cases > INDENTED_AT_MOST:
        indent = None
    document = to_dict(d)  # outside the try: only json's refusal of inf and NaN is caught
    try:
        return json.dumps(document, indent=indent, allow_nan=False)
    except ValueError:
        raise ExplainError(
            "explain: the network's numbers overflowed (inf or NaN), which JSON cannot hold; "
            "use smaller inputs or weights, or a text format, which shows them"
        ) from None


def to_dict(d: Derivation) -> dict[str, Any]:
    """Every number of the derivation, per layer, unit, case and connection (JSON-able)."""
    checks = d.all_checks()
    return {
        "schema": "chainrule.derivation",
        "schema_version": SCHEMA_VERSION,
        "notation": d.notation,
        "network": {
            "description": d.description,
            "sizes": [record.size for record in d.layers],
            "activations": [record.activation for record in d.layers[1:]],
            "dtype": d.dtype,
            "n_parameters": d.n_parameters,
        },
        "loss": _loss(d),
        "n_cases": d.n_cases,
        "inputs": d.x.tolist(),
        "targets": d.t.tolist(),
        "check": {
            "method": "central finite differences in float64",
            "eps": d.eps,
            "atol": d.atol if math.isfinite(d.atol) else None,  # see schema.json
            "rtol": d.rtol,
            "atol_share": d.atol_share,
            "checked": len(checks),
            "all_ok": d.all_ok,
            "near_zero": sum(c.ok and c.near_zero for c in checks),
            "max_difference": max((c.difference for c in checks), default=0.0),
        },
        "focus": None if d.focus is None else {"layer": d.focus[0], "unit": d.focus[1]},
        "layers": [_layer(d, record.index) for record in d.layers],
        "connections": [_connection(d, conn.below) for conn in d.connections],
        "perturbation": d.perturbation,
        "symbolic": d.symbolic,
        "notes": list(d.notes),
        "views": d.views,
        "paths": d.paths,
        "bug": None if d.bug is None else d.bug.to_dict(),
    }


def _loss(d: Derivation) -> dict[str, Any]:
    loss = {"name": d.loss.name, "reduction": d.loss.reduction, "E": d.error}
    if d.loss.name == "margin-squared-error":  # the numbers its formulas are written with
        loss["margin"] = {"on": d.loss.on, "off": d.loss.off,
                          "measured_from": d.loss.measured_from}  # fmt: skip
    return loss


def _layer(d: Derivation, k: int) -> dict[str, Any]:
    record = d.layers[k]
    units = []
    for i in range(record.size):
        cases = range(d.n_cases)
        units.append(
            {
                "index": i,
                "y": [float(record.y[c, i]) for c in cases],
                "z": None if record.z is None else [float(record.z[c, i]) for c in cases],
                "dE_dy": None
                if record.dE_dy is None
                else [d.dE_dy(k, i, c).to_dict() for c in cases],
                "dE_dz": None
                if record.dE_dz is None
                else [d.dE_dz(k, i, c).to_dict() for c in cases],
                "sum": None if k == d.n_layers else [_sum(d, k, i, c) for c in cases],
            }
        )
    return {
        "index": k,
        "role": record.role,
        "letter": record.letter,
        "size": record.size,
        "activation": record.activation,
        "units": units,
    }


def _sum(d: Derivation, k: int, i: int, case: int) -> dict[str, Any]:
    terms = d.terms(k, i, case)
    return {
        "terms": [
            {"j": term.j, "w": term.w, "dE_dz": term.dE_dz, "product": term.product}
            for term in terms
        ],
        "total": float(sum(term.product for term in terms)),
        "engine": float(d.layers[k].dE_dy[case, i]),
    }


def _connection(d: Derivation, below: int) -> dict[str, Any]:
    conn = d.connections[below]
    y_below = d.layers[below].y
    dE_dz = d.layers[below + 1].dE_dz
    weights = []
    n_in, n_out = conn.weight.shape
    for i in range(n_in):
        for j in (int(j) for j in conn.targets(i)):  # a Parallel layer: its blocks' alone
            weights.append(
                {
                    "i": i,
                    "j": j,
                    "w": float(conn.weight[i, j]),
                    "dE_dw": d.dE_dw(below, i, j).to_dict(),
                    "terms": [float(y_below[c, i] * dE_dz[c, j]) for c in range(d.n_cases)],
                }
            )
    biases = []
    if conn.bias is not None:
        biases = [
            {"j": j, "b": float(conn.bias[j]), "dE_db": d.dE_db(below, j).to_dict()}
            for j in range(n_out)
        ]
    return {
        "below": below,
        "above": below + 1,
        "weight_name": conn.weight_name,
        "bias_name": conn.bias_name,
        "weights": weights,
        "biases": biases,
    }
