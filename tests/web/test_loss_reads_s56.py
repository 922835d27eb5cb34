"""What E reads comes from the server's pass, not from the loss's name.

The page decided "the loss reads the logits z" by its name (``S.net.loss === "cross-entropy" ||
...``), a second home for what the loss object (``output_activation``) and the explainer's record
(the top layer's dE/dy is None) already say; a loss it did not name would have been described as
reading y. And the "Error E" step said "E = <loss> of the top units' outputs against the targets"
even for a cross-entropy, which is computed from z. ``/api/backward`` now says what E reads
(``loss``: name, reads, applies), and the page's captions and top-unit panel follow it.
Oracles: each loss's reading written out by hand (cross-entropy applies softmax to z, binary
cross-entropy logistic, squared error and mse read y) and the explainer's own record.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.notebook.explorer import Explorer, start_network  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402

#: What E reads for each loss the page computes, written out by hand (the lecture's and the
#: losses' documentation): (reads, the unit the loss applies to z itself).
READS = {
    "squared-error": ("y", None),
    "mse": ("y", None),
    "cross-entropy": ("z", "softmax"),
    "binary-cross-entropy": ("z", "logistic"),
}
X = np.array([0.1, 0.2, 0.3])


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


def network_of(client: TestClient, loss: str) -> dict:
    """A 3-4-3 (2 for binary cross-entropy) network JSON with ``loss``, as the page's form
    makes it."""
    output = {"cross-entropy": "softmax", "binary-cross-entropy": "logistic"}.get(loss, "linear")
    body = {"sizes": [3, 4, 3], "activation": "logistic", "output": output, "loss": loss}
    answer = client.post("/api/network/new", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("loss", sorted(READS))
def test_the_pass_says_what_E_reads_in_both_hosts(client, loss):
    network = network_of(client, loss)
    server = client.post("/api/backward", json={"network": network})
    assert server.status_code == 200, server.text
    shown = server.json()
    reads, applies = READS[loss]
    assert shown["loss"] == {"name": loss, "reads": reads, "applies": applies}
    # the explainer's own record: the top layer has no dE/dy exactly where E reads z
    assert (shown["layers"][-1]["dE_dy"] is None) == (reads == "z")
    widget = Explorer(network).answer(
        {"id": 1, "path": "/api/backward", "body": {"network": network}}
    )
    assert widget["ok"] and widget["data"] == shown  # one JSON, both hosts
    assert s.PassResponse.model_validate(shown).loss.reads == reads


def test_a_models_own_loss_object_is_read_as_it_computes(client):
    """A model opened with its loss object (the notebook's and ``serve --model``'s way): the
    pass says what that object reads, with its reduction kept."""
    net = cr.nn.mlp([3, 4, 2], dtype="float64", rng=2)
    network = start_network(net, (X, np.array([1.0, 0.0])), cr.nn.BinaryCrossEntropy())
    shown = client.post("/api/backward", json={"network": network}).json()
    assert shown["loss"] == {"name": "binary-cross-entropy", "reads": "z", "applies": "logistic"}
    record = cr.explain(net, X[None], np.array([[1.0, 0.0]]), cr.nn.BinaryCrossEntropy())
    assert record.layers[-1].dE_dy is None


def test_the_openapi_document_describes_what_E_reads(client):
    document = client.get("/openapi.json").json()
    field = document["components"]["schemas"]["LossReads"]["properties"]["reads"]
    assert sorted(field["enum"]) == ["y", "z"], field


# -- the page ----------------------------------------------------------------------------------


def open_network(page, tmp_path, network: dict) -> None:
    """Load ``network`` through the page's Load JSON and wait until it is drawn."""
    path = tmp_path / "network.json"
    path.write_text(json.dumps(network))
    page.set_input_files("#load-file", str(path))
    units = sum(network["sizes"])
    page.wait_for_function(f"document.querySelectorAll('g.unit').length === {units}")


def caption_at_E(page, n_layers: int) -> str:
    """The caption of the "Error E" step: inputs, each layer forward, then E."""
    page.click("#btn-reset")
    for _ in range(n_layers):
        page.click("#btn-step")
    assert "Error E" in page.inner_text("#phase")
    return page.inner_text("#caption")


@pytest.mark.parametrize("loss", sorted(READS))
def test_the_Error_E_caption_says_what_the_loss_reads(client, tmp_path, chromium, loss):
    """It said "of the top units' outputs" for every loss, a cross-entropy's too."""
    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    network = network_of(client, loss)
    reads, applies = READS[loss]
    url, stop = serve(create_app())
    try:
        with opened_page(chromium, url) as page:
            open_network(page, tmp_path, network)
            caption = caption_at_E(page, len(network["sizes"]))
            assert caption.startswith(f"E = {loss} of the top units' ")
            if reads == "z":
                assert "logits z" in caption and f"applies the {applies}" in caption
                assert "outputs" not in caption
            else:
                assert "outputs y against the targets" in caption and "logits" not in caption
    finally:
        stop()


def test_the_page_takes_what_E_reads_from_the_pass_not_the_name(tmp_path, chromium):
    """A loss the page has no name for (a user's own, or one added later) that reads z: the
    server's pass says so, and every place on the page says it, though the network's name
    (squared-error here, which reads y) would have said otherwise."""
    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    client = TestClient(create_app(), base_url="http://127.0.0.1")
    network = network_of(client, "squared-error")
    own = {"name": "my-loss", "reads": "z", "applies": "logistic"}

    def answered_as_my_loss(route):
        answer = route.fetch().json()
        answer["loss"] = own
        answer["layers"][-1]["dE_dy"] = None  # as the explainer's record is for a loss on z
        route.fulfill(json=answer)

    url, stop = serve(create_app())
    try:
        with opened_page(chromium, url) as page:
            page.route("**/api/backward", answered_as_my_loss)
            open_network(page, tmp_path, network)
            caption = caption_at_E(page, 3)
            assert caption.startswith("E = my-loss of the top units' logits z")
            assert "applies the logistic" in caption
            page.click("#btn-step")  # the top's dE/dz: straight from the loss, no dE/dy step
            caption = page.inner_text("#caption")
            assert (
                "my-loss reads the logits z" in caption and "no \u2202E/\u2202y_j step" in caption
            )
            page.click("#btn-all")
            tip = page.text_content("g.unit[data-layer='2'][data-unit='0'] > title")
            assert "\u2202E/\u2202y: not shown (the my-loss reads z directly)" in tip.split("\n")
            labels = page.eval_on_selector_all(
                "#diagram text", "els => els.map(e => e.textContent)"
            )
            tops = [t for t in labels if t.startswith("\u2202E/\u2202y ")]
            assert len(tops) <= 3 + 4  # layers 0 and 1 only: the top units' y is not on E's path
            page.click("g.unit[data-layer='2'][data-unit='0']")
            info = page.inner_text("#unit-info")
            assert "The my-loss is computed from the logits z (it applies the logistic" in info
            assert "comes straight from the loss" in info and "\u2202E/\u2202yj =" not in info
    finally:
        stop()
