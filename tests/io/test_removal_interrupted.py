"""A checkpoint's epoch directory is removed (a newer one at a resume from an earlier epoch,
an old one past keep_checkpoints) by renaming it to a temporary name first: a process killed
partway through the removal left ``epoch-N/`` holding trainer.json without its model, which
``--resume DIR`` picked as the latest complete checkpoint and then refused, and a pruned one
without trainer.json that no later save removed."""

import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.io import TRAINER_JSON


def _trainer(directory):
    net = nn.mlp([2, 3, 1], output="logistic", rng=0)
    return cr.train.Trainer(net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.1),
                            checkpoint_dir=directory, keep_checkpoints=0,
                            progress=False)  # fmt: skip


DATA = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")


def _trained(directory):
    trainer = _trainer(directory)
    trainer.fit(DATA, epochs=3)
    return trainer


def _killed_after_all_but(monkeypatch, kept=TRAINER_JSON):
    """shutil.rmtree as a kill lands: every file but ``kept`` deleted (all but trainer.json:
    the order ext4 gave in QA's run; another file system may delete trainer.json first), then
    the process stops."""

    def rmtree(path, ignore_errors=False):
        if not path.exists():  # as shutil's with ignore_errors: nothing to remove
            return
        for child in sorted(path.iterdir()):
            if child.name != kept:
                child.unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(io.shutil, "rmtree", rmtree)


def test_a_removal_killed_midway_leaves_the_epoch_before_as_the_latest(tmp_path, monkeypatch):
    directory = tmp_path / "ck"
    _trained(directory)
    (third,) = [d for d in directory.iterdir() if d.name.endswith("3")]
    _killed_after_all_but(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        io.remove_newer_checkpoints(directory, 2)
    monkeypatch.undo()
    assert not third.exists()  # no epoch-3 that reads as complete without its model
    latest = io.find_checkpoint(directory)
    assert latest.name.endswith("2")
    io.load_checkpoint(latest)  # whole
    # resuming from it: the next save removes the leftover
    trainer = _trainer(directory)
    trainer.resume(directory)
    trainer.fit(DATA, epochs=3)
    assert sorted(d.name for d in directory.iterdir()) == [
        "epoch-000001", "epoch-000002", "epoch-000003"
    ]  # fmt: skip


@pytest.mark.parametrize("kept", [TRAINER_JSON, "model.safetensors"])
def test_a_pruning_killed_midway_leaks_no_epoch_directory(tmp_path, monkeypatch, kept):
    directory = tmp_path / "ck"
    trainer = _trained(directory)
    shutil.rmtree(directory / "epoch-000003")  # saved anew below: no directory moved aside
    _killed_after_all_but(monkeypatch, kept)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint(directory, trainer, keep=1)
    monkeypatch.undo()
    io.save_checkpoint(directory, trainer, keep=1)
    assert [d.name for d in directory.iterdir()] == ["epoch-000003"]
