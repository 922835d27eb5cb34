"""Loading an IDX directory reads each file once: a part's images were read again to pool the
training part's pixel range with them, and the training images again for the test part (MNIST's
47 MB of training images inflated twice, the t10k images three times, by ``chainrule train``).
A file's header alone is read where its pixels cannot change the result; every check stays."""

from __future__ import annotations

import collections
import gzip
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.cli import main
from chainrule.data import idx
from chainrule.errors import DataError

RNG = np.random.default_rng(0)


@pytest.fixture
def reads(monkeypatch):
    """How often each file's whole contents are read (by name): the reads of read_idx's one
    reader of an IDX file past its header (a .gz file is inflated as it is read, never read
    whole by Path.read_bytes, which this counted)."""
    counts: collections.Counter = collections.Counter()
    whole = idx._idx_bytes

    def counting(path):
        counts[Path(path).name] += 1
        return whole(path)

    monkeypatch.setattr(idx, "_idx_bytes", counting)
    return counts


def idx_dir(path, parts, gz=".gz"):
    """An IDX directory of ``{prefix: (images, labels)}``, written with data.write_idx."""
    path.mkdir()
    for prefix, (images, labels) in parts.items():
        data.write_idx(path / f"{prefix}-images-idx3-ubyte{gz}", images)
        data.write_idx(path / f"{prefix}-labels-idx1-ubyte{gz}", np.asarray(labels, np.uint8))
    return path


def part(n, dtype=np.uint8, low=0, high=255):
    images = RNG.integers(low, high + 1, size=(n, 4, 4)).astype(dtype)
    return images, RNG.integers(0, 3, size=n)


def test_the_train_and_test_parts_read_each_file_once_in_all(tmp_path, reads):
    """The commands load the training part, then the test part: four files, four reads (it was
    seven). The oracle: 8-bit pixels divided by 255."""
    train, test = part(30), part(20)
    directory = idx_dir(tmp_path / "mnist", {"train": train, "t10k": test})
    loaded = [data.load(directory), data.load(directory, part="test")]
    assert sorted(reads.values()) == [1, 1, 1, 1], dict(reads)
    for ds, (images, labels) in zip(loaded, (train, test)):
        np.testing.assert_allclose(ds.X, images.reshape(len(images), -1) / 255, rtol=1e-6)
        np.testing.assert_array_equal(ds.y, labels)
        assert ds.meta["pixel_range"] == [0.0, 255.0]


def test_pixels_that_set_the_range_are_read_once_in_a_load(tmp_path, reads):
    """Float pixels (USPS's -1..1) set the range the parts are mapped from, so the other
    part's images are read too, but once: the test part's images were read twice (as its
    data, then to pool with the training images). The oracle:
    the pixels mapped from both parts' min..max."""
    train = (RNG.uniform(-1, 1, size=(30, 4, 4)).astype(np.float32), RNG.integers(0, 3, 30))
    test = (RNG.uniform(-0.5, 0.9, size=(20, 4, 4)).astype(np.float32), RNG.integers(0, 3, 20))
    directory = idx_dir(tmp_path / "usps", {"train": train, "t10k": test})
    ds = data.load(directory, part="test")
    expected = {"t10k-labels-idx1-ubyte.gz": 1, "train-images-idx3-ubyte.gz": 1,
                "t10k-images-idx3-ubyte.gz": 1}  # fmt: skip
    assert reads == expected
    low = min(train[0].min(), test[0].min())
    high = max(train[0].max(), test[0].max())
    images = test[0].astype(np.float64)
    np.testing.assert_allclose(ds.X, ((images - low) / (high - low)).reshape(len(images), -1),
                               rtol=1e-6, atol=1e-7)  # fmt: skip


def test_chainrule_train_reads_each_idx_file_once(tmp_path, reads, capsys):
    directory = idx_dir(tmp_path / "mnist", {"train": part(40), "t10k": part(20)})
    code = main(["train", "--data", str(directory), "--epochs", "1", "--hidden", "4",
                 "--out", str(tmp_path / "run"), "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    idx = {name: n for name, n in reads.items() if "-idx" in name}
    assert sorted(idx.values()) == [1, 1, 1, 1], idx


def test_an_unread_neighbour_changes_nothing_it_did_not_change_before(tmp_path, reads):
    """8-bit t10k images are not read for the training part's range (0..255 whatever their
    pixels), and a truncated t10k file was left out of that range: the same range either way,
    and it is refused when its own part is loaded, naming it."""
    directory = idx_dir(tmp_path / "mnist", {"train": part(30, high=200), "t10k": part(20)}, "")
    t10k = directory / "t10k-images-idx3-ubyte"
    t10k.write_bytes(t10k.read_bytes()[:-5])
    reads.clear()
    assert data.load(directory).meta["pixel_range"] == [0.0, 255.0]
    assert "t10k-images-idx3-ubyte" not in reads
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: IDX file truncated"):
        data.load(directory, part="test")


def test_a_wider_neighbour_is_still_read_and_pooled(tmp_path, reads):
    """int16 t10k pixels up to 1000 widen the 8-bit training images' range: they are read
    (once a load)."""
    wide = part(20, np.int16, high=999)
    wide[0][0, 0, 0] = 1000
    directory = idx_dir(tmp_path / "d", {"train": part(30, high=200), "t10k": wide})
    for chosen in ("train", "test"):
        reads.clear()
        assert data.load(directory, part=chosen).meta["pixel_range"] == [0.0, 1000.0]
        assert reads["train-images-idx3-ubyte.gz"] == reads["t10k-images-idx3-ubyte.gz"] == 1


def _bad_magic(raw):
    inflated = bytearray(gzip.decompress(raw))
    inflated[0] = 1
    return gzip.compress(bytes(inflated))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda raw: raw[:-9], r"images-idx3-ubyte\.gz: cannot read IDX file \(Compressed file"),
        (lambda raw: b"\x1f\x8b" + b"junk" * 4, r"images-idx3-ubyte\.gz: cannot read IDX file"),
        (lambda raw: b"", r"images-idx3-ubyte\.gz: 0 bytes is too short for an IDX header"),
        (_bad_magic, r"images-idx3-ubyte\.gz: bad IDX magic number 0x01000803 \(expected"),
        (None, r"labels-idx1-ubyte\.gz: 19 labels for 20 images in t10k-images-idx3"),
    ],
)
def test_a_broken_test_part_is_named_and_read_once(tmp_path, reads, spoil, message):
    """The training part loads (its range 0..255, the broken file left out of it, as before)
    without reading the 8-bit t10k images; loading the test part names what is wrong."""
    images, labels = part(20)
    if spoil is None:
        labels = labels[:-1]
    directory = idx_dir(tmp_path / "mnist", {"train": part(30), "t10k": (images, labels)})
    t10k = directory / "t10k-images-idx3-ubyte.gz"
    if spoil is not None:
        t10k.write_bytes(spoil(t10k.read_bytes()))
    reads.clear()
    assert data.load(directory).meta["pixel_range"] == [0.0, 255.0]
    with pytest.raises(DataError, match="t10k-" + message):
        data.load(directory, part="test")
    assert reads[t10k.name] == 1, dict(reads)
