"""A unit added to the table of activations that the explainer has no formulas for is refused by
name; it was written out as if it were another.

A contributor added softsign, y = z / (1 + |z|), to ``nn.activations``' table: ``chainrule
explain`` then crashed with a KeyError in ``sections_forward._act_formula``, and once a formula
was added there it printed false arithmetic marked ✓ (dE/dz_1 = dE/dy_1 = 0.09712 beside
dE/dy_1 = 0.1083), because the backward sections fell through to "a linear unit passes dE/dy
on". ``explainer.network.UNITS`` is now the one list of the units the explainer writes out: the
check as the model is read, the forward formulas and schema.json's enum follow it, and the
backward sections write the identity only for the identity.

The unit is added here as the contributor added it (an ``Activation`` in the table, its own
module and registered op), by monkeypatch: the library's table is left as it is.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError, schema, sections_forward
from chainrule.explainer import network as explainer_network
from chainrule.explainer.notation import Math
from chainrule.nn import activations
from chainrule.nn.layers import _Unit
from chainrule.ops.registry import REGISTRY, Primitive

X = np.array([[0.3, -0.8]])
T = np.array([[0.0]])


def _softsign_forward(z):
    return z / (1 + abs(z))


#: softsign with its right rule, dy/dz = 1 / (1 + |z|)^2 (not registered: the test adds it)
SOFTSIGN = Primitive(
    "softsign_s61",
    _softsign_forward,
    (lambda g, out, z: g / ((1 + abs(z)) * (1 + abs(z))),),
)


class Softsign(_Unit):
    """y = z / (1 + |z|): the contributor's unit layer."""

    def forward(self, z):
        return SOFTSIGN(z)


@pytest.fixture
def softsign_in_the_table(monkeypatch):
    """softsign in nn.activations' table (a hidden unit too), as the contributor added it."""
    unit = activations.Activation("softsign", SOFTSIGN, Softsign, "softsign_s61")
    monkeypatch.setitem(REGISTRY, "softsign_s61", SOFTSIGN)
    monkeypatch.setattr(activations, "_UNITS", (*activations._UNITS, unit))
    monkeypatch.setitem(activations.ACTIVATIONS, "softsign", unit)
    monkeypatch.setattr(activations, "HIDDEN", (*activations.HIDDEN, "softsign"))
    return unit


def _model(unit_layer) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(2, 3, rng=0, dtype="float64"),
        unit_layer,
        nn.Linear(3, 1, rng=1, dtype="float64"),
        nn.Logistic(),
    )


def test_the_schema_lists_the_units_the_explainer_writes_out():
    assert schema()["$defs"]["layer"]["properties"]["activation"]["enum"] == [
        None,
        *explainer_network.UNITS,
    ]


def test_the_forward_formulas_are_those_of_the_units_the_explainer_writes_out():
    assert list(sections_forward.FORMULAS) == list(explainer_network.UNITS)


def test_every_unit_of_the_list_is_written_out_and_checked():
    """Each unit of the list, below and on top (softmax on top only): written out in every
    format, its numbers agreeing with the finite differences (all_ok). A unit listed without
    its formulas fails here."""
    units = explainer_network.UNITS
    for hidden in [unit for unit in units if unit != "softmax"]:
        for top in units:
            model = nn.mlp([2, 3, 2], activation=hidden, output=top, rng=0, dtype="float64")
            d = cr.explain(model, X, np.array([[0.0, 1.0]]), "squared-error")
            assert d.all_ok, (hidden, top)
            assert [layer.activation for layer in d.layers[1:]] == [hidden, top]
            for format in ("text", "latex"):
                cr.explainer.render(d, format)


def test_a_unit_the_explainer_cannot_write_out_is_refused_by_name(softsign_in_the_table):
    model = _model(Softsign())
    assert nn.activation_of(model[1]) == "softsign"  # the table knows it
    units = "logistic, tanh, relu, identity, softmax units only"
    with pytest.raises(ExplainError, match=rf"^explain: layer 1 has softsign units, .*{units}$"):
        cr.explain(model, X, T, "squared-error")
    with pytest.raises(ExplainError, match="layer 1 has softsign units"):
        cr.explainer.as_network(model)


def test_a_unit_the_explainer_cannot_write_out_is_refused_in_a_parallel(softsign_in_the_table):
    encoders = nn.Parallel(
        (1, nn.Sequential(nn.Linear(1, 2, rng=0, dtype="float64"), Softsign())),
        (1, nn.Sequential(nn.Linear(1, 2, rng=1, dtype="float64"), Softsign())),
    )
    model = nn.Sequential(encoders, nn.Linear(4, 1, rng=2, dtype="float64"), nn.Logistic())
    with pytest.raises(ExplainError, match=r"layer 0 \(Parallel\) has softsign units"):
        cr.explain(model, X, T, "squared-error")


def test_a_layer_triple_names_only_the_units_the_explainer_writes_out(softsign_in_the_table):
    weight, bias = [[0.1, 0.2], [0.3, -0.4]], [0.0, 0.1]
    with pytest.raises(ExplainError, match="activation 'softsign' is not known; use one of") as e:
        cr.explainer.as_network([(weight, bias, "softsign")])
    assert "softsign" not in str(e.value).split("use one of")[1]
    assert "tanh" in str(e.value)


def _softsign_formula(z: Math, z_k: Math) -> Math:
    """The forward formula the contributor added."""
    return Math(f"{z.plain}/(1 + |{z.plain}|)", rf"\frac{{{z.latex}}}{{1 + |{z.latex}|}}")


def test_a_unit_listed_without_its_backward_formulas_is_an_internal_error(
    softsign_in_the_table, monkeypatch
):
    """Listed in UNITS with a forward formula, as the contributor added one, but without the
    backward's: an internal error naming the unit, where the backward wrote dE/dz = dE/dy with
    the engine's number marked ✓ beside it."""
    monkeypatch.setattr(explainer_network, "UNITS", (*explainer_network.UNITS, "softsign"))
    monkeypatch.setitem(sections_forward.FORMULAS, "softsign", _softsign_formula)
    with pytest.raises(RuntimeError, match="internal error: no dE/dz .*formula for softsign"):
        cr.explainer.render(cr.explain(_model(Softsign()), X, T, "squared-error"), "text")
