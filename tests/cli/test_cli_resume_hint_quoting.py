"""The "continue with: chainrule train --resume ..." hint is a command a shell runs as printed.

A run directory whose path holds spaces was printed bare, so pasting the hint gave ``--resume``
the path's first word. The reference is the shell's own word splitting (``shlex.split``): the
hint must split back into the very path, and the command it names must finish the run.
"""

from __future__ import annotations

import errno
import json
import shlex

from cli_run import run
from test_cli_train import interrupt_at_epoch

from chainrule.train import Trainer


def _hinted_command(err: str) -> list[str]:
    """The words of the command after "continue with: ", as a shell splits them."""
    line = next(line for line in err.splitlines() if "continue with: " in line)
    return shlex.split(line.split("continue with: ", 1)[1])


def test_the_ctrl_c_hint_quotes_a_run_directory_with_spaces(tmp_path, capsys, monkeypatch):
    out = tmp_path / "my runs" / "xor run 1"
    real = interrupt_at_epoch(monkeypatch, 3)
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "9", "--out", out, "-q")
    assert code == 130, err
    command = _hinted_command(err)
    assert command == ["chainrule", "train", "--resume", str(out), "--epochs", "9"]
    monkeypatch.setattr(Trainer, "_run_epoch", real)
    code, _, err = run(capsys, *command[1:], "-q")
    assert code == 0, err
    assert len(json.loads((out / "history.json").read_text())) == 9


def test_the_hint_after_a_full_disk_quotes_a_run_directory_with_spaces(
    tmp_path, capsys, monkeypatch
):
    real, saved = Trainer.save_checkpoint, []

    def save_two_then_fill_the_disk(self, directory):
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(directory))
        saved.append(real(self, directory))
        return saved[-1]

    monkeypatch.setattr(Trainer, "save_checkpoint", save_two_then_fill_the_disk)
    out = tmp_path / "my runs" / "parity 'quoted' run"
    code, _, err = run(capsys, "train", "--data", "parity", "--epochs", "10", "--out", out, "-q")
    assert code == 2, err
    command = _hinted_command(err)
    assert command == ["chainrule", "train", "--resume", str(out), "--epochs", "10"]
    monkeypatch.undo()  # the disk has room again: the hinted command finishes the run
    code, _, err = run(capsys, *command[1:], "-q")
    assert code == 0, err
    assert (out / "model").is_dir()


def test_the_hint_keeps_explain_which_the_checkpoint_does_not_record(tmp_path, capsys,
                                                                      monkeypatch):  # fmt: skip
    """A run with --explain, stopped: the hint dropped --explain, and the resumed run it named
    wrote no gradient_health.png and recorded no gradient health, without a word."""
    out = tmp_path / "run"
    real = interrupt_at_epoch(monkeypatch, 3)
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "6", "--explain",
                       "--out", out, "-q")  # fmt: skip
    assert code == 130, err
    command = _hinted_command(err)
    assert command == ["chainrule", "train", "--resume", str(out), "--epochs", "6", "--explain"]
    monkeypatch.setattr(Trainer, "_run_epoch", real)
    code, _, err = run(capsys, *command[1:], "-q")
    assert code == 0, err
    assert (out / "gradient_health.png").is_file()
    history = json.loads((out / "run.json").read_text())["gradient_health_history"]
    assert [h["epoch"] for h in history] == list(range(1, 7))  # every epoch, before and after
