"""Numbers typed out past 255 characters are numbers, not a file name the OS refuses."""

from chainrule.cli import main


def test_a_long_typed_input_is_read_as_numbers(trained_run, capsys):
    out = trained_run("digits")  # train --data digits --epochs 1, shared (tests/conftest.py)
    typed = ",".join(["0.25"] * 64)  # 319 characters
    code = main(["explain", "--model", str(out), "--input", typed, "--target", "3",
                 "--no-symbolic", "--format", "json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "too long" not in captured.err
