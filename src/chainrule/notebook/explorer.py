"""The browser explorer inside a notebook: ``cr.explorer(model, (x, t))``.

One front end, two hosts. The widget runs the page's own script (``web/static/app.js``) with a
small notebook host (``widget.js``) in an anywidget; instead of HTTP, each of the page's API
requests comes to the kernel as a message, and is answered by the same endpoint handlers that
serve the page (``chainrule.web.api.ENDPOINTS``), validated by the same request models. The
network it opens on is a view of the user's ``nn.Sequential`` and case (as ``chainrule serve
--model`` shows one; a Sequential inside it is read as its layers, as ``explain`` reads it), or
the lecture's seed network.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.errors import UserError, counted, extras_needed_by
from chainrule.notebook.display import headings_one_level_down

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
#: Views of one widget that keep a training run at once (the least recently used is forgotten
#: first, as ``chainrule serve --max-sessions`` forgets browsers).
MAX_VIEWS = 32


def front_end(live_model: bool = False) -> dict[str, str]:
    """The widget's module (app.js with the notebook host), the page's markup and stylesheet.

    ``live_model``: the widget shows a model of the user's, which lives in the kernel and may
    change while a view shows it; the module says so to app.js (``CHAINRULE_LIVE_MODEL``), whose
    Reset then reads the model again and whose Edit tab's button is "Reload model"."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    body = re.search(r"<body>(.*?)<script", page, re.S)
    box = '<div id="message"'  # the page's message box: the widget's own lines go above it
    if body is None or box not in body.group(1):  # pragma: no cover - the page ships with it
        raise RuntimeError("chainrule explorer: web/static/index.html has no <body> with #message")
    module = "\n".join(
        [
            "const CHAINRULE_WIDGET = true;",
            f"const CHAINRULE_LIVE_MODEL = {'true' if live_model else 'false'};",
            (STATIC / "app.js").read_text(encoding="utf-8"),
            (STATIC / "widget.js").read_text(encoding="utf-8"),
        ]
    )
    # the widget's own lines: the kernel not answered yet (all a saved copy without a kernel
    # ever shows), and for a model's widget the model changed since the view read it
    markup = body.group(1).replace(box, _widget_lines(live_model) + box, 1)
    return {
        "esm": module,
        # a heading of the notebook's page, not its title: an h2 (an h1 per cell read as many pages)
        "markup": headings_one_level_down(markup, deepest=1),
        "style": (STATIC / "style.css").read_text(encoding="utf-8"),
    }


#: What the widget says until the kernel answers it: the page's markup, with no script needed, so
#: a notebook saved with its widgets and shown without a kernel (an HTML export, a docs site)
#: says why the explorer is empty; app.js hides it once the network shows.
WAITING = (
    "chainrule explorer: waiting for the kernel. A saved copy of the notebook (an HTML export, "
    "a docs page) has none: run the notebook (a live kernel) to use it."
)


def _widget_lines(live_model: bool) -> str:
    """The widget's lines above the page's message box: :data:`WAITING`, and for a model's
    widget the note app.js shows while the model differs from what the view read (empty and
    hidden until a reply of the kernel says so)."""
    style = ' style="margin: 6px 14px"'  # the panel's inset (the page's .note is for its panel)
    lines = [f'<p id="kernel-wait" class="note" role="status"{style}>{WAITING}</p>']
    if live_model:
        lines.append(f'<p id="model-changed" class="note" role="status"{style} hidden></p>')
    return "".join(lines)


