"""A lesson authored with the notebook explorer, run with Run All and exported (session 66).

1. Under Run All every cell is queued at once: the widget's first ``/api/seed`` reaches the
   kernel only after the cells below it ran (a training cell), and the host read the model again
   then, so an explorer placed before the training showed the trained model. Its first view now
   shows the model as its cell saw it (the snapshot ``cr.explorer`` took); Reset reads it anew.
2. A view said nothing when the model in the kernel changed under it. Each reply to a view that
   read the model says whether the model's weights changed since (``model_changed``), and the
   widget shows a note.
3. Step, Back, Run all and Reset clicked before the kernel's first answer threw
   ``TypeError: Cannot read properties of null (reading 'sizes')``.
4. A notebook saved with its widget state and shown without a kernel (an HTML export, the docs
   site) showed an empty explorer; its markup now says to run the notebook.
5. A derivation's notebook Markdown began with an h1, outranking the lesson's own headings.

Oracles: the library's own derivation (``cr.explain``) of the model before and after a training
step; the weights themselves. The widget runs in Debian's chromium as anywidget loads it
(test_explorer.HARNESS); skipped where Playwright or chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_explorer import HARNESS
from widget_page import widget_page

import chainrule as cr
from chainrule import nn, optim

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
pytest.importorskip("starlette", reason="the [app] extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
T = np.array([[0.0], [1.0], [1.0], [0.0]])
RUN_THE_NOTEBOOK = "run the notebook (a live kernel) to use it"

# the harness with the kernel busy (a Run All still running the cells below): each request waits
# until the test sets window.kernelFree, as the kernel answers only once the queue is done
BUSY = HARNESS.replace(
    "send: (content) => window.chainruleKernel(JSON.stringify(content))\n"
    "      .then((reply) => listeners.forEach((callback) => callback(JSON.parse(reply)))),",
    "send: async (content) => {\n"
    "      while (!window.kernelFree) await new Promise((r) => setTimeout(r, 20));\n"
    "      const reply = await window.chainruleKernel(JSON.stringify(content));\n"
    "      listeners.forEach((callback) => callback(JSON.parse(reply)));\n"
    "    },",
)
assert BUSY != HARNESS
# no kernel at all (a saved notebook's widget state shown in a page): requests go nowhere, as
# a widget manager's model without a comm sends nothing
NO_KERNEL = HARNESS.replace(
    "send: (content) => window.chainruleKernel(JSON.stringify(content))\n"
    "      .then((reply) => listeners.forEach((callback) => callback(JSON.parse(reply)))),",
    "send: () => {},",
)
assert NO_KERNEL != HARNESS


def lesson():
    """The lecturer's network, case and loss (XOR's 2-3-1 logistic net, case 1)."""
    net = nn.mlp([2, 3, 1], activation="logistic", output="logistic", dtype="float64", rng=1)
    return net, X[1], T[1], nn.SquaredError()


def train_step(net, loss, steps: int = 1) -> None:
    """The lesson's training cell, run after the explorer's cell."""
    opt = optim.SGD(net.parameters(), lr=2.0, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        loss(net(X), T).backward()
        opt.step()


def E_of(host, network, view: str) -> float:
    reply = host.answer({"id": f"{view}:9", "path": "/api/backward", "body": {"network": network}})
    assert reply["ok"], reply
    return reply["data"]["E"]


def shadow_text(page, selector: str) -> dict:
    """Whether the widget's ``selector`` is shown, and its text."""
    return page.evaluate(
        "(s) => { const e = document.getElementById('widget').shadowRoot.querySelector(s);"
        " return e && { hidden: e.hidden || getComputedStyle(e).display === 'none',"
        " text: e.textContent }; }",
        selector,
    )


# -- 1. the first view shows the snapshot --------------------------------------------------------


