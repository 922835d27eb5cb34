"""The ``chainrule`` command line: a thin layer over the library.

Each command lives in its own module under :mod:`chainrule.commands` and registers itself on
``app``. A user's mistake (a :class:`~chainrule.errors.UserError`, a bad option) prints one line on
stderr and exits with code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from chainrule.errors import UserError


def _click_classes(name: str, *known: type) -> tuple[type, ...]:
    """The click exception classes called ``name``: newer typer vendors its own copy of click, so
    ``click.UsageError`` and the one typer raises may be two classes; catch both."""
    found = {cls for base in known for cls in base.__mro__ if cls.__name__ == name}
    try:
        import click.exceptions

        found.add(getattr(click.exceptions, name))
    except (ImportError, AttributeError):
        pass
    return tuple(found)


_USAGE_ERRORS = _click_classes("UsageError", typer.BadParameter)
_ABORTS = _click_classes("Abort", typer.Abort)
_EXITS = _click_classes("Exit", typer.Exit)

app = typer.Typer(
    name="chainrule",
    help="Backpropagation made visible: train, explain and explore networks of logistic units.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    import chainrule.commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chainrule`` script; returns the exit code."""
    _register_commands()
    try:
        result = app(args=argv, standalone_mode=False)
    except UserError as error:
        print(f"chainrule: {error}", file=sys.stderr)
        return 2
    except _USAGE_ERRORS as error:
        print(f"chainrule: {error.format_message()}", file=sys.stderr)
        return 2
    except (*_ABORTS, KeyboardInterrupt):
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except _EXITS as done:
        return done.exit_code
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``."""
    sys.exit(main())


if __name__ == "__main__":
    run()
