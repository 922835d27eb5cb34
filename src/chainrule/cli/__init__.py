"""The ``chainrule`` command line: a thin layer over the library.

The package owns the Typer ``app`` (:mod:`chainrule.cli.app`) and one module per group of
commands (``train``, ``explain``, ``serve``, ``export``), each registering itself on ``app``. A
user's mistake (a :class:`~chainrule.errors.UserError`, a bad option) prints one line on stderr
(under mpiexec/srun: once for the job, see :func:`_report`) and exits with code 2, never a
traceback. So does an operating-system error on a file (unreadable, a read-only or missing
directory, a full disk: one line naming the path), a request for more memory than the
machine has, and a model file's network that cannot run on the command's (cases, units) rows (a
:class:`~chainrule.errors.ShapeError`, naming the op and the shapes: a ``Softmax(axis=3)``,
which a library user may feed 4-d batches, so loading cannot refuse it). SIGTERM stops a run
like Ctrl-C (the last complete checkpoint is kept); a Ctrl-C while the command is still starting
(importing typer, the commands, NumPy) is the same line and exit code 130
(:func:`_interrupted_while_starting`). A closed stdout (``>&-``) is one line and
exit code 2 before anything runs; a closed stdin reads as empty and a closed stderr discards
(:func:`_closed_streams`); a traceback, a fault of chainrule's own, exits 70. A package of
one of chainrule's extras that is not installed (typer for any command, uvicorn for
``serve``: pip installs the script without extras) is one line naming the extra too
(:func:`~chainrule.errors.missing_extra`).

``chainrule --help``, ``chainrule COMMAND --help`` and ``chainrule --version`` import neither NumPy
nor the engine (see :mod:`chainrule.cli.app`): they answer in a fraction of the time.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from chainrule.errors import ShapeError, UserError, missing_extra
from chainrule.launcher import launched_rank, launched_size


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C before a command runs (while typer and the commands are imported): the line and
    the code of a later Ctrl-C, not a KeyboardInterrupt's traceback out of an import, where
    nothing can catch it. Nothing has been done yet: nothing to undo. Under mpiexec/srun rank
    0 alone says it (:func:`_left_to_rank_0`)."""
    if not _left_to_rank_0(KeyboardInterrupt()):
        with contextlib.suppress(OSError):  # a closed stderr (2>&-)
            os.write(2, b"chainrule: interrupted\n")
    raise SystemExit(130)


def _signal_before_the_job(stop: BaseException | None) -> bool:
    """Whether ``stop`` is a signal (Ctrl-C, SIGTERM: a KeyboardInterrupt) that stopped this
    process, one of the ranks a launcher started (as its variables say), before it joined its
    parallel job: while typer, the commands and NumPy were imported, before MPI started.
    mpiexec and srun pass a signal on to every rank, and with no world no rank can let rank 0
    report first (:func:`_report`): each said the same line. Joining the job then to end it
    is no way out: an import the signal cut short cannot be done again, and a rank the signal
    ended outright (before its handler was in place, or in ``MPI_Init``) never joins."""
    if not isinstance(stop, KeyboardInterrupt) or launched_size() == 1:
        return False
    distributed = sys.modules.get("chainrule.distributed")
    return distributed is None or not distributed.joined()


def _left_to_rank_0(stop: BaseException | None) -> bool:
    """Whether this process ends for ``stop`` without a word, as a rank other than 0 (as the
    launcher numbers it, :func:`~chainrule.launcher.launched_rank`) stopped by a signal before
    it joined its job (:func:`_signal_before_the_job`): it exits with the same code, rank 0
    saying it. Any other failure, one of its own (its file unreadable), is still its to say."""
    return _signal_before_the_job(stop) and launched_rank() != 0


def _started_as_the_command() -> bool:
    """Whether this process is the ``chainrule`` command (the console script pip writes, or
    ``python -m chainrule``), not a program that imports the command line (a test, a notebook,
    a script calling :func:`main`), whose Ctrl-C stays Python's."""
    started = sys.modules.get("__main__")
    if getattr(started, "__name__", None) != "__main__":  # a multiprocessing child's
        return False
    spec = getattr(started, "__spec__", None)
    if spec is not None:
        return spec.name == "chainrule.__main__"
    script = os.path.basename(sys.argv[0] if sys.argv else "")
    return re.sub(r"(-script\.pyw?|\.exe)?$", "", script) == "chainrule"


