"""``chainrule train`` takes every loss and optimizer of the library's registries
(``nn.losses.LOSSES``, ``optim.OPTIMIZERS`` and its ``ALIASES``), one registered by the user
too, and forwards ``--momentum`` to an optimizer whose class lists it among its
hyperparameters, refusing it (one line, naming the optimizer's settings) for one that does not.

The help texts of ``--loss``, ``--optimizer``, ``--momentum`` and ``--activation`` are written
out in the command's signature: reading the registries there would load NumPy and the engine
for ``chainrule train --help`` (tests/cli/test_cli_root.py pins that it loads neither). The
last test holds those texts to the registries, so an entry added to one fails here until the
help names it."""

from __future__ import annotations

import json
import re

import pytest
from cli_run import assert_user_error, run

from chainrule import optim
from chainrule.nn import activations, losses


class HeavyBall(optim.SGD):
    name = "heavy-ball"


class Halved(losses.SquaredError):
    name = "halved-squared-error"


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(optim.OPTIMIZERS, HeavyBall.name, HeavyBall)
    monkeypatch.setitem(losses.LOSSES, Halved.name, Halved)


def test_a_registered_loss_and_optimizer_train_with_the_momentum_given(
    tmp_path, capsys, registered
):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", "xor", "--optimizer", "heavy-ball",
                       "--momentum", "0.5", "--loss", "halved-squared-error", "--epochs", 1,
                       "-q", "--out", out)  # fmt: skip
    assert code == 0, err
    config = json.loads((out / "run.json").read_text())["config"]
    assert (config["optimizer"], config["loss"], config["momentum"]) == (
        "heavy-ball",
        "halved-squared-error",
        0.5,
    )
    (checkpoint,) = (out / "checkpoints").iterdir()
    saved = json.loads((checkpoint / "trainer.json").read_text())["optimizer"]["config"]
    assert (saved["type"], saved["momentum"]) == ("heavy-ball", 0.5)


def test_momentum_for_adam_is_one_line_naming_its_settings(capsys):
    assert_user_error(capsys, "train", "--data", "xor", "--optimizer", "adam", "--momentum",
                      "0.5", match="--momentum is not a setting of adam (of these options it "
                      "takes --lr, --weight-decay)")  # fmt: skip


def test_an_unknown_optimizer_is_refused_naming_a_registered_one(capsys, registered):
    line = assert_user_error(capsys, "train", "--data", "xor", "--optimizer", "lbfgs",
                             match="--optimizer: unknown value 'lbfgs'")  # fmt: skip
    assert "heavy-ball" in line and "momentum" in line


def _option_help(capsys, option: str) -> str:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    text = " ".join(out.split()).replace("- ", "-")  # a name wrapped at its hyphen
    found = re.search(rf"{option} [A-Z][A-Z|]* (.*?) \[default", text)
    assert found, text
    return found[1]


def _named(text: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z-]*[a-z]", text)) - {"or", "for", "hidden", "units"}


def test_the_help_names_the_registries(capsys):
    """A guard, not a fix: the help is written out (see the module's docstring)."""
    from chainrule.optim.optimizers import ALIASES

    assert _named(_option_help(capsys, "--loss")) == set(losses.LOSSES)
    assert _named(_option_help(capsys, "--optimizer")) == {*optim.OPTIMIZERS, *ALIASES}
    assert _named(_option_help(capsys, "--activation")) == set(activations.HIDDEN) | {"sigmoid"}
    taking = {
        name for name in (*optim.OPTIMIZERS, *ALIASES)
        if "momentum" in optim.optimizers.lookup(name)[0].hyperparameters
    }  # fmt: skip
    momentum = _option_help(capsys, "--momentum").split(" for ")[1]
    assert set(momentum.split("/")) == taking
