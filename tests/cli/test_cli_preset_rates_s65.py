"""``chainrule train --optimizer X`` without ``--lr``: a classic problem trains at the rate
measured for X (``runs.PRESET_RATES``), recorded in run.json, without a note; the note that the
rate was chosen for another optimizer is left where no rate was measured (a CSV file)."""

from __future__ import annotations

import json

from cli_run import run

from chainrule.train import runs


def _config(out):
    return json.loads((out / "run.json").read_text())["config"]


def test_xor_with_adam_trains_at_the_measured_rate_without_a_note(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", "xor", "--optimizer", "adam", "--epochs", 1,
                       "-q", "--out", tmp_path / "a")  # fmt: skip
    assert code == 0, err
    assert "no --lr given" not in err
    assert _config(tmp_path / "a")["lr"] == runs.PRESET_RATES["xor"]["adam"] == 0.01


def test_a_csv_file_with_another_optimizer_keeps_the_note(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("".join(f"{k},{k % 5},{k % 2}\n" for k in range(30)))
    code, _, err = run(capsys, "train", "--data", path, "--optimizer", "momentum", "--epochs", 1,
                       "-q", "--out", tmp_path / "a")  # fmt: skip
    assert code == 0, err
    note = [line for line in err.splitlines() if "no --lr given" in line]
    assert note == [
        "note: no --lr given: momentum trains at lr 0.003, the rate for a CSV or IDX with adam "
        "(none was measured for momentum), which may not suit momentum; give --lr"
    ]
    assert _config(tmp_path / "a")["lr"] == runs.GENERIC["lr"]
    # the CSV's own optimizer, or a rate given: no note
    for k, args in enumerate([["--optimizer", "adam"], ["--optimizer", "sgd", "--lr", "0.1"]]):
        code, _, err = run(capsys, "train", "--data", path, *args, "--epochs", 1, "-q", "--out",
                           tmp_path / f"r{k}")  # fmt: skip
        assert code == 0, err
        assert "no --lr given" not in err, args


def test_sgd_with_a_momentum_of_its_own_trains_at_the_presets_rate_saying_so(tmp_path, capsys):
    """Review: sgd's measured rate (5 on symmetry, without momentum) went to
    ``--momentum 0.9`` silently, and no seed learned."""
    code, _, err = run(capsys, "train", "--data", "symmetry", "--optimizer", "sgd", "--momentum",
                       "0.9", "--epochs", 1, "-q", "--out", tmp_path / "a")  # fmt: skip
    assert code == 0, err
    assert [line for line in err.splitlines() if "no --lr given" in line] == [
        "note: no --lr given: sgd trains at lr 0.1, the rate for symmetry with momentum (none was "
        "measured for sgd with --momentum 0.9), which may not suit sgd; give --lr"
    ]
    assert _config(tmp_path / "a")["lr"] == runs.PRESETS["symmetry"]["lr"]