# As soon as the command starts: every import that follows (typer, the commands) takes a time
# a Ctrl-C can land in. run() gives Ctrl-C back to Python once main() can catch it.
if (
    _started_as_the_command()
    and threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler  # not ignored (nohup)
):
    signal.signal(signal.SIGINT, _interrupted_while_starting)

#: The names this module takes from chainrule.cli.app (which needs typer)
_FROM_APP = ("ABORTS", "EXITS", "NO_ARGS", "USAGE_ERRORS", "ClosedStdout", "Stopped", "Terminated",
             "app")  # fmt: skip

try:
    from chainrule.cli.app import (
        ABORTS,
        EXITS,
        NO_ARGS,
        USAGE_ERRORS,
        ClosedStdout,
        Stopped,
        Terminated,
        app,
    )
except ModuleNotFoundError as error:
    # pip installs the ``chainrule`` script without the [app] extra, which has typer: the
    # script must still start, to say so in one line (main) rather than a traceback
    _WITHOUT_TYPER: ModuleNotFoundError | None = missing_extra(error, "the command line")
    if _WITHOUT_TYPER is error:
        raise  # not an extra's module: a broken install, shown as it is

    def __getattr__(name: str) -> Any:
        """``from chainrule.cli import app``: the same message, not "cannot import name" (other
        names, such as those ``hasattr`` and ``inspect`` ask for, are AttributeErrors)."""
        if name in _FROM_APP:
            raise _WITHOUT_TYPER.with_traceback(None)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
else:
    _WITHOUT_TYPER = None


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


