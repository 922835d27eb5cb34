"""``--out ''`` (and every option naming a file to write) says what it takes, a file, and
names the empty value: it said "is empty; name a file or directory", where a directory is
refused (s61)."""

from __future__ import annotations

import pytest
from cli_run import assert_user_error


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "--format", "markdown", "--out", ""],
        ["graph", "--out", ""],
        ["export", "some-run", "--format", "onnx", "--out", ""],
    ],
)
def test_an_empty_out_names_the_empty_value_and_asks_for_a_file(capsys, args):
    line = assert_user_error(capsys, *args, match="'--out': '' is empty; give the name of the file")
    assert "directory" not in line


def test_an_empty_model_still_names_a_file_or_directory(capsys):
    """A path that is read (a run directory or a model file) may be either."""
    assert_user_error(capsys, "explain", "--model", "", match="name a file or directory")
