"""Helpers the tests of damaged and hostile files share: one saved epoch to damage, and edits of
its JSON and safetensors files (tests/cli puts this folder on its path to use them too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim


def one_epoch(tmp_path: Path, optimizer: type = optim.SGD) -> Path:
    """The checkpoint folder of one epoch of a small trainer (a 2-3-1 logistic network on two
    cases): a model directory plus its trainer.json and optimizer file (Adam's holds arrays)."""
    net = nn.mlp([2, 3, 1], output="logistic", rng=0)
    trainer = cr.train.Trainer(net, nn.SquaredError(), optimizer(net.parameters(), lr=0.1),
                               checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip
    data = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")
    trainer.fit(data, epochs=1)
    (epoch,) = (tmp_path / "ck").glob("epoch-*")
    return epoch


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a text file (which must hold it) with ``new``."""
    text = path.read_text()
    assert old in text, (old, text[:300])
    path.write_text(text.replace(old, new, 1))


def edit_header(path: Path, edit) -> None:
    """Rewrite a safetensors file's JSON header text with ``edit`` (a function of the text)."""
    blob = path.read_bytes()
    length = int.from_bytes(blob[:8], "little")
    text = edit(blob[8 : 8 + length].decode()).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob[8 + length :])