@contextlib.contextmanager
def _warnings_as_lines():
    """While a command runs, a warning chainrule itself defines (a data note such as
    ``csvfile.DataWarning``) is one line, ``chainrule: warning: ...``, not Python's two (the
    file and line of the library's source, then that source line)."""
    import warnings

    shown = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and category.__module__.startswith("chainrule"):
            print(f"chainrule: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = one_line
    try:
        yield
    finally:
        warnings.showwarning = shown


def on_disk(path: Path, test: Any = Path.exists) -> bool:
    """``test(path)`` (``Path.exists``, ``Path.is_dir``), False where the name is too long for
    the file system: 64 numbers typed out are over 255 characters ("File name too long"), and
    an option that takes a file or typed numbers asks whether its text names a file."""
    try:
        return test(path)
    except OSError:
        return False


def refuse_overwriting(out: Path, option: str, kept: dict[str, Path]) -> None:
    """Raise naming ``option`` when ``out`` is one of the files the command reads (``kept``:
    what each is, e.g. ``{"--input file": path}``): writing it would destroy them."""
    from chainrule.io import is_checkpoint_dir  # NumPy: loaded by the commands that write

    if is_checkpoint_dir(out.resolve().parent):  # a file --resume reads (or one beside them)
        raise UserError(
            f"{option} {out}: is inside the checkpoint {out.parent}, which --resume reads; "
            "write to another file"
        )
    for what, path in kept.items():
        if out.exists() and on_disk(path) and os.path.samefile(out, path):
            raise UserError(f"{option} {out}: is the {what}; write to another file")


def os_error_line(error: OSError) -> str:
    """One line for an operating-system error: the path and the reason, no traceback."""
    reason = error.strerror or type(error).__name__
    path = error.filename
    if path is not None:
        return f"{path}: {reason}"
    if str(error) == f"[Errno {error.errno}] {error.strerror}":  # nothing more to say
        return f"{reason} (writing or reading a stream: standard output, a pipe)"
    return f"{reason} ({error})"


def _report(line: str, error: BaseException | None = None) -> None:
    """Print a failure's one line on stderr, once for a parallel job: under mpiexec/srun every
    rank runs the same command, so most failures happen on every rank; a rank other than 0
    first gives rank 0 the time to report it and end the job, and prints only if rank 0 did not
    (its failure is its own: other options, other data), naming itself ("chainrule: rank 2:
    ..."). An ``error`` every rank met at one point (ranks that disagree, a signal) ends the
    job without an abort, rank 0 reporting; so does a signal that came before the ranks joined
    the job (:func:`_signal_before_the_job`), where each rank ends with its code, no MPI started
    to end the job (:func:`run`)."""
    if _signal_before_the_job(error):
        distributed = sys.modules.get("chainrule.distributed")
        if distributed is not None:  # NumPy and the engine are loaded: run() asks it
            distributed.end_together_with(distributed._stopping_together(error))
        if not _left_to_rank_0(error):
            print(line, file=sys.stderr)
        return
    if "chainrule.distributed" in sys.modules:  # a command joins a parallel job before it runs
        from chainrule import distributed

        if error is not None and distributed.said_by_another_rank(error):
            return  # a failure before MPI started, which this machine's first rank says
        if distributed.end_together_with(error) and not distributed.is_main():
            return
        distributed.let_rank_0_report_first()
        line = _naming_the_rank(line, distributed.rank_label())
    print(line, file=sys.stderr)


def _naming_the_rank(line: str, label: str) -> str:
    """``line`` with this rank's ``label`` ("rank 2: ") after its "chainrule: ": a rank other
    than 0 that reports speaks of its own failure (rank 0 ended the job for one they share)."""
    head = "chainrule: "
    return f"{head}{label}{line[len(head) :]}" if label and line.startswith(head) else line


def _join_a_parallel_job() -> None:
    """Under mpiexec/srun, join the job for a failure that came before any command ran (a bad
    option): every rank then reports and ends the job as a command's failure does, once, by rank
    0 (:func:`_report`, :func:`run`). Without this each rank printed the same line, and a rank
    given a bad option alone (``mpiexec -n 1 ... : -n 1 ... --bad``) exited without joining,
    leaving the others waiting for it forever. Outside a parallel job nothing is imported."""
    if launched_size() != 1:  # the environment alone (no NumPy)
        from chainrule import distributed

        # without mpi4py there is no job to join: each rank reports for itself
        with contextlib.suppress(distributed.DistributedError):
            distributed.world()


def _behind(stop: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first ``kind`` behind a stop that click or typer wrapped: click turns a
    KeyboardInterrupt (so :class:`Terminated`) raised in a command or at a prompt into an
    Abort, raised from it or while handling it, and a command's becomes a Stopped from it."""
    seen: BaseException | None = stop
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _notes(error: BaseException) -> str:
    """What a command added to a failure's line (``add_note``: a run's last checkpoint, kept),
    each on a line of its own after it."""
    return "".join(f"\nchainrule: {note}" for note in getattr(error, "__notes__", ()))


def _command_of(argv: list[str]) -> str:
    """``chainrule serve``: the command that ``argv`` runs, by its first word that is neither
    an option nor ``--import``'s module, for a message that says what needed a package; "the
    command line" without one."""
    words = [
        arg
        for arg, before in zip(argv, ["", *argv])
        if not arg.startswith("-") and before != "--import"
    ]
    return f"chainrule {words[0]}" if words else "the command line"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chainrule`` script; returns the exit code."""
    if _WITHOUT_TYPER is not None:
        _report(f"chainrule: {_WITHOUT_TYPER}")
        return 2
    if "chainrule.distributed" in sys.modules:  # a stop noted by an earlier call is not ours
        sys.modules["chainrule.distributed"].end_together_with(None)
    try:
        _register_commands()
        with _sigterm_as_interrupt(), _warnings_as_lines():
            result = app(args=argv, standalone_mode=False)
    except (UserError, ShapeError) as error:
        _report(f"chainrule: {error}{_notes(error)}", error)
        return 2
    except ModuleNotFoundError as error:  # an extra's package a command needs (serve: uvicorn)
        missing = missing_extra(error, _command_of(sys.argv[1:] if argv is None else argv))
        if missing is error:
            raise  # not an extra's module: a bug, shown as it is
        _report(f"chainrule: {missing}{_notes(error)}", error)
        return 2
    except (BrokenPipeError, ClosedStdout):  # stdout closed early (| head): quietly, as
        from chainrule.terminal import CLOSED_PIPE_EXIT, silence_stdout  # SIGPIPE ends a tool

        silence_stdout()
        return CLOSED_PIPE_EXIT
    except OSError as error:
        _report(f"chainrule: {os_error_line(error)}{_notes(error)}")
        return 2
    except MemoryError as error:
        _report(
            "chainrule: out of memory: the data or the network is too large for this machine"
            + _notes(error)
        )
        return 2
    except USAGE_ERRORS as error:
        _join_a_parallel_job()
        # `chainrule` alone prints the help as it is, not as an error line ("chainrule: Usage:")
        prefix = "" if isinstance(error, NO_ARGS) else "chainrule: "
        _report(f"{prefix}{error.format_message()}")
        return 2
    except (*ABORTS, KeyboardInterrupt, Stopped) as stop:
        signal_stop = _behind(stop, KeyboardInterrupt)
        if _behind(stop, Terminated) is not None:  # SIGTERM
            _report("chainrule: terminated", signal_stop)
            return 143
        _report("chainrule: interrupted", signal_stop)
        return 130
    except EXITS as done:
        return done.exit_code
    except SystemExit as stop:  # click's answer to a closed pipe in its own writes (--help,
        # --version): exit 1, the code explain gives a failed check
        if _behind(stop, BrokenPipeError) is None:
            raise
        from chainrule.terminal import CLOSED_PIPE_EXIT, silence_stdout

        silence_stdout()
        return CLOSED_PIPE_EXIT
    return result if isinstance(result, int) else 0


def _streams_that_take_any_text() -> None:
    """Python writes a redirected stdout in the locale's code page (Windows' cp1252 for a file or
    a pipe): chainrule's text (the derivation's Σ, · and ✓, a class named İzmir) ended in a
    UnicodeEncodeError traceback after part of the output. A file or a pipe is written in UTF-8;
    a terminal that cannot show a character shows ``?`` in its place. An encoding the user
    asked for (``PYTHONIOENCODING``) is left as it is."""
    if os.environ.get("PYTHONIOENCODING"):
        return
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if encoding is None or not hasattr(stream, "reconfigure"):
            continue
        if codecs.lookup(encoding).name == "utf-8":
            continue
        try:
            terminal = stream.isatty()
        except ValueError:  # closed
            continue
        if terminal:
            stream.reconfigure(errors="replace")
        else:
            # surrogateescape: a file name the locale could not decode is written as its bytes
            stream.reconfigure(encoding="utf-8", errors="surrogateescape")


#: The exit code of a fault of chainrule's own (a traceback): not 1, which explain gives a
#: failed gradient check and quiz a wrong answer, nor 2, a user's mistake (BSD's EX_SOFTWARE).
INTERNAL_ERROR = 70


def _closed_streams() -> str | None:
    """A stream the shell closed (``<&-``, ``2>&-``): ``quiz`` crashed on a closed stdin and
    ``explain --format json`` on a closed stdout, exiting 1 (a failed check's code), while
    ``evaluate --json`` lost its output and exited 0 and ``train`` died at its first progress
    line. A closed stdin reads as empty and a closed stderr discards: /dev/null is put in its
    file descriptor, which also keeps a file a command opens later from taking that number (and
    receiving the messages). A closed stdout is refused, returned as the message: a command's
    output would be lost."""
    for number, name, mode in ((0, "stdin", "r"), (2, "stderr", "w")):
        if not _usable(number, mode):
            null = os.open(os.devnull, os.O_RDWR)
            if null != number:
                os.dup2(null, number)
                os.close(null)
            if getattr(sys, name) is None:
                stream = open(number, mode, encoding="utf-8", closefd=False)  # noqa: SIM115
                setattr(sys, name, stream)
    if not _usable(1, "w") or sys.stdout is None:
        return "chainrule: standard output is closed (>&-); send it to a file or to /dev/null"
    return None


def _usable(number: int, mode: str) -> bool:
    """Whether file descriptor ``number`` is open for ``mode`` (a closed one may hold a file
    a launcher opened before running Python, such as pyenv's shim script, read-only)."""
    try:
        os.fstat(number)
    except OSError:
        return False
    try:
        import fcntl
    except ImportError:  # Windows: open is all that can be told
        return True
    access = fcntl.fcntl(number, fcntl.F_GETFL) & os.O_ACCMODE
    return access == os.O_RDWR or access == (os.O_RDONLY if mode == "r" else os.O_WRONLY)


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``; a traceback exits
    :data:`INTERNAL_ERROR`."""
    closed = _closed_streams()
    if closed is not None:
        print(closed, file=sys.stderr)
        sys.exit(2)
    _streams_that_take_any_text()
    try:
        if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # main() catches it now
        code = main()
    except KeyboardInterrupt as stop:  # the instant before main() catches it (or its handlers)
        if not _left_to_rank_0(stop):
            print("chainrule: interrupted", file=sys.stderr)
        code = 130
    except Exception:  # a fault of chainrule's: shown as it is, with a code of its own
        traceback.print_exc()
        code = INTERNAL_ERROR
    # A command joins a parallel job (mpiexec, srun) before it runs; if this one did, a failing
    # rank ends the whole job. Without the join (--help, a usage error) no rank can be waiting.
    if "chainrule.distributed" in sys.modules:
        from chainrule import distributed

        code = distributed.exit_code(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
