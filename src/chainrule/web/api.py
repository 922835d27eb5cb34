"""The explorer's JSON API: every number the page shows comes from one of these endpoints.

Each endpoint is declared once in :data:`ENDPOINTS` with its request and response models; the
routes and the OpenAPI document (``/openapi.json``) are both built from that table, so the
documentation cannot drift from what is served. Request bodies are read with a hard size cap
(Content-Length is checked first, then the bytes actually received), parsed and validated by
pydantic (unknown fields, NaN, Infinity and wrong shapes are 422s naming the field), and the
handlers run in a worker thread. Their answers are written as JSON in the event loop, a large
one in pieces with other requests answered between them (:func:`json_answer`): the 8 MB
derivation of the largest network took 0.3 to 1.6 s in one call (by the machine's load),
during which the server answered nobody. A user's mistake is a 4xx with ``{"error": message}``.

A POST must say ``Content-Type: application/json`` (else 415): the form and text bodies any web
page may send cross-site without asking are refused. Only ``POST /api/train/start`` creates a
browser session (a documented 503, with ``Retry-After``, while the server keeps as many as it
may and each is in use); the other training endpoints use the cookie's session if there is one. A
session's requests run one at a time, at most a few waiting (429 beyond), and no request may
ask for more than a bounded amount of computation (gradient checks and training steps are
sized before they run).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field, RootModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chainrule.errors import UserError, counted
from chainrule.web import network as net
from chainrule.web import schemas as s
from chainrule.web.derivation import NotFinite, derivation_json, render
from chainrule.web.sessions import (
    RUN_IDS_REMEMBERED,
    BrowserSession,
    SessionStore,
    cookie_name,
    cookie_path,
)
from chainrule.web.training import page_datasets, page_optimizers, start_run

#: The refusal of a result whose numbers overflowed (JSON has no inf or NaN).
NOT_FINITE = "the result is not finite (the numbers overflowed); use smaller ones"


#: The status of a request not run because its browser went away while it waited (nginx's
#: "client closed request"; nobody reads the answer, but the access log shows it).
CLIENT_GONE = 499


class HTTPProblem(Exception):
    """A request the API refuses, with its status code and a message for the user."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers


#: The most bytes of JSON one call of json.dumps writes for an answer (as :func:`_size` counts
#: them), the event loop getting a turn after each half of that or more: json.dumps' C encoder
#: holds the GIL as it writes, so while it writes the server answers nobody (in a worker thread
#: too). 64 KiB of a derivation take 2 to 4 ms: the 8 MB derivation of the largest network is
#: written in 140-odd turns a median 4 ms apart (on a loaded 2-core machine), not in one call
#: of 0.3 to 1.6 s. Smaller pieces would add Python's work per piece for no pause a page shows.
PIECE = 64 * 1024


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def json_response(payload: Any, status: int = 200) -> Response:
    """Strict JSON (no NaN or Infinity, which browsers' JSON.parse rejects), written at once: a
    NaN or an infinity anywhere is the 422 :data:`NOT_FINITE` instead. The notebook widget's
    check calls it; the server answers with :func:`json_answer`, which calls it for answers of
    at most :data:`PIECE` bytes (nearly all of them)."""
    try:
        body = _dumps(payload)
    except ValueError:
        return problem_response(HTTPProblem(422, NOT_FINITE))
    return Response(body, status_code=status, media_type="application/json")


async def json_answer(payload: Any, status: int = 200) -> Response:
    """:func:`json_response`'s answer, byte for byte, without stopping the server: an answer over
    :data:`PIECE` bytes is written in pieces by :func:`encode_json`, other browsers' requests
    answered between them. The whole body is written before any of it is sent, so a NaN in its
    last number is still the 422, not half an answer."""
    if _size(payload, PIECE) <= PIECE:
        return json_response(payload, status)
    try:
        body = await encode_json(payload)
    except ValueError:
        return problem_response(HTTPProblem(422, NOT_FINITE))
    return Response(body, status_code=status, media_type="application/json")


