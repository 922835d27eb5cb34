"""The Edit tab's button on a page started on a model (s58), in Debian's chromium (Playwright).

``chainrule serve --model`` opens the page on a model (``create_app(start=state)``, as the serve
command passes it) and /api/seed answers that model, yet the button that asks for it again read
"Seed network", which a user takes for a new network, not their model back. The server now says
in the page it sends that it was started on a model, and the button reads "Reload model" there
(its tooltip saying what it does) and "Seed network" where the server makes the seed network.

Oracles: the model's own parameters (``Linear.weight``, row i the unit below, column j the unit
above, as the API's ``weights[l][i][j]``) and its own loss on the case, not the page's numbers.

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
pytest.importorskip("uvicorn")

from served import serve  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402

X, T = [0.4, -0.6], [0.5, -1.5]


@pytest.fixture(scope="module")
def model():
    """A 2-3-2 model of linear top units (squared error), as a user's trained one."""
    return cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)


@pytest.fixture(scope="module")
def model_url(model):
    """A server started on ``model`` and the case (X, T), as ``serve --model`` starts one."""
    state = NetworkState.from_model(model, X, T, "squared-error")
    url, stop = serve(create_app(start=state))
    yield url
    stop()


def model_weights(model) -> list[list[list[float]]]:
    """The model's own weights, each layer's as ``weights[l][i][j]``."""
    return [m.weight.numpy().tolist() for m in model if isinstance(m, cr.nn.Linear)]


def model_E(model) -> float:
    """The model's own loss on the case."""
    out = model(cr.Tensor(np.array([X])))
    return float(cr.nn.SquaredError()(out, cr.Tensor(np.array([T]))).numpy())


def edit_first_weight(page, value: str) -> None:
    """Type ``value`` into w1->1 of input unit 1 (the Edit tab's field) and wait for its E."""
    page.click("g.unit[data-layer='0'][data-unit='0']")
    page.click(".tabs button[data-tab=edit]")
    field = page.locator("#edit-unit label.edit-row", has_text="w1\u21921").locator("input")
    before = page.evaluate("S.pass.E")
    field.fill(value)
    field.dispatch_event("change")
    page.wait_for_function("e => S.pass.E !== e", arg=before, timeout=10_000)


def test_a_page_started_on_a_model_labels_the_button_reload_model(open_page, model_url):
    page = open_page(model_url, tab="edit")
    button = page.locator("#btn-seed")
    assert button.inner_text() == "Reload model"
    title = button.get_attribute("title")
    assert "serve --model" in title and "dropping" in title, title
    # Reset keeps the network shown (the server read the model once): its tooltip says so
    assert "kept" in page.get_attribute("#btn-reset", "title")


def test_reload_model_after_an_edit_returns_the_models_weights(open_page, model_url, model):
    page = open_page(model_url)
    assert page.evaluate("S.pass.E") == pytest.approx(model_E(model), rel=1e-12)
    edit_first_weight(page, "2.5")
    assert page.evaluate("S.net.weights[0][0][0]") == 2.5

    page.click("#btn-reset")  # back to the inputs, the edit kept (as docs/web.md says)
    assert page.inner_text("#phase").startswith("Step 1/")
    assert page.evaluate("S.net.weights[0][0][0]") == 2.5

    # the button by what it says: "Reload model" brings the model's own weights, from the inputs
    page.get_by_role("button", name="Reload model", exact=True).click(timeout=5_000)
    page.wait_for_selector("g.unit.selected", state="detached")
    assert page.evaluate("S.net.weights") == model_weights(model)
    assert page.evaluate("S.pass.E") == pytest.approx(model_E(model), rel=1e-12)
    assert page.inner_text("#phase").startswith("Step 1/")


def test_a_page_on_the_seed_network_keeps_seed_network(open_page, seed_url):
    page = open_page(seed_url, tab="edit")
    button = page.locator("#btn-seed")
    assert button.inner_text() == "Seed network"
    assert "seed network" in button.get_attribute("title")
    assert "model" not in button.get_attribute("title")  # it never brings a model back
