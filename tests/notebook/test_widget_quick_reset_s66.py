"""Reset and the model's note in a widget on a model, for a quick user or a slow kernel (s66).

Reset reads the model again only while the view shows the model as read; a network of the
view's own is kept. It decided on the network shown, so an edit still on its way to the kernel
(five requests) did not count: a Reset clicked before it showed read the model again, and the
edit was lost for the model trained meanwhile. The model's note ("The model has changed since
this view read it: ... shows it now") is written as a reply comes, before the network it answers
shows, so after an edit it still named Reset, which keeps the edit, not Reload model.

The kernel is held as a busy one is (test_explorer_lesson_s66.BUSY: each request waits until
the test sets ``window.kernelFree``), and counts the requests not yet answered, so a test waits
for the page to settle, not for a time. Oracle: the library's E of the edited network and of
the model trained in the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_explorer_lesson_s66 import BUSY, shadow_text
from test_widget_reset_s57 import CASE, LABELS, X, model_loss, shown_E, train
from widget_page import widget_page

import chainrule as cr
from chainrule import nn

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

# BUSY, counting the requests sent and not yet answered in window.kernelInFlight: the count goes
# down and the request an answer leads to goes out in the same task (its microtasks), so 0 is
# seen only once the page has nothing more to ask
COUNTED = BUSY.replace(
    "send: async (content) => {\n",
    "send: async (content) => {\n      window.kernelInFlight = (window.kernelInFlight || 0) + 1;\n",
).replace(
    "      listeners.forEach((callback) => callback(JSON.parse(reply)));\n",
    "      listeners.forEach((callback) => callback(JSON.parse(reply)));\n"
    "      window.kernelInFlight -= 1;\n",
)
assert COUNTED.count("kernelInFlight") == 3
SETTLED = "window.kernelFree && window.kernelInFlight === 0"
BIAS = 3.5  # layer 1, unit 0's bias, as the test types it


def model():
    return nn.mlp([4, 5, 3], activation="relu", dtype="float64", rng=7)


def edited_E(loss) -> float:
    """E of the case on the model as it was opened, with unit 0 of layer 1's bias set to BIAS."""
    net = model()
    bias = net.parameters()[1]
    bias.data = np.array(bias.data, copy=True)
    bias.data[0] = BIAS
    return model_loss(net, loss)


def opened_on_the_edit_form(chromium, net, loss):
    """The widget on ``net``, its kernel free, unit 0 of layer 1 selected and the Edit tab open."""
    w = cr.explorer(net, (X[CASE], LABELS[CASE]), loss)
    page, errors = widget_page(chromium, w, COUNTED, height=1000)
    page.evaluate("window.kernelFree = true")
    page.wait_for_selector("#widget[data-ready=true]")
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    page.click(".tabs button[data-tab=edit]")
    page.wait_for_function(SETTLED)
    return page, errors


def type_the_bias(page) -> None:
    field = page.locator("#edit-unit input").first  # the unit's bias
    field.fill(str(BIAS))
    field.dispatch_event("change")


def test_reset_clicked_before_the_edit_shows_keeps_the_edit(chromium):
    net, loss = model(), nn.CrossEntropy()
    page, errors = opened_on_the_edit_form(chromium, net, loss)
    page.evaluate("window.kernelFree = false")  # the kernel is slow: the edit is on its way
    type_the_bias(page)
    train(net, loss)  # the model changes in the kernel meanwhile
    trained, edited = model_loss(net, loss), edited_E(loss)
    assert abs(trained - edited) > 0.01  # the two networks' E tell them apart
    page.click("#btn-reset")
    page.evaluate("window.kernelFree = true")
    page.wait_for_function(SETTLED)
    assert page.inner_text("#phase").startswith("Step 1/")
    assert shown_E(page) == pytest.approx(edited, rel=1e-5)  # not the trained model's
    assert page.locator("#edit-unit input").first.input_value() == str(BIAS)
    assert errors == []


def test_the_note_names_reload_model_once_the_view_shows_its_own_edit(chromium):
    net, loss = model(), nn.CrossEntropy()
    page, errors = opened_on_the_edit_form(chromium, net, loss)
    train(net, loss)  # the model changes in the kernel: the next reply brings the note
    type_the_bias(page)
    page.wait_for_function(SETTLED)
    assert shown_E(page) == pytest.approx(edited_E(loss), rel=1e-5)  # the edit shows
    note = shadow_text(page, "#model-changed")
    assert not note["hidden"]
    # Reset keeps the edit now: the way to the model is Reload model
    assert "Reload model (on the Edit tab) shows it now" in note["text"], note["text"]
    page.click("#btn-reset")
    assert shown_E(page) == pytest.approx(edited_E(loss), rel=1e-5)
    page.click("#btn-seed")  # as the note says: the model as it is now
    page.wait_for_function(SETTLED)
    assert shown_E(page) == pytest.approx(model_loss(net, loss), rel=1e-5)
    assert shadow_text(page, "#model-changed")["hidden"]
    assert errors == []
