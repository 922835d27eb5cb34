"""A teaching bug that will be refused is refused before the derivation's checks run.

``explain(..., bug=...)`` ran every finite-difference check first and the bug last, so a
``no-toposort`` request past :data:`~chainrule.explainer.bugs.NO_TOPOSORT_MAX_RULE_CALLS` (or a
bug name that does not exist) cost the whole check before its one-line refusal, from
``explain``, ``chainrule explain --bug`` and ``POST /api/bug`` alike. The walk's count is linear
(:func:`~chainrule.explainer.bugs.no_toposort_rule_calls`), so it now comes first. Here the
check is replaced by one that fails the test if it is called.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule.explainer.build as build
from chainrule.cli import main
from chainrule.explainer import ExplainError, explain
from chainrule.explainer.bugs import NO_TOPOSORT_MAX_RULE_CALLS, no_toposort_rule_calls
from chainrule.explainer.unit_graph import unit_graph_of

DEEP = [8, 8, 8, 8, 8, 2]  # 318,319 rule calls; 402 derivatives, within the page's check


def _deep_layers(sizes: list[int] = DEEP):
    """A logistic network of ``sizes``, one case and a 0/1 target (numbers rounded, so the page
    sends the same ones)."""
    rng = np.random.default_rng(0)
    layers = [
        (np.round(rng.normal(0, 0.8, (a, b)), 3), np.round(rng.normal(0, 0.3, b), 3), "logistic")
        for a, b in zip(sizes, sizes[1:])
    ]
    x = np.round(rng.uniform(-1, 1, (1, sizes[0])), 3)
    return layers, x, rng.integers(0, 2, (1, sizes[-1])).astype(float)


def _rule_calls(layers, x, t) -> int:
    """The oracle's count: the walk's rule calls on the network's unit graph."""
    d = explain(layers, x, t, check=False, perturbation=False, views=False, paths=False)
    return no_toposort_rule_calls(unit_graph_of(d).E)


@pytest.fixture
def no_checks(monkeypatch):
    """The derivation's finite differences fail the test if they run; their calls are counted
    in the list this returns (for the contrast: a bug that runs does check)."""
    calls = []

    def refused(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the finite-difference check ran before the bug was refused")

    monkeypatch.setattr(build, "_finite_differences", refused)
    return calls


def _assert_budget_refusal(message: str, calls: int) -> None:
    assert message.startswith("no-toposort: "), message
    assert f"{calls:,} times" in message and f"{NO_TOPOSORT_MAX_RULE_CALLS:,}" in message


def test_explain_refuses_no_toposort_before_the_check(no_checks):
    layers, x, t = _deep_layers()
    calls = _rule_calls(layers, x, t)
    assert calls > NO_TOPOSORT_MAX_RULE_CALLS
    with pytest.raises(ExplainError) as caught:
        explain(layers, x, t, bug="no-toposort")
    _assert_budget_refusal(str(caught.value), calls)
    assert not no_checks
    # the contrast: a bug within its budget still runs after the check (which then runs)
    with pytest.raises(AssertionError, match="finite-difference check ran"):
        explain(layers, x, t, bug="assign")
    assert len(no_checks) == 1


def test_explain_refuses_an_unknown_bug_before_the_check(no_checks):
    layers, x, t = _deep_layers([2, 3, 1])
    with pytest.raises(ExplainError, match="bug='no-such-bug' is not known; use one of assign"):
        explain(layers, x, t, bug="no-such-bug")
    assert not no_checks


def test_the_cli_refuses_in_one_line_with_exit_2_before_the_check(
    tmp_path, capsys, monkeypatch, no_checks
):
    run = tmp_path / "deep"
    train = ["train", "--data", "xor", "--hidden", "10,10,10,10", "--epochs", "1"]
    assert main([*train, "--out", str(run)]) == 0
    capsys.readouterr()
    out = tmp_path / "x.md"
    assert main(["explain", "--model", str(run), "--bug", "no-toposort", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "no-toposort: " in err and f"{NO_TOPOSORT_MAX_RULE_CALLS:,}" in err
    assert "Traceback" not in err and not out.exists()
    assert not no_checks  # no check ran before the refusal
    # another bug on the same model still runs, checked: the check is put back, and counted
    monkeypatch.undo()
    checked = []
    check = build._finite_differences

    def counted(*args, **kwargs):
        checked.append(args)
        return check(*args, **kwargs)

    monkeypatch.setattr(build, "_finite_differences", counted)
    assert main(["explain", "--model", str(run), "--bug", "assign", "--out", str(out)]) == 0
    assert out.exists() and len(checked) == 1


def test_the_web_refuses_before_the_check(no_checks):
    pytest.importorskip("starlette")
    pytest.importorskip("pydantic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient
    from chainrule.web import create_app

    layers, x, t = _deep_layers()
    network = {
        "sizes": DEEP,
        "weights": [w.tolist() for w, _, _ in layers],
        "biases": [b.tolist() for _, b, _ in layers],
        "activation": "logistic",
        "output": "logistic",
        "loss": "squared-error",
        "input": x[0].tolist(),
        "target": t[0].tolist(),
    }
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    refused = client.post("/api/bug", json={"network": network, "bug": "no-toposort"})
    assert refused.status_code == 422, refused.text
    _assert_budget_refusal(refused.json()["error"], _rule_calls(layers, x, t))
    assert not no_checks
