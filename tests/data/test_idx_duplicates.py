"""Two IDX files of the same part and kind (a file beside its .gz, or two spellings of its
name) are read only where they hold the same data."""

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError


def _write_pair(folder, part, images, labels, suffix=""):
    data.write_idx(folder / f"{part}-images-idx3-ubyte{suffix}", images)
    data.write_idx(folder / f"{part}-labels-idx1-ubyte{suffix}", labels)


def _images(seed):
    return np.random.default_rng(seed).integers(0, 256, (6, 3, 3), dtype=np.uint8)


LABELS = np.arange(6, dtype=np.uint8) % 3


def test_a_file_beside_its_gz_with_other_data_is_refused_naming_both(tmp_path):
    _write_pair(tmp_path, "train", _images(0), LABELS)
    _write_pair(tmp_path, "train", _images(1), LABELS, suffix=".gz")  # a newer download
    with pytest.raises(DataError) as caught:
        data.find_idx_pairs(tmp_path)
    message = str(caught.value)
    assert "train-images-idx3-ubyte" in message and "train-images-idx3-ubyte.gz" in message
    assert "differ" in message


def test_two_spellings_of_a_name_with_other_data_are_refused(tmp_path):
    _write_pair(tmp_path, "train", _images(0), LABELS)
    data.write_idx(tmp_path / "train-labels.idx1-ubyte", LABELS[::-1].copy())
    with pytest.raises(DataError, match="train labels"):
        data.find_idx_pairs(tmp_path)


def test_a_file_beside_its_own_gz_is_read(tmp_path):
    images = _images(0)
    _write_pair(tmp_path, "train", images, LABELS)
    _write_pair(tmp_path, "train", images, LABELS, suffix=".gz")
    pairs = data.find_idx_pairs(tmp_path)
    assert pairs["train"][0].name == "train-images-idx3-ubyte"
    np.testing.assert_array_equal(data.read_idx(pairs["train"][0]), images)


def test_a_multi_member_gz_of_the_same_data_is_compared_by_contents(tmp_path):
    """A gzip file of two members records only its last member's CRC and length in its
    trailer: the trailer differs from the plain file's, and the contents decide."""
    import gzip

    images = _images(0)
    _write_pair(tmp_path, "train", images, LABELS)
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    two_members = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(two_members)
    assert data.find_idx_pairs(tmp_path)["train"][0].name == "train-images-idx3-ubyte"


def test_a_multi_member_gz_whose_last_member_matches_is_still_compared_whole(tmp_path):
    """A gzip file's trailer describes its last member alone: gzip(B[:100]) + gzip(A) carries
    A's CRC and length, yet holds other data than the plain file A."""
    import gzip

    _write_pair(tmp_path, "train", _images(0), LABELS)
    plain = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(b"\x00" * 20) + gzip.compress(plain)
    )
    with pytest.raises(DataError, match="differ"):
        data.find_idx_pairs(tmp_path)


def test_the_comparison_is_kept_per_file_not_per_relative_name(tmp_path, monkeypatch):
    """Two folders whose twins have the same relative names, sizes and times: the first's
    digests must not answer for the second's (a chdir between the two)."""
    import os

    same, other = tmp_path / "a", tmp_path / "b"
    for folder, second in ((same, _images(0)), (other, _images(1))):
        folder.mkdir()
        _write_pair(folder, "train", _images(0), LABELS)
        _write_pair(folder, "train", second, LABELS, suffix=".gz")
        for name in os.listdir(folder):
            os.utime(folder / name, ns=(10**18, 10**18))
    monkeypatch.chdir(same)
    assert data.find_idx_pairs(".")["train"][0].name == "train-images-idx3-ubyte"
    monkeypatch.chdir(other)
    with pytest.raises(DataError, match="differ"):
        data.find_idx_pairs(".")
