"""examples/family_trees.py writes its JSON before drawing Fig. 4: a figure that failed to draw
(matplotlib missing, a disk full) lost the numbers of up to 25 minutes of training."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "family_trees.py"


def _example():
    spec = importlib.util.spec_from_file_location("family_trees_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_figure_that_fails_leaves_the_json_written(tmp_path, monkeypatch):
    example = _example()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(example, "plot_person_units", disk_full)
    out = tmp_path / "out.json"
    with pytest.raises(OSError, match="No space left"):
        example.main(splits=1, figure=str(tmp_path / "f.png"), json_path=str(out))
    saved = json.loads(out.read_text())["default"]
    assert saved["summary"]["runs"] == len(saved["runs"]) == 1
