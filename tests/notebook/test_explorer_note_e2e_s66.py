"""End to end (widget.js passes the reply's ``model_changed`` on to the page): a widget
placed before a training cell, Run All (its replies held back until the training ran), shows
the snapshot with the note; Reset shows the trained model and the note goes; training again in
the kernel brings the note back with the next reply."""

from __future__ import annotations

import pytest
from test_explorer_lesson_s66 import BUSY, lesson, shadow_text, train_step
from widget_page import widget_page

import chainrule as cr

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")


def shown_E(page) -> float:
    page.click("#widget >> #btn-all")
    return float(page.inner_text("#widget >> #error-value").replace("\u2212", "-").split("=")[1])


def test_run_all_shows_the_snapshot_with_the_note_and_reset_the_trained_model(chromium):
    net, x, t, loss = lesson()
    w = cr.explorer(net, (x, t), loss)
    before = cr.explain(net, x[None], t[None], loss).error
    page, errors = widget_page(chromium, w, BUSY, height=900)
    page.wait_for_selector("#widget >> #btn-step")
    train_step(net, loss, steps=50)  # the training cell, queued after the explorer's
    after = cr.explain(net, x[None], t[None], loss).error
    assert after < before * 0.9
    page.evaluate("window.kernelFree = true")  # the queue ran: the kernel answers the view
    page.wait_for_selector("#widget[data-ready=true]")
    assert shown_E(page) == pytest.approx(before, rel=1e-5)
    note = shadow_text(page, "#model-changed")
    assert not note["hidden"] and "Reset shows it now" in note["text"]
    page.click("#widget >> #btn-reset")
    page.wait_for_function(
        "document.getElementById('widget').shadowRoot.getElementById('model-changed').hidden"
    )
    assert shown_E(page) == pytest.approx(after, rel=1e-5)
    train_step(net, loss, steps=5)  # trained again while the view shows it
    # a unit's requests: their replies carry the flag
    page.click("#widget >> g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_function(
        "!document.getElementById('widget').shadowRoot.getElementById('model-changed').hidden"
    )
    assert not errors, errors
