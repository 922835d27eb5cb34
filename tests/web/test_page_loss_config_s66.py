"""The page's state carries its loss's whole config (QA, stop 65).

A multilabel ``chainrule.sklearn.MLPClassifier``'s ``loss_function_`` is
``nn.BinaryCrossEntropy(per_unit=False)``: summed over the output units, averaged over the cases.
The page's state kept a loss's name and reduction only, so such a model could not open in the
page (``NetworkState.from_model``, ``chainrule serve --model``, the notebook explorer): it was
refused, naming explain. The state now carries the loss's ``config()`` options
(``loss_options``), and every view computes with exactly the model's loss. Oracles: the
estimator's own SGD step (``partial_fit``, scikit-learn's update of its own loss) and
``cr.explain`` of the user's own model.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
pytest.importorskip("pydantic")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx
    from starlette.testclient import TestClient

from chainrule import nn, optim  # noqa: E402
from chainrule.explainer import explain, render, to_dict  # noqa: E402
from chainrule.explainer.bugs import STEP_LEARNING_RATE  # noqa: E402
from chainrule.explainer.network import ExplainError  # noqa: E402
from chainrule.notebook.explorer import Explorer, start_network  # noqa: E402
from chainrule.sklearn import MLPClassifier  # noqa: E402
from chainrule.train import Trainer  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import MAX_CHECKS, NetworkState  # noqa: E402

LOCAL = "http://127.0.0.1"
LR = 0.1


def fitted(lr: float = LR) -> MLPClassifier:
    """A 3-4-3 multilabel classifier after a few epochs of plain SGD (no momentum, no penalty,
    one case a step), so that one more ``partial_fit`` on one case is one step of its loss."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    Y = (rng.uniform(size=(12, 3)) > 0.5).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(4,), activation="logistic", solver="sgd", momentum=0.0,
        alpha=0.0, batch_size=1, learning_rate_init=lr, max_iter=3, random_state=0,
        shuffle=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it has not converged in 3 epochs
        clf.fit(X, Y)
    clf.X_, clf.Y_ = X, Y
    return clf


@pytest.fixture(scope="module")
def clf() -> MLPClassifier:
    return fitted()


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(), base_url=LOCAL)


def case(clf: MLPClassifier) -> tuple[np.ndarray, np.ndarray]:
    return clf.X_[0], clf.Y_[0].astype(float)


def opened(clf: MLPClassifier) -> NetworkState:
    x, t = case(clf)
    return NetworkState.from_model(clf.network_, x, t, clf.loss_function_)


