"""chainrule's JSON files hold names as written (session 62: a student opening run.json or
model.json read ``"Gr\\u00f6\\u00dfe"`` for a column named Größe, and ``\\ud83d\\udc31`` for a
class named with an emoji). The files are UTF-8; the names come back as they went in.
Oracle: the file's own bytes, decoded as UTF-8, and Python's json reading them."""

from __future__ import annotations

import json

import numpy as np

from chainrule import io, nn

NAMES = ["Größe", "İzmir", "中文", "🐱"]


def test_model_json_holds_non_ascii_names_as_written(tmp_path):
    model = nn.Sequential(nn.Linear(2, 4, dtype=np.float64))
    saved = io.save_model(tmp_path / "m", model, class_names=NAMES)
    text = (saved / io.MODEL_JSON).read_bytes().decode("utf-8")
    assert all(name in text for name in NAMES) and "\\u" not in text
    assert json.loads(text)["class_names"] == NAMES
    assert io.load_model(saved)[1]["class_names"] == NAMES


def test_any_file_written_by_atomic_write_json_is_utf8_text(tmp_path):
    path = io.atomic_write_json(tmp_path / "run.json", {"columns": NAMES, "loss": 0.5})
    text = path.read_bytes().decode("utf-8")
    assert "\\u" not in text and json.loads(text) == {"columns": NAMES, "loss": 0.5}
    assert io.read_json(path) == {"columns": NAMES, "loss": 0.5}
