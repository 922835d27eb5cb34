"""QA findings (s51) on model files: what a save killed outright (SIGKILL) leaves behind, the
weights it may leave beside another save's description, and class names given as one string.

Each kill is made deterministic by a subprocess that saves once, then patches the one call it
must die in (the renames of the two files, or the folder's rename) to SIGKILL itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError

SRC = str(Path(io.__file__).resolve().parents[1])


def killed_save(target: Path, patch: str) -> None:
    """Run a process that saves a model at ``target`` (class names a, b), then saves another
    (class names x, y) with ``patch`` applied, which SIGKILLs it midway."""
    script = (
        textwrap.dedent(
            f"""
        import os, signal, sys
        from pathlib import Path
        from chainrule import io, nn
        target = Path({str(target)!r})

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=0)), class_names=["a", "b"])
        """
        )
        + textwrap.dedent(patch)
        + textwrap.dedent(
            """
        io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=1)), class_names=["x", "y"])
        sys.exit("the save was not killed")
        """
        )
    )
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr


def hidden(directory: Path) -> list[str]:
    return sorted(child.name for child in directory.iterdir() if child.name.startswith("."))


def age(directory: Path, seconds: float = io.STALE_STAGING_SECONDS + 60) -> None:
    """Make every hidden entry of ``directory`` (and what a folder of them holds) look
    ``seconds`` old: a later save removes only a staging folder nothing has written in since."""
    then = time.time() - seconds
    for name in hidden(directory):
        entry = directory / name
        for path in [*(entry.iterdir() if entry.is_dir() else []), entry]:
            os.utime(path, (then, then))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_save_killed_while_replacing_leaves_a_staging_folder_the_next_save_removes(tmp_path):
    """Killed after writing both files in full, before renaming them: the hidden staging folder
    (a full-size .tmp-model.safetensors.* in it) was never removed by any later save."""
    target = tmp_path / "bigm"
    killed_save(target, "io.replace_together = die\n")
    (leftover,) = hidden(target)
    assert leftover.startswith(".tmp-model.json.")
    staged = sorted(p.name for p in (target / leftover).iterdir())
    assert staged == ["model.json", "model.safetensors"]
    _, info = io.load_model(target)
    assert info["class_names"] == ["a", "b"]  # the old model, whole
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=2)), class_names=["p", "q"])
    assert hidden(target) == [leftover]  # young: it could be another process's save
    age(target)
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=2)), class_names=["p", "q"])
    assert hidden(target) == []
    assert io.load_model(target)[1]["class_names"] == ["p", "q"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_save_killed_between_the_two_renames_is_refused_at_load_not_mixed(tmp_path):
    """Killed after renaming model.safetensors and before model.json: the new weights lay
    beside the old description (its class names), and loaded as one model without a word."""
    target = tmp_path / "bigm"
    patch = f"""
        real_replace = os.replace
        def replace(source, destination, *args, **kwargs):
            if Path(destination) == target / {io.MODEL_JSON!r}:
                die()
            return real_replace(source, destination, *args, **kwargs)
        os.replace = replace
        """
    killed_save(target, patch)
    described = json.loads((target / io.MODEL_JSON).read_text())
    assert described["class_names"] == ["a", "b"]  # the old description, the new weights
    with pytest.raises(ModelFileError, match=r"model.safetensors: holds other weights than "
                       r"model.json was saved with .*killed between"):  # fmt: skip
        io.load_model(target)
    # the way out the message gives: without the field, the pair loads as it is
    del described[io.DIGEST_KEY]
    (target / io.MODEL_JSON).write_text(json.dumps(described))
    model, _ = io.load_model(target)
    np.testing.assert_array_equal(model[0].weight.numpy(), nn.Linear(3, 2, rng=1).weight.numpy())
    # and saving again makes a whole model, the leftover staging folder gone once it is old
    age(target)
    io.save_model(target, model, class_names=["x", "y"])
    assert io.load_model(target)[1]["class_names"] == ["x", "y"] and hidden(target) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_first_save_killed_before_its_rename_leaves_nothing_the_next_save_keeps(tmp_path):
    """A new directory is staged beside it (.tmp-<name>.XXXXXXXX) and renamed into place:
    killed before the rename, that folder stayed in the parent. Look-alikes that chainrule's
    own naming did not make for this model stay."""
    target = tmp_path / "fresh"
    patch = """
        import shutil
        shutil.rmtree(target)
        os.rename = die
        """
    killed_save(target, patch)
    (leftover,) = hidden(tmp_path)
    assert leftover.startswith(".tmp-fresh.") and not target.exists()
    kept = [".tmp-fresh.v2.abcd1234", ".tmp-notes", ".tmp-fresh.old"]
    for name in kept:
        (tmp_path / name).mkdir()
    age(tmp_path)
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=0)))
    assert hidden(tmp_path) == sorted(kept)
    (target / ".tmp-model.json.old").write_text("the user's")
    (target / ".tmp-model.json.abc").mkdir()
    age(target)
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=1)))
    assert hidden(target) == [".tmp-model.json.abc", ".tmp-model.json.old"]


def test_class_names_given_as_one_string_are_refused_not_split_into_letters(tmp_path):
    """save_model stored class_names="ab" as the two names "a" and "b"."""
    with pytest.raises(ConfigError, match=r"class_names must be a list of names, not the "
                       r"string 'ab'"):  # fmt: skip
        io.save_model(tmp_path / "m", nn.Sequential(nn.Linear(3, 2, rng=0)), class_names="ab")
    assert not (tmp_path / "m").exists()


def test_a_young_staging_folder_is_kept_for_the_save_that_may_be_writing_it(tmp_path):
    """Every rank of a job saving to one path: a save removed another's staging folder as it
    wrote it (36 of 45 saves failed in three processes, QA). A folder written in within the
    hour is left; one of the same name but old is removed."""
    target = tmp_path / "m"
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=0)))
    live = target / ".tmp-model.json.abcd1234"
    live.mkdir()
    (live / "model.safetensors").write_bytes(b"being written")
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=1)))
    assert (live / "model.safetensors").read_bytes() == b"being written"
    age(target)
    io.save_model(target, nn.Sequential(nn.Linear(3, 2, rng=1)))
    assert not live.exists()
