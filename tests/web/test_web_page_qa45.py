"""The page after a refusal, in Debian's chromium (Playwright), as tests/web does:

- a loaded file with a number too large for a double (1e400, which JSON.parse reads as Infinity
  and JSON.stringify would send as null: "no weight here") is refused in the message line,
  naming the file and the place, and nothing changes;
- an edit the server refuses (or that is no number) puts its field back to the network's value,
  and the message names the field as the page labels it;
- a Step whose run the server has forgotten (``--max-sessions``) says so in words a learner can
  act on, and the Train tab stops showing the run as if it were still there.

Skipped, saying why, where Playwright or /usr/bin/chromium is missing (tests/conftest.py).
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from served import opened_page, serve  # noqa: E402

from chainrule.notebook.explorer import Explorer  # noqa: E402
from chainrule.web import create_app  # noqa: E402

SEED_LIKE = (
    '{"sizes":[2,2,3],"weights":[[[W00,W01],[W10,0.3]],[[0.5,-0.3,0.2],[-0.4,0.6,0.35]]],'
    '"biases":[[0.1,-0.2],[0.05,-0.1,B12]],"activation":"logistic","output":"logistic",'
    '"loss":"squared-error","input":[1.0,0.5],"target":[1.0,0.0,1.0]}'
)


def network_file(**numbers: str) -> str:
    text = SEED_LIKE
    for name, value in {"W00": "0.15", "W01": "-0.25", "W10": "0.4", "B12": "0.0"}.items():
        text = text.replace(name, numbers.get(name, value))
    return text


@pytest.fixture(scope="module")
def one_run_url():
    """A server that keeps one browser's training run (``chainrule serve --max-sessions 1``)."""
    url, stop = serve(create_app(max_sessions=1, idle_seconds=0))  # evicts at once
    yield url
    stop()


def message(page) -> str:
    return page.text_content("#message") if page.is_visible("#message") else ""


@pytest.mark.parametrize(
    ("numbers", "where", "written"),
    [
        # off the diagonal: sent as null, they made the server compute a network in blocks
        ({"W01": "1e400", "W10": "-1e400"}, "weights[0][0][1]", "1e400"),
        # on it: the server's refusal was about blocks, of a file with none
        ({"W00": "1e400"}, "weights[0][0][0]", "1e400"),
        ({"B12": "-2E+999"}, "biases[1][2]", "-2E+999"),
    ],
)
def test_a_loaded_number_that_overflows_is_refused(
    chromium, seed_url, tmp_path, numbers, where, written
):
    path = tmp_path / "network.json"
    path.write_text(network_file(**numbers))
    with opened_page(chromium, seed_url) as page:
        before = page.evaluate("JSON.stringify(S.net)")
        edges = page.locator("line.edge").count()
        page.set_input_files("#load-file", str(path))
        page.wait_for_function("!document.getElementById('message').hidden")
        assert message(page) == (
            f"network.json: {where} is not a finite number ({written} overflows); "
            "nothing was loaded"
        )
        assert page.evaluate("JSON.stringify(S.net)") == before  # nothing changed
        assert page.locator("line.edge").count() == edges
        assert "Infinity" not in page.evaluate("document.body.innerText")
        # the same file with finite numbers loads: the check refuses only the overflow
        path.write_text(network_file())
        page.set_input_files("#load-file", str(path))
        page.wait_for_function("document.getElementById('message').hidden")  # cleared: loaded
        assert page.evaluate("S.net") == json.loads(network_file())


def test_a_loaded_network_in_blocks_keeps_its_nulls(chromium, seed_url, tmp_path):
    """null is a weight that does not exist (a network in blocks), not an overflow."""
    path = tmp_path / "blocks.json"
    path.write_text(network_file(W01="null", W10="null"))
    with opened_page(chromium, seed_url) as page:
        page.set_input_files("#load-file", str(path))
        page.wait_for_function("S.net.weights[0][0][1] === null")
        assert message(page) == ""
        assert page.evaluate("S.net") == json.loads(path.read_text())


def edit_field(page, layer: int, unit: int, nth: int):
    page.click("button[data-tab=edit]")
    page.click(f"g.unit[data-layer='{layer}'][data-unit='{unit}']")
    page.wait_for_selector("#edit-unit input")
    return page.locator("#edit-unit input").nth(nth)


