"""Serving the page for the browser tests of this folder: uvicorn on a free local port, in a
thread, and a chromium page on it. Import it after ``pytest.importorskip("uvicorn")``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import uvicorn


def page_text(x: float, digits: int = 6) -> str:
    """``x`` as the page writes it in its tables (app.js's ``fmt(x, 6)``, fmtLong): JavaScript's
    toPrecision keeps trailing zeros (0.693100) where Python's ``g`` drops them (0.6931), so a
    test comparing with ``f"{x:.6g}"`` failed for one random number in ten. Exponent form below
    1e-3 and from 1e5, with the page's minus sign."""
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        mantissa, power = f"{x:.{digits - 1}e}".split("e")
        text = f"{mantissa}e{int(power):+d}"  # JavaScript's exponent: e-4, e+7
    else:
        text = f"{x:#.{digits}g}".rstrip(".")
    return text.replace("-", "\u2212")


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
