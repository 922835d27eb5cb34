"""The explorer is a view of an ``nn.Sequential`` read through the explainer: its state converts
to and from the model, and its numbers change when (and only when) the explainer's do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette's note about httpx is not ours to fix
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from chainrule import nn
from chainrule.explainer import Term
from chainrule.tensor import Tensor
from chainrule.web import create_app
from chainrule.web.network import NetworkState


@pytest.fixture
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")  # the Host the app allows


def test_changing_the_explainers_rule_for_a_term_changes_the_page(client, monkeypatch):
    seed = client.get("/api/seed").json()
    request = {"network": seed, "layer": 1, "unit": 0}
    paths = client.post("/api/paths", json=request).json()
    nudge = client.post("/api/nudge", json={**request, "eps": 0.01}).json()
    monkeypatch.setattr(Term, "product", property(lambda term: 3.0 * term.w * term.dE_dz))
    changed = client.post("/api/paths", json=request).json()
    changed_nudge = client.post("/api/nudge", json={**request, "eps": 0.01}).json()
    assert [t["term"] for t in changed["terms"]] == pytest.approx(
        [3.0 * t["term"] for t in paths["terms"]], rel=1e-12
    )
    assert changed["sum_of_terms"] == pytest.approx(3.0 * paths["sum_of_terms"], rel=1e-12)
    assert changed_nudge["predicted"] == pytest.approx(3.0 * nudge["predicted"], rel=1e-12)
    assert changed["dE_dy"] == paths["dE_dy"]  # the engine's own number is not the term's rule
    assert changed_nudge["measured"] == nudge["measured"]


@pytest.mark.parametrize(
    ("output", "loss"),
    [("logistic", "squared-error"), ("softmax", "cross-entropy"),
     ("logistic", "binary-cross-entropy")],
)  # fmt: skip
def test_the_page_shows_the_models_own_loss_and_backward(client, output, loss):
    body = {"sizes": [3, 4, 2], "activation": "tanh", "output": output, "loss": loss, "seed": 5}
    net = client.post("/api/network/new", json=body).json()
    shown = client.post("/api/backward", json={"network": net}).json()
    state = NetworkState.from_json(net)
    model, loss_object = state.model(), state.loss_object()
    E = loss_object(model(Tensor(state.input[None, :])), state.target[None, :])
    E.backward()
    assert shown["E"] == pytest.approx(float(E.item()), rel=1e-12)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for k, layer in enumerate(linears):
        np.testing.assert_allclose(shown["dE_dw"][k], layer.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(shown["dE_db"][k], layer.bias.grad.numpy(), rtol=1e-10)


def test_state_round_trips_through_an_nn_sequential():
    model = nn.mlp([3, 4, 2], activation="tanh", output="logistic", dtype=np.float64, rng=0)
    state = NetworkState.from_model(model, [0.1, 0.2, 0.3], [1.0, 0.0], nn.SquaredError())
    again = NetworkState.from_model(state.model(), state.input, state.target, state.loss)
    assert again.to_json() == state.to_json()
    assert state.activation == "tanh" and state.output == "logistic"
    x = Tensor(np.array([[0.1, 0.2, 0.3]]))
    np.testing.assert_array_equal(state.model()(x).numpy(), model(x).numpy())


def test_a_float32_model_is_shown_with_its_own_float32_numbers(client):
    """The page rebuilt a float32 model in float64, so its E (2.1240259e-05 on a digits case)
    was not the model's own (2.1219028e-05, what ``chainrule explain`` shows)."""
    model = nn.mlp([3, 4, 3], activation="tanh", rng=0)  # float32, as chainrule train makes it
    x, label, loss = np.array([0.3, -1.2, 2.0]), 2, nn.CrossEntropy()
    network = NetworkState.from_model(model, x, label, loss).to_json()
    assert network["dtype"] == "float32"
    shown = client.post("/api/backward", json={"network": network}).json()
    E = loss(model(Tensor(x[None, :].astype(np.float32))), np.array([label]))  # training's cast
    E.backward()
    assert shown["E"] == float(E.item())
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for k, layer in enumerate(linears):
        np.testing.assert_array_equal(shown["dE_dw"][k], layer.weight.grad.numpy())
        np.testing.assert_array_equal(shown["dE_db"][k], layer.bias.grad.numpy())


def test_the_networks_the_page_makes_stay_float64(client):
    """The seed, a new network and a saved file from before ``dtype`` all run in float64."""
    new = client.post("/api/network/new", json={"sizes": [2, 3, 1]}).json()
    for network in (client.get("/api/seed").json(), new):
        assert network["dtype"] == "float64"
        del network["dtype"]
        assert NetworkState.from_json(network).model().dtype == np.float64
        assert client.post("/api/backward", json={"network": network}).status_code == 200
    refused = client.post("/api/backward", json={"network": {**new, "dtype": "float16"}})
    assert refused.status_code == 422 and "network.dtype" in refused.json()["error"]
