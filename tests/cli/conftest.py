"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def served(monkeypatch):
    """Run ``chainrule serve`` up to where uvicorn would start serving; the apps it gets (a
    test file that wants more of the call defines a ``served`` of its own)."""
    uvicorn = pytest.importorskip("uvicorn")
    from chainrule.cli import serve

    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: apps.append(app))
    monkeypatch.setattr(serve, "_check_port_free", lambda host, port: None)
    return apps
