"""End-to-end tests of the explorer in a real headless Chromium (Debian's, driven by Playwright).

The page is served by uvicorn on a free local port; the tests click through it as a user would
and compare what it displays with the API's numbers. Skipped, saying why, when Playwright or
/usr/bin/chromium is missing (.ci/run installs chromium).
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
Image = pytest.importorskip("PIL.Image")

from served import opened_page, page_text, serve  # noqa: E402

from chainrule.web import create_app  # noqa: E402
from chainrule.web.schemas import MAX_LAYERS, MAX_UNITS  # noqa: E402


@pytest.fixture(scope="module")
def server_url():
    url, stop = serve(create_app())
    yield url
    stop()


@pytest.fixture(scope="module")
def browser(chromium):
    """This module's chromium (tests/conftest.py): skipped there, saying why, if it cannot run."""
    return chromium


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a refused request logs "Failed to load resource" (some tests make one on purpose)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.goto(server_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.errors = errors
    yield page
    context.close()
    assert not errors, f"the page reported errors: {errors}"


def api(server_url: str, path: str, body=None) -> dict:
    if body is None:
        return httpx.get(server_url + path).json()
    return httpx.post(server_url + path, json=body).json()


def shown(page, selector: str) -> float:
    """A number as the page shows it (with the typographic minus)."""
    return float(page.inner_text(selector).replace("\u2212", "-"))


def labels(page) -> list[str]:
    return page.eval_on_selector_all("#diagram text", "els => els.map(e => e.textContent)")


def assert_labels_do_not_overlap(page) -> int:
    boxes = page.eval_on_selector_all(
        "#diagram text",
        "els => els.map(e => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; })",
    )
    tol = 0.5
    for k, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[k + 1 :]:
            apart = (
                x + w <= x2 + tol or x2 + w2 <= x + tol or y + h <= y2 + tol or y2 + h2 <= y + tol
            )
            assert apart, f"labels overlap: {(x, y, w, h)} and {(x2, y2, w2, h2)}"
    return len(boxes)


def test_step_forward_then_backward(page, server_url):
    seed = api(server_url, "/api/seed")
    numbers = api(server_url, "/api/backward", {"network": seed})
    assert page.inner_text("#error-value") == "E = ?"
    assert not any(t.startswith("\u2202E") for t in labels(page))
    n_steps = int(page.inner_text("#phase").split("/")[1].split(":")[0])
    page.click("#btn-step")  # layer 1 forward: its y and z appear
    top_y = f"y {page_text(numbers['layers'][1]['y'][0], 3)}"
    assert top_y in labels(page)
    for _ in range(len(seed["sizes"]) - 1):
        page.click("#btn-step")
    assert page.inner_text("#error-value") == f"E = {page_text(numbers['E'])}"
    page.click("#btn-step")  # backward: the top units light up with dE/dz
    assert page.locator("g.unit.lit").count() == seed["sizes"][-1]
    dz = numbers["layers"][-1]["dE_dz"][0]
    assert any(
        t.startswith("\u2202E/\u2202z") and t.endswith(page_text(abs(dz), 3)) for t in labels(page)
    )
    while not page.is_disabled("#btn-step"):
        page.click("#btn-step")
    assert page.inner_text("#phase").startswith(f"Step {n_steps}/{n_steps}")
    assert page.locator("g.unit.lit").count() == sum(seed["sizes"])
    page.click("#btn-reset")
    assert page.inner_text("#error-value") == "E = ?"


def test_clicking_a_hidden_unit_shows_its_paths_adding_up(page, server_url):
    seed = api(server_url, "/api/seed")
    expected = api(server_url, "/api/paths", {"network": seed, "layer": 1, "unit": 0})
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    rows = page.locator("#paths-table tbody tr")
    assert rows.count() == len(expected["terms"]) == seed["sizes"][2]
    shown_terms = []
    for k, term in enumerate(expected["terms"]):
        cells = rows.nth(k).locator("td")
        w, dz, product = (float(cells.nth(c).inner_text().replace("\u2212", "-")) for c in range(3))
        assert w == pytest.approx(term["w_ij"], rel=1e-5)
        assert dz == pytest.approx(term["dE_dz_j"], rel=1e-5)
        assert product == pytest.approx(term["term"], rel=1e-5)
        assert product == pytest.approx(w * dz, rel=1e-4)
        shown_terms.append(product)
    assert shown(page, "#paths-sum") == pytest.approx(sum(shown_terms), rel=1e-4, abs=1e-9)
    assert shown(page, "#paths-sum") == pytest.approx(expected["sum_of_terms"], rel=1e-5)
    assert shown(page, "#paths-engine") == pytest.approx(expected["dE_dy"], rel=1e-5)
    assert shown(page, "#paths-fd") == pytest.approx(expected["finite_difference"], rel=1e-5)
    # each path i -> j is highlighted in the diagram with its term, and the waterfall has a bar each
    assert page.locator("line.edge.path").count() == len(expected["terms"])
    assert page.locator("#diagram text[data-testid^=term-]").count() == len(expected["terms"])
    assert page.locator("#stacked-bar rect[data-j]").count() == len(expected["terms"])
    assert_labels_do_not_overlap(page)


def test_nudge_slider_shows_predicted_against_measured(page, server_url):
    seed = api(server_url, "/api/seed")
    page.click("g.unit[data-layer='1'][data-unit='1']")
    page.wait_for_selector("#paths-box:not([hidden])")
    slider = page.locator("#nudge")
    slider.evaluate("(s) => { s.value = '-0.3'; s.dispatchEvent(new Event('input')); }")
    expected = api(server_url, "/api/nudge", {"network": seed, "layer": 1, "unit": 1, "eps": -0.3})
    page.wait_for_function(
        "v => document.getElementById('nudge-measured').dataset.value == v",
        arg=str(expected["measured"]),
    )
    assert page.inner_text("#nudge-eps") == "\u22120.30"  # U+2212, as every number shown (s62)
    assert shown(page, "#nudge-measured") == pytest.approx(expected["measured"], rel=1e-5)
    assert shown(page, "#nudge-predicted") == pytest.approx(expected["predicted"], rel=1e-5)
    per_path = page.locator("#nudge-table tbody td")
    assert per_path.count() == len(expected["predicted_per_path"])
    for k, v in enumerate(expected["predicted_per_path"]):
        assert float(per_path.nth(k).inner_text().replace("\u2212", "-")) == pytest.approx(
            v, rel=1e-5
        )


def _seed_with_weight(server_url: str, w: float) -> dict:
    """The seed network with w_0->0 of layer 1 set to ``w``."""
    seed = api(server_url, "/api/seed")
    seed["weights"][1][0][0] = w
    return seed


def test_editing_a_weight_updates_the_numbers(page, server_url):
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.click(".tabs button[data-tab=edit]")
    weight = page.locator("#edit-unit .edit-row input").nth(1)  # bias first, then w_0->0
    weight.fill("2.5")
    weight.dispatch_event("change")
    expected = api(server_url, "/api/backward", {"network": _seed_with_weight(server_url, 2.5)})[
        "E"
    ]
    page.wait_for_function(
        "v => document.getElementById('error-value').textContent === v",
        arg=f"E = {page_text(expected)}",
    )
    # a refused change keeps the old network and says why
    page.fill("#edit-sizes", f"2,{MAX_UNITS + 1},3")
    page.click("#btn-new")
    page.wait_for_selector("#message:not([hidden])")
    assert "sizes[1]" in page.inner_text("#message")
    assert page.inner_text("#error-value") == f"E = {page_text(expected)}"


def test_a_slow_earlier_change_does_not_hide_a_later_error(page, server_url):
    """An edit whose request is still in flight must neither clear the error of a later action
    nor overwrite the sizes the user typed meanwhile."""
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.click(".tabs button[data-tab=edit]")
    held = []
    page.route("**/api/backward", lambda route: held.append(route))
    weight = page.locator("#edit-unit .edit-row input").nth(1)
    weight.fill("2.5")
    weight.dispatch_event("change")  # its /api/backward is held back
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert held, "the edit did not ask the server"
    page.fill("#edit-sizes", f"2,{MAX_UNITS + 1},3")
    page.click("#btn-new")  # refused at once
    page.wait_for_selector("#message:not([hidden])")
    held[0].continue_()  # the earlier edit now succeeds...
    expected = api(server_url, "/api/backward", {"network": _seed_with_weight(server_url, 2.5)})
    page.wait_for_function(
        "v => document.getElementById('error-value').textContent === v",
        arg=f"E = {page_text(expected['E'])}",
    )
    page.wait_for_timeout(200)  # let its success run to the end
    assert page.is_visible("#message"), "a slow success cleared a later error"
    assert page.input_value("#edit-sizes") == f"2,{MAX_UNITS + 1},3", "it overwrote the typing"
    assert "sizes[1]" in page.inner_text("#message")


def test_train_a_few_steps_and_the_loss_curve_changes(page):
    page.click(".tabs button[data-tab=train]")
    blank = page.eval_on_selector("#loss-curve", "c => c.toDataURL()")
    page.click("#btn-train-start")
    page.wait_for_function("!document.getElementById('btn-train-step').disabled")
    page.click("#btn-train-step")
    page.wait_for_function("document.getElementById('loss-curve').dataset.steps === '5'")
    after_step = page.eval_on_selector("#loss-curve", "c => c.toDataURL()")
    assert after_step != blank
    page.click("#btn-train-play")
    page.wait_for_function("Number(document.getElementById('loss-curve').dataset.steps) >= 40")
    page.click("#btn-train-pause")
    page.wait_for_function("!document.getElementById('btn-train-step').disabled")
    assert page.eval_on_selector("#loss-curve", "c => c.toDataURL()") != after_step
    assert page.locator("#grad-norms rect[data-layer]").count() == 2
    assert "xor: step" in page.inner_text("#train-status")
    assert page.locator("g.unit").count() == 2 + 4 + 1  # the diagram shows the run's network


def test_export_save_and_load(page, tmp_path):
    page.click(".tabs button[data-tab=export]")
    page.click("#btn-export-md")
    page.wait_for_function("document.getElementById('export-text').value.length > 0")
    assert page.input_value("#export-text").startswith("# Backpropagation")
    page.click("#btn-export-tex")
    page.wait_for_function("document.getElementById('export-text').value.includes('\\\\')")
    page.click("#btn-gradcheck")
    page.wait_for_function("document.getElementById('gradcheck-result').textContent.length > 0")
    assert "passed" in page.inner_text("#gradcheck-result")
    with page.expect_download() as download:
        page.click("#btn-save")
    with open(download.value.path()) as file:
        saved = json.load(file)
    assert saved["sizes"] == [2, 2, 3]
    saved["input"] = [0.25, -0.75]
    good = tmp_path / "network.json"
    good.write_text(json.dumps(saved))
    page.set_input_files("#load-file", str(good))
    page.click(".tabs button[data-tab=edit]")
    page.click("g.unit[data-layer='0'][data-unit='1']")
    assert page.locator("#edit-unit input").first.input_value() == "-0.75"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**saved, "input": [1.0]}))
    page.set_input_files("#load-file", str(broken))
    page.wait_for_selector("#message:not([hidden])")
    assert "input" in page.inner_text("#message")


