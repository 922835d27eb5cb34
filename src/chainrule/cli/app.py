"""The Typer application every command registers on, and the click error classes ``main`` catches.

Command modules import ``app`` from here; ``chainrule.cli`` imports the command modules. So the
package has no import cycle: app <- commands <- cli. Nothing here, and nothing at the top of a
command module, imports NumPy or the engine: ``chainrule --help`` and ``chainrule train --help``
load neither; a command loads them when it runs (:class:`Command`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from chainrule.cli.imports import IMPORT_OPTION, import_modules, refuse_import_after_the_command
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


def path_value(text: str) -> Path:
    """Every path option's and argument's parser: an empty value is refused, naming the option
    (``Path("")`` is the current directory, so ``--model ''`` would read "." and ``--out ''``
    write into it)."""
    if not text:
        raise typer.BadParameter("is empty; name a file or directory")
    return Path(text)


#: ``--out -``: standard output, as the Unix tools take it (it wrote a file named "-"); write
#: ``./-`` for a file of that name (:func:`file_path_value` keeps it apart).
STDOUT = Path("-")


def file_path_value(text: str) -> Path:
    """The parser of an option naming a file to write (``export --out``, ``explain --out``,
    ``graph --out``, ``predict --output``): a name ending in a separator (``out/``), ``.`` or
    ``..``, or an existing directory, names no file (``Path`` would silently turn ``out/`` into
    a file of that name); refused, naming the option, by the rule every writer of a file uses
    (:func:`chainrule.files.file_path_problem`)."""
    # here, not at the top: importing chainrule.files loads the core (NumPy), which --help skips
    from chainrule.files import file_path_problem

    if not text:  # path_value's "name a file or directory" offers what is refused here
        raise typer.BadParameter("'' is empty; give the name of the file to write")
    path = path_value(text)
    problem = file_path_problem(text)
    if problem is not None:
        raise typer.BadParameter(problem)
    if path == STDOUT and text != "-":  # "./-": a file of that name, as the Unix tools take it
        return path.absolute()
    return path


def model_argument(metavar: str, help: str) -> Any:
    """The model a command reads, as its first argument (``chainrule predict RUN``); the
    command also takes it as ``--model`` (:func:`model_option`), the name ``explain``, ``graph``
    and ``serve`` give it, and :func:`one_model` takes whichever was given."""
    return typer.Argument(None, metavar=metavar, parser=path_value, help=f"{help} (or --model)",
                          show_default=False)  # fmt: skip


def model_option() -> Any:
    """``--model``: the command's first argument given by name (:func:`model_argument`)."""
    return typer.Option(None, "--model", parser=path_value, show_default=False,
                        help="the model, named as explain, graph and serve name it")  # fmt: skip


def one_model(argument: Path | None, option: Path | None, usage: str) -> Path:
    """The model given as the first argument or as ``--model``: exactly one of them (a user
    of ``explain --model`` typed ``predict --model RUN`` and was told "No such option")."""
    if argument is not None and option is not None:
        raise UserError(f"give the model once, as the first argument or as --model: {usage}")
    if argument is None and option is None:
        raise UserError(f"no model given: {usage}")
    return argument if argument is not None else option


def refuse_a_parallel_job(command: str, what: str, instead: str = "") -> None:
    """One line, not one run per rank, for a command that is one thing for one person (serve's
    web server, quiz's prompt): under mpiexec/srun every rank would run it (the explorer on one
    address, where all but one could not listen; the quiz asked and graded once per rank)."""
    from chainrule import distributed

    if distributed.world().size > 1:
        raise UserError(
            f"{command}: {what}; start it without mpiexec or srun"
            + (f" ({instead})" if instead else "")
        )


def one_of(option: str, value: str | None, choices: Sequence[str]) -> str | None:
    """A choice option's value as the choice spells it, matched in any case and without the
    spaces around it: ``--optimizer Adam`` is adam, as ``--data XOR`` is xor and ``--activation
    ReLU`` relu (some options took any case, others only their own). None (not given) stays
    None. Anything else is refused in the one wording of every choice option, naming the
    choices in ``choices``' order, the order its help lists them in."""
    if value is None:
        return None
    key = value.strip().casefold()
    for choice in choices:
        if choice.casefold() == key:
            return choice
    raise UserError(f"{option}: unknown value {value!r}; choose one of {', '.join(choices)}")


