"""The explorer page on a network built of blocks (an ``nn.Sequential`` inside the model): it reads
the layers as ``explain`` does, the flat chain of the model's own modules, and every number the
API gives is the nested model's own backward's."""

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
from chainrule.tensor import Tensor
from chainrule.web import create_app
from chainrule.web.network import NetworkState

X = np.array([0.3, -0.7])
T = np.array([1.0, 0.0])


def _linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    return nn.Linear(n_in, n_out, rng=seed, dtype="float64")


def nested_net() -> nn.Sequential:
    """2 inputs -> an encoder block (3 tanh units) -> 2 tanh -> 2 logistic."""
    encoder = nn.Sequential(_linear(2, 3, 0), nn.Tanh())
    return nn.Sequential(encoder, nn.Sequential(_linear(3, 2, 1), nn.Tanh()), _linear(2, 2, 2),
                         nn.Logistic())  # fmt: skip


def linears(net: nn.Sequential) -> list[nn.Linear]:
    return [net[0][0], net[1][0], net[2]]


def state_of(net: nn.Sequential) -> dict:
    state = NetworkState.from_model(net, X, T, nn.SquaredError())
    return json.loads(json.dumps(state.to_json()))  # as it travels


def test_the_page_reads_the_nested_model_as_its_flat_twin():
    net = nested_net()
    flat = nn.Sequential(_linear(2, 3, 0), nn.Tanh(), _linear(3, 2, 1), nn.Tanh(), _linear(2, 2, 2),
                         nn.Logistic())  # fmt: skip
    spec = state_of(net)
    # the numbers are the flat twin's; the names are the nested model's own, which the flat
    # twin's (the names of the model the server rebuilds) go without saying
    names = spec.pop("names")
    assert names == [[n for n, _ in net.named_parameters()][k : k + 2] for k in (0, 2, 4)]
    assert spec == state_of(flat) and "names" not in state_of(flat)
    assert spec["sizes"] == [2, 3, 2, 2] and spec["activation"] == "tanh"
    for shown, linear in zip(spec["weights"], linears(net)):
        np.testing.assert_array_equal(shown, linear.weight.numpy())


def test_the_pages_numbers_are_the_nested_models_own_backward():
    net = nested_net()
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    response = client.post("/api/backward", json={"network": state_of(net)})
    assert response.status_code == 200, response.text
    shown = response.json()
    E = nn.SquaredError()(net(Tensor(X[None, :])), Tensor(T[None, :]))
    E.backward()
    assert shown["E"] == pytest.approx(E.item(), rel=1e-12)
    for dE_dw, dE_db, linear in zip(shown["dE_dw"], shown["dE_db"], linears(net)):
        np.testing.assert_allclose(dE_dw, linear.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(dE_db, linear.bias.grad.numpy(), rtol=1e-10)


def test_a_page_opened_on_it_shows_it_and_an_edit_is_the_nested_modules_weight():
    net = nested_net()
    state = NetworkState.from_model(net, X, T, nn.SquaredError())
    client = TestClient(create_app(start=state), base_url="http://127.0.0.1")
    spec = client.get("/api/seed").json()
    assert spec == state_of(net)
    spec["weights"][1][2][0] = 0.75  # w_31 from layer 1 to layer 2 on the page
    net[1][0].weight.data[2, 0] = 0.75  # the same weight, in the user's nested module
    assert state_of(net) == spec
    shown = client.post("/api/backward", json={"network": spec}).json()
    E = nn.SquaredError()(net(Tensor(X[None, :])), Tensor(T[None, :]))
    assert shown["E"] == pytest.approx(E.item(), rel=1e-12)