def test_the_first_view_shows_the_model_as_its_cell_saw_it_and_reset_reads_it_now():
    net, x, t, loss = lesson()
    host = cr.explorer(net, (x, t), loss).explorer
    at_creation = cr.explain(net, x[None], t[None], loss)
    weights = [net[0].weight.numpy().copy(), net[2].weight.numpy().copy()]
    train_step(net, loss)  # Run All: the training cell runs before the view's first request
    trained = cr.explain(net, x[None], t[None], loss)
    assert trained.error != pytest.approx(at_creation.error, rel=1e-6)
    first = host.answer({"id": "v1:1", "path": "/api/seed"})["data"]
    np.testing.assert_array_equal(first["weights"][0], weights[0])
    np.testing.assert_array_equal(first["weights"][1], weights[1])
    assert E_of(host, first, "v1") == pytest.approx(at_creation.error, rel=1e-12)
    reset = host.answer({"id": "v1:2", "path": "/api/seed"})["data"]  # Reset / Reload model
    np.testing.assert_array_equal(reset["weights"][0], net[0].weight.numpy())
    assert E_of(host, reset, "v1") == pytest.approx(trained.error, rel=1e-12)
    # another view opened now opens on the model as it is now
    later = host.answer({"id": "v2:1", "path": "/api/seed"})["data"]
    assert E_of(host, later, "v2") == pytest.approx(trained.error, rel=1e-12)


# -- 2. the replies say when the model changed since the view read it ----------------------------


def test_a_reply_says_whether_the_model_changed_since_the_view_read_it():
    net, x, t, loss = lesson()
    host = cr.explorer(net, (x, t), loss).explorer
    lists = host.answer({"id": "v1:1", "path": "/api/losses"})
    assert "model_changed" not in lists  # the view read no model yet: nothing to compare
    seed = host.answer({"id": "v1:2", "path": "/api/seed"})
    assert seed["model_changed"] is False
    body = {"network": seed["data"]}
    assert (
        host.answer({"id": "v1:3", "path": "/api/backward", "body": body})["model_changed"] is False
    )
    train_step(net, loss)
    assert (
        host.answer({"id": "v1:4", "path": "/api/backward", "body": body})["model_changed"] is True
    )
    refused = host.answer({"id": "v1:5", "path": "/api/backward", "body": {"network": 3}})
    assert not refused["ok"] and refused["model_changed"] is True  # an error reply says it too
    assert host.answer({"id": "v1:6", "path": "/api/seed"})["model_changed"] is False  # Reset
    net[0].bias.data[0] += 0.5  # a bias set by hand is a change too
    assert host.answer({"id": "v1:7", "path": "/api/losses"})["model_changed"] is True
    # the first view of a widget whose model was trained before it asked: the snapshot, changed
    fresh_net = lesson()[0]
    fresh = cr.explorer(fresh_net, (x, t), loss).explorer
    train_step(fresh_net, loss)
    assert fresh.answer({"id": "a:1", "path": "/api/seed"})["model_changed"] is True
    # the seed network's widget: nothing outside the view changes it, no flag
    assert "model_changed" not in cr.explorer().explorer.answer({"id": "a:1", "path": "/api/seed"})


def test_the_widget_shows_a_note_while_the_model_differs_from_what_the_view_read(chromium):
    """The note's side in app.js: the widget's host says with each reply whether the model
    changed (the "chainrule-model-changed" event: widget.js passes on the reply's flag)."""
    net, x, t, loss = lesson()
    w = cr.explorer(net, (x, t), loss)
    page, errors = widget_page(chromium, w, HARNESS, height=900)
    page.wait_for_selector("#widget[data-ready=true]")
    assert shadow_text(page, "#model-changed")["hidden"]

    def say(changed: bool) -> None:
        page.evaluate(
            "(c) => document.getElementById('widget').dispatchEvent("
            "new CustomEvent('chainrule-model-changed', { detail: c }))",
            changed,
        )

    say(True)
    note = shadow_text(page, "#model-changed")
    assert not note["hidden"]
    assert note["text"] == "The model has changed since this view read it: Reset shows it now."
    say(False)
    assert shadow_text(page, "#model-changed")["hidden"]
    assert not errors, errors


# -- 3. the buttons before the kernel answers ----------------------------------------------------


