"""``chainrule serve --max-sessions``: its default is the session store's, and the store the
server runs keeps what the option says (written out in serve.py, which must not import the
web app for every command)."""

from __future__ import annotations

import pytest

from chainrule.cli import main

uvicorn = pytest.importorskip("uvicorn")


def test_serve_keeps_the_store_s_default_and_the_number_asked_for(served, capsys):
    from chainrule.web.sessions import DEFAULT_IDLE_SECONDS, DEFAULT_MAX_SESSIONS

    assert main(["serve"]) == 0
    assert main(["serve", "--max-sessions", "7"]) == 0
    kept = [app.state.sessions for app in served]
    assert [s.max_sessions for s in kept] == [DEFAULT_MAX_SESSIONS, 7]
    assert all(s.idle_seconds == DEFAULT_IDLE_SECONDS for s in kept)
    capsys.readouterr()
    assert main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"idle for {DEFAULT_IDLE_SECONDS // 60} minutes" in text
    assert f"default: {DEFAULT_MAX_SESSIONS}" in text
