"""The explorer's paths, as the page and the notebook widget draw them (QA, session 53).

1. A path's term on its line in the diagram is in its path's colour. It had a fill attribute,
   and the stylesheet's ``.label { fill: var(--ink) }`` outranks any attribute, so every term
   was in ink and nothing tied a term to its line but its place.
2. The widget keeps one height while it is stepped: it grew from 560 to 923 px as the panel
   filled, so the notebook cell jumped under the user's pointer.
3. In a 340 px panel (a window up to 1100 px wide) the paths table's names wrapped to three
   lines ("i", "→", "j=1"), and a table of long numbers ran over the panel's edge.

The page is its index.html, style.css and app.js with its requests answered by the kernel's
host (widget_page.page_host), the widget is loaded as anywidget loads it
(test_explorer.HARNESS), both in Debian's chromium; skipped, saying why, where Playwright or
/usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_explorer import HARNESS
from widget_page import page_host, widget_page

import chainrule as cr
from chainrule.notebook.explorer import Explorer, start_network

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

#: JavaScript: the root of the explorer in a page or a widget, as ``where`` names it.
ROOT = "(where) => where === 'page' ? document : document.getElementById('widget').shadowRoot"

#: Each path's term in the diagram, its line's stroke and its table row's swatch, as computed.
PATH_COLOURS = f"""(where) => {{
  const root = ({ROOT})(where);
  const style = (e) => getComputedStyle(e);
  return [...root.querySelectorAll('line.edge.path')].map((line) => {{
    const j = line.dataset.j;
    const term = root.querySelector(`#diagram text[data-testid="term-${{j}}"]`);
    const swatch = root.querySelector(`#paths-table tr[data-j="${{j}}"] .swatch`);
    return {{ j, line: style(line).stroke, term: term && style(term).fill,
              swatch: swatch && style(swatch).backgroundColor }};
  }});
}}"""

#: The paths table in its panel: each heading's text height against one line's, and how far
#: the table reaches past what its box shows and past the panel's content box.
TABLE_FIT = f"""(where) => {{
  const root = ({ROOT})(where);
  const table = root.getElementById('paths-table');
  const panel = table.closest('.panel');
  const line = parseFloat(getComputedStyle(table.querySelector('th')).lineHeight);
  const headings = [...table.querySelectorAll('thead th, tbody th')].map((th) => {{
    const range = document.createRange();
    range.selectNodeContents(th);
    return [th.textContent, range.getBoundingClientRect().height];
  }});
  const box = panel.getBoundingClientRect();
  const contentRight = box.right - parseFloat(getComputedStyle(panel).paddingRight);
  // what shows of the table: its own box, or the nearest one that scrolls it sideways
  let shown = table;
  while (shown !== panel && !['auto', 'scroll'].includes(getComputedStyle(shown).overflowX)) {{
    shown = shown.parentElement;
  }}
  return {{
    panelWidth: box.width, line, headings, scrolls: shown.scrollWidth > shown.clientWidth,
    spill: shown === panel ? table.getBoundingClientRect().right - contentRight
                           : shown.getBoundingClientRect().right - contentRight,
    panelScroll: panel.scrollWidth - panel.clientWidth,
  }};
}}"""


def opened(chromium, where: str, host: Explorer, width: int = 1366, height: int = 900):
    """The page or the widget on ``host``'s network, ready; returns (page, errors)."""
    if where == "page":
        page, errors = page_host(chromium, host)
        page.set_viewport_size({"width": width, "height": height})
        return page, errors
    w = cr.explorer()
    w.explorer = host  # the widget asks this host, as cr.explorer(net, ...) would make it
    page, errors = widget_page(chromium, w, HARNESS, height=height)
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_selector("#widget[data-ready=true]")
    return page, errors


def select(page, layer: int, unit: int) -> None:
    """Click unit ``unit`` of ``layer`` (Playwright's selectors reach into a shadow root)."""
    page.click(f"g.unit[data-layer='{layer}'][data-unit='{unit}']")
    page.wait_for_selector(f"g.unit.selected[data-layer='{layer}'][data-unit='{unit}']")
    page.wait_for_selector("#paths-box:not([hidden])")
    # its paths' lines with their terms (a level line has no height, so "attached")
    page.wait_for_selector("#diagram text[data-testid^='term-']", state="attached")


@pytest.fixture(scope="module")
def users_network():
    """A user's network (test_explorer's case) as the explorer opens on it."""
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=1)
    return start_network(net, (np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])), "squared-error")