def test_largest_network_labels_do_not_overlap(page):
    page.click(".tabs button[data-tab=edit]")
    width = 64  # every layer as wide as the limit on connections allows
    page.fill("#edit-sizes", ",".join([str(width)] * MAX_LAYERS))
    page.click("#btn-new")
    page.wait_for_function(f"document.querySelectorAll('g.unit').length === {width * MAX_LAYERS}")
    page.click("#btn-all")
    page.click(".tabs button[data-tab=paths]")
    page.click("g.unit[data-layer='3'][data-unit='5']")
    page.wait_for_selector("#paths-box:not([hidden])")
    assert page.locator("#paths-table tbody tr").count() == width
    assert assert_labels_do_not_overlap(page) > 0
    page.click(".tabs button[data-tab=edit]")
    page.click("#btn-seed")  # back to fewer layers: the stepping adapts
    page.wait_for_function("document.querySelectorAll('g.unit').length === 7")
    assert page.inner_text("#phase").startswith("Step 1/")


def test_screenshot_is_not_blank(page, tmp_path):
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    png = page.screenshot(path=str(tmp_path / "explorer.png"))
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert image.shape == (768, 1366)
    assert image.std() > 10  # a blank or one-colour page has almost no variance
    # the diagram itself has drawing in it, not just the page around it
    box = page.locator("#diagram").bounding_box()
    crop = image[
        int(box["y"]) : int(box["y"] + box["height"]), int(box["x"]) : int(box["x"] + box["width"])
    ]
    assert (crop < 200).mean() > 0.002
    assert_labels_do_not_overlap(page)