class Explorer:
    """The kernel's side of the widget: it answers the front end's API requests.

    ``answer({"id", "path", "body"})`` returns ``{"id", "ok": True, "data"}`` or ``{"id", "ok":
    False, "error"}``, the same data and error messages as the HTTP API gives the page. It never
    raises: an unexpected exception (a bug) is an ``"error"`` reply too, so the front end is
    never left waiting.

    Each view of the widget has its own training run, as each browser has on the server: a
    view's request ids are ``"VIEW:N"`` (widget.js), and the run is kept under ``VIEW`` (at most
    :data:`MAX_VIEWS` views' runs, the least recently used forgotten first). An id without a
    view is the ``""`` view's.

    On a user's model (``reread``: the network read from it again; ``weights``: its weights
    now), the first ``/api/seed`` is answered with ``start``, the model as it was when the
    widget was made: under Run All a view asks only once the cells queued after it have run
    (a training cell), and it shows what its own cell saw. Each later one (another view
    opening, a Reset, Reload model) reads the model again, as it is then. Every reply to a view
    that read the model then says whether the model's weights changed since
    (``"model_changed"``), which the view says in a note; compared as the request is answered,
    never polled.
    """

    def __init__(self, start: dict | None = None, reread: Any = None, weights: Any = None) -> None:
        from chainrule.web import api

        self._api = api
        self._endpoints = {e.path: e for e in api.ENDPOINTS}
        #: the network as the widget was made: its first view's (on a model, the snapshot)
        self.start = start if start is not None else api.seed(None, None)
        #: the network read again from the user's model (``start_network``), for each view
        #: opened after the first and each reset: the model as it is then, trained or edited since
        self._reread = reread
        #: the model's weights now (:func:`model_weights`), to compare with what a view read
        self._weights = weights
        self._start_weights = None if weights is None else weights()
        self._start_given = False  # whether a view got ``start`` yet (the first /api/seed)
        self._read: OrderedDict[str, Any] = OrderedDict()  # view -> the weights it read
        self.sessions: OrderedDict[str, Any] = OrderedDict()  # view -> its BrowserSession

    def session(self, endpoint: Any, request_id: Any) -> Any:
        """The training session of the view that sent ``request_id`` ("VIEW:N") for ``endpoint``,
        as the server finds a browser's: made by the request that starts a run, found (or None)
        for the other training requests, None for a request that needs none."""
        from chainrule.web.sessions import BrowserSession

        if endpoint.session == "none":
            return None
        view = view_of(request_id)
        if view in self.sessions:
            self.sessions.move_to_end(view)
        elif endpoint.session == "create":
            while len(self.sessions) >= MAX_VIEWS:
                self.sessions.popitem(last=False)
            self.sessions[view] = BrowserSession(token=f"notebook view {view}")
        return self.sessions.get(view)

    def answer(self, message: Any) -> dict:
        """The reply to one request from the front end; on a model, with ``"model_changed"``
        where the view that sent it read the model (see the class)."""
        reply = self._reply(message)
        request_id = message.get("id") if isinstance(message, dict) else None
        changed = self.model_changed(view_of(request_id))
        if changed is not None:
            reply["model_changed"] = changed
        return reply

    def _reply(self, message: Any) -> dict:
        from pydantic import ValidationError

        api = self._api
        request_id = message.get("id") if isinstance(message, dict) else None
        try:
            if not isinstance(message, dict) or not isinstance(message.get("path"), str):
                raise api.HTTPProblem(400, "explorer: a request is {id, path, body}")
            path, body = message["path"], message.get("body")
            endpoint = self._endpoints.get(path)
            if endpoint is None:
                raise api.HTTPProblem(404, f"explorer: no API path {path!r}")
            if endpoint.request is None and body not in (None, {}):  # /api/seed too
                raise api.HTTPProblem(422, f"{path} takes no request body")
            if path == "/api/seed":
                return {"id": request_id, "ok": True, "data": self._seed(view_of(request_id))}
            payload = None
            if endpoint.request is not None:
                try:
                    if isinstance(body, dict) or body is None:
                        payload = endpoint.request.model_validate(body or {})
                    else:  # read as the server reads it, so the message is the server's
                        payload = endpoint.request.model_validate_json(json.dumps(body))
                except ValidationError as error:
                    raise api.validation_problem(error) from None
            data = endpoint.handler(payload, self.session(endpoint, request_id))
            self.check_sendable(data)
        except api.HTTPProblem as problem:
            return {"id": request_id, "ok": False, "error": problem.message}
        except UserError as error:
            return {"id": request_id, "ok": False, "error": str(error)}
        except Exception as error:  # a bug: the front end still gets its reply, never silence
            return {"id": request_id, "ok": False, "error": unexpected_error(message, error)}
        return {"id": request_id, "ok": True, "data": data}

    def _seed(self, view: str) -> dict:
        """The network ``/api/seed`` answers ``view`` (see the class), a copy: a caller changing
        a reply changes no later one. What a view of a model read is kept under the view."""
        if self._reread is None or not self._start_given:
            self._start_given = True
            network, weights = copy.deepcopy(self.start), self._start_weights
        else:
            network, weights = self._reread_model(), self._weights()
        if self._weights is not None:
            self._read[view] = weights
            self._read.move_to_end(view)
            while len(self._read) > MAX_VIEWS:
                self._read.popitem(last=False)
        return network

    def model_changed(self, view: str) -> bool | None:
        """Whether the model's weights differ now from what ``view`` read of it (its last
        ``/api/seed``); None where it read none (a widget on the seed network, a view before its
        first answer or forgotten). A model that no longer reads as a network has changed."""
        read = self._read.get(view)
        if read is None:
            return None
        try:
            now = self._weights()
        except Exception:  # changed so that it no longer reads: /api/seed says how
            return True
        return len(now) != len(read) or not all(
            a.shape == b.shape and np.array_equal(a, b, equal_nan=True) for a, b in zip(now, read)
        )

    def _reread_model(self) -> dict:
        """The user's model read again. It read as a network when the widget was made: one
        that no longer does was changed by its user since (a weight of another shape set on
        its ``.data``), which is said as such, not as a bug of chainrule's."""
        try:
            return self._reread()
        except UserError:
            raise
        except Exception as error:
            raise UserError(
                f"explorer: the model no longer reads as the network the widget was made on, "
                f"changed since ({type(error).__name__}: {error}); fix it, or make a new "
                "explorer"
            ) from None

    def check_sendable(self, data: Any) -> None:
        """Refuse a handler's result as the HTTP host does (``api.json_response``): no inf or NaN
        goes to the page ("the numbers overflowed"), the same problem and message."""
        response = self._api.json_response(data)
        if response.status_code != 200:
            raise self._api.HTTPProblem(response.status_code, json.loads(response.body)["error"])


