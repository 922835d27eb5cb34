"""The ``no-toposort`` teaching bug is refused, before its walk, past its budget of rule calls.

Its recursive walk runs a tensor's rule once per path from the output to it, and the paths
multiply with each hidden layer: ``POST /api/bug`` on 8-8-8-8-8-8-2 gave no answer after 30 s
(2.5 million rule calls), and ``chainrule explain --bug no-toposort`` on six hidden layers of 16
never finished. The walk's cost is now counted first (one pass in reverse topological order)
and a network past :data:`~chainrule.explainer.bugs.NO_TOPOSORT_MAX_RULE_CALLS` is refused,
naming the bug, the count and the budget: one line and exit 2 from the CLI, a 422 that the
page shows as the bug turned off, as for the gradient check's limit.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.explainer.bugs as bugs
from chainrule.explainer import ExplainError, explain
from chainrule.explainer.unit_graph import unit_graph_of


def _layers(sizes: list[int], seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    """A logistic network of ``sizes`` (weights, biases from ``seed``), one case and a target."""
    rng = np.random.default_rng(seed)
    layers = [
        (rng.normal(0, 0.8, (a, b)), rng.normal(0, 0.3, b), "logistic")
        for a, b in zip(sizes, sizes[1:])
    ]
    return layers, rng.uniform(-1, 1, (1, sizes[0])), rng.integers(0, 2, (1, sizes[-1]))


def _derivation(sizes: list[int]):
    layers, x, t = _layers(sizes)
    return explain(layers, x, t.astype(float), perturbation=False, views=False, paths=False)


def _counted_walk(monkeypatch, output) -> tuple[int, dict]:
    """The buggy walk run with every rule call counted (its budget lifted), and its totals."""
    calls = []
    real = bugs.contributions

    def counting(tensor, total):
        calls.append(id(tensor))
        return real(tensor, total)

    monkeypatch.setattr(bugs, "contributions", counting)
    monkeypatch.setattr(bugs, "NO_TOPOSORT_MAX_RULE_CALLS", float("inf"))
    totals = bugs.backward_no_toposort(output)
    return len(calls), totals


def _reused_twice():
    a = cr.tensor(1.5, requires_grad=True)
    b = a + a
    return b + b  # micrograd's case: the walk runs c's rule once, b's twice


def _diamond_with_a_constant():
    a = cr.tensor(0.7, requires_grad=True)
    k = cr.tensor(2.0)  # needs no gradient: the walk neither visits nor counts it
    h = a * k
    u, v = cr.tanh(h), h * h
    return (u * v + u) * v  # rule calls by hand: out 1, (u*v + u) 1, u*v 1, u 2, v 2, h 6


@pytest.mark.parametrize("build", [_reused_twice, _diamond_with_a_constant])
def test_the_count_is_the_rule_calls_the_walk_makes_on_small_graphs(monkeypatch, build):
    output = build()
    expected = bugs.no_toposort_rule_calls(output)
    made, _ = _counted_walk(monkeypatch, output)
    assert made == expected
    assert made == {_reused_twice: 3, _diamond_with_a_constant: 13}[build]


@pytest.mark.parametrize("sizes", [[2, 2, 3], [2, 3, 3, 1], [3, 4, 2, 3, 2]])
def test_the_count_is_the_rule_calls_the_walk_makes_on_networks(monkeypatch, sizes):
    g = unit_graph_of(_derivation(sizes))
    expected = bugs.no_toposort_rule_calls(g.E)
    made, _ = _counted_walk(monkeypatch, g.E)
    assert made == expected


def test_the_seed_and_the_pages_digits_network_keep_the_bug():
    seed = explain(perturbation=False, views=False, paths=False)
    assert bugs.no_toposort_rule_calls(unit_graph_of(seed).E) <= bugs.NO_TOPOSORT_MAX_RULE_CALLS
    digits = unit_graph_of(_derivation([64, 16, 10]))  # the page's Train tab default for digits
    assert bugs.no_toposort_rule_calls(digits.E) <= bugs.NO_TOPOSORT_MAX_RULE_CALLS
    report = bugs.run_bug(seed, "no-toposort")
    assert report.caught and report.wrong_rows


def test_where_the_bug_runs_its_results_are_the_unbudgeted_walks(monkeypatch):
    g = unit_graph_of(_derivation([2, 3, 3, 1]))
    budgeted = bugs.backward_no_toposort(g.E)
    _, unbudgeted = _counted_walk(monkeypatch, g.E)
    assert budgeted.keys() == unbudgeted.keys()
    for key, value in budgeted.items():
        assert np.array_equal(value, unbudgeted[key])


def test_a_deep_network_is_refused_before_the_walk(monkeypatch):
    d = _derivation([8, 8, 8, 8, 8, 8, 2])
    calls = bugs.no_toposort_rule_calls(unit_graph_of(d).E)
    assert calls > bugs.NO_TOPOSORT_MAX_RULE_CALLS

    def no_rule(tensor, total):
        raise AssertionError("the walk started: it should have been refused first")

    monkeypatch.setattr(bugs, "contributions", no_rule)
    with pytest.raises(ExplainError) as caught:
        bugs.run_bug(d, "no-toposort")
    message = str(caught.value)
    assert message.startswith("no-toposort: ")
    assert f"{calls:,} times" in message
    assert f"{bugs.NO_TOPOSORT_MAX_RULE_CALLS:,}" in message
    assert "once per path" in message


# the command line's refusal (one line, exit 2, before any check; another bug on the same model
# still runs): test_bug_refused_before_checks.py


def test_the_web_turns_the_bug_off_and_says_why():
    pytest.importorskip("starlette")
    pytest.importorskip("pydantic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient
    from chainrule.web import create_app

    sizes = [8, 8, 8, 8, 8, 2]  # within the gradient check's 4096 derivatives
    layers, x, t = _layers(sizes)
    network = {
        "sizes": sizes,
        "weights": [np.round(w, 3).tolist() for w, _, _ in layers],
        "biases": [np.round(b, 3).tolist() for _, b, _ in layers],
        "activation": "logistic",
        "output": "logistic",
        "loss": "squared-error",
        "input": np.round(x[0], 3).tolist(),
        "target": t[0].astype(float).tolist(),
    }
    client = TestClient(
        create_app(), base_url="http://127.0.0.1", headers={"content-type": "application/json"}
    )

    def bug(name: str):
        return client.post("/api/bug", content=json.dumps({"network": network, "bug": name}))

    refused = bug("no-toposort")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error.startswith("no-toposort: ") and "once per path" in error
    calls = bugs.no_toposort_rule_calls(unit_graph_of(_derivation(sizes)).E)
    assert f"{calls:,} times" in error
    assert f"{bugs.NO_TOPOSORT_MAX_RULE_CALLS:,}" in error
    assert bug("assign").status_code == 200  # the network itself is fine for another bug


def _recursive_walk(output) -> dict:
    """The bug as first written, a recursive visit: the walk on a stack must match it."""
    totals = {id(output): bugs.seed(output)}

    def visit(tensor):
        if tensor.is_leaf:
            return
        pairs = bugs.contributions(tensor, totals[id(tensor)])
        for parent, contribution in pairs:
            bugs.sum_over_consumers(totals, parent, contribution)
        for parent, _ in pairs:
            visit(parent)

    visit(output)
    return totals


@pytest.mark.parametrize("sizes", [[2, 3, 3, 1], [3, 4, 2], [2, 2, 2, 2, 2]])
def test_the_walk_on_a_stack_visits_as_the_recursion_did(sizes):
    g = unit_graph_of(_derivation(sizes))
    expected = _recursive_walk(g.E)
    walked = bugs.backward_no_toposort(g.E)
    assert walked.keys() == expected.keys()
    for key, value in walked.items():
        assert np.array_equal(value, expected[key])


def test_a_wide_input_layer_does_not_reach_pythons_recursion_limit():
    """A unit's sum over 1000 inputs is a chain of 1000 adds: the recursive walk raised
    RecursionError (review, s58); within the budget, the bug runs."""
    model = cr.nn.mlp([1000, 3, 1], dtype="float64", rng=0)
    d = explain(model, np.ones((1, 1000)), np.array([[1.0]]), bug="no-toposort")
    assert d.bug is not None
