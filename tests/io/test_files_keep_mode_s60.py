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

