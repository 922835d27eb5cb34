"""Run directories written by older chainrule versions (the compatibility audit, s66).

A checkpoint whose trainer.json has no ``version`` (the schema's default, 1) resumed with a
``KeyError: 'version'`` traceback. A CSV run that recorded its data by the path as typed
(``"data": "tab.csv"``) and no sha256 is refused by evaluate, ``train --resume`` and
``serve --model``, which advised every command's option to all of them: serve has no --data,
``evaluate --data`` scores the whole file (not the run's split), and ``train --resume --data``
takes only the path as the run spells it. Each now says its own way, and first the way that
works for all (a copy of the file in the run directory); each way is followed here.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from cli_run import assert_user_error, run, small_table, train_small

pytest.importorskip("typer")


def forget_checksum(run_dir, data):
    """Make ``run_dir`` a run of an older chainrule: ``data`` as its path, no sha256."""
    for path in [run_dir / "model" / "model.json", *run_dir.glob("checkpoints/epoch-*/*.json")]:
        info = json.loads(path.read_text())
        if "run" in info.get("meta", {}):
            for key in ("data_file", "data_sha256"):
                info["meta"]["run"].pop(key, None)
            info["meta"]["run"]["data"] = data
            path.write_text(json.dumps(info))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``work/run``, trained on ``work/tab.csv`` from ``work/`` (recorded as ``tab.csv``)."""
    work = tmp_path_factory.mktemp("old") / "work"
    work.mkdir()
    small_table(work / "tab.csv", 0)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        train_small(work / "run", "tab.csv")
    finally:
        os.chdir(cwd)
    return work


@pytest.fixture
def old_run(trained, tmp_path, monkeypatch, capsys):
    """A copy of the trained run as an older chainrule left it: its data recorded as
    ``tab.csv``, no sha256; the cwd is ``tmp_path``, where no tab.csv is. Also its evaluation
    as trained (``--json``)."""
    work = tmp_path / "work"
    shutil.copytree(trained, work)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "evaluate", work / "run", "--json")
    assert code == 0, err
    forget_checksum(work / "run", "tab.csv")
    return work / "run", json.loads(out)


@pytest.fixture
def served(monkeypatch):
    """``chainrule serve`` runs up to where uvicorn would serve (never serving): each call."""
    uvicorn = pytest.importorskip("uvicorn")
    from chainrule.cli import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(app))
    monkeypatch.setattr(serve, "_check_port_free", lambda host, port: None)
    return calls


def test_evaluate_says_its_data_option_scores_the_whole_file(old_run, capsys):
    run_dir, as_trained = old_run
    line = assert_user_error(capsys, "evaluate", run_dir, match="no sha256 to check it against")
    assert f"copy the data file to {run_dir / 'tab.csv'}: every command reads it there" in line
    assert "pass the data yourself: evaluate RUN --data FILE scores every row of FILE, not " in line
    assert "train --resume" not in line and "explain" not in line
    # --data scores all 40 rows; the copy, the run's own 8 test cases, as when it was trained
    code, out, err = run(
        capsys, "evaluate", run_dir, "--data", run_dir.parent / "tab.csv", "--json"
    )
    assert code == 0 and json.loads(out)["cases"] == 40, err
    shutil.copy(run_dir.parent / "tab.csv", run_dir / "tab.csv")
    code, out, err = run(capsys, "evaluate", run_dir, "--json")
    assert code == 0, err
    assert json.loads(out) == as_trained and as_trained["cases"] == 8


def test_resume_says_the_data_path_as_the_run_records_it(old_run, capsys, monkeypatch):
    run_dir, _ = old_run
    line = assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", "3", "-q",
                             match="no sha256 to check it against")  # fmt: skip
    assert f"copy the data file to {run_dir / 'tab.csv'}" in line
    assert line.endswith(
        "or pass the data yourself: train --resume RUN --data tab.csv (the path as the run "
        "records it, from the directory it is relative to)"
    )
    assert "evaluate" not in line and "serve" not in line
    # another spelling of the same file is refused as a change of --data
    assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", "3", "--data",
                      run_dir.parent / "tab.csv", match="--data cannot change")  # fmt: skip
    monkeypatch.chdir(run_dir.parent)  # where tab.csv names the file
    assert run(capsys, "train", "--resume", run_dir, "--epochs", "3", "--data", "tab.csv",
               "-q")[0] == 0  # fmt: skip
    # or from anywhere, with a copy in the run directory
    monkeypatch.chdir(run_dir.parent.parent)
    shutil.copy(run_dir.parent / "tab.csv", run_dir / "tab.csv")
    code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", "4", "-q")
    assert code == 0, err


