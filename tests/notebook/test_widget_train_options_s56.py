"""The notebook widget's optimizer and teaching-bug lists come from the kernel, as the page's do
(session 56).

The widget runs the page's markup and app.js, whose optimizer list (momentum, sgd, adam) and bug
list (the explainer's ``BUGS`` with descriptions of the page's own) were written in index.html.
The kernel now answers ``/api/optimizers`` (``web.training.OPTIMIZERS``: the library optimizer
and settings each name means) and ``/api/bugs`` (each bug's name and title from ``BUGS``) as the
server does, and the widget fills its lists from them.

Oracles: the training module's table and the explainer's, and a change made in the kernel's
process (monkeypatched), which must reach the widget and the run it starts. The widget is loaded
as anywidget loads it (test_explorer.HARNESS) in Debian's chromium; skipped, saying why, where
Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from test_explorer import HARNESS
from widget_page import recording_widget

from chainrule import optim
from chainrule.explainer import bugs as explainer_bugs
from chainrule.web import network as web_network
from chainrule.web import training

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")

# the page's oracles, shared with tests/web
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from page_lists import library_bugs, server_optimizers  # noqa: E402

#: JavaScript: the widget's root.
ROOT = "document.getElementById('widget').shadowRoot"


def options(page, select: str) -> list[list[str]]:
    """The [value, text, title] of each option of the widget's ``select``."""
    return page.evaluate(
        f"[...{ROOT}.querySelectorAll('#{select} option')]"
        ".map((o) => [o.value, o.textContent, o.title])"
    )


def check_widget(page, optimizers: list[dict], bugs: list[dict]) -> None:
    """The widget's lists are ``optimizers`` (each saying the library optimizer and settings it
    means) and ``bugs`` (after the page's own "none"), the first optimizer and no bug chosen."""
    assert not page.is_visible("#message"), page.inner_text("#message")
    means = [
        ", ".join([f"optim {o['optimizer']}", *(f"{k} {v}" for k, v in o["settings"].items())])
        for o in optimizers
    ]
    expected = [[o["name"], o["name"], m] for o, m in zip(optimizers, means)]
    assert options(page, "train-optimizer") == expected
    assert page.input_value("#train-optimizer") == optimizers[0]["name"]
    named = [[b["name"], f"{b['name']}: {b['title']}", ""] for b in bugs]
    assert options(page, "bug-select") == [["", "none: the real engine", ""], *named]
    assert page.input_value("#bug-select") == ""


@pytest.fixture
def made(monkeypatch):
    """Each library optimizer the kernel makes: (name, settings with the learning rate)."""
    calls = []
    from_name = optim.from_name

    def recording(name, params, **hyper):
        calls.append((name, hyper))
        return from_name(name, params, **hyper)

    monkeypatch.setattr(optim, "from_name", recording)
    return calls


def start(page, made: list, optimizer: str) -> None:
    """Start a run on xor with ``optimizer`` from the widget's Train tab."""
    made.clear()
    page.click(".tabs button[data-tab=train]")  # Playwright reaches into the shadow root
    page.select_option("#train-dataset", "xor")
    page.select_option("#train-optimizer", optimizer)
    page.click("#btn-train-start")
    for _ in range(400):  # the kernel runs in this process: its optimizer is seen here
        if made:
            break
        page.wait_for_timeout(50)
    assert not page.is_visible("#message"), page.inner_text("#message")


def test_the_widgets_lists_are_the_librarys(chromium, made):
    paths: list = []
    page, errors = recording_widget(chromium, HARNESS, paths)
    assert {"/api/optimizers", "/api/bugs"} <= set(paths)  # the kernel's answers, no copies
    check_widget(page, server_optimizers(), library_bugs())
    start(page, made, "momentum")
    lr = float(page.input_value("#train-lr"))
    assert made == [("sgd", {"lr": lr, "momentum": 0.9})]
    page.close()
    assert not errors, errors


def test_a_change_in_the_kernel_reaches_the_widget(chromium, made, monkeypatch):
    table = {
        "sgd": training.OptimizerChoice("sgd", {"momentum": 0.25, "weight_decay": 0.5}),
        "adam": training.OptimizerChoice("adam"),
    }
    monkeypatch.setattr(training, "OPTIMIZERS", table)
    BUGS = explainer_bugs.BUGS
    bugs = {
        "merged-leaves": dataclasses.replace(BUGS["merged-leaves"], title="twins share"),
        "assign": BUGS["assign"],
    }
    monkeypatch.setattr(web_network, "BUGS", bugs)
    page, errors = recording_widget(chromium, HARNESS, [])
    expected = [{"name": "merged-leaves", "title": "twins share"}, library_bugs()[0]]
    check_widget(page, server_optimizers(), expected)
    start(page, made, "sgd")
    lr = float(page.input_value("#train-lr"))
    assert made == [("sgd", {"lr": lr, "momentum": 0.25, "weight_decay": 0.5})]
    page.close()
    assert not errors, errors
