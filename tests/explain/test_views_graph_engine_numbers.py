"""One quantity, three views: the graph column holds the engine's numbers, read from the
derivation (unit_graph.layer_graph_of), not a second forward pass rebuilt scalar by scalar.

The rebuilt pass rounded a float32 model's sums in its own order; where the terms w_ij dE/dz_j
nearly cancel that moved the graph's sum in the 4th significant digit (QA: 0.000548303 at the
node beside the Hinton and matrix sums' 0.000548412), while the write-up said the views agree
to float32's precision."""

from __future__ import annotations

import numpy as np
import pytest
from explain_cases import parallel_case

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.notation import dtype_digits
from chainrule.explainer.render import render
from chainrule.explainer.unit_graph import backward_right
from chainrule.explainer.views import three_views


def _printed(value: float, dtype: str) -> str:
    """A number as the write-up prints it: as the model's dtype rounds it, to its digits."""
    return f"{float(np.dtype(dtype).type(value)) + 0.0:.{dtype_digits(dtype)}g}"


def _qa_case():
    """The QA reproducer: a float32 5-6-6-4 tanh net (model seed 140) and its case, drawn as
    /tmp/qa-onehome/t6.py drew it (its 141st draw of a stream of cases)."""
    rng = np.random.default_rng(3)
    for _ in range(141):
        x = rng.normal(size=(1, 5))
        t = rng.integers(0, 2, (1, 4)).astype(float)
    model = nn.mlp([5, 6, 6, 4], activation="tanh", output="logistic", dtype=np.float32,
                   rng=140, init_range=1.5)  # fmt: skip
    return model, x, t


def _torch_dE_dy1(torch, model, x, t) -> float:
    """dE/dy_1 of layer 1 in float64 by PyTorch, on the float32 model's own weights."""
    w = [torch.tensor(np.asarray(model[k].weight.data, np.float64)) for k in (0, 2, 4)]
    b = [torch.tensor(np.asarray(model[k].bias.data, np.float64)) for k in (0, 2, 4)]
    y1 = torch.tanh(torch.tensor(x) @ w[0] + b[0]).detach().requires_grad_(True)
    y3 = torch.sigmoid(torch.tanh(y1 @ w[1] + b[1]) @ w[2] + b[2])
    (0.5 * ((torch.tensor(t) - y3) ** 2).sum()).backward()
    return float(y1.grad[0, 0])


def test_the_qa_float32_case_prints_one_sum_in_all_three_views(torch):
    model, x, t = _qa_case()
    d = explain(model, x, t, unit=(1, 1), perturbation=False)
    text = render(d, "text")
    (row,) = [line.split() for line in text.splitlines() if line.strip().startswith("sum ")]
    assert row[1:4] == ["0.000548412"] * 3, row  # the graph's was 0.000548303
    views = d.views
    assert views["graph"]["total"] == views["hinton"]["total"] == views["matrix"]["total"]
    # an independent oracle: PyTorch in float64 on the same weights; the float32 engine's
    # terms (up to 0.157) round at about 1e-8 each, so the sum of 0.000548 agrees to ~1e-7
    scale = sum(abs(term["value"]) for term in views["hinton"]["terms"])
    assert scale > 200 * abs(views["graph"]["total"])  # the terms do nearly cancel
    oracle = _torch_dE_dy1(torch, model, x, t)
    assert abs(views["graph"]["total"] - oracle) <= 8 * np.finfo(np.float32).eps * scale


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
def test_every_units_three_views_print_the_same_numbers(dtype, activation):
    """Each term and each sum, in the JSON and as printed, for every unit of every layer that
    has a layer above it, on both cases of a batch."""
    rng = np.random.default_rng(7)
    for seed in range(12):
        model = nn.mlp([5, 6, 6, 4], activation=activation, output="logistic", dtype=dtype,
                       rng=seed, init_range=1.5)  # fmt: skip
        x, t = rng.normal(size=(2, 5)), rng.integers(0, 2, (2, 4)).astype(float)
        d = explain(model, x, t, perturbation=False, check=False)
        for layer in range(3):
            for unit in range(d.layers[layer].size):
                for case in range(2):
                    _assert_one_number_per_view(three_views(d, layer, unit, case), dtype)


def _assert_one_number_per_view(views, dtype):
    hinton = [term["value"] for term in views["hinton"]["terms"]]
    matrix = [term["value"] for term in views["matrix"]["terms"]]
    graph = [consumer["value"] for consumer in views["graph"]["consumers"]]
    assert hinton == matrix == graph
    totals = [views[name]["total"] for name in ("hinton", "matrix", "graph")]
    assert totals[0] == totals[2]  # the same terms added in the same order
    assert len({_printed(total, dtype) for total in totals}) == 1, totals


def test_a_parallel_layers_graph_has_a_consumer_only_where_a_weight_joins():
    model, x, t = parallel_case()
    d = explain(model, x, t, perturbation=False, check=False)
    for unit, above in ((0, [0, 1]), (2, [2])):  # units 1-2 feed the block of 2, unit 3 its own
        for case in range(2):
            views = three_views(d, 1, unit, case)
            assert [c["j"] for c in views["graph"]["consumers"]] == above
            _assert_one_number_per_view(views, "float64")


def test_the_layer_graph_sends_each_product_the_engines_dE_dz(torch):
    """Nothing above the layer is recomputed: each product y_i w_ij receives the derivation's
    dE/dz_j exactly, and each y_i's total is dE/dy_i (PyTorch's, for a float64 model)."""
    from chainrule.explainer.unit_graph import layer_graph_of  # new: the others run without it

    model, x, t = _qa_case()
    model.to("float64")
    d = explain(model, x, t, perturbation=False, check=False)
    g = layer_graph_of(d, 1, 0)
    totals = backward_right(g.E)
    y, weight = d.layers[1].y, d.connections[1].weight
    for (_, i, j, case), product in g.products.items():
        assert float(totals[id(product)]) == d.layers[2].dE_dz[case, j]
        assert float(product.data) == y[case, i] * weight[i, j]
    oracle = _torch_dE_dy1(torch, model, x, t)
    assert float(totals[id(g.y[(1, 0, 0)])]) == pytest.approx(oracle, rel=1e-9)
    assert {tensor.data.dtype for tensor in g.quantities().values()} == {np.dtype(np.float64)}
