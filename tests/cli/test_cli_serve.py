"""``chainrule serve``'s start-up lines: the address to open and what ``--open`` did."""

import socket
import webbrowser

import pytest

from chainrule.cli import main

uvicorn = pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(monkeypatch):
    """Run ``chainrule serve`` up to the point where uvicorn would start serving."""
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    return calls


def test_a_wildcard_host_prints_an_address_a_browser_can_open(served, capsys):
    port = _free_port()
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 0
    captured = capsys.readouterr()
    assert f"http://127.0.0.1:{port}/" in captured.out and "0.0.0.0:" not in captured.out
    assert "other machines can reach" in captured.err
    assert served[0]["host"] == "0.0.0.0"


def test_open_without_a_browser_says_so(served, capsys, monkeypatch):
    def no_browser(*args, **kwargs):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    port = _free_port()
    assert main(["serve", "--open", "--port", str(port)]) == 0
    err = capsys.readouterr().err
    assert f"no web browser found here; open http://127.0.0.1:{port}/ yourself" in err
