"""The explorer page on a network with a layer joined in blocks (an ``nn.Parallel``): no edge
and no weight to edit between the blocks, and a change of its layers or units refused, saying
why. Skipped, saying why, when Playwright or /usr/bin/chromium is missing."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from served import opened_page, page_text, serve  # noqa: E402
from test_web_blocks import JOINED, T, X, block_net  # noqa: E402

from chainrule import nn  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402


@pytest.fixture(scope="module")
def server_url():
    state = NetworkState.from_model(block_net(), X, T, nn.SquaredError())
    url, stop = serve(create_app(start=state))
    yield url
    stop()


@pytest.fixture
def page(chromium, server_url):
    with opened_page(chromium, server_url) as page:
        yield page


def editing(page, unit: int) -> None:
    """Wait until the Edit tab shows unit ``unit`` (counted from 1) of layer 1."""
    page.wait_for_function(
        "u => { const h = document.querySelector('#edit-unit .hint');"
        " return !!h && h.textContent === `layer 1, unit ${u}`; }",
        arg=unit,
    )


def edges(page, layer: int) -> set[tuple[int, int]]:
    pairs = page.eval_on_selector_all(
        f"#diagram line.edge[data-layer='{layer}']",
        "els => els.map(e => [Number(e.dataset.i), Number(e.dataset.j)])",
    )
    return {tuple(p) for p in pairs}


def test_no_edge_is_drawn_between_the_blocks(page):
    assert page.locator("#diagram line.edge").count() == 6 + 5 + 6
    joined = {(i, j) for i in range(3) for j in range(3) if JOINED[i][j]}
    assert edges(page, 1) == joined
    assert len(edges(page, 0)) == 6 and len(edges(page, 2)) == 6


def test_the_edit_tab_lists_only_existing_weights_and_edits_them(page, server_url):
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='2']")  # unit 3 feeds unit 3 above only
    page.click(".tabs button[data-tab=edit]")
    editing(page, 3)
    rows = page.locator("#edit-unit .edit-row")
    assert [rows.nth(k).locator("span").inner_text() for k in range(rows.count())] == [
        "bias b3", "w3\u21923"
    ]  # fmt: skip
    page.click("g.unit[data-layer='1'][data-unit='0']")
    editing(page, 1)
    assert page.locator("#edit-unit .edit-row").count() == 1 + 2  # its bias, w1->1 and w1->2
    weight = page.locator("#edit-unit .edit-row input").nth(2)  # bias, w1->1, then w1->2
    weight.fill("0.75")
    weight.dispatch_event("change")
    spec = httpx.get(server_url + "/api/seed").json()
    spec["weights"][1][0][1] = 0.75
    expected = httpx.post(server_url + "/api/backward", json={"network": spec}).json()["E"]
    page.wait_for_function(
        "v => document.getElementById('error-value').textContent === v",
        arg=f"E = {page_text(expected)}",
    )
    assert page.locator("#message").is_hidden()
    assert page.locator("#diagram line.edge").count() == 17  # the blocks are kept


def test_a_change_of_units_or_activations_is_refused_saying_why(page):
    page.click("#btn-all")
    before = page.inner_text("#error-value")
    page.click(".tabs button[data-tab=edit]")
    page.fill("#edit-sizes", "2,4,3,2")
    page.click("#btn-new")
    page.wait_for_selector("#message:not([hidden])")
    message = page.inner_text("#message")
    assert "joins its units in blocks" in message and "layer 2" in message
    assert page.input_value("#edit-sizes") == "2,3,3,2"
    assert page.inner_text("#error-value") == before
    assert page.locator("#diagram line.edge").count() == 17
    page.select_option("#edit-activation", "tanh")
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('hidden')"
    )
    assert "joins its units in blocks" in page.inner_text("#message")
    assert page.input_value("#edit-activation") == "logistic"
