"""A default run folder is named after the data file; a long name (a student's 254-byte file
name, umlauts included) made ``chainrule train`` fail with "File name too long" for a folder the
user never named (session 62). The name is cut to ``RUN_NAME_BYTES`` of UTF-8, whole
characters only. Oracle: the file system creating the folder, and the name's own bytes."""

from __future__ import annotations

import dataclasses

from chainrule.train import runs


def _config(data: str) -> runs.RunConfig:
    return dataclasses.replace(runs.resolve_config({"data": "xor"}), data=data)


def test_a_long_data_file_name_gives_a_folder_the_file_system_takes(tmp_path):
    stem = "Größe_" + "ä" * 120  # 247 bytes: with the time the folder's name was past 255
    out = runs.claim_default_out(_config(f"{stem}.csv"), tmp_path)
    assert out.is_dir() and out.parent == tmp_path
    kept = out.name.rsplit("-", 2)[0]
    assert stem.startswith(kept) and len(kept.encode()) <= runs.RUN_NAME_BYTES
    assert len(kept.encode()) > runs.RUN_NAME_BYTES - 2  # cut at a whole 2-byte character


def test_a_short_name_is_kept_whole(tmp_path):
    out = runs.claim_default_out(_config("data/Größe.csv"), tmp_path)
    assert out.name.startswith("Größe-")
