"""A checkpoint directory that cannot be made is refused when the Trainer is made, naming the
file in the way, before any training (mkdir's bare FileExistsError came at the first save)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset
from chainrule.errors import UserError


def _trainer(checkpoint_dir):
    net = cr.nn.mlp([2, 3, 1], output="logistic", rng=0)
    return cr.train.Trainer(
        net, cr.nn.SquaredError(), cr.optim.SGD(net, lr=0.5), progress=False,
        checkpoint_dir=checkpoint_dir,
    )  # fmt: skip


@pytest.mark.parametrize("inside", [False, True])
def test_a_file_where_the_checkpoint_directory_goes_is_refused_naming_it(tmp_path, inside):
    blocking = tmp_path / "notes.txt"
    blocking.write_text("mine")
    where = blocking / "ckpt" if inside else blocking
    with pytest.raises(UserError, match=r"notes\.txt' is a file, not a directory"):
        _trainer(where)
    assert blocking.read_text() == "mine"


def test_a_directory_to_be_made_is_made_at_the_first_save(tmp_path):
    X = np.random.default_rng(0).normal(size=(8, 2))
    ds = Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")
    _trainer(tmp_path / "a" / "ckpt").fit(ds, epochs=1)
    assert (tmp_path / "a" / "ckpt").is_dir() and any((tmp_path / "a" / "ckpt").iterdir())
