"""The notebook widget as a part of the notebook's page (session 61's accessibility review), each
shown failing on the code before it:

- its text/plain was "<chainrule.notebook.explorer._widget_class.<locals>.ExplorerWidget object
  at 0x...>" (what a notebook saved without widget state, or a terminal, shows);
- each widget added another h1 to the page, in a root that was no named region and had no
  language.

Skipped, saying why, where anywidget, Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import pytest

import chainrule as cr

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")


def test_the_widgets_plain_text_says_what_it_is():
    w = cr.explorer()
    text = w._repr_mimebundle_()
    text = text[0] if isinstance(text, tuple) else text
    assert text["text/plain"] == "chainrule explorer (run the notebook to use it)"
    assert repr(w) == text["text/plain"]


def test_the_widget_is_a_named_region_with_no_h1_of_its_own(chromium):
    from test_explorer import HARNESS  # the widget loaded as anywidget loads it
    from widget_page import widget_page

    w = cr.explorer()
    page, errors = widget_page(chromium, w, HARNESS, height=900)
    page.wait_for_selector("#widget[data-ready=true]")
    seen = page.evaluate("""() => {
      const root = document.getElementById('widget').shadowRoot;
      const top = root.querySelector('.chainrule-explorer');
      return {role: top.getAttribute('role'), label: top.getAttribute('aria-label'),
              lang: top.getAttribute('lang'), h1: root.querySelectorAll('h1').length,
              h2: [...root.querySelectorAll('h2')].map((h) => h.textContent)};
    }""")
    page.close()
    assert not errors, errors
    assert seen["role"] == "region" and seen["label"] == "chainrule explorer", seen
    assert seen["lang"] == "en" and seen["h1"] == 0, seen
    assert seen["h2"] == ["chainrule explorer"], seen
