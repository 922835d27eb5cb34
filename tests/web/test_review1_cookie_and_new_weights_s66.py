"""Review of session 66's commits, each shown failing before:

- behind a proxy that strips the prefix and says so (Traefik's StripPrefix sends
  ``X-Forwarded-Prefix: /chainrule``) to uvicorn run with ``--root-path /chainrule``, the session
  cookie's Path was both joined (``/chainrule/chainrule``): the browser never sent it back and
  every Step was a 409. The root path already is the public one: one prefix, not both;
- a browser holding a cookie from before a server restart got the "server lost this run" box at
  EVERY page load: nothing cleared the cookie. The 409 for a session the server does not know,
  and a reset of one, now expire it (``Max-Age=0``, same name and Path): said once;
- the page's "New weights" sent no ``reduction`` nor ``loss_options``, so a model opened with
  ``loss_options`` (a multilabel scikit-learn classifier's ``{"per_unit": false}``) silently got
  the default loss back. It sends the current network's (the same loss).
"""

from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
pytest.importorskip("pydantic")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx
    from starlette.testclient import TestClient

from chainrule import nn  # noqa: E402
from chainrule.explainer import explain  # noqa: E402
from chainrule.web import api, create_app  # noqa: E402
from chainrule.web.network import NetworkState  # noqa: E402
from chainrule.web.sessions import cookie_path  # noqa: E402

LOCAL = "http://127.0.0.1"
XOR = {"dataset": "xor"}
PREFIX = {"X-Forwarded-Prefix": "/chainrule"}


# -- 1. one prefix, not both ---------------------------------------------------------------------


def test_a_root_path_that_is_the_proxys_prefix_is_the_cookies_path_once():
    assert cookie_path("/chainrule", "/chainrule") == "/chainrule"
    assert cookie_path("/chainrule/", "/chainrule/") == "/chainrule"
    assert cookie_path("/chainrule", "/chainrule/sec-a") == "/chainrule/sec-a"  # and a mount
    assert cookie_path("/site", "/mounted") == "/site/mounted"  # a mount below the proxy's
    assert cookie_path("/chain", "/chainrule") == "/chain/chainrule"  # segments, not letters


def test_behind_a_stripping_proxy_with_a_root_path_the_cookie_comes_back():
    """The review's case, as uvicorn gives it (``--root-path /chainrule``, the request's path
    with the prefix stripped): the cookie's Path is /chainrule, the path the browser asks under
    (/chainrule/api/train/step), so a step finds its run."""
    pytest.importorskip("uvicorn")
    import threading
    import time
    import urllib.request

    import uvicorn
    from served import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, root_path="/chainrule", log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/train/start", data=json.dumps(XOR).encode(),
            headers={"Content-Type": "application/json", **PREFIX},
        )  # fmt: skip
        with urllib.request.urlopen(request) as answer:
            cookie = answer.headers["set-cookie"]
        assert "; Path=/chainrule;" in cookie, cookie
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- 2. a cookie the server does not know is said once, then expired ------------------------------


def _expires(response, name: str, path: str = "/") -> None:
    cookie = response.headers.get("set-cookie", "")
    assert cookie.startswith(f'{name}=""') or cookie.startswith(f"{name}=;"), cookie
    assert "Max-Age=0" in cookie and f"Path={path};" in cookie, cookie


@pytest.mark.parametrize("root", ["", "/chainrule"])
def test_a_lost_sessions_409_expires_its_cookie_and_the_next_load_is_quiet(root):
    """The cookie the browser got from a server (its name, its Path): after a restart, the
    first load's 409 says the run was lost and expires it; the next load is a 200, run null."""
    before = TestClient(create_app(), base_url=LOCAL, root_path=root)
    started = before.post("/api/train/start", json=XOR, headers=PREFIX)
    assert started.status_code == 200, started.text
    name = started.headers["set-cookie"].split("=", 1)[0]
    path = "/chainrule"  # the proxy's prefix, or the root path that is it: once
    assert f"Path={path};" in started.headers["set-cookie"]
    token = before.cookies[name]
    restarted = TestClient(create_app(), base_url=LOCAL, root_path=root)
    restarted.cookies.set(name, token)
    lost = restarted.get("/api/train/state", headers=PREFIX)
    assert lost.status_code == 409 and lost.json()["error"].startswith(api.NO_RUN), lost.text
    _expires(lost, name, path)
    quiet = TestClient(create_app(), base_url=LOCAL).get("/api/train/state")  # no cookie now
    assert quiet.status_code == 200 and quiet.json()["run"] is None, quiet.text


