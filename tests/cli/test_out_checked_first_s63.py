"""A new run's ``--out`` that holds another run is refused before the data is read: a 450 MB CSV
took minutes to read (and gigabytes) before the refusal came."""

from __future__ import annotations

from cli_run import assert_user_error

import chainrule.cli.train as cli_train


def test_an_occupied_out_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    read = []
    monkeypatch.setattr(cli_train, "_prepare", lambda *args: read.append(args))
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n0,1,0\n1,0,1\n")
    out = tmp_path / "taken"
    out.mkdir()
    (out / "run.json").write_text("{}")
    assert_user_error(capsys, "train", "--data", data, "--out", out, match="not empty")
    assert read == []  # the data was never read
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]  # nothing touched


def test_a_file_as_out_is_refused_before_the_data_is_read(tmp_path, capsys, monkeypatch):
    read = []
    monkeypatch.setattr(cli_train, "_prepare", lambda *args: read.append(args))
    out = tmp_path / "a-file"
    out.write_text("mine")
    assert_user_error(capsys, "train", "--data", "xor", "--out", out, match="is not a directory")
    assert read == [] and out.read_text() == "mine"
