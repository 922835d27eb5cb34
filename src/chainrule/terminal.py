"""rich's console for what chainrule prints on standard output.

A reader that closes the pipe early (``chainrule explain | head``) makes a write fail with
BrokenPipeError. rich answers that with ``SystemExit(1)``, which ``chainrule explain`` documents
as "a gradient check disagrees"; this console raises the BrokenPipeError itself instead, which
the command line answers as a shell does a process SIGPIPE ended (:data:`CLOSED_PIPE_EXIT`), and
a library caller (a notebook) can catch. rich is imported when a console is made, not before.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

#: The exit code of a command whose standard output was closed early: 128 + SIGPIPE, as a shell
#: reports a process the signal ended.
CLOSED_PIPE_EXIT = 141


def stdout_console(**options: Any) -> Any:
    """A ``rich.console.Console`` on standard output whose closed pipe is a BrokenPipeError,
    without any colour or style where NO_COLOR is set and not empty (https://no-color.org), on a
    terminal too and whatever FORCE_COLOR says: rich's own reading of NO_COLOR drops the
    colours but keeps bold and underline."""
    if os.environ.get("NO_COLOR", ""):
        options["color_system"] = None  # rich writes no style at all
    return _console_class()(**options)


@functools.cache
def _console_class() -> type:
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True  # nothing more is written
            raise BrokenPipeError("standard output was closed")

    return PipeConsole


def silence_stdout() -> None:
    """Point standard output at the null device, so the interpreter's last flush of what is
    left in its buffer meets no closed pipe again (an "Exception ignored" message)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
