"""The command line over s54's two fixes: ``chainrule export --format onnx`` refuses a model file
of one output unit under cross-entropy (written before save_model refused it) in one line,
writing nothing; and ``predict`` still names the file's case, counted from 1, for a value too
large once standardised, from the error's ``cell`` while the library names ``X[row, col]``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error

from chainrule import data, io, nn
from chainrule.errors import DataError


def _one_unit_cross_entropy_file(path):
    """A model file as save_model wrote it before it refused one: saved under binary
    cross-entropy, then its description's loss set to cross-entropy."""
    io.save_model(path, nn.mlp([2, 3, 1], rng=0), loss="binary-cross-entropy")
    description = json.loads((path / "model.json").read_text())
    description["loss"] = {"type": "cross-entropy"}
    (path / "model.json").write_text(json.dumps(description))
    return path


def test_export_onnx_refuses_a_one_unit_cross_entropy_model(tmp_path, capsys):
    pytest.importorskip("onnx")
    model = _one_unit_cross_entropy_file(tmp_path / "model")
    out = tmp_path / "model.onnx"
    words = "loss CrossEntropy over a model with one output unit"
    line = assert_user_error(capsys, "export", model, "--format", "onnx", "--out", out, match=words)
    assert "softmax over one unit is always 1" in line and "BinaryCrossEntropy" in line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_predict_names_the_files_case_where_the_library_names_the_cell(tmp_path, capsys):
    training_rows = np.array([[-0.5, 0.75], [0.5, 1.25]])  # stds 0.5 and 0.25: 3.4e38 grows
    scaler = data.Standardizer().fit(training_rows)
    model = io.save_model(tmp_path / "m", nn.mlp([2, 3, 2], rng=0).to(np.float32),
                          loss="cross-entropy", standardizer=scaler)  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n0.5,1.0\n0.25,3.4e38\n")
    line = assert_user_error(capsys, "predict", model, "-i", rows,
                             match="rows.csv: case 2, column 2: 3.4e+38 standardised")  # fmt: skip
    assert "beyond float32's range" in line and "X[" not in line
    with pytest.raises(DataError) as library:  # the same row in Python: its 0-based index
        scaler.transform(np.array([[0.5, 1.0], [0.25, 3.4e38]], dtype=np.float32))
    assert str(library.value).startswith("X[1, 1]: 3.4e+38 standardised")
    assert library.value.cell == (1, 1)
    assert line.endswith(library.value.detail)
