"""A digits run reads scikit-learn's copy of the data, so its numbers depend on which
scikit-learn is installed: every run's environment records that version (a reproducibility
auditor found it nowhere, session 62). Oracle: the installed distribution's own metadata, and
the digits file the data set reads lying inside that distribution."""

from __future__ import annotations

import importlib
import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import run  # noqa: E402

from chainrule import io  # noqa: E402


def test_a_digits_run_records_the_scikit_learn_whose_data_it_read(tmp_path, capsys):
    sklearn = pytest.importorskip("sklearn")
    digits = importlib.import_module("chainrule.data.digits")  # the module, not the function
    assert Path(sklearn.__file__).parent in digits._digits_file().parents  # the premise
    out = tmp_path / "r"
    args = ("train", "--data", "digits", "--epochs", "1", "--hidden", "4", "--out", out, "-q")
    code, _, err = run(capsys, *args)
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    model = json.loads((out / "model" / io.MODEL_JSON).read_text())
    recorded = summary["environment"]["scikit_learn"]
    assert recorded == metadata.version("scikit-learn")
    assert model["meta"]["environment"]["scikit_learn"] == recorded


def test_without_scikit_learn_the_record_says_none(monkeypatch):
    from chainrule.train import runs

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert runs.environment()["scikit_learn"] is None
