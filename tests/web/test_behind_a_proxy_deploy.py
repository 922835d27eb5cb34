"""The page behind a reverse proxy under a path prefix (QA's deployment, session 66).

``https://uni.example/chainrule/`` -> ``http://127.0.0.1:PORT/`` (nginx's ``location
/chainrule/ { proxy_pass http://127.0.0.1:PORT/; }``): index.html asked for ``/static/style.css``
and ``/static/app.js`` and app.js for ``/api/...`` by absolute path, at the site's root, where
nothing of the explorer is, so the page was blank and said nothing. Every URL of the page is now
relative to it. Shown here through a small prefix-stripping proxy of the test's own (the
headers nginx is told to send in docs/web.md), in a real browser: the page loads, draws the
diagram and takes a training step, and every request it makes stays under the prefix; and, as
text, the page and its script name no absolute URL. The notebook's widget runs the same app.js
through its kernel transport, which still gets the API's own paths (tests/notebook).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402

from chainrule.web import create_app  # noqa: E402
from chainrule.web.app import LOCAL_HOSTS, STATIC_DIR  # noqa: E402

PREFIX = "/chainrule"


# -- the page's files name no absolute URL -------------------------------------------------------


def test_the_page_and_its_script_name_no_absolute_url():
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    urls = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert "./static/app.js" in urls and "./static/style.css" in urls, urls
    assert not [url for url in urls if url.startswith("/")], urls
    markup = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # comments name the API's lists
    assert not re.search(r"[\"'(=]/(?:static|api)/", markup), markup
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "/static/" not in script
    # the API's paths ("/api/seed": what the kernel transport answers too) reach the network
    # only through pageRelative, which makes them relative to the page
    fetches = re.findall(r"\bfetch\(([^,]*),", script)
    assert fetches == ["pageRelative(path)"], fetches
    assert "const pageRelative = (path) => `.${path}`;" in script  # "./api/seed"


def test_mounted_under_a_prefix_the_page_files_and_api_answer_there():
    """An ASGI mount under /chainrule asks for the same URLs a proxy's prefix does."""
    site = Starlette(routes=[Mount(PREFIX, app=create_app(allowed_hosts=LOCAL_HOSTS))])
    client = TestClient(site, base_url="http://127.0.0.1")
    page = client.get(f"{PREFIX}/")
    assert page.status_code == 200
    for url in re.findall(r'\b(?:src|href)="\./(static/[^"]*)"', page.text):
        assert client.get(f"{PREFIX}/{url}").status_code == 200, url
    started = client.post(f"{PREFIX}/api/train/start", json={"dataset": "xor"})
    assert started.status_code == 200, started.text
    assert "Path=/chainrule;" in started.headers["set-cookie"], started.headers["set-cookie"]
    stepped = client.post(f"{PREFIX}/api/train/step", json={"steps": 1})
    assert stepped.status_code == 200 and stepped.json()["step"] == 1, stepped.text


def test_the_page_by_its_file_name_sends_the_browser_to_the_page():
    """/static/index.html: its relative URLs would name /static/static/app.js there, so it is a
    relative redirect to the page, which under a prefix stays under it."""
    client = TestClient(create_app(), base_url="http://127.0.0.1", follow_redirects=False)
    moved = client.get("/static/index.html")
    assert moved.status_code == 302 and moved.headers["location"] == "../"


# -- in a browser, through a prefix-stripping proxy ----------------------------------------------


def prefix_proxy(upstream: str):
    """nginx's ``location /chainrule/ { proxy_pass UPSTREAM/; }`` with docs/web.md's headers:
    a request under the prefix goes upstream without it; anything else is the proxy's 404."""
    import httpx
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import Route

    async def forward(request):
        path = request.url.path
        if path == PREFIX:
            return RedirectResponse(f"{PREFIX}/", 301)
        if not path.startswith(f"{PREFIX}/"):
            return Response(f"proxy: not under {PREFIX}/: {path}", 404)
        skip = ("host", "content-length", "connection")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
        headers["x-forwarded-for"] = request.client.host
        headers["x-forwarded-proto"] = request.url.scheme
        headers["x-forwarded-prefix"] = PREFIX
        async with httpx.AsyncClient(base_url=upstream, timeout=30) as client:
            answer = await client.request(
                request.method,
                path[len(PREFIX) :],
                params=request.url.query,
                headers=headers,
                content=await request.body(),
            )
        hop = ("content-length", "transfer-encoding", "connection", "content-encoding")
        kept = {k: v for k, v in answer.headers.multi_items() if k.lower() not in hop}
        response = Response(answer.content, answer.status_code)
        for key, value in kept.items():
            response.headers.append(key, value)
        return response

    methods = ["GET", "POST", "HEAD"]
    return Starlette(routes=[Route("/{rest:path}", forward, methods=methods)])


def test_through_a_proxy_under_a_prefix_the_page_loads_draws_and_trains(chromium):
    pytest.importorskip("uvicorn")
    pytest.importorskip("httpx")
    from served import serve

    upstream, stop_upstream = serve(create_app())
    proxy, stop_proxy = serve(prefix_proxy(upstream))
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        seen, errors = [], []
        page.on("response", lambda r: seen.append((r.status, r.request.method, r.url)))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{proxy}{PREFIX}/")
        page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        assert page.locator("#diagram [data-unit]").count() > 0  # the diagram is drawn
        assert page.is_hidden("#message"), page.text_content("#message")
        page.click("button[data-tab=train]")
        page.click("#btn-train-start")
        page.wait_for_function("S.train.state !== null && S.train.state.step === 0")
        page.click("#btn-train-step")
        page.wait_for_function("S.train.state.step > 0")
        assert page.is_hidden("#message"), page.text_content("#message")
        assert not errors, errors
        outside = [url for _, _, url in seen if not url.startswith(f"{proxy}{PREFIX}/")]
        assert not outside, outside  # every request stayed under the prefix
        failed = [answer for answer in seen if answer[0] >= 400]
        assert not failed, failed  # none refused: no 404, and no 409 for a run never started
        (cookie,) = context.cookies()
        port = upstream.rsplit(":", 1)[1]
        assert (cookie["name"], cookie["path"]) == (f"chainrule_session_{port}", PREFIX)
    finally:
        context.close()
        stop_proxy()
        stop_upstream()


def test_the_notebook_widget_still_asks_the_kernel_by_the_apis_paths():
    """The widget's transport is given the API's own paths ("/api/seed"), which the kernel
    answers; only the page's HTTP transport makes them relative."""
    pytest.importorskip("pydantic")
    from chainrule.notebook.explorer import Explorer, front_end

    module = front_end()["esm"]
    assert 'api("/api/seed")' in module and "fetch(pageRelative(path)" in module
    assert Explorer().answer({"id": 1, "path": "/api/seed"})["ok"]
    assert not Explorer().answer({"id": 1, "path": "api/seed"})["ok"]


def test_the_docs_nginx_example_is_what_this_test_proxy_does():
    docs = (Path(__file__).parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    block = docs.split("```nginx", 1)[1].split("```", 1)[0]
    assert f"location {PREFIX}/ {{" in block and "proxy_pass http://127.0.0.1:8000/;" in block
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Prefix", "Host"):
        assert f"proxy_set_header {header} " in block, header
