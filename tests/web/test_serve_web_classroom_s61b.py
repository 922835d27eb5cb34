"""A class on one explorer, as the person running it met it (session 61):

- with ``--host 0.0.0.0`` students opening ``http://<the machine's IP>:PORT`` were refused (400,
  "Host ... is not this server's address"): a wildcard host now lets in any IP address (v4, or
  [v6]) besides the allowed names, and still refuses unknown domain names (DNS rebinding needs
  one);
- after a server restart the page blamed ``--max-sessions`` ("it was forgotten (this server keeps
  the 128 most recently used ...)"): a cookie naming a session the server never gave out now says
  that the server was probably restarted;
- nothing was logged: a refused Host header, a 503 and a 500 are now one line each on
  ``chainrule.web`` (``chainrule serve`` writes them with the time), naming the request and the
  client, never a cookie;
- reloading the page lost the Train tab although the server still had the run: the page now asks
  ``GET /api/train/state`` as it loads and shows the run, Step and Play ready.
"""

from __future__ import annotations

import logging
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import api, create_app  # noqa: E402
from chainrule.web.app import LOCAL_HOSTS  # noqa: E402
from chainrule.web.sessions import COOKIE_NAME  # noqa: E402

LOCAL = "http://127.0.0.1"
JSON = {"content-type": "application/json"}
XOR = {"dataset": "xor"}


def browser(app, **kwargs) -> TestClient:
    return TestClient(app, base_url=LOCAL, headers=JSON, **kwargs)


# -- a wildcard host: any IP address, no unknown domain name --------------------------------------


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_a_server_on_every_interface_answers_its_ip_addresses(wildcard):
    client = browser(create_app(allowed_hosts=[*LOCAL_HOSTS, wildcard, "classroom-pc"]))
    for host in ("192.0.2.7:8000", "192.0.2.7", "10.1.2.3:8080", "[2001:db8::7]:8000", "[::1]"):
        answer = client.get("/api/seed", headers={"host": host})
        assert answer.status_code == 200, (host, answer.text)
    assert client.get("/api/seed", headers={"host": "classroom-pc:8000"}).status_code == 200
    for host in ("evil.example:8000", "192.0.2.7.nip.io", "192.0.2.7:80@evil.example", ""):
        refused = client.get("/api/seed", headers={"host": host})
        assert refused.status_code == 400, host
        assert "any IP address" in refused.json()["error"]
    # a server on one address still refuses the others
    client = browser(create_app(allowed_hosts=[*LOCAL_HOSTS, "192.0.2.7"]))
    assert client.get("/api/seed", headers={"host": "192.0.2.7:8000"}).status_code == 200
    refused = client.get("/api/seed", headers={"host": "192.0.2.8:8000"})
    assert refused.status_code == 400
    assert "any IP address" not in refused.json()["error"]


# -- a restarted server: not blamed on --max-sessions ----------------------------------------------


def test_a_cookie_from_before_a_restart_says_the_server_was_restarted():
    student = browser(create_app())
    assert student.post("/api/train/start", json=XOR).status_code == 200
    token = student.cookies[COOKIE_NAME]
    restarted = browser(create_app())  # the same browser, its cookie, a new server
    restarted.cookies.set(COOKIE_NAME, token)
    for gone in (
        restarted.post("/api/train/step", json={"steps": 1}),
        restarted.get("/api/train/state"),
    ):
        assert gone.status_code == 409
        message = gone.json()["error"]
        assert message.startswith(api.NO_RUN), message  # the page reads these words (app.js)
        assert "restarted" in message, message
        assert "--max-sessions" not in message and "most recently used" not in message, message
        assert message.endswith("press Start (POST /api/train/start) to begin again"), message
    # a session the server forgot for another still says how many it keeps
    app = create_app(max_sessions=1, idle_seconds=0)
    first, second = browser(app), browser(app)
    assert first.post("/api/train/start", json=XOR).status_code == 200
    assert second.post("/api/train/start", json=XOR).status_code == 200  # first's is forgotten
    message = first.post("/api/train/step", json={"steps": 1}).json()["error"]
    assert "chainrule serve --max-sessions N" in message and "restarted" not in message


# -- the log: one line for each refused Host, 503 and 500 ------------------------------------------


def _lines(caplog, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "chainrule.web" and r.levelno == level
    ]


def test_a_refused_host_a_full_server_and_a_500_are_logged(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="chainrule.web")
    app = create_app(max_sessions=1)
    first = browser(app, cookies={"other": "SECRET-COOKIE"})
    assert first.post("/api/train/start", json=XOR).status_code == 200
    assert first.get("/api/seed", headers={"host": "evil.example"}).status_code == 400
    assert browser(app).post("/api/train/start", json=XOR).status_code == 503

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "json_response", broken)  # a failure no check foresaw
    assert browser(create_app(), raise_server_exceptions=False).get("/api/units").status_code == 500

    warned = _lines(caplog, logging.WARNING)
    assert len(warned) == 2, warned
    refused, full = warned
    assert refused.startswith("refused GET /api/seed from testclient:"), refused
    assert "Host 'evil.example' is not this server's address" in refused
    assert full.startswith("503 POST /api/train/start from testclient:"), full
    (failed,) = _lines(caplog, logging.ERROR)
    assert failed == "500 GET /api/units from testclient:50000: RuntimeError: a bug", failed
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET-COOKIE" not in logged and COOKIE_NAME not in logged
    assert all("\n" not in line for line in [*warned, failed])  # one line each


# -- the page: a reload shows the run the server still has ---------------------------------------


def test_a_reloaded_page_shows_the_run_the_server_still_has(chromium):
    pytest.importorskip("uvicorn")
    from served import opened_page, serve

    url, stop = serve(create_app())
    try:
        with opened_page(chromium, url) as page:
            assert page.evaluate("S.train.state") is None  # a new browser: no run
            page.click("button[data-tab=train]")
            page.click("#btn-train-start")
            page.wait_for_function("S.train.state !== null && S.train.state.step === 0")
            page.click("#btn-train-step")
            page.wait_for_function("S.train.state.step > 0")
            step = page.evaluate("S.train.state.step")
            run = page.evaluate("S.train.state.run")

            page.reload()
            page.wait_for_selector("body[data-ready=true]")
            assert page.evaluate("S.train.state && S.train.state.run") == run
            assert page.evaluate("S.train.state.step") == step
            page.click("button[data-tab=train]")
            assert page.is_enabled("#btn-train-step") and page.is_enabled("#btn-train-play")
            assert page.text_content("#train-status").startswith(f"xor: step {step}"), (
                page.text_content("#train-status")
            )
            assert page.get_attribute("#loss-curve", "data-steps") == str(step)
            assert page.evaluate("S.net === S.train.state.network")  # the diagram shows it
            page.click("#btn-train-step")  # and it goes on from there, the same run
            page.wait_for_function(f"S.train.state.step > {step}")
            assert page.evaluate("S.train.state.run") == run
            assert page.is_hidden("#message")
    finally:
        stop()
