"""A network with a layer joined in blocks (an ``nn.Parallel``, as the family-trees network's
encoders) in the explorer: its state writes ``null`` for each weight that does not exist, every
number the API gives is the model's own backward's, and a ``null`` pattern that is not blocks
along the diagonal is refused, saying so."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule import nn
from chainrule.explainer import explain
from chainrule.tensor import Tensor
from chainrule.web import create_app
from chainrule.web.network import NetworkState

X = np.array([0.3, -0.7])
T = np.array([1.0, 0.0])
#: where layer 2's weights exist: units 1-2 of layer 1 feed units 1-2, unit 3 feeds unit 3
JOINED = [[True, True, False], [True, True, False], [False, False, True]]


def block_net() -> nn.Sequential:
    """2 inputs -> 3 logistic -> a Parallel layer of 3 logistic units in blocks 2 + 1 -> 2."""

    def branch(n_in, n_out, seed):
        return nn.Sequential(nn.Linear(n_in, n_out, rng=seed, dtype="float64"), nn.Logistic())

    return nn.Sequential(
        nn.Linear(2, 3, rng=0, dtype="float64"), nn.Logistic(),
        nn.Parallel((2, branch(2, 2, 1)), (1, branch(1, 1, 2))),
        nn.Linear(3, 2, rng=3, dtype="float64"), nn.Logistic(),
    )  # fmt: skip


def block_state(net=None) -> dict:
    state = NetworkState.from_model(net or block_net(), X, T, nn.SquaredError())
    return json.loads(json.dumps(state.to_json()))  # as it travels


@pytest.fixture
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


def own_backward(net):
    """The model's own E and gradients: per layer the dense dE/dw (None between blocks), dE/db."""
    net.zero_grad()
    E = nn.SquaredError()(net(Tensor(X[None, :])), T[None, :])
    E.backward()
    first, parallel, top = net[0], net[2], net[3]
    blocks = [parallel[0][0], parallel[1][0]]
    middle = [[None] * 3 for _ in range(3)]
    for linear, (r0, c0) in zip(blocks, [(0, 0), (2, 2)]):
        g = linear.weight.grad.numpy()
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                middle[r0 + i][c0 + j] = float(g[i, j])
    dE_db = np.concatenate([linear.bias.grad.numpy() for linear in blocks])
    dE_dw = [first.weight.grad.numpy().tolist(), middle, top.weight.grad.numpy().tolist()]
    biases = [first.bias.grad.numpy(), dE_db, top.bias.grad.numpy()]
    return float(E.item()), dE_dw, biases


def test_the_state_has_null_exactly_between_the_blocks():
    net = block_net()
    spec = block_state(net)
    assert spec["sizes"] == [2, 3, 3, 2]
    assert all(
        v is not None for w in (spec["weights"][0], spec["weights"][2]) for r in w for v in r
    )
    assert [[v is not None for v in row] for row in spec["weights"][1]] == JOINED
    assert spec["weights"][1][0][:2] == net[2][0][0].weight.numpy()[0].tolist()
    assert spec["weights"][1][2][2] == net[2][1][0].weight.numpy()[0, 0]
    assert spec["biases"][1] == [*net[2][0][0].bias.numpy(), *net[2][1][0].bias.numpy()]
    # read back, it writes the same JSON
    assert NetworkState.from_json(spec).to_json() == spec


def test_backward_gives_the_models_own_numbers(client):
    net = block_net()
    response = client.post("/api/backward", json={"network": block_state(net)})
    assert response.status_code == 200, response.text
    shown = response.json()
    E, dE_dw, dE_db = own_backward(net)
    assert shown["E"] == pytest.approx(E, rel=1e-12)
    for l in range(3):
        for got, want in zip(shown["dE_dw"][l], dE_dw[l]):
            assert [g is None for g in got] == [w is None for w in want]
            np.testing.assert_allclose(
                [g for g in got if g is not None], [w for w in want if w is not None], rtol=1e-10
            )
        np.testing.assert_allclose(shown["dE_db"][l], dE_db[l], rtol=1e-10)
    assert shown["layers"][-1]["y"] == pytest.approx(net(Tensor(X[None, :])).numpy()[0].tolist())


