"""load_checkpoint reads the optimizer file's header once, for the layout's check and the digest
both (it read it a second time for the digest), and refuses as it did."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from io_file_edits import one_epoch
from safetensors.numpy import load_file, save_file

from chainrule import io, optim
from chainrule.io import LAYOUT_KEY, OPTIMIZER_FILE, ModelFileError


def test_the_optimizer_files_header_is_read_once(tmp_path, monkeypatch):
    epoch = one_epoch(tmp_path, optim.Adam)
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
    epoch = one_epoch(tmp_path, optim.Adam)
    path = epoch / OPTIMIZER_FILE
    metadata = {**io.read_metadata(path), LAYOUT_KEY: "torch"}
    save_file(load_file(path), path, metadata=metadata)
    with pytest.raises(ModelFileError) as refused:
        io.read_arrays(path)
    with pytest.raises(ModelFileError) as refused_at_load:
        io.load_checkpoint(epoch)
    assert str(refused_at_load.value) == str(refused.value)
    assert "read_arrays(path, layout=None)" in str(refused.value)
