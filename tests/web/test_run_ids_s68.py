"""A step naming a run id this browser's session never issued (session 68) was told "the run
this page started (zzz) was replaced by run 494c5f715ae4", though no run zzz was ever started.
The session remembers the last few ids it issued: a replaced one is told so, any other is "no
run zzz in this session"."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from chainrule.web import create_app
from chainrule.web.sessions import BrowserSession


def test_a_run_id_never_issued_is_not_said_to_be_replaced():
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    first = client.post("/api/train/start", json={"dataset": "xor"}).json()["run"]
    refused = client.post("/api/train/step", json={"steps": 1, "run": "zzz"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error.startswith("no run zzz in this session"), error
    assert "replaced" not in error and first in error  # the run it has, to step instead
    second = client.post("/api/train/start", json={"dataset": "xor"}).json()["run"]
    error = client.post("/api/train/step", json={"steps": 1, "run": first}).json()["error"]
    assert error.startswith("training run replaced: ") and f"({first})" in error
    assert second in error
    assert client.get("/api/train/state").json()["step"] == 0  # neither refusal stepped it


def test_a_session_remembers_a_bounded_number_of_the_ids_it_issued():
    from chainrule.web.sessions import RUN_IDS_REMEMBERED

    session = BrowserSession(token="t")
    ids = [session.start_training(object()) for _ in range(3 * RUN_IDS_REMEMBERED)]
    assert list(session.issued) == ids[-RUN_IDS_REMEMBERED:]
    assert session.run_id == ids[-1]
