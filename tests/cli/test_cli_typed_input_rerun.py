"""Numbers typed into --input are not a file: running explain or graph again over an existing
--out failed with "File name too long" (the overwrite check asked the file system whether the
319 typed characters named a file). The oracle: the second run writes what the first wrote."""

from __future__ import annotations

import pytest
from cli_run import run

from chainrule import io, nn


@pytest.fixture
def wide_model(tmp_path):
    path = tmp_path / "m"
    io.save_model(path, nn.Sequential(nn.Linear(64, 3, rng=0), nn.Logistic()), loss=nn.MSE())
    return path


@pytest.mark.parametrize(
    ("command", "out"), [(("explain",), "e.txt"), (("graph", "--kind", "network"), "g.svg")]
)
def test_a_second_run_with_typed_numbers_writes_again(tmp_path, capsys, wide_model, command, out):
    typed = ",".join(["0.25"] * 64)  # 319 characters: longer than a file name may be
    args = (*command, "--model", wide_model, "--input", typed, "--target", "0,1,0")
    args = (*args, "--out", tmp_path / out)
    if command == ("explain",):
        args = (*args, "--no-symbolic")
    code, _, err = run(capsys, *args)
    assert code == 0, err
    first = (tmp_path / out).read_bytes()
    code, _, err = run(capsys, *args)
    assert code == 0, err
    assert (tmp_path / out).read_bytes() == first
    assert first  # something was written
