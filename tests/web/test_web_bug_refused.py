"""A teaching bug chosen on the Export tab, and a network too large to check: the server refuses
the bug view (a gradient check compares at most 4096 derivatives), and that refusal must not hold
back the network. The page used to ask for the bug view inside the same request chain as the
backward pass, so with a bug chosen every change to a large network (a new one, an edit, a loaded
file, a training run's network) was undone, while the server had started the run all the same.
Now the change is shown, the bug is turned off (the real engine) and the bug panel says why.

In Debian's chromium (Playwright), skipped, saying why, where either is missing.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
uvicorn = pytest.importorskip("uvicorn")

from served import opened_page, serve  # noqa: E402

from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import random_state  # noqa: E402

BIG = [64, 128, 10]  # the digits model's sizes: 9674 derivatives, over the check's 4096


@pytest.fixture(scope="module")
def url():
    url, stop = serve(create_app())
    yield url
    stop()


@pytest.fixture
def page(chromium, url):
    with opened_page(chromium, url, height=900) as page:
        yield page


def wait_for(page, condition: str, arg=None) -> None:
    page.wait_for_function(condition, arg=arg, timeout=15_000)


def choose_bug(page, name: str) -> None:
    page.click(".tabs button[data-tab=export]")
    page.select_option("#bug-select", name)


def message(page) -> str:
    return page.inner_text("#message") if page.is_visible("#message") else ""


def assert_bug_turned_off(page) -> None:
    """The bug is no longer chosen, the real engine is shown, and the bug panel says why."""
    assert page.input_value("#bug-select") == ""
    assert page.evaluate("S.bug") is None
    assert page.is_hidden("#bug-table")
    reason = page.inner_text("#bug-result")
    assert "turned off" in reason and "at most 4096" in reason, reason
    assert message(page) == "", "the refusal is the bug panel's, not an error of the change"


def test_a_new_large_network_is_shown_with_a_bug_chosen(page):
    choose_bug(page, "assign")
    wait_for(page, "S.bug !== null")  # the seed network: the bug view is shown
    assert page.is_visible("#bug-table")
    page.click(".tabs button[data-tab=edit]")
    page.fill("#edit-sizes", ",".join(map(str, BIG)))
    page.click("#btn-new")
    wait_for(page, "(sizes) => S.net.sizes.join() === sizes", ",".join(map(str, BIG)))
    assert_bug_turned_off(page)
    # the next edit is no longer refused either
    page.select_option("#edit-activation", "tanh")
    wait_for(page, "S.net.activation === 'tanh'")
    assert message(page) == ""


def test_choosing_a_bug_on_a_large_network_says_why_in_the_bug_panel(page):
    page.click(".tabs button[data-tab=edit]")
    page.fill("#edit-sizes", ",".join(map(str, BIG)))
    page.click("#btn-new")
    wait_for(page, "(sizes) => S.net.sizes.join() === sizes", ",".join(map(str, BIG)))
    choose_bug(page, "no-toposort")
    wait_for(page, "document.getElementById('bug-select').value === ''")
    assert_bug_turned_off(page)
    assert "no-toposort" in page.inner_text("#bug-result")
    page.click(".tabs button[data-tab=edit]")
    page.select_option("#edit-activation", "tanh")  # an edit after it: shown
    wait_for(page, "S.net.activation === 'tanh'")
    assert message(page) == ""


def test_starting_a_large_training_run_with_a_bug_chosen_shows_its_network(page):
    choose_bug(page, "assign")
    wait_for(page, "S.bug !== null")
    page.click(".tabs button[data-tab=train]")
    page.select_option("#train-dataset", "digits")
    page.fill("#train-hidden", "64")  # 64-64-10: 4874 derivatives
    page.click("#btn-train-start")
    wait_for(page, "S.net.sizes.join() === '64,64,10'")
    assert page.evaluate("S.train.shown") is True
    assert "digits: step 0" in page.inner_text("#train-status")
    assert_bug_turned_off(page)


def test_loading_a_large_network_file_with_a_bug_chosen_shows_it(page, tmp_path):
    choose_bug(page, "merged-leaves")
    wait_for(page, "S.bug !== null")
    network = tmp_path / "big.json"
    network.write_text(json.dumps(random_state(BIG, seed=1).to_json()))
    page.set_input_files("#load-file", str(network))
    wait_for(page, "(sizes) => S.net.sizes.join() === sizes", ",".join(map(str, BIG)))
    assert_bug_turned_off(page)


def test_a_bug_the_server_accepts_still_shows(page):
    """The refusal path leaves the ordinary one alone: a small network's bug view is shown, and
    choosing a bug again after a refusal shows it once the network is small again."""
    choose_bug(page, "assign")
    wait_for(page, "S.bug !== null")
    assert "disagree" in page.inner_text("#bug-result") or "finds nothing" in page.inner_text(
        "#bug-result"
    )
    page.click(".tabs button[data-tab=edit]")
    page.fill("#edit-sizes", ",".join(map(str, BIG)))
    page.click("#btn-new")
    wait_for(page, "document.getElementById('bug-select').value === ''")
    page.fill("#edit-sizes", "2,3,2")
    page.click("#btn-new")
    wait_for(page, "S.net.sizes.join() === '2,3,2'")
    assert "turned off" not in page.inner_text("#bug-result")
    choose_bug(page, "assign")
    wait_for(page, "S.bug !== null")
    assert page.is_visible("#bug-table")
