"""A run directory when things go wrong (s62): a failed or killed --resume keeps the run's
model, a resume takes the run's lock before it reads its checkpoints, and the rough edges of
leftovers, messages and narrow tables."""

from __future__ import annotations

import errno
import os

import pytest
from cli_run import assert_user_error, run

import chainrule.files as files
from chainrule import io


def _train(capsys, out, *extra):
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "3", "--out", out, "-q",
                       *extra)  # fmt: skip
    assert code == 0, err


def _disk_full_at(monkeypatch, marker):
    """A full disk at the first write whose destination's path holds ``marker``."""
    original = files._write_replace
    hit = []

    def write(path, data):
        if marker in str(path) and not hit:
            hit.append(path)
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(path, data)

    monkeypatch.setattr(files, "_write_replace", write)
    return hit


def test_a_resume_that_fails_writing_its_model_keeps_the_runs_model(tmp_path, capsys, monkeypatch):
    """_finish removed run.json and model/ before the new model was written: a full disk then
    left the run with no model at all (and rotation had removed its checkpoint)."""
    out = tmp_path / "run"
    _train(capsys, out)
    before = (out / "model" / "model.safetensors").read_bytes()
    hit = _disk_full_at(monkeypatch, f"{os.sep}.tmp-model.")
    code, _, err = run(capsys, "train", "--resume", out, "--epochs", "5", "-q")
    assert hit and code == 2, err
    assert f"{out / 'model'}: No space left on device" in err and ".tmp-" not in err
    assert "is still the model the run had before this resume" in err
    assert (out / "model" / "model.safetensors").read_bytes() == before
    io.load_model(out)  # loads
    monkeypatch.undo()
    code, _, err = run(capsys, "train", "--resume", out, "--epochs", "5", "-q")
    assert code == 0, err
    assert io.load_model(out)[1]["meta"]["epochs"] == 5
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoints", "curves.png", "history.json", "model", "run.json"]  # fmt: skip


def test_a_model_swap_killed_between_its_renames_is_undone_and_leftovers_go(tmp_path, capsys):
    """A kill after the old model/ was moved aside and before the new one took its name: the
    next resume puts the old one back and finishes; stray temporary files of the results
    (left by a kill) are removed by it too."""
    out = tmp_path / "run"
    _train(capsys, out)
    os.rename(out / "model", out / ".replaced-model")
    (out / ".tmp-model.abcd1234").mkdir()  # the staged model a kill left
    for name in ("history.json", "curves.png", "run.json"):
        (out / f".tmp-{name}.k_9x2abc").write_bytes(b"half")
    (out / ".tmp-notes").write_text("the user's own")  # not chainrule's name: kept
    (out / "run.json").unlink()
    code, _, err = run(capsys, "train", "--resume", out, "--epochs", "4", "-q")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        ".tmp-notes", "checkpoints", "curves.png", "history.json", "model", "run.json"]  # fmt: skip
    assert io.load_model(out)[1]["meta"]["epochs"] == 4


def test_a_resume_takes_the_runs_lock_before_it_reads_its_checkpoints(
    tmp_path, capsys, monkeypatch
):
    from chainrule.cli.train import _run_dir_lock

    out = tmp_path / "tq"
    _train(capsys, out)

    def never(*_a, **_k):
        raise AssertionError("checkpoints read while another run holds the directory")

    monkeypatch.setattr(io, "load_checkpoint", never)
    with _run_dir_lock(out):
        line = assert_user_error(capsys, "train", "--resume", out / "checkpoints", "--epochs",
                                 "5", match="in use by another run")  # fmt: skip
    assert f"--resume {out / 'checkpoints'}: its run {out} is in use" in line
    assert "--out" not in line.split("in use")[0]


def test_a_folder_holding_only_a_killed_writability_check_is_empty(tmp_path, capsys):
    out = tmp_path / "run"
    (out / ".tmp-probe.abcdefgh").mkdir(parents=True)
    _train(capsys, out)
    assert not (out / ".tmp-probe.abcdefgh").exists()


def test_a_full_disk_names_the_checkpoint_not_its_temporary_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    _disk_full_at(monkeypatch, f"{os.sep}.tmp-epoch-")
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--out", out, "-q")
    assert code == 2, err
    assert f"{out / 'checkpoints' / 'epoch-000001'}: No space left on device" in err, err
    assert ".tmp-" not in err


def test_evaluate_a_run_without_its_model_points_to_its_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    _train(capsys, out)
    for name in ("model.json", "model.safetensors"):
        (out / "model" / name).unlink()
    (out / "model").rmdir()
    assert_user_error(capsys, "evaluate", out, match=f"give {out / 'checkpoints'} for its "
                      "latest checkpoint (epoch-000003)")  # fmt: skip
    code, out_text, err = run(capsys, "evaluate", out / "checkpoints")
    assert code == 0, err


def test_out_a_dangling_symbolic_link_is_named_as_one(tmp_path, capsys):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    assert_user_error(capsys, "train", "--data", "xor", "--out", link,
                      match="is a symbolic link to")  # fmt: skip


def test_run_json_that_is_a_folder_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    _train(capsys, out)
    (out / "run.json").unlink()
    (out / "run.json").mkdir()
    assert_user_error(capsys, "train", "--resume", out, "--epochs", "5",
                      match=f"{out / 'run.json'} is not a file")  # fmt: skip
    assert not (out / "checkpoints" / "epoch-000004").exists()  # no epoch trained


@pytest.mark.parametrize("columns", ["30", "40", "60"])
def test_evaluate_tables_too_wide_for_columns_say_see_json(tmp_path, capsys, monkeypatch,
                                                          columns):  # fmt: skip
    """COLUMNS=40 chainrule evaluate RUN | cat: the confusion matrix's counts were cut to "…"
    or left blank."""
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", out, "-q")
    assert code == 0, err
    monkeypatch.setenv("COLUMNS", columns)
    code, text, err = run(capsys, "evaluate", out)
    assert code == 0, err
    assert "…" not in text
    assert "confusion matrix: 10 classes, too wide for" in text
    table_lines = [line for line in text.splitlines() if "│" in line or "┃" in line]
    assert all(len(line) <= int(columns) for line in table_lines), text


def test_a_classic_problem_not_learned_says_so(tmp_path, capsys):
    code, text, err = run(capsys, "train", "--data", "xor", "--hidden", "2", "--seed", "0",
                          "--epochs", "20", "--out", tmp_path / "x")  # fmt: skip
    assert code == 0, err
    assert "accuracy 100.00%" not in text
    assert "note: the net has not learned all 4 cases" in text
    assert "another --seed" in text and "--epochs" in text
