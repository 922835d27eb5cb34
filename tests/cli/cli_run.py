"""Running the ``chainrule`` command in-process, for the tests of this folder."""

from __future__ import annotations

from chainrule.cli import main


def run(capsys, *args):
    """``chainrule ARGS...``: the exit code, stdout and stderr."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(capsys, *args, match: str) -> str:
    """A user's mistake: exit 2 and one line on stderr, ``chainrule: ...`` holding ``match``,
    never a traceback. Returns the line."""
    code, _, err = run(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]
