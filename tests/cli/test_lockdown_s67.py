"""chainrule in a locked-down container (a QA run, s67: a user without a writable home, a
read-only working directory and /tmp, umask 077):

1. ``train`` trained, then failed without saving the model where matplotlib had no folder it
   could write (its import raised), and the resume it suggested failed alike; where /tmp could
   be written matplotlib made a folder there (saying so in a log line), which a kill left.
   matplotlib now keeps its cache in the run directory meanwhile, removed after.
2. The umask was read once, when chainrule was imported: a service that set its own after
   that wrote its files with the old one.
3. ``evaluate`` of a run whose resume was killed (checkpoints newer than its model/) printed the
   old model's numbers without a word.
4. Messages: the default run directory in a read-only working directory was "runs: Permission
   denied"; ``--out /nonexistent/x`` "/nonexistent: Permission denied"; ``predict -o`` wrote
   "PATH: Read-only file system" where explain, graph and export write "--out PATH: cannot
   write (...)".
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_run import assert_user_error, run

import chainrule
from chainrule import files
from chainrule.cli import train as train_cli

RUN_FILES = {"checkpoints", "model", "history.json", "curves.png", "run.json"}

#: A child that trains as a locked-down user would: ``tempfile``'s folder is ``LOCKED_TMP``'s
#: where given (a path under /proc: nothing can be made there, root included, as in a
#: read-only /tmp), then ``chainrule ARGS``; ``KILL_AFTER_PLOT`` set: killed outright
#: (SIGKILL) once curves.png is drawn. matplotlib's notice that it builds its font cache, which
#: it logs where that takes over 5 seconds (on a loaded machine), comes at once.
CHILD = """
import os, signal, sys, tempfile, threading
if os.environ.get("LOCKED_TMP"):
    tempfile.tempdir = os.environ["LOCKED_TMP"]
later = threading.Timer
threading.Timer = lambda seconds, *args, **kwargs: later(0, *args, **kwargs)
if os.environ.get("KILL_AFTER_PLOT"):
    import chainrule.viz.curves as curves
    drawn = curves.plot_history
    def plot_and_die(*args, **kwargs):
        drawn(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    curves.plot_history = plot_and_die
from chainrule.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _locked_down(tmp_path: Path, *args, **env) -> subprocess.CompletedProcess:
    """``chainrule ARGS`` in a child without a folder matplotlib can write: its home is a file
    (nothing can be made in it, root included), MPLCONFIGDIR a path under /proc."""
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPL"))}
    child_env.update(
        PYTHONPATH=str(Path(chainrule.__file__).parents[1]), HOME=str(home),
        MPLCONFIGDIR="/proc/chainrule-no-such-folder", **env,
    )  # fmt: skip
    return subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], env=child_env,
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip


# -- 1. matplotlib without a folder of its own --------------------------------------------------


def test_train_saves_its_run_where_matplotlib_can_write_no_folder_nor_tmp(tmp_path):
    out = tmp_path / "run"
    done = _locked_down(tmp_path, "train", "--data", "xor", "--hidden", "2", "--epochs", "2",
                        "--explain", "--out", out, "-q",
                        LOCKED_TMP="/proc/chainrule-no-such-tmp")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "atplotlib" not in done.stderr  # neither its error nor its log line
    # every result, the plots too; matplotlib's folder gone with the run
    assert {p.name for p in out.iterdir()} == RUN_FILES | {"gradient_health.png"}
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_a_kill_while_plotting_leaves_no_matplotlib_folder_in_tmp(tmp_path, capsys):
    """matplotlib's own way out (a temporary folder in /tmp, removed at exit) leaves the folder
    to a kill; the one in the run directory is a leftover of the run, which a resume removes."""
    out, tmp = tmp_path / "run", tmp_path / "tmp"
    tmp.mkdir()
    done = _locked_down(tmp_path, "train", "--data", "xor", "--hidden", "2", "--epochs", "2",
                        "--out", out, "-q", TMPDIR=str(tmp), KILL_AFTER_PLOT="1")  # fmt: skip
    assert done.returncode == -9, done.stderr
    assert list(tmp.iterdir()) == []
    assert "atplotlib" not in done.stderr
    left = [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and left[0].startswith(".tmp-matplotlib."), left
    code, _, err = run(capsys, "train", "--resume", out, "-q")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RUN_FILES


def test_an_empty_out_holding_a_killed_runs_matplotlib_folder_is_empty(tmp_path, capsys):
    out = tmp_path / "run"
    (out / ".tmp-matplotlib.k2x_9qzw").mkdir(parents=True)
    code, _, err = run(capsys, "train", "--data", "xor", "--hidden", "2", "--epochs", "1",
                       "--out", out, "-q")  # fmt: skip
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RUN_FILES


# -- 2. the umask as it is when a file is written ------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process's umask in a test (``umask(0o027)``), put back after."""
    before = os.umask(0o022)
    os.umask(before)
    yield os.umask
    os.umask(before)


@pytest.mark.parametrize("read_by", ["proc", "set-and-restore"])
def test_files_get_the_umask_set_after_chainrule_was_imported(tmp_path, umask, monkeypatch,
                                                              read_by):  # fmt: skip
    if read_by == "set-and-restore":  # no /proc (macOS): os.umask set and put back
        monkeypatch.setattr(files, "_PROC_STATUS", str(tmp_path / "no-proc-status"))
    for k, mask in enumerate((0o027, 0o002, 0o077)):
        umask(mask)
        written = files.atomic_write_bytes(tmp_path / f"file{k}", b"x")
        folder = files.staging_dir(tmp_path / f"folder{k}")
        assert _mode(written) == 0o666 & ~mask and _mode(folder) == 0o777 & ~mask
        assert files.current_umask() == mask
        assert umask(mask) == mask  # left as it was


def test_threads_reading_the_umask_by_setting_it_leave_it_as_it_was(tmp_path, umask,
                                                                    monkeypatch):  # fmt: skip
    monkeypatch.setattr(files, "_PROC_STATUS", str(tmp_path / "no-proc-status"))
    umask(0o027)
    seen: list[int] = []

    def read() -> None:
        seen.extend(files.current_umask() for _ in range(200))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen) == {0o027} and umask(0o027) == 0o027


