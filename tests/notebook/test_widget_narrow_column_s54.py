"""The notebook widget lays itself out by its own width, not the window's.

The widget is no iframe: widget.js mounts the page's markup in a shadow root inside the
notebook's own document, so the stylesheet's media queries read the window's width. In a 636 px
output column of a 1400 px window (JupyterLab with its side panel open) it kept the page's
side-by-side layout for a wide window: a 400 px panel beside a diagram squeezed to the rest. The
sheet now asks the explorer's root (container queries on the page's body, as wide as the window,
and on the widget's root, as wide as its column), and the diagram is drawn again when its box
changes size, as a column does when a side panel opens with no window resizing.

Here, in Debian's chromium: the widget in an output area laid out as JupyterLab lays one out
(the prompt beside it), and the page itself at 1400, 900 and 700 px, whose boxes are the same as
with the sheet's container rules read as the media queries they were.

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import json
import re

import pytest
from test_explorer import HARNESS  # the widget loaded as anywidget loads it
from widget_page import page_host, widget_page

import chainrule as cr
from chainrule.notebook.explorer import STATIC, Explorer

PlaywrightTimeout = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed"
).TimeoutError

#: An output area as @jupyterlab/outputarea lays one out: a flex row of the prompt (64 px) and
#: the output, which grows and shrinks to the column's width.
NOTEBOOK = """
<div id="column" style="width: 700px; margin: 0 auto">
  <div style="display: flex; flex-direction: row">
    <div style="flex: 0 0 64px">Out[1]:</div>
    <div id="output" style="flex: 1 1 auto; overflow: auto"></div>
  </div>
</div>"""
PROMPT = 64

#: The explorer's boxes as drawn (left, top, width, height), what overflows sideways, and the
#: width the diagram was drawn for against its box's.
BOXES = """(where) => {
  const root = where === 'page' ? document : document.getElementById('widget').shadowRoot;
  const explorer = where === 'page' ? document.body : root.querySelector('.chainrule-explorer');
  const parts = {
    explorer, header: root.querySelector('header'), steps: root.querySelector('.steps'),
    phase: root.getElementById('phase'), main: root.querySelector('main'),
    diagram: root.querySelector('.diagram-area'), wrap: root.getElementById('diagram-wrap'),
    panel: root.querySelector('.panel'), tabs: root.querySelector('.tabs'),
  };
  const boxes = {}, overflow = {};
  for (const [name, e] of Object.entries(parts)) {
    const r = e.getBoundingClientRect();
    boxes[name] = [r.left, r.top, r.width, r.height].map((v) => Math.round(v * 10) / 10);
    overflow[name] = e.scrollWidth - e.clientWidth;
  }
  const paths = root.getElementById('paths-table');
  return {
    boxes, overflow,
    pathsFont: getComputedStyle(paths).fontSize,
    pathsPadding: getComputedStyle(paths.querySelector('th')).padding,
    drawn: root.getElementById('diagram').viewBox.baseVal.width,
    box: Math.max(parts.wrap.clientWidth, 420),  // app.js draws for this width
  };
}"""

#: The diagram drawn for its box as it is now (app.js redraws 80 ms after a resize).
DRAWN_FOR_ITS_BOX = """() => {
  const root = document.getElementById('widget').shadowRoot;
  const wrap = root.getElementById('diagram-wrap');
  return root.getElementById('diagram').viewBox.baseVal.width === Math.max(wrap.clientWidth, 420);
}"""


def in_a_column(harness: str) -> str:
    """``harness``, rendering the widget into NOTEBOOK's output area instead of the body."""
    body = "document.body.appendChild(el);"
    assert body in harness, "test_explorer.HARNESS no longer appends the widget to the body"
    column = f"document.body.innerHTML = {json.dumps(NOTEBOOK)};"
    return harness.replace(body, column + " document.getElementById('output').appendChild(el);")


def side_by_side(seen: dict, panel: float) -> None:
    """The diagram and, right of it, a panel ``panel`` px wide, both of the explorer's height."""
    box = seen["boxes"]
    assert box["panel"][1] == box["diagram"][1], seen  # one row
    assert box["panel"][0] == pytest.approx(box["diagram"][0] + box["diagram"][2], abs=0.5)
    assert box["panel"][2] == pytest.approx(panel, abs=0.5), seen


def stacked(seen: dict) -> None:
    """The diagram above the panel, each the explorer's full width."""
    box = seen["boxes"]
    left, _, width, _ = box["explorer"]
    assert box["panel"][1] >= box["diagram"][1] + box["diagram"][3] - 0.5, seen
    for part in ("header", "main", "diagram", "panel"):
        assert box[part][0] == pytest.approx(left, abs=0.5), (part, seen)
        assert box[part][2] == pytest.approx(width, abs=0.5), (part, seen)


