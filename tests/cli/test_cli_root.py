"""The root of the command line: --version and --help."""

import chainrule
from chainrule.cli import main


def test_version_prints_the_package_version_and_exits_zero(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "explain", "quiz", "graph", "serve"):
        assert command in out
