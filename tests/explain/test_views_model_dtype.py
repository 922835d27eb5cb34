"""One quantity, three views: the Graph column is the model's own numbers, as the Hinton and
Matrix columns and the engine's dE/dy_i are (docs/explain.md: "The three columns hold the same
numbers, and so do their sums and the engine's dE/dy_i"). The graph was recorded in float64
whatever the model's dtype, so a float32 model's Graph column differed from the others."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.unit_graph import gradients, unit_graph_of
from chainrule.explainer.views import three_views


def assert_the_three_views_agree(views, dtype):
    """Term j of the Graph column is w_ij dE/dz_j and the sum at the node is the engine's
    dE/dy_i, to a few roundings of the model's dtype (the graph adds each z unit by unit, the
    engine by a matrix product, so a dE/dz_j may differ in its last bit)."""
    eps = float(np.finfo(dtype).eps)
    hinton = [term["value"] for term in views["hinton"]["terms"]]
    matrix = [term["value"] for term in views["matrix"]["terms"]]
    graph = [c["value"] for c in views["graph"]["consumers"]]
    assert hinton == matrix
    for ours, theirs in zip(graph, hinton, strict=True):
        assert abs(ours - theirs) <= 4 * eps * abs(theirs)
    scale = sum(abs(term) for term in hinton)
    for total in (views["graph"]["total"], views["hinton"]["total"], views["matrix"]["total"]):
        assert abs(total - views["engine"]) <= 4 * eps * scale


def test_a_trained_float32_models_graph_column_holds_the_engines_numbers(tmp_path):
    """The reproducer: tanh 2-3-3-1 trained on xor, float32, where the output sits so near its
    target that dE/dz is mostly rounding; the float64 graph's sum was 9.06902e-6 beside the
    engine's 9.06894e-6."""
    from chainrule.cli import main
    from chainrule.cli.serve import trained_case
    from chainrule.web import network as net

    run = tmp_path / "run"
    args = ["train", "--data", "xor", "--activation", "tanh", "--hidden", "3,3", "--out", str(run)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--quiet"]) == 0
    state = trained_case(run, 1)
    assert state.dtype == "float32"
    for layer, size in ((1, 3), (2, 3)):
        for unit in range(size):
            assert_the_three_views_agree(net.views(state, layer, unit), np.float32)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
def test_every_units_three_views_agree_in_the_models_dtype(dtype, activation):
    model = nn.mlp([3, 4, 3, 2], activation=activation, output=None, rng=1, dtype=dtype)
    x = np.random.default_rng(2).normal(size=(2, 3))
    d = explain(model, x, [1, 0], nn.CrossEntropy())
    for layer, size in ((1, 4), (2, 3)):
        for unit in range(size):
            for case in range(2):
                assert_the_three_views_agree(three_views(d, layer, unit, case), dtype)


def test_the_bug_demos_graph_stays_float64_for_a_float32_model():
    """The buggy engines compare on the float64 unit graph (a float32 model's rounding is never
    counted as a bug's), so the graph is float64 unless a dtype is asked for."""
    model = nn.mlp([2, 3, 1], activation="tanh", output=None, rng=0, dtype="float32")
    d = explain(model, [[0.3, -1.2]], [[1.0]], nn.BinaryCrossEntropy())
    default, own = unit_graph_of(d), unit_graph_of(d, dtype=d.dtype)
    assert {t.data.dtype for t in default.quantities().values()} == {np.dtype(np.float64)}
    assert {t.data.dtype for t in own.quantities().values()} == {np.dtype(np.float32)}
    assert default.E.data.dtype == np.float64 and own.E.data.dtype == np.float32
    by_float64, by_float32 = gradients(default), gradients(own)
    for key, value in by_float64.items():
        assert by_float32[key] == pytest.approx(value, rel=1e-3, abs=1e-6)