def fits(seen: dict) -> None:
    """Nothing runs over the explorer's right edge or scrolls sideways (but the phase, which
    ends in an ellipsis where it is cut)."""
    left, _, width, _ = seen["boxes"]["explorer"]
    for part, (x, _, w, _) in seen["boxes"].items():
        assert x + w <= left + width + 0.5, (part, seen)
    assert all(extra <= 0 for part, extra in seen["overflow"].items() if part != "phase"), seen
    assert seen["drawn"] == seen["box"], seen  # the diagram drawn for the box it is in


@pytest.fixture
def widget(chromium):
    """The seed network's widget in NOTEBOOK's 700 px column of a 1400 px window."""
    page, errors = widget_page(chromium, cr.explorer(), in_a_column(HARNESS), height=900)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_selector("#widget[data-ready=true]")
    yield page
    page.close()
    assert not errors, errors


def column(page, width: int) -> dict:
    """The widget's boxes once its column is ``width`` px wide and the diagram redrawn."""
    page.evaluate("(w) => { document.getElementById('column').style.width = `${w}px`; }", width)
    try:
        page.wait_for_function(DRAWN_FOR_ITS_BOX, timeout=3000)
    except PlaywrightTimeout:
        pytest.fail(f"in a {width} px column the diagram was not drawn again for its box")
    seen = page.evaluate(BOXES, "widget")
    assert seen["boxes"]["explorer"][2] == width - PROMPT, (
        seen
    )  # the column's width, less the prompt
    return seen


def test_in_a_narrow_column_the_widget_stacks_in_a_wide_window(widget):
    seen = column(widget, 700)  # it was a 400 px panel beside a 236 px diagram
    stacked(seen)
    fits(seen)
    # the diagram a share of the widget's own height, not 60% of the window's (540 px of the
    # widget's 640 here, the panel below the fold), so the panel's tabs show under it
    box = seen["boxes"]
    assert box["diagram"][3] == pytest.approx(0.6 * box["main"][3], abs=0.5), seen
    tabs_bottom = box["tabs"][1] + box["tabs"][3]
    assert tabs_bottom <= box["explorer"][1] + box["explorer"][3], seen


def test_the_widget_follows_its_column_as_it_changes(widget):
    # a wide column: side by side, as the page in a wide window
    seen = column(widget, 1300)
    side_by_side(seen, panel=400)
    fits(seen)
    # a side panel opens: the narrower panel of a 1000 px window, and its smaller paths table
    seen = column(widget, 1000)
    side_by_side(seen, panel=340)
    assert seen["pathsFont"] == "12px", seen
    fits(seen)
    # narrower still: stacked, the diagram redrawn for its new box
    seen = column(widget, 700)
    stacked(seen)
    fits(seen)


# -- the page: as before at each window width ----------------------------------------------


def as_media_queries(sheet: str) -> str:
    """The stylesheet as it was: its container rules the media queries they were, on the window's
    width, and no container."""
    old, rules = re.subn(r"@container explorer \(", "@media (", sheet)
    old, containers = re.subn(r"\n\s*container: explorer / inline-size;", "", old)
    # (0, 0): a sheet of media queries already, as it was
    assert (rules, containers) in [(2, 1), (0, 0)], "style.css's rules are not the ones tested"
    return old


def page_boxes(chromium, width: int, sheet: str) -> dict:
    """The page's boxes in a ``width`` x 900 window, with ``sheet`` as its stylesheet (the
    page's API requests answered by the kernel's host: ``widget_page.page_host``)."""
    page, errors = page_host(chromium, Explorer(), width, sheet)
    try:
        seen = page.evaluate(BOXES, "page")
    finally:
        page.close()
    assert not errors, errors
    return seen


@pytest.mark.parametrize("width", [1400, 900, 700])
def test_the_page_is_laid_out_as_before_at_each_window_width(chromium, width):
    sheet = (STATIC / "style.css").read_text(encoding="utf-8")
    seen = page_boxes(chromium, width, sheet)
    assert seen == page_boxes(chromium, width, as_media_queries(sheet))
    assert seen["boxes"]["explorer"][2] == width  # the body: as wide as the window
    if width == 700:
        stacked(seen)
        assert seen["boxes"]["diagram"][3] == 0.6 * 900  # 60vh
    else:
        side_by_side(seen, panel=400 if width > 1100 else 340)
    fits(seen)
