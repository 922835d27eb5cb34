"""Where a refusal says it is, written one way, and the explorer's choices of loss.

- A check of the whole network (target in [0, 1] for cross-entropy, a bias vector's length)
  puts the field it is about into the location: "invalid request: network.target: ...", as a
  field's own refusal reads "network.input[0]: ...", not "network: target: ...". The Edit tab
  then says "target t3: loss 'cross-entropy' needs targets in [0, 1]" (it kept the API's raw
  "invalid request: network: target: " after the label).
- ``cr.explorer`` refusing a model's numbers writes the place as every other message does
  (input[0], not input.0).
- An unknown loss for ``cr.explorer`` is answered with the losses the explorer computes (it
  offered margin-squared-error, which the explorer then refused).

The browser test runs in Debian's chromium (Playwright), skipped saying why where it is missing.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

import chainrule as cr  # noqa: E402
from chainrule.notebook.explorer import start_network  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402

TARGETS = "loss 'cross-entropy' needs targets in [0, 1]"


def cross_entropy_state() -> NetworkState:
    """A 2-3-3 network reading logits, cross-entropy, case target class 1."""
    model = cr.nn.mlp([2, 3, 3], output=None, dtype="float64", rng=3)
    return NetworkState.from_model(model, [0.4, -0.6], 1, "cross-entropy")


def refusal(network: dict) -> str:
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    response = client.post(
        "/api/backward",
        content=json.dumps({"network": network}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    return response.json()["error"]


def test_a_whole_network_check_puts_its_field_in_the_location():
    network = cross_entropy_state().to_json()
    network["target"][2] = 2.0
    assert refusal(network) == f"invalid request: network.target: {TARGETS}"
    network = cross_entropy_state().to_json()
    network["biases"][0] = network["biases"][0][:2]
    assert refusal(network) == "invalid request: network.biases[0]: layer 1 has 3 units, got 2"
    # a field's own refusal is written the same way
    network = cross_entropy_state().to_json()
    network["input"][0] = 2e6
    assert refusal(network).startswith("invalid request: network.input[0]: Input should be")


@pytest.mark.parametrize(
    ("where", "place"),
    [("input", "input[0]"), ("weight", "weights[0][1][2]")],
)
def test_the_explorer_writes_a_refused_numbers_place_as_the_api_does(where, place):
    model = cr.nn.mlp([2, 3, 1], output=None, dtype="float64", rng=0)
    x = np.array([0.5, -0.5])
    if where == "input":
        x[0] = 2e6
    else:
        model[0].weight.data[1, 2] = 2e6
    with pytest.raises(cr.errors.UserError) as refused:
        start_network(model, (x, np.array([0.0])), "mse")
    message = str(refused.value)
    assert f"cannot show this model: {place}: Input should be less than or equal" in message


#: A model and a case each loss the page computes takes: (sizes, x, t).
CASES = {
    "squared-error": ([2, 3, 2], [0.5, -0.5], [1.0, 0.0]),
    "mse": ([2, 3, 2], [0.5, -0.5], [1.0, 0.0]),
    "cross-entropy": ([2, 3, 2], [0.5, -0.5], 1),
    "binary-cross-entropy": ([2, 3, 1], [0.5, -0.5], [1.0]),
}


def test_an_unknown_loss_is_answered_with_the_losses_the_explorer_computes():
    model = cr.nn.mlp([2, 3, 2], output=None, dtype="float64", rng=0)
    with pytest.raises(cr.errors.UserError) as refused:
        start_network(model, ([0.5, -0.5], [1.0, 0.0]), "bogus-loss")
    message = str(refused.value)
    assert message.startswith("explorer: unknown loss 'bogus-loss'")
    assert "; the explorer computes " in message, message
    offered = message.split("the explorer computes ")[1].split(", ")
    assert "margin-squared-error" not in offered
    assert set(offered) == set(CASES)
    for name in offered:  # each loss offered is one the explorer then takes
        sizes, x, t = CASES[name]
        model = cr.nn.mlp(sizes, output=None, dtype="float64", rng=0)
        assert start_network(model, (x, t), name)["loss"] == name


def test_the_edit_tab_says_a_whole_network_refusal_after_the_fields_label(chromium):
    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    url, stop = serve(create_app(start=cross_entropy_state()))
    try:
        with opened_page(chromium, url) as page:
            before = page.evaluate("JSON.stringify(S.net)")
            page.click("button[data-tab=edit]")
            page.click("g.unit[data-layer='2'][data-unit='2']")
            page.wait_for_selector("#edit-unit input")
            field = page.locator("#edit-unit input").nth(1)  # bias b3, then target t3
            field.fill("2")
            field.press("Enter")
            page.wait_for_function("!document.getElementById('message').hidden")
            assert page.text_content("#message") == f"target t3: {TARGETS}"
            assert page.evaluate("JSON.stringify(S.net)") == before
    finally:
        stop()