def post(client: TestClient, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def explained(clf: MLPClassifier, **options):
    x, t = case(clf)
    return explain(clf.network_, [x], [t], clf.loss_function_, **options)


def test_the_multilabel_model_opens_with_its_own_loss(clf):
    assert clf.loss_function_.config() == {"type": "binary-cross-entropy", "per_unit": False}
    state = opened(clf)
    assert state.loss_object().config() == clf.loss_function_.config()
    spec = json.loads(json.dumps(state.to_json()))
    assert spec["loss_options"] == {"per_unit": False}
    again = NetworkState.from_json(spec)
    assert again.loss_object().config() == clf.loss_function_.config()
    assert again.to_json() == spec
    # the notebook explorer opens on it too (it was refused naming explain)
    x, t = case(clf)
    assert start_network(clf.network_, (x, t), clf.loss_function_) == spec


def test_an_older_state_without_loss_options_reads_as_the_losss_default(clf):
    spec = opened(clf).to_json()
    spec.pop("loss_options")
    assert NetworkState.from_json(spec).loss_object().config() == {"type": "binary-cross-entropy"}
    older = {**NetworkState.from_json(spec).to_json(), "loss": "squared-error", "reduction": "mean"}
    older["output"] = "logistic"
    assert NetworkState.from_json(older).loss_object().config() == nn.SquaredError("mean").config()


def test_the_pages_pass_and_derivation_are_explains_of_the_model(clf, client):
    network = opened(clf).to_json()
    d = explained(clf)
    shown = post(client, "/api/backward", {"network": network})
    assert shown["E"] == pytest.approx(d.error, rel=1e-12)
    for got, c in zip(shown["dE_dw"], d.connections):
        np.testing.assert_allclose(got, c.dE_dw, rtol=1e-12, atol=1e-15)
    derivation = post(client, "/api/derivation", {"network": network})
    wanted = json.loads(json.dumps(to_dict(explained(clf, max_checks=MAX_CHECKS))))
    assert derivation == wanted
    exported = post(client, "/api/export", {"network": network, "format": "markdown"})
    wanted_text = render(explained(clf, max_checks=MAX_CHECKS), "markdown", host="cli")
    assert exported["text"] == wanted_text  # the command's words, as chainrule explain
    # the same through the notebook widget's host
    x, t = case(clf)
    widget = start_network(clf.network_, (x, t), clf.loss_function_)
    reply = Explorer(widget).answer(
        {"id": "1", "path": "/api/derivation", "body": {"network": widget}}
    )
    assert reply["ok"] and reply["data"] == wanted


def test_a_training_step_is_the_estimators_own_sgd_step(clf, client):
    """One SGD step on the page's model and loss (as a training run builds them: the state's
    ``model()`` and ``loss_object()``) moves each weight as the estimator's own ``partial_fit``
    on the same case does, by -lr times the page's dE/dw."""
    x, t = case(clf)
    network = opened(clf).to_json()
    page = post(client, "/api/backward", {"network": network})
    own = fitted()
    before = [p.data.copy() for p in own.network_.parameters()]
    own.partial_fit(x[None, :], t[None, :].astype(int))
    moved = [p.data - b for p, b in zip(own.network_.parameters(), before)]
    state = NetworkState.from_json(network)
    model = state.model()
    start = [p.data.copy() for p in model.parameters()]
    Trainer(model, state.loss_object(), optim.SGD(model.parameters(), lr=LR), progress=False).step(
        x[None, :], t[None, :]
    )
    stepped = [p.data - s for p, s in zip(model.parameters(), start)]
    for layer in range(2):
        weight, bias = moved[2 * layer], moved[2 * layer + 1]
        np.testing.assert_allclose(weight, -LR * np.asarray(page["dE_dw"][layer]), atol=1e-12)
        np.testing.assert_allclose(bias, -LR * np.asarray(page["dE_db"][layer]), atol=1e-12)
        np.testing.assert_allclose(stepped[2 * layer], weight, atol=1e-12)
        np.testing.assert_allclose(stepped[2 * layer + 1], bias, atol=1e-12)


def test_the_bug_views_step_is_the_estimators_step(client):
    """The no-zero-grad bug's step (the library's SGD at its learning rate): its right values
    are ``explain``'s dE/dw of the estimator after its own SGD step at that rate, and what piled
    up on them is the page's dE/dw before the step."""
    clf = fitted(STEP_LEARNING_RATE)
    x, t = case(clf)
    network = opened(clf).to_json()
    before = post(client, "/api/backward", {"network": network})
    shown = post(client, "/api/bug", {"network": network, "bug": "no-zero-grad"})
    clf.partial_fit(x[None, :], t[None, :].astype(int))
    after = explained(clf)
    rows = [r for r in shown["rows"] if r["quantity"] == "w"]
    assert len(rows) == 3 * 4 + 4 * 3
    for row in rows:
        layer, i, j = row["index"]
        assert row["right"] == pytest.approx(after.dE_dw(layer, i, j).value, rel=1e-12, abs=1e-15)
        piled = row["wrong"] - row["right"]
        assert piled == pytest.approx(before["dE_dw"][layer][i][j], rel=1e-9, abs=1e-12)


def test_a_new_network_keeps_its_loss_options(client):
    body = {"sizes": [2, 3], "output": "logistic", "loss": "binary-cross-entropy"}
    made = post(client, "/api/network/new", {**body, "loss_options": {"per_unit": False}})
    assert made["loss_options"] == {"per_unit": False}
    state = NetworkState.from_json(made)
    assert state.loss_object().config() == nn.BinaryCrossEntropy(per_unit=False).config()
    plain = post(client, "/api/network/new", body)
    assert "loss_options" not in plain


@pytest.mark.parametrize(
    ("loss", "options", "words"),
    [
        ("binary-cross-entropy", {"per_units": False}, "'per_units'"),
        ("squared-error", {"per_unit": False}, "'per_unit'"),
        ("mse", {"per_unit": True}, "'per_unit'"),
        ("binary-cross-entropy", {"per_unit": "no"}, "per_unit must be True"),
        ("binary-cross-entropy", {"reduction": "sum"}, "'reduction'"),
    ],
)
def test_an_option_the_loss_lacks_is_refused_naming_it(client, clf, loss, options, words):
    network = {**opened(clf).to_json(), "loss": loss, "loss_options": options}
    if loss != "binary-cross-entropy":
        network["output"] = "logistic"
    response = client.post("/api/backward", json={"network": network})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "loss_options" in error and words in error, error
    assert "\n" not in error
    with pytest.raises((ExplainError, ValueError), match=words.replace("'", ".")):
        NetworkState.from_json(network).loss_object()


def test_the_page_shows_edits_and_changes_the_models_loss(chromium, clf):
    """In the browser: the page opened on the model (``chainrule serve --model``'s start) shows
    explain's E; a weight edited there sends the loss's options back (E of the edited model, not
    of a per-unit mean a third its size); a new loss chosen drops them (the new loss's own)."""
    pytest.importorskip("uvicorn")
    from served import opened_page, page_text, serve

    state = opened(clf)
    x, t = case(clf)
    url, stop = serve(create_app(start=state))
    shown_e = "v => document.getElementById('error-value').textContent === v"
    try:
        with opened_page(chromium, url) as page:
            page.click("#btn-all")  # the whole pass: E is shown
            page.wait_for_function(shown_e, arg=f"E = {page_text(explained(clf).error)}")
            page.click("g.unit[data-layer='1'][data-unit='0']")
            page.click(".tabs button[data-tab=edit]")
            # its bias, then its weights to the units above: w_0->0 of layer 1 to layer 2
            weight = page.locator("#edit-unit .edit-row input").nth(1)
            weight.fill("2.5")
            weight.dispatch_event("change")
            edited = fitted()
            edited.network_[2].weight.data[0, 0] = 2.5
            wanted = explain(edited.network_, [x], [t], clf.loss_function_).error
            page.wait_for_function(shown_e, arg=f"E = {page_text(wanted)}")
            page.select_option("#edit-loss", "squared-error")
            model = nn.Sequential(*edited.network_, nn.Logistic())
            wanted = explain(model, [x], [t], nn.SquaredError()).error
            page.wait_for_function(shown_e, arg=f"E = {page_text(wanted)}")
            assert page.is_hidden("#message"), page.inner_text("#message")
    finally:
        stop()
