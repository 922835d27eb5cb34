"""What a run directory records to be reproduced (QA, session 61: "Missing records"): run.json,
model.json and trainer.json named no chainrule, Python, NumPy nor BLAS version, nor
chainrule's settings (CHAINRULE_AXPY, CHAINRULE_MALLOC); ``mpiexec -n 2 chainrule train``
wrote the run.json of one process, though its sums are added in another order; and --explain
was not recorded, so ``--resume`` without it dropped the gradient health silently.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from pathlib import Path

import numpy as np
from cli_run import run

import chainrule
from chainrule import io

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))
from test_mpi import _launch, needs_mpi  # noqa: E402

XOR = ["train", "--data", "xor", "--quiet"]


def _files(out: Path) -> tuple[dict, dict, dict]:
    """run.json, model.json and the latest checkpoint's trainer.json of a run directory."""
    summary = json.loads((out / "run.json").read_text())
    model = json.loads((out / "model" / io.MODEL_JSON).read_text())
    trainer = json.loads((io.find_checkpoint(out / "checkpoints") / io.TRAINER_JSON).read_text())
    return summary, model, trainer


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_a_run_records_its_environment_in_each_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINRULE_AXPY", "numpy")
    monkeypatch.delenv("CHAINRULE_MALLOC", raising=False)
    code, _, err = run(capsys, *XOR, "--epochs", "2", "--out", tmp_path / "r")
    assert code == 0, err
    summary, model, trainer = _files(tmp_path / "r")
    environment = summary["environment"]
    assert model["meta"]["environment"] == trainer["meta"]["environment"] == environment
    assert environment["chainrule"] == chainrule.__version__
    assert environment["python"] == platform.python_version()
    assert environment["numpy"] == np.__version__
    assert environment["ranks"] == 1  # one process
    settings = environment["settings"]
    assert settings["CHAINRULE_AXPY"] == "numpy" and settings["CHAINRULE_MALLOC"] is None
    built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # NumPy's own word
    assert environment["blas"]["name"] == built["name"]
    assert environment["blas"]["version"] == built["version"]
    threads = environment["blas"]["threads"]
    assert threads is None or (type(threads) is int and threads >= 1)
    # handed to others: no path (the user's home, the libraries'), no host name
    assert not [s for s in _strings(environment) if os.sep in s or s == socket.gethostname()]
    assert str(Path.home()) not in json.dumps(environment)


def test_run_json_holds_what_runs_environment_gives(tmp_path, capsys):
    from chainrule.train import runs

    assert run(capsys, *XOR, "--epochs", "1", "--out", tmp_path / "r")[0] == 0
    assert _files(tmp_path / "r")[0]["environment"] == runs.environment()


@needs_mpi
def test_mpiexec_records_its_ranks(tmp_path):
    """Two ranks sum each batch's gradients in two parts: the run says so."""
    args = ["-m", "chainrule", *XOR, "--epochs", "3", "--out", "run"]
    done = _launch(2, args, tmp_path)
    assert done.returncode == 0, done.stderr
    summary, model, trainer = _files(tmp_path / "run")
    assert summary["environment"]["ranks"] == 2
    assert model["meta"]["environment"]["ranks"] == trainer["meta"]["environment"]["ranks"] == 2


# -- --explain is recorded, and a resume goes on watching ----------------------------------------


def _epochs_watched(out: str) -> list[int]:
    return [record["epoch"] for record in json.loads(out)["gradient_health_history"]]


def test_a_resume_of_an_explained_run_goes_on_watching(tmp_path, capsys):
    r = tmp_path / "r"
    assert run(capsys, *XOR, "--epochs", "2", "--explain", "--out", r)[0] == 0
    summary, model, trainer = _files(r)
    assert summary["config"]["explain"] is True
    assert model["meta"]["run"]["explain"] is trainer["meta"]["run"]["explain"] is True
    (r / "gradient_health.png").unlink()
    code, out, err = run(capsys, "train", "--resume", r, "--epochs", "4", "--quiet", "--json")
    assert code == 0, err
    assert _epochs_watched(out) == [1, 2, 3, 4]
    assert (r / "gradient_health.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads(out)["config"]["explain"] is True


def test_explain_and_no_explain_on_resume_change_it_from_there(tmp_path, capsys):
    r = tmp_path / "r"
    assert run(capsys, *XOR, "--epochs", "2", "--out", r)[0] == 0
    assert _files(r)[0]["config"]["explain"] is False
    code, out, err = run(capsys, "train", "--resume", r, "--epochs", "3", "--explain", "--quiet",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert _epochs_watched(out) == [3]  # watched from the resume on, and recorded
    assert _files(r)[2]["meta"]["run"]["explain"] is True
    code, out, err = run(capsys, "train", "--resume", r, "--epochs", "4", "--no-explain",
                         "--quiet", "--json")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert "gradient_health_history" not in summary and summary["config"]["explain"] is False


def test_a_new_run_with_no_explain_watches_nothing(tmp_path, capsys):
    code, out, err = run(capsys, *XOR, "--epochs", "1", "--no-explain", "--json", "--out",
                         tmp_path / "r")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["config"]["explain"] is False and "gradient_health_history" not in summary
