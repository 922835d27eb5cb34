"""``chainrule serve``: the interactive backprop explorer in the browser."""

from __future__ import annotations

import socket
import threading
import webbrowser

import typer

from chainrule.cli.app import app
from chainrule.errors import UserError


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line (not a uvicorn traceback) when the address is taken."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = error.strerror or error
        raise UserError(f"serve: cannot listen on {host}:{port} ({reason})") from None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (local only by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a web browser."),
    max_sessions: int = typer.Option(
        32, min=1, max=10_000, help="Training sessions kept at once (oldest forgotten first)."
    ),
) -> None:
    """Start the explorer: step through forward and backward passes, see each dE/dy_i as the sum
    of its paths w_ij dE/dz_j, check them by finite differences, and train small networks."""
    import uvicorn

    from chainrule.web import create_app

    _check_port_free(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    typer.echo(f"chainrule explorer at {url} (Ctrl+C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: other machines can reach this server", err=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(max_sessions=max_sessions), host=host, port=port, log_level="warning")
