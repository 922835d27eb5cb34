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


def _help(capsys, *command: str) -> str:
    assert main([*command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())  # wrapped lines joined


def test_flags_read_as_flags(capsys):
    assert "<bool>" not in _help(capsys)
    text = _help(capsys, "train")
    assert "-q, --quiet no progress output" in text and "<bool>" not in text


def test_train_help_shows_each_options_type_and_the_default_a_run_will_use(capsys):
    from chainrule.train.runs import GENERIC, PRESETS

    text = _help(capsys, "train")
    digits = PRESETS["digits"]
    for option, kind, key in [
        ("--epochs", "<int>", "epochs"), ("--lr", "<float>", "lr"),
        ("--batch-size", "<int>|full", "batch_size"), ("--optimizer", "<str>", "optimizer"),
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


def test_help_loads_no_command_library_and_no_rich():
    """``chainrule --help`` imports what it prints: the command modules keep their libraries
    (the layers above the engine, rich, sympy, matplotlib, the web stack) inside the commands."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from chainrule.cli import main\n"
        "main(['--help'])\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    loaded = set(done.stderr.split())
    assert "chainrule.cli.train" in loaded  # the probe did run the command line
    heavy = {"rich", "pygments", "sympy", "matplotlib", "uvicorn", "starlette", "pydantic"}
    assert not heavy & loaded
    layers = ("nn", "train", "optim", "data", "explainer", "viz", "web", "io")
    assert not {f"chainrule.{name}" for name in layers} & loaded


def test_the_command_list_fits_80_columns_uncut(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out[out.index("Commands:") :].splitlines()[1:]
    assert commands and all(len(line) <= 80 and "..." not in line for line in commands)