@pytest.mark.parametrize(
    ("layer", "nth", "label", "value", "typed", "why"),
    [
        (0, 0, "input y1", 1.0, "2000000", "Input should be less than or equal to 1000000"),
        (0, 0, "input y1", 1.0, "abc", "not a number"),
        (0, 1, "w1\u21921", 0.15, "-3e6", "Input should be greater than or equal to -1000000"),
    ],
)
def test_a_refused_edit_puts_its_field_back(
    chromium, seed_url, layer, nth, label, value, typed, why
):
    with opened_page(chromium, seed_url) as page:
        before = page.evaluate("JSON.stringify(S.net)")
        field = edit_field(page, layer, 0, nth)
        field.fill("")
        field.type(typed)
        field.press("Enter")
        page.wait_for_function("!document.getElementById('message').hidden")
        shown = message(page)
        assert shown.startswith(f"{label}: "), shown  # the page's own label for the field
        assert why in shown and "network." not in shown, shown  # not the API's network.input[0]
        page.wait_for_function(f"document.querySelectorAll('#edit-unit input')[{nth}].value !== ''")
        assert float(field.input_value()) == value  # the network's value, not the refused one
        assert page.evaluate("JSON.stringify(S.net)") == before
        # the field still edits the network
        field.fill("0.25")
        field.press("Enter")
        path = "S.net.input[0]" if nth == 0 else "S.net.weights[0][0][0]"
        page.wait_for_function(f"{path} === 0.25")
        page.wait_for_function("document.getElementById('message').hidden")


def start_run(page) -> None:
    page.click("button[data-tab=train]")
    page.click("#btn-train-start")
    page.wait_for_function("S.train.state !== null && S.train.state.step === 0")


def test_a_step_of_a_forgotten_run_says_so_and_clears_the_run(chromium, one_run_url):
    with opened_page(chromium, one_run_url) as first:
        start_run(first)
        hint_when_none = "Start a run: the network above is replaced by one for the dataset."
        with opened_page(chromium, one_run_url) as second:
            start_run(second)  # the server keeps one run: the first browser's is forgotten
            first.click("#btn-train-step")
            first.wait_for_function("!document.getElementById('message').hidden")
            shown = message(first)
            assert shown.startswith("no training run for this session"), shown
            assert "forgotten" in shown and "most recently used" in shown, shown
            assert "press Start" in shown, shown
            assert first.is_disabled("#btn-train-step")
            assert first.is_disabled("#btn-train-play")
            assert first.text_content("#train-status") == hint_when_none
            assert first.get_attribute("#loss-curve", "data-steps") == "0"
            # Start begins again (and forgets the second browser's run in turn)
            first.click("#btn-train-start")
            first.wait_for_function("S.train.state !== null")
            first.click("#btn-train-step")
            first.wait_for_function("S.train.state.step > 0")
            first.wait_for_function("document.getElementById('message').hidden")
            assert first.is_enabled("#btn-train-step")


def test_the_no_run_refusal_says_why_on_both_hosts(one_run_url):
    """The server's message (no cookie, or its run forgotten; a run reset) and the notebook
    widget's (the same handlers, one run per view) say what happened and what to do."""
    with httpx.Client(base_url=one_run_url) as client:
        none = client.post("/api/train/step", json={"steps": 1})
        assert none.status_code == 409
        # the server says how many sessions it keeps and the option that keeps more
        assert none.json()["error"] == (
            "no training run for this session: none was started, or it was forgotten (this "
            "server keeps the most recently used browser session, with its run, and forgets the "
            "oldest when another browser starts a run; whoever started the server can keep more "
            "with chainrule serve --max-sessions N); press Start (POST /api/train/start) to "
            "begin again"
        )
        assert client.post("/api/train/start", json={"dataset": "xor"}).status_code == 200
        assert client.post("/api/train/reset", json={}).json() == {"reset": True}
        reset = client.post("/api/train/step", json={"steps": 1})
        assert reset.status_code == 409
        assert reset.json()["error"] == (
            "no training run for this session: none was started, or it was reset; press Start "
            "(POST /api/train/start) to begin again"
        )
        # GET /api/train/state: none, and none lost, is a 200 in the same words
        state = client.get("/api/train/state")
        assert state.status_code == 200
        assert state.json() == {"run": None, "message": reset.json()["error"]}
    host = Explorer()
    reply = host.answer({"id": "1.abcdef:1", "path": "/api/train/step", "body": {"steps": 1}})
    assert reply["ok"] is False
    assert reply["error"] == (  # the widget's: one run per view, no sessions to count
        "no training run for this session: none was started, or it was forgotten (only the "
        "most recently used runs are kept: when another starts, the oldest is forgotten); "
        "press Start (POST /api/train/start) to begin again"
    )
