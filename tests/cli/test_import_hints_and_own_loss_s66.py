"""What ``chainrule --import MODULE`` (session 66) left: the refusals of a user's optimizer or
of a run resumed without the option did not name it, train's hints ("next:", "continue
with:") left it out, so copying them failed for a run that used it, the save-time warning of an
unregistered loss named only ``register_loss``, and the explainer refused a registered loss of
the user's own, so a network trained on one could not be explained at all."""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import assert_user_error, run, small_table  # noqa: E402
from plugin_files import (  # noqa: E402
    SCALED_LOSS,
    SLOW_OPTIMIZER,
    assert_explained_by_backward,
    registries_kept,
    write_plugin,
)
from test_cli_train import interrupt_at_epoch  # noqa: E402

#: The user's module: a loss with an argument and an optimizer, registered
PLUGIN = "from chainrule import nn, optim\n" + SCALED_LOSS + SLOW_OPTIMIZER

IMPORT_LINE = "on the command line, chainrule --import MODULE imports the module that registers it"


@pytest.fixture(autouse=True)
def kept():
    """The registries, the modules and Python's path as they were after the test."""
    yield from registries_kept("plugin_s66")


def _plugin(directory: Path, tag: str) -> str:
    """The plugin module ``plugin_s66{tag}`` written in ``directory``; its name."""
    return write_plugin(directory, f"plugin_s66{tag}", PLUGIN, tag, scale=0.5).stem


def _trained(capsys, tmp_path, tag: str, *options: str, epochs: int = 2) -> tuple[str, str]:
    """A run ``run`` trained with ``--import`` of the plugin (the current directory is
    ``tmp_path``); the plugin's name and train's stdout."""
    plugin = _plugin(tmp_path, tag)
    data = small_table(tmp_path / "t.csv", seed=0)
    code, out, err = run(capsys, "--import", plugin, "train", "--data", data, "--hidden", "3",
                         "--epochs", str(epochs), "--out", "run", *options)  # fmt: skip
    assert code == 0, err
    return plugin, out


def _hint(out: str, prefix: str) -> list[str]:
    """The words of the first command of the line starting ``prefix``, as a shell splits them
    (up to the parenthesis that follows it)."""
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    return shlex.split(line[len(prefix) :].split(" (", 1)[0])


