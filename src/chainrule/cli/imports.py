"""``chainrule --import MODULE``: the user's own modules, imported before a command runs.

A loss, layer or optimizer class of one's own (registered with ``cr.nn.register_loss``,
``register_module`` or ``cr.optim.register_optimizer``) is known to a ``chainrule`` process only
once the module that registers it is imported; model and run files name such classes, so every
command that reads one imports the user's modules first (:func:`import_modules`). Like
:mod:`chainrule.cli.app`, nothing here imports NumPy or the engine.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chainrule.errors import UserError

#: The top-level option that imports a user's module (:func:`import_modules`)
IMPORT_OPTION = "--import"


def import_modules(modules: Sequence[str]) -> None:
    """``chainrule --import MODULE ...``: import each module, in the order given, before the
    command runs, so the classes it registers (``cr.nn.register_loss``, ``register_module``,
    ``cr.optim.register_optimizer``) rebuild from a model or run file in this process as they
    do in the user's own program. MODULE is a dotted name, looked up in the current directory
    and then on Python's path (the console script's path lacks the current directory, which
    ``python -m`` has), or a ``.py`` file (a name ending so, or holding a path separator),
    imported under its stem. Either way its own directory is on the path while it is imported,
    so it may import a module beside it. A module that is not found, and one that raises on
    import, is a :class:`~chainrule.errors.UserError` of one line naming it."""
    for given in modules:
        _import_one(given)


def _import_one(given: str) -> None:
    import importlib
    import os

    option = f"{IMPORT_OPTION} {given}"
    if not given.strip():
        raise UserError(f"{IMPORT_OPTION} '': is empty; name a module (mylosses) or a .py file")
    separators = {os.sep, os.altsep} - {None}
    if given.endswith(".py") or any(sep in given for sep in separators):
        _import_file(given, option)
        return
    if not all(part.isidentifier() for part in given.split(".")):
        raise UserError(
            f"{option}: is neither a module name (words joined by dots, as Python's import "
            "takes them: mylosses, mypackage.losses) nor a .py file"
        )
    here = os.getcwd()
    top = given.split(".")[0]
    known = sys.modules.get(top)
    if known is not None:  # import answers it from sys.modules, not from the current directory
        for local, own in ((Path(here, f"{top}.py"), "file"),
                           (Path(here, top, "__init__.py"), "package")):  # fmt: skip
            if local.is_file() and not _same_file(getattr(known, "__file__", None), local):
                shown = local if own == "file" else local.parent
                raise UserError(
                    f"{option}: its name, {top!r}, is a module already imported "
                    f"({getattr(known, '__file__', None) or 'built in'}), not the {own} {shown} "
                    f"in the current directory; rename the {own}"
                )
    importlib.invalidate_caches()  # a module written since this process last looked
    try:
        with _on_the_path(here):
            importlib.import_module(given)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (given == missing or given.startswith(f"{missing}.")):
            raise UserError(
                f"{option}: no module named {missing!r} in the current directory ({here}) or "
                "on Python's path (sys.path: PYTHONPATH and the installed packages); give its "
                "name as import takes it, or the path of its .py file"
            ) from None
        raise _raised_on_import(option, error) from None
    except (Exception, SystemExit) as error:
        raise _raised_on_import(option, error) from None


def _import_file(given: str, option: str) -> None:
    """Import the ``.py`` file ``given`` as a module named by its stem (``mylosses.py``:
    ``mylosses``, the name its classes are registered under); the same file imported again is
    not run again. Another module of that name already imported is refused: replacing it would
    break what imported it."""
    import importlib.util

    path = Path(given)
    if not path.is_file():
        where = "is a directory" if path.is_dir() else "no such file"
        raise UserError(f"{option}: {where} ({path.absolute()}); give a .py file or a module name")
    if path.suffix != ".py":
        raise UserError(f"{option}: is not a .py file; give a .py file or a module name")
    name = path.stem
    known = sys.modules.get(name)
    if known is not None:
        if _same_file(getattr(known, "__file__", None), path):
            return
        raise UserError(
            f"{option}: its name, {name!r}, is a module already imported "
            f"({getattr(known, '__file__', None) or 'built in'}); rename the file"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # a .py file always has one
        raise UserError(f"{option}: Python cannot import this file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as import does: a class's module is found while it runs
    try:
        with _on_the_path(str(path.absolute().parent)):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise _raised_on_import(option, error) from None


def _same_file(recorded: str | None, path: Path) -> bool:
    try:
        return recorded is not None and Path(recorded).samefile(path)
    except OSError:
        return False


@contextlib.contextmanager
def _on_the_path(directory: str) -> Iterator[None]:
    """``directory`` first on ``sys.path`` while a module is imported (not after: the command
    looks up no module of the user's after), unless it is there already."""
    there = any(_same_directory(entry, directory) for entry in sys.path)
    if not there:
        sys.path.insert(0, directory)
    try:
        yield
    finally:
        if not there and directory in sys.path:
            sys.path.remove(directory)


def _same_directory(entry: str, directory: str) -> bool:
    import os

    try:
        return os.path.samefile(entry or os.curdir, directory)
    except OSError:
        return False


def _raised_on_import(option: str, error: BaseException) -> UserError:
    """The one line for a module that raised while imported: the exception's class and its
    message's lines joined, no traceback (the user's own file: they can run it to see one)."""
    if isinstance(error, SystemExit):
        message = f"SystemExit({error.code!r})"
    else:
        text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return UserError(f"{option}: importing it raised {message}")


def refuse_import_after_the_command(ctx: Any, args: list[str]) -> None:
    """``chainrule explain --import mylosses``: ``--import`` is chainrule's own option, read
    before the command (click said "No such option: --import")."""
    for arg in args:
        if arg == "--":
            return
        if arg == IMPORT_OPTION or arg.startswith(f"{IMPORT_OPTION}="):
            command = ctx.info_name or "COMMAND"
            ctx.fail(
                f"{IMPORT_OPTION} is chainrule's own option: give it before the command, "
                f"chainrule {IMPORT_OPTION} MODULE {command} ..."
            )
