"""Three command-line defects a QA student found (s56), each a user's mistake refused in one line
(exit 2, no traceback, nothing written):

1. ``train --out DIR``, DIR an existing empty directory that cannot be written in (a read-only
   mount), trained a whole epoch and then failed at its first checkpoint, where a new
   ``--out DIR/run`` was refused at once; ``--resume`` of a read-only run did the same.
2. ``evaluate --data FILE`` of the model's inputs without a label column read the last input as
   the label ("label 0.2 is not an integer class") instead of naming the missing column.
3. A CSV file whose line 1 is a ``# comment`` over a header was refused as "line 2: 3 fields,
   expected 1", without saying that line 1 is a comment, which the reader does not skip.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data, io, nn
from chainrule.errors import DataError

# -- 1. a run directory that cannot be written in ------------------------------------------------


def _writes_refused_inside(monkeypatch, directory):
    """Make every folder or file created inside ``directory`` fail as on a read-only mount
    (root writes past permission bits, so chmod cannot stand in for one in these tests);
    ``directory`` itself can still be opened, and made where it does not exist."""
    inside = os.path.realpath(directory) + os.sep
    real_mkdir, real_open = os.mkdir, os.open

    def refused(path):
        if os.path.realpath(path).startswith(inside):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    def mkdir(path, *args, **kwargs):
        refused(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            refused(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)


def test_an_existing_empty_out_that_cannot_be_written_is_refused_before_training(
    tmp_path, capsys, monkeypatch
):
    out = tmp_path / "ro"
    out.mkdir()
    with monkeypatch.context() as patch:
        _writes_refused_inside(patch, out)
        code, stdout, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--out", out)
    assert code == 2 and stdout == ""
    # no epoch line before it (the epoch used to be trained first), and the directory itself
    # named, not the checkpoint that failed after it
    assert err == f"chainrule: {out}: Read-only file system\n"
    assert list(out.iterdir()) == []
    # writable again: the run goes ahead, and its probe leaves nothing behind
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "1", "--out", out, "--quiet")
    assert code == 0, err
    assert not [p for p in out.rglob("*") if p.name.startswith(".tmp-")]
    assert (out / "model").is_dir() and (out / "run.json").is_file()


def test_a_resumed_run_that_cannot_be_written_is_refused_before_training(
    tmp_path, capsys, monkeypatch
):
    run_dir = tmp_path / "run"
    common = ["train", "--data", "xor", "--quiet"]
    assert run(capsys, *common, "--epochs", "1", "--out", run_dir)[0] == 0
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    with monkeypatch.context() as patch:
        _writes_refused_inside(patch, run_dir)
        code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", "2", "--quiet")
    assert code == 2
    assert err == f"chainrule: {run_dir}: Read-only file system\n"
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before


@pytest.fixture
def unwritable_dir(tmp_path):
    """An empty directory nobody can write in: a read-only bind mount as root (where chmod does
    not stop writes), a directory of mode 0555 otherwise; skipped where neither is to be had."""
    directory = tmp_path / "ro"
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)
        return
    mount = shutil.which("mount")
    made = mount is not None and all(
        subprocess.run([mount, *args], capture_output=True).returncode == 0
        for args in (["--bind", directory, directory], ["-o", "remount,bind,ro", directory])
    )
    try:
        if not made or os.access(directory, os.W_OK) and _can_write(directory):
            pytest.skip("no read-only bind mount here (root needs one: chmod does not stop it)")
        yield directory
    finally:
        subprocess.run(["umount", directory], capture_output=True)


def _can_write(directory):
    try:
        (directory / "x").write_text("")
    except OSError:
        return False
    (directory / "x").unlink()
    return True


def test_train_refuses_an_unwritable_out_at_once_whether_it_exists_or_not(unwritable_dir, capsys):
    words = "Read-only file system" if os.geteuid() == 0 else "Permission denied"
    line = assert_user_error(capsys, "train", "--data", "xor", "--epochs", "2",
                             "--out", unwritable_dir, match=words)  # fmt: skip
    assert line == f"chainrule: {unwritable_dir}: {words}"  # the directory, not its checkpoints
    assert_user_error(capsys, "train", "--data", "xor", "--epochs", "2",
                      "--out", unwritable_dir / "run", match=words)  # fmt: skip
    assert list(unwritable_dir.iterdir()) == []


# -- 2. a file for evaluate without its label column ---------------------------------------------

ROWS = ["5.1,3.5,1.4,0.2", "4.9,3.0,1.4,0.2", "6.3,3.3,6.0,2.5"]


@pytest.fixture
def iris_model(tmp_path):
    """A saved classifier of 4 inputs and 3 classes."""
    return io.save_model(tmp_path / "model", nn.mlp([4, 5, 3], rng=0), loss="cross-entropy")


def test_evaluate_names_a_missing_label_column(tmp_path, capsys, iris_model):
    inputs = tmp_path / "inputs.csv"
    inputs.write_text("sl,sw,pl,pw\n" + "\n".join(ROWS) + "\n")
    words = (
        f"inputs.csv: 3 input features but the model {iris_model} expects 4, taking the last of "
        "its 4 columns as the label; is the label column missing? (the model takes 4 inputs and "
        "a label column; predict takes rows without labels)"
    )
    line = assert_user_error(capsys, "evaluate", iris_model, "--data", inputs, match=words)
    assert "not an integer class" not in line
    no_header = tmp_path / "no_header.csv"  # no names to tell a label column by either
    no_header.write_text("\n".join(ROWS) + "\n")
    width = "3 input features but the model"
    line = assert_user_error(capsys, "evaluate", iris_model, "--data", no_header, match=width)
    assert "is the label column missing?" in line
    # the same inputs are what predict takes; with labels, evaluate scores them and predict
    # still ignores the label column
    code, out, err = run(capsys, "predict", iris_model, "-i", inputs)
    assert code == 0 and len(out.splitlines()) == 1 + len(ROWS), err
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("sl,sw,pl,pw,y\n" + "\n".join(f"{r},{k}" for k, r in enumerate(ROWS)))
    code, out, err = run(capsys, "evaluate", iris_model, "--data", labelled)
    assert code == 0 and f"({len(ROWS)} cases, all of {labelled})" in out, err
    code, out_labelled, err = run(capsys, "predict", iris_model, "-i", labelled)
    assert code == 0 and out_labelled == run(capsys, "predict", iris_model, "-i", inputs)[1], err


# -- 3. a comment on line 1 -------------------------------------------------------------------


def test_a_comment_line_over_a_header_is_named(tmp_path, capsys):
    path = tmp_path / "comment.csv"
    path.write_text("# comment\nx1,x2,label\n1,2,1\n3,4,0\n5,6,1\n7,8,0\n")
    words = (
        "line 2: 3 fields, expected 1; line 1 ('# comment') was read as the first row, but "
        "comment lines are not skipped: remove it"
    )
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    assert str(caught.value) == f"{path}, {words}"
    out = tmp_path / "run"
    assert_user_error(capsys, "train", "--data", path, "--epochs", "1", "--out", out, match=words)
    assert not out.exists()
    # the same file with the comment removed trains
    path.write_text("x1,x2,label\n1,2,1\n3,4,0\n5,6,1\n7,8,0\n")
    assert data.read_csv(path).X.shape == (4, 2)


def test_a_model_file_whose_line_1_is_a_comment_is_refused_naming_it(tmp_path, capsys, iris_model):
    hint = "line 1 ('# iris rows') is a comment, but comment lines are not skipped: remove it"
    rows = tmp_path / "rows.csv"
    rows.write_text("# iris rows\nsl,sw,pl,pw\n" + "\n".join(ROWS) + "\n")
    line = assert_user_error(capsys, "predict", iris_model, "-i", rows, match=hint)
    assert line.startswith(f"chainrule: {rows}: 1 column but the model takes 4 inputs")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("# iris rows\nsl,sw,pl,pw,y\n" + "\n".join(f"{r},0" for r in ROWS))
    ragged = (
        "line 2: 5 fields, expected 1; line 1 ('# iris rows') was read as the first row, but "
        "comment lines are not skipped: remove it"
    )
    assert_user_error(capsys, "evaluate", iris_model, "--data", labelled, match=ragged)
    # a comment in the header's place, of as many fields: read as the header (a name may
    # start with '#'), and the rows below as ever
    named = tmp_path / "named.csv"
    named.write_text("#,sw,pl,pw\n" + "\n".join(ROWS) + "\n")
    assert np.array_equal(data.read_table(named).values, np.loadtxt(ROWS, delimiter=","))
