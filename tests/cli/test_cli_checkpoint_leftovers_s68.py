"""What a killed checkpoint save or removal left in a run's checkpoints/ (QA, session 68).

A ``.tmp-epoch-*`` folder (a save killed before its rename, or a removal killed after its
rename) was cleared only by the next save, so a resume that found nothing to train (the run
already complete, or stopped before its results) left it there for good. Such a folder is
never read as a checkpoint, and only the run's own checkpoints/ is cleared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_run import run

from chainrule import io

#: What a save killed before its rename leaves (tempfile's random part), and what a removal
#: of an old epoch killed after its rename leaves (a complete epoch under a temporary name).
STAGING = ".tmp-epoch-000003.k2j_h4g5"
REMOVED = ".tmp-epoch-000001.0badf00d"


@pytest.fixture
def trained(tmp_path, capsys):
    """A complete run of 2 epochs (checkpoints epoch-000001 and epoch-000002)."""
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "-q", "--out", out)
    assert code == 0, err
    return out


def _leave_killed_writes(run_dir: Path) -> list[Path]:
    """Put what killed writes leave in ``run_dir``'s checkpoints/; returns them. The removed
    epoch holds a whole checkpoint numbered after every real one: it is never resumed."""
    checkpoints = run_dir / "checkpoints"
    staging = checkpoints / STAGING
    staging.mkdir()
    (staging / "model.json").write_text("{")  # the save was killed while writing
    removed = checkpoints / REMOVED
    shutil.copytree(checkpoints / "epoch-000002", removed)
    return [staging, removed]


def _checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_resuming_a_complete_run_clears_what_killed_saves_left(trained, tmp_path, capsys):
    other = shutil.copytree(trained, tmp_path / "other")  # another run's: never touched
    others = _leave_killed_writes(other)
    _leave_killed_writes(trained)
    assert io.find_checkpoint(trained).name == "epoch-000002"  # not read as a checkpoint
    code, _, err = run(capsys, "train", "--resume", trained)
    assert code == 0, err
    assert "is already complete" in err
    assert _checkpoints(trained) == ["epoch-000001", "epoch-000002"]
    assert all(path.exists() for path in others)
    # a run resumed into a new directory is read, not written: its checkpoints/ stays as is
    new = tmp_path / "new"
    code, _, err = run(capsys, "train", "--resume", other, "--epochs", "3", "-q", "--out", new)
    assert code == 0, err
    assert all(path.exists() for path in others)


def test_resuming_a_run_stopped_before_its_results_clears_them(trained, capsys):
    """Nothing to train, the results written again: no save comes to clear them."""
    (trained / "run.json").unlink()  # stopped after its last checkpoint, before its results
    _leave_killed_writes(trained)
    code, _, err = run(capsys, "train", "--resume", trained, "-q")
    assert code == 0, err
    assert (trained / "run.json").is_file()
    assert _checkpoints(trained) == ["epoch-000001", "epoch-000002"]
