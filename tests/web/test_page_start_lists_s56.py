"""The explorer starts when one of its lists cannot be loaded, saying which (session 56 review).

The page fetches its lists as it starts (/api/losses, /api/units, /api/datasets,
/api/optimizers, /api/bugs), then the network (/api/seed). When any list request failed (the
request aborted, an HTTP 500) the page never started: the diagram stayed empty and the message
box said "Unexpected problem: TypeError: Failed to fetch" or "Internal Server Error", naming no
list. Now the message names the list, its endpoint and the reason; the network is shown all the
same; the list's select stays empty and disabled, and the actions that need it are refused,
naming it. Both hosts: the page over HTTP (the request failed by ``page.route``, or a real 500:
the server's own handler of an exception) and the notebook widget (its kernel's reply to the
same exception).

The page's static files are revalidated (``Cache-Control: no-cache``, a 304 by ETag), as
index.html is, so an upgraded index.html never runs with an old app.js from the cache.

Oracles: the seed network as /api/seed gives it, the lists as their endpoints give them, and
the request the test itself failed. Browser tests run in Debian's chromium (Playwright), skipped,
saying why, where it is missing (tests/conftest.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from chainrule.notebook.explorer import unexpected_error  # noqa: E402
from chainrule.web import api as web_api  # noqa: E402
from chainrule.web import create_app  # noqa: E402

#: Each list the page loads as it starts: what the message calls it, the selects it fills, and
#: an action that needs it (the tab, the button and the name its refusal starts with).
LISTS = {
    "/api/losses": ("the losses", ["edit-loss"], ("edit", "btn-new", "New weights")),
    "/api/units": (
        "the hidden and top units",
        ["edit-activation", "edit-output"],
        ("edit", "btn-new", "New weights"),
    ),
    "/api/datasets": (
        "the datasets",
        ["train-dataset"],
        ("train", "btn-train-start", "Start training"),
    ),
    "/api/optimizers": (
        "the optimizers",
        ["train-optimizer"],
        ("train", "btn-train-start", "Start training"),
    ),
    "/api/bugs": ("the teaching bugs", ["bug-select"], None),  # its select is all that needs it
}
#: How a request fails: aborted (the browser's own words for it), or a 500 whose body is not
#: the API's JSON (a proxy's page).
FAILURES = {
    "aborted": (lambda route: route.abort(), "Failed to fetch"),
    "500": (
        lambda route: route.fulfill(
            status=500, body="Internal Server Error", content_type="text/plain"
        ),
        "HTTP 500 Internal Server Error",
    ),
}
#: Where tests/notebook's widget page and harness live (the widget host).
NOTEBOOK_TESTS = Path(__file__).resolve().parents[1] / "notebook"
#: The exception a broken /api/datasets raises, in both hosts.
BROKEN = "the datasets broke"


# -- the static files are revalidated -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/static/app.js", "/static/style.css"])
def test_the_pages_files_are_revalidated_before_each_use(path):
    """As index.html is (``/``): the browser asks before it uses its copy of app.js."""
    client = TestClient(create_app(), base_url="http://localhost")
    assert client.get("/").headers["cache-control"] == "no-cache"
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""  # unchanged: not sent again
    assert again.headers["cache-control"] == "no-cache" and again.headers["etag"] == etag


# -- the page over HTTP ---------------------------------------------------------------------------


def options(page, root: str, select: str) -> list[str]:
    return page.evaluate(f"[...{root}.querySelectorAll('#{select} option')].map((o) => o.value)")


def check_started_without(page, root: str, path: str, reason: str, seed: dict) -> None:
    """The explorer in ``page`` (its markup in ``root``) started without the list ``path``:
    the message names it, its endpoint and ``reason``; ``seed`` is drawn; the list's
    selects are empty and disabled, the others filled; an action that needs it is refused."""
    what, selects, action = LISTS[path]
    message = page.inner_text("#message")
    assert page.is_visible("#message")
    assert f"could not load {what} ({path}: {reason})" in message, message
    assert "Unexpected problem" not in message
    # the network is shown all the same: the seed, drawn
    sizes = seed["sizes"]
    assert page.locator("g.unit").count() == sum(sizes)  # Playwright reaches into shadow roots
    assert page.text_content("#error-value").startswith("E = ")
    for other, (_, others, _) in LISTS.items():
        for select in others:
            disabled = page.evaluate(f"{root}.getElementById('{select}').disabled")
            values = options(page, root, select)
            if other == path:
                assert disabled, select
                assert values == ([""] if select == "bug-select" else []), values
            else:
                assert not disabled, select
                assert len(values) > (1 if select == "bug-select" else 0), (select, values)
    if action is None:
        return
    tab, button, name = action
    page.click(f".tabs button[data-tab={tab}]")
    page.click(f"#{button}")
    expected = f"{name}: needs {what} ({path}: {reason}), which the page could not load"
    page.wait_for_function(
        f"(text) => {root}.getElementById('message').textContent.startsWith(text)",
        arg=expected,
        timeout=10_000,
    )
    assert page.locator("g.unit").count() == sum(sizes)  # the network is still the seed's


def seed() -> dict:
    """The seed network, as /api/seed gives it."""
    return TestClient(create_app(), base_url="http://localhost").get("/api/seed").json()


def broken_datasets(monkeypatch) -> None:
    """/api/datasets fails inside chainrule, in both hosts (a bug's exception)."""

    def broken():
        raise RuntimeError(BROKEN)

    monkeypatch.setattr(web_api, "page_datasets", broken)


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("path", sorted(LISTS))
def test_the_page_starts_without_a_list_and_says_which(open_page, seed_url, path, failure):
    fail, reason = FAILURES[failure]
    page = open_page(seed_url, before=lambda page: page.route(f"**{path}", fail))
    assert page.evaluate("S.net") == seed()
    check_started_without(page, "document", path, reason, seed())


def test_a_server_bug_in_a_list_is_named_in_the_page(open_page, seed_url, monkeypatch):
    """/api/datasets failing inside the server: its 500 is the API's JSON error, shown whole."""
    broken_datasets(monkeypatch)
    client = TestClient(create_app(), base_url="http://localhost", raise_server_exceptions=False)
    answer = client.get("/api/datasets")
    assert answer.status_code == 500 and BROKEN in answer.json()["error"]
    page = open_page(seed_url)
    check_started_without(page, "document", "/api/datasets", answer.json()["error"], seed())


def test_the_page_says_when_the_network_cannot_be_loaded(open_page, seed_url):
    """/api/seed aborted: the lists are still filled, and the message names the network."""
    page = open_page(
        seed_url, before=lambda page: page.route("**/api/seed", FAILURES["aborted"][0])
    )
    message = page.inner_text("#message")
    assert "could not load the network (/api/seed: Failed to fetch)" in message, message
    assert "Unexpected problem" not in message
    for _, selects, _ in LISTS.values():
        for select in selects:
            assert not page.evaluate(f"document.getElementById('{select}').disabled")
    assert page.input_value("#train-dataset") != ""


# -- the notebook widget ----------------------------------------------------------------------


def test_the_widget_starts_without_a_list_and_says_which(chromium, monkeypatch):
    pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
    sys.path.insert(0, str(NOTEBOOK_TESTS))
    from test_explorer import HARNESS  # the widget loaded as anywidget loads it
    from widget_page import widget_page

    import chainrule as cr

    broken_datasets(monkeypatch)
    w = cr.explorer()
    page, errors = widget_page(chromium, w, HARNESS, height=900)
    try:
        page.wait_for_selector("#widget[data-ready=true]")
        root = "document.getElementById('widget').shadowRoot"
        reason = unexpected_error({"path": "/api/datasets"}, RuntimeError(BROKEN))
        check_started_without(page, root, "/api/datasets", reason, seed())
        assert not errors, errors
    finally:
        page.close()
