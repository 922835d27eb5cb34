"""``chainrule --import MODULE`` (session 66): ``cr.nn.register_loss``, ``register_module`` and
``cr.optim.register_optimizer`` let a user's classes rebuild from a model or run file in Python,
but a ``chainrule`` process never knew them and refused the file, and nothing on the command
line could change that. The top-level option imports the user's module (a dotted name, from the
current directory or Python's path, or a ``.py`` file) before the command runs, for every
command; a module that is not found or raises is one line, and the refusal an unregistered
class gets at load names the option beside ``register_*``."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import assert_user_error, run, small_table  # noqa: E402
from plugin_files import (  # noqa: E402
    SCALED_LOSS,
    SLOW_OPTIMIZER,
    registries,
    registries_kept,
    restore,
    write_plugin,
)

#: A user's module: a loss with an argument, a layer and an optimizer, each registered
PLUGIN = (
    "from chainrule import nn, optim\n"
    + SCALED_LOSS
    + """
@nn.register_module
class Halve{tag}(nn.Module):
    def forward(self, x):
        return x * 0.5

    def config(self):
        return {{"type": "Halve{tag}"}}

    @classmethod
    def from_config(cls, config):
        return cls()
"""
    + SLOW_OPTIMIZER
)

X = np.array([[0.1, 0.2], [0.3, 0.4]])
T = np.array([[1.0], [0.0]])
DATA = "a,b,y\n0.1,0.2,1\n0.3,0.4,0\n"


@pytest.fixture(autouse=True)
def kept():
    """The registries, the modules and Python's path as they were: what a test imports and
    registers leaves with it."""
    yield from registries_kept("plugin")


def _plugin(directory: Path, tag: str) -> Path:
    return write_plugin(directory, f"plugin{tag}", PLUGIN, tag, scale=1.0)


def _imported(path: Path):
    """The plugin file imported as the user's program would import it."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def _saved_model(tmp_path: Path, tag: str) -> tuple[Path, float]:
    """A model whose last layer and loss are the plugin's classes, saved; and its loss on
    :data:`DATA`, computed in this process with the classes registered. The registries and
    modules are then as a fresh process finds them."""
    before = [dict(table) for table in registries()]
    plugin = _imported(_plugin(tmp_path, tag))
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Logistic(), nn.Linear(3, 1, rng=1),
                        nn.Logistic(), getattr(plugin, f"Halve{tag}")())  # fmt: skip
    loss = getattr(plugin, f"Scaled{tag}")(0.5)
    path = io.save_model(tmp_path / "model", net, loss=loss)
    expected = loss(net(chainrule.tensor(X, dtype=np.float32)), T).item()
    restore(before, "plugin")
    (tmp_path / "xy.csv").write_text(DATA)
    return path, expected


def _console_script(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``chainrule ARGS`` as the console script runs it, in ``cwd``: its ``sys.path`` has the
    script's directory first, not the current directory (``python -c`` and ``-m`` put it
    there)."""
    probe = (
        "import os, sys\n"
        "sys.path[:] = [p for p in sys.path if p not in ('', os.getcwd())]\n"
        "sys.argv[0] = 'chainrule'\n"
        "from chainrule.cli import run\n"
        "run()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(chainrule.__file__).parents[1]))
    return subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_model_of_the_users_layer_and_loss_is_refused_naming_import_then_read_with_it(tmp_path):
    """The console script in the data's directory: the model is refused, the line naming
    --import and register_module; with ``--import plugin...`` (a module beside the data) the
    command reads it, with the user's layer and loss: evaluate's loss is the one computed in
    the user's program."""
    path, expected = _saved_model(tmp_path, "A")
    refused = _console_script(tmp_path, "evaluate", path.name, "--data", "xy.csv", "--json")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "'HalveA'" in lines[0] and "register_module" in lines[0]
    assert "chainrule --import MODULE" in lines[0]
    done = _console_script(tmp_path, "--import", "pluginA", "evaluate", path.name, "--data",
                           "xy.csv", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["loss"] == pytest.approx(expected, rel=1e-5)


def test_a_py_file_given_by_its_path_is_imported_and_the_same_file_again_is_harmless(
    tmp_path, capsys, monkeypatch
):
    path, expected = _saved_model(tmp_path, "B")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the file is not on the path: it is found by its own
    plugin = tmp_path / "pluginB.py"
    args = ("evaluate", path, "--data", tmp_path / "xy.csv", "--json")
    code, out, err = run(capsys, "--import", plugin, "--import", plugin, *args)
    assert code == 0, err
    assert json.loads(out)["loss"] == pytest.approx(expected, rel=1e-5)
    assert sys.modules["pluginB"].__file__ == str(plugin)  # named by its stem
    assert str(tmp_path) not in sys.path  # on the path only while it was imported


def test_train_and_resume_with_the_users_loss_and_optimizer(tmp_path, capsys, monkeypatch):
    """``train --loss``/``--optimizer`` offer the registered classes once imported, and the run
    resumes and evaluates with --import (the library's registries are read when a command
    runs)."""
    monkeypatch.chdir(tmp_path)
    _plugin(tmp_path, "C")
    data = small_table(tmp_path / "t.csv", seed=0)
    options = ("--loss", "scaled-c", "--optimizer", "slow-c", "--lr", "0.1", "--hidden", "4")
    code, _, err = run(capsys, "--import", "pluginC", "train", "--data", data, *options,
                       "--epochs", "2", "--out", "run", "-q")  # fmt: skip
    assert code == 0, err
    trained = json.loads((tmp_path / "run" / "model" / "model.json").read_text())
    assert trained["loss"] == {"type": "scaled-c", "scale": 1.0}
    code, _, err = run(capsys, "--import", "pluginC", "train", "--resume", "run", "--epochs", "3",
                       "-q")  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "--import", "pluginC", "evaluate", "run", "--json")
    assert code == 0, err
    assert json.loads(out)["loss"] > 0
    assert (tmp_path / "run" / "checkpoints" / "epoch-000003").is_dir()


