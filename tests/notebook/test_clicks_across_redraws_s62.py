"""A click on something the explorer draws again while the button is down (session 62's flake).

The diagram's units and the three views' terms are made anew at each drawing. When one is drawn
again between the press and the release (the diagram's box resized, as it does after "All
steps" at 800 px, a training step, an answer arriving), the press is on the old element and the
release on the new one, and the browser fires no click at all: the click was lost, and the
paths panel never opened (the browser tests' 30 s waits for ``#paths-box`` on a loaded CI
machine, where Playwright's press and release came far enough apart). A person's click, a tenth
of a second long, met it more often. Here the redraw is made to come between the two: the
viewport grows by 1 px while the button is down, and the release waits until the element
pressed is gone.

The page (its requests answered by the kernel's host) and the widget, in Debian's chromium;
skipped, saying why, where anywidget, Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import pytest
from test_explorer_colours_s53 import opened, select

from chainrule.notebook.explorer import Explorer

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")


def click_across_a_redraw(page, selector: str, width: int) -> None:
    """Press on ``selector``, have the explorer draw it again (the viewport ``width`` grows by
    1 px: the diagram's box changes size), and release once the element pressed is gone."""
    target = page.locator(selector)
    target.hover()  # scrolled into view, the pointer on its middle
    page.mouse.down()
    pressed = target.element_handle()  # (every drawing makes them all anew)
    page.set_viewport_size({"width": width + 1, "height": 800})
    page.wait_for_function("(element) => !element.isConnected", arg=pressed)
    page.mouse.up()


@pytest.mark.parametrize("where", ["page", "widget"])
def test_a_unit_drawn_again_while_pressed_is_selected(chromium, where):
    page, errors = opened(chromium, where, Explorer(), width=1000, height=800)
    try:
        page.click("#btn-all")
        click_across_a_redraw(page, "g.unit[data-layer='1'][data-unit='0'] circle", 1000)
        # no click reached the unit: nothing was selected, and the panel stayed closed
        page.wait_for_selector("g.unit.selected[data-layer='1'][data-unit='0']")
        page.wait_for_selector("#paths-box:not([hidden])")
    finally:
        page.close()
    assert not errors, errors


@pytest.mark.parametrize("where", ["page", "widget"])
def test_a_term_drawn_again_while_pressed_is_linked(chromium, where):
    page, errors = opened(chromium, where, Explorer(), width=1000, height=800)
    try:
        page.click("#btn-all")
        select(page, 1, 0)
        click_across_a_redraw(page, "#views-box li[data-testid=view-graph-1]", 1000)
        page.wait_for_selector("#views-box li.linked[data-testid=view-hinton-1]")
        linked = page.eval_on_selector_all(
            "#views-box li.linked", "items => items.map((item) => item.dataset.testid)"
        )
        assert sorted(linked) == ["view-graph-1", "view-hinton-1", "view-matrix-1"], linked
    finally:
        page.close()
    assert not errors, errors
