# ruff: noqa: B008  (typer declares options as argument defaults)
"""``chainrule serve``: the interactive backprop explorer in the browser."""

from __future__ import annotations

import math
import shlex
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Any

import typer

from chainrule.cli.app import app, path_value
from chainrule.errors import UserError


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line (not a uvicorn traceback) when the address is taken."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = error.strerror or error
        raise UserError(f"serve: cannot listen on {host}:{port} ({reason})") from None


def refuse_a_parallel_job() -> None:
    """One line, not a server per rank: under mpiexec/srun every rank would start the page on
    the same address, and all but one could not listen (which ended the job)."""
    from chainrule import distributed

    if distributed.world().size > 1:
        raise UserError(
            "serve: the explorer is one web server; start it without mpiexec or srun "
            "(train in parallel with chainrule train, then serve --model the run)"
        )


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
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


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
    state = NetworkState.from_model(
        model,
        x[0],
        loss.target_rows(targets, sizes[-1])[0],
        loss,
        explain_with=f"chainrule explain --model {shlex.quote(str(model_path))}",
    )
    schemas.check_shown(state.to_json(), str(model_path))
    return state


@app.command(short_help="The interactive explorer in the browser.")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (local only by default)."),
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
        show_default="0",
        help="with --model: the case to show, of the split the run was evaluated on",
    ),
    allow_host: list[str] = typer.Option(
        None,
        "--allow-host",
        help="Another name the page may be reached by (the Host header); repeatable. The "
        "listening address and the local names are always allowed.",
    ),
) -> None:
    """Start the explorer: step through forward and backward passes, see each dE/dy_i as the sum
    of its paths w_ij dE/dz_j, check them by finite differences, and train small networks."""
    import uvicorn

    from chainrule.web import create_app
    from chainrule.web.app import LOCAL_HOSTS

    refuse_a_parallel_job()
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
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: other machines can reach this server", err=True)
    if open_browser:
        browser = _browser()
        if browser is None:
            typer.echo(f"note: --open: no web browser found here; open {url} yourself", err=True)
        else:
            threading.Timer(1.0, browser.open, args=(url,)).start()
    allowed = [*LOCAL_HOSTS, host, *(allow_host or [])]
    if host in ("0.0.0.0", "::"):
        allowed.append(socket.gethostname())
    application = create_app(
        max_sessions=max_sessions, start=start, allowed_hosts=allowed, idle_seconds=session_idle
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")
