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


def test_a_killed_first_checkpoint_and_a_killed_writability_check_together_are_no_run(
    tmp_path, capsys
):
    """Both leftovers at once: the run removes them under its lock and trains (the early check
    refused the folder as not empty)."""
    import tempfile

    from cli_run import run

    from chainrule.files import _temporary_prefix

    out = tmp_path / "combo"
    (out / "checkpoints" / ".tmp-x.abcdefgh").mkdir(parents=True)
    tempfile.mkdtemp(prefix=_temporary_prefix("probe"), dir=out)
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "1", "--out", out, "-q")
    assert code == 0, err
    assert (out / "run.json").exists() and not list(out.glob(".tmp-*"))
