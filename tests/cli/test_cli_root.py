"""The root of the command line: --version and --help."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


def _help(capsys, *command: str) -> str:
    assert main([*command, "--help"]) == 0
    out = re.sub(r"(?<=\w)-\n\s+", "-", capsys.readouterr().out)  # "squared-" / "error"
    return " ".join(out.split())  # wrapped lines joined


def test_flags_read_as_flags(capsys):
    assert "<bool>" not in _help(capsys)
    text = _help(capsys, "train")
    assert "-q, --quiet no progress output" in text and "<bool>" not in text


def test_train_help_shows_each_options_type_and_the_default_a_run_will_use(capsys):
    from chainrule.train.runs import GENERIC, PRESETS

    text = _help(capsys, "train")
    digits = PRESETS["digits"]
    for option, kind, key in [
        ("--epochs", "INTEGER", "epochs"), ("--lr", "NUMBER", "lr"),
        ("--batch-size", "INTEGER|full", "batch_size"), ("--optimizer", "NAME", "optimizer"),
    ]:  # fmt: skip
        start = text.index(f"{option} {kind}")
        entry = text[start : text.index("]", start)]
        assert f"{digits[key]} for digits, {GENERIC[key]} for a CSV or IDX" in entry, entry
        assert "depends on --data" in entry
    hidden = f"{digits['hidden'][0]} for digits, {GENERIC['hidden'][0]} for a CSV"
    assert hidden in text
    for shown in ("[default: (digits)]", "[default: (runs/<dataset>-<time>)]", "[default: (0)]"):
        assert shown in text


def test_every_commands_defaults_survive_into_the_help(capsys):
    assert "[default: (the model's own held-out test split)]" in _help(capsys, "evaluate")
    assert "[default: (stdout)]" in _help(capsys, "predict")
    assert "[default: (the model file's, else squared-error)]" in _help(capsys, "explain")
    quiz = _help(capsys, "quiz")
    assert "[default: (random)]" in quiz and "[default: (drawn from the seed)]" in quiz
    assert "[default: (from --out's suffix, else svg)]" in _help(capsys, "graph")
    assert "[default: 8000;" in _help(capsys, "serve")


ROOT = Path(__file__).resolve().parents[2]
#: The console script's target as pyproject.toml declares it ("chainrule.cli:run").
ENTRY_POINT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"][
    "chainrule"
]


def _run_entry_point(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the ``chainrule`` console script's function in a fresh interpreter (this checkout's
    copy) with ``args``; return the process and the modules it had imported when it exited."""
    module, function = ENTRY_POINT.split(":")
    probe = (
        "import atexit, sys\n"
        "sys.argv[0] = 'chainrule'\n"  # as the console script sets it
        "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
        f"from {module} import {function}\n"
        f"{function}()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, timeout=60
    )
    listed = done.stderr[done.stderr.rindex("MODULES") :].split()[1:]
    return done, set(listed)


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["train", "--help"], ["explain", "--help"]]
)
def test_help_and_version_import_no_numpy_no_engine_and_no_command_library(args):
    """``chainrule --help`` (and a command's, and --version) imports what it prints: NumPy, the
    engine, the layers above it and the commands' libraries load only when a command runs."""
    done, loaded = _run_entry_point(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(("Usage: chainrule", "chainrule 0"))  # it printed the answer
    assert "chainrule.cli.train" in loaded  # the probe did run the command line
    heavy = {"numpy", "rich", "pygments", "sympy", "matplotlib", "uvicorn", "starlette"}
    if args[0].startswith("--"):  # a command's help builds its options: typer uses pydantic
        heavy.add("pydantic")
    assert not heavy & loaded
    layers = ("engine", "tensor", "ops", "nn", "train", "optim", "data", "explainer", "viz", "web")
    assert not {f"chainrule.{name}" for name in (*layers, "io", "distributed")} & loaded


def test_a_command_that_runs_loads_numpy_and_the_engine_then():
    done, loaded = _run_entry_point("quiz", "--seed", "3", "--answer", "0")
    assert done.returncode in (0, 1), done.stderr
    assert {"numpy", "chainrule.engine", "chainrule.explainer"} <= loaded


def test_the_command_list_fits_80_columns_uncut(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out[out.index("Commands:") :].splitlines()[1:]
    assert commands and all(len(line) <= 80 and "..." not in line for line in commands)


def test_chainrule_alone_prints_the_help_as_it_is(capsys):
    assert main([]) == 2  # click's convention: no command is a usage error
    err = capsys.readouterr().err
    assert err.startswith("Usage: ") and "Commands:" in err  # not "chainrule: Usage: ..."
