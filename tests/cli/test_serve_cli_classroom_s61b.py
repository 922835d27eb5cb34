"""``chainrule serve`` for a class, as the person running it met it (session 61):

- every request's NumPy products used all the BLAS threads while requests ran at once (a 0.3 s
  step took 2 to 35 s): the server now runs with one BLAS thread;
- Ctrl+C while requests ran printed nothing for up to a minute, and a second printed ~250 lines
  of tracebacks and still waited: the first now says the server is stopping and waits a bounded
  time, a second stops it at once (exit 130), neither with a traceback;
- ``--host 0.0.0.0`` printed only ``http://127.0.0.1:PORT/``: it now prints the machine's
  addresses the students can open, and lets them in;
- there was no log: ``--access-log`` logs each request (the time, the client, the method, the
  path, the status; never a cookie), and refused Host headers are logged with the time anyway;
- a taken port repeated its address in its line, ``--host ::`` wrote ``:::P`` and could not even
  check the port (an IPv4 socket for an IPv6 address): one clause, ``[::]:P``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from cli_run import assert_user_error, run

uvicorn = pytest.importorskip("uvicorn")

SRC = Path(__file__).resolve().parents[2] / "src"
#: how long a test waits for the server to say or do something before it fails (a CI bound)
BOUND = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(monkeypatch):
    """Run ``chainrule serve`` up to the point where uvicorn would start serving: each call's
    app, its keyword arguments, and the BLAS threads in use at that point."""
    from chainrule.cli import serve

    calls = []

    def fake_run(app, **kwargs):
        calls.append({"app": app, "kwargs": kwargs, "blas": _blas_threads()})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(serve, "_check_port_free", lambda host, port: None)
    return calls


def _blas_threads() -> set[int]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return set()
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


# -- one BLAS thread ------------------------------------------------------------------------------


def test_the_server_runs_with_one_blas_thread_and_gives_the_others_back(served, capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        if not before or before == {1}:
            pytest.skip(f"NumPy's BLAS here has no threads to limit ({before or 'no BLAS found'})")
        code, _, err = run(capsys, "serve")
        assert code == 0, err
        assert served[0]["blas"] == {1}  # while serving
        assert _blas_threads() == before  # as it was, once the server has stopped


# -- the banner and the Host check on every interface ----------------------------------------------


def test_a_server_on_every_interface_prints_the_addresses_students_open(
    served, capsys, monkeypatch
):
    monkeypatch.setattr(socket, "gethostname", lambda: "classroom-pc")
    monkeypatch.setattr(socket, "gethostbyname", lambda name: "192.0.2.7")
    port = _free_port()
    code, out, err = run(capsys, "serve", "--host", "0.0.0.0", "--port", port)
    assert code == 0, err
    assert f"http://127.0.0.1:{port}/" in out  # this machine's browser
    assert f"http://192.0.2.7:{port}/" in out and f"http://classroom-pc:{port}/" in out
    assert "other machines can reach" in err

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient

    client = TestClient(served[0]["app"], base_url="http://127.0.0.1")
    for host in (f"192.0.2.7:{port}", f"10.0.0.5:{port}", f"classroom-pc:{port}"):
        assert client.get("/api/seed", headers={"host": host}).status_code == 200, host
    assert client.get("/api/seed", headers={"host": f"evil.example:{port}"}).status_code == 400


def test_machine_addresses_are_never_loopback(monkeypatch):
    from chainrule.cli import serve

    monkeypatch.setattr(socket, "gethostbyname", lambda name: "127.0.1.1")  # Debian's /etc/hosts
    assert all(not a.startswith("127.") for a in serve.machine_addresses())


# -- a taken port; an IPv6 host -------------------------------------------------------------------


def test_a_taken_port_is_named_once(capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        line = assert_user_error(capsys, "serve", "--port", port, match="cannot listen on")
    assert line == f"chainrule: serve: cannot listen on 127.0.0.1:{port} (Address already in use)"


def _ipv6_listener() -> socket.socket:
    try:
        return socket.create_server(("::", 0), family=socket.AF_INET6)
    except OSError as error:
        pytest.skip(f"no IPv6 here: {error}")


def test_an_ipv6_host_is_written_in_brackets(capsys):
    with _ipv6_listener() as busy:
        port = busy.getsockname()[1]
        line = assert_user_error(capsys, "serve", "--host", "::", "--port", port, match="listen")
    assert line == f"chainrule: serve: cannot listen on [::]:{port} (Address already in use)"


def test_an_ipv6_host_with_a_free_port_serves(capsys, monkeypatch):
    with _ipv6_listener() as free:
        port = free.getsockname()[1]
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    code, out, err = run(capsys, "serve", "--host", "::", "--port", port)
    assert code == 0, err
    assert f"http://[::1]:{port}/" in out and calls[0]["host"] == "::"


# -- a real server: Ctrl+C and the log ------------------------------------------------------------


class Server:
    """``chainrule serve ARGS`` in a process of its own, on a free port, with what it writes on
    stderr collected line by line as it comes."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        # a shell's background job ignores SIGINT, and a child inherits that: give it the
        # default, as a terminal's process has
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chainrule", "serve", "--port", str(self.port), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.err: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        banner = self.proc.stdout.readline()  # click flushes it
        assert banner.startswith("chainrule explorer at"), (banner, self.stderr())
        deadline = time.monotonic() + BOUND
        while True:  # the banner comes just before uvicorn listens
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=BOUND).close()
                break
            except OSError:
                assert time.monotonic() < deadline, self.stderr()
                time.sleep(0.05)

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.err.append(line)

    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + BOUND
        while text not in self.stderr():
            assert time.monotonic() < deadline, f"no {text!r} on stderr: {self.stderr()}"
            time.sleep(0.05)

    def request(self, raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=BOUND) as connection:
            connection.sendall(raw)
            return connection.recv(65536)

    def held_request(self) -> socket.socket:
        """A request in progress until the test ends: its body never comes whole."""
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=BOUND)
        connection.sendall(
            b"POST /api/backward HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nContent-Length: 100\r\n\r\n{"
        )
        return connection

    def stopped(self) -> int:
        """The exit code, once the process has ended (within BOUND seconds)."""
        code = self.proc.wait(timeout=BOUND)
        self.reader.join(timeout=BOUND)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path):
    started = []

    def start(*args: str) -> Server:
        started.append(Server(tmp_path, *args))
        return started[-1]

    yield start
    for each in started:
        each.close()


