"""QA s58: under the matrix notation the JSON's `symbolic.derivative` named its symbols a^1_2
and w^2_11, which `sympy.sympify` reads as powers (a**12: 1_2 is the number 12 in Python), so
the derivative the docs say sympy reads back silently became another expression. The JSON now
names each symbol as sympy reads it, and `symbols` gives each name's printed spelling and
number; the views still print the notation's own.

The oracle: sympy reading the JSON's derivative back, evaluated at the JSON's own numbers,
against the JSON's central finite difference (an independent float64 forward pass) within the
check's own tolerance."""

import json

import jsonschema
import numpy as np
import pytest
import sympy

from chainrule import nn
from chainrule.explainer import NOTATIONS, explain, render, schema, to_json


def _tanh_batch(notation: str):
    """3 inputs -> 3 tanh -> 2 logistic (no biases into the top), two cases, focused on tanh
    unit 2: a proof of another layer, unit and shape than the seed's."""
    model = nn.Sequential(
        nn.Linear(3, 3, dtype="float64", rng=1), nn.Tanh(),
        nn.Linear(3, 2, bias=False, dtype="float64", rng=2), nn.Logistic(),
    )  # fmt: skip
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.2, -0.3]])
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    return explain(model, x, t, nn.SquaredError(), unit="1:2", symbolic=True, notation=notation)


def _seed(notation: str):
    return explain(symbolic=True, notation=notation)


def _json_numbers(doc: dict, layer: int, case: int) -> list[float]:
    """The numbers the proof's symbols stand for, read off the JSON's layers and connections:
    the layer's y in the case, the weights and biases into the layer above."""
    connection = doc["connections"][layer]
    return sorted(
        [unit["y"][case] for unit in doc["layers"][layer]["units"]]
        + [w["w"] for w in connection["weights"]]
        + [b["b"] for b in connection["biases"]]
    )


def _focused_name(s: dict) -> str:
    """The name of the focused unit's y among the proof's symbols: the one printed as the
    lhs's denominator (dE/dy_2, dC/da^1_2)."""
    printed = s["lhs"].split("/d", 1)[1]
    (name,) = [k for k, v in s["symbols"].items() if v["plain"] == printed]
    return name


@pytest.mark.parametrize("notation", NOTATIONS)
@pytest.mark.parametrize("make", [_seed, _tanh_batch])
def test_sympy_reads_the_json_derivative_back_in_every_notation(make, notation):
    doc = json.loads(to_json(make(notation)))
    jsonschema.validate(doc, schema())
    s, check = doc["symbolic"], doc["check"]
    assert s["status"] == "proved"
    symbols = s["symbols"]
    at = {sympy.Symbol(name): entry["value"] for name, entry in symbols.items()}
    derivative = sympy.sympify(s["derivative"])
    # every name sympy read is one of the proof's symbols (a^1_2 read as a**12 leaves an "a")
    assert {x.name for x in derivative.free_symbols} == set(symbols)
    assert sorted(at.values()) == _json_numbers(doc, s["layer"], s["case"])
    value = float(derivative.subs(at))
    numeric = doc["layers"][s["layer"]]["units"][s["unit"]]["dE_dy"][s["case"]]["numeric"]
    assert abs(value - numeric) <= check["atol"] + check["rtol"] * abs(numeric)
    assert value == pytest.approx(s["value"], rel=1e-12)
    E = sympy.sympify(s["E"])  # E reads back too, in the same names: its derivative is it
    assert {x.name for x in E.free_symbols} <= set(symbols)
    by_hand = float(sympy.diff(E, sympy.Symbol(_focused_name(s))).subs(at))
    assert by_hand == pytest.approx(value, rel=1e-12)


def test_the_views_print_the_notations_own_symbols():
    d = _seed("matrix")
    text = render(d, "text")
    line = next(x for x in text.splitlines() if x.strip().startswith("dC/da^1_1 = "))
    assert "a^1_1*w^2_11" in line and "a1_1" not in line and "w2_11" not in line
    assert json.loads(to_json(d))["symbolic"]["symbols"]["a1_1"]["plain"] == "a^1_1"
    # a Hinton derivation rendered in the matrix form reads the same
    assert line in render(_seed("hinton"), "text", notation="matrix").splitlines()
    latex = render(d, "latex")
    assert r"a^{1}_{1} w^{2}_{11}" in latex and "a1_1" not in latex and "w2_11" not in latex
