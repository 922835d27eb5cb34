"""The page's losses come from the library, through the API both hosts use (session 56).

The page kept its own copies of what the losses are: index.html listed the loss options (a copy
of ``network.PAGE_LOSSES``) and app.js's ``LOSS_NEEDS`` said which top units each needs (a copy
of each loss object's ``output_activation``), and the Edit form followed that copy. Now
``GET /api/losses`` says them (name, the top units the loss applies itself, whether its targets
must lie in [0, 1]), the page fills its list from it and the Edit form follows it.

Oracles: the loss classes themselves (``nn.losses.LOSSES[name]``: its ``name`` and
``output_activation``), and the server's own refusal of a target outside [0, 1]; a change of a
loss's needs made in the library (monkeypatched in-process) must reach the page.
Browser tests run in Debian's chromium (Playwright), skipped, saying why, where it is missing.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from page_lists import library_losses  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.nn import losses as library  # noqa: E402
from chainrule.notebook.explorer import Explorer  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web import network as web_network  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402
from chainrule.web.app import STATIC_DIR  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402

LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url=LOCAL)


def test_the_api_says_the_libraries_losses_in_both_hosts(client):
    answer = client.get("/api/losses")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"losses": library_losses()}
    s.LossesResponse.model_validate(answer.json())
    widget = Explorer().answer({"id": "v:1", "path": "/api/losses", "body": None})
    assert widget == {"id": "v:1", "ok": True, "data": answer.json()}  # one JSON, both hosts
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/losses"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/LossesResponse")
    properties = document["components"]["schemas"]["PageLoss"]["properties"]
    assert set(properties) == {"name", "top_units", "targets_in_unit_interval"}


@pytest.mark.parametrize("loss", library_losses(), ids=lambda loss: loss["name"])
def test_a_target_outside_0_1_is_refused_exactly_where_the_page_is_told(client, loss):
    """What the page is told about targets (``/api/losses``, as the library says it) is what
    the server refuses: the page clips them before it asks, so it is never refused for the
    targets it could have fixed."""
    told = {entry["name"]: entry for entry in client.get("/api/losses").json()["losses"]}
    assert told[loss["name"]] == loss
    output = loss["top_units"] or "linear"
    body = {"sizes": [2, 3, 2], "output": output, "loss": loss["name"]}
    network = client.post("/api/network/new", json=body).json()
    network["target"] = [1.5, 0.0]
    answer = client.post("/api/backward", json={"network": network})
    refused = answer.status_code == 422 and "needs targets in [0, 1]" in answer.json()["error"]
    assert refused == loss["targets_in_unit_interval"], answer.text
    assert answer.status_code in (200, 422)


def test_the_page_has_no_copy_of_the_losses():
    """The loss list of index.html is empty (app.js fills it), and app.js keeps no table of
    what a loss needs."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    select = re.search(r'<select id="edit-loss">(.*?)</select>', page, re.S)
    assert select is not None and "<option" not in select.group(1)
    assert "LOSS_NEEDS" not in (STATIC_DIR / "app.js").read_text(encoding="utf-8")


# -- in the browser ---------------------------------------------------------------------------

#: A regression network: linear top units, squared error, targets outside [0, 1].
TARGET = [5.0, -1.5]


@pytest.fixture(scope="module")
def regression_url():
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("uvicorn")
    from served import serve

    model = cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)
    state = NetworkState.from_model(model, [0.4, -0.6], TARGET, "squared-error")
    url, stop = serve(create_app(start=state))
    yield url
    stop()


def loss_options(page) -> list[str]:
    return page.eval_on_selector_all("#edit-loss option", "(os) => os.map((o) => o.value)")


def choose_loss(page, name: str) -> dict:
    """Choose loss ``name`` in the Edit form; returns the network the page then shows."""
    page.select_option("#edit-loss", name)
    page.wait_for_function("(name) => S.net.loss === name", arg=name, timeout=10_000)
    assert not page.is_visible("#message"), page.inner_text("#message")
    return page.evaluate("S.net")


def check_choice(page, loss: dict) -> None:
    """Choosing ``loss`` on the regression network: its top units follow where it needs its
    own, and its targets are clipped into [0, 1] where it needs them there, the note saying so."""
    shown = choose_loss(page, loss["name"])
    assert shown["output"] == (loss["top_units"] or "linear")
    clipped = [min(1.0, max(0.0, t)) for t in TARGET]
    assert shown["target"] == (clipped if loss["targets_in_unit_interval"] else TARGET)
    note = page.inner_text("#edit-note") if page.is_visible("#edit-note") else ""
    if loss["top_units"]:
        assert f"needs {loss['top_units']} top units" in note
        assert "targets were clipped" in note
    else:
        assert note == ""


def test_the_pages_loss_list_and_needs_are_the_librarys(open_page, regression_url):
    page = open_page(regression_url, tab="edit")
    listed = page.evaluate("fetch('/api/losses').then((r) => r.json())")
    assert listed == {"losses": library_losses()}  # what the page reads, as the library says
    assert loss_options(page) == [loss["name"] for loss in library_losses()]
    assert page.input_value("#edit-loss") == "squared-error"
    for loss in library_losses():
        check_choice(open_page(regression_url, tab="edit"), loss)


def test_a_change_of_a_losss_needs_in_the_library_reaches_the_page(
    open_page, regression_url, monkeypatch
):
    """MSE made to apply logistic units itself, and binary cross-entropy no longer offered:
    the page's list and its Edit form follow, with no change to the page."""
    monkeypatch.setattr(library.MSE, "output_activation", "logistic")
    offered = ("squared-error", "mse", "cross-entropy")
    monkeypatch.setattr(web_network, "PAGE_LOSSES", offered)
    expected = library_losses()
    assert [loss["name"] for loss in expected] == list(offered)
    assert expected[1] == {"name": "mse", "top_units": "logistic", "targets_in_unit_interval": True}
    page = open_page(regression_url, tab="edit")
    assert loss_options(page) == list(offered)
    check_choice(page, expected[1])  # mse: logistic top units now, targets clipped
    # top units mse can no longer read: it gives way to the first loss that takes them
    page.select_option("#edit-output", "softmax")
    page.wait_for_function("S.net.output === 'softmax'", timeout=10_000)
    assert page.evaluate("S.net.loss") == "squared-error"
    assert "The mse loss needs logistic top units, not softmax" in page.inner_text("#edit-note")
