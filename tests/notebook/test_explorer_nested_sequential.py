"""The notebook explorer on a network built of blocks (an ``nn.Sequential`` inside the model): it
opens on the model's own weights, its answers are the model's own numbers, and a weight the user
edits in the nested module shows in the next view opened."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
pytest.importorskip("starlette", reason="the [app] extra is not installed")

nn = cr.nn
X, T = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])


def nested_net() -> nn.Sequential:
    """3 inputs -> an encoder block of 4 logistic units -> 2 logistic."""
    encoder = nn.Sequential(nn.Linear(3, 4, rng=1, dtype="float64"), nn.Logistic())
    return nn.Sequential(encoder, nn.Linear(4, 2, rng=2, dtype="float64"), nn.Logistic())


def test_the_widget_opens_on_the_nested_models_own_numbers():
    net = nested_net()
    host = cr.explorer(net, (X, T), nn.SquaredError()).explorer
    network = host.answer({"id": "a:1", "path": "/api/seed"})["data"]
    assert network["sizes"] == [3, 4, 2]
    np.testing.assert_array_equal(network["weights"][0], net[0][0].weight.numpy())
    np.testing.assert_array_equal(network["weights"][1], net[1].weight.numpy())
    reply = host.answer({"id": "a:2", "path": "/api/backward", "body": {"network": network}})
    assert reply["ok"], reply
    E = nn.SquaredError()(net(X[None]), T[None])
    E.backward()
    assert reply["data"]["E"] == pytest.approx(E.item(), rel=1e-12)
    np.testing.assert_allclose(reply["data"]["dE_dw"][0], net[0][0].weight.grad.numpy(), rtol=1e-10)


def test_an_edit_to_the_nested_modules_weight_shows_in_the_next_view():
    net = nested_net()
    host = cr.explorer(net, (X, T), nn.SquaredError()).explorer
    before = host.answer({"id": "a:1", "path": "/api/seed"})["data"]
    net[0][0].weight.data[0, 0] = 3.0  # the user's own encoder, edited in place
    after = host.answer({"id": "b:1", "path": "/api/seed"})["data"]
    assert before["weights"][0][0][0] != 3.0
    np.testing.assert_array_equal(after["weights"][0], net[0][0].weight.numpy())
    shown = host.answer({"id": "b:2", "path": "/api/backward", "body": {"network": after}})
    E = nn.SquaredError()(net(X[None]), T[None])
    assert shown["data"]["E"] == pytest.approx(E.item(), rel=1e-12)