def seed_with_weights(scale: float) -> dict:
    """The seed network with weights of about ``scale``, negative and positive, with six
    significant digits: at 1e-3 its table's numbers take 10 and 11 characters ("−0.00123457",
    "−2.64728e−7"), which fit the panel; at 1e-10 twelve in every column ("−1.23457e−10",
    "2.14547e−11", "−2.64873e−21"), which do not."""
    network = Explorer().start
    digits = [-1.23457, 2.34568, -3.45679, 4.56789, -5.67891, 6.78912]
    network["weights"] = [
        [[d * scale for d in digits[:2]], [d * scale for d in digits[2:4]]],
        [[d * scale for d in digits[:3]], [d * scale for d in digits[3:]]],
    ]
    return network


@pytest.mark.parametrize("where", ["page", "widget"])
def test_each_paths_term_is_in_its_paths_colour(chromium, where):
    page, errors = opened(chromium, where, Explorer())
    try:
        page.click("#btn-all")
        for layer, unit in [(0, 0), (1, 1)]:  # 2 paths, then 3
            select(page, layer, unit)
            paths = page.evaluate(PATH_COLOURS, where)
            assert len(paths) == [2, 3][layer], paths
            for path in paths:
                # it was rgb(29, 35, 48), the ink, for every term
                assert path["term"] == path["line"], (where, layer, unit, path)
                assert path["swatch"] == path["line"], (where, layer, unit, path)
            assert len({p["line"] for p in paths}) == len(paths), paths  # told apart
    finally:
        page.close()
    assert not errors, errors


@pytest.mark.parametrize("width", [1366, 700])  # side by side, and the narrow column
def test_the_widget_keeps_its_height_while_it_is_stepped(chromium, users_network, width):
    page, errors = opened(chromium, "widget", Explorer(users_network), width=width)
    sizes = """() => {
      const host = document.getElementById('widget');
      const root = host.shadowRoot.querySelector('.chainrule-explorer');
      const panel = root.querySelector('.panel');
      return { host: host.getBoundingClientRect().height,
               hidden: root.scrollHeight - root.clientHeight,
               panelScrolls: getComputedStyle(panel).overflowY };
    }"""
    try:
        seen = [page.evaluate(sizes)]
        while page.locator("#btn-step").is_enabled():  # every step of both passes
            phase = page.inner_text("#phase")
            page.click("#btn-step")
            page.wait_for_function(
                "(before) => document.getElementById('widget').shadowRoot"
                ".getElementById('phase').textContent !== before",
                arg=phase,
            )
            seen.append(page.evaluate(sizes))
        select(page, 0, 0)  # the panel fills: 4 paths, the nudge, the three views
        seen.append(page.evaluate(sizes))
        page.click("button[data-tab='train']")
        seen.append(page.evaluate(sizes))
        page.click("#btn-back")
        seen.append(page.evaluate(sizes))
    finally:
        page.close()
    assert not errors, errors
    heights = [s["host"] for s in seen]
    assert len(seen) >= 8 and len(set(heights)) == 1, heights  # it went from 560 to 923 px
    assert heights[0] >= 560, heights  # room for the diagram and the panel's tabs
    # nothing is cut off out of reach: what does not fit scrolls inside the widget
    assert all(s["hidden"] <= 1 for s in seen), seen
    assert seen[0]["panelScrolls"] == "auto", seen


@pytest.mark.parametrize("where", ["page", "widget"])
@pytest.mark.parametrize("network", ["seed", "user's", "long numbers", "too long"])
def test_the_paths_table_fits_a_340_px_panel(chromium, users_network, where, network):
    start = {
        "seed": None,
        "user's": users_network,
        "long numbers": seed_with_weights(1e-3),
        "too long": seed_with_weights(1e-10),
    }[network]
    page, errors = opened(chromium, where, Explorer(start), width=1000, height=800)
    try:
        page.click("#btn-all")
        select(page, 0, 0)
        fit = page.evaluate(TABLE_FIT, where)
    finally:
        page.close()
    assert not errors, errors
    assert fit["panelWidth"] == pytest.approx(340, abs=1), fit
    for text, height in fit["headings"]:  # "i → j=1" took three lines
        assert height <= 1.5 * fit["line"], (text, height, fit)
    # the table shows whole in the panel, or scrolls sideways in a box of its own that does;
    # it ran 8 px past the panel's content box for the user's network
    assert fit["spill"] <= 0.5, fit
    assert fit["panelScroll"] <= 0, fit
    assert fit["scrolls"] == (network == "too long"), fit  # only where it must
