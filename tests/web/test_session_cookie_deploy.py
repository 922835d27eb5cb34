"""A class's deployment, as QA's sysadmin met it (session 66), each shown failing before:

- two servers on one machine (two sections, ports 8000 and 8001) shared one session cookie
  (``chainrule_session; Path=/``: browsers keep cookies by host, not port), so a Start on one
  made the other's run vanish, with a message that blamed a server restart. The cookie's name
  now carries the listening port, and its Path is the page's prefix (``X-Forwarded-Prefix``);
  the message names the other causes too;
- the cookie is ``Secure`` where the request came over https (``X-Forwarded-Proto`` from a
  proxy uvicorn trusts, or the scheme);
- every fresh page load got a 409 from ``GET /api/train/state`` (a console error and a log line
  per student per load): a browser with no run now gets a 200 saying so (``run: null``); a run
  the server lost is still a 409, which the page now says on load;
- ``serve --host ::`` warned "listening on :::", now "[::]:PORT".
"""

from __future__ import annotations

import socket
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
pytest.importorskip("pydantic")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule.web import api, create_app, sessions  # noqa: E402
from chainrule.web.sessions import COOKIE_NAME  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_run import run  # noqa: E402

LOCAL = "http://127.0.0.1"
XOR = {"dataset": "xor"}
#: the page's own request, from a page of that server (relative, as app.js asks)
ASK = """async ([path, body]) => {
  const init = body === null ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify(body)};
  const answer = await fetch(path, init);
  return [answer.status, await answer.text()];
}"""


def browser(app, base_url: str = LOCAL, **kwargs) -> TestClient:
    return TestClient(app, base_url=base_url, **kwargs)


# -- one cookie per server -----------------------------------------------------------------------


def test_the_cookie_name_carries_the_listening_port():
    cookie_name = sessions.cookie_name
    assert cookie_name(("127.0.0.1", 8001)) == "chainrule_session_8001"
    assert cookie_name(("0.0.0.0", 8000), "https") == "chainrule_session_8000"
    # at the scheme's own port, which an address leaves out, or with none: the name alone
    assert cookie_name(("127.0.0.1", 80)) == cookie_name(("::1", 443), "https") == COOKIE_NAME
    assert cookie_name(None) == cookie_name(("/run/chainrule.sock", None)) == COOKIE_NAME


def test_the_cookie_path_is_the_pages_prefix():
    cookie_path = sessions.cookie_path
    assert cookie_path(None) == cookie_path("") == cookie_path("/") == "/"
    assert cookie_path("/chainrule") == cookie_path("/chainrule/") == "/chainrule"
    assert cookie_path("/courses/nn-101") == "/courses/nn-101"
    assert cookie_path(None, "/mounted") == "/mounted"
    assert cookie_path("/site", "/mounted") == "/site/mounted"
    # not a plain path: ignored (it could end the Path and add attributes of its own)
    for odd in ("/a; Domain=evil.example", "/a,/b", "chainrule", "/a b", "//", "/a\r\nX: y"):
        assert cookie_path(odd) == "/", odd


def test_two_servers_on_one_machine_keep_a_run_each(chromium):
    pytest.importorskip("uvicorn")
    from served import serve

    (first, stop_first), (second, stop_second) = serve(create_app()), serve(create_app())
    context = chromium.new_context()
    try:
        one, two = context.new_page(), context.new_page()
        one.goto(f"{first}/"), two.goto(f"{second}/")
        assert one.evaluate(ASK, ["api/train/start", XOR])[0] == 200
        assert one.evaluate(ASK, ["api/train/step", {"steps": 1}])[0] == 200
        assert two.evaluate(ASK, ["api/train/start", XOR])[0] == 200  # the other section's
        status, text = one.evaluate(ASK, ["api/train/step", {"steps": 1}])
        assert status == 200, text  # the first run goes on
        assert '"step":2' in text.replace(" ", ""), text
        names = sorted(c["name"] for c in context.cookies())
        ports = sorted(url.rsplit(":", 1)[1] for url in (first, second))
        assert names == [f"chainrule_session_{port}" for port in ports], names
    finally:
        context.close()
        stop_first()
        stop_second()


def test_the_cookie_is_set_for_the_proxys_prefix():
    client = browser(create_app())
    started = client.post("/api/train/start", json=XOR, headers={"X-Forwarded-Prefix": "/sec-a"})
    assert started.status_code == 200
    cookie = started.headers["set-cookie"]
    assert "Path=/sec-a;" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    odd = browser(create_app()).post(
        "/api/train/start", json=XOR, headers={"X-Forwarded-Prefix": "/a;Domain=evil.example"}
    )
    assert "Path=/;" in odd.headers["set-cookie"] and "evil" not in odd.headers["set-cookie"]


