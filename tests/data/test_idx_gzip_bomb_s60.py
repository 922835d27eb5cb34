"""An IDX file is read no further than its header needs, and one byte past: a .gz file whose
header claims 800 bytes but which inflates to 50 MB of zeros (a gzip bomb: 2 MB of gzip made 2
GiB, 4.25 GB of memory and 7 s before "trailing bytes") is refused having inflated 801 bytes,
and so is a plain file of gigabytes (sparse) behind a small header, unread."""

from __future__ import annotations

import os
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error  # noqa: E402

#: The most a refused bomb may make this process allocate (traced by tracemalloc, which sees
#: NumPy's arrays too): the compressed file (50 KB) and a chunk, far below the 50 MB inside.
PEAK_LIMIT = 4 * 2**20
ZEROS = 50 * 2**20


def idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def gzip_bomb(path: Path, dims=(1, 28, 28), zeros: int = ZEROS) -> Path:
    """A gzip file: an IDX header for ``dims`` of uint8, then ``zeros`` zero bytes, compressed a
    megabyte at a time (the bomb is never held inflated here either)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: the gzip format
    parts = [packer.compress(idx_header(0x08, dims))]
    chunk = bytes(2**20)
    parts += [packer.compress(chunk) for _ in range(zeros // len(chunk))]
    path.write_bytes(b"".join([*parts, packer.flush()]))
    return path


def peak_of(call, *args) -> tuple[int, BaseException | None]:
    """The peak of memory traced while ``call(*args)`` runs, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 (the caller judges it)
        raised = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def test_a_gzip_bomb_is_refused_having_inflated_one_byte_past_its_header(tmp_path):
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz")
    peak, raised = peak_of(data.read_idx, bomb)
    assert isinstance(raised, DataError), raised
    assert str(raised) == (
        f"{bomb}: IDX file has trailing bytes: dimensions (1, 28, 28) of uint8 need 800 bytes, "
        "the file has more once gunzipped"
    )
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"
    short = gzip_bomb(tmp_path / "short-images-idx3-ubyte.gz", dims=(2, 1024, 1024), zeros=2**20)
    with pytest.raises(DataError, match=r"truncated: .* need 2097168 bytes, the file has 1048592$"):
        data.read_idx(short)  # one that falls short still says how many bytes it has


def test_a_bomb_in_an_idx_directory_is_refused_by_load_and_by_the_command_line(tmp_path, capsys):
    directory = tmp_path / "mnist"
    directory.mkdir()
    gzip_bomb(directory / "train-images-idx3-ubyte.gz")
    data.write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(1, np.uint8))
    peak, raised = peak_of(data.load, directory)
    assert isinstance(raised, DataError) and "has trailing bytes" in str(raised), raised
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"
    line = assert_user_error(
        capsys, "train", "--data", directory, "--out", tmp_path / "run", "-q",
        match="train-images-idx3-ubyte.gz: IDX file has trailing bytes",
    )  # fmt: skip
    assert line.endswith("the file has more once gunzipped")


def test_a_plain_file_of_gigabytes_behind_a_small_header_is_refused_unread(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_header(0x08, (1, 28, 28)) + bytes(784))
    os.truncate(path, 200 * 2**20)  # sparse: no disk, but reading it allocates 200 MiB
    peak, raised = peak_of(data.read_idx, path)
    assert isinstance(raised, DataError), raised
    assert str(raised).endswith(f"need 800 bytes, the file has {200 * 2**20}")
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB"
