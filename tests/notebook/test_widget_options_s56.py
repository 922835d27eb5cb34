"""The notebook widget's unit and dataset lists come from the kernel, as the page's do (session
56).

The widget runs the page's markup and app.js, whose hidden-unit, top-unit and dataset lists
(index.html's options) and whose Train tab defaults (app.js's ``TRAIN_DEFAULTS``, keyed by a
hard-coded list of dataset names) were copies of what the server defines. The kernel now answers
``/api/units`` and ``/api/datasets`` as the server does, and the widget fills its lists and
fields from them.

Oracles: the library's hidden units (``nn.activations.HIDDEN``), the training module's table of
datasets, and a change made in the kernel's process (monkeypatched), which must reach the widget.
The widget is loaded as anywidget loads it (test_explorer.HARNESS) in Debian's chromium; skipped,
saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import pytest
from test_explorer import HARNESS
from widget_page import recording_widget

from chainrule.nn import activations
from chainrule.web import network as web_network
from chainrule.web import training

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

#: JavaScript: the widget's root.
ROOT = "document.getElementById('widget').shadowRoot"


def server_datasets() -> list[dict]:
    """The datasets the widget must offer, from the training module's table, with its defaults."""
    return [
        {"name": name, "label": d.label, "hidden": list(d.hidden), "lr": d.lr}
        for name, d in training.DATASETS.items()
    ]


def options(page, select: str) -> list[list[str]]:
    """The [value, text] of each option of the widget's ``select``."""
    return page.evaluate(
        f"[...{ROOT}.querySelectorAll('#{select} option')].map((o) => [o.value, o.textContent])"
    )


def check_widget(page, units: dict, datasets: list[dict]) -> None:
    """The widget's lists are ``units`` and ``datasets``, and choosing each dataset fills in its
    hidden sizes and learning rate (the first's when the widget opens)."""
    assert not page.is_visible("#message"), page.inner_text("#message")
    assert options(page, "edit-activation") == [[u, u] for u in units["hidden"]]
    assert options(page, "edit-output") == [[u, u] for u in units["top"]]
    assert options(page, "train-dataset") == [[d["name"], d["label"]] for d in datasets]
    page.click(".tabs button[data-tab=train]")  # Playwright reaches into the shadow root
    for dataset in [datasets[0], *datasets[1:], datasets[0]]:
        page.select_option("#train-dataset", dataset["name"])
        shown = [page.input_value("#train-hidden"), float(page.input_value("#train-lr"))]
        assert shown == [",".join(map(str, dataset["hidden"])), dataset["lr"]], dataset


def test_the_widgets_lists_are_the_librarys(chromium):
    paths: list = []
    page, errors = recording_widget(chromium, HARNESS, paths)
    assert {"/api/units", "/api/datasets"} <= set(paths)  # the kernel's answers, no copies
    first = server_datasets()[0]
    shown = [page.input_value("#train-hidden"), float(page.input_value("#train-lr"))]
    assert shown == [",".join(map(str, first["hidden"])), first["lr"]]  # before any choice
    units = {"hidden": list(activations.HIDDEN), "top": list(web_network.PAGE_TOP_UNITS)}
    check_widget(page, units, server_datasets())
    assert page.input_value("#edit-output") == "linear"  # the model's own top units
    page.close()
    assert not errors, errors


def test_a_change_in_the_kernel_reaches_the_widget(chromium, monkeypatch):
    monkeypatch.setattr(web_network, "PAGE_HIDDEN", ("relu", "logistic"))
    monkeypatch.setattr(web_network, "PAGE_TOP_UNITS", ("linear", "softmax"))
    table = {
        "symmetry": training.DatasetChoice("mirror symmetry", hidden=(3,), lr=0.05),
        "xor": training.DatasetChoice("xor", hidden=(2, 2), lr=0.9),
    }
    monkeypatch.setattr(training, "DATASETS", table)
    page, errors = recording_widget(chromium, HARNESS, [])
    units = {"hidden": ["relu", "logistic"], "top": ["linear", "softmax"]}
    check_widget(page, units, server_datasets())
    page.close()
    assert not errors, errors
