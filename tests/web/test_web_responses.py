"""What the API answers, checked against what it says it answers:

- ``/api/backward`` of a network without biases answers ``dE_db: [null, ...]``, and its OpenAPI
  response schema (``PassResponse``) allows it (it said ``list[list[float]]``);
- ``/api/gradcheck`` says which steps it took: ``eps`` is only the base step, and the explainer
  shrinks it for large weights and y's (so that no step moves a z by more than eps) and says so
  in a note, which the response carries (``notes``) and the page shows under the check;
- ``serve --model`` on a model trained on a loss the page cannot compute names the command
  that writes it out (``chainrule explain --model RUN``), the notebook the Python function.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.errors import UserError  # noqa: E402
from chainrule.explainer import ExplainError  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def seed(client):
    return client.get("/api/seed").json()


def big_weights(seed: dict, value: float = 1e4) -> dict:
    """QA's example: the seed network with every weight ``value``."""
    net = copy.deepcopy(seed)
    net["weights"] = [[[value] * len(row) for row in layer] for layer in net["weights"]]
    return net


# -- PassResponse: a layer without biases -----------------------------------------------------


@pytest.mark.parametrize("biases", [[None, None], [None, [0.1, 0.2, 0.3]], [[0.5, -0.5], None]])
def test_the_pass_response_schema_takes_a_network_without_biases(client, seed, biases):
    net = {**seed, "biases": biases}
    response = client.post("/api/backward", json={"network": net})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [b is None for b in body["dE_db"]] == [b is None for b in biases]
    validated = s.PassResponse.model_validate(body)
    assert validated.dE_db == body["dE_db"]


def test_the_openapi_document_says_a_dE_db_entry_may_be_null(client):
    document = client.get("/openapi.json").json()
    items = document["components"]["schemas"]["PassResponse"]["properties"]["dE_db"]["items"]
    assert {"type": "null"} in items.get("anyOf", []), items


# -- the gradient check's steps ----------------------------------------------------------------


def test_the_gradient_check_says_its_steps_were_shrunk_for_large_weights(client, seed):
    response = client.post("/api/gradcheck", json={"network": big_weights(seed)})
    assert response.status_code == 200, response.text
    body = s.GradcheckResponse.model_validate(response.json())
    assert body.eps == 1e-6  # the base step
    assert len(body.notes) == 1, body.notes
    note = body.notes[0]
    assert "steps below eps (1e-06)" in note
    assert "1e-10" in note  # eps over the largest |w| (1e4): the step the y's took


def test_the_gradient_check_of_ordinary_weights_has_no_step_note(client, seed):
    body = s.GradcheckResponse.model_validate(
        client.post("/api/gradcheck", json={"network": seed}).json()
    )
    assert body.ok and body.eps == 1e-6 and body.notes == []


def test_the_page_shows_the_step_note_under_the_check(chromium, seed, tmp_path):
    import json

    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    url, stop = serve(create_app())
    try:
        with opened_page(chromium, url, height=900) as page:
            network = tmp_path / "big.json"
            network.write_text(json.dumps(big_weights(seed)))
            page.set_input_files("#load-file", str(network))
            page.wait_for_function("S.net.weights[0][0][0] === 1e4", timeout=15_000)
            page.click(".tabs button[data-tab=export]")
            page.click("#btn-gradcheck")
            page.wait_for_selector("#gradcheck-result .gradcheck-note", timeout=15_000)
            text = page.inner_text("#gradcheck-result")
            assert "base step" in text
            assert "steps below eps (1e-06)" in page.inner_text("#gradcheck-result .gradcheck-note")
            # the seed's own check: no note, and no "smaller" claim
            page.click(".tabs button[data-tab=edit]")
            page.click("#btn-seed")
            page.wait_for_function("S.net.weights[0][0][0] !== 1e4", timeout=15_000)
            page.click(".tabs button[data-tab=export]")
            page.click("#btn-gradcheck")
            page.wait_for_function(
                "document.getElementById('gradcheck-result').textContent.includes('passed')",
                timeout=15_000,
            )
            assert page.locator("#gradcheck-result .gradcheck-note").count() == 0
            assert "base step" not in page.inner_text("#gradcheck-result")
    finally:
        stop()


# -- serve --model on a loss the page cannot compute ---------------------------------------------


def margin_model():
    net = cr.nn.mlp([2, 3, 2], output="logistic", dtype="float64", rng=0)
    return net, np.array([0.1, 0.2]), np.array([1.0, 0.0]), cr.nn.MarginSquaredError(on=0.9)


def test_serve_model_on_a_margin_loss_names_the_explain_command(tmp_path, capsys):
    """The CLI's one line names the command and the run, not the Python function."""
    from chainrule.cli import main

    run = tmp_path / "run"
    args = ["--data", "xor", "--loss", "margin-squared-error", "--hidden", "3", "--epochs", "1"]
    assert main(["train", *args, "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["serve", "--model", str(run), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "not margin-squared-error" in err[0]
    assert f"chainrule explain --model {run}" in err[0]
    assert "chainrule.explainer.explain" not in err[0]


def test_the_notebook_explorer_on_a_margin_loss_names_the_python_function():
    from chainrule.notebook.explorer import start_network

    net, x, t, loss = margin_model()
    with pytest.raises((ExplainError, UserError)) as caught:
        start_network(net, (x, t), loss)
    message = str(caught.value)
    assert "not margin-squared-error" in message
    assert "chainrule.explainer.explain" in message