def test_a_lost_session_is_not_blamed_on_a_restart_alone():
    student = browser(create_app())
    student.cookies.set(COOKIE_NAME, "a-token-this-server-never-gave-out")
    message = student.post("/api/train/step", json={"steps": 1}).json()["error"]
    assert message.startswith(api.NO_RUN), message
    assert "restarted" in message and "another chainrule server" in message, message


# -- Secure over https ---------------------------------------------------------------------------


def test_the_cookie_is_secure_over_https_only():
    over_https = browser(create_app(), "https://127.0.0.1").post("/api/train/start", json=XOR)
    assert over_https.status_code == 200 and "Secure" in over_https.headers["set-cookie"]
    over_http = browser(create_app()).post("/api/train/start", json=XOR)
    assert "Secure" not in over_http.headers["set-cookie"]


def test_behind_a_local_https_proxy_the_cookie_is_secure():
    """uvicorn believes X-Forwarded-Proto from 127.0.0.1 (its default): the scheme is https."""
    pytest.importorskip("uvicorn")
    import httpx
    from served import serve

    url, stop = serve(create_app())
    try:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/chainrule"}
        started = httpx.post(f"{url}/api/train/start", json=XOR, headers=headers, timeout=30)
        assert started.status_code == 200, started.text
        cookie = started.headers["set-cookie"]
        port = url.rsplit(":", 1)[1]
        assert cookie.startswith(f"chainrule_session_{port}="), cookie
        assert "Secure" in cookie and "Path=/chainrule;" in cookie, cookie
        plain = httpx.post(f"{url}/api/train/start", json=XOR, timeout=30)
        assert "Secure" not in plain.headers["set-cookie"]
    finally:
        stop()


# -- GET /api/train/state: no run is no error ----------------------------------------------------


def test_no_run_is_a_200_saying_so_and_a_lost_one_a_409():
    app = create_app()
    fresh = browser(app).get("/api/train/state")
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["run"] is None and body["message"].startswith(api.NO_RUN), body
    api.TrainStateOrNone.model_validate(body)  # the document's answer
    client = browser(app)
    assert client.post("/api/train/start", json=XOR).status_code == 200
    assert client.get("/api/train/state").json()["run"] is not None
    assert client.post("/api/train/reset", json={}).json() == {"reset": True}
    reset = client.get("/api/train/state")
    assert reset.status_code == 200 and reset.json()["run"] is None
    assert "reset" in reset.json()["message"]
    # a run the server lost is still a 409, which says why
    restarted = browser(create_app())
    restarted.cookies.set(COOKIE_NAME, "from-before-a-restart")
    lost = restarted.get("/api/train/state")
    assert lost.status_code == 409 and lost.json()["error"].startswith(api.NO_RUN)
    app = create_app(max_sessions=1, idle_seconds=0)
    first, second = browser(app), browser(app)
    assert first.post("/api/train/start", json=XOR).status_code == 200
    assert second.post("/api/train/start", json=XOR).status_code == 200  # first's forgotten
    forgotten = first.get("/api/train/state")
    assert forgotten.status_code == 409 and "--max-sessions" in forgotten.json()["error"]


def test_the_page_says_on_load_that_its_run_was_lost(chromium):
    pytest.importorskip("uvicorn")
    from served import serve

    url, stop = serve(create_app())
    context = chromium.new_context()
    try:
        port = url.rsplit(":", 1)[1]
        context.add_cookies(
            [{"name": f"chainrule_session_{port}", "value": "from-before-a-restart", "url": url}]
        )
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-ready=true]")
        message = page.text_content("#message")
        assert page.is_visible("#message") and message.startswith(api.NO_RUN), message
        assert "restarted" in message, message
        assert page.evaluate("S.train.state") is None
    finally:
        context.close()
        stop()


# -- serve's warning on an IPv6 wildcard ---------------------------------------------------------


def test_the_ipv6_wildcard_is_written_in_brackets(capsys, monkeypatch):
    uvicorn = pytest.importorskip("uvicorn")
    try:
        with socket.create_server(("::", 0), family=socket.AF_INET6) as probe:
            port = probe.getsockname()[1]
    except OSError as error:
        pytest.skip(f"no IPv6 here: {error}")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    code, _, err = run(capsys, "serve", "--host", "::", "--port", port)
    assert code == 0, err
    assert f"warning: listening on [::]:{port}: other machines can reach" in err, err
    assert ":::" not in err