async def encode_json(payload: Any) -> str:
    """``json.dumps(payload, allow_nan=False, separators=(",", ":"))``, written in the event loop
    in pieces of at most about :data:`PIECE` bytes, each one call of the C encoder (a batch of a
    dict's or a list's members; their keys and brackets between batches), the loop given a turn
    (``anyio.sleep(0)``) once half of that or more is written: the server goes on answering
    while the 8 MB derivation is written. Raises json.dumps' ValueError (a NaN or an infinity)
    and TypeError."""
    parts: list[str] = []
    written = 0
    for part in _pieces(payload):
        parts.append(part)
        written += len(part)
        if written >= PIECE // 2:  # a batch more would be over PIECE: the loop's turn first
            await anyio.sleep(0)
            written = 0
    return "".join(parts)


def _pieces(value: Any, large: bool = False) -> Iterator[str]:
    """``value``'s strict JSON in pieces: all of it at once if it is at most :data:`PIECE` bytes
    (:func:`_size`; ``large``: known not to be); else a dict's or a list's members in batches of
    at most that, a member larger than that in pieces of its own, and a long string in slices
    (JSON escapes each character on its own, so a slice is written as it is in the whole)."""
    if not large and _size(value, PIECE) <= PIECE:
        yield _dumps(value)
    elif isinstance(value, str):
        step = max(1, PIECE // 6)  # a character: at most 6 bytes of JSON (\u00e9)
        yield '"'
        for start in range(0, len(value), step):
            yield _dumps(value[start : start + step])[1:-1]
        yield '"'
    elif isinstance(value, dict):
        yield from _members(list(value.items()), keyed=True)
    elif isinstance(value, (list, tuple)):
        yield from _members(list(value), keyed=False)
    else:  # a number: nothing to split
        yield _dumps(value)


def _members(members: list, keyed: bool) -> Iterator[str]:
    """A dict's items (``keyed``) or a list's items, as :func:`_pieces` writes them."""
    yield "{" if keyed else "["
    comma = ""
    start, used = 0, 0  # the batch members[start:index], and its size
    for index, member in enumerate(members):
        size = _size(member, PIECE)  # a (key, value) pair: a few bytes more than written
        if used + size <= PIECE:
            used += size
            continue
        if start < index:
            yield comma + _batch(members[start:index], keyed)
            comma = ","
        if size <= PIECE:  # the next batch begins with it
            start, used = index, size
            continue
        if keyed:  # its key, as json.dumps writes it ("1" for 1, "true" for True)
            key, member = member
            yield comma + _dumps({key: 0})[1:-2]
        else:
            yield comma
        yield from _pieces(member, large=True)
        comma = ","
        start, used = index + 1, 0
    if start < len(members):
        yield comma + _batch(members[start:], keyed)
    yield "}" if keyed else "]"


def _batch(members: list, keyed: bool) -> str:
    """A dict's items or a list's items written in one call, without the brackets."""
    return _dumps(dict(members) if keyed else members)[1:-1]


#: The most bytes of JSON a float is written as (-2.2250738585072014e-308), a boolean or null.
_FLOAT = 24
_SCALARS = {float: _FLOAT, bool: 5, type(None): 4}


def _size(value: Any, limit: int, scalar=_SCALARS.get) -> int:
    """An upper bound of the length of ``value``'s JSON, for numbers, booleans, null and text
    JSON does not escape (a character beyond ASCII counted as the 6 bytes of ``\\u00e9``; text
    with quotes or control characters, which JSON escapes, may be longer). Once it is over
    ``limit`` the walk stops, returning some number over ``limit``: so it costs no more than
    walking ``limit`` bytes' worth, in Python, at about half of what json.dumps takes to write
    them."""
    kind = type(value)
    if kind is dict:
        total = 1
        for key, item in value.items():
            size = scalar(type(item))
            if size is None:
                size = _size(item, limit - total)
            if type(key) is str and key.isascii():
                total += size + len(key) + 4  # "key": and a comma
            else:  # a key that is a number is written quoted
                total += size + _size(key, limit) + 4
            if total > limit:
                return total
        return total + 1
    if kind is list:
        total = 1
        for item in value:
            size = scalar(type(item))
            total += (_size(item, limit - total) if size is None else size) + 1
            if total > limit:
                return total
        return total + 1
    size = scalar(kind)
    if size is not None:
        return size
    if kind is str:
        return len(value) + 2 if value.isascii() else 6 * len(value) + 2
    if isinstance(value, int):
        return value.bit_length() * 78 // 256 + 2  # its digits (log10(2) < 78/256), a sign
    if isinstance(value, dict):
        return _size(dict(value), limit)
    if isinstance(value, (list, tuple)):
        return _size(list(value), limit)
    return _FLOAT  # another kind of leaf: json.dumps says what it makes of it


def problem_response(problem: HTTPProblem) -> Response:
    """The error body every refusal uses: ``{"error": ..., "details": [...]}``."""
    payload: dict[str, Any] = {"error": problem.message}
    if problem.details is not None:
        payload["details"] = problem.details
    return Response(
        json.dumps(payload, default=str),
        status_code=problem.status,
        media_type="application/json",
        headers=problem.headers,
    )


def require_json(request: Request, body: bytes, takes_body: bool) -> None:
    """Refuse (415) a POST whose Content-Type is not ``application/json``: text, form and
    multipart bodies are what any web page can send cross-site without a preflight. Only an
    empty POST to an endpoint that takes no body may leave the Content-Type out."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type and not body and not takes_body:
        return
    if media_type != "application/json":
        shown = f"{media_type!r}" if media_type else "none"
        raise HTTPProblem(415, f"Content-Type must be application/json (got {shown})")


async def read_body(request: Request, limit: int = s.MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than ``limit`` bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):  # "²" is a digit to isdigit
            raise HTTPProblem(400, f"Content-Length {declared!r} is not a number of bytes")
        if int(declared) > limit:
            raise HTTPProblem(
                413, f"request body of {declared} bytes is over the {limit}-byte limit"
            )
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise HTTPProblem(413, f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def in_words(error: dict, loc: tuple, message: str) -> str:
    """A layer size or a count of layers out of bounds said with the limits ("200 units is too
    many for a layer: a layer has 1 to 128 units"), where pydantic's message ("Input should be
    less than or equal to 128") left a student on a touch screen, who never sees the page's
    tooltips, to guess what the bound was of; any other ``message`` as it is."""
    field = next((part for part in reversed(loc) if isinstance(part, str)), None)
    if field not in ("sizes", "hidden"):
        return message
    kind = error["type"]
    each = f"a layer has 1 to {s.MAX_UNITS} units"
    if kind in ("less_than_equal", "greater_than_equal") and isinstance(loc[-1], int):
        much = "many" if kind == "less_than_equal" else "few"
        return f"{error['input']} units is too {much} for a layer: {each}"
    if kind in ("too_long", "too_short") and loc[-1] == field:
        n = error["ctx"]["actual_length"]
        if field == "sizes":
            layers = f"{n} layer{'' if n == 1 else 's'}"
            return f"{layers}: a network has 2 to {s.MAX_LAYERS} layers, input first, and {each}"
        return (
            f"{n} hidden layers: at most {s.MAX_LAYERS - 2} (with the dataset's input and "
            f"output layers, {s.MAX_LAYERS} in all), and {each}"
        )
    return message


#: The most wrong fields a 422's message names (then a count) and its ``details`` lists: a
#: 1 MiB body of 262,000 wrong numbers took 2 to 20 s to describe, in the event loop, in a
#: 27 MB answer.
NAMED_IN_MESSAGE = 5
LISTED_IN_DETAILS = 100


def validation_problem(error: ValidationError) -> HTTPProblem:
    """A 422 whose message lists each wrong field and why (at most :data:`NAMED_IN_MESSAGE`,
    then a count), and whose ``details`` has the first :data:`LISTED_IN_DETAILS` of them."""
    count = error.error_count()
    errors = error.errors(include_url=False)[:LISTED_IN_DETAILS]  # in_words says input, bounds
    lines = []
    for e in errors[:NAMED_IN_MESSAGE]:
        loc, message = s.located(e)  # a check of the whole network: network.target, say
        if e["type"] == "json_invalid":
            lines.append(f"body is not valid JSON: {message}")
        elif loc:
            lines.append(f"{s.where(loc)}: {in_words(e, loc, message)}")
        else:  # a check of the whole request: its message says what is wrong
            lines.append(message)
    more = count - len(lines)
    shown = "; ".join(lines) + (f"; and {more} more" if more else "")
    details = [
        {"loc": s.where(tuple(e["loc"])) or "body", "msg": e["msg"], "type": e["type"]}
        for e in errors
    ]
    return HTTPProblem(422, f"invalid request: {shown}", details)


# -- handlers: plain functions of a validated body (and the browser's session) ---------------------


def _state(network: s.Network) -> net.NetworkState:
    return net.NetworkState.from_json(network.model_dump())


def seed(_: None, __: BrowserSession) -> dict:
    """The lecture's seed network."""
    return net.seed_state().to_json()


def new_network(body: s.NewNetworkRequest, _: BrowserSession) -> dict:
    """Fresh random weights for the given sizes (checked by :class:`s.NewNetworkRequest`)."""
    state = net.random_state(
        body.sizes, body.activation, body.output, body.loss, body.seed, body.init_range,
        body.reduction, body.loss_options,
    )  # fmt: skip
    return state.to_json()


def backward(body: s.NetworkRequest, _: BrowserSession) -> dict:
    """Forward and backward pass: every unit's z, y, dE/dz, dE/dy; dE/dw, dE/db; E."""
    return net.run(_state(body.network))


def paths(body: s.UnitRequest, _: BrowserSession) -> dict:
    """dE/dy_i split into its paths i -> j, with a finite-difference check."""
    return net.paths(_state(body.network), body.layer, body.unit)


def nudge(body: s.NudgeRequest, _: BrowserSession) -> dict:
    """Move y_i by eps: predicted change per path against the measured change in E."""
    return net.nudge(_state(body.network), body.layer, body.unit, body.eps)


def views(body: s.UnitRequest, _: BrowserSession) -> dict:
    """dE/dy_i as Hinton's sum, a row of the matrix form and the graph's fan-out node."""
    return net.views(_state(body.network), body.layer, body.unit)


def bug(body: s.BugRequest, _: BrowserSession) -> dict:
    """A teaching bug's wrong gradients beside the right ones and the check that catches them."""
    return net.bug(_state(body.network), body.bug)


def gradcheck(body: s.NetworkRequest, _: BrowserSession) -> dict:
    """Every derivative of E against central differences."""
    return net.gradient_check(_state(body.network))


def derivation(body: s.DerivationRequest, _: BrowserSession) -> dict:
    """The explainer's derivation of the backward pass (its documented JSON)."""
    return derivation_json(_state(body.network), body.focus)


def export(body: s.ExportRequest, _: BrowserSession) -> dict:
    """The derivation rendered as Markdown or LaTeX, by the explainer's renderers."""
    try:
        text = render(_state(body.network), body.format, body.focus)
    except NotFinite:
        raise HTTPProblem(422, NOT_FINITE) from None
    return {"format": body.format, "text": text}


def losses(_: None, __: BrowserSession) -> dict:
    """The losses the page offers, and what each needs (its top units, targets in [0, 1])."""
    return {"losses": net.page_losses()}


def units(_: None, __: BrowserSession) -> dict:
    """The hidden and top units the page offers."""
    return net.page_units()


def datasets(_: None, __: BrowserSession) -> dict:
    """The datasets a training run can use, with the Train tab's defaults for each."""
    return {"datasets": page_datasets()}


def optimizers(_: None, __: BrowserSession) -> dict:
    """The optimizers a training run can use: the library optimizer and settings of each."""
    return {"optimizers": page_optimizers()}


def bugs(_: None, __: BrowserSession) -> dict:
    """The teaching bugs the page offers, each with what it does wrong."""
    return {"bugs": net.page_bugs()}


def train_start(body: s.TrainStartRequest, session: BrowserSession) -> dict:
    """Start this browser's training run (replacing its previous one), under a new run id."""
    session.start_training(start_run(**body.model_dump()))
    return _run_json(session)


def _run_json(session: BrowserSession) -> dict:
    """The session's run as it is, with its id (``run``)."""
    return {**session.training.to_json(), "run": session.run_id}


#: The refusal of a training request with no run to act on (409). The page reads its first words
#: ("no training run") as "the run is gone": it then clears the run it shows (app.js trainStep).
NO_RUN = "no training run for this session: "
#: Why a session has none. The same handlers serve the notebook widget (one run per view), so
#: this says nothing only a server would: both keep the most recently used runs and forget the
#: oldest when another starts (the widget's views); the server says how many it keeps and how
#: to keep more instead (:func:`no_session_on_server`).
NO_RUN_WHY = (
    "none was started, or it was forgotten (only the most recently used runs are kept: when "
    "another starts, the oldest is forgotten)"
)
START_AGAIN = "; press Start (POST /api/train/start) to begin again"

#: The refusal of a step for a run the session no longer has (409): another tab of the same
#: browser (its cookie, its session) started a run since. The page reads its first words as
#: "the run it started is gone", as it reads NO_RUN (app.js trainStep).
REPLACED = "training run replaced: "


#: The refusal of a step naming a run id this session never issued (409): not a run another tab
#: replaced (:data:`REPLACED`), a request that names no run of this browser's.
NO_SUCH_RUN = "no run "


class NoSession(HTTPProblem):
    """The 409 of a training request with no session (no cookie, or its session unknown):
    :data:`NO_RUN_WHY` as the handlers say it; the server says instead which of its reasons it
    is (:func:`no_session_on_server`)."""


def no_session_on_server(store: SessionStore, token: str | None) -> str:
    """:class:`NoSession`'s message as the server gives it, for the session cookie ``token``.
    With none, or one naming a session the store forgot to make room for others: the store's
    size, its idle time and the option that raises it. With one the store never gave out,
    which a browser keeps from before the server was restarted (a restart forgets every run:
    they live in its memory only): that, not ``--max-sessions``."""
    if token is None or store.forgot(token):
        why = (
            f"none was started, or it was forgotten ({store.kept()}; whoever started the "
            "server can keep more with chainrule serve --max-sessions N)"
        )
    else:
        why = (
            "this server does not know this browser's session: it was restarted since the run "
            "was started (it keeps runs in memory only, so a restart forgets them all), or the "
            "browser's session cookie came from another chainrule server at this address (one "
            "run on this port before), or the session was forgotten long ago"
        )
    return f"{NO_RUN}{why}{START_AGAIN}"


def _run_of(session: BrowserSession | None):
    """The session's training run, or a 409 saying why there is none and what to do."""
    if session is None:  # no cookie, or its session was forgotten to make room for newer runs
        raise NoSession(409, NO_RUN + NO_RUN_WHY + START_AGAIN)
    if session.training is None:  # kept, with no run: its start was refused, or it was reset
        raise HTTPProblem(409, NO_RUN + "none was started, or it was reset" + START_AGAIN)
    return session.training


def train_step(body: s.TrainStepRequest, session: BrowserSession | None) -> dict:
    """Take optimizer steps on this browser's run (the run ``body.run`` names, where it names
    one); returns its state."""
    run = _run_of(session)
    if body.run is not None and body.run not in session.issued:
        raise HTTPProblem(
            409,
            f"{NO_SUCH_RUN}{body.run} in this session (none of the last "
            f"{RUN_IDS_REMEMBERED} runs it started had that id): its run is {session.run_id}; "
            "step it by the `run` POST /api/train/start answered, or leave `run` out",
        )
    if body.run is not None and body.run != session.run_id:
        raise HTTPProblem(
            409,
            f"{REPLACED}the run this page started ({body.run}) was replaced by run "
            f"{session.run_id}, started since in this browser (its other tabs and windows share "
            "one training run), which goes on there; press Start (POST /api/train/start) to "
            "begin again here",
        )
    _check_step_work(run, body.steps)
    for taken in range(body.steps):
        try:
            run.step()
        except UserError as error:
            if not taken:
                raise
            raise UserError(  # the steps before it stand: say so, and where the run is
                f"{error} The {counted(taken, 'step')} before it in this request were "
                f"taken: the run is at step {run.step_count}."
            ) from None
    return _run_json(session)


def _check_step_work(run: Any, steps: int) -> None:
    """Bound one request's computation: steps x cases per step x weights."""
    rows = len(run.X) if run.batch_size is None else min(run.batch_size, len(run.X))
    weights = sum(p.data.size for p in run.model.parameters())
    per_step = max(1, rows * weights)
    if steps * per_step > s.MAX_STEP_WORK:
        most = max(1, s.MAX_STEP_WORK // per_step)
        raise HTTPProblem(
            422,
            f"steps: at most {most} steps per request for this run ({weights} weights, {rows} "
            "cases per step); ask again for more",
        )


def train_state(_: None, session: BrowserSession | None) -> dict:
    """This browser's run as it is."""
    _run_of(session)
    return _run_json(session)


class NoTrainingRun(BaseModel):
    """GET /api/train/state's answer where this browser has no run and lost none: it never
    started one on this server (it sends no session cookie), or it reset its run. A run the
    server lost (restarted since, or forgot it for newer browsers) is a 409 instead."""

    run: None = Field(description="null: this browser has no training run here.")
    message: str = Field(description="Why, and how to start one.")


class TrainStateOrNone(RootModel[s.TrainState | NoTrainingRun]):
    """A browser's training run, or NoTrainingRun where it has none to show."""


def train_state_or_none(_: None, session: BrowserSession | None) -> dict:
    """``GET /api/train/state`` as the server answers a browser that lost no run (``session``
    None: it sent no cookie): its run, or :class:`NoTrainingRun` (200). The page asks at each
    load, and a new browser is no error (it was a 409 per student per load). The notebook's
    kernel answers :func:`train_state` (a view's front end never asks for its run)."""
    if session is None:
        why = "none was started in this browser"
    elif session.training is None:
        why = "none was started, or it was reset"
    else:
        return _run_json(session)
    return {"run": None, "message": f"{NO_RUN}{why}{START_AGAIN}"}


def train_reset(_: None, session: BrowserSession | None) -> dict:
    """Forget this browser's run."""
    return {"reset": session is not None and session.reset_training()}


@dataclass(frozen=True)
class Endpoint:
    """One API route: its handler, request and response models, and its documentation."""

    path: str
    method: str
    handler: Callable[[Any, BrowserSession | None], dict]
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    summary: str
    #: "none": needs no session; "existing": the cookie's session if any; "create": makes one.
    session: Literal["none", "existing", "create"] = "none"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/api/seed", "GET", seed, None, None, "The seed network (2 units i -> 3 units j)."),
    Endpoint("/api/losses", "GET", losses, None, s.LossesResponse,
             "The losses the page offers: each one's top units and whether its targets lie "
             "in [0, 1]."),
    Endpoint("/api/units", "GET", units, None, s.UnitsResponse,
             "The hidden and top units the page offers."),
    Endpoint("/api/network/new", "POST", new_network, s.NewNetworkRequest, None,
             "A network of the given sizes with fresh random weights."),
    Endpoint("/api/backward", "POST", backward, s.NetworkRequest, s.PassResponse,
             "Forward and backward pass: z, y, dE/dz, dE/dy per unit; dE/dw, dE/db; E."),
    Endpoint("/api/paths", "POST", paths, s.UnitRequest, s.PathsResponse,
             "dE/dy_i split into its paths i -> j (w_ij dE/dz_j), with a finite difference."),
    Endpoint("/api/nudge", "POST", nudge, s.NudgeRequest, s.NudgeResponse,
             "Nudge y_i by eps: predicted change of E per path against the measured change."),
    Endpoint("/api/views", "POST", views, s.UnitRequest, None,
             "dE/dy_i in three views: Hinton's sum, a row of dE/dy = W dE/dz, the graph's node."),
    Endpoint("/api/bugs", "GET", bugs, None, s.BugsResponse,
             "The teaching bugs the page offers, each with what it does wrong."),
    Endpoint("/api/bug", "POST", bug, s.BugRequest, None,
             "A teaching bug's wrong gradients beside the right ones and their checks."),
    Endpoint("/api/gradcheck", "POST", gradcheck, s.GradcheckRequest, s.GradcheckResponse,
             "Check every derivative of E against central differences (float64)."),
    Endpoint("/api/derivation", "POST", derivation, s.DerivationRequest, None,
             "The explainer's derivation of the backward pass, as its documented JSON."),
    Endpoint("/api/export", "POST", export, s.ExportRequest, s.ExportResponse,
             "The derivation as Markdown or LaTeX (the renderers of `chainrule explain`)."),
    Endpoint("/api/datasets", "GET", datasets, None, s.DatasetsResponse,
             "The datasets training can use, with the hidden sizes and learning rate the page "
             "fills in for each."),
    Endpoint("/api/optimizers", "GET", optimizers, None, s.OptimizersResponse,
             "The optimizers training can use: the library optimizer and settings each name "
             "means."),
    Endpoint("/api/train/start", "POST", train_start, s.TrainStartRequest, s.TrainState,
             "Start this browser session's training run (creates the session).", "create"),
    Endpoint("/api/train/step", "POST", train_step, s.TrainStepRequest, s.TrainState,
             "Take optimizer steps; returns the loss per step and per-layer gradient norms. "
             "A step for a run the session no longer has (`run`: another tab started one "
             "since) is refused (409).", "existing"),
    Endpoint("/api/train/state", "GET", train_state, None, TrainStateOrNone,
             "This browser session's training run; `run: null` where it has none (it started "
             "none, or reset it); 409 where the server lost it (restarted since, or forgot it "
             "for newer browsers).", "existing"),
    Endpoint("/api/train/reset", "POST", train_reset, None, None,
             "Forget this browser session's training run.", "existing"),
)  # fmt: skip


def _endpoint_function(endpoint: Endpoint, store: SessionStore) -> Callable:
    """The starlette endpoint: read and validate the body, find the session, run the handler."""

    async def handle(request: Request) -> Response:
        session, is_new, token = None, False, None
        try:
            body = await read_body(request)
            if endpoint.method == "POST":
                require_json(request, body, endpoint.request is not None)
            payload = await _payload(endpoint, body)
            name = cookie_name(request.scope.get("server"), request.url.scheme)
            token = request.cookies.get(name)
            if endpoint.session == "create":
                session, is_new = store.get_or_create(token)
            elif endpoint.session == "existing":
                session = store.get(token)
            handler = endpoint.handler
            if handler is train_state and (token is None or session is not None):
                handler = train_state_or_none  # no run lost: a 200 saying there is none
            if session is None:
                result = await run_in_threadpool(handler, payload, None)
            else:
                result = await _in_session(session, handler, payload, request)
            response = await json_answer(result)
        except NoSession:
            response = problem_response(HTTPProblem(409, no_session_on_server(store, token)))
        except HTTPProblem as problem:
            response = problem_response(problem)
        except UserError as error:
            response = problem_response(HTTPProblem(422, str(error)))
        if is_new:
            _set_cookie(response, request, name, session.token)
        elif endpoint.session == "existing" and token is not None and session is None:
            # a session this server does not know (restarted since, or forgotten): said once,
            # then the cookie is gone, and the next load is a browser with no run (a 200)
            _set_cookie(response, request, name, None)
        return response

    handle.__name__ = endpoint.handler.__name__
    handle.__doc__ = endpoint.summary
    return handle


def _set_cookie(response: Response, request: Request, name: str, token: str | None) -> None:
    """Give the browser its session cookie ``name`` (one per server: the listening port's,
    :func:`~chainrule.web.sessions.cookie_name`), for the page's own prefix only
    (:func:`~chainrule.web.sessions.cookie_path`), and ``Secure`` where the request came over
    https: its scheme, which uvicorn takes from the ``X-Forwarded-Proto`` of a proxy it trusts
    (127.0.0.1 by default), so the cookie is never sent back over plain http. ``token`` None:
    expire it instead (``Max-Age=0``, the same name and Path)."""
    path = cookie_path(
        request.headers.get("x-forwarded-prefix"), request.scope.get("root_path", "")
    )
    secure = request.url.scheme == "https"
    if token is None:
        response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="strict")
    else:
        response.set_cookie(name, token, path=path, secure=secure, httponly=True, samesite="strict")


async def _payload(endpoint: Endpoint, body: bytes) -> Any:
    if endpoint.request is not None:
        try:
            return endpoint.request.model_validate_json(body or b"{}")
        except ValidationError as error:
            raise validation_problem(error) from None
    if body.strip() not in (b"", b"{}"):
        raise HTTPProblem(422, f"{endpoint.path} takes no request body")
    return None


async def _in_session(
    session: BrowserSession, handler: Callable, payload: Any, request: Request
) -> Any:
    """Run ``handler`` for ``session``, one request of a session at a time. Waiting requests wait
    in the event loop (holding no worker thread); beyond a few waiting, answer 429. A request
    whose browser went away while it waited is not run (a reloading student left up to
    :data:`~chainrule.web.sessions.MAX_QUEUED` training steps computing for nobody); one already
    running finishes, as a thread cannot be stopped."""
    if not session.admit():
        raise HTTPProblem(
            429,
            "this session already has requests waiting; wait for them to finish",
            headers={"Retry-After": "1"},
        )
    try:
        pause = 0.001
        while not session.lock.acquire(blocking=False):
            await anyio.sleep(pause)
            pause = min(2 * pause, 0.02)
        try:
            if await request.is_disconnected():
                raise HTTPProblem(CLIENT_GONE, "the browser left before this request's turn")
            return await run_in_threadpool(handler, payload, session)
        finally:
            session.lock.release()
    finally:
        session.leave()


def routes(store: SessionStore) -> list[Route]:
    """The API's routes, bound to a session store."""
    return [Route(e.path, _endpoint_function(e, store), methods=[e.method]) for e in ENDPOINTS]


def openapi_document(version: str) -> dict:
    """The OpenAPI 3.1 document of :data:`ENDPOINTS`, schemas generated from the models."""
    models = {m for e in ENDPOINTS for m in (e.request, e.response) if m is not None}
    models.add(s.ErrorResponse)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, top = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    schemas = top.get("$defs", {})
    paths: dict[str, dict] = {}
    for e in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.handler.__name__,
            "responses": {
                "200": _content(refs, e.response, "The result."),
                "4XX": _content(refs, s.ErrorResponse, "A bad request; `error` says what."),
            },
        }
        if e.request is not None:
            operation["requestBody"] = {"required": True, **_content(refs, e.request, "")}
            operation["responses"]["413"] = _content(
                refs, s.ErrorResponse, f"Body over {s.MAX_BODY_BYTES} bytes."
            )
            operation["responses"]["422"] = _content(refs, s.ErrorResponse, "Invalid body.")
        if e.method == "POST":
            operation["responses"]["415"] = _content(
                refs, s.ErrorResponse, "Content-Type is not application/json."
            )
        if e.session != "none":
            operation["responses"]["429"] = _content(
                refs, s.ErrorResponse, "This session already has requests waiting."
            )
        if e.session == "create":
            operation["responses"]["503"] = _server_full(refs)
        operation["responses"]["500"] = _content(
            refs, s.ErrorResponse, "A failure no check foresaw (a bug): `error` names it."
        )
        paths.setdefault(e.path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chainrule explorer API",
            "version": version,
            "description": (
                "Every number of the backprop explorer, computed by chainrule. Limits: "
                f"{s.MAX_LAYERS} layers, {s.MAX_UNITS} units per layer, {s.MAX_WEIGHTS} "
                f"connections, bodies of at most "
                f"{s.MAX_BODY_BYTES} bytes, finite numbers of magnitude at most "
                f"{s.MAX_MAGNITUDE:g}; unknown fields are refused."
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _server_full(refs: dict) -> dict:
    """The 503 of a request that would create a session while the server keeps as many as it
    may, each used within its idle time (:class:`~chainrule.web.sessions.SessionsFull`)."""
    return {
        **_content(
            refs,
            s.ErrorResponse,
            "The server is full: it keeps `chainrule serve --max-sessions` browser sessions "
            "and every one was used within `--session-idle` seconds, so no new one is made "
            "(and no run in use is forgotten); `error` says so, and `Retry-After` when the "
            "least recently used session will have been idle long enough to give its place.",
        ),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }


def _content(refs: dict, model: type[BaseModel] | None, description: str) -> dict:
    schema = {"type": "object"} if model is None else refs[(model, "validation")]
    return {"description": description, "content": {"application/json": {"schema": schema}}}
