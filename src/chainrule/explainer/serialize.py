"""A Derivation as JSON-able data, following ``schema.json`` (the contract with the web explorer).

Indices are 0-based; a renderer adds 1 when it shows a unit to a person. Numbers are floats; a
value that was not checked has ``numeric``, ``difference`` and ``ok`` set to null.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from chainrule.explainer.derivation import SCHEMA_VERSION, Derivation, Quantity

#: schema.json's ``$id``, which names its version
SCHEMA_ID = f"https://chainrule.dev/schemas/derivation-{SCHEMA_VERSION}.json"


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that :func:`to_json`'s output validates against."""
    text = resources.files("chainrule.explainer").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


#: Past this many weights times cases a document is written without indentation: Python's json
#: module indents in Python, not C (a 784-100-10 network's 100 cases took 56 s, then 6 s)
INDENTED_AT_MOST = 100_000

#: the numbers of one term w_ij dE/dz_j of a sum over j, in schema.json's order (its "term")
TERM_KEYS = ("j", "w", "dE_dz", "product")

#: where a one-line document's terms go: json writes this string and :class:`_TermsText`'s
#: text replaces it (no derivation's string holds a NUL; were one to, see _TermsText.fill)
_PLACEHOLDER = "\x00terms\x00"


def to_json(d: Derivation, indent: int | None = 2) -> str:
    """The derivation as a JSON document (validates against :func:`schema`), indented by
    ``indent`` where it has at most :data:`INDENTED_AT_MOST` weights times cases (a larger one
    is one line: no one reads it by eye, and indenting it took ten times as long). Numbers that
    overflowed (inf, NaN in z, y or a gradient), which JSON cannot hold, raise ExplainError.

    On one line, the sums' terms (nearly all of a large document: 7.84 million for a 784-100-10
    network's 100 cases) are written here, each w_ij and dE/dz_j formatted once rather than
    once per case and per unit; the text is the one ``json.dumps(to_dict(d))`` writes."""
    weights = sum(conn.n_weights for conn in d.connections)
    if weights * d.n_cases > INDENTED_AT_MOST:
        indent = None
    if indent is not None:
        return _dumps(to_dict(d), indent)
    terms = _TermsText()
    text = terms.fill(_dumps(_document(d, terms), None))
    return _dumps(to_dict(d), None) if text is None else text


def _dumps(document: dict[str, Any], indent: int | None) -> str:
    """json's text of a built document: only json's refusal of inf and NaN is caught (a term
    that is not finite makes its sum's total inf or NaN, which json refuses too)."""
    from chainrule.explainer.network import ExplainError

    try:
        return json.dumps(document, indent=indent, allow_nan=False)
    except ValueError:
        raise ExplainError(
            "explain: the network's numbers overflowed (inf or NaN), which JSON cannot hold; "
            "use smaller inputs or weights, or a text format, which shows them"
        ) from None


def to_dict(d: Derivation) -> dict[str, Any]:
    """Every number of the derivation, per layer, unit, case and connection (JSON-able)."""
    return _document(d, _term_dicts)


def _document(d: Derivation, terms: Callable) -> dict[str, Any]:
    """:func:`to_dict`'s document, each sum's terms written by ``terms`` (see :func:`_sums`)."""
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
        "case_source": d.case_source,
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
        "layers": [_layer(d, record.index, terms) for record in d.layers],
        "connections": [_connection(d, conn.below) for conn in d.connections],
        "perturbation": d.perturbation,
        "symbolic": d.symbolic,
        "notes": list(d.notes),
        "views": d.views,
        "paths": d.paths,
        "bug": None if d.bug is None else d.bug.to_dict(),
    }


def _loss(d: Derivation) -> dict[str, Any]:
    from chainrule.explainer.network import formula_written, loss_shown

    loss = {"name": loss_shown(d.loss), "reduction": d.loss.reduction, "E": d.error}
    if not formula_written(d.loss):  # a loss of the user's own: its numbers, no formula
        loss["written_out"] = False
    if d.loss.name == "margin-squared-error":  # the numbers its formulas are written with
        loss["margin"] = {"on": d.loss.on, "off": d.loss.off,
                          "measured_from": d.loss.measured_from}  # fmt: skip
    return loss


def _layer(d: Derivation, k: int, terms: Callable) -> dict[str, Any]:
    record = d.layers[k]
    y, z = _per_unit(record.y), _per_unit(record.z)
    dE_dy = _checked_per_unit(
        d, ("dE_dy", k), record.dE_dy, record.dE_dy_numeric, record.dE_dy_kink
    )
    dE_dz = _checked_per_unit(
        d, ("dE_dz", k), record.dE_dz, record.dE_dz_numeric, record.dE_dz_kink
    )
    sums = None if k == d.n_layers else _sums(d, k, terms)
    units = [
        {
            "index": i,
            "y": y[i],
            "z": None if z is None else z[i],
            "dE_dy": None if dE_dy is None else dE_dy[i],
            "dE_dz": None if dE_dz is None else dE_dz[i],
            "sum": None if sums is None else sums[i],
        }
        for i in range(record.size)
    ]
    return {
        "index": k,
        "role": record.role,
        "letter": record.letter,
        "size": record.size,
        "activation": record.activation,
        "units": units,
    }


def _per_unit(values: np.ndarray | None) -> list[list[float]] | None:
    """A layer's (cases, units) array as each unit's floats across the cases."""
    return None if values is None else np.asarray(values, dtype=np.float64).T.tolist()