def view_of(request_id: Any) -> str:
    """The view a request id ``"VIEW:N"`` comes from (widget.js numbers them so); ``""`` for
    an id without one."""
    return request_id.rpartition(":")[0] if isinstance(request_id, str) else ""


def model_weights(model: Any) -> list[np.ndarray]:
    """A copy of the numbers of ``model``'s weights and biases, read as the explorer reads the
    model (:func:`chainrule.explainer.as_network`): what a later read compares with."""
    from chainrule.backend import to_numpy
    from chainrule.explainer import as_network

    tensors = [
        tensor
        for layer in as_network(model).layers
        for part in layer.parts
        for tensor in (part.weight, part.bias)
        if tensor is not None
    ]
    return [np.array(to_numpy(tensor.data)) for tensor in tensors]


def unexpected_error(message: Any, error: Exception) -> str:
    """The reply's message for an exception no handler expected (what the server answers with a
    500): which request failed and how, so the front end can show it instead of waiting."""
    path = message.get("path") if isinstance(message, dict) else None
    return (
        f"explorer: internal error answering {path!r}: {type(error).__name__}: {error} "
        "(a bug in chainrule; please report it)"
    )


def start_network(model: Any = None, case: Any = None, loss: Any = None) -> dict | None:
    """The network JSON the explorer opens on: ``model`` on one ``case = (x, t)`` with ``loss``;
    None: the seed. ``x`` is one case (a flat list or one row); a batch is refused, and so is a
    model the page cannot show (the API's own request schema, as ``chainrule serve --model``)."""
    if model is None:
        if case is not None or loss is not None:
            raise UserError("explorer: a case (x, t) and a loss need a model")
        return None
    from chainrule.explainer.network import refuse_a_path

    refuse_a_path(model, "explorer")  # a saved model's directory: before asking for a case
    if case is None:
        raise UserError("explorer: give the case to show, explorer(model, (x, t), loss)")
    if loss is None:
        raise UserError(
            "explorer: give the loss to show, e.g. explorer(model, (x, t), nn.SquaredError()) or "
            "nn.CrossEntropy(); an nn.Sequential does not carry one (a model saved by chainrule "
            "train does: pass nn.loss_from_config(info['loss']) from io.load_model, and "
            "scale x as training did where info['standardizer'] is set: "
            "data.Standardizer.from_state(info['standardizer']).transform([x])[0])"
        )
    from chainrule.web.network import NetworkState
    from chainrule.web.schemas import check_shown, refuse_too_big

    if not isinstance(case, (tuple, list)) or len(case) != 2:
        raise UserError(
            f"explorer: the case is a pair (x, t), e.g. (X[0], T[0]); got {_described(case)}"
        )
    x, t = case
    from chainrule.explainer import ExplainError, as_network

    try:
        sizes = as_network(model).sizes
    except ExplainError:
        sizes = None  # a network the explainer cannot read: from_model names why
    if sizes is not None:  # too big, said as serve --model says it (not "sizes.0: <= 128")
        refuse_too_big(sizes, "explorer")
    network = NetworkState.from_model(model, x, t, loss).to_json()
    check_shown(network, "explorer")  # refused now, not by every request the widget makes
    return network


