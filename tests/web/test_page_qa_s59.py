"""What QA found on the page (session 59), each shown failing on the code before it:

- the step caption of a softmax top layer under a loss that reads y (squared error) wrote
  dE/dz_j = dy_j/dz_j * dE/dy_j, which softmax's dE/dz does not satisfy; it now writes softmax's
  rule, y_j (dE/dy_j - sum_k y_k dE/dy_k), as the explainer does (oracle: the pass's own y,
  dE/dy and dE/dz, against which each rule is checked);
- two tabs of one browser share its training run, and a tab did not notice that another had
  started a new one: its Train tab showed the other's run after a Step. Each run now has an id
  (``run``) in every answer about it; a step for a replaced run is refused (409) and the page
  says so;
- "Load JSON" was a label around a hidden file input, which Tab never reached;
- a server that cannot be reached was "Unexpected problem: TypeError: Failed to fetch".
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from chainrule.web import create_app  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402
from chainrule.web.network import random_state  # noqa: E402


def softmax_squared_error() -> dict:
    """QA's t8.py: 2-3-3, tanh hidden units, softmax top units, squared error (reads y)."""
    state = random_state([2, 3, 3], "tanh", "softmax", "squared-error", seed=1, init_range=1.0)
    return state.to_json()


def top_caption(page) -> str:
    """The caption of the step that gives the top layer's dE/dz (inputs, 2 layers, E first)."""
    page.click("#btn-reset")
    for _ in range(4):
        page.click("#btn-step")
    assert "Backward: \u2202E/\u2202z in layer 2" in page.inner_text("#phase")
    return page.inner_text("#caption")


def load(page, tmp_path, network: dict) -> None:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(network))
    page.set_input_files("#load-file", str(path))
    page.wait_for_function(f"S.net && S.net.output === {json.dumps(network['output'])}")
    assert page.evaluate("S.net.weights") == network["weights"]


# -- the softmax top layer's dE/dz -------------------------------------------------------------


def test_the_caption_writes_softmaxs_rule_for_its_top_units(open_page, seed_url, tmp_path):
    page = open_page(seed_url)
    logistic = top_caption(page)  # the seed's logistic units: their own factor
    assert "dy_j/dz_j \u00b7 \u2202E/\u2202y_j = y_j(1 \u2212 y_j) \u2202E/\u2202y_j" in logistic
    load(page, tmp_path, softmax_squared_error())
    caption = top_caption(page)
    rule = "y_j (\u2202E/\u2202y_j \u2212 \u03a3_k y_k \u2202E/\u2202y_k)"
    assert rule in caption and "dy_j/dz_j" not in caption, caption
    # the oracle: the numbers the page shows satisfy the rule written, not the elementwise one
    top = page.evaluate("S.pass.layers[2]")
    y, dy, dz = (np.array(top[key]) for key in ("y", "dE_dy", "dE_dz"))
    np.testing.assert_allclose(dz, y * (dy - y @ dy), rtol=1e-12)
    assert not np.allclose(dz, y * (1 - y) * dy, rtol=1e-3)


# -- two tabs, one run ----------------------------------------------------------------------------


def test_each_answer_about_a_run_names_it_and_a_replaced_run_is_refused():
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    first = client.post("/api/train/start", json={"dataset": "xor"}).json()
    assert s.TrainState.model_validate(first).run
    second = client.post("/api/train/start", json={"dataset": "circle"}).json()
    assert second["run"] != first["run"]
    refused = client.post("/api/train/step", json={"steps": 1, "run": first["run"]})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error.startswith("training run replaced: ") and first["run"] in error, error
    assert client.get("/api/train/state").json()["step"] == 0  # the other run was not stepped
    stepped = client.post("/api/train/step", json={"steps": 2, "run": second["run"]}).json()
    assert (stepped["run"], stepped["step"], stepped["dataset"]) == (second["run"], 2, "circle")
    unnamed = client.post("/api/train/step", json={"steps": 1}).json()  # the session's run
    assert (unnamed["run"], unnamed["step"]) == (second["run"], 3)
    assert client.get("/api/train/state").json()["run"] == second["run"]


def test_a_tab_whose_run_another_tab_replaced_says_so(chromium, seed_url):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})  # one cookie jar
    try:
        tabs = []
        for _ in range(2):
            tab = context.new_page()
            tab.errors = []
            tab.on("pageerror", lambda e, tab=tab: tab.errors.append(str(e)))
            tab.goto(seed_url + "/")
            tab.wait_for_selector("body[data-ready=true]")
            tab.click(".tabs button[data-tab=train]")
            tabs.append(tab)
        a, b = tabs
        a.click("#btn-train-start")
        a.wait_for_function("document.getElementById('train-status').textContent.startsWith('xor')")
        b.select_option("#train-dataset", "circle")
        b.click("#btn-train-start")
        b.wait_for_function(
            "document.getElementById('train-status').textContent.startsWith('circle')"
        )
        a.click("#btn-train-step")
        a.wait_for_selector("#message:not([hidden])")
        message = a.inner_text("#message")
        assert message.startswith("training run replaced: "), message
        status = a.inner_text("#train-status")
        assert "circle" not in status and "xor: step" not in status, status
        assert a.evaluate("S.train.state") is None
        assert a.is_disabled("#btn-train-step")
        # the other tab's run was not stepped by the refused request
        b.click("#btn-train-step")
        b.wait_for_function(
            "document.getElementById('train-status').textContent.startsWith('circle: step 5')"
        )
        assert not (a.errors or b.errors), (a.errors, b.errors)
    finally:
        context.close()


# -- Load JSON by keyboard ----------------------------------------------------------------------


def test_load_json_is_reached_with_tab_and_opens_the_file_chooser(open_page, seed_url, tmp_path):
    page = open_page(seed_url, tab="export")
    page.focus("#btn-save")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Load JSON"
    # the button opens the file input's chooser: its click, seen (and the dialog held back:
    # headless chromium's file-chooser event came only some of the time)
    page.evaluate(
        """document.getElementById("load-file").addEventListener("click", (event) => {
             window.chooserAsked = (window.chooserAsked || 0) + 1; event.preventDefault(); })"""
    )
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    page.wait_for_function("window.chooserAsked === 2")
    load(page, tmp_path, softmax_squared_error())  # what the chooser gives the input


# -- a server that cannot be reached ------------------------------------------------------------


def test_a_request_with_no_answer_says_the_server_is_not_reachable(open_page, seed_url):
    page = open_page(seed_url, tab="export")
    page.route("**/api/gradcheck", lambda route: route.abort())
    page.click("#btn-gradcheck")
    page.wait_for_selector("#message:not([hidden])")
    message = page.inner_text("#message")
    assert message.startswith("The server is not reachable: /api/gradcheck got no answer ")
    assert "Failed to fetch" in message and "Unexpected problem" not in message, message