def _checked_per_unit(
    d: Derivation,
    quantity: Quantity,
    values: np.ndarray | None,
    numerics: np.ndarray | None,
    kinks: np.ndarray | None,
) -> list[list[dict[str, Any]]] | None:
    """Each unit's :meth:`Derivation.dE_dy` (or dE_dz) across the cases, as dicts: the
    accessor's own entry (:meth:`Derivation.checked_entry`, with its ``kink``), without the
    index checks that every (case, unit) here passes."""
    if values is None:
        return None
    n_cases, size = values.shape
    return [
        [
            d.checked_entry(quantity, values, numerics, (c, i), kinks).to_dict()
            for c in range(n_cases)
        ]
        for i in range(size)
    ]


def _sums(d: Derivation, k: int, terms: Callable) -> list[list[dict[str, Any]]]:
    """Each unit i of layer k's sum over j in every case: its terms as :meth:`Derivation.terms`
    gives them (w_ij and dE/dz_j as floats, and their product), written by ``terms``; their
    total, added up term by term as :meth:`Derivation.sum_over_j` does; the engine's dE/dy_i.
    A unit's cases at once: a Term per unit, case and j (7.84 million for a 784-100-10
    network's 100 cases), each number float()ed alone, took most of the document's time."""
    conn = d.connections[k]
    weight = conn.weight.astype(np.float64)  # each float(w_ij), exactly
    dE_dz = d.layers[k + 1].dE_dz.astype(np.float64)
    engine = _per_unit(d.layers[k].dE_dy)
    write = terms(weight, dE_dz)
    sums = []
    for i in range(conn.weight.shape[0]):
        js = [int(j) for j in conn.targets(i)]  # a Parallel layer: its block's alone
        with np.errstate(over="ignore", invalid="ignore"):  # as Python's float product: silent
            products = (weight[i, js] * dE_dz[:, js]).tolist()  # per case: Term.product
        rows = write(i, js, products)
        sums.append(
            [
                {"terms": row, "total": float(sum(p)), "engine": e}
                for row, p, e in zip(rows, products, engine[i])
            ]
        )
    return sums


def _term_dicts(weight: np.ndarray, dE_dz: np.ndarray) -> Callable:
    """:func:`to_dict`'s terms of one layer's sums: a dict per term."""

    def write(i: int, js: list[int], products: list[list[float]]) -> list[list[dict]]:
        w = weight[i, js].tolist()
        return [
            [dict(zip(TERM_KEYS, term)) for term in zip(js, w, dz, p)]
            for dz, p in zip(dE_dz[:, js].tolist(), products)
        ]

    return write


class _TermsText:
    """:func:`to_json`'s terms on one line: the text json writes for :func:`to_dict`'s term
    dicts, with each w_ij formatted once per unit and each dE/dz_j once per case (json formats
    every number where it stands: three per term). Each case's list of terms is
    :data:`_PLACEHOLDER` in the document and its text in :attr:`pieces`, in document order."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.keys = [json.dumps(key) + ": " for key in TERM_KEYS]  # as json writes a key

    def __call__(self, weight: np.ndarray, dE_dz: np.ndarray) -> Callable:
        """The writer of one layer's sums (weights into the layer above, its dE/dz)."""
        # repr is the text json writes for a float (float.__repr__), str for an int; a number
        # that is not finite makes its sum's total inf or NaN, which json then refuses
        dE_dz_text = [[repr(value) for value in row] for row in dE_dz.tolist()]
        j_key, w_key, dE_dz_key, product_key = self.keys
        n_above = dE_dz.shape[1]

        def write(i: int, js: list[int], products: list[list[float]]) -> list[str]:
            heads = [
                "{" + j_key + str(j) + ", " + w_key + repr(w) + ", " + dE_dz_key
                for j, w in zip(js, weight[i, js].tolist())
            ]
            tail = ", " + product_key
            every_j = len(js) == n_above  # targets are in order: then they are all of j
            for row, p in zip(dE_dz_text, products):
                dz = row if every_j else [row[j] for j in js]
                terms = map("".join, zip(heads, dz, itertools.repeat(tail), map(repr, p)))
                self.pieces.append("[" + "}, ".join(terms) + "}]" if heads else "[]")
            return [_PLACEHOLDER] * len(products)

        return write

    def fill(self, skeleton: str) -> str | None:
        """The document: json's text ``skeleton`` with each placeholder's terms set in; None
        where a string of the derivation held the placeholder too (to_json then writes it the
        plain way)."""
        parts = skeleton.split(json.dumps(_PLACEHOLDER))
        if len(parts) != len(self.pieces) + 1:
            return None
        self.pieces.append("")
        return "".join(itertools.chain.from_iterable(zip(parts, self.pieces)))


def _connection(d: Derivation, below: int) -> dict[str, Any]:
    conn = d.connections[below]
    y_below = d.layers[below].y
    dE_dz = d.layers[below + 1].dE_dz
    quantity = ("dE_dw", below)
    weight = conn.weight.astype(np.float64).tolist()
    weights = []
    n_in, n_out = conn.weight.shape
    for i in range(n_in):
        js = [int(j) for j in conn.targets(i)]  # a Parallel layer: its blocks' alone
        # y_i dE/dz_j per case, in the records' own dtype, as one product at a time was
        terms = (y_below[:, i, None] * dE_dz[:, js]).T.tolist()
        for j, case_terms in zip(js, terms):
            # dE_dw(below, i, j)'s entry, without the index checks that (i, j) passes
            checked = d.checked_entry(
                quantity, conn.dE_dw, conn.dE_dw_numeric, (i, j), conn.dE_dw_kink
            )
            weights.append(
                {"i": i, "j": j, "w": weight[i][j], "dE_dw": checked.to_dict(), "terms": case_terms}
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
