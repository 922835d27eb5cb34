"""A render while a trained network is on its way fails nothing (stop 54).

A training step set the phase past the end ("the whole pass") before its network had arrived;
any render in that wait read a phase the shown network does not have ("Cannot read properties of
undefined (reading 'kind')"). Since the diagram is redrawn when its box changes size (653467c),
a resize, or a message appearing, in that wait did so: the full suite caught it once."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="browser tests need playwright (pip install -e '.[test]')"
)
pytest.importorskip("uvicorn")

from served import opened_page  # noqa: E402
from test_web_page_qa45 import one_run_url, start_run  # noqa: E402, F401  (the fixture)

SLOW_BACKWARD = """() => {
  const real = window.fetch;
  window.fetch = async (url, init) => {
    if (String(url).includes('/api/backward')) await new Promise((r) => setTimeout(r, 700));
    return real(url, init);
  };
}"""


def test_a_resize_while_a_trained_network_is_on_its_way(chromium, one_run_url):  # noqa: F811
    with opened_page(chromium, one_run_url) as page:
        start_run(page)
        page.evaluate(SLOW_BACKWARD)
        step = page.evaluate("S.train.state.step")
        page.click("#btn-train-step")
        page.wait_for_function(f"S.train.state.step > {step}")  # the run stepped; its network waits
        page.set_viewport_size({"width": 900, "height": 700})  # the diagram's box: a render
        page.wait_for_timeout(300)
        page.wait_for_function("S.pending === null")  # the network arrived and is shown
        # the whole pass, as a phase of the network shown (opened_page checks no render failed)
        assert 0 < page.evaluate("S.phase") < 100
