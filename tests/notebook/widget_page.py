"""A notebook explorer's widget in a chromium page, for the browser tests of this folder: the
page stands in for the notebook, and ``chainruleKernel`` for the kernel the widget talks to."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import chainrule as cr
from chainrule.notebook.explorer import STATIC


def widget_page(chromium, w, harness: str, height: int):
    """A new page running ``harness`` (a script that renders the widget's JavaScript) on the
    explorer ``w``, whose requests ``w.explorer`` answers. Returns (page, errors): the page's
    uncaught JavaScript errors collect in ``errors``."""
    page = chromium.new_page(viewport={"width": 1366, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.expose_function(
        "chainruleKernel", lambda text: json.dumps(w.explorer.answer(json.loads(text)))
    )
    page.set_content("<!doctype html><html><body></body></html>")
    page.evaluate(harness, [w._esm, {"_markup": w._markup, "_style": w._style}])
    return page, errors


def recording_widget(chromium, harness: str, paths: list):
    """The widget on a small regression model (2-3-2, linear top units, squared error), ready,
    with the path of every request its kernel answered appended to ``paths``. Returns (page,
    errors), as :func:`widget_page`."""
    model = cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)
    w = cr.explorer(model, ([0.4, -0.6], [0.5, -1.5]), "squared-error")
    answer = w.explorer.answer

    def recording(message):
        paths.append(message.get("path"))
        return answer(message)

    w.explorer.answer = recording  # the page's kernel function looks it up on each request
    page, errors = widget_page(chromium, w, harness, height=900)
    page.wait_for_selector("#widget[data-ready=true]")
    return page, errors


def page_host(chromium, host, width: int = 1366, sheet: str | None = None):
    """The page itself (index.html, style.css, app.js as served) in a ``width`` x 900 window,
    its API requests answered by ``host`` (an ``Explorer``) as the kernel answers the widget's:
    the same data and refusals as the HTTP API. ``sheet`` replaces style.css's text. Returns
    (page, errors) once the explorer is ready."""
    page = chromium.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def serve(route):
        path = urlparse(route.request.url).path
        if path.startswith("/api/"):
            body = route.request.post_data
            reply = host.answer(
                {"id": "page:1", "path": path, "body": json.loads(body) if body else None}
            )
            data = reply["data"] if reply["ok"] else {"error": reply["error"]}
            route.fulfill(status=200 if reply["ok"] else 400, json=data)
            return
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        kind = {"html": "text/html", "css": "text/css", "js": "text/javascript"}
        text = sheet if sheet is not None and name == "style.css" else None
        route.fulfill(
            body=text if text is not None else (STATIC / name).read_text(encoding="utf-8"),
            content_type=kind[name.rsplit(".", 1)[1]],
        )

    page.route("http://chainrule.test/**", serve)
    page.goto("http://chainrule.test/")
    page.wait_for_selector("body[data-ready=true]")
    return page, errors
