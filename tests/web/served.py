"""Serving the page for the browser tests of this folder: uvicorn on a free local port, in a
thread, and a chromium page on it. Import it after ``pytest.importorskip("uvicorn")``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app):
    """Run ``app`` on a free port in a thread; returns (url, stop)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)

    def stop():
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


@contextlib.contextmanager
def opened_page(chromium, url: str, height: int = 768, **options):
    """A new chromium page on ``url`` once the explorer is ready; on leaving, it asserts that
    the page reported no error, and closes. ``options``: the browser context's own (a device's
    ``viewport``, ``has_touch``, ``forced_colors`` ...), over the 1366 x ``height`` window."""
    context = chromium.new_context(**{"viewport": {"width": 1366, "height": height}, **options})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        yield page
        assert not errors, f"the page reported errors: {errors}"
    finally:
        context.close()
