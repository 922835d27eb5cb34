"""A notebook explorer's widget in a chromium page, for the browser tests of this folder: the
page stands in for the notebook, and ``chainruleKernel`` for the kernel the widget talks to."""

from __future__ import annotations

import json


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
