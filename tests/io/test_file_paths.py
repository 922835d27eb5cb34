"""A path given for a file to write that names a directory (``exports/``, ``.``, ``..``, an
existing directory, a link to one) is refused by every writer of a single file with one message
naming the path and a file to give, and nothing is written. ``Path("exports/")`` is ``exports``,
so ``save_torch(model, "exports/")`` and ``write_arrays(..., "exports/")`` wrote a file named
``exports``, and an existing directory was a bare "Is a directory"."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from chainrule import files, io, nn
from chainrule.errors import ConversionError
from chainrule.interop import load_torch, save_torch


def _model():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))


def _to_onnx(path):
    pytest.importorskip("onnx")
    from chainrule.interop import to_onnx

    return to_onnx(_model(), path)


#: (name, write, error class, the file name the error suggests, the function its message names)
WRITERS = [
    ("atomic_write_bytes", lambda p: files.atomic_write_bytes(p, b"x"), IsADirectoryError,
     None, None),
    ("atomic_write_json", lambda p: files.atomic_write_json(p, {"a": 1}), IsADirectoryError,
     None, None),
    ("write_arrays", lambda p: io.write_arrays(p, {"w": np.ones(2)}), IsADirectoryError,
     "arrays.safetensors", None),
    ("save_torch", lambda p: save_torch(_model(), p), ConversionError, "model.safetensors",
     "save_torch"),
    ("to_onnx", _to_onnx, ConversionError, "model.onnx", "to_onnx"),
]  # fmt: skip

#: (the path given, whether the folder "exports" exists, what the message says of it)
DIRECTORY_NAMES = [
    ("exports/", False, "names a directory"),  # the bug: a file named exports was written
    ("exports/", True, "names a directory"),
    ("exports/.", True, "names a directory"),
    ("exports/..", True, "names a directory"),
    (".", True, "names a directory"),
    ("exports", True, "is a directory"),
    ("link", True, "is a directory"),  # a symbolic link to the folder exports
]


def _tree(root: Path) -> list[tuple[str, int]]:
    """Every path under ``root`` with its size: what a refused write must leave as it was."""
    return sorted((str(p.relative_to(root)), p.lstat().st_size) for p in root.rglob("*"))


_NAME_IDS = [f"{name}-{'dir' if exists else 'none'}" for name, exists, _ in DIRECTORY_NAMES]


@pytest.mark.parametrize("writer", WRITERS, ids=[w[0] for w in WRITERS])
@pytest.mark.parametrize("name, exists, says", DIRECTORY_NAMES, ids=_NAME_IDS)
def test_a_directory_is_refused_naming_it_and_nothing_is_written(
    writer, name, exists, says, tmp_path, monkeypatch
):
    _, write, error_class, example, function = writer
    monkeypatch.chdir(tmp_path)
    if exists:
        (tmp_path / "exports").mkdir()
        (tmp_path / "exports" / "kept.txt").write_text("kept")
        os.symlink(tmp_path / "exports", tmp_path / "link")
    before = _tree(tmp_path)
    with pytest.raises(error_class) as raised:
        write(name)
    message = str(raised.value)
    assert f"{name!r} {says}, not a file; give the name of the file to write" in message
    if example is not None:  # the file to give, inside the directory the user named
        assert f"e.g. {str(Path(name) / example)!r}" in message
    if function is not None:
        assert message.startswith(f"{function}: ")
    else:  # an OSError names the path the user gave, not the temporary file
        assert raised.value.filename == name
    assert _tree(tmp_path) == before  # no file named exports, no temporary file


@pytest.mark.parametrize("name", ["...", ".hidden", "exports/..m", "exports/m."])
def test_a_name_that_only_looks_like_a_directory_is_a_file(name, tmp_path, monkeypatch):
    """The rule refuses exactly ".", ".." and a trailing separator: "..." is a file's name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    arrays = {"w": np.arange(6.0).reshape(2, 3)}
    io.write_arrays(name, arrays)
    np.testing.assert_array_equal(io.read_arrays(name)["w"], arrays["w"])
    model = _model()
    save_torch(model, name)  # over the arrays: a file, and read back as the same network
    x = np.array([[0.25, -1.5]])
    np.testing.assert_allclose(load_torch(name)(x).numpy(), model(x).numpy(), rtol=1e-12)
    assert not [p for p in tmp_path.rglob(f"{files.TMP_PREFIX}*")]


def test_every_writer_gives_the_one_message(tmp_path, monkeypatch):
    """The library's writers and the command line's --out say the same thing of a path (the
    command line's without a file name to suggest: it does not know the format)."""
    from typer import BadParameter

    from chainrule.cli.app import file_path_value

    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    for name in ("exports/", "exports"):
        with pytest.raises(BadParameter) as cli:
            file_path_value(name)
        reason = str(cli.value)
        for _, write, error_class, example, function in WRITERS:
            with pytest.raises(error_class) as raised:
                write(name)
            message = raised.value.strerror if function is None else str(raised.value)
            hint = f", e.g. {str(Path(name) / example)!r}" if example else ""
            prefix = f"{function}: " if function else ""
            assert message == f"{prefix}{reason}{hint}"
