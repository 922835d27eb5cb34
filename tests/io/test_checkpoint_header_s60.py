"""load_checkpoint reads the optimizer file's header once, for the layout's check and the digest
both (it read it a second time for the digest), and refuses as it did."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.io import LAYOUT_KEY, OPTIMIZER_FILE, ModelFileError


def _checkpoint(tmp_path: Path) -> Path:
    """One epoch's checkpoint of a trainer whose optimizer holds arrays (Adam's moments)."""
    net = nn.mlp([2, 3, 1], output="logistic", rng=0)
    trainer = cr.train.Trainer(net, nn.SquaredError(), optim.Adam(net.parameters(), lr=0.1),
                               checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip
    data = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")
    trainer.fit(data, epochs=1)
    (epoch,) = (tmp_path / "ck").glob("epoch-*")
    return epoch


def test_the_optimizer_files_header_is_read_once(tmp_path, monkeypatch):
    epoch = _checkpoint(tmp_path)
    reads = Counter()
    read_header = io._read_header

    def counted(path):
        reads[Path(path).name] += 1
        return read_header(path)

    monkeypatch.setattr(io, "_read_header", counted)
    loaded = io.load_checkpoint(epoch)
    assert reads[OPTIMIZER_FILE] == 1
    assert loaded["arrays"].keys() == load_file(epoch / OPTIMIZER_FILE).keys()
    for name, array in load_file(epoch / OPTIMIZER_FILE).items():
        np.testing.assert_array_equal(loaded["arrays"][name], array)


def test_an_optimizer_file_in_another_layout_is_refused_as_read_arrays_refuses_it(tmp_path):
    epoch = _checkpoint(tmp_path)
    path = epoch / OPTIMIZER_FILE
    metadata = {**io.read_metadata(path), LAYOUT_KEY: "torch"}
    save_file(load_file(path), path, metadata=metadata)
    with pytest.raises(ModelFileError) as refused:
        io.read_arrays(path)
    with pytest.raises(ModelFileError) as refused_at_load:
        io.load_checkpoint(epoch)
    assert str(refused_at_load.value) == str(refused.value)
    assert "read_arrays(path, layout=None)" in str(refused.value)
