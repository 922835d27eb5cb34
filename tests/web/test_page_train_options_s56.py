"""The page's optimizer and teaching-bug lists come from the server, through the API both hosts
use (session 56).

The optimizers (momentum, sgd, adam) were written out three times: index.html's options, the
allowed values of ``TrainStartRequest.optimizer`` and ``start_run``'s own check (which also
decided, by name, that "momentum" meant SGD with momentum 0.9). index.html's bug list repeated
the explainer's ``BUGS`` with descriptions of its own. Now ``training.OPTIMIZERS`` is the one
table (which library optimizer and settings each name means): the schema and ``start_run`` read
it and ``GET /api/optimizers`` sends it; ``GET /api/bugs`` sends each bug's name and title from
``BUGS``; the page fills both lists from them.

Oracles: the library's own tables (``optim.OPTIMIZERS``, the optimizer classes' ``config()``;
``explainer.bugs.BUGS``), the request schemas the server validates with (their OpenAPI enums),
and a change made on the server (monkeypatched in-process), which must reach the page and the
run it starts. Browser tests run in Debian's chromium (Playwright), skipped, saying why, where
it is missing; the notebook widget's are in tests/notebook/test_widget_train_options_s56.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from page_lists import library_bugs, options, server_optimizers  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from chainrule import optim  # noqa: E402
from chainrule.explainer import bugs as explainer_bugs  # noqa: E402
from chainrule.notebook.explorer import Explorer  # noqa: E402
from chainrule.web import create_app, training  # noqa: E402
from chainrule.web import network as web_network  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402
from chainrule.web.app import STATIC_DIR  # noqa: E402

LOCAL = "http://127.0.0.1"


def bug_options(bugs: list[dict]) -> list[list[str]]:
    """The bug list's [value, text]: the page's own "none" first, then each bug by its title."""
    return [["", "none: the real engine"]] + [
        [b["name"], f"{b['name']}: {b['title']}"] for b in bugs
    ]


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url=LOCAL)


def enum_of(document: dict, model: str, field: str) -> list:
    """The values the OpenAPI document allows for ``model.field`` (a request's Literal)."""
    prop = document["components"]["schemas"][model]["properties"][field]
    found = prop.get("enum") or next(p["enum"] for p in prop.get("anyOf", []) if "enum" in p)
    return list(found)


def test_the_api_says_the_optimizers_and_bugs_in_both_hosts(client):
    answers = {}
    for path, key, expected in (
        ("/api/optimizers", "optimizers", server_optimizers()),
        ("/api/bugs", "bugs", library_bugs()),
    ):
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {key: expected}, path
        answers[path] = answer.json()
    s.OptimizersResponse.model_validate(answers["/api/optimizers"])
    s.BugsResponse.model_validate(answers["/api/bugs"])
    kernel = Explorer()
    for path, answer in answers.items():
        widget = kernel.answer({"id": "v:1", "path": path, "body": None})
        assert widget == {"id": "v:1", "ok": True, "data": answer}  # one JSON, both hosts


def test_what_the_page_is_offered_is_what_the_requests_take(client):
    """The lists sent are the request schemas' own, and the default optimizer is the first."""
    document = client.get("/openapi.json").json()
    paths = (("/api/optimizers", "OptimizersResponse"), ("/api/bugs", "BugsResponse"))
    for path, model in paths:
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert schema["application/json"]["schema"]["$ref"].endswith(f"/{model}")
    names = [o["name"] for o in client.get("/api/optimizers").json()["optimizers"]]
    assert enum_of(document, "TrainStartRequest", "optimizer") == names
    assert (
        document["components"]["schemas"]["TrainStartRequest"]["properties"]["optimizer"]["default"]
        == names[0]
    )
    assert inspect.signature(training.start_run).parameters["optimizer"].default == names[0]
    bugs = [b["name"] for b in client.get("/api/bugs").json()["bugs"]]
    assert enum_of(document, "BugRequest", "bug") == bugs == list(explainer_bugs.BUGS)


def test_each_optimizer_offered_is_the_library_optimizer_with_its_settings():
    """A run started with each name holds the library optimizer the table names, made with the
    table's settings and the request's learning rate (its ``config()``, the library's own
    account of itself), and "momentum" is SGD with momentum 0.9."""
    offered = {o["name"]: o for o in server_optimizers()}
    assert offered["momentum"] == {
        "name": "momentum",
        "optimizer": "sgd",
        "settings": {"momentum": 0.9},
    }
    for name, o in offered.items():
        assert o["optimizer"] in optim.OPTIMIZERS, o
        run = training.start_run("xor", [3], optimizer=name, lr=0.25)
        made = run.trainer.optimizer
        assert type(made) is optim.OPTIMIZERS[o["optimizer"]], name
        config = made.config()
        assert config["type"] == o["optimizer"] and config["lr"] == 0.25, config
        for setting, value in o["settings"].items():
            assert config[setting] == value, (name, setting)
        run.step()  # it trains


def test_an_optimizer_not_in_the_table_is_refused_naming_those_that_are(client, monkeypatch):
    """The request's schema refuses a name it never had; ``start_run`` reads the table as it is
    now, so a name the table no longer holds is refused too, naming the ones it does."""
    answer = client.post("/api/train/start", json={"dataset": "xor", "optimizer": "rmsprop"})
    assert answer.status_code == 422 and "optimizer" in answer.json()["error"], answer.text
    monkeypatch.setattr(training, "OPTIMIZERS", {"adam": training.OptimizerChoice("adam")})
    with TestClient(create_app(), base_url=LOCAL) as fresh:
        answer = fresh.post("/api/train/start", json={"dataset": "xor", "optimizer": "sgd"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "optimizer: unknown 'sgd'; choose one of adam"


def test_the_page_has_no_copy_of_the_optimizers_or_bugs():
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<select id="train-optimizer">(.*?)</select>', page, re.S)
    assert found is not None and "<option" not in found.group(1), found
    found = re.search(r'<select id="bug-select">(.*?)</select>', page, re.S)
    assert found is not None
    assert re.findall(r"<option[^>]*>", found.group(1)) == ['<option value="">'], found.group(1)
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    for name in [*training.OPTIMIZERS, *explainer_bugs.BUGS]:
        assert f'"{name}"' not in script and f"'{name}'" not in script, name
    start_run = inspect.getsource(training.start_run)
    assert not any(f'"{name}"' in start_run for name in training.OPTIMIZERS), start_run


# -- in the browser ---------------------------------------------------------------------------


def tooltip(o: dict) -> str:
    """What the page's optimizer option says it means: the library optimizer and settings."""
    return ", ".join([f"optim {o['optimizer']}", *(f"{k} {v}" for k, v in o["settings"].items())])


def check_page(page, optimizers: list[dict], bugs: list[dict]) -> None:
    assert not page.is_visible("#message"), page.inner_text("#message")
    assert options(page, "train-optimizer") == [[o["name"], o["name"]] for o in optimizers]
    titles = page.eval_on_selector_all("#train-optimizer option", "(os) => os.map((o) => o.title)")
    assert titles == [tooltip(o) for o in optimizers]
    assert page.input_value("#train-optimizer") == optimizers[0]["name"]  # the default
    assert options(page, "bug-select") == bug_options(bugs)
    assert page.input_value("#bug-select") == ""  # the real engine until a bug is chosen


@pytest.fixture
def made(monkeypatch):
    """Each library optimizer the server makes: (name, settings with the learning rate)."""
    calls = []
    from_name = optim.from_name

    def recording(name, params, **hyper):
        calls.append((name, hyper))
        return from_name(name, params, **hyper)

    monkeypatch.setattr(optim, "from_name", recording)
    return calls


def start(page, made: list) -> None:
    """Press Start on the Train tab and wait for the run: the server made its optimizer and
    the page holds the run's state."""
    made.clear()
    page.click("#btn-train-start")
    for _ in range(400):  # the server runs in this process: its optimizer is seen here
        if made:
            break
        page.wait_for_timeout(50)
    page.wait_for_function("S.train.state !== null", timeout=20_000)
    assert not page.is_visible("#message"), page.inner_text("#message")


def test_the_pages_lists_are_the_librarys(open_page, linear_url, made):
    page = open_page(linear_url)
    check_page(page, server_optimizers(), library_bugs())
    page.click(".tabs button[data-tab=train]")
    page.select_option("#train-dataset", "xor")
    page.select_option("#train-optimizer", "adam")
    start(page, made)
    lr = float(page.input_value("#train-lr"))
    assert made == [("adam", {"lr": lr})]
    page.click(".tabs button[data-tab=export]")
    page.select_option("#bug-select", "no-toposort")  # a bug of the list runs on the server
    page.wait_for_function(
        "S.bug !== null && document.querySelector('#bug-table').hidden === false",
        timeout=20_000,
    )
    assert not page.is_visible("#message"), page.inner_text("#message")


def test_a_change_on_the_server_reaches_the_page(open_page, linear_url, made, monkeypatch):
    """Optimizers reordered, one left out and another's settings changed, and the bugs
    reordered, retitled and one left out: the page's lists follow with no change to the page,
    and a run started with its default optimizer is made as the server's table now says."""
    table = {
        "adam": training.OptimizerChoice("adam", {"eps": 0.001}),
        "momentum": training.OptimizerChoice("sgd", {"momentum": 0.5}),
    }
    monkeypatch.setattr(training, "OPTIMIZERS", table)
    BUGS = explainer_bugs.BUGS
    reordered = {
        "no-zero-grad": BUGS["no-zero-grad"],
        "assign": dataclasses.replace(BUGS["assign"], title="the last consumer wins"),
    }
    monkeypatch.setattr(web_network, "BUGS", reordered)
    optimizers = server_optimizers()
    assert [o["name"] for o in optimizers] == ["adam", "momentum"]
    bugs = [{"name": "no-zero-grad", "title": BUGS["no-zero-grad"].title},
            {"name": "assign", "title": "the last consumer wins"}]  # fmt: skip
    page = open_page(linear_url)
    check_page(page, optimizers, bugs)
    page.click(".tabs button[data-tab=train]")
    page.select_option("#train-dataset", "xor")
    start(page, made)  # the default: the table's first
    lr = float(page.input_value("#train-lr"))
    assert made == [("adam", {"lr": lr, "eps": 0.001})]
    page.select_option("#train-optimizer", "momentum")
    start(page, made)
    assert made == [("sgd", {"lr": lr, "momentum": 0.5})]
