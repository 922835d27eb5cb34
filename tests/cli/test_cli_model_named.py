"""predict, evaluate and export take their model as the first argument or as ``--model``, the
name explain, graph and serve give it: ``predict --model RUN`` was "No such option: --model
(Possible options: --help)"."""

from __future__ import annotations

import pytest
from cli_run import assert_user_error, run

from chainrule.cli import main


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xor"
    assert main(["train", "--data", "xor", "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    return out


def _rows(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("0,1\n1,1\n")
    return rows


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_model_by_name_gives_what_the_first_argument_gives(command, xor_run, tmp_path, capsys):
    rest = ["--input", _rows(tmp_path)] if command == "predict" else []
    by_position = run(capsys, command, xor_run, *rest)
    by_name = run(capsys, command, "--model", xor_run, *rest)
    assert by_position[0] == 0 and by_position[:2] == by_name[:2]
    assert by_position[1].strip()


def test_export_takes_the_model_by_name(xor_run, tmp_path, capsys):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    pytest.importorskip("onnx")
    assert run(capsys, "export", xor_run, "--format", "onnx", "--out", a)[0] == 0
    assert run(capsys, "export", "--model", xor_run, "--format", "onnx", "--out", b)[0] == 0
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "--input", "rows.csv"],
        ["evaluate"],
        ["export", "--format", "onnx", "--out", "m.onnx"],
    ],
)
def test_no_model_or_two_are_refused_in_one_line(args, xor_run, capsys):
    assert_user_error(capsys, *args, match=f"no model given: chainrule {args[0]} ")
    twice = [args[0], xor_run, "--model", xor_run, *args[1:]]
    assert_user_error(capsys, *twice, match="give the model once")
