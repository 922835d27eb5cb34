"""A Parallel layer (the family-trees network's encoders) written out as one layer joined in
blocks: the model's own Linears, every number its own backward's, no weight between blocks.

The oracle is the model's own loss and backward (the engine on the user's nn.Sequential) and
central finite differences; the explainer must agree with both and never show, check or count a
weight that does not exist."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import ExplainError, explain, render, schema, to_json
from chainrule.explainer.paths import counts, enumerate_paths
from chainrule.tensor import Tensor
from chainrule.train.family_trees import family_tree_net


def _branch(n_in: int, n_out: int, seed: int, unit=nn.Logistic) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out, rng=seed, dtype="float64"), unit())


def small_net() -> nn.Sequential:
    """2 inputs -> 3 tanh -> a Parallel layer (units 1-2 read 1-2, unit 3 reads 3) -> 2 logistic."""
    return nn.Sequential(
        nn.Linear(2, 3, rng=5, dtype="float64"), nn.Tanh(),
        nn.Parallel((2, _branch(2, 2, 0)), (1, _branch(1, 1, 1))),
        nn.Linear(3, 2, rng=2, dtype="float64"), nn.Logistic(),
    )  # fmt: skip


X, T = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0]])


def _family_trees_case():
    net = family_tree_net(rng=0)
    net.to("float64")
    x = np.zeros((2, 36))
    x[0, [3, 24 + 2]] = 1
    x[1, [10, 24 + 7]] = 1
    t = np.zeros((2, 24))
    t[0, 5] = t[1, 11] = 1
    return net, x, t


def test_the_family_trees_derivation_is_the_models_own_backward():
    net, x, t = _family_trees_case()
    d = explain(net, x, t, loss="squared-error", perturbation=False)
    loss = nn.SquaredError()(net(Tensor(x)), Tensor(t))
    loss.backward()
    assert d.error == pytest.approx(loss.item(), rel=1e-15)
    encoders = d.connections[0]
    person, relation = net[0][0][0], net[0][1][0]  # the branches' own Linears
    np.testing.assert_array_equal(encoders.dE_dw[:24, :6], person.weight.grad.numpy())
    np.testing.assert_array_equal(encoders.dE_dw[24:, 6:], relation.weight.grad.numpy())
    np.testing.assert_array_equal(encoders.dE_db, np.r_[person.bias.grad.numpy(),
                                                        relation.bias.grad.numpy()])  # fmt: skip
    assert encoders.n_weights == 24 * 6 + 12 * 6
    assert not encoders.dE_dw[:24, 6:].any() and not encoders.dE_dw[24:, :6].any()
    assert d.n_parameters == sum(p.size for p in net.parameters())
    assert d.all_ok  # every existing weight checked against a central difference


def test_no_weight_between_blocks_is_checked_shown_or_serialized():
    net, x, t = _family_trees_case()
    d = explain(net, x, t, loss="squared-error", perturbation=False)
    encoders = d.connections[0]
    assert np.isnan(encoders.dE_dw_numeric[~encoders.connected]).all()
    assert not np.isnan(encoders.dE_dw_numeric[encoders.connected]).any()
    checked_weights = sum(int((~np.isnan(c.dE_dw_numeric)).sum()) for c in d.connections)
    assert checked_weights == sum(c.n_weights for c in d.connections)
    with pytest.raises(ExplainError, match="no weight joins unit 0 of layer 0 to unit 7"):
        d.dE_dw(0, 0, 7)
    document = json.loads(to_json(d))
    assert len(document["connections"][0]["weights"]) == 216
    assert all(encoders.joins(w["i"], w["j"]) for w in document["connections"][0]["weights"])
    assert document["connections"][0]["weight_name"] == "0.0.0.weight and 0.1.0.weight"
    import jsonschema

    jsonschema.validate(document, schema())


def test_a_units_sum_runs_over_its_own_block():
    d = explain(small_net(), X, T, loss="squared-error")
    text = render(d, "text")
    assert "joins its units to layer 1 in blocks" in text
    assert "i = 1..2 read h = 1..2; i = 3 read h = 3" in text
    # dE/dy_3 of layer 1 has one term: unit 3 feeds only unit 3 of the block layer
    terms = d.terms(1, 2)
    assert [term.j for term in terms] == [2]
    assert d.sum_over_j(1, 2) == pytest.approx(d.layers[1].dE_dy[0, 2], rel=1e-12)
    assert [term.j for term in d.terms(1, 0)] == [0, 1]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html", "json"])
@pytest.mark.parametrize("options", [{}, {"unit": "1:3"}, {"unit": "2:3", "symbolic": True},
                                     {"bug": "assign"}, {"bug": "no-zero-grad"}])  # fmt: skip
def test_every_view_of_a_block_layer_agrees_with_its_checks(fmt, options):
    d = explain(small_net(), X, T, loss="squared-error", **options)
    assert d.all_ok
    assert render(d, fmt)
    if d.bug is not None:  # the buggy engines walk the same blocks: no absent weight's row
        assert all(row.key[0] != "w" or d.connections[row.key[1]].joins(*row.key[2:])
                   for row in d.bug.rows)  # fmt: skip


def test_the_symbolic_proof_has_no_weight_between_blocks():
    d = explain(small_net(), X, T, loss="squared-error", unit="1:3", symbolic=True)
    proof = d.symbolic
    assert proof["equal"], proof
    assert "w_31" not in proof["derivative"] and "w_33" in proof["derivative"]


def test_paths_follow_only_existing_weights():
    d = explain(small_net(), X, T, loss="squared-error", perturbation=False)
    for unit in range(3):  # layer 1 feeds the block layer
        paths = enumerate_paths(d, 1, unit)
        assert sum(product for _, product in paths) == pytest.approx(
            d.layers[1].dE_dy[0, unit], rel=1e-12
        )
        assert len(paths) == (4 if unit < 2 else 2)  # 2 block units x 2 outputs, or 1 x 2
    rows = counts([2, 3, 3, 2], [None, d.connections[1].connected, None])
    assert rows[1]["paths_per_unit"] == 4 and rows[1]["paths_add"] == (4 + 4 + 2) - 3


def test_the_network_diagram_draws_no_edge_between_blocks():
    from chainrule.viz.network import network_svg

    d = explain(small_net(), X, T, loss="squared-error", perturbation=False)
    svg = network_svg(d)
    assert svg.count("<line") == 2 * 3 + (2 * 2 + 1) + 3 * 2


def test_the_family_trees_diagram_draws_inputs_of_both_blocks():
    # 36 inputs (24 people, 12 relations) is more than a layer draws: the first 12 would all be
    # people, and the relation block's units would be drawn with no inputs at all
    from chainrule.viz.network import network_svg, units_drawn

    net, x, t = _family_trees_case()
    d = explain(net, x, t, loss="squared-error", perturbation=False)
    inputs = units_drawn(d)[0]
    assert len(inputs) == 12 and inputs == [*range(8), *range(24, 28)]
    svg = network_svg(d)
    assert "(12 of 36: units 1-8, 25-28)" in svg and "unit 25" in svg
    # each input drawn feeds the 6 encoding units of its own block, and only those
    assert svg.count("<line") == 12 * 6 + 12 * 12 + 12 * 6 + 6 * 12


def test_a_frozen_branch_is_named_by_its_model_name():
    net = small_net()
    net[2][1][0].weight.requires_grad_(False)
    d = explain(net, X, T, loss="squared-error", perturbation=False)
    assert any("2.1.0.weight" in note for note in d.notes)
    assert d.all_ok


@pytest.mark.parametrize(
    ("branches", "message"),
    [([(2, _branch(2, 2, 0)), (1, _branch(1, 1, 1, nn.Tanh))], "different units"),
     ([(2, _branch(2, 2, 0, nn.Softmax)), (1, _branch(1, 1, 1, nn.Softmax))], "ends in softmax"),
     ([(2, _branch(2, 2, 0)), (1, nn.Sequential(nn.Logistic()))], "branch 1 is Sequential"),
     ([(2, nn.Linear(2, 2, dtype="float64")), (1, nn.Linear(1, 1, bias=False, dtype="float64"))],
      "with and without biases")],
)  # fmt: skip
def test_a_parallel_the_views_cannot_write_is_refused_naming_why(branches, message):
    net = nn.Sequential(nn.Parallel(*branches), nn.Linear(3, 2, dtype="float64"))
    with pytest.raises(ExplainError, match=message):
        explain(net, [[1.0, 0.5, 0.2]], [[1.0, 0.0]], loss="squared-error")


def test_bare_linear_branches_take_the_unit_after_the_parallel():
    net = nn.Sequential(
        nn.Parallel((2, nn.Linear(2, 2, rng=0, dtype="float64")),
                    (1, nn.Linear(1, 1, rng=1, dtype="float64"))),
        nn.Tanh(), nn.Linear(3, 2, rng=2, dtype="float64"),
    )  # fmt: skip
    d = explain(net, [[1.0, 0.5, 0.2]], [[1.0, 0.0]], loss="squared-error")
    assert d.layers[1].activation == "tanh" and d.all_ok
    expected = net(Tensor(np.array([[1.0, 0.5, 0.2]]))).numpy()
    np.testing.assert_array_equal(d.layers[2].z, expected)


def test_the_explorer_shows_a_block_layer_as_the_explainer_reads_it():
    """The explorer's state keeps the blocks (null between them), and the network it rebuilds
    from that state (a Parallel of bare Linears, then the unit) is explained with the model's
    own numbers."""
    web = pytest.importorskip("chainrule.web.network")
    net = nn.Sequential(
        nn.Linear(2, 3, rng=5, dtype="float64"), nn.Tanh(),
        nn.Parallel((2, _branch(2, 2, 0, nn.Tanh)), (1, _branch(1, 1, 1, nn.Tanh))),
        nn.Linear(3, 2, rng=2, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    state = web.NetworkState.from_model(net, X[0], T[0], "squared-error")
    spec = json.loads(json.dumps(state.to_json()))
    assert [[v is None for v in row] for row in spec["weights"][1]] == [
        [False, False, True], [False, False, True], [True, True, False]
    ]  # fmt: skip
    rebuilt = web.NetworkState.from_json(spec).model()
    ours, theirs = explain(net, X, T, "squared-error"), explain(rebuilt, X, T, "squared-error")
    assert ours.error == theirs.error and theirs.all_ok
    for a, b in zip(ours.connections, theirs.connections):
        np.testing.assert_array_equal(a.dE_dw, b.dE_dw)
        np.testing.assert_array_equal(a.connected, b.connected)


def _two_block_net() -> nn.Sequential:
    """5 inputs -> 5 tanh -> a Parallel layer (unit 1 reads 1-3, units 2-3 read 4-5) -> 2."""
    return nn.Sequential(
        nn.Linear(5, 5, rng=3, dtype="float64"), nn.Tanh(),
        nn.Parallel((3, _branch(3, 1, 0)), (2, _branch(2, 2, 1))),
        nn.Linear(3, 2, rng=2, dtype="float64"), nn.Logistic(),
    )  # fmt: skip


X5 = np.array([[1.0, 0.5, -0.3, 0.2, 0.9]])


def test_the_tables_name_the_units_a_unit_of_the_second_block_feeds():
    """Unit 5 of layer 1 feeds units 2 and 3 of the block layer: the perturbation table headed
    its paths i=1, i=2, and the three views' folded row named positions, not units."""
    d = explain(_two_block_net(), X5, T, loss="squared-error", unit="1:5")
    text = render(d, "text", max_units=1)
    table = text[text.index("Perturbation view (") :].splitlines()[1]
    assert "path i=2" in table and "paths i=3" in table and "i=1" not in table
    views = text[text.index("One quantity, three views") :].split("Paths against")[0]
    assert re.search(r"^ +2 +0\.0026", views, re.M) and re.search(r"^ +3 +0\.00037", views, re.M)


