"""chainrule.files: atomic writes that leave ordinary files, and nothing half-written."""

from __future__ import annotations

import os
import stat

import pytest

from chainrule import files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_files_get_the_mode_of_an_ordinary_file(tmp_path) -> None:
    target = files.atomic_write_text(tmp_path / "out.svg", "<svg/>")
    assert target.read_text() == "<svg/>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()  # not mkstemp's 0600


def test_staging_folders_get_the_mode_of_an_ordinary_folder(tmp_path) -> None:
    staged = files.staging_dir(tmp_path / "model")
    assert staged.name.startswith(files.TMP_PREFIX) and staged.parent == tmp_path
    assert stat.S_IMODE(staged.stat().st_mode) == 0o777 & ~_umask()  # not mkdtemp's 0700


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path) -> None:
    target = files.atomic_write_json(tmp_path / "run.json", {"epoch": 1})

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        files.atomic_write_json(target, {"epoch": Unserialisable()})
    assert target.read_text() == '{\n  "epoch": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_an_interrupted_write_removes_its_temporary(tmp_path, monkeypatch) -> None:
    target = files.atomic_write_bytes(tmp_path / "w.bin", b"old")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.bin"]


def test_a_fifo_is_refused_not_replaced_by_a_plain_file(tmp_path) -> None:
    """The rename that makes a write atomic would replace a device or a pipe with a plain file
    (`predict -o /dev/full` turned the device into a file of predictions)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="not a regular file") as raised:
        files.atomic_write_bytes(fifo, b"data")
    assert raised.value.filename == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_symbolic_link_keeps_being_a_link_to_the_written_file(tmp_path) -> None:
    real = tmp_path / "real.csv"
    real.write_bytes(b"old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    files.atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_a_staging_folder_that_cannot_be_made_is_named_by_its_parent(tmp_path, monkeypatch):
    """On a read-only run folder, resuming said "RUN/checkpoints/.tmp-epoch-000006.pihvsnj8:
    Read-only file system", a name the user never made; it now names RUN/checkpoints."""
    import errno
    import tempfile

    def read_only(prefix, dir):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.path.join(dir, prefix + "x1y2"))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(OSError) as raised:
        files.staging_dir(tmp_path / "checkpoints" / "epoch-000006")
    assert raised.value.errno == errno.EROFS
    assert raised.value.filename == str(tmp_path / "checkpoints")


def test_a_name_too_long_is_not_blamed_on_its_folder(tmp_path):
    """Only errors that say the folder cannot be written in are named by the folder: a name
    too long is the name's fault (its temporary file or folder, named by the first 100
    characters, can be made; the name itself cannot), and nothing is left behind."""
    import errno

    from chainrule import io, nn

    for write in (lambda p: files.atomic_write_bytes(p, b"x"),
                  lambda p: io.save_model(p, nn.mlp([2, 1], rng=0))):  # fmt: skip
        with pytest.raises(OSError) as raised:
            write(tmp_path / ("m" * 300))
        assert raised.value.errno == errno.ENAMETOOLONG
        assert raised.value.filename == str(tmp_path / ("m" * 300))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_named_as_the_folder_not_the_file(tmp_path) -> None:
    target = tmp_path / "no-such-folder" / "model.onnx"
    with pytest.raises(FileNotFoundError) as caught:
        files.atomic_write_bytes(target, b"bytes")
    message = str(caught.value)
    assert f"No such directory {str(target.parent)!r}" in message and str(target) in message
    assert not target.parent.exists()  # nothing made on the way


def test_a_missing_folder_in_to_onnx_and_save_torch_is_named(tmp_path) -> None:
    pytest.importorskip("onnx")
    import chainrule as cr
    from chainrule.interop.onnx import to_onnx
    from chainrule.interop.torch import save_torch

    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Logistic())
    for write, name in [(to_onnx, "m.onnx"), (save_torch, "m.safetensors")]:
        with pytest.raises(FileNotFoundError, match="No such directory"):
            write(net, tmp_path / "gone" / name)


def test_atomic_write_bytes_takes_its_data_in_parts_and_a_failing_part_keeps_the_old_file(
    tmp_path,
):
    """predict writes its output a part at a time (it held the whole text: 796 MB for a million
    rows); the parts make one file, and an error while they are made leaves the old one."""
    from chainrule.files import atomic_write_bytes

    path = tmp_path / "out.csv"
    atomic_write_bytes(path, (f"{k},{k * k}\n".encode() for k in range(1000)))
    assert path.read_bytes() == b"".join(f"{k},{k * k}\n".encode() for k in range(1000))

    def parts_failing_midway():
        yield b"new,"
        raise RuntimeError("a part could not be made")

    with pytest.raises(RuntimeError, match="could not be made"):
        atomic_write_bytes(path, parts_failing_midway())
    assert path.read_bytes().startswith(b"0,0\n1,1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left
