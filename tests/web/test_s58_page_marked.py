"""The page a server started on a model sends is marked so by every name it has (review, s58).

``/`` carried ``<body data-opened-on="model">``, but the same file by its own name,
``/static/index.html``, was served as shipped, and its button read "Seed network" though
/api/seed answers the model. Both names send the marked page there, and the file as shipped
where the server makes the seed network. No browser: the page's HTML is the evidence.
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

import chainrule as cr  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402

MARK = '<body data-opened-on="model">'


def _client(start=None) -> TestClient:
    return TestClient(create_app(start=start), base_url="http://127.0.0.1")


@pytest.mark.parametrize("path", ["/", "/static/index.html"])
def test_both_names_of_the_page_are_marked_on_a_model(path):
    model = cr.nn.mlp([2, 3, 2], dtype="float64", rng=3)
    client = _client(NetworkState.from_model(model, [0.4, -0.6], [0.5, -1.5], "squared-error"))
    answer = client.get(path)
    assert answer.status_code == 200 and MARK in answer.text


@pytest.mark.parametrize("path", ["/", "/static/index.html"])
def test_neither_is_marked_on_the_seed_network(path):
    answer = _client().get(path)
    assert answer.status_code == 200 and "<body>" in answer.text and MARK not in answer.text