def test_the_symbolic_sum_has_no_weight_between_blocks():
    d = explain(_two_block_net(), X5, T, loss="squared-error", unit="1:5", symbolic=True)
    proof = d.symbolic
    assert proof["equal"]
    assert "w_51" not in proof["sum_form"] and "w_52" in proof["sum_form"]
    assert "w_{51}" not in proof["sum_form_latex"]


def test_the_symbolic_size_limit_counts_only_existing_weights():
    """It counted the absent weights: 81 against a limit of 64, for a network of 49."""
    net = nn.Sequential(
        nn.Linear(3, 8, rng=0, dtype="float64"), nn.Tanh(),
        nn.Parallel((4, _branch(4, 4, 1)), (4, _branch(4, 4, 2))),
        nn.Linear(8, 1, rng=3, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    d = explain(net, [[1.0, 0.5, -0.3]], [[1.0]], loss="squared-error", unit="1:2",
                symbolic=True)  # fmt: skip
    assert d.symbolic is not None and d.symbolic["equal"]


@pytest.mark.parametrize("branch", [nn.Sequential(), nn.Identity(), nn.Sequential(nn.Dropout(0.1))])
def test_a_branch_without_a_linear_is_refused_naming_it(branch):
    net = nn.Sequential(nn.Parallel((2, branch), (1, _branch(1, 1, 1))), nn.Linear(3, 1))
    with pytest.raises(ExplainError, match="branch 0 is"):
        explain(net, [[1.0, 0.5, 0.2]], [[1.0]], loss="squared-error")


def test_dropout_in_a_branch_in_training_mode_gets_the_note():
    branch = nn.Sequential(nn.Linear(2, 2, rng=0, dtype="float64"), nn.Dropout(0.5),
                           nn.Logistic())  # fmt: skip
    net = nn.Sequential(nn.Parallel((2, branch), (1, _branch(1, 1, 1))),
                        nn.Linear(3, 2, rng=2, dtype="float64"))  # fmt: skip
    net.train()
    d = explain(net, [[1.0, 0.5, 0.2]], [[1.0, 0.0]], loss="squared-error")
    assert any("dropout at module 0.0.1 (p=0.5)" in note for note in d.notes)


def test_a_unit_after_a_parallel_of_units_is_refused_as_a_second_unit():
    """It said the unit "must follow a Linear layer", though layer 0 is a layer of Linears."""
    net = nn.Sequential(
        nn.Parallel((2, _branch(2, 1, 0)), (1, _branch(1, 2, 1))), nn.Tanh(), nn.Linear(3, 2)
    )
    with pytest.raises(ExplainError, match="already end in logistic, so it would apply a second"):
        explain(net, [[1.0, 0.5, 0.2]], [[1.0, 0.0]], loss="squared-error")
