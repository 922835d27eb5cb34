"""The ``chainrule`` command line: a thin layer over the library.

The package owns the Typer ``app`` (:mod:`chainrule.cli.app`) and one module per group of
commands (``train``, ``explain``, ``serve``), each registering itself on ``app``. A user's mistake
(a :class:`~chainrule.errors.UserError`, a bad option) prints one line on stderr and exits with
code 2, never a traceback.
"""

from __future__ import annotations

import sys

from chainrule.backend import keep_freed_memory
from chainrule.cli.app import ABORTS, EXITS, USAGE_ERRORS, app
from chainrule.errors import UserError


def _register_commands() -> None:
    """Import the command modules; each adds its commands to ``app``. The import order is the
    order of the commands in ``chainrule --help``."""
    from chainrule.cli import explain, serve, train  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chainrule`` script; returns the exit code."""
    keep_freed_memory()  # the commands train and explain networks: reuse freed big arrays
    _register_commands()
    try:
        result = app(args=argv, standalone_mode=False)
    except UserError as error:
        print(f"chainrule: {error}", file=sys.stderr)
        return 2
    except USAGE_ERRORS as error:
        print(f"chainrule: {error.format_message()}", file=sys.stderr)
        return 2
    except (*ABORTS, KeyboardInterrupt):
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except EXITS as done:
        return done.exit_code
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    from chainrule import distributed

    try:  # under mpiexec/srun join the job before anything can fail, so a failure can end it
        distributed.world()
    except UserError as error:
        print(f"chainrule: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(distributed.exit_code(main()))  # a failing rank ends the whole parallel job


if __name__ == "__main__":
    run()