#: The placeholder a help shows for a value of each type where an option names none of its
#: own: a word, not the Python type typer shows (``<str>``, ``<int range>``, ``<list[str]>``)
PLACEHOLDERS = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


def _placeholder(param: Any) -> str:
    """The placeholder of an option that names none: :data:`PLACEHOLDERS`' word for its
    type (a list's: its items'), else TEXT."""
    descriptor = param.type_descriptor
    kind = descriptor.annotation
    if descriptor.is_list:
        kind = (getattr(kind, "__args__", None) or (str,))[0]
    return PLACEHOLDERS.get(kind, "TEXT")


def _model_hint(command: str, extra: str) -> str | None:
    """The one line for a run or model directory (or a model.json) given as the argument of a
    command that names its model with ``--model`` (``explain runs/digits``: "Got unexpected
    extra argument"; ``train``'s ``next:`` line and ``evaluate RUN`` read alike); None for an
    argument that names no model."""
    import shlex

    from chainrule.cli import on_disk

    path = Path(extra)
    # a folder, or a model's or run's own file: another .json file may be an --input's
    model = on_disk(path, Path.is_dir) or (
        path.name.lower() in ("model.json", "run.json") and on_disk(path, Path.is_file)
    )
    if not model:
        return None
    given = shlex.quote(extra)
    return f"{command} {extra}: give it as --model {given} ({command} takes no arguments)"


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop the way Ctrl-C stops (keep the last complete checkpoint)."""


class ClosedStdout(Exception):
    """A command's standard output was closed early (``| head``), carried past click, which
    answers a broken pipe with ``SystemExit(1)``: ``explain``'s code for a failed check."""


class Stopped(Exception):
    """A command stopped by Ctrl-C or SIGTERM (its ``__cause__``), carried past typer: typer
    turns a KeyboardInterrupt from a command into ``Exit(130)``, which ``main`` cannot tell
    from a command's own code, so the line ("interrupted", "terminated") and 143 were lost."""


USAGE_ERRORS = _click_classes("UsageError", typer.BadParameter)
#: ``chainrule`` alone: click answers with the help, as a usage error (exit code 2).
NO_ARGS = tuple(
    {cls for base in USAGE_ERRORS for cls in base.__subclasses__()
     if cls.__name__ == "NoArgsIsHelpError"}
)  # fmt: skip
ABORTS = _click_classes("Abort", typer.Abort)
EXITS = _click_classes("Exit", typer.Exit)


#: What a number option's value must be, by its type (:func:`number_refused`)
NUMBER_WORDS = {int: "a whole number", float: "a number"}


def _bound(value: float) -> str:
    """A range's end as a message writes it: 1,000,000 (--hidden's), but 65535 (a port)."""
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 100_000 else str(value)
    return f"{value:g}"


def number_refused(error: Exception) -> str | None:
    """chainrule's one line for a number option's value that typer refused: typer checks an
    ``int`` or ``float`` option's type and its ``min``/``max`` with pydantic, whose words
    became the message ("Invalid value for '--epochs': Input should be greater than or equal
    to 1") where chainrule's own checks say "--lr must be a positive number". Here in that
    form, the option's whole range in it: ``--epochs must be a whole number from 1 to
    1,000,000, not 0``. None for another refusal (a path option's parser, a choice), kept as
    it is."""
    param = getattr(error, "param", None)
    cause = error.__cause__
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not callable(getattr(cause, "errors", None)):
        return None
    words = NUMBER_WORDS.get(descriptor.annotation)
    if words is None or descriptor.is_list:
        return None
    info = descriptor.parameter_info
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is not None and high is not None:
        words += f" from {_bound(low)} to {_bound(high)}"
    elif low is not None:
        words += f" >= {_bound(low)}"
    elif high is not None:
        words += f" <= {_bound(high)}"
    found = cause.errors()
    text = found[0].get("input") if found else None
    if isinstance(text, str):
        try:
            float(text)
        except ValueError:  # a word: quoted, as the other refusals quote one ('abc', '')
            text = repr(text)
    names = [name for name in param.opts if name.startswith("--")] or param.opts
    return f"{names[0]} must be {words}, not {text}"


