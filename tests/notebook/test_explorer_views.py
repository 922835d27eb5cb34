"""Two views of one explorer widget (the same widget displayed twice, or JupyterLab's "New View
for Output"): anywidget loads the module once and calls render() once per view, and every reply
of the model reaches every view's listener. Each view must be an explorer of its own: its own
markup, state and requests, so a click in one view changes that view alone. In Debian's chromium
(Playwright), on a stand-in for anywidget's model; skipped, saying why, where either is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
from widget_page import widget_page  # noqa: E402

import chainrule as cr

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
pytest.importorskip("starlette", reason="the [app] extra is not installed")

# anywidget's model as the views share it: one module import, one render() per view, and each
# reply handed to every listener (every view's), as the model's msg:custom event is
HARNESS = """
async ([esm, state]) => {
  const listeners = [];
  const model = {
    get: (name) => state[name],
    on: (event, callback) => { if (event === "msg:custom") listeners.push(callback); },
    off: (event, callback) => {
      const k = listeners.indexOf(callback);
      if (k >= 0) listeners.splice(k, 1);
    },
    send: (content) => window.chainruleKernel(JSON.stringify(content))
      .then((reply) => listeners.forEach((callback) => callback(JSON.parse(reply)))),
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  for (const id of ["view1", "view2"]) {
    const el = document.createElement("div");
    el.id = id;
    document.body.appendChild(el);
    widget.render({ model, el });
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        if (el.dataset.ready) { clearInterval(timer); resolve(); }
      }, 20);
    });
  }
}
"""


def test_two_views_of_one_widget_are_two_explorers(chromium):
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=0)
    w = cr.explorer(net, (np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])), cr.nn.SquaredError())
    page, errors = widget_page(chromium, w, HARNESS, height=1800)

    def phase(view: str) -> str:
        return page.locator(f"#{view} #phase").inner_text()

    def paths_hidden(view: str) -> bool:
        return page.locator(f"#{view} #paths-box").get_attribute("hidden") is not None

    assert phase("view1").startswith("Step 1/") and phase("view2").startswith("Step 1/")
    page.locator("#view1 #btn-all").click()
    assert phase("view1").startswith("Step 8/8")
    assert phase("view2").startswith("Step 1/")  # the other view stays where it was
    page.locator("#view1 g.unit[data-layer='1'][data-unit='0']").click()
    page.locator("#view1 #paths-box:not([hidden])").wait_for()
    page.wait_for_timeout(200)
    assert paths_hidden("view2")
    # the second view works on its own: its click answers in it, and only in it
    page.locator("#view2 g.unit[data-layer='1'][data-unit='2']").click()
    page.locator("#view2 #paths-box:not([hidden])").wait_for()
    page.locator("#view2 #btn-all").click()
    shown = page.locator("#view2 #paths-engine").inner_text()
    expected = w.explorer.answer(
        {
            "id": 0,
            "path": "/api/paths",
            "body": {"network": w.explorer.start, "layer": 1, "unit": 2},
        }
    )["data"]["dE_dy"]
    assert float(shown.replace("\u2212", "-")) == pytest.approx(expected, rel=1e-5, abs=1e-9)
    assert phase("view1").startswith("Step 8/8")
    assert page.locator("#view1 g.unit.selected").get_attribute("data-unit") == "0"
    assert not errors, errors
    page.close()
