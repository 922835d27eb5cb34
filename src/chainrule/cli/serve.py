# ruff: noqa: B008  (typer declares options as argument defaults)
"""``chainrule serve``: the interactive backprop explorer in the browser."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import math
import os
import shlex
import signal
import socket
import threading
import webbrowser
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import typer

from chainrule.cli.app import app, path_value, refuse_a_parallel_job
from chainrule.errors import UserError

#: Seconds a stopping server (Ctrl+C, SIGTERM) waits for the requests in progress before it
#: ends them; a request may compute for about 0.3 s at most (one BLAS thread, web.schemas'
#: MAX_STEP_WORK), so this is room for a slow machine, not for a request that never ends.
STOP_GRACE_SECONDS = 5
#: The log's lines: the time, then what happened (chainrule.web's, and uvicorn's own).
LOG_FORMAT = {"format": "%(asctime)s %(levelname)s %(message)s", "datefmt": "%Y-%m-%d %H:%M:%S"}


def address(host: str, port: int) -> str:
    """``host:port`` as an address is written: ``127.0.0.1:8000``, ``[::]:8000`` (an IPv6
    address is bracketed, as in a URL)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line (not a uvicorn traceback) when the address is taken; tried as
    uvicorn binds it (an IPv6 socket for an address with a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        # create_server names the address again after the reason: the line names it once
        reason = str(error.strerror or error).partition(" (while attempting to bind")[0]
        raise UserError(f"serve: cannot listen on {address(host, port)} ({reason})") from None


def limit_blas_threads() -> Any:
    """One BLAS thread for the whole process while it serves (None where threadpoolctl is
    missing: then nothing changes). Requests run on worker threads at once, and each NumPy
    product used every BLAS thread besides: on a few cores a request of 0.3 s took 2 to 35 s.
    Returns threadpoolctl's limiter; its ``restore_original_limits()`` undoes it."""
    from chainrule import backend  # here, not at the top: --help loads no NumPy

    return backend.limit_blas_threads(1)


def machine_addresses() -> list[str]:
    """This machine's IP addresses that other machines may reach it by, each once and none a
    loopback: the one its name resolves to and the one its traffic leaves by (found by
    routing a UDP socket, which sends nothing)."""
    found = []
    with contextlib.suppress(OSError):
        found.append(socket.gethostbyname(socket.gethostname()))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: a route is chosen, nothing is sent
        found.append(probe.getsockname()[0])
    reachable = []
    for text in dict.fromkeys(found):
        with contextlib.suppress(ValueError):
            ip = ipaddress.ip_address(text)
            if not (ip.is_loopback or ip.is_unspecified):
                reachable.append(text)
    return reachable


def log_config(access_log: bool) -> dict:
    """Logging while serving: on stderr, each line with its time. uvicorn's warnings and
    errors; chainrule.web's lines (a refused Host header, a 503, a 500: web.app); and with
    ``access_log`` one line per request (the client's address, the method, the path and the
    status: never a body or a cookie)."""
    stderr = {"class": "logging.StreamHandler", "formatter": "timed", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"timed": dict(LOG_FORMAT)},
        "handlers": {"stderr": stderr},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {
                "handlers": ["stderr"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
            "chainrule.web": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def _say(line: str) -> None:
    """``line`` on stderr from a signal handler: straight to the file, past sys.stderr's
    buffer, which the interrupted code may be in the middle of writing."""
    with contextlib.suppress(OSError):
        os.write(2, f"{line}\n".encode())


class Stopping:
    """Ctrl+C (or SIGTERM) while serving, over uvicorn's own handling. The first says that the
    server is stopping and lets uvicorn answer the requests in progress, for at most
    ``grace`` seconds: the server then ends, exit code 0. A second, or requests still running
    after ``grace`` seconds, end the process at once, with one line and no traceback: exit
    code 128 + the first signal's number (130 for Ctrl+C, 143 for SIGTERM), as a shell
    reports a process a signal ended. A request computes in a worker thread, which nothing
    can interrupt, and the server keeps nothing to save: ending the process is the prompt stop
    (uvicorn's own cancels what it can, logs a traceback for each request, then waits for the
    threads). ``lifespan`` is the app's (:func:`chainrule.web.create_app`): it takes the
    signals over once uvicorn has set its handlers."""

    def __init__(self, grace: float = STOP_GRACE_SECONDS) -> None:
        self.grace = grace
        self.signal: int | None = None  # the first one received
        self.timer: threading.Timer | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        self.take_over()
        yield

    def take_over(self) -> None:
        """Put :meth:`_received` in front of the handlers of SIGINT and SIGTERM."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread receives signals (a test serves the app elsewhere)
        for signum in (signal.SIGINT, signal.SIGTERM):
            passed_on = signal.getsignal(signum)
            if callable(passed_on):  # uvicorn's, which starts its graceful shutdown
                signal.signal(signum, functools.partial(self._received, passed_on))

    def _received(self, passed_on: Callable, signum: int, frame: Any) -> None:
        if self.signal is not None:
            self.stop_now("stopped at once: the requests in progress were dropped")
        self.signal = signum
        _say(
            f"stopping: waiting for the requests in progress (at most {self.grace:g} seconds); "
            "Ctrl+C again to stop at once"
        )
        late = f"stopped: the requests still in progress after {self.grace:g} seconds were dropped"
        self.timer = threading.Timer(self.grace, self.stop_now, args=(late,))
        self.timer.daemon = True
        self.timer.start()
        passed_on(signum, frame)

    def stop_now(self, line: str) -> None:
        _say(line)
        os._exit(128 + (self.signal or signal.SIGINT))

    def done(self) -> None:
        """uvicorn has stopped: no more waiting to end."""
        if self.timer is not None:
            self.timer.cancel()


def positive_seconds(text: str) -> float:
    """``--session-idle``'s parser: a finite number of seconds above 0, else one line naming
    the option (0 would let any new browser push out the least recently used run at once)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise typer.BadParameter(f"{text!r} must be a positive number of seconds, such as 900")
    return seconds


def page_url(host: str, port: int) -> str:
    """The address to open: a wildcard host (0.0.0.0, ::) listens everywhere but is no address
    a browser can open, so this machine's loopback stands for it."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{address(shown, port)}/"


def other_machines(port: int) -> str:
    """The line saying where other machines open the page of a server on every interface:
    this machine's addresses, and its name where that resolves."""
    urls = [f"http://{address(ip, port)}/" for ip in machine_addresses()]
    name = f"http://{address(socket.gethostname(), port)}/"
    if not urls:
        return f"from other machines: {name} (this machine's name), or its IP address"
    return f"from other machines: {' or '.join(urls)} (or {name} where that name resolves)"


def _browser() -> Any:
    """The web browser ``--open`` would use, or None where there is none (a server, a container)."""
    try:
        return webbrowser.get()
    except webbrowser.Error:
        return None


def trained_case(model_path: Path | str, case: int) -> Any:
    """The explorer's state for a model trained by ``chainrule train`` and case ``case`` of the
    split it was evaluated on (standardised as in training): its input row and target row.

    A model the page cannot show gets one line saying what fits."""
    from chainrule.cli.explain import refuse_an_unreadable_network
    from chainrule.cli.train import held_out_case, load_trained
    from chainrule.explainer import as_network
    from chainrule.train.runs import command_line, weight_decay_note
    from chainrule.web import schemas
    from chainrule.web.network import NetworkState

    model_path = Path(model_path)
    model, info, loss = load_trained(model_path)
    refuse_an_unreadable_network(model, model_path, "the explorer")
    sizes = as_network(model).sizes
    schemas.refuse_too_big(sizes, str(model_path))
    if loss is None:
        raise UserError(f"{model_path}: the model file names no loss, so there is no E to show")
    # its description has no home on the page yet: the page's state holds numbers only
    x, targets, _ = held_out_case(model_path, info, case, loss, sizes[-1])
    imports = (info.get("meta", {}).get("run") or {}).get("imports") or ()
    state = NetworkState.from_model(
        model,
        x[0],
        loss.target_rows(targets, sizes[-1])[0],
        loss,
        # the run's --import modules too: the way to explain a run of one's own loss
        explain_with=f"{command_line(imports)} explain --model {shlex.quote(str(model_path))}",
    )
    # the run's weight decay, which the page's dE/dw (of E alone) do not show, in explain's
    # words: in the network's notes, so its derivation and export carry it
    decay = weight_decay_note(info)
    if decay is not None:
        state.notes.append(decay)
    schemas.check_shown(state.to_json(), str(model_path))
    return state


@app.command(short_help="The interactive explorer in the browser.")
def serve(
    host: str = typer.Option(
        "127.0.0.1", metavar="ADDRESS", help="Address to listen on (local only by default)."
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a web browser."),
    # web.sessions' DEFAULT_MAX_SESSIONS and DEFAULT_IDLE_SECONDS (--session-idle), written out:
    # importing them would load starlette for every command (tests/cli/test_serve_sessions_s60.py
    # compares)
    max_sessions: int = typer.Option(
        128,
        min=1,
        max=10_000,
        help="Browser sessions (one training run each) kept at once: a new browser takes the "
        "place of one idle for 15 minutes (by default; see --session-idle), and is refused (503) "
        "while none is. Each holds at most about 2 MB.",
    ),
    session_idle: float = typer.Option(
        900,
        "--session-idle",
        metavar="SECONDS",
        parser=positive_seconds,
        help="Seconds a browser session must go unused before a new browser may take its place "
        "(forgetting its training run) once the server keeps --max-sessions.",
    ),
    model: Path = typer.Option(
        None,
        parser=path_value,
        help="open on this trained model (a run directory of chainrule train)",
    ),
    case: int = typer.Option(
        None,
        min=0,  # its range shown and checked as explain's and graph's --case
        show_default="0",
        help="with --model: the case to show, of the split the run was evaluated on",
    ),
    allow_host: list[str] = typer.Option(
        None,
        "--allow-host",
        metavar="NAME",
        help="Another name the page may be reached by (the Host header); repeatable. The "
        "listening address and the local names are always allowed (with --host 0.0.0.0 or ::, "
        "any IP address and this machine's name as well).",
    ),
    access_log: bool = typer.Option(
        False,
        "--access-log",
        help="Log each request on stderr: the time, the client's address, the method, the path "
        "and the status (never a body or a cookie).",
    ),
) -> None:
    """Start the explorer: step through forward and backward passes, see each dE/dy_i as the sum
    of its paths w_ij dE/dz_j, check them by finite differences, and train small networks."""
    import uvicorn

    from chainrule.web import create_app
    from chainrule.web.app import LOCAL_HOSTS, WILDCARD_HOSTS

    refuse_a_parallel_job(
        "serve",
        "the explorer is one web server",
        "train in parallel with chainrule train, then serve --model the run",
    )
    if not host.strip():
        raise UserError(
            "serve: --host '' would listen on every interface; give an address "
            "(127.0.0.1 for this machine only, 0.0.0.0 for every interface)"
        )
    if model is None and case is not None:
        raise UserError("--case needs --model (it picks a case of the trained model's test split)")
    start = None if model is None else trained_case(model, 0 if case is None else case)
    _check_port_free(host, port)
    url = page_url(host, port)
    typer.echo(f"chainrule explorer at {url} (Ctrl+C to stop)")
    if host in WILDCARD_HOSTS:
        typer.echo(other_machines(port))
    if host not in ("127.0.0.1", "localhost", "::1"):
        # the address as written (an IPv6 one bracketed: "[::]:8000", never ":::8000")
        typer.echo(
            f"warning: listening on {address(host, port)}: other machines can reach this server",
            err=True,
        )
    if open_browser:
        browser = _browser()
        if browser is None:
            typer.echo(f"note: --open: no web browser found here; open {url} yourself", err=True)
        else:
            threading.Timer(1.0, browser.open, args=(url,)).start()
    allowed = [*LOCAL_HOSTS, host, *(allow_host or [])]
    if host in WILDCARD_HOSTS:  # any IP address, and this machine's name
        allowed.append(socket.gethostname())
    stopping = Stopping()
    application = create_app(
        max_sessions=max_sessions,
        start=start,
        allowed_hosts=allowed,
        idle_seconds=session_idle,
        lifespan=stopping.lifespan,
    )
    blas = limit_blas_threads()
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=log_config(access_log),
            log_level=None,  # log_config's levels
            access_log=access_log,
            # Stopping ends the process first; this bounds uvicorn's own wait all the same
            timeout_graceful_shutdown=STOP_GRACE_SECONDS + 2,
        )
    finally:
        stopping.done()
        if blas is not None:
            blas.restore_original_limits()