def test_a_digits_sized_model_opens_and_its_sums_are_whole(browser):
    from chainrule import nn
    from chainrule.web.network import NetworkState

    rng = np.random.default_rng(0)
    model = nn.mlp([64, 128, 10], rng=0)  # the shape `chainrule train` gives the digits
    x, t = rng.uniform(-1, 1, 64), np.eye(10)[3]
    url, stop = serve(create_app(start=NetworkState.from_model(model, x, t, nn.CrossEntropy())))
    try:
        with opened_page(browser, url) as page:  # and it reports no error
            assert page.locator("g.unit").count() == 64 + 128 + 10
            page.click(".tabs button[data-tab=paths]")
            page.click("g.unit[data-layer='1'][data-unit='100']")
            page.wait_for_selector("#paths-box:not([hidden])")
            assert page.locator("#paths-table tbody tr").count() == 10  # every path i -> j
    finally:
        stop()


def test_selecting_a_term_in_one_view_highlights_it_in_the_other_two(page, server_url):
    seed = api(server_url, "/api/seed")
    expected = api(server_url, "/api/views", {"network": seed, "layer": 1, "unit": 0})
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#views-box li.term[data-testid=view-graph-2]")
    views = ("hinton", "matrix", "graph")
    for view in views:  # the same numbers in the three views
        for j in range(3):
            item = page.locator(f"#views-box li[data-testid=view-{view}-{j}]")
            value = float(item.get_attribute("data-value"))
            assert value == pytest.approx(expected["hinton"]["terms"][j]["value"], abs=1e-15)
    for source in views:
        page.click(f"#views-box li[data-testid=view-{source}-1]")
        for view in views:
            for j in range(3):
                classes = page.locator(f"#views-box li[data-testid=view-{view}-{j}]").get_attribute(
                    "class"
                )
                assert ("linked" in classes.split()) == (j == 1), (source, view, j)
        assert "linked" in page.locator("#paths-table tbody tr[data-j='1']").get_attribute("class")
        page.click(f"#views-box li[data-testid=view-{source}-1]")  # again: nothing selected
        assert page.locator("#views-box li.linked").count() == 0


