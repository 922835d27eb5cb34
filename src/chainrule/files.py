"""Writing files so that nothing is ever half-written: the one home of chainrule's atomic writes.

Every file chainrule writes (model weights, checkpoints, plots, derivations, graphs) goes to a
temporary file beside its destination, is flushed to disk, and then replaces the destination
with :func:`os.replace`, which is atomic on POSIX and Windows: a reader, or a run stopped by
Ctrl-C, sees the old file or the new one, never a part. Temporary files are created private
(``tempfile`` uses mode 0600); before the rename they get the mode of the file they replace
(a handout kept at 0640 stays 0640, as writing it in place would leave it), and a new file the
mode an ordinary file or folder would have had under the user's umask.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: The prefix of every temporary file or folder; whatever starts with it is an unfinished write.
TMP_PREFIX = ".tmp-"


#: Where Linux shows a process's umask without changing it (``Umask:``, since Linux 4.7).
_PROC_STATUS = "/proc/self/status"

#: Held while :func:`current_umask` sets the umask to read it and puts it back.
_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask now, read each time a file or folder is made: read once at import,
    a service that set its umask after importing chainrule had its files made with the old one.

    Linux shows it in ``/proc/self/status``, read without changing it. Elsewhere the one way
    to learn it is to set it and put it back (``os.umask`` returns the old one): under a lock,
    so that two threads reading it never put back each other's, and set meanwhile to 0o077,
    so that a file another thread makes in that instant is private rather than open to all."""
    try:
        with open(_PROC_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (best effort: not every platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: The separators a path may end in: "/" everywhere, and the platform's own ("\\" on Windows).
_SEPARATORS = tuple({"/", os.sep, os.altsep or "/"})


def file_path_problem(path: str | os.PathLike, example: str | None = None) -> str | None:
    """Why ``path``, given as a file to write, names a directory instead, or None where it may
    name a file: the one rule of every writer of a single file (``atomic_write_bytes`` and so
    ``io.write_arrays``, ``interop.to_onnx``, ``interop.save_torch``, the commands' ``--out``).

    A name ending in a separator (``exports/``), ``.`` or ``..`` names a directory, and
    ``Path("exports/")`` is ``exports``, so it was written as a file of that name; an existing
    directory is one too. Each caller raises the reason as its own error class. ``example`` (a
    file name, ``model.onnx``) is joined to ``path`` to show the name to give.
    """
    text = os.fspath(path)
    last = text.replace(os.sep, "/").rsplit("/", 1)[-1]
    if text.endswith(_SEPARATORS) or last in ("", ".", ".."):
        what = "names a directory"
    elif os.path.isdir(text):  # not Path.is_dir, which raises for a name too long
        what = "is a directory"
    else:
        return None
    hint = f", e.g. {str(Path(text) / example)!r}" if example else ""
    return f"{text!r} {what}, not a file; give the name of the file to write{hint}"


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes | Iterable[bytes], *, example: str | None = None
) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    ``data`` may be its bytes in parts (an iterable of ``bytes``, such as a generator that
    makes each as it is written: predict's output, a part of its rows at a time), so the whole
    never has to be held; an error while the parts are made leaves the old file as it was.

    A symbolic link's target is written (the link stays); a path that names a directory (an
    existing one, or a name ending in ``/``, ``.`` or ``..``: :func:`file_path_problem`, whose
    ``example`` file name the error suggests) is refused as an :class:`IsADirectoryError`, and a
    path that names a device, a pipe or a socket as a :class:`FileExistsError`, as a rename
    would replace it with a plain file. An operating-system error (a missing or read-only
    directory, a full disk) is raised as the same kind of :class:`OSError` naming ``path``
    itself, not the temporary file, and leaves no temporary file behind.
    """
    problem = file_path_problem(path, example)
    if problem is not None:  # before Path(), which drops a trailing separator
        raise IsADirectoryError(errno.EISDIR, problem, os.fspath(path))
    path = Path(path)
    if path.is_symlink():  # the file the link names is written; the link stays a link
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():  # renaming over a device or a pipe replaces it
        raise FileExistsError(
            errno.EEXIST, "exists and is not a regular file (a device, pipe or socket)", str(path)
        )
    try:
        _write_replace(path, data)
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno == errno.ENOENT and not path.parent.is_dir():  # not the file: its folder
            reason = f"No such directory {str(path.parent)!r} to write it in"
        raise type(error)(error.errno, reason, str(path)) from error
    fsync_dir(path.parent)
    return path


def _temporary_prefix(name: str) -> str:
    """The prefix of a temporary file or folder for the destination ``name``: its first 100
    bytes (whole characters), so that a legal name of 255 bytes is still a legal temporary one
    (the prefix and ``tempfile``'s random part pushed it past the file system's limit)."""
    return f"{TMP_PREFIX}{os.fsencode(name)[:100].decode(errors='ignore')}."


def _write_replace(path: Path, data: bytes | Iterable[bytes]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(path.name), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _mode_for(path))
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


#: What each kind of file that is neither a regular file nor a folder is called.
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(mode: int) -> str | None:
    """What a file of ``mode`` (``os.stat(path).st_mode``) is where it is neither a regular
    file nor a folder ("a pipe", "a character device" such as /dev/zero, ...), else None: a
    reader must refuse such a file before it reads (a device never ends, a pipe waits for a
    writer and can be read once). The one home of those names, for the data and model readers."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")


