"""``chainrule.train.runs``: how a run reads its data, names its directory and parses options."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.errors import UserError
from chainrule.train import runs


def fine_csv(path, n=40):
    """Two features that differ from 1 only past float32's precision (1e-9)."""
    rng = np.random.default_rng(0)
    X = 1 + rng.normal(size=(n, 2)) * 1e-9
    np.savetxt(path, np.c_[X, X[:, 0] > 1], delimiter=",", fmt="%.17g")
    return path


def test_a_float64_run_reads_its_csv_in_float64(tmp_path):
    config = runs.resolve_config({"data": str(fine_csv(tmp_path / "fine.csv")), "dtype": "float64"})
    prepared = runs.load_data(config)
    assert prepared.full.X.dtype == np.float64
    assert len(np.unique(prepared.full.X[:, 0])) == len(prepared.full)  # nothing collapsed


def test_a_new_run_pins_its_data_file_by_absolute_path_and_checksum(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fine_csv(tmp_path / "fine.csv")
    config = runs.resolve_config({"data": "fine.csv"})
    assert config.data == "fine.csv" and config.data_file == str(tmp_path / "fine.csv")
    assert config.data_sha256 == runs.data_checksum(tmp_path / "fine.csv")
    assert runs.resolve_config({"data": "xor"}).data_sha256 is None  # built in: nothing to pin


def test_default_run_directories_started_in_the_same_second_are_distinct(tmp_path, monkeypatch):
    monkeypatch.setattr(runs.time, "strftime", lambda fmt: "20250101-120000")
    config = runs.resolve_config({"data": "xor"})
    claimed = [runs.claim_default_out(config, tmp_path / "runs") for _ in range(3)]
    assert [p.name for p in claimed] == ["xor-20250101-120000", "xor-20250101-120000-2",
                                         "xor-20250101-120000-3"]  # fmt: skip
    assert all(p.is_dir() and not any(p.iterdir()) for p in claimed)


@pytest.mark.parametrize("text", ["64,", "64,,32", ",64", ""])
def test_hidden_sizes_with_an_empty_entry_are_refused(text):
    with pytest.raises(UserError, match="--hidden must be"):
        runs.parse_hidden(text)


@pytest.mark.parametrize("text", ["3 2", "64 32", "1_0", "٣", "+4"])
def test_hidden_sizes_are_ascii_numbers_between_commas(text):
    """ "3 2" was read as one layer of 32 units, "1_0" as 10 (the CSV reader refuses both)."""
    with pytest.raises(UserError, match="--hidden must be comma-separated"):
        runs.parse_hidden(text)
    assert runs.parse_hidden(" 3, 2 ") == [3, 2]


@pytest.mark.parametrize("data", ["digits", "xor"])
def test_a_full_batch_asked_for_is_a_full_batch(data):
    """--batch-size full is None, which meant "not given": the preset's 32 won for digits."""
    given = runs.resolve_config({"data": data, "batch_size": runs.parse_batch_size("full")})
    assert given.batch_size is None
    assert runs.resolve_config({"data": data}).batch_size == runs.PRESETS[data].get("batch_size")
    with pytest.raises(UserError, match="--batch-size must be a positive integer"):
        runs.parse_batch_size("1_0")
