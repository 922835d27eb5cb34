"""An edit made while Reset reads the model again is made on the model it reads (session 67).

On a widget's model, Reset (and Reload model) read the model again from the kernel, and the
view asked for the network only once the kernel's answer came: an edit made while the kernel
was still answering (a bias typed) was shown, and then the model read replaced it, the edit
lost without a word (the opposite of 4b69bb2's race, a Reset clicked while an edit is on its
way, test_widget_quick_reset_s66). The newest action wins now: the edit waits for the model
read and is made on it.

The kernel holds back its answers to /api/seed while the test says so
(``window.seedHeld``) and counts the requests not yet answered, so a test waits for the page to
settle, not for a time. Oracle: the library's E of the model trained in the kernel meanwhile,
with the bias set as the test typed it.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_explorer import HARNESS
from test_widget_reset_s57 import CASE, LABELS, X, model_loss, shown_E, train
from widget_page import widget_page

import chainrule as cr
from chainrule import nn

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

# the kernel: /api/seed waits while window.seedHeld; window.kernelInFlight counts the requests
# not yet answered (the count goes down and the request an answer leads to goes out in the same
# task, so 0 is seen only once the page has nothing more to ask)
HOLD_SEED = HARNESS.replace(
    "send: (content) => window.chainruleKernel(JSON.stringify(content))\n"
    "      .then((reply) => listeners.forEach((callback) => callback(JSON.parse(reply)))),",
    "send: async (content) => {\n"
    "      window.kernelInFlight = (window.kernelInFlight || 0) + 1;\n"
    "      while (window.seedHeld && content.path === '/api/seed')"
    " await new Promise((r) => setTimeout(r, 20));\n"
    "      const reply = await window.chainruleKernel(JSON.stringify(content));\n"
    "      listeners.forEach((callback) => callback(JSON.parse(reply)));\n"
    "      window.kernelInFlight -= 1;\n"
    "    },",
)
assert HOLD_SEED != HARNESS
SETTLED = "!window.seedHeld && window.kernelInFlight === 0"
BIAS = 10.0  # layer 1, unit 0's bias, as the test types it (3.5 changes E too little here)


def with_the_bias(net) -> None:
    bias = net.parameters()[1]  # the first Linear's bias: unit 0 of layer 1 is its first
    bias.data = np.array(bias.data, copy=True)
    bias.data[0] = BIAS


def test_an_edit_made_while_reset_reads_the_model_is_made_on_the_model_read(chromium):
    net, loss = nn.mlp([4, 5, 3], activation="relu", dtype="float64", rng=7), nn.CrossEntropy()
    page, errors = widget_page(
        chromium, cr.explorer(net, (X[CASE], LABELS[CASE]), loss), HOLD_SEED, height=1000
    )
    page.wait_for_selector("#widget[data-ready=true]")
    page.click("#btn-all")
    page.click("g.unit[data-layer='1'][data-unit='0']")
    page.wait_for_selector("#paths-box:not([hidden])")
    page.click(".tabs button[data-tab=edit]")
    page.wait_for_function(SETTLED)
    train(net, loss)  # the model changes in the kernel: Reset reads it again
    page.evaluate("window.seedHeld = true")
    page.click("#btn-reset")  # the view shows the model as read: Reset asks the kernel for it
    field = page.locator("#edit-unit input").first  # the unit's bias
    field.fill(str(BIAS))
    field.press("Tab")  # the edit, made while the model read is on its way
    page.evaluate("window.seedHeld = false")
    page.wait_for_function(SETTLED)
    trained = model_loss(net, loss)
    with_the_bias(net)
    edited = model_loss(net, loss)
    assert abs(trained - edited) > 0.01  # the two networks' E tell them apart
    assert shown_E(page) == pytest.approx(edited, rel=1e-5)  # not the model without the edit
    assert page.evaluate(
        "document.getElementById('widget').shadowRoot.getElementById('message').hidden"
    )
    assert errors == []