def _mode_for(path: Path) -> int:
    """The permissions the file written at ``path`` gets: those of the file it replaces, else
    0o666 less the umask (what ``open()`` would give a new file)."""
    try:  # the permission bits only: a write in place by its owner clears setuid and setgid
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def strict_json(obj: Any) -> Any:
    """``obj`` (dicts, lists and numbers) with every NaN or infinite float as None: what a
    strict JSON parser reads (Python's ``json`` writes them as NaN and Infinity, which are
    no JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: strict_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(value) for value in obj]
    return obj


def json_value(value: Any) -> Any:
    """``json.dumps``'s ``default`` for chainrule's files: a NumPy number or array (in a model's
    ``meta``, a standardizer's state) as the JSON number or list it holds; anything else is
    refused naming its type, before anything is written."""
    import numpy as np  # numbers of NumPy are only ever in files that NumPy made

    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(
        f"{value!r:.60} of type {type(value).__name__} is not JSON: give meta, a "
        "standardizer and class names as numbers, strings, lists and dicts"
    )


def json_text(obj: Any) -> str:
    """``obj`` as the indented JSON chainrule's files hold (NumPy numbers as plain ones)."""
    return json.dumps(obj, indent=2, allow_nan=True, default=json_value, ensure_ascii=False) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (:func:`json_text`)."""
    return atomic_write_text(path, json_text(obj))


#: Errors that say a folder cannot be written in at all (not that a name is wrong)
_CANNOT_WRITE_THERE = frozenset((errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC))


def staging_dir(destination: str | os.PathLike) -> Path:
    """A new empty folder beside ``destination``, to fill and then rename into its place.

    It gets an ordinary folder's mode (not the private 0700 of :func:`tempfile.mkdtemp`), so
    the renamed folder is readable as any other the user makes.
    """
    destination = Path(destination)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(destination.name),
                                    dir=destination.parent))  # fmt: skip
    except OSError as error:
        if error.errno not in _CANNOT_WRITE_THERE:  # a name too long: the name it tried
            raise
        # named by the folder the user knows, not the random name tried in it
        raise type(error)(error.errno, error.strerror, str(destination.parent)) from None
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def prove_writable(directory: str | os.PathLike) -> None:
    """Make an empty folder in the existing ``directory`` and remove it again, or raise the
    :class:`OSError` (read-only file system, permission denied, full disk) naming
    ``directory``: what creating a new directory proves of its parent, proved of one that is
    there already. A run given an existing empty directory on a read-only mount trained a whole
    epoch before its first checkpoint found that out; permission bits alone do not tell
    (root writes past them, a read-only mount refuses everyone)."""
    staging_dir(Path(directory) / "probe").rmdir()


def replace_together(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Rename each ``(staged, destination)`` file over its destination, all or none: files that
    belong together (a model's weights and the description that claims them) are never left
    half old, half new.

    Ctrl-C and SIGTERM wait until every rename is done (see :func:`interrupts_held`), and a
    rename that fails puts back the destinations renamed before it, from links to the old
    files taken first (a destination that did not exist is removed again). The staged files'
    folder holds those links; the caller removes it.
    """
    olds = [
        _keep_old(destination, staged.with_name(staged.name + ".old"))
        for staged, destination in pairs
    ]
    for (staged, destination), old in zip(pairs, olds):
        if old is not None:  # a file replaced keeps its permissions, as atomic writes do
            os.chmod(staged, _mode_for(destination))
    done: list[tuple[Path, Path | None | bool]] = []
    with interrupts_held():
        try:
            for (staged, destination), old in zip(pairs, olds):
                os.replace(staged, destination)
                done.append((destination, old))
        except BaseException:
            for destination, old in reversed(done):
                with contextlib.suppress(OSError):
                    if isinstance(old, Path):
                        os.replace(old, destination)
                    elif old is None:  # it did not exist before
                        os.unlink(destination)
            raise


def _keep_old(destination: Path, keep: Path) -> Path | None | bool:
    """A copy of ``destination`` at ``keep`` to put back (a hard link, else a copy where a
    file system has none); None where there is no old file; False where it could not be kept
    (it is then never removed: without hard links the put-back deleted the old file)."""
    if not destination.exists():
        return None
    try:
        os.link(destination, keep)
    except OSError:
        try:
            shutil.copy2(destination, keep)
        except OSError:
            return False
    return keep


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back until the block ends, then deliver them as they
    came: for a few renames that must all happen. Outside the main thread (where Python runs
    signal handlers) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    held = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is not None:  # None: a handler Python did not install
            held[number] = signal.signal(number, lambda n, _frame: arrived.append(n))
    try:
        yield
    finally:
        for number, handler in held.items():
            signal.signal(number, handler)
        for number in arrived:
            signal.raise_signal(number)


#: The name a folder is moved aside to while a new one takes its name (:func:`replace_dir`).
ASIDE_PREFIX = ".replaced-"


def replace_dir(staged: Path, destination: Path) -> None:
    """Put the complete folder ``staged`` in place of ``destination`` (a folder, or nothing),
    by renames only: the old folder is moved aside (``.replaced-<name>`` beside it), the new
    one renamed in, then the old one removed. A failure puts the old folder back; a process
    killed outright leaves ``destination`` whole, or the old folder aside with no
    ``destination``, which :func:`restore_replaced` puts back (a folder is never deleted
    before its replacement has its name). Ctrl-C and SIGTERM wait for the two renames."""
    aside = destination.with_name(ASIDE_PREFIX + destination.name)
    restore_replaced(destination)  # a kill's leftover first: the name must be free
    with interrupts_held():
        moved = destination.exists()
        if moved:
            os.rename(destination, aside)
        try:
            os.rename(staged, destination)
        except BaseException:
            if moved:
                with contextlib.suppress(OSError):
                    os.rename(aside, destination)
            raise
    fsync_dir(destination.parent)
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def restore_replaced(destination: Path) -> None:
    """Undo what a :func:`replace_dir` killed midway left: the old folder moved aside is put
    back where ``destination`` is missing, and removed where the new one has its name."""
    aside = destination.with_name(ASIDE_PREFIX + destination.name)
    if not aside.is_dir() or aside.is_symlink():
        return
    if destination.exists() or destination.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(aside, destination)