STOPPING = "stopping: waiting for the requests in progress"


def test_ctrl_c_twice_stops_at_once_without_a_traceback(server):
    srv = server()
    held = srv.held_request()
    try:
        srv.proc.send_signal(signal.SIGINT)
        srv.wait_for(STOPPING)  # said at once, not after the requests end
        assert "Ctrl+C again to stop at once" in srv.stderr()
        srv.proc.send_signal(signal.SIGINT)
        assert srv.stopped() == 130, srv.stderr()
    finally:
        held.close()
    assert "Traceback" not in srv.stderr(), srv.stderr()
    assert "stopped at once" in srv.stderr()


def test_ctrl_c_stops_once_the_wait_is_over_without_a_traceback(server):
    from chainrule.cli.serve import STOP_GRACE_SECONDS

    assert STOP_GRACE_SECONDS < BOUND
    srv = server()
    held = srv.held_request()
    try:
        srv.proc.send_signal(signal.SIGINT)
        assert srv.stopped() == 130, srv.stderr()  # within the bound, the request never done
    finally:
        held.close()
    assert "Traceback" not in srv.stderr(), srv.stderr()
    assert STOPPING in srv.stderr()
    assert f"still in progress after {STOP_GRACE_SECONDS:g} seconds were dropped" in srv.stderr()


TIMED = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "


def test_the_access_log_names_each_request_with_its_time_and_no_cookie(server):
    srv = server("--access-log")
    answer = srv.request(
        b"GET /api/units HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: chainrule_session=SECRET-TOKEN"
        b"\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer
    refused = srv.request(
        b"GET /api/seed HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert refused.startswith(b"HTTP/1.1 400"), refused
    srv.wait_for("/api/seed")
    srv.proc.send_signal(signal.SIGINT)  # nothing in progress: it stops at once, exit 0
    assert srv.stopped() == 0, srv.stderr()
    logged = srv.stderr().splitlines()
    line_of = lambda pattern: [x for x in logged if re.fullmatch(TIMED + pattern, x)]  # noqa: E731
    assert line_of(r'INFO 127\.0\.0\.1:\d+ - "GET /api/units HTTP/1\.1" 200'), logged
    assert line_of(r'INFO 127\.0\.0\.1:\d+ - "GET /api/seed HTTP/1\.1" 400'), logged
    refusal = r"WARNING refused GET /api/seed from 127\.0\.0\.1:\d+: Host 'evil\.example' is not .*"
    assert line_of(refusal), logged
    assert "SECRET-TOKEN" not in srv.stderr() and "Traceback" not in srv.stderr()


def test_without_the_access_log_a_refused_host_is_still_logged(server):
    srv = server()
    refused = srv.request(
        b"GET /api/seed HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert refused.startswith(b"HTTP/1.1 400"), refused
    srv.request(b"GET /api/units HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    srv.wait_for("refused GET /api/seed")
    srv.proc.send_signal(signal.SIGINT)
    assert srv.stopped() == 0, srv.stderr()
    assert re.search(TIMED + "WARNING refused GET /api/seed from 127", srv.stderr())
    assert "/api/units" not in srv.stderr()  # no access log unless asked
