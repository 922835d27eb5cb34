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

from chainrule.errors import UserError, counted, extras_needed_by

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
    if body is None:  # pragma: no cover - the page ships with the package
        raise RuntimeError("chainrule explorer: web/static/index.html has no <body> markup")
    module = "\n".join(
        [
            "const CHAINRULE_WIDGET = true;",
            f"const CHAINRULE_LIVE_MODEL = {'true' if live_model else 'false'};",
            (STATIC / "app.js").read_text(encoding="utf-8"),
            (STATIC / "widget.js").read_text(encoding="utf-8"),
        ]
    )
    return {
        "esm": module,
        # a heading of the notebook's page, not its title: an h2 (an h1 per cell read as many pages)
        "markup": body.group(1).replace("<h1>", "<h2>").replace("</h1>", "</h2>"),
        "style": (STATIC / "style.css").read_text(encoding="utf-8"),
    }


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
    """

    def __init__(self, start: dict | None = None, reread: Any = None) -> None:
        from chainrule.web import api

        self._api = api
        self._endpoints = {e.path: e for e in api.ENDPOINTS}
        self.start = start if start is not None else api.seed(None, None)
        #: the network read again from the user's model (``start_network``), for each view
        #: opened and each reset: the model as it is then, trained or edited since
        self._reread = reread
        self.sessions: OrderedDict[str, Any] = OrderedDict()  # view -> its BrowserSession

    def session(self, endpoint: Any, request_id: Any) -> Any:
        """The training session of the view that sent ``request_id`` ("VIEW:N") for ``endpoint``,
        as the server finds a browser's: made by the request that starts a run, found (or None)
        for the other training requests, None for a request that needs none."""
        from chainrule.web.sessions import BrowserSession

        if endpoint.session == "none":
            return None
        view = request_id.rpartition(":")[0] if isinstance(request_id, str) else ""
        if view in self.sessions:
            self.sessions.move_to_end(view)
        elif endpoint.session == "create":
            while len(self.sessions) >= MAX_VIEWS:
                self.sessions.popitem(last=False)
            self.sessions[view] = BrowserSession(token=f"notebook view {view}")
        return self.sessions.get(view)

    def answer(self, message: Any) -> dict:
        """The reply to one request from the front end."""
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
            if path == "/api/seed":  # a copy: a caller changing a reply changes no later one
                if self._reread is not None:
                    self.start = self._reread_model()
                return {"id": request_id, "ok": True, "data": copy.deepcopy(self.start)}
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
    (``"squared-error"``, ``"cross-entropy"``, ...). Each view of the widget opens on the model
    as it is then, and its Reset button (as the Edit tab's "Reload model") reads the model again
    and goes back to the inputs: trained or edited since, it shows the new weights (the view's
    own edits are dropped). Needs ``anywidget`` (the ``[notebook]`` extra).

    >>> import chainrule as cr                                        # doctest: +SKIP
    >>> cr.explorer()                                                 # doctest: +SKIP
    >>> cr.explorer(net, (x, t), cr.nn.SquaredError())                # doctest: +SKIP
    """
    # the widget first: without the [notebook] extra (which brings [app] too) the message names
    # it, rather than [app] for the starlette that the host's chainrule.web needs
    widget_class = _widget_class(live_model=model is not None)
    host = Explorer(
        start_network(model, case, loss),
        None if model is None else functools.partial(start_network, model, case, loss),
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
