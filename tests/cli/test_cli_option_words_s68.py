"""A number option's value out of its range, or no number, is refused in chainrule's own one-line
form ("--epochs must be a whole number from 1 to 1,000,000, not 0"), where typer's pydantic
check printed its words ("Invalid value for '--epochs': Input should be greater than or equal
to 1") beside chainrule's own ("--lr must be a positive number"); and --epochs has a ceiling,
as --hidden's layer sizes have (10^20 epochs was taken and trained) (s68)."""

from __future__ import annotations

import pytest
from cli_run import assert_user_error

from chainrule import cli


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "--epochs", "0"], "--epochs must be a whole number from 1 to 1,000,000, not 0"),
        (["train", "--epochs", "99999999999999999999"],
         "--epochs must be a whole number from 1 to 1,000,000, not 99999999999999999999"),
        (["train", "--epochs", "1000001"],
         "--epochs must be a whole number from 1 to 1,000,000, not 1000001"),
        (["train", "--epochs", "many"],
         "--epochs must be a whole number from 1 to 1,000,000, not 'many'"),
        (["train", "--early-stopping", "0"], "--early-stopping must be a whole number >= 1, not 0"),
        (["train", "--seed", "1.5"], "--seed must be a whole number, not 1.5"),
        (["train", "--lr", "abc"], "--lr must be a number, not 'abc'"),
        (["train", "--momentum", ""], "--momentum must be a number, not ''"),
        (["explain", "--case", "-1"], "--case must be a whole number >= 0, not -1"),
        (["explain", "--digits", "99"], "--digits must be a whole number from 1 to 17, not 99"),
        (["serve", "--port", "70000"], "--port must be a whole number from 1 to 65535, not 70000"),
    ],
)  # fmt: skip
def test_a_number_out_of_range_is_said_in_chainrules_words(capsys, args, line):
    if args[0] == "train":  # a file that is not there: a value taken would not train for ever
        args = [*args, "--data", "missing.csv"]
    said = assert_user_error(capsys, *args, match=line)
    assert said == f"chainrule: {line}"


def _ranged_options():
    """Every command's whole-number option with a min or a max: (command, option, min, max)."""
    import click
    from typer.main import get_command

    cli._register_commands()
    group = get_command(cli.app)
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        for param in group.get_command(ctx, name).params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is None or descriptor.annotation is not int or descriptor.is_list:
                continue
            info = descriptor.parameter_info
            if info.min is not None or info.max is not None:
                found.append((name, param.opts[0], info.min, info.max))
    return found


def test_every_ranged_whole_number_option_says_its_range_alike(capsys):
    """Not one option at a time: each ranged option of each command, below and above its range."""
    options = _ranged_options()
    assert ("train", "--epochs", 1, 1_000_000) in options
    assert len(options) >= 8
    for command, option, low, high in options:
        outside = [] if low is None else [low - 1]
        outside += [] if high is None else [high + 1]
        for value in outside:
            # a file that is not there: a value taken would not train for ever
            missing = ["--data", "missing.csv"] if command == "train" else []
            line = assert_user_error(capsys, command, option, str(value), *missing,
                                     match=f"{option} must be a whole number ")  # fmt: skip
            assert line.endswith(f", not {value}"), line
            assert "Invalid value" not in line and "Input should" not in line
