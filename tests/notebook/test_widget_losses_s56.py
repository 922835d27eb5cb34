"""The notebook widget's losses come from the library, as the page's do (session 56).

The widget runs the page's markup and app.js, whose loss list (index.html's options) and whose
table of what each loss needs (app.js's ``LOSS_NEEDS``) were copies of ``network.PAGE_LOSSES``
and of each loss object's ``output_activation``. The kernel now answers ``/api/losses`` as the
server does, and the widget fills its list from it and follows it in the Edit form.

Oracles: the loss classes (``nn.losses.LOSSES[name]``), and a change of a loss's needs made in
the library (monkeypatched in the kernel's process), which must reach the widget. The widget is
loaded as anywidget loads it (test_explorer.HARNESS) in Debian's chromium; skipped, saying why,
where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from test_explorer import HARNESS
from widget_page import widget_page

import chainrule as cr
from chainrule.nn import losses as library
from chainrule.web import network as web_network

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

# the page's oracles, shared with tests/web
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from page_lists import library_losses  # noqa: E402

#: The regression case the widget opens on: linear top units, squared error, targets outside
#: [0, 1].
X, TARGET = [0.4, -0.6], [5.0, -1.5]
#: JavaScript: the widget's root.
ROOT = "document.getElementById('widget').shadowRoot"


def opened(chromium, paths: list | None = None):
    """The widget on the regression case, ready, with the networks its kernel was asked to pass
    (``/api/backward``) recorded in order, and every path it asked in ``paths``. Returns
    (page, errors, asked)."""
    model = cr.nn.mlp([2, 3, 2], output="linear", dtype="float64", rng=3)
    w = cr.explorer(model, (X, TARGET), "squared-error")
    answer, asked = w.explorer.answer, []

    def recording(message):
        if paths is not None:
            paths.append(message.get("path"))
        if message.get("path") == "/api/backward":
            asked.append(message["body"]["network"])
        return answer(message)

    w.explorer.answer = recording  # the page's kernel function looks it up on each request
    page, errors = widget_page(chromium, w, HARNESS, height=900)
    page.wait_for_selector("#widget[data-ready=true]")
    page.click(".tabs button[data-tab=edit]")
    return page, errors, asked


def loss_options(page) -> list[str]:
    return page.evaluate(f"[...{ROOT}.querySelectorAll('#edit-loss option')].map((o) => o.value)")


def choose(page, asked: list, loss: dict) -> None:
    """Choose ``loss`` in the widget's Edit form: its top units follow where it needs its own,
    its targets are clipped into [0, 1] where it needs them there, and the note says so."""
    before = len(asked)
    page.select_option("#edit-loss", loss["name"])  # Playwright reaches into the shadow root
    deadline = time.monotonic() + 10
    while len(asked) == before and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert len(asked) > before, f"choosing {loss['name']} asked the kernel for no pass"
    if loss["top_units"]:
        page.wait_for_selector("#edit-note:not([hidden])")
        note = page.inner_text("#edit-note")
        assert f"needs {loss['top_units']} top units" in note and "clipped" in note, note
    network = asked[-1]
    assert network["loss"] == loss["name"]
    assert network["output"] == (loss["top_units"] or "linear")
    clipped = [min(1.0, max(0.0, t)) for t in TARGET]
    assert network["target"] == (clipped if loss["targets_in_unit_interval"] else TARGET)
    wanted = loss["top_units"] or "linear"
    page.wait_for_function(f"{ROOT}.getElementById('edit-output').value === {wanted!r}")
    assert not page.is_visible("#message"), page.inner_text("#message")


def test_the_widgets_loss_list_and_needs_are_the_librarys(chromium):
    paths: list = []
    page, errors, _ = opened(chromium, paths)
    assert "/api/losses" in paths  # the list is the kernel's answer, no copy of the page's
    told = cr.explorer().explorer.answer({"id": "v:1", "path": "/api/losses"})
    assert told == {"id": "v:1", "ok": True, "data": {"losses": library_losses()}}
    assert loss_options(page) == [loss["name"] for loss in library_losses()]
    assert page.input_value("#edit-loss") == "squared-error"
    page.close()
    for loss in library_losses():
        page, more, asked = opened(chromium)
        choose(page, asked, loss)
        errors += more
        page.close()
    assert not errors, errors


def test_a_change_of_a_losss_needs_in_the_library_reaches_the_widget(chromium, monkeypatch):
    monkeypatch.setattr(library.MSE, "output_activation", "logistic")
    offered = ("squared-error", "mse", "cross-entropy")
    monkeypatch.setattr(web_network, "PAGE_LOSSES", offered)
    page, errors, asked = opened(chromium)
    assert loss_options(page) == list(offered)
    mse = library_losses()[1]
    assert mse == {"name": "mse", "top_units": "logistic", "targets_in_unit_interval": True}
    choose(page, asked, mse)
    assert not errors, errors
