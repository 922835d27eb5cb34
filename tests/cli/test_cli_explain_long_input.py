"""Numbers typed out past 255 characters are numbers, not a file name the OS refuses."""

from chainrule.cli import main


def test_a_long_typed_input_is_read_as_numbers(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    typed = ",".join(["0.25"] * 64)  # 319 characters
    code = main(["explain", "--model", str(out), "--input", typed, "--target", "3",
                 "--no-symbolic", "--format", "json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "too long" not in captured.err
