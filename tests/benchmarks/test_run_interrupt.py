"""Ctrl-C during benchmarks/run.py keeps the results measured so far and ends in one line: a
traceback lost every round of a suite that had run for minutes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repo root holds benchmarks/

from benchmarks import run  # noqa: E402


def test_ctrl_c_saves_the_finished_tasks_and_says_where(tmp_path, monkeypatch, capsys):
    measured = {"status": "ok", "times": [0.001]}
    calls = []

    def first_task_then_ctrl_c(task, *_):
        calls.append(task.key)
        if len(calls) > 1:
            raise KeyboardInterrupt  # as a SIGINT arrives in the second task's child
        task.results["numpy"] = [measured]

    monkeypatch.setattr(run, "run_task", first_task_then_ctrl_c)
    raw = tmp_path / "raw.json"
    try:
        status = run.main(["--only", "sgemm,mlp1", "--quick", "--cores", "1",
                           "--output", str(tmp_path / "r.md"), "--json", str(raw)])  # fmt: skip
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped run.main as a traceback; the finished rounds were lost")
    assert status == 130 and len(calls) == 2
    saved = json.loads(raw.read_text())
    assert saved["facts"]["interrupted"] is True
    assert [t["results"] for t in saved["tasks"]] == [{"numpy": [measured]}]  # the finished one
    assert not (tmp_path / "r.md").exists()  # no report of half a suite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.json"]  # no temp file left
    err = capsys.readouterr().err.strip().splitlines()
    assert "interrupted" in err[-1] and str(raw) in err[-1]
