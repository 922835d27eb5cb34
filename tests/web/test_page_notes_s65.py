"""The page shows the network's notes (session 65).

``NetworkState.notes`` (a model's dropout in training mode, the weight decay of the run
``chainrule serve --model RUN`` opened on) reached the page in the network's JSON, and the Export
text and ``/api/derivation`` carried them, but no panel of the page showed them: a teacher opening
a run trained with weight decay read its dE/dw with no word that each step also decayed the
weights. Now they are listed under the diagram ("About this model"), once, kept through the
steps, and gone once the network is replaced by one without notes (New weights, Seed network, a
loaded file).

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("uvicorn")

NOTES = "#model-notes"


@pytest.fixture(scope="module")
def decay_run(tmp_path_factory):
    """A small run trained with weight decay 0.5 (SGD, L2) on a CSV file of 40 cases."""
    from chainrule.cli import main

    root = tmp_path_factory.mktemp("page-notes")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    lines = ["a,b,c,label"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{label}"
        for row, label in zip(X, rng.integers(0, 3, 40))
    ]
    (root / "d.csv").write_text("\n".join(lines) + "\n")
    out = root / "decay"
    args = ["train", "--data", root / "d.csv", "--hidden", "4", "--epochs", "1", "--optimizer",
            "sgd", "--lr", "0.1", "--weight-decay", "0.5", "--out", out, "-q"]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    return out


@pytest.fixture(scope="module")
def model_url(decay_run):
    """A server as ``chainrule serve --model RUN`` starts it, on case 0 of the decay run."""
    from served import serve

    from chainrule.cli.serve import trained_case
    from chainrule.web import create_app

    url, stop = serve(create_app(start=trained_case(decay_run, 0)))
    yield url
    stop()


def shown_notes(page) -> list[str]:
    """The notes the page shows (none while their box is hidden)."""
    if page.is_hidden(NOTES):
        return []
    return page.eval_on_selector_all(f"{NOTES} li", "(ls) => ls.map((l) => l.textContent)")


def the_notes(url: str) -> list[str]:
    import httpx

    notes = httpx.get(url + "/api/seed").json().get("notes", [])
    assert any("weight decay 0.5" in note for note in notes), notes
    return notes


def test_the_models_notes_show_under_the_diagram_and_stay_through_the_steps(open_page, model_url):
    notes = the_notes(model_url)
    page = open_page(model_url)
    assert page.is_visible(NOTES)
    assert shown_notes(page) == notes  # each once, in the network's words
    assert page.inner_text(f"{NOTES} h2") == "About this model"
    for press in ["#btn-step", "#btn-step", "#btn-all", "#btn-back", "#btn-reset"]:
        page.click(press)
        assert shown_notes(page) == notes, press
    # a status region: written as the network changes, never at a step
    assert page.get_attribute(NOTES, "role") == "status"
    # New weights: a network of the page's own, with no notes
    page.click(".tabs button[data-tab=edit]")
    page.click("#btn-new")
    page.wait_for_function(f"document.querySelector('{NOTES}').hidden", polling=50)
    assert shown_notes(page) == []
    # Reload model: the model again, and its notes with it
    page.click("#btn-seed")
    page.wait_for_function(f"!document.querySelector('{NOTES}').hidden", polling=50)
    assert shown_notes(page) == notes


def test_seed_network_drops_the_notes_of_a_loaded_network(open_page, seed_url, model_url, tmp_path):
    import httpx

    network = httpx.get(model_url + "/api/seed").json()
    notes = the_notes(model_url)
    page = open_page(seed_url, tab="export")
    assert shown_notes(page) == []  # the seed network has none
    path = tmp_path / "network.json"
    path.write_text(json.dumps(network))
    page.set_input_files("#load-file", str(path))
    page.wait_for_function(f"!document.querySelector('{NOTES}').hidden", polling=50)
    assert shown_notes(page) == notes
    page.click(".tabs button[data-tab=edit]")
    page.click("#btn-seed")
    page.wait_for_function(f"document.querySelector('{NOTES}').hidden", polling=50)
    assert shown_notes(page) == []
