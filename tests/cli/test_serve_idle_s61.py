"""``chainrule serve --session-idle SECONDS``: how long a browser session must go unused before
a new browser may take its place in a full server (session 61). The server kept it at the
store's 15 minutes, with no option to change it; now the option sits beside ``--max-sessions``,
is checked (a positive number of seconds, one line otherwise) and reaches the app's store.
"""

from __future__ import annotations

import pytest
from cli_run import assert_user_error, run

uvicorn = pytest.importorskip("uvicorn")


@pytest.mark.parametrize("value", ["0", "-5", "-0.5", "nan", "inf", "-inf", "ten", ""])
def test_a_session_idle_that_is_no_positive_number_of_seconds_is_one_line(served, capsys, value):
    line = assert_user_error(
        capsys, "serve", "--session-idle", value, match="must be a positive number of seconds"
    )
    assert "--session-idle" in line
    assert served == []  # no server was started


@pytest.mark.parametrize(("value", "seconds"), [("30", 30.0), ("0.5", 0.5), ("3600", 3600.0)])
def test_the_session_idle_asked_for_reaches_the_server_s_store(served, capsys, value, seconds):
    code, _, err = run(capsys, "serve", "--max-sessions", "3", "--session-idle", value)
    assert code == 0, err
    (app,) = served
    assert app.state.sessions.idle_seconds == seconds
    assert app.state.sessions.max_sessions == 3


def test_without_session_idle_the_store_keeps_its_default(served, capsys):
    from chainrule.web.sessions import DEFAULT_IDLE_SECONDS

    code, _, err = run(capsys, "serve")
    assert code == 0, err
    assert served[0].state.sessions.idle_seconds == DEFAULT_IDLE_SECONDS


def test_the_help_says_what_session_idle_does(capsys):
    from chainrule.web.sessions import DEFAULT_IDLE_SECONDS

    code, out, _ = run(capsys, "serve", "--help")
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    assert "--session-idle" in text
    assert "Seconds a browser session must go unused before a new browser may take its place" in (
        text
    )
    assert f"default: {DEFAULT_IDLE_SECONDS}" in text