def test_a_run_of_the_users_loss_resumed_without_import_is_refused_naming_it(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    _trained(capsys, tmp_path, "A", "--loss", "scaled-a", "-q")
    kept()  # a fresh process, without the plugin
    line = assert_user_error(capsys, "train", "--resume", "run", "--epochs", "3",
                             match="field 'meta.run': --loss: unknown value 'scaled-a'; choose "
                                   "one of squared-error")  # fmt: skip
    assert "@chainrule.nn.register_loss" in line and line.endswith(f"{IMPORT_LINE})")


def test_a_run_of_the_users_optimizer_resumed_without_import_is_refused_naming_it(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    _trained(capsys, tmp_path, "B", "--optimizer", "slow-b", "--lr", "0.1", "-q")
    kept()
    line = assert_user_error(capsys, "train", "--resume", "run", "--epochs", "3",
                             match="field 'meta.run': --optimizer: unknown value 'slow-b'; "
                                   "choose one of sgd")  # fmt: skip
    assert "@chainrule.optim.register_optimizer" in line and line.endswith(f"{IMPORT_LINE})")


def test_an_unknown_optimizers_refusal_names_register_optimizer_and_import():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ConfigError) as refused:
        cr.optim.from_name("adagrad-s66", [w], lr=0.1)
    message = str(refused.value)
    assert message.startswith("unknown optimizer 'adagrad-s66'; choose one of sgd, ")
    assert "@chainrule.optim.register_optimizer" in message and message.endswith(IMPORT_LINE)


def test_trains_next_hint_names_the_runs_imports_and_runs_as_printed(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    plugin, out = _trained(capsys, tmp_path, "C", "--loss", "scaled-c")
    assert json.loads(Path("run", "run.json").read_text())["config"]["imports"] == [plugin]
    explain = _hint(out, "next:   ")
    assert explain == ["chainrule", "--import", plugin, "explain", "--model", "run", "--case", "0"]
    serve = out.split("; chainrule ")[1].split(" (the explorer)")[0]
    assert serve == f"--import {plugin} serve --model run"
    kept()  # a fresh process: the hint imports the plugin itself
    code, text, err = run(capsys, *explain[1:])
    assert code == 0, err
    assert "The loss, scaled-c, is a loss of your own" in text
    # the explorer computes chainrule's losses alone: refused in one line naming explain
    assert_user_error(capsys, *shlex.split(serve), "--port", "1",
                      match=f"not scaled-c; chainrule --import {plugin} explain --model run "
                            "writes this model's derivation out")  # fmt: skip


def test_the_ctrl_c_hint_names_the_runs_imports_and_resumes_as_printed(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    plugin = _plugin(tmp_path, "D")
    data = small_table(tmp_path / "t.csv", seed=0)
    real = interrupt_at_epoch(monkeypatch, 3)
    code, _, err = run(capsys, "--import", plugin, "train", "--data", data, "--loss", "scaled-d",
                       "--hidden", "3", "--epochs", "6", "--out", "run", "-q")  # fmt: skip
    assert code == 130, err
    command = _hint(err, "continue with: ")
    assert command == ["chainrule", "--import", plugin, "train", "--resume", "run", "--epochs", "6"]
    monkeypatch.setattr(cr.train.Trainer, "_run_epoch", real)
    kept()
    code, _, err = run(capsys, *command[1:], "-q")
    assert code == 0, err
    assert len(json.loads(Path("run", "history.json").read_text())) == 6


def test_a_resume_records_the_imports_it_was_given_and_else_keeps_the_runs(
    tmp_path, capsys, monkeypatch, kept
):
    """The run's loss and optimizer are chainrule's, so it resumes without the option: its
    hints keep the recorded module; a resume given another (the same file by its path)
    records that one."""
    monkeypatch.chdir(tmp_path)
    plugin, _ = _trained(capsys, tmp_path, "E", "-q")
    code, out, err = run(capsys, "train", "--resume", "run", "--epochs", "3")
    assert code == 0, err
    assert _hint(out, "next:   ")[:3] == ["chainrule", "--import", plugin]
    kept()
    path = f"./{plugin}.py"
    code, out, err = run(capsys, "--import", path, "train", "--resume", "run", "--epochs", "4")
    assert code == 0, err
    assert _hint(out, "next:   ")[:4] == ["chainrule", "--import", path, "explain"]
    assert json.loads(Path("run", "run.json").read_text())["config"]["imports"] == [path]


class HalvedError(nn.Loss):
    """A loss class that is never registered."""

    name = "halved-error-s66"

    def forward(self, output, target):
        output, t = self._compared(output, target)
        return 0.25 * ((t - output) * (t - output)).sum()


def test_the_save_warning_of_an_unregistered_loss_names_the_command_line_way_too(tmp_path):
    net = nn.Sequential(nn.Linear(2, 1, rng=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        io.save_model(tmp_path / "m", net, loss=HalvedError())
    said = [str(w.message) for w in caught if "not registered" in str(w.message)]
    assert len(said) == 1 and "@chainrule.nn.register_loss" in said[0]
    assert said[0].endswith(f"({IMPORT_LINE})")


def test_explain_writes_out_a_model_of_the_users_loss_with_the_engines_gradients(
    tmp_path, capsys, monkeypatch, kept
):
    """A model saved with a registered loss of the user's own: ``chainrule --import ...
    explain --model`` gives every dE/dw as the model's own loss and backward() give them."""
    monkeypatch.chdir(tmp_path)
    plugin = _plugin(tmp_path, "F")
    monkeypatch.syspath_prepend(str(tmp_path))  # imported here as the user's program does
    loss = __import__(plugin).ScaledF(0.8)
    net = nn.Sequential(nn.Linear(2, 3, rng=0, dtype="float64"), nn.Logistic(),
                        nn.Linear(3, 2, rng=1, dtype="float64"), nn.Logistic())  # fmt: skip
    x, t = np.array([[0.1, -0.4]]), np.array([[0.9, 0.2]])
    path = io.save_model(tmp_path / "model", net, loss=loss)
    E = loss(net(cr.tensor(x)), t)
    E.backward()
    engine = {name: p.grad.numpy() for name, p in net.named_parameters()}
    kept()
    code, out, err = run(capsys, "--import", plugin, "explain", "--model", path, "--input",
                         "0.1,-0.4", "--target", "0.9,0.2", "--format", "json")  # fmt: skip
    assert code == 0, err
    assert_explained_by_backward(
        json.loads(out), "scaled-f", E.item(), engine, rtol=1e-12, atol=1e-15
    )