def _described(value: Any) -> str:
    """What a value is, for an error message: "tuple of 3 items", "ndarray of shape (3,)"."""
    name = type(value).__name__
    if isinstance(value, (tuple, list)):
        return f"{name} of {counted(len(value), 'item')}"
    shape = getattr(value, "shape", None)
    return name if shape is None else f"{name} of shape {tuple(shape)}"


def explorer(model: Any = None, case: Any = None, loss: Any = None):
    """The browser explorer as a notebook widget, on ``model``, one ``case = (x, t)`` and ``loss``.

    With no arguments it opens on the lecture's seed network. ``x`` is one case (a flat list or
    one row; pick one from a batch, ``(X[0], T[0])``) and ``t`` its target (a class label for
    cross-entropy). ``loss`` is needed with a model: an ``nn`` loss object or its name
    (``"squared-error"``, ``"cross-entropy"``, ...). Its first view opens on the model as it
    was when this ran (under Run All, not as the cells after it left it), a later view on the
    model as it is then, and its Reset button (as the Edit tab's "Reload model") reads the model
    again and goes back to the inputs: trained or edited since, it shows the new weights (the
    view's own edits are dropped); while the model differs from what a view read, the view says
    so. Needs ``anywidget`` (the ``[notebook]`` extra).

    >>> import chainrule as cr                                        # doctest: +SKIP
    >>> cr.explorer()                                                 # doctest: +SKIP
    >>> cr.explorer(net, (x, t), cr.nn.SquaredError())                # doctest: +SKIP
    """
    # the widget first: without the [notebook] extra (which brings [app] too) the message names
    # it, rather than [app] for the starlette that the host's chainrule.web needs
    widget_class = _widget_class(live_model=model is not None)
    live = model is not None
    host = Explorer(
        start_network(model, case, loss),
        functools.partial(start_network, model, case, loss) if live else None,
        functools.partial(model_weights, model) if live else None,
    )
    widget = widget_class()
    widget.explorer = host
    widget.on_msg(lambda w, content, buffers: w.send(host.answer(content)))
    return widget


@functools.lru_cache(maxsize=2)
def _widget_class(live_model: bool) -> type:
    """The anywidget class, made once for a model's widgets and once for the seed network's: its
    module is the page's script with the notebook host (:func:`front_end`)."""
    with extras_needed_by("cr.explorer"):  # anywidget and its traitlets: the [notebook] extra
        import anywidget
        import traitlets

    parts = front_end(live_model)

    class ExplorerWidget(anywidget.AnyWidget):
        """The explorer in a notebook; ``widget.explorer`` answers its requests."""

        _esm = parts["esm"]
        _markup = traitlets.Unicode(parts["markup"]).tag(sync=True)
        _style = traitlets.Unicode(parts["style"]).tag(sync=True)

        def __repr__(self) -> str:
            # the text/plain of the widget's output (a notebook with no widget state, a
            # terminal): what it is, not "<...ExplorerWidget object at 0x...>"
            return "chainrule explorer (run the notebook to use it)"

    return ExplorerWidget
