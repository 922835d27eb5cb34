"""``chainrule train --data big.csv`` said nothing while it read a large file (tens of seconds
at 100 MB: it looked hung). A file of at least ``BIG_DATA_BYTES`` is now named on stderr, once,
before it is read; a smaller one (every file of the other tests) prints nothing new, and
``--quiet`` nothing at all. The threshold is lowered here rather than a 32 MB file written."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import run

from chainrule.cli import train


def _csv(path, n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    rows = [f"{a:.4f},{b:.4f},{int(a > 0)}\n" for a, b in X]
    path.write_text("a,b,label\n" + "".join(rows))
    return path


def _reading_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("reading ")]


def test_a_big_data_file_is_named_once_before_it_is_read(tmp_path, capsys, monkeypatch):
    data = _csv(tmp_path / "big.csv")
    size = data.stat().st_size
    monkeypatch.setattr(train, "BIG_DATA_BYTES", size)  # at least this large: big
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 1, "--out", tmp_path / "r")
    assert code == 0, err
    assert _reading_lines(err) == [f"reading {data} ({size} bytes)..."], err
    assert err.startswith("reading "), err  # before anything the reading and training say
    # one byte smaller than the threshold: nothing, and the run's stderr is as it was
    monkeypatch.setattr(train, "BIG_DATA_BYTES", size + 1)
    code, _, small = run(capsys, "train", "--data", data, "--epochs", 1, "--out", tmp_path / "s")
    assert code == 0, small
    assert _reading_lines(small) == []
    assert err.split("\n", 1)[1] == small


def test_quiet_and_built_in_data_say_nothing_of_reading(tmp_path, capsys, monkeypatch):
    data = _csv(tmp_path / "big.csv")
    monkeypatch.setattr(train, "BIG_DATA_BYTES", 1)
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 1, "-q",
                       "--out", tmp_path / "q")  # fmt: skip
    assert code == 0, err
    assert _reading_lines(err) == []
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", 1, "--out", tmp_path / "x")
    assert code == 0, err
    assert _reading_lines(err) == []


@pytest.mark.parametrize(
    ("size", "shown"),
    [(143_000_000, "143 MB"), (150_994_944, "151 MB"), (1_234_567_890, "1.2 GB"),
     (33_554_432, "34 MB"), (9_960_000, "10 MB"), (9_940_000, "9.9 MB"), (12_000, "12 kB"),
     (900, "900 bytes")],
)  # fmt: skip
def test_sizes_are_shown_as_a_person_reads_them(size, shown):
    assert train._size_shown(size) == shown
