"""A save's staging folder is taken for a killed save's leftover only when nothing in it, however
deep, has been written for an hour.

The age was the newest modification time of the folder and its direct children: a save writing
a file two folders down (a nested path) changes neither, so a later save to the same path
removed the folder under that live writer. The oracle is the file system's own times, set with
``os.utime``: every entry old and the folder goes; one fresh file anywhere below keeps it."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from chainrule import io, nn

OLD = time.time() - io.STALE_STAGING_SECONDS - 600  # well past the hour


def _leftover(target: Path) -> Path:
    """A staging folder as a killed first save to ``target`` leaves beside it (chainrule's own
    name for it: ``.tmp-<name>.`` and eight random characters), three folders deep."""
    staged = target.parent / f".tmp-{target.name}.abcd1234"
    deep = staged / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (staged / "model.json").write_text("{}")
    (deep / "part.bin").write_bytes(b"\0" * 16)
    return staged


def _age_all(root: Path, when: float = OLD) -> None:
    """Set every entry under ``root`` (and ``root``) to ``when``: children before their folder,
    since writing a file would move its folder's time again."""
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in [*files, *dirs]:
            os.utime(Path(folder) / name, (when, when), follow_symlinks=False)
    os.utime(root, (when, when))


def _save(target: Path) -> None:
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=0)))


def test_a_fresh_file_deep_inside_keeps_the_folder_and_an_old_tree_goes(tmp_path):
    target = tmp_path / "m"
    staged = _leftover(target)
    # a link inside to a fresh folder elsewhere: not followed, its own (old) time counts, and
    # nothing outside the staging folder is removed with it
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "fresh.txt").write_text("kept")
    with contextlib.suppress(OSError, NotImplementedError):  # no links here: the rest stands
        os.symlink(outside, staged / "a" / "link")
    _age_all(staged)
    now = time.time()
    # a live save writing two folders down: the file's time is fresh, no folder's changes
    os.utime(staged / "a" / "b" / "c" / "part.bin", (now, now))
    _save(target)
    assert staged.is_dir(), "a staging folder being written deep inside was removed"
    assert (staged / "a" / "b" / "c" / "part.bin").exists()
    _age_all(staged)  # the writer gone an hour: everything old, however deep
    _save(target)
    assert not staged.exists()
    assert (outside / "fresh.txt").read_text() == "kept"
    assert io.load_model(target)[0] is not None  # and the save itself is whole


def test_a_fresh_folder_deep_inside_keeps_the_staging_folder(tmp_path):
    target = tmp_path / "m"
    staged = _leftover(target)
    _age_all(staged)
    now = time.time()
    os.utime(staged / "a" / "b", (now, now))  # a file just made (or removed) in a/b
    _save(target)
    assert staged.is_dir()


def test_the_staging_folder_of_the_two_files_inside_a_model_directory_too(tmp_path):
    """The other leftover a killed save leaves: ``.tmp-model.json.XXXXXXXX`` in the model's
    own directory, replaced by a save into it."""
    target = tmp_path / "m"
    _save(target)
    staged = target / ".tmp-model.json.abcd1234"
    deep = staged / "x" / "y"
    deep.mkdir(parents=True)
    (deep / "model.safetensors").write_bytes(b"\0" * 16)
    _age_all(staged)
    now = time.time()
    os.utime(deep / "model.safetensors", (now, now))
    _save(target)
    assert staged.is_dir()
    _age_all(staged)
    _save(target)
    assert not staged.exists()


def test_an_entry_removed_during_the_walk_is_skipped(tmp_path, monkeypatch):
    """A live save may remove its own files while the age is read: the walk goes on and the
    rest still counts (here a fresh file beside it keeps the folder)."""
    target = tmp_path / "m"
    staged = _leftover(target)
    gone = staged / "a" / "gone.bin"
    gone.write_bytes(b"1")
    _age_all(staged)
    now = time.time()
    os.utime(staged / "a" / "b" / "c" / "part.bin", (now, now))
    real_scandir = os.scandir

    @contextlib.contextmanager
    def scandir_then_remove(path):
        with real_scandir(path) as listing:
            entries = list(listing)
        if Path(path) == staged / "a" and gone.exists():
            gone.unlink()  # listed, then removed before its time is read
        yield iter(entries)

    monkeypatch.setattr(io.os, "scandir", scandir_then_remove)
    assert io._unwritten_for(staged, io.STALE_STAGING_SECONDS) is False
    monkeypatch.undo()
    assert not gone.exists()  # the walk listed it and then found it gone
    _age_all(staged)
    assert io._unwritten_for(staged, io.STALE_STAGING_SECONDS) is True
