"""The ``chainrule`` command line: a thin layer over the library.

The package owns the Typer ``app`` (:mod:`chainrule.cli.app`) and one module per group of
commands (``train``, ``explain``, ``serve``, ``export``), each registering itself on ``app``. A
user's mistake (a :class:`~chainrule.errors.UserError`, a bad option) prints one line on stderr
and exits with code 2, never a traceback. So does an operating-system error on a file (unreadable,
a read-only or missing directory, a full disk: one line naming the path) and a request for more
memory than the machine has. SIGTERM stops a run like Ctrl-C (the last complete checkpoint is kept).

``chainrule --help``, ``chainrule COMMAND --help`` and ``chainrule --version`` import neither NumPy
nor the engine (see :mod:`chainrule.cli.app`): they answer in a fraction of the time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from chainrule.cli.app import ABORTS, EXITS, NO_ARGS, USAGE_ERRORS, Terminated, app
from chainrule.errors import UserError


def _register_commands() -> None:
    """Import the command modules; each adds its commands to ``app``. The import order is the
    order of the commands in ``chainrule --help``."""
    from chainrule.cli import explain, export, serve, train  # noqa: F401


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While a command runs, SIGTERM raises :class:`Terminated` (only the main thread can
    install signal handlers; elsewhere, e.g. inside a test's worker thread, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def refuse_overwriting(out: Path, option: str, kept: dict[str, Path]) -> None:
    """Raise naming ``option`` when ``out`` is one of the files the command reads (``kept``:
    what each is, e.g. ``{"--input file": path}``): writing it would destroy them."""
    for what, path in kept.items():
        if out.exists() and path.exists() and os.path.samefile(out, path):
            raise UserError(f"{option} {out}: is the {what}; write to another file")


def os_error_line(error: OSError) -> str:
    """One line for an operating-system error: the path and the reason, no traceback."""
    reason = error.strerror or type(error).__name__
    path = error.filename
    return f"{path}: {reason}" if path is not None else f"{reason} ({error})"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chainrule`` script; returns the exit code."""
    _register_commands()
    try:
        with _sigterm_as_interrupt():
            result = app(args=argv, standalone_mode=False)
    except UserError as error:
        print(f"chainrule: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"chainrule: {os_error_line(error)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("chainrule: out of memory: the data or the network is too large for this machine",
              file=sys.stderr)  # fmt: skip
        return 2
    except USAGE_ERRORS as error:
        # `chainrule` alone prints the help as it is, not as an error line ("chainrule: Usage:")
        prefix = "" if isinstance(error, NO_ARGS) else "chainrule: "
        print(f"{prefix}{error.format_message()}", file=sys.stderr)
        return 2
    except Terminated:
        print("chainrule: terminated", file=sys.stderr)
        return 143
    except (*ABORTS, KeyboardInterrupt):
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except EXITS as done:
        return done.exit_code
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    code = main()
    # A command joins a parallel job (mpiexec, srun) before it runs; if this one did, a failing
    # rank ends the whole job. Without the join (--help, a usage error) no rank can be waiting.
    if "chainrule.distributed" in sys.modules:
        from chainrule import distributed

        code = distributed.exit_code(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