def test_the_bug_toggle_shows_wrong_gradients_and_the_check_that_catches_them(page, server_url):
    seed = api(server_url, "/api/seed")
    expected = api(server_url, "/api/bug", {"network": seed, "bug": "no-toposort"})
    page.click(".tabs button[data-tab=export]")
    page.select_option("#bug-select", "no-toposort")
    page.wait_for_selector("#bug-table:not([hidden])")
    rows = page.locator("#bug-table tbody tr")
    assert rows.count() == len(expected["rows"])
    assert page.locator("#bug-table tbody tr.caught").count() == expected["n_caught"] > 0
    assert "catches it" in page.inner_text("#bug-result")
    page.select_option("#bug-select", "")
    page.wait_for_selector("#bug-table", state="hidden")
    assert "real engine" in page.inner_text("#bug-result")


def test_paths_say_a_finite_difference_at_a_relu_kink_is_not_checked(page, tmp_path):
    """A relu unit above at its kink (z = 0): the page shows no finite difference (it would read
    half the slope beside the engine's relu'(0) = 0) and draws no dashed line for it."""
    network = tmp_path / "kink.json"
    network.write_text(json.dumps({
        "sizes": [1, 1, 1, 1], "weights": [[[-1.0]], [[1.0]], [[2.0]]],
        "biases": [[0.0], [0.0], [0.0]], "activation": "relu", "output": "linear",
        "loss": "squared-error", "input": [1.0], "target": [1.0]}))  # fmt: skip
    page.set_input_files("#load-file", str(network))
    page.wait_for_function("document.querySelectorAll('g.unit').length === 4")
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    assert "not checked" in page.inner_text("#paths-fd")
    assert page.locator("#stacked-bar line[stroke-dasharray]").count() == 0
    assert "not checked" in page.text_content("#stacked-bar")


