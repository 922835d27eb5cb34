"""QA of the data loaders' messages: a NaN pixel in an IDX file and a CSV file that is not UTF-8
text are named where they are (the messages named only the file), and a gzip file given as a
CSV file is said to be one."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from chainrule import data
from chainrule.cli import main
from chainrule.errors import DataError


def test_a_nan_pixel_is_named_by_image_and_position(tmp_path, capsys):
    images = np.random.default_rng(0).random((5, 3, 4)).astype(np.float32)
    images[3, 2, 1] = np.nan
    directory = tmp_path / "usps"
    directory.mkdir()
    data.write_idx(directory / "train-images-idx3-ubyte.gz", images)
    data.write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    message = r"train-images-idx3-ubyte\.gz: IDX image 4, pixel \(3, 2\) is nan: pixels must be"
    with pytest.raises(DataError, match=message):
        data.load(directory)
    assert main(["train", "--data", str(directory), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.count("image 4, pixel (3, 2) is nan") == 1
    images[3, 2, 1] = -np.inf
    with pytest.raises(DataError, match=r"^IDX image 4, pixel \(3, 2\) is -inf"):
        data.idx.scale_images(images, pixel_range=(0.0, 1.0))


def test_a_csv_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "cafes.csv"
    path.write_bytes("a,b,label\n1,2,0\n3,4,caf\xe9\n".encode("latin-1"))
    message = r"cafes\.csv, line 3: not UTF-8 text \(byte 0xe9 at byte 8 of the line: .*\);.* save"
    with pytest.raises(DataError, match=message):
        data.load(path)


def test_a_gzip_file_named_csv_is_said_to_be_one(tmp_path):
    path = tmp_path / "mnist.csv"
    path.write_bytes(gzip.compress(b"a,b,label\n1,2,0\n3,4,1\n" * 50))
    with pytest.raises(DataError, match=r"mnist\.csv: a gzip-compressed file, not text; decomp"):
        data.load(path)
