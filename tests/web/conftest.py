"""Fixtures the web tests share."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def seed_url():
    """A server on the seed network, for one test module."""
    pytest.importorskip("starlette", reason="the [app] extra is not installed")
    from served import serve

    from chainrule.web import create_app

    url, stop = serve(create_app())
    yield url
    stop()


@pytest.fixture(scope="module")
def linear_url():
    """A server on a 2-3-2 network of linear top units (squared error, the case [0.4, -0.6]
    with targets [0.5, -1.5]), for one test module."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("uvicorn")
    from served import serve

    import chainrule as cr
    from chainrule.web import create_app
    from chainrule.web.network import NetworkState

    model = cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)
    state = NetworkState.from_model(model, [0.4, -0.6], [0.5, -1.5], "squared-error")
    address, stop = serve(create_app(start=state))
    yield address
    stop()


@pytest.fixture
def open_page(chromium):
    """``open_page(url, tab=None, before=None)``: a new chromium page (1366 x 900, a context of
    its own) on the explorer at ``url``, once it is ready; then the tab ``tab`` (``"edit"``,
    ``"train"``, ...) is clicked, where given. ``before(page)`` runs before the page loads (to
    route its requests). The page's uncaught errors collect in ``page.errors``; at the end of
    the test each page must have none."""
    contexts = []

    def open_(url, tab=None, before=None):
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        if before is not None:
            before(page)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        if tab is not None:
            page.click(f".tabs button[data-tab={tab}]")
        return page

    yield open_
    for context in contexts:
        assert not context.pages[0].errors, context.pages[0].errors
        context.close()
