"""A file chainrule replaces keeps its permissions, as writing it in place would.

The atomic write gave the new file the umask's mode: a handout kept at 0640 came back 0644,
readable by everyone (a course author's QA). A symbolic link's target keeps its own.
"""

from __future__ import annotations

import os
import stat

import pytest

from chainrule import files


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o755])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode) -> None:
    target = tmp_path / "handout.md"
    target.write_text("old")
    target.chmod(mode)
    files.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert _mode(target) == mode


def test_the_target_of_a_link_keeps_its_mode_and_the_link_stays(tmp_path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    files.atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert _mode(real) == 0o640


def test_a_saved_model_s_files_keep_their_modes(tmp_path) -> None:
    """(review) save_model stages its files in a folder and renames them together: they came
    back 0644 whatever the files they replaced had."""
    import chainrule as cr

    net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)
    folder = tmp_path / "model"
    cr.io.save_model(folder, net)
    written = sorted(p for p in folder.iterdir() if p.is_file())
    for path in written:
        path.chmod(0o640)
    cr.io.save_model(folder, net)
    assert {p.name: _mode(p) for p in written} == {p.name: 0o640 for p in written}


def test_setuid_is_not_carried_over(tmp_path) -> None:
    """A write in place by the file's owner clears setuid; the replacement does too."""
    target = tmp_path / "tool"
    target.write_text("old")
    target.chmod(0o4755)
    files.atomic_write_text(target, "new")
    assert _mode(target) == 0o755
