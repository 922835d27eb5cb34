"""The explorer explains the user's model, not a copy that forgot what the numbers do not say.

The explorer's state kept a model's sizes, weights, units and case only, and every view
explained the ``nn.Sequential`` rebuilt from them: a frozen parameter (``requires_grad=False``)
was trained by the no-zero-grad bug's step (its wrong dE/dw -0.0030055 where ``cr.explain``
gives -0.0018275) and the derivation's note on it was missing; a Linear in a Sequential inside
the model (``0.0.weight``) was named ``0.weight`` in ``/api/derivation`` and ``/api/export``, a
name the model does not have. The state now carries the model's parameter names and which of
them are frozen. Oracle: ``cr.explain`` (and its renderer) on the user's own model, the views'
definition; and for the bug, that a frozen weight's wrong value is its right one (the step
leaves it, so nothing piles up on it), which the copy's did not satisfy.
"""

from __future__ import annotations

import copy
import json

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from chainrule import nn  # noqa: E402
from chainrule.explainer import explain, render, to_dict  # noqa: E402
from chainrule.notebook.explorer import Explorer, start_network  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import MAX_CHECKS  # noqa: E402

X, T = [0.5, 0.2], [1.0, 0.0]
LOSS = nn.SquaredError()


def frozen_net() -> nn.Sequential:
    """2-2-2 logistic (QA's t3.py), its first weight frozen."""
    net = nn.Sequential(nn.Linear(2, 2, rng=1, dtype="float64"), nn.Logistic(),
                        nn.Linear(2, 2, rng=2, dtype="float64"), nn.Logistic())  # fmt: skip
    net[0].weight.requires_grad = False
    return net


def nested_net() -> nn.Sequential:
    """Blocks (a Sequential inside the model) and a dropout between them (QA's t7.py), the first
    block's bias frozen: parameters 0.0.weight, 0.0.bias, 2.0.weight, 2.0.bias."""
    net = nn.Sequential(
        nn.Sequential(nn.Linear(2, 3, rng=3, dtype="float64"), nn.Tanh()),
        nn.Dropout(0.0),
        nn.Sequential(nn.Linear(3, 2, rng=4, dtype="float64"), nn.Logistic()),
    )
    net[0][0].bias.requires_grad = False
    return net


def parallel_net() -> nn.Sequential:
    """A layer joined in blocks whose branches are Sequentials (2.0.0.weight, 2.1.0.weight)."""

    def branch(n_in: int, n_out: int, seed: int) -> nn.Sequential:
        return nn.Sequential(nn.Linear(n_in, n_out, rng=seed, dtype="float64"), nn.Tanh())

    net = nn.Sequential(
        nn.Linear(2, 3, rng=5, dtype="float64"), nn.Tanh(),
        nn.Parallel((2, branch(2, 2, 0)), (1, branch(1, 1, 1))),
        nn.Linear(3, 2, rng=2, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    net[2].branches[1][0].weight.requires_grad = False
    return net


MODELS = {"frozen": frozen_net, "nested": nested_net, "parallel": parallel_net}


def derivation_of(model: nn.Sequential) -> dict:
    """What ``/api/derivation`` is: ``explain(model, ...)``'s JSON, checked, with its views."""
    d = explain(model, [X], [T], LOSS, max_checks=MAX_CHECKS)
    return json.loads(json.dumps(to_dict(d)))


def ask(host: Explorer, path: str, body: dict) -> dict:
    reply = host.answer({"id": "1", "path": path, "body": body})
    assert reply["ok"], reply
    return reply["data"]


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.mark.parametrize("name", list(MODELS))
def test_the_derivation_and_its_export_are_explains_of_the_model(client, name):
    model = MODELS[name]()
    network = start_network(model, (X, T), LOSS)
    shown = ask(Explorer(network), "/api/derivation", {"network": network})
    wanted = derivation_of(model)
    own = [n for n, _ in model.named_parameters()]
    names = [c[key] for c in shown["connections"] for key in ("weight_name", "bias_name")]
    assert set(" and ".join(names).split(" and ")) == set(own)  # no name the model lacks
    assert any(note.startswith("Frozen (requires_grad=False): ") for note in shown["notes"])
    assert shown == wanted
    served = client.post("/api/export", json={"network": network, "format": "markdown"})
    assert served.status_code == 200, served.text
    d = explain(model, [X], [T], LOSS, max_checks=MAX_CHECKS)
    assert served.json()["text"] == render(d, "markdown", host="cli")  # the command's words


def test_the_bug_step_leaves_a_frozen_weight_as_explain_does(client):
    model = frozen_net()
    network = start_network(model, (X, T), LOSS)
    served = client.post("/api/bug", json={"network": network, "bug": "no-zero-grad"})
    assert served.status_code == 200, served.text
    shown = served.json()
    wanted = explain(model, [X], [T], LOSS, bug="no-zero-grad").bug.to_dict()
    assert shown["note"] == wanted["note"]
    rows = {tuple([r["quantity"], *r["index"]]): r for r in shown["rows"]}
    for row in wanted["rows"]:
        got = rows[tuple([row["quantity"], *row["index"]])]
        assert (got["right"], got["wrong"]) == (row["right"], row["wrong"])
    frozen = [r for key, r in rows.items() if key[:2] == ("w", 0)]
    assert len(frozen) == 4
    for row in frozen:  # no step moved it and no .grad piled up on it
        assert row["wrong"] == pytest.approx(row["right"], rel=1e-12)


def test_an_edit_on_the_page_is_an_edit_of_the_model():
    model = nested_net()
    network = start_network(model, (X, T), LOSS)
    network["weights"][1][2][0] = 0.75  # w_31 from layer 1 to layer 2 on the page
    edited = copy.deepcopy(model)
    edited[2][0].weight.data[2, 0] = 0.75  # the same weight in the user's nested block
    edited[0][0].bias.requires_grad = False
    shown = ask(Explorer(network), "/api/derivation", {"network": network})
    assert shown == derivation_of(edited)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda n: n.update(names=n["names"][:1]), "names: 3 layers need 2 lists"),
        (lambda n: n["names"][0].pop(), "names[0]: weight layer 0 has a weight and a bias (2"),
        (lambda n: n["names"][1].__setitem__(0, "0.0.weight"), "'0.0.weight' names two"),
        (lambda n: n.update(frozen=["0.bias"]), "frozen: '0.bias' is not one of"),
        (lambda n: n.pop("names"), "frozen: names parameters of `names`"),
    ],
)
def test_names_that_do_not_fit_the_network_are_refused_naming_them(client, change, words):
    network = start_network(nested_net(), (X, T), LOSS)
    change(network)
    response = client.post("/api/backward", json={"network": network})
    assert response.status_code == 422, response.text
    assert words in response.json()["error"], response.json()["error"]
