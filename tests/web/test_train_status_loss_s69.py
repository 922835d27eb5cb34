"""The Train tab's loss beside its accuracy: the same cases for both.

The status line said ``step 21, loss 0.001, accuracy 87.5%``: the loss was the last mini-batch's
(with a summed loss, a sum over that batch's 4 cases; the whole set's E was 3.84) beside an
accuracy over all 64 cases. A run's state now carries the loss over all the dataset's cases
(``dataset_loss``, as its loss combines them: ``reduction``, over ``cases``), checked here
against NumPy on the weights the answer holds, and the page's status line shows it; ``loss``
keeps its meaning (each step's batch's, before its update).
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

import chainrule as cr
from chainrule.web import create_app
from chainrule.web import schemas as s

LOCAL = "http://127.0.0.1"


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(), base_url=LOCAL, headers={"content-type": "application/json"})


def post(client: TestClient, path: str, body: dict) -> dict:
    response = client.post(path, content=json.dumps(body))
    assert response.status_code == 200, response.text
    return response.json()


def outputs(network: dict, X: np.ndarray) -> np.ndarray:
    """The network of an answer run by hand: logistic hidden units, then its top units' z
    (softmax's logits) or logistic y."""
    y = X
    layers = list(zip(network["weights"], network["biases"], strict=True))
    for k, (w, b) in enumerate(layers):
        z = y @ np.asarray(w) + np.asarray(b)
        if k == len(layers) - 1 and network["output"] == "softmax":
            return z
        y = 1.0 / (1.0 + np.exp(-z))
    return y


def test_a_summed_loss_over_all_cases_beside_the_accuracy_over_them(client):
    """symmetry: 64 cases, the lecture's summed squared error, batches of 10 (the last of 4)."""
    ds = cr.data.load("symmetry")
    X, T = np.asarray(ds.X, float), np.asarray(ds.y, float).reshape(64, -1)
    post(client, "/api/train/start", {"dataset": "symmetry", "hidden": [2], "batch_size": 10})
    state = post(client, "/api/train/step", {"steps": 7})  # the 7th: the epoch's last, 4 cases
    assert s.TrainState.model_validate(state).step == 7 and len(state["loss"]) == 7
    assert state["cases"] == 64 and state["reduction"] == "sum"
    y = outputs(state["network"], X)
    E = 0.5 * np.sum((T - y) ** 2)
    assert state["dataset_loss"] == pytest.approx(E, rel=1e-9)
    assert state["accuracy"] == pytest.approx(np.mean(np.all((y > 0.5) == (T > 0.5), axis=1)))
    # the last batch's 4 cases add up to far less than the whole set's 64
    assert state["loss"][-1] < 0.25 * state["dataset_loss"]
    again = client.get("/api/train/state").json()
    assert again["dataset_loss"] == state["dataset_loss"] and again["cases"] == 64


def test_a_mean_loss_over_all_cases(client):
    """digits: cross-entropy, the mean over the 1797 cases."""
    ds = cr.data.load("digits")
    X, labels = np.asarray(ds.X, float), np.asarray(ds.y)
    post(client, "/api/train/start", {"dataset": "digits", "hidden": [8], "batch_size": 100})
    state = post(client, "/api/train/step", {"steps": 3})
    assert state["cases"] == 1797 and state["reduction"] == "mean"
    z = outputs(state["network"], X)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    E = -np.mean(log_p[np.arange(len(labels)), labels])
    assert state["dataset_loss"] == pytest.approx(E, rel=1e-9)


def test_a_whole_batch_step_reports_the_loss_the_state_before_it_had(client):
    """``loss`` keeps its meaning: a step's loss is its batch's before its update, so with the
    whole set as the batch the first step's is the start's loss over all cases."""
    start = post(client, "/api/train/start", {"dataset": "xor", "hidden": [4], "lr": 1.0})
    assert start["step"] == 0 and start["loss"] == [] and start["cases"] == 4
    state = post(client, "/api/train/step", {"steps": 1})
    assert state["loss"][0] == pytest.approx(start["dataset_loss"], rel=1e-12)
    assert state["dataset_loss"] != state["loss"][0]  # the weights moved


def test_the_status_line_shows_the_loss_over_all_cases(open_page, seed_url):
    page = open_page(seed_url, tab="train")
    page.fill("#train-batch", "3")  # xor's 4 cases: batches of 3 and 1
    page.fill("#train-chunk", "2")
    page.click("#btn-train-start")
    page.wait_for_function("!document.getElementById('btn-train-step').disabled")
    page.click("#btn-train-step")
    page.wait_for_selector("#loss-curve[data-steps='2']")
    status = page.inner_text("#train-status")
    T = page.evaluate("S.train.state")
    shown = re.match(
        r"xor: step 2, loss (\S+) on its batch; over all 4 cases now: loss (\S+) \(their sum\), "
        r"accuracy ([\d.]+)%\.",
        status,
    )
    assert shown, status
    assert float(shown.group(1)) == pytest.approx(T["loss"][-1], rel=1e-3)  # 1 case's
    assert float(shown.group(2)) == pytest.approx(T["dataset_loss"], rel=1e-3)
    assert float(shown.group(3)) == pytest.approx(100 * T["accuracy"], abs=0.05)
    assert "Loss of each step's batch: 2 steps" in page.get_attribute("#loss-curve", "aria-label")
