"""A gzipped IDX file is inflated as it is read from the open file, never read whole first: a
.gz file of 200 MiB (sparse: a small member, then zeros) whose IDX header claims 800 bytes was
read into memory whole (200 MiB) before its header was looked at. And the duplicate check (a
file beside its .gz) hashes no more of a file than read_idx reads: a gzip bomb beside its plain
twin was inflated whole (50 MB of zeros behind an 800-byte claim) to be hashed."""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_idx_gzip_bomb_s60 import gzip_bomb, idx_header, peak_of  # noqa: E402

#: The most reading a refused file may make this process allocate (tracemalloc sees NumPy's
#: arrays too): a chunk and change, far below the 200 MiB the file holds.
PEAK_LIMIT = 4 * 2**20
PADDED = 200 * 2**20


def padded_gz(path: Path, extra: int = 1) -> Path:
    """A .gz file of ``PADDED`` bytes: one member holding an IDX header for 1x28x28 uint8 and
    ``784 + extra`` bytes, then zeros (sparse: no disk)."""
    path.write_bytes(gzip.compress(idx_header(0x08, (1, 28, 28)) + bytes(784 + extra)))
    os.truncate(path, PADDED)
    return path


def test_a_large_gz_file_is_inflated_as_it_is_read_never_read_whole(tmp_path):
    """Its first member already holds one byte past the header's 800: refused with nothing
    more read, where the file's 200 MiB were first read into memory."""
    path = padded_gz(tmp_path / "train-images-idx3-ubyte.gz")
    peak, raised = peak_of(data.read_idx, path)
    assert isinstance(raised, DataError), raised
    assert str(raised) == (
        f"{path}: IDX file has trailing bytes: dimensions (1, 28, 28) of uint8 need 800 bytes, "
        "the file has more once gunzipped"
    )
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"


def test_loading_a_directory_with_a_large_gz_file_reads_it_as_a_stream(tmp_path):
    directory = tmp_path / "mnist"
    directory.mkdir()
    padded_gz(directory / "train-images-idx3-ubyte.gz")
    data.write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(1, np.uint8))
    peak, raised = peak_of(data.load, directory)
    assert isinstance(raised, DataError) and "has trailing bytes" in str(raised), raised
    assert str(raised).startswith(f"{directory / 'train-images-idx3-ubyte.gz'}: ")
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"


@pytest.fixture
def inflated(monkeypatch) -> dict[str, int]:
    """How many bytes gzip inflates (what GzipFile.read returns), by file name."""
    counts: dict[str, int] = {}
    read = gzip.GzipFile.read

    def counting(self, *args):
        chunk = read(self, *args)
        name = Path(self.name).name
        counts[name] = counts.get(name, 0) + len(chunk)
        return chunk

    monkeypatch.setattr(gzip.GzipFile, "read", counting)
    return counts


def test_a_gzip_bomb_beside_its_plain_twin_is_hashed_only_as_far_as_its_header_needs(
    tmp_path, inflated
):
    """The plain file holds the header's 800 bytes, the .gz the same 800 and 50 MB of zeros
    past them: they differ (the .gz is refused when it is read), found by inflating 801 bytes
    of it, where the whole 50 MB were inflated to be hashed."""
    plain = tmp_path / "train-images-idx3-ubyte"
    plain.write_bytes(idx_header(0x08, (1, 28, 28)) + bytes(784))
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match=r"both hold the train images but their data differ"):
        data.find_idx_pairs(tmp_path)
    assert inflated[bomb.name] <= 801, inflated
    with pytest.raises(DataError, match="has trailing bytes"):
        data.read_idx(bomb)