def test_the_top_units_text_gives_the_losses_own_formula_and_units_count_from_1(page):
    """Cross-entropy's dE/dz_j read "(y_j - t_j) / N (N: the number of outputs the loss averages
    over)": no N gives its 0.557764 for y_2 = 0.278882 and targets 1, 0, 1 (it is (y_j sum_k
    t_k - t_j) / N, N the cases). The edit panel and tooltips counted units from 0 where the
    page counts from 1, and an empty field's error showed its label's HTML."""
    page.click("button[data-tab='edit']")
    page.select_option("#edit-loss", "cross-entropy")
    page.wait_for_function("document.querySelector('#edit-output').value === 'softmax'")
    page.click("button[data-tab='paths']")
    page.click("#btn-all")
    page.click("g.unit[data-layer='2'][data-unit='1']")
    text = " ".join(page.inner_text("#unit-info").split())
    assert "(yj Σk tk − tj) / N" in text and "N: the cases" in text, text
    page.click("button[data-tab='edit']")  # the top unit j = 2 stays selected
    edit = page.inner_text("#edit-unit").split("\n")
    assert edit == ["layer 2, unit 2", "bias b2", "target t2"]  # it said unit 1, b1, t1
    page.fill("#edit-unit input >> nth=0", "")
    page.dispatch_event("#edit-unit input >> nth=0", "change")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "bias b2: not a number"


def test_a_small_negative_number_has_one_kind_of_minus(page):
    """fmt replaced the first "-" only: -3.53e-4 was shown as "−3.53e-4" beside "1.87e−4"."""
    assert page.evaluate("fmt(-3.53e-4)") == "\u22123.53e\u22124"
    assert page.evaluate("fmt(1.87e-4)") == "1.87e\u22124"


def test_a_narrow_window_shows_the_diagram_full_width_and_nothing_overflows(browser, server_url):
    """At 390 px the diagram shrank to about 40 px beside the panel and the header ran past the
    right edge (scrollWidth 551)."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(server_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    width = page.evaluate("document.querySelector('#diagram').getBoundingClientRect().width")
    overflow = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert width > 300 and overflow <= 390, (width, overflow)


@pytest.mark.parametrize("viewport_width", [390, 800, 1366])
def test_the_waterfalls_caption_fits_its_panel(browser, server_url, viewport_width):
    """At 800 px the caption under the waterfall ("sum ... | dashed: finite difference ...")
    was cut off at the panel's right edge."""
    context = browser.new_context(viewport={"width": viewport_width, "height": 800})
    page = context.new_page()
    page.goto(server_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    ends = page.eval_on_selector_all(
        "#stacked-bar text", "els => els.map(e => { const b = e.getBBox(); return b.x + b.width; })"
    )
    room = page.evaluate("document.querySelector('#stacked-bar').viewBox.baseVal.width")
    context.close()
    assert ends and max(ends) <= room, (ends, room)
