"""Review of session 66's commits, each shown failing before:

- ``evaluate RUN --part test`` on a run judged on its training cases (``train --data xor``)
  scored the training cases, labelled "train split", where ``--part validation`` is refused:
  it is refused alike, naming why;
- ``--import json`` with a ./json.py in the current directory silently imported nothing (the
  standard library's json, already imported, answered), where ``--import json.py`` is refused:
  the dotted name is refused alike where a file or package of that name is in the current
  directory and another module of that name is already imported.
"""

from __future__ import annotations

import json
import sys

import pytest
from cli_run import assert_user_error, run


def test_part_test_of_a_run_judged_on_its_training_cases_is_refused(tmp_path, capsys):
    out = tmp_path / "xor"
    assert run(capsys, "train", "--data", "xor", "--epochs", "2", "-q", "--out", out)[0] == 0
    why = "held out no test cases (it is judged on its training cases)"
    line = assert_user_error(capsys, "evaluate", out, "--part", "test", match=why)
    assert line.startswith("chainrule: --part test: "), line
    assert "choose train" in line
    code, shown, err = run(capsys, "evaluate", out, "--part", "train", "--json")
    assert code == 0, err
    assert json.loads(shown)["cases"] == 4


@pytest.mark.parametrize("given", ["json", "json.decoder"])
def test_a_dotted_name_shadowed_by_an_imported_module_is_refused_as_its_file_is(
    tmp_path, capsys, monkeypatch, given
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "json.py").write_text("MINE = True\n")
    said = "its name, 'json', is a module already imported"
    line = assert_user_error(capsys, "--import", given, "evaluate", "nowhere", match=said)
    assert f"--import {given}: " in line and str(tmp_path / "json.py") in line, line
    assert "rename the file" in line
    assert not hasattr(sys.modules["json"], "MINE")
    # the .py form says the same
    assert_user_error(capsys, "--import", "json.py", "evaluate", "nowhere", match=said)


def test_a_package_of_an_imported_modules_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "__init__.py").write_text("")
    line = assert_user_error(capsys, "--import", "csv", "evaluate", "nowhere",
                             match="its name, 'csv', is a module already imported")  # fmt: skip
    assert f"the package {tmp_path / 'csv'} in the current directory" in line, line


def test_a_module_imported_from_the_current_directory_is_imported_again_quietly(
    tmp_path, capsys, monkeypatch
):
    """No refusal where the module already imported is the current directory's own, nor for a
    name no file or package here shadows."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugin_review1_here.py").write_text("HERE = True\n")
    try:
        for _ in range(2):
            code, _, err = run(capsys, "--import", "plugin_review1_here", "--import", "json",
                               "evaluate", "nowhere")  # fmt: skip
            assert code == 2 and "--import" not in err, err  # evaluate's own refusal
        assert sys.modules["plugin_review1_here"].HERE
    finally:
        sys.modules.pop("plugin_review1_here", None)