def _refused(capsys, given: str, match: str) -> str:
    """``chainrule --import GIVEN evaluate nowhere``: refused for the import, before the
    command reads its model."""
    return assert_user_error(capsys, "--import", given, "evaluate", "nowhere", match=match)


RAISES = {
    "value": ("raise ValueError('bad scale\\n  given: -1')",
              "importing it raised ValueError: bad scale given: -1"),
    "dependency": ("import not_installed_s66",
                   "importing it raised ModuleNotFoundError: No module named 'not_installed_s66'"),
    "syntax": ("def broken(:\n", "importing it raised SyntaxError: "),
    "exit": ("import sys\nsys.exit('no')", "importing it raised SystemExit('no')"),
    "taken": ("from chainrule import nn\n\n@nn.register_loss\nclass Mine(nn.Loss):\n"
              "    name = 'squared-error'\n",
              "importing it raised ConfigError: register_loss: the name 'squared-error' is "
              "taken by chainrule's own SquaredError"),
}  # fmt: skip


@pytest.mark.parametrize("as_file", [False, True], ids=["name", "file"])
@pytest.mark.parametrize("case", sorted(RAISES))
def test_a_module_that_raises_is_one_line_naming_it_and_the_exception(
    tmp_path, capsys, monkeypatch, case, as_file
):
    monkeypatch.chdir(tmp_path)
    source, said = RAISES[case]
    name = f"plugin_raises_{case}"
    (tmp_path / f"{name}.py").write_text(source + "\n")
    given = f"./{name}.py" if as_file else name
    line = _refused(capsys, given, f"chainrule: --import {given}: {said}")
    assert "nowhere" not in line  # before the command ran
    assert name not in sys.modules  # not left half imported


def test_a_module_that_is_not_found_names_it_and_where_it_was_looked_for(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    looked = f"in the current directory ({tmp_path}) or on Python's path"
    _refused(capsys, "plugin_nowhere", f"--import plugin_nowhere: no module named "
                                       f"'plugin_nowhere' {looked}")  # fmt: skip
    _refused(capsys, "plugin_nowhere.losses", f"no module named 'plugin_nowhere' {looked}")
    missing = tmp_path / "plugin_nowhere.py"
    _refused(capsys, "plugin_nowhere.py", f"--import plugin_nowhere.py: no such file ({missing})")
    _refused(capsys, "my-losses", "--import my-losses: is neither a module name")
    _refused(capsys, "", "--import '': is empty")
    (tmp_path / "json.py").write_text("")
    _refused(capsys, "json.py", "--import json.py: its name, 'json', is a module already imported")


def test_import_after_the_command_says_where_it_goes(capsys):
    assert_user_error(capsys, "evaluate", "nowhere", "--import", "mylosses",
                      match="--import is chainrule's own option: give it before the command, "
                            "chainrule --import MODULE evaluate ...")  # fmt: skip


def test_the_help_lists_it_and_a_commands_help_imports_nothing(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "--import MODULE" in out and "register_loss" in out
    code, out, err = run(capsys, "--import", "plugin_nowhere", "explain", "--help")
    assert code == 0 and out.startswith("Usage:"), err


def test_the_command_a_missing_package_is_named_for_is_not_the_imported_module():
    from chainrule.cli import _command_of

    assert _command_of(["--import", "pluginE", "serve", "--model", "m"]) == "chainrule serve"
    assert _command_of(["--import=pluginE", "serve"]) == "chainrule serve"


def test_the_library_refusals_of_an_unregistered_class_name_import_beside_register(tmp_path):
    with pytest.raises(ConfigError, match=r"register_module; on the command line, chainrule "
                                          r"--import MODULE imports the module"):  # fmt: skip
        nn.from_config({"type": "HalveNowhere"})
    with pytest.raises(ConfigError, match=r"register_loss .*; on the command line, chainrule "
                                          r"--import MODULE imports the module"):  # fmt: skip
        nn.loss_from_config({"type": "scaled-nowhere"})
    path, _ = _saved_model(tmp_path, "F")
    with pytest.raises(ModelFileError) as refused:
        io.load_model(path)
    message = str(refused.value)
    assert message.startswith(f"{path / 'model.json'}: cannot rebuild the architecture: it "
                              "holds a 'HalveF' module")  # fmt: skip
    assert "register_module" in message and "chainrule --import MODULE" in message
