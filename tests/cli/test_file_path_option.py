"""An option naming a file to write (``--out``, ``predict --output``) that is an existing
directory is refused when the options are read, with the message every writer of a file gives
(``chainrule.files.file_path_problem``); it was "--out exports: cannot write (Is a directory)"
after the work was done, or, for export, a message of its own."""

from __future__ import annotations

import pytest
from cli_run import assert_user_error


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    from chainrule.cli import main

    out = tmp_path_factory.mktemp("runs") / "xor"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize(
    "command",
    [
        ["graph", "--format", "dot", "--out"],
        ["explain", "--model", "{run}", "--input", "1,0", "--target", "1", "--no-symbolic",
         "--out"],
        ["predict", "{run}", "--input", "{rows}", "--output"],
        ["export", "{run}", "--format", "onnx", "--out"],
    ],
    ids=["graph", "explain", "predict", "export"],
)  # fmt: skip
def test_an_existing_directory_is_refused_with_the_one_message(xor_run, tmp_path, capsys,
                                                               monkeypatch, command):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.csv").write_text("1,0\n")
    (tmp_path / "exports").mkdir()
    args = [a.format(run=xor_run, rows=tmp_path / "rows.csv") for a in command]
    line = assert_user_error(capsys, *args, "exports",
                             match="'exports' is a directory, not a file; give the name of the "
                                   "file to write")  # fmt: skip
    assert "--out" in line or "--output" in line  # the option is named
    assert list((tmp_path / "exports").iterdir()) == []


def test_a_name_too_long_is_still_the_writes_own_error(tmp_path, capsys, monkeypatch):
    """Whether a name too long for the file system is a directory cannot be asked (Path.is_dir
    raises): the parser lets it through, and the write names the option and the cause."""
    monkeypatch.chdir(tmp_path)
    name = "m" * 300
    assert_user_error(capsys, "graph", "--format", "dot", "--out", name,
                      match=f"--out {name}: cannot write (File name too long)")  # fmt: skip
    assert list(tmp_path.iterdir()) == []
