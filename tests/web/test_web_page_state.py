"""The page's state across changes, in Debian's chromium (Playwright), as tests/web does:

- a regression network with the mse loss keeps its loss through the Edit tab's changes, and a
  loss that must change with the top units says so in the page;
- what described the previous network (gradient check, export, the Train tab's run) does not
  stay on as if it described the new one;
- two quick edits compose: the second builds on the first, and an answer to a superseded
  request never overwrites a newer network.

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
uvicorn = pytest.importorskip("uvicorn")

from served import serve  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402


@pytest.fixture(scope="module")
def mse_url():
    """A regression network: linear top units, the mse loss, targets outside [0, 1]."""
    model = cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)
    state = NetworkState.from_model(model, [0.4, -0.6], [5.0, -1.5], "mse")
    url, stop = serve(create_app(start=state))
    yield url
    stop()


def net(page) -> dict:
    """The network the page shows (the page's state S, a global of the served page)."""
    return page.evaluate("S.net")


def wait_for(page, condition: str, arg=None) -> None:
    page.wait_for_function(condition, arg=arg, timeout=10_000)


def test_an_mse_network_keeps_its_loss_through_the_edit_tab(open_page, mse_url):
    page = open_page(mse_url)
    assert net(page)["loss"] == "mse"
    assert page.input_value("#edit-loss") == "mse"  # the select holds it (it was "")
    page.click(".tabs button[data-tab=edit]")
    page.select_option("#edit-activation", "tanh")
    wait_for(page, "S.net.activation === 'tanh'")
    shown = net(page)
    assert shown["loss"] == "mse" and shown["target"] == [5.0, -1.5]
    assert not page.is_visible("#message")
    page.select_option("#edit-output", "logistic")  # mse takes logistic top units: it stays
    wait_for(page, "S.net.output === 'logistic'")
    shown = net(page)
    assert shown["loss"] == "mse" and shown["target"] == [5.0, -1.5]
    assert not page.is_visible("#message") and not page.is_visible("#edit-note")
    # a loss that needs other top units: they follow, and the page says so (targets too)
    page.select_option("#edit-loss", "binary-cross-entropy")
    wait_for(page, "S.net.loss === 'binary-cross-entropy'")
    assert net(page)["target"] == [1.0, 0.0]
    note = page.inner_text("#edit-note")
    assert page.is_visible("#edit-note") and "clipped" in note
    # top units the loss cannot read: the loss changes to squared-error, visibly
    page.select_option("#edit-output", "softmax")
    wait_for(page, "S.net.output === 'softmax'")
    assert net(page)["loss"] == "squared-error"
    assert page.input_value("#edit-loss") == "squared-error"
    note = page.inner_text("#edit-note")
    assert "binary-cross-entropy" in note and "squared-error" in note
    # a change that keeps the loss clears the note
    page.select_option("#edit-activation", "relu")
    wait_for(page, "S.net.activation === 'relu'")
    assert not page.is_visible("#edit-note")


def _edit_first_field(page, value: str) -> None:
    field = page.locator("#edit-unit input").first
    field.wait_for()
    field.fill(value)
    field.dispatch_event("change")


def test_a_changed_network_drops_the_old_check_export_and_run(open_page, seed_url):
    page = open_page(seed_url)
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.click(".tabs button[data-tab=export]")
    page.click("#btn-gradcheck")
    wait_for(page, "document.getElementById('gradcheck-result').textContent.includes('passed')")
    page.click("#btn-export-md")
    wait_for(page, "document.getElementById('export-text').value.length > 0")
    E0 = page.evaluate("S.pass.E")
    page.click(".tabs button[data-tab=edit]")
    _edit_first_field(page, "3.5")  # the bias of unit 1:1
    wait_for(page, "e => S.pass.E !== e", E0)
    page.click(".tabs button[data-tab=export]")
    assert page.inner_text("#gradcheck-result").strip() == ""
    assert page.input_value("#export-text") == ""
    assert page.is_disabled("#btn-export-download")
    # a run, then back to the seed network: the Train tab no longer claims to show the run
    page.click(".tabs button[data-tab=train]")
    page.click("#btn-train-start")
    wait_for(page, "document.getElementById('train-status').textContent.includes('xor: step')")
    assert "The diagram shows case 0" in page.inner_text("#train-status")
    page.click(".tabs button[data-tab=edit]")
    page.click("#btn-seed")
    wait_for(page, "S.net.sizes.join() === '2,2,3'")
    page.click(".tabs button[data-tab=train]")
    status = page.inner_text("#train-status")
    assert "Out of date" in status and "The diagram shows case 0" not in status


def test_two_quick_edits_compose_and_an_old_answer_never_wins(open_page, seed_url):
    page = open_page(seed_url)
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.click(".tabs button[data-tab=edit]")
    page.locator("#edit-unit input").nth(1).wait_for()
    # both changes in one task, before any answer: the second builds on the first
    page.evaluate("""() => {
      const inputs = document.querySelectorAll('#edit-unit input');
      inputs[0].value = '0.111'; inputs[0].dispatchEvent(new Event('change'));
      inputs[1].value = '0.222'; inputs[1].dispatchEvent(new Event('change'));
    }""")
    wait_for(page, "S.net.weights[1][0][0] === 0.222 && !S.pending")
    assert net(page)["biases"][0][0] == 0.111
    # the first of two requests answers last: its (older) network is not shown
    held = []  # the first request is held back; later ones go through
    page.route("**/api/backward", lambda route: route.continue_() if held else held.append(route))
    _edit_first_field(page, "0.5")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert held, "the edit did not ask the server"
    page.locator("#edit-unit input").nth(1).fill("-0.75")
    page.locator("#edit-unit input").nth(1).dispatch_event("change")
    wait_for(page, "S.net.weights[1][0][0] === -0.75 && !S.pending")
    with page.expect_response("**/api/backward"):
        held[0].continue_()  # the older answer arrives now
    page.wait_for_timeout(300)
    shown = net(page)
    assert shown["biases"][0][0] == 0.5 and shown["weights"][1][0][0] == -0.75
    np.testing.assert_allclose(
        page.evaluate("S.pass.layers[1].z[0]"),
        0.5 + sum(y * w for y, w in zip(shown["input"], np.array(shown["weights"][0])[:, 0])),
    )