def test_the_step_buttons_wait_for_a_busy_kernel_and_work_once_it_answers(chromium):
    net, x, t, loss = lesson()
    w = cr.explorer(net, (x, t), loss)
    page, errors = widget_page(chromium, w, BUSY, height=900)
    page.wait_for_selector("#widget >> #btn-step")
    for button in ("btn-step", "btn-all", "btn-back", "btn-reset"):
        page.click(f"#widget >> #{button}", force=True)
    assert not errors, errors
    assert not shadow_text(page, "#kernel-wait")["hidden"]  # "waiting for the kernel"
    assert page.inner_text("#widget >> #error-value") == ""
    # an action on the network (the Edit tab's New weights) says it has not loaded yet, not
    # "Unexpected problem: TypeError", and the line goes once the network shows
    page.click("#widget >> button[data-tab='edit']")
    page.click("#widget >> #btn-new")
    assert shadow_text(page, "#message")["text"].startswith("The network has not loaded yet")
    page.click("#widget >> button[data-tab='paths']")
    page.evaluate("window.kernelFree = true")
    page.wait_for_selector("#widget[data-ready=true]")
    assert shadow_text(page, "#kernel-wait")["hidden"] and shadow_text(page, "#message")["hidden"]
    page.click("#widget >> #btn-all")
    shown = float(page.inner_text("#widget >> #error-value").replace("\u2212", "-").split("=")[1])
    assert shown == pytest.approx(cr.explain(net, x[None], t[None], loss).error, rel=1e-5)
    steps = page.inner_text("#widget >> #phase").split(":")[0]  # "Step 9/9"
    page.click("#widget >> #btn-back")
    done, total = steps.split()[1].split("/")
    assert page.inner_text("#widget >> #phase").startswith(f"Step {int(done) - 1}/{total}:")
    assert not errors, errors


# -- 4. a saved widget shown without a kernel ----------------------------------------------------


def test_the_widget_markup_says_to_run_the_notebook_with_no_script_at_all(chromium):
    net, x, t, loss = lesson()
    w = cr.explorer(net, (x, t), loss)
    assert RUN_THE_NOTEBOOK in w._markup and RUN_THE_NOTEBOOK in cr.explorer()._markup
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_content(f"<!doctype html><style>{w._style}</style>{w._markup}")
        line = page.locator("#kernel-wait")
        assert line.is_visible() and RUN_THE_NOTEBOOK in line.inner_text()
        assert not page.locator("#model-changed").is_visible()
    finally:
        context.close()


def test_a_widget_with_no_kernel_says_to_run_the_notebook_instead_of_an_empty_box(chromium):
    net, x, t, loss = lesson()
    page, errors = widget_page(chromium, cr.explorer(net, (x, t), loss), NO_KERNEL, height=900)
    page.wait_for_selector("#widget >> #btn-step")
    line = shadow_text(page, "#kernel-wait")
    assert not line["hidden"] and RUN_THE_NOTEBOOK in line["text"]
    page.click("#widget >> #btn-all")  # still nothing to show, and no error
    assert not errors, errors


def test_a_notebook_saved_with_its_widget_state_shows_the_line_without_a_kernel(chromium, tmp_path):
    """Run as nbconvert --execute runs it (nbclient, the widget state saved in the notebook's
    metadata), then the saved state alone rendered in a page: no kernel behind it."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import chainrule as cr\ncr.explorer()")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [
        os.environ.get("PYTHONPATH")])]))  # fmt: skip
    nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (saved,) = [s["state"] for s in states.values() if "_esm" in s["state"]]
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<!doctype html><html><body></body></html>")
    page.evaluate(NO_KERNEL, [saved["_esm"], saved])
    page.wait_for_selector("#widget >> #kernel-wait")
    line = shadow_text(page, "#kernel-wait")
    assert not line["hidden"] and RUN_THE_NOTEBOOK in line["text"]
    assert not errors, errors
    page.close()


# -- 5. a derivation's headings in a notebook ----------------------------------------------------


def test_a_derivations_notebook_markdown_sits_below_the_notebooks_own_headings():
    from chainrule.explainer.render import render

    net, x, t, loss = lesson()
    d = cr.explain(net, x[None], t[None], loss)
    document = render(d, "markdown")  # the explainer's own document keeps its title an h1
    shown = d._repr_markdown_()
    headings = [line for line in shown.splitlines() if line.startswith("#")]
    assert headings[0].startswith("## ") and "Backpropagation" in headings[0]
    assert not [h for h in headings if h.startswith("# ")]
    assert all(h.startswith("### ") for h in headings[1:])
    assert [line.lstrip("#") for line in shown.splitlines()] == [
        line.lstrip("#") for line in document.splitlines()
    ]  # the same document otherwise
    from chainrule.notebook.display import headings_one_level_down

    assert headings_one_level_down("```\n# a comment\n```\n# T", markdown=True) == (
        "```\n# a comment\n```\n## T"
    )
    # the widget's title is moved down by the same rule: an h2, its sections left to widget.js
    markup = cr.explorer()._markup
    assert "<h1" not in markup and '<h2 id="model-notes-title"' in markup
    assert headings_one_level_down("<h1>A</h1><h2 id=b>B</h2>", deepest=1) == (
        "<h2>A</h2><h2 id=b>B</h2>"
    )
