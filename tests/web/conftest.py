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
