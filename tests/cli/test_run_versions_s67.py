"""Format versions over the command line (s67): run.json carried no version at all; it now
records ``format`` and ``version`` (one without them, from before, is version 1), and
``train --resume`` refuses to continue in a run whose run.json a newer chainrule wrote (it
resumed, and wrote the newer record again in its own format). A model file of a newer version
is refused by each command that reads it in one line naming the file and both versions."""

from __future__ import annotations

import json
import shutil

import pytest
from cli_run import assert_user_error, run, small_table, train_small

from chainrule import io

pytest.importorskip("typer")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of 2 epochs (``work/run``) on ``work/tab.csv``."""
    work = tmp_path_factory.mktemp("versions")
    train_small(work / "run", small_table(work / "tab.csv", 0))
    return work


@pytest.fixture
def run_dir(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "work")
    return tmp_path / "work" / "run"


def edit(path, **fields):
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def test_run_json_records_its_format_and_version(run_dir, capsys):
    record = json.loads((run_dir / "run.json").read_text())
    assert (record["format"], record["version"]) == ("chainrule-run", io.RUN_VERSION)
    # --json prints the record a finished run's resume prints (what run.json holds)
    code, out, err = run(capsys, "train", "--resume", run_dir, "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == io.RUN_VERSION


def test_a_resume_in_a_run_of_a_newer_run_json_is_refused_naming_both_versions(run_dir, capsys):
    path = run_dir / "run.json"
    newer = io.RUN_VERSION + 1
    edit(path, version=newer)
    before = path.read_text()
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    # finished (it said so, from the newer record) and unfinished (it trained on)
    said = f"{path}: written by a newer chainrule (run version {newer})"
    for epochs in ("2", "3"):
        line = assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", epochs,
                                 match=said)  # fmt: skip
        assert f"reads run versions up to {io.RUN_VERSION}" in line
    assert path.read_text() == before
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == checkpoints


def test_a_run_json_without_a_version_is_version_1_and_resumes(run_dir, capsys):
    path = run_dir / "run.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in record.items() if k not in ("format", "version")}))
    code, out, err = run(capsys, "train", "--resume", run_dir, "--epochs", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["epochs"] == 3
    assert json.loads(path.read_text())["version"] == io.RUN_VERSION


def test_a_model_file_of_a_newer_version_is_one_line_from_each_command(run_dir, capsys):
    model_json = run_dir / "model" / "model.json"
    newer = io.FORMAT_VERSION + 1
    edit(model_json, version=newer)
    (run_dir.parent / "in.csv").write_text("a,b,c\n10,-1,4\n")
    said = f"{model_json}: written by a newer chainrule (format version {newer})"
    commands = [
        ["predict", run_dir, "-i", run_dir.parent / "in.csv"],
        ["evaluate", run_dir],
        ["explain", "--model", run_dir, "--input", "10,-1,4", "--target", "1"],
    ]
    for command in commands:
        line = assert_user_error(capsys, *command, match=said)
        assert f"reads format versions up to {io.FORMAT_VERSION}" in line
