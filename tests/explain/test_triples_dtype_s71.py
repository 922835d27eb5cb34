"""``(weight, bias, activation)`` triples of float32 arrays are explained in float32, as the
float32 ``nn`` model they describe is (docs/explain.md: float32 models are explained in
float32); they were converted to float64 and explained there. Lists, other dtypes and a mix
of dtypes stay float64 (s71)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer.network import sequential

X, T = [[0.3, -1.2, 0.8]], [[1.0, 0.0]]


def _triples(net, as_type=np.asarray):
    """The (weight, bias, activation) triples of an mlp's Linear layers, through ``as_type``."""
    linears = [m for m in net if isinstance(m, cr.nn.Linear)]
    return [(as_type(lin.weight.data), as_type(lin.bias.data), "tanh") for lin in linears]


@pytest.mark.parametrize("as_type", [np.array, cr.tensor], ids=["arrays", "tensors"])
def test_float32_triples_are_explained_as_the_float32_model_is(as_type) -> None:
    net = cr.nn.mlp([3, 4, 2], activation="tanh", output="tanh", dtype="float32", rng=0)
    model = cr.explain(net, X, T)
    triples = cr.explain(_triples(net, as_type), X, T)
    assert model.dtype == triples.dtype == "float32"
    assert triples.error == model.error
    for mine, theirs in zip(triples.connections, model.connections):
        assert np.array_equal(mine.dE_dw, theirs.dE_dw) and np.array_equal(mine.dE_db, theirs.dE_db)
    for mine, theirs in zip(triples.layers, model.layers):
        assert np.array_equal(mine.y, theirs.y)


def test_float32_weights_with_bias_lists_are_float32() -> None:
    w1, w2 = np.full((3, 2), 0.1, np.float32), np.full((2, 2), -0.2, np.float32)
    assert cr.explain([(w1, [0.0, 0.1], "logistic"), (w2, None, "logistic")], X, T).dtype == (
        "float32"
    )


@pytest.mark.parametrize(
    "bias",
    [np.zeros(2), [0.0, 0.0], np.zeros(2, np.float16)],
    ids=["float64-bias", "lists", "float16-bias"],
)
def test_lists_other_dtypes_and_mixes_stay_float64(bias) -> None:
    weight = np.full((3, 2), 0.1, np.float32)
    if isinstance(bias, list):  # nothing typed: every value a list
        weight = weight.tolist()
    d = cr.explain([(weight, bias, "logistic"), ([[0.5, 0.2], [0.1, 0.3]], None, "logistic")], X, T)
    assert d.dtype == "float64"


def test_a_dtype_asked_for_is_kept() -> None:
    w = np.full((3, 2), 0.1, np.float32)
    assert (
        sequential([(w, np.zeros(2, np.float32), "logistic")], dtype=np.float64)[0].weight.dtype
        == np.float64
    )
    assert (
        sequential([([[0.1, 0.2]], [0.0, 0.0], "logistic")], dtype=np.dtype("float32"))[
            0
        ].weight.dtype
        == np.float32
    )