class Command(TyperCommand):
    """A chainrule command: once its options are parsed (its ``--help`` has answered by then),
    the process is made ready for the work, and only then are NumPy and the engine imported."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # placeholders in one style: words, never Python types
            if param.param_type_name == "option" and not param.is_flag and param.metavar is None:
                param.metavar = _placeholder(param)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """typer's Arguments and Options sections, an argument shown by its name alone
        (``MODEL``, not ``MODEL <Path>``: the placeholders are words, never Python types)."""
        sections: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.param_type_name in sections:
                if param.param_type_name == "argument":
                    record = (record[0].split(" ", 1)[0], record[1])
                sections[param.param_type_name].append(record)
        for title, kind in (("Arguments", "argument"), ("Options", "option")):
            if sections[kind]:
                with formatter.section(title):
                    formatter.write_dl(sections[kind])

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """click's parse, where a number option's value typer refused is said in chainrule's
        words (:func:`number_refused`)."""
        try:
            return self._parse_args(ctx, args)
        except USAGE_ERRORS as error:
            line = number_refused(error)
            if line is None:
                raise
            usage = next(cls for cls in type(error).__mro__ if cls.__name__ == "UsageError")
            raise usage(line, ctx=ctx) from error

    def _parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """click's parse, where a command that names its model with ``--model`` (explain,
        graph, serve) given one as its argument says so (:func:`_model_hint`)."""
        refuse_import_after_the_command(ctx, args)
        by_name = any(param.name == "model" for param in self.params)
        positional = any(param.param_type_name == "argument" for param in self.params)
        if not by_name or positional or ctx.allow_extra_args:
            return super().parse_args(ctx, args)
        ctx.allow_extra_args = True
        try:
            extra = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = False
        if extra and not ctx.resilient_parsing:
            hint = _model_hint(ctx.info_name or self.name or "", extra[0])
            words = " ".join(extra)
            ctx.fail(hint or f"Got unexpected extra argument{'s' * (len(extra) > 1)} ({words})")
        return extra

    def invoke(self, ctx: Any) -> Any:
        import numpy as np

        from chainrule import distributed
        from chainrule.backend import check_settings, keep_freed_memory

        # under mpiexec/srun join the job before anything can fail, so a failure can end it
        distributed.world()
        check_settings()
        keep_freed_memory()  # the commands train and explain networks: reuse freed big arrays
        # chainrule --import MODULE: the user's classes registered before the command reads a file
        import_modules(ctx.find_root().params.get("imports") or ())
        # Divergence and overflow are reported by the commands themselves (a training loss that
        # is not finite stops the run with one line); NumPy's warnings would only repeat it.
        with np.errstate(all="ignore"):
            try:
                return super().invoke(ctx)
            except BrokenPipeError as closed:  # past click, which makes it SystemExit(1)
                raise ClosedStdout() from closed


class Group(TyperGroup):
    """The group of chainrule's commands, where a Ctrl-C or SIGTERM (:class:`Terminated`)
    becomes :class:`Stopped` from the moment the command line is parsed until the command
    ends: a command's own work, and what comes before it (parsing its options, importing NumPy
    and the engine in :meth:`Command.invoke`), which typer turned into a silent exit 130."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as stop:
            raise Stopped() from stop

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:
            raise Stopped() from stop


class _Typer(typer.Typer):
    """Typer whose commands are :class:`Command` s."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or Command, **kwargs)


app = _Typer(
    name="chainrule",
    cls=Group,
    help="Backpropagation made visible: train, explain and explore networks of logistic units.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain (click) help: typer's rich help shows flags as taking a value (--quiet <bool>) and
    # reads "[...]" in a help text as markup. Defaults are shown; up to 120 columns are used.
    rich_markup_mode=None,
    # -h as well as --help, on every command (it was "No such option: -h")
    context_settings={
        "show_default": True,
        "max_content_width": 120,
        "help_option_names": ["-h", "--help"],
    },
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("chainrule")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from chainrule import __version__ as number
        typer.echo(f"chainrule {number}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        help="Print chainrule's version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
    imports: list[str] = typer.Option(  # noqa: B008 (typer: options are defaults)
        None,
        IMPORT_OPTION,
        metavar="MODULE",
        help="Import MODULE before the command runs (a module name, importable from the current "
        "directory or Python's path, or a .py file; repeatable): one that registers losses, "
        "modules or optimizers of your own (cr.nn.register_loss, cr.nn.register_module, "
        "cr.optim.register_optimizer), so the command can read a model or run that uses them.",
    ),
) -> None:
    """Backpropagation made visible: train, explain and explore networks of logistic units."""