def test_a_step_and_a_reset_of_an_unknown_session_expire_its_cookie():
    app = create_app()
    client = TestClient(app, base_url=LOCAL)
    name = client.post("/api/train/start", json=XOR).headers["set-cookie"].split("=", 1)[0]
    stale = TestClient(create_app(), base_url=LOCAL)
    stale.cookies.set(name, client.cookies[name])
    step = stale.post("/api/train/step", json={"steps": 1})
    assert step.status_code == 409, step.text
    _expires(step, name)
    stale = TestClient(create_app(), base_url=LOCAL)
    stale.cookies.set(name, client.cookies[name])
    reset = stale.post("/api/train/reset", json={})
    assert reset.status_code == 200 and reset.json() == {"reset": False}, reset.text
    _expires(reset, name)
    # a known session keeps its cookie: no Set-Cookie on its answers
    for answer in (client.get("/api/train/state"), client.post("/api/train/reset", json={}),
                   client.get("/api/train/state")):  # fmt: skip
        assert answer.status_code == 200 and "set-cookie" not in answer.headers, answer.text
    assert "set-cookie" not in TestClient(app, base_url=LOCAL).get("/api/train/state").headers


def test_the_page_says_a_lost_run_once(chromium):
    pytest.importorskip("uvicorn")
    from served import serve

    url, stop = serve(create_app())
    context = chromium.new_context()
    try:
        port = url.rsplit(":", 1)[1]
        name = f"chainrule_session_{port}"
        context.add_cookies([{"name": name, "value": "from-before-a-restart", "url": url}])
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-ready=true]")
        message = page.text_content("#message")
        assert page.is_visible("#message") and message.startswith(api.NO_RUN), message
        assert not [c for c in context.cookies() if c["name"] == name]
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.is_hidden("#message"), page.inner_text("#message")
        assert page.evaluate("S.train.state") is None
    finally:
        context.close()
        stop()


# -- 3. New weights keeps the loss's options ------------------------------------------------------


def test_new_weights_keep_the_models_loss_options(chromium):
    """A 2-3-2 model with BinaryCrossEntropy(per_unit=False), the multilabel classifier's loss:
    New weights (same sizes) asks with its reduction and options, and the page's E is the new
    weights' E under that loss (explain's), not under the per-unit mean (half of it)."""
    pytest.importorskip("uvicorn")
    from served import opened_page, page_text, serve

    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Logistic(), nn.Linear(3, 2, rng=1))
    loss = nn.BinaryCrossEntropy(per_unit=False)
    x, t = [0.5, -0.2], [1.0, 0.0]
    url, stop = serve(create_app(start=NetworkState.from_model(model, x, t, loss)))
    try:
        with opened_page(chromium, url) as page:
            with page.expect_request("**/api/network/new") as asked:
                page.click(".tabs button[data-tab=edit]")
                page.click("#btn-new")
            body = json.loads(asked.value.post_data)
            assert body["loss"] == "binary-cross-entropy", body
            assert body["loss_options"] == {"per_unit": False}, body
            answer = asked.value.response().json()
            assert answer["loss_options"] == {"per_unit": False}, answer
            fresh = NetworkState.from_json(answer)
            wanted = explain(fresh.model(), [fresh.input], [fresh.target], loss).error
            default = explain(fresh.model(), [fresh.input], [fresh.target],
                              nn.BinaryCrossEntropy()).error  # fmt: skip
            assert wanted != pytest.approx(default)
            # Run all until the new network shows its E: a click before the answer is shown
            # went to the network before it (whose new arrival starts again from the inputs)
            page.wait_for_function(
                "v => { document.getElementById('btn-all').click();"
                " return document.getElementById('error-value').textContent === v; }",
                arg=f"E = {page_text(wanted)}",
            )
            assert page.is_hidden("#message"), page.inner_text("#message")
    finally:
        stop()