def test_a_run_is_written_with_the_umask_of_when_it_runs(tmp_path, capsys, umask):
    umask(0o077)
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", "xor", "--hidden", "2", "--epochs", "1",
                       "--out", out, "-q")  # fmt: skip
    assert code == 0, err
    for name in ("run.json", "history.json", "curves.png", "model/model.json"):
        assert _mode(out / name) == 0o600, name
    assert _mode(out / "model") == 0o700


# -- 3. evaluate of a run whose resume was killed ------------------------------------------------


def test_evaluate_of_a_run_with_checkpoints_newer_than_its_model_says_so(tmp_path, capsys,
                                                                        monkeypatch):  # fmt: skip
    out = tmp_path / "run"
    common = ["--data", "xor", "--hidden", "2", "-q"]
    assert run(capsys, "train", *common, "--epochs", "3", "--out", out)[0] == 0
    code, before, err = run(capsys, "evaluate", out)
    assert code == 0 and err == "", err

    def killed(*args, **kwargs):  # the resume stopped where it writes its results
        (out / "run.json").unlink()
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(train_cli, "_finish", killed)
        assert run(capsys, "train", "--resume", out, "--epochs", "6", "-q")[0] == 130
    code, after, err = run(capsys, "evaluate", out)
    assert code == 0 and after == before  # the old model's numbers, as they were
    assert err == (
        f"note: {out}: its training did not finish: its checkpoints reach epoch 6, past its "
        f"model/ of epoch 3, which this uses; finish it with chainrule train --resume {out}, "
        f"or give {out / 'checkpoints'} for its latest checkpoint\n"
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("0,1\n")
    code, _, err = run(capsys, "predict", out, "--input", rows)
    assert code == 0 and err.count("\n") == 1 and "did not finish" in err
    exported = tmp_path / "m.safetensors"  # export said nothing (review 2)
    code, _, err = run(capsys, "export", out, "--format", "torch", "--out", exported)
    assert code == 0 and err.startswith(f"note: {out}: its training did not finish"), err
    # finished as the note says: no note
    assert run(capsys, "train", "--resume", out, "-q")[0] == 0
    code, _, err = run(capsys, "evaluate", out)
    assert code == 0 and err == ""


# -- 4. messages naming the path -----------------------------------------------------------------


def _refuse_making_inside(monkeypatch, directory: Path, number: int) -> None:
    """Every folder made inside ``directory`` fails with ``number`` (root makes folders past
    permission bits: chmod cannot stand in for a read-only directory in these tests)."""
    inside = os.path.realpath(directory) + os.sep
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        made = os.path.realpath(path)
        if made.startswith(inside) and os.path.isdir(os.path.dirname(made)):  # else ENOENT
            raise OSError(number, os.strerror(number), os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)


def test_the_default_run_directory_in_a_read_only_directory_names_it_and_out(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as patch:
        _refuse_making_inside(patch, tmp_path, errno.EACCES)
        line = assert_user_error(capsys, "train", "--data", "xor", "--epochs", "1",
                                 match="Permission denied")  # fmt: skip
    assert line == (
        f"chainrule: cannot create the run directory {tmp_path / 'runs'} (Permission denied); "
        "give --out DIR to write the run elsewhere"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_cannot_be_created_says_which_folder(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    with monkeypatch.context() as patch:
        _refuse_making_inside(patch, locked, errno.EACCES)
        line = assert_user_error(capsys, "train", "--data", "xor", "--epochs", "1", "--out",
                                 locked / "a" / "run", match="cannot create")  # fmt: skip
        assert line == (
            f"chainrule: --out {locked / 'a' / 'run'}: cannot create {locked / 'a'} "
            "(Permission denied)"
        )
        line = assert_user_error(capsys, "train", "--data", "xor", "--epochs", "1", "--out",
                                 locked / "run", match="cannot create")  # fmt: skip
        assert line == f"chainrule: --out {locked / 'run'}: cannot create (Permission denied)"
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("number", [errno.EROFS, errno.EFBIG, errno.EACCES])
def test_every_command_says_a_file_it_cannot_write_in_one_wording(tmp_path, capsys, monkeypatch,
                                                                  number):  # fmt: skip
    out = tmp_path / "run"
    assert run(capsys, "train", "--data", "xor", "--hidden", "2", "--epochs", "1", "--out", out,
               "-q")[0] == 0  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_text("0,1\n")

    def refused(path, data):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(files, "_write_replace", refused)
    target = tmp_path / "written"
    reason = os.strerror(number)
    for command in (["predict", out, "--input", rows, "-o", f"{target}.csv"],
                    ["explain", "--out", f"{target}.html"],
                    ["graph", "--out", f"{target}.svg"]):  # fmt: skip
        option = "--output" if command[0] == "predict" else "--out"
        line = assert_user_error(capsys, *command, match=reason)
        assert line == f"chainrule: {option} {command[-1]}: cannot write ({reason})", line
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("written")]
