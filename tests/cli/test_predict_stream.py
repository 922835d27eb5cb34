"""``chainrule predict``: ``-i -`` reads the cases from standard input (it named a file "-", so
``cat x.csv | chainrule predict RUN -i - -o -`` failed), through the reader a file goes through,
and the output is written a part of ``PREDICT_CHUNK_ROWS`` cases at a time (it was built whole,
every row's text at once), the same bytes as before."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule.cli import main
from chainrule.cli import train as cli_train

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    """A small model trained with ``chainrule train`` on a CSV of 4 named inputs."""
    folder = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rows = [",".join(f"{v:.3f}" for v in x) + f",{k}" for x, k in zip(X, y)]
    (folder / "train.csv").write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    out = folder / "run"
    code = main(["train", "--data", str(folder / "train.csv"), "--hidden", "3", "--epochs", "2",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    return out


def _cases(n: int, bad_row: int | None = None, seed: int = 1) -> str:
    """A header and ``n`` cases of 4 inputs, a blank line after the third (lines are counted
    as the file's), the cell of case ``bad_row`` (from 1) in column 2 no number."""
    values = np.random.default_rng(seed).normal(size=(n, 4))
    lines = ["a,b,c,d"]
    for i, x in enumerate(values, 1):
        cells = [f"{v:.4f}" for v in x]
        if i == bad_row:
            cells[1] = "x1"
        lines.append(",".join(cells))
        if i == 3:
            lines.append("")
    return "\n".join(lines) + "\n"


def _chainrule(*args, stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    """``chainrule ARGS`` as a user runs it, ``stdin`` piped in."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "chainrule", *map(str, args)]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_piped_stdin_predicts_as_the_file_in_several_parts(own_run, tmp_path):
    """``cat x.csv | chainrule predict RUN -i - -o -``: the file's output, byte for byte, its
    ``line`` column counting stdin's lines; more cases than one part holds, so parts meet."""
    n = cli_train.PREDICT_CHUNK_ROWS + 1000
    text = _cases(n)
    (tmp_path / "x.csv").write_text(text)
    piped = _chainrule("predict", own_run, "-i", "-", "-o", "-", stdin=text, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    filed = _chainrule("predict", own_run, "-i", "x.csv", "-o", "p.csv", stdin="", cwd=tmp_path)
    assert filed.returncode == 0, filed.stderr
    assert f"wrote {n} predictions to p.csv" in filed.stderr
    assert piped.stdout == (tmp_path / "p.csv").read_text()
    rows = piped.stdout.splitlines()
    assert len(rows) == n + 1 and rows[0] == "line,prediction,0,1"
    assert [row.split(",")[0] for row in rows[3:6]] == ["4", "6", "7"]  # the blank line 5
    assert rows[-1].split(",")[0] == str(n + 2)


def test_a_bad_cell_in_a_later_part_from_stdin_names_stdin_and_writes_nothing(own_run, tmp_path):
    """A cell that is no number on case 5000 (line 5002: the header, a blank line): one line
    naming ``<stdin>`` and the line, exit 2, no output file (not even a part of it)."""
    out = tmp_path / "p.csv"
    done = _chainrule("predict", own_run, "-i", "-", "-o", out, stdin=_cases(6000, bad_row=5000),
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "chainrule: <stdin>, line 5002, column 2 ('b'): 'x1' is not a number"
    ]
    assert done.stdout == "" and not out.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("json_output", [False, True])
def test_small_parts_give_the_output_one_part_gives(own_run, tmp_path, capsys, monkeypatch,
                                                    json_output):  # fmt: skip
    """Parts of 3 cases (boundaries inside, at the end, a last part of 1) write what one part
    writes; the JSON is one document, as ``json.dumps`` writes it whole."""
    (tmp_path / "x.csv").write_text(_cases(10))
    args = ["predict", own_run, "-i", tmp_path / "x.csv", *(["--json"] if json_output else [])]
    monkeypatch.setattr(cli_train, "PREDICT_CHUNK_ROWS", 1_000)
    code, whole, err = run(capsys, *args)
    assert code == 0, err
    monkeypatch.setattr(cli_train, "PREDICT_CHUNK_ROWS", 3)
    code, parts, err = run(capsys, *args)
    assert code == 0, err
    assert parts == whole
    if json_output:
        document = json.loads(parts)
        assert parts == json.dumps(document) + "\n"
        assert [p["line"] for p in document["predictions"]] == [2, 3, 4, 6, 7, 8, 9, 10, 11, 12]
    else:
        assert len(parts.splitlines()) == 11


def _stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_is_decoded_as_a_file_is(own_run, tmp_path, capsys, monkeypatch):
    """UTF-16 with its byte order mark and Excel's ``sep=;`` line (Excel's "Unicode Text"),
    from stdin: the file's predictions, lines counted from the sep line."""
    text = "sep=;\r\n" + _cases(5).replace(",", ";").replace("\n", "\r\n")
    data = "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    (tmp_path / "x.csv").write_bytes(data)
    code, filed, err = run(capsys, "predict", own_run, "-i", tmp_path / "x.csv")
    assert code == 0, err
    _stdin_of(monkeypatch, data)
    code, piped, err = run(capsys, "predict", own_run, "-i", "-")
    assert code == 0, err
    assert piped == filed and piped.splitlines()[1].startswith("3,")


def test_stdin_refusals_name_stdin(own_run, capsys, monkeypatch):
    _stdin_of(monkeypatch, b"")
    assert_user_error(capsys, "predict", own_run, "-i", "-", match="<stdin>: the file is empty")
    _stdin_of(monkeypatch, b"a,b,c\n1,2,3\n")
    assert_user_error(capsys, "predict", own_run, "-i", "-",
                      match="<stdin>: 3 columns but the model takes 4 inputs")  # fmt: skip
    _stdin_of(monkeypatch, b"\xff\xfe\x00")
    assert_user_error(capsys, "predict", own_run, "-i", "-", match="<stdin>")


def test_dot_slash_dash_names_a_file_called_dash(own_run, tmp_path, capsys, monkeypatch):
    """``-i ./-`` is the file "-", as ``-o ./-`` is; ``-i -`` is stdin."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text(_cases(2))
    _stdin_of(monkeypatch, b"a,b,c,d\n9,9,9,9\n")
    code, from_file, err = run(capsys, "predict", own_run, "-i", "./-")
    assert code == 0 and len(from_file.splitlines()) == 3, err
    code, from_stdin, err = run(capsys, "predict", own_run, "-i", "-")
    assert code == 0 and len(from_stdin.splitlines()) == 2, err
