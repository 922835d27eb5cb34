"""An output layer whose loss reads its z (cross-entropy on softmax logits, binary cross-entropy
on logistic logits) has no dE/dy: E is computed from z, not from y.

``/api/backward`` (the page's and the notebook widget's JSON) answered ``dE_dy: [0.0, ...]`` for
that layer, and the unit's tooltip then read "∂E/∂y = 0" beside "∂E/∂z = −0.65", against the
∂E/∂z = f'(z)·∂E/∂y the page teaches. The explainer's own record is None there; the JSON now
says null, its OpenAPI schema allows it, and the page says in words why there is no number.
Oracles: the explainer's own None, and a forward and backward pass by hand in NumPy. (A loss
that reads y keeps its top dE/dy: tests/web/test_web_api.py checks it against NumPy.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.notebook.explorer import Explorer, start_network  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402

X = np.array([0.1, 0.2, 0.3])


def logit_loss_network(loss_name: str) -> tuple[dict, cr.nn.Sequential, cr.nn.Loss]:
    """The network JSON the explorer opens on (``start_network``), its model and its loss."""
    if loss_name == "cross-entropy":
        net, loss, t = cr.nn.mlp([3, 4, 3], dtype="float64", rng=1), cr.nn.CrossEntropy(), 2
    else:
        net, loss = cr.nn.mlp([3, 4, 2], dtype="float64", rng=2), cr.nn.BinaryCrossEntropy()
        t = np.array([1.0, 0.0])
    return start_network(net, (X, t), loss), net, loss


def by_hand(network: dict) -> dict:
    """Forward and backward in NumPy from the JSON's own weights: each layer's y, z, dE/dz and
    dE/dy, the hidden units logistic; dE/dz of the top straight from the loss on z (one case):
    softmax(z) - t for cross-entropy, (logistic(z) - t) / outputs for binary cross-entropy."""
    assert network["activation"] == "logistic"  # the hidden units this oracle computes
    logistic = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ys, zs = [np.asarray(network["input"], dtype=np.float64)], [None]
    weights = [np.asarray(w, dtype=np.float64) for w in network["weights"]]
    for k, (w, b) in enumerate(zip(weights, network["biases"])):
        z = ys[-1] @ w + np.asarray(b)
        top = k == len(weights) - 1
        if top and network["output"] == "softmax":
            y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        else:
            y = logistic(z)
        ys.append(y)
        zs.append(z)
    t = np.asarray(network["target"], dtype=np.float64)
    dz = ys[-1] - t if network["loss"] == "cross-entropy" else (ys[-1] - t) / t.size
    dE_dz, dE_dy = [dz], [None]  # from the top down; the top has no dE/dy
    for k in range(len(weights) - 1, 0, -1):
        dy = weights[k] @ dE_dz[0]
        dE_dy.insert(0, dy)
        dE_dz.insert(0, ys[k] * (1 - ys[k]) * dy)
    dE_dy.insert(0, weights[0] @ dE_dz[0])
    return {"y": ys, "z": zs, "dE_dz": [None, *dE_dz], "dE_dy": dE_dy}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.mark.parametrize("loss_name", ["cross-entropy", "binary-cross-entropy"])
def test_the_top_layers_dE_dy_is_null_in_both_hosts_and_the_numbers_are_the_hand_pass(
    client, loss_name
):
    network, net, loss = logit_loss_network(loss_name)
    server = client.post("/api/backward", json={"network": network})
    assert server.status_code == 200, server.text
    request = {"id": 1, "path": "/api/backward", "body": {"network": network}}
    widget = Explorer(network).answer(request)
    assert widget["ok"], widget
    shown = server.json()
    assert widget["data"] == shown  # one JSON, both hosts
    top = shown["layers"][-1]
    # the explainer's own record has no dE/dy for this layer: the JSON says so (it said 0s)
    t = np.asarray(network["target"])[None]
    assert cr.explain(net, X[None], t, loss, check=False).layers[-1].dE_dy is None
    assert top["dE_dy"] is None
    hand = by_hand(network)
    np.testing.assert_allclose(top["dE_dz"], hand["dE_dz"][-1], rtol=1e-12, atol=1e-15)
    for k, layer in enumerate(shown["layers"][:-1]):  # every other layer keeps its numbers
        np.testing.assert_allclose(layer["dE_dy"], hand["dE_dy"][k], rtol=1e-10, atol=1e-14)
    assert s.PassResponse.model_validate(shown).layers[-1].dE_dy is None


def test_the_openapi_document_says_a_layers_dE_dy_may_be_null(client):
    document = client.get("/openapi.json").json()
    field = document["components"]["schemas"]["LayerNumbers"]["properties"]["dE_dy"]
    assert {"type": "null"} in field.get("anyOf", []), field


# -- the page: the top unit's tooltip and the step's caption ------------------------------------


def test_the_pages_top_unit_says_why_it_has_no_dE_dy(tmp_path, chromium):
    """The top units' tooltips said "∂E/∂y = 0" beside their ∂E/∂z, and the step's caption
    "∂E/∂y_j from the loss, then ∂E/∂z_j = dy_j/dz_j · ∂E/∂y_j"."""
    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    network, _, _ = logit_loss_network("cross-entropy")
    path = tmp_path / "ce.json"
    path.write_text(json.dumps(network))
    hand = by_hand(network)
    url, stop = serve(create_app())
    try:
        with opened_page(chromium, url) as page:
            page.set_input_files("#load-file", str(path))
            page.wait_for_function("document.querySelectorAll('g.unit').length === 10")
            for _ in range(4):  # inputs, layer 1, layer 2, E: then the top's dE/dz
                page.click("#btn-step")
            caption = page.inner_text("#caption")
            assert "reads the logits z" in caption and "no \u2202E/\u2202y_j step" in caption
            for j in range(3):
                tip = page.text_content(f"g.unit[data-layer='2'][data-unit='{j}'] > title")
                lines = tip.split("\n")
                assert "\u2202E/\u2202y: not shown (the cross-entropy reads z directly)" in lines
                assert not any(line.startswith("\u2202E/\u2202y =") for line in lines), tip
                dz = next(line for line in lines if line.startswith("\u2202E/\u2202z = "))
                value = float(dz.removeprefix("\u2202E/\u2202z = ").replace("\u2212", "-"))
                assert value == pytest.approx(hand["dE_dz"][-1][j], rel=1e-5)  # 6 digits shown
            page.click("#btn-all")  # every number, and the top unit's panel: no null shown
            page.click("g.unit[data-layer='2'][data-unit='0']")
            info = page.inner_text("#unit-info")
            assert "computed from the logits z" in info and "\u2202E/\u2202yj =" not in info
            labels = page.eval_on_selector_all(
                "#diagram text", "els => els.map(e => e.textContent)"
            )
            assert not any(
                text.startswith("\u2202E/\u2202y ") and text.endswith(" 0") for text in labels
            )
    finally:
        stop()