def test_serve_says_to_copy_the_file_and_has_no_data_option(old_run, capsys, served):
    run_dir, _ = old_run
    line = assert_user_error(capsys, "serve", "--model", run_dir, "--port", "8123",
                             match="no sha256 to check it against")  # fmt: skip
    assert line.endswith(
        f"copy the data file to {run_dir / 'tab.csv'}: every command reads it there as the "
        "run's data (serve has no --data option)"
    )
    assert not served
    shutil.copy(run_dir.parent / "tab.csv", run_dir / "tab.csv")
    code, _, err = run(capsys, "serve", "--model", run_dir, "--port", "8123")
    assert code == 0 and len(served) == 1, err


def test_serve_of_a_run_naming_a_file_outside_says_what_reads_it(old_run, capsys, served):
    """An absolute path (or one leaving the run directory) is never read unchecked: a copy
    in the run directory is read once the run names it there."""
    run_dir, _ = old_run
    outside = run_dir.parent / "tab.csv"
    forget_checksum(run_dir, str(outside))
    model_json = run_dir / "model" / "model.json"
    line = assert_user_error(capsys, "serve", "--model", run_dir, "--port", "8123",
                             match="outside the run directory")  # fmt: skip
    assert line.endswith(
        "serve has no --data option and reads a run's unchecked data only inside its run "
        "directory: copy the data file there and write its name as meta.run.data in the run's "
        f"model.json ({model_json})"
    )
    shutil.copy(outside, run_dir / "tab.csv")
    forget_checksum(run_dir, "tab.csv")
    code, _, err = run(capsys, "serve", "--model", run_dir, "--port", "8123")
    assert code == 0 and len(served) == 1, err
    # evaluate and resume of the outside path: their own options, no copy to offer
    forget_checksum(run_dir, str(outside))
    line = assert_user_error(capsys, "evaluate", run_dir, match="outside the run directory")
    assert line.endswith("pass the data yourself: evaluate RUN --data FILE scores every row of "
                         "FILE, not the run's own split")  # fmt: skip
    line = assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", "3",
                             match="outside the run directory")  # fmt: skip
    assert line.endswith(f"train --resume RUN --data {outside} (the path as the run records it)")


def test_a_library_caller_is_told_every_commands_way(old_run):
    from chainrule.cli.train import trained_data
    from chainrule.errors import DataError

    run_dir, _ = old_run
    info = json.loads((run_dir / "model" / "model.json").read_text())
    with pytest.raises(DataError) as caught:
        trained_data(run_dir / "model", info)
    said = str(caught.value)
    assert f"copy the data file to {run_dir / 'tab.csv'}" in said
    for way in ("evaluate RUN --data FILE scores every row of FILE", "explain --input FILE",
                "train --resume RUN --data tab.csv (the path as the run records it"):  # fmt: skip
        assert way in said


def test_a_checkpoint_without_a_version_resumes(tmp_path, capsys):
    """Its trainer.json's version is the schema's default, 1: it was a KeyError traceback."""
    run_dir = train_small(tmp_path / "run", small_table(tmp_path / "tab.csv", 1))
    capsys.readouterr()  # its summary
    for path in run_dir.glob("checkpoints/epoch-*/trainer.json"):
        state = json.loads(path.read_text())
        del state["version"]
        path.write_text(json.dumps(state))
    code, out, err = run(capsys, "train", "--resume", run_dir, "--epochs", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["epochs"] == 3
    # a newer version is still refused in one line naming the file
    for path in run_dir.glob("checkpoints/epoch-*/trainer.json"):
        state = json.loads(path.read_text())
        state["version"] = 99
        path.write_text(json.dumps(state))
    newer = "trainer.json: written by a newer chainrule (checkpoint version 99)"
    assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", "4", match=newer)