def test_the_rebuilt_network_is_explained_as_the_model_is():
    net = block_net()
    ours = explain(net, X[None, :], T[None, :], nn.SquaredError())
    theirs = NetworkState.from_json(block_state(net)).derivation()
    assert theirs.error == ours.error
    for a, b in zip(ours.connections, theirs.connections):
        np.testing.assert_array_equal(a.dE_dw, b.dE_dw)
        np.testing.assert_array_equal(a.connected, b.connected)


def test_editing_an_existing_weight_round_trips(client):
    spec = block_state()
    spec["weights"][1][0][1] = 0.75
    net = block_net()
    net[2][0][0].weight.data[0, 1] = 0.75  # the same weight, in the model's own branch
    shown = client.post("/api/backward", json={"network": spec}).json()
    assert shown["E"] == pytest.approx(own_backward(net)[0], rel=1e-12)
    assert NetworkState.from_json(spec).to_json() == spec
    assert block_state(net) == spec


def test_every_endpoint_takes_a_network_in_blocks(client):
    spec = block_state()
    unit = {"network": spec, "layer": 1, "unit": 2}
    for path, body in [
        ("/api/paths", unit),
        ("/api/views", unit),
        ("/api/nudge", {**unit, "eps": 0.01}),
        ("/api/gradcheck", {"network": spec}),
        ("/api/bug", {"network": spec, "bug": "assign"}),
        ("/api/derivation", {"network": spec}),
        ("/api/export", {"network": spec, "format": "markdown"}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
    paths = client.post("/api/paths", json=unit).json()
    assert [t["j"] for t in paths["terms"]] == [2]  # unit 3 of layer 1 feeds its own block only
    nudge = client.post("/api/nudge", json={**unit, "eps": 0.01}).json()
    assert nudge["path_j"] == [2] and len(nudge["predicted_per_path"]) == 1
    check = client.post("/api/gradcheck", json={"network": spec}).json()
    # inputs 2, weights 6 + 5 + 6, biases 3 + 3 + 2: none between the blocks
    assert check["ok"] and check["checked"] == 27


@pytest.mark.parametrize(
    "nulls",
    [
        [(0, 0)],  # one weight missing inside a block
        [(0, 2), (1, 2), (2, 0)],  # unit 3 below joins unit 1, not a block along the diagonal
        [(2, 0), (2, 1), (2, 2)],  # unit 3 below joins nothing
    ],
)
def test_a_null_pattern_that_is_not_blocks_is_refused_saying_so(client, nulls):
    spec = block_state()
    spec["weights"][1] = [[0.1] * 3 for _ in range(3)]
    for i, j in nulls:
        spec["weights"][1][i][j] = None
    response = client.post("/api/backward", json={"network": spec})
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert "weights[1]" in error and "blocks along the diagonal" in error, error
    with pytest.raises(ValueError, match="blocks along the diagonal"):
        NetworkState.from_json(spec)


def test_a_network_without_nulls_is_as_before(client):
    seed = client.get("/api/seed").json()
    assert all(v is not None for w in seed["weights"] for r in w for v in r)
    shown = client.post("/api/backward", json={"network": seed}).json()
    assert all(v is not None for w in shown["dE_dw"] for r in w for v in r)


def test_the_explorers_refusals_are_named_as_the_explorers():
    """Mixed hidden units said "the explorer shows ..." with no prefix and no way on; the
    explainer's own refusals said "explain: ..." from the explorer."""
    from chainrule import nn
    from chainrule.explainer import ExplainError
    from chainrule.web.network import NetworkState

    mixed = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1), nn.ReLU(),
                          nn.Linear(2, 1, rng=2))  # fmt: skip
    with pytest.raises(ExplainError, match=r"^explorer: the page shows one kind .* writes it out"):
        NetworkState.from_model(mixed, [1.0, 0.5], [1.0], "squared-error")
    twice = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Softmax())
    with pytest.raises(ExplainError, match=r"^explorer: module 1 \(softmax\)"):
        NetworkState.from_model(twice, [1.0, 0.5], 0, "cross-entropy")
