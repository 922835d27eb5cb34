"""A large answer is written in pieces, the server answering other browsers between them
(session 64). The largest network's derivation is 8 MB of JSON; json.dumps wrote it in one call
of its C encoder, which holds the GIL, so for most of a second (1.6 s on a loaded machine) the
event loop answered nobody, whatever thread wrote it. Oracles: ``json.dumps(payload,
allow_nan=False, separators=(",", ":"))``, the one call the answers were, byte for byte; the
C encoder's calls counted between the event loop's turns; and a small request answered in full
while the large answer is half written."""

from __future__ import annotations

import contextvars
import json
import math
import threading

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette", reason="the [app] extra is not installed")
httpx = pytest.importorskip("httpx")

from chainrule.web import api, create_app  # noqa: E402
from chainrule.web import network as net  # noqa: E402
from chainrule.web.derivation import derivation_json  # noqa: E402

LOCAL = "http://127.0.0.1"
JSON = {"content-type": "application/json"}


def one_call(payload) -> str:
    """What the server answered before: the whole body in one call of json.dumps."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


@pytest.fixture(scope="module")
def large():
    """A 64-64-10 network and its derivation, 1.4 MB of JSON (over 20 pieces)."""
    state = net.random_state([64, 64, 10], "logistic", "logistic", "squared-error", 3, 0.5, None)
    payload = derivation_json(state)
    assert len(one_call(payload)) > 1_000_000
    return state, payload


@pytest.fixture(scope="module")
def portal():
    """An event loop in a thread of its own, kept for the module (one per call is slower)."""
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


def answered(payload, status: int = 200):
    return anyio.run(api.json_answer, payload, status)


# -- (1) the same bytes -------------------------------------------------------------------------

keys = st.text(max_size=8) | st.integers() | st.booleans() | st.none() | st.floats()
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # NaN and infinities too: refused as one call refuses them
    | st.text(max_size=40)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(keys, inner, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None)
@given(payload=values, piece=st.sampled_from([1, 7, 40, 200, 2000]))
def test_the_pieces_are_the_one_call_byte_for_byte(portal, payload, piece):
    """With pieces of ``piece`` bytes (the server's are 64 KiB), so that small values are cut
    everywhere: in lists, dicts (number keys written quoted, as json.dumps writes them), long
    strings and deep nesting; a NaN or an infinity anywhere is a ValueError as in one call."""
    try:
        expected = one_call(payload)
    except ValueError:
        expected = ValueError
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "PIECE", piece)
        try:
            got = portal.call(api.encode_json, payload)
        except ValueError:
            got = ValueError
        answer = portal.call(api.json_answer, payload)
    assert got == expected
    if expected is ValueError:
        assert answer.status_code == 422
        assert json.loads(answer.body) == {"error": api.NOT_FINITE}
    else:
        assert (answer.status_code, answer.body) == (200, expected.encode())


def test_a_derivation_in_pieces_is_the_one_call_byte_for_byte(large):
    _, payload = large
    answer = answered(payload, 200)
    assert answer.status_code == 200
    assert answer.body == one_call(payload).encode()
    assert answer.headers["content-type"] == "application/json"


def test_a_nan_in_the_last_number_of_a_large_answer_is_the_422_not_half_an_answer(large):
    _, payload = large
    spoiled = {**payload, "connections": [*payload["connections"], {"last": [0.5, math.nan]}]}
    answer = answered(spoiled)
    assert answer.status_code == 422
    assert answer.body == api.json_response(spoiled).body  # the refusal of the one call


# -- (2) the event loop's turns ---------------------------------------------------------------


def written_between_turns(payload) -> list[list[int]]:
    """Answer ``payload`` beside a task that notes each turn of the event loop it gets; the
    lengths of what json.dumps wrote, grouped by the turns they fell between."""
    writes: list[list[int]] = [[]]
    dumps = json.dumps

    def counted(*args, **kwargs):
        text = dumps(*args, **kwargs)
        writes[-1].append(len(text))
        return text

    async def main():
        done = False

        async def turns():
            while not done:
                writes.append([])
                await anyio.sleep(0)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(turns)
            await anyio.sleep(0)  # its first turn
            writes.append([])
            await api.json_answer(payload)
            done = True

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json, "dumps", counted)
        anyio.run(main)
    return [group for group in writes if group]


def test_a_large_answer_gives_the_loop_a_turn_every_piece(large):
    _, payload = large
    size = len(one_call(payload))
    groups = written_between_turns(payload)
    assert sum(map(sum, groups)) >= size  # every byte written by json.dumps, plus the keys
    assert len(groups) >= size // api.PIECE  # 1.4 MB: at least 21 turns
    assert max(max(group) for group in groups) <= api.PIECE  # no call writes more than a piece
    assert max(map(sum, groups)) <= 3 * api.PIECE // 2  # nor much more between two turns


def test_a_small_answer_is_one_call_and_takes_no_turn():
    payload = {"losses": net.page_losses()}
    assert written_between_turns(payload) == [[len(one_call(payload))]]


# -- (3) through the app: a small request answered while a large one is written -------------

#: Set in the large request's task (and what it runs): its writes are told from the small one's.
IN_LARGE = contextvars.ContextVar("in_large", default=False)


def test_a_small_request_is_answered_while_a_large_answer_is_written(large, monkeypatch):
    """A student's /api/losses sent once the 1.4 MB derivation's answer has begun to be written
    is answered before that answer is written in full. To make the order certain, the large
    request's turns of the loop wait (``anyio.sleep`` wrapped) until the small request is
    answered: in one call of json.dumps there is no turn to wait in, and the small request
    found the large answer written in full."""
    state, payload = large
    body = json.dumps({"network": state.to_json()}).encode()
    loop_thread = []
    written = {"large": 0, "when the small one was answered": None}
    began, small_answered = anyio.Event(), anyio.Event()
    dumps, sleep = json.dumps, anyio.sleep

    def counted(*args, **kwargs):
        text = dumps(*args, **kwargs)
        if IN_LARGE.get() and threading.get_ident() == loop_thread[0]:  # not its worker thread
            written["large"] += len(text)
            began.set()
        return text

    async def held(delay):
        if IN_LARGE.get() and written["large"] and not small_answered.is_set():
            await small_answered.wait()
        await sleep(delay)

    monkeypatch.setattr(json, "dumps", counted)
    monkeypatch.setattr(anyio, "sleep", held)
    answers = {}

    async def main():
        loop_thread.append(threading.get_ident())
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL) as client:

            async def large_request():
                IN_LARGE.set(True)
                answers["large"] = await client.post("/api/derivation", content=body, headers=JSON)

            with anyio.fail_after(120):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(large_request)
                    await began.wait()
                    answers["small"] = await client.get("/api/losses")
                    written["when the small one was answered"] = written["large"]
                    small_answered.set()

    anyio.run(main)
    assert answers["small"].status_code == 200
    assert answers["small"].json() == {"losses": net.page_losses()}
    assert answers["large"].status_code == 200
    assert answers["large"].content == one_call(payload).encode()
    assert 0 < written["when the small one was answered"] < len(answers["large"].content)
