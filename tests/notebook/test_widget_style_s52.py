"""The notebook widget looks like the page, and refuses a batch as a batch.

The widget puts the page's stylesheet in its shadow root (widget.js), where ``:root`` and
``body`` match nothing: its connections had no stroke colour (circles and floating weights, no
lines), "Step ▸" was white on transparent, and its labels were in Times while the diagram measures
them as monospace. Here the widget (loaded as test_explorer.py loads it) and the page (its
index.html, style.css and app.js, its requests answered by the same kernel host) are drawn in
Debian's chromium, and their computed styles compared.

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_explorer import HARNESS  # the widget loaded as anywidget loads it
from widget_page import page_host, widget_page

import chainrule as cr
from chainrule.errors import UserError
from chainrule.notebook.explorer import Explorer

# -- the widget and the page, drawn ----------------------------------------------------------------

#: What a user sees of the explorer in ``root`` (the page's document, or the widget's shadow root).
LOOKS = """(where) => {
  const root = where === 'page' ? document : document.getElementById('widget').shadowRoot;
  const explorer = where === 'page' ? document.body : root.querySelector('.chainrule-explorer');
  const svg = root.getElementById('diagram');
  const style = (e) => getComputedStyle(e);
  const width = (text) => {  // as drawn, in a number label's class
    const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    label.setAttribute('class', 'label');
    label.textContent = text;
    svg.append(label);
    const w = label.getComputedTextLength();
    label.remove();
    return w;
  };
  const step = root.getElementById('btn-step');
  const unit = root.querySelector('g.unit circle');
  return {
    font: style(explorer).fontFamily,
    ink: style(explorer).color,
    edge: style(root.querySelector('line.edge')).stroke,
    unit: style(unit).stroke,
    step: [style(step).color, style(step).backgroundColor, step.disabled],
    label: style(root.querySelector('#diagram text.label:not(.layer)')).fontFamily,
    narrow: width('iiiiiiiiii'),
    wide: width('MMMMMMMMMM'),
  };
}"""


def rgb(text: str) -> tuple[float, ...]:
    """A computed colour, "rgb(r, g, b)" or "rgba(r, g, b, a)", as (r, g, b, a)."""
    values = [float(v) for v in re.findall(r"[\d.]+", text)]
    return tuple(values + [1.0] * (4 - len(values)))


def contrast(ink: str, ground: str) -> float:
    """The WCAG contrast ratio of two opaque colours."""

    def luminance(colour: tuple[float, ...]) -> float:
        channels = [c / 255 for c in colour[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted([luminance(rgb(ink)), luminance(rgb(ground))], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_widget_looks_like_the_page(chromium):
    w = cr.explorer()  # the seed network, as the page opens on it
    widget, widget_errors = widget_page(chromium, w, HARNESS, height=900)
    page, page_errors = page_host(chromium, Explorer())
    try:
        widget.wait_for_selector("#widget[data-ready=true]")
        looks = {"widget": widget.evaluate(LOOKS, "widget"), "page": page.evaluate(LOOKS, "page")}
    finally:
        widget.close()
        page.close()
    assert not widget_errors and not page_errors, (widget_errors, page_errors)
    for where, seen in looks.items():
        # every connection drawn in its sign's colour ("none": the lines were not there)
        assert seen["edge"] in ("rgb(169, 71, 0)", "rgb(26, 106, 160)"), (where, seen)
        # "Step ▸" on its own ground, readable (white on transparent: invisible)
        ink, ground, disabled = seen["step"]
        assert not disabled and rgb(ground)[3] == 1, (where, seen)
        assert contrast(ink, ground) >= 4.5, (where, seen)
        # numbers in a monospace font, as the diagram measures them (Times: i far narrower than M)
        assert seen["narrow"] == pytest.approx(seen["wide"], abs=0.5), (where, seen)
        assert seen["narrow"] <= 10 * 0.62 * 11, (where, seen)  # app.js's CHAR_W covers them
    assert looks["widget"] == looks["page"]


# -- a batch -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def case():
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=1)
    x, t = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])
    return net, x, t


def test_a_batch_is_refused_as_one_case_too_many(case):
    net, x, t = case
    batches = [
        (np.stack([x, x]), t),  # a target for one case: it said "1 target rows for 2 input rows"
        (np.stack([x, x]), np.stack([t, t])),
        (cr.Tensor(np.stack([x, x, x])), t),
        (np.stack([x, x]).tolist(), t.tolist()),
    ]
    for xs, ts in batches:
        rows = len(xs.data if isinstance(xs, cr.Tensor) else xs)
        with pytest.raises(UserError) as refused:
            cr.explorer(net, (xs, ts), cr.nn.SquaredError())
        assert str(refused.value) == (
            f"explorer: the explorer shows one case, but x has {rows} rows (shape ({rows}, 3)); "
            "pass one case, e.g. (X[0], T[0])"
        )
    # one case, as a row or flat, still opens
    for one in [(x, t), (x[None], t), (x[None], t[None]), (x.tolist(), t.tolist())]:
        assert cr.explorer(net, one, cr.nn.SquaredError()).explorer is not None
