"""Run directories handed over by students, and what chainrule does with them.

A run is a folder anyone can edit. Reading it must not make chainrule read the lecturer's other
files (a data path the run records without its checksum, shown back as a case's raw row), nor
write through links planted in it (``train --resume``), and predictions of its class names must
not run as spreadsheet formulas.
"""

from __future__ import annotations

import csv
import json
import os
import threading

import numpy as np
import pytest
from cli_run import assert_user_error, run

pytest.importorskip("typer")

#: Class names a student may give: each would run as a formula in a spreadsheet.
FORMULAS = ["=1+2", "@SUM(1+1)", "+cmd|calc"]


def blobs(path, names=("a", "b", "c"), seed=0):
    """Three separable blobs of 4 features, labelled with ``names``."""
    rng = np.random.default_rng(seed)
    y = np.arange(45) % 3
    X = rng.normal(size=(45, 4)) + 3 * np.eye(4)[y]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["f1", "f2", "f3", "f4", "label"])
        writer.writerows([*map(float, x), names[t]] for x, t in zip(X, y))
    return path


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's run trained from their own CSV (``student/run``), and the lecturer's own
    file of the same shape elsewhere (``lecturer/grades.csv``); the cwd is neither."""
    (tmp_path / "student").mkdir()
    (tmp_path / "lecturer").mkdir()
    blobs(tmp_path / "student" / "blobs.csv")
    blobs(tmp_path / "lecturer" / "grades.csv", names=("x", "y", "z"), seed=7)
    monkeypatch.chdir(tmp_path / "student")
    assert run_quiet("train", "--data", "blobs.csv", "--epochs", "2", "--out", "run")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "student" / "run"


def run_quiet(*args) -> bool:
    from chainrule.cli import main

    return main([*map(str, args), "-q"]) == 0


def edit_runs(run_dir, **changes):
    """Set ``meta.run``'s entries (None: remove it) in the run's model and every checkpoint."""
    files = [run_dir / "model" / "model.json", *run_dir.glob("checkpoints/epoch-*/*.json")]
    for path in files:
        info = json.loads(path.read_text())
        if "run" not in info.get("meta", {}):
            continue
        for key, value in changes.items():
            info["meta"]["run"].pop(key, None)
            if value is not None:
                info["meta"]["run"][key] = value
        path.write_text(json.dumps(info))


UNPINNED = {"data_file": None, "data_sha256": None}


def test_a_normal_run_reads_its_data_but_a_run_naming_another_file_is_refused(student, capsys):
    code, out, err = run(capsys, "explain", "--model", student, "--case", "0", "--format", "json")
    assert code == 0, err  # trained in student/, explained from its parent
    secret = student.parent.parent / "lecturer" / "grades.csv"
    edit_runs(student, data=str(secret), **UNPINNED)
    for command in (["explain", "--model", student, "--case", "0"], ["evaluate", student]):
        line = assert_user_error(capsys, *command, match="with no sha256 to check it against")
        assert repr(str(secret)) in line and "--data FILE" in line
    from chainrule.cli.serve import trained_case
    from chainrule.errors import UserError

    with pytest.raises(UserError, match="outside the run directory"):
        trained_case(student, 0)


def test_a_relative_path_without_its_checksum_may_not_leave_the_run(student, capsys):
    edit_runs(student, data="../lecturer/grades.csv", **UNPINNED)  # from student/
    assert_user_error(capsys, "evaluate", student, match="outside the run directory")
    os.symlink(student.parent.parent / "lecturer" / "grades.csv", student / "data.csv")
    edit_runs(student, data="data.csv")  # inside by name, outside through the link
    assert_user_error(capsys, "evaluate", student, match="outside the run directory")


def test_data_kept_inside_the_run_is_read_without_a_checksum(student, capsys):
    (student.parent / "blobs.csv").rename(student / "blobs.csv")
    edit_runs(student, **UNPINNED)
    code, out, err = run(capsys, "evaluate", student, "--json")
    assert code == 0, err
    assert json.loads(out)["cases"] == 9


def test_resume_refuses_a_recorded_path_unless_given_again(student, capsys):
    secret = student.parent.parent / "lecturer" / "grades.csv"
    edit_runs(student, data=str(secret), **UNPINNED)
    assert_user_error(capsys, "train", "--resume", student, "--epochs", "3", "-q",
                      match="with no sha256 to check it against")  # fmt: skip
    # the user names the file: their choice, read as typed
    code, _, err = run(
        capsys, "train", "--resume", student, "--epochs", "3", "--data", secret, "-q"
    )
    assert code == 0, err


def test_a_pinned_file_that_is_no_file_is_refused_before_it_is_read(student, capsys, tmp_path):
    """A run naming a pipe or a device (/dev/zero) with some checksum: hashed, it would be read
    for ever; it is refused by its kind first."""
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes(b"1,2,3,4,a\n"), daemon=True)
    writer.start()  # the old code read it (and found another checksum) instead of refusing it
    try:
        edit_runs(student, data_file=str(pipe), data_sha256="0" * 64)
        assert_user_error(capsys, "evaluate", student, match="not a file")
    finally:
        fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # let the writer finish
        writer.join(5)
        os.close(fd)


# -- train --resume: no writing through links planted in the run directory ----------------------


@pytest.mark.parametrize("name", ["history.json", "run.json", "checkpoints/epoch-000001"])
def test_resume_refuses_a_link_in_the_run_directory(student, capsys, name):
    victim = student.parent.parent / "lecturer" / "notes.txt"
    victim.write_text("the lecturer's own file\n")
    planted = student / name
    if planted.is_dir():
        import shutil

        shutil.rmtree(planted)
    else:
        planted.unlink()
    os.symlink(victim, planted)
    resumed = student / "checkpoints" / "epoch-000002"
    line = assert_user_error(capsys, "train", "--resume", resumed, "--epochs", "3", "-q",
                             match=f"{planted} is a symbolic link")  # fmt: skip
    assert "--out DIR" in line
    assert victim.read_text() == "the lecturer's own file\n"


# -- predict's CSV: class names that read as formulas ---------------------------------------------


def test_predict_csv_shows_formula_like_class_names_as_text(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blobs(tmp_path / "f.csv", names=FORMULAS)
    assert run_quiet("train", "--data", "f.csv", "--epochs", "2", "--out", "run")
    capsys.readouterr()  # the training's summary
    code, out, err = run(capsys, "predict", "run", "--input", "f.csv")
    assert code == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["line", "prediction", *("'" + name for name in sorted(FORMULAS))]
    assert {row[1] for row in rows[1:]} <= {"'" + name for name in FORMULAS}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    code, out, err = run(capsys, "predict", "run", "--input", "f.csv", "--json")
    document = json.loads(out)  # JSON is data, not a spreadsheet: the names as they are
    assert document["outputs"] == sorted(FORMULAS)
    assert {p["prediction"] for p in document["predictions"]} <= set(FORMULAS)


def test_numbers_stay_numbers_in_predict_csv():
    from chainrule.cli.train import spreadsheet_safe

    for number in ("-0.5", "-1e-05", "1.5;-2", "+3"):
        assert spreadsheet_safe(number) == number
    for cell in ("-2+3", "-", "\tx", "\rx", "=A1"):
        assert spreadsheet_safe(cell) == "'" + cell
