"""A loss class of one's own in a model file (session 65): ``nn.register_loss`` makes a model
file that stores it rebuild it, with its config()'s arguments, through ``io`` and the command
line (``chainrule explain --model``, ``evaluate``), as ``optim.register_optimizer`` does for an
optimizer. Before, such a file loaded but every tool that rebuilt its loss refused it ("unknown
loss 'MyLoss'; choose one of squared-error, ..."), saying nothing of how to make it known; a
subclass of ``nn.Loss`` with no ``name`` was written as ``{"type": ""}``, which no model file
may hold, so ``save_model`` refused it in the schema's words ("'type' must be the loss's
name")."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError
from chainrule.nn import losses

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402

X = np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)
T = np.array([[1.0], [0.0]], dtype=np.float32)


class Scaled(nn.Loss):
    """Squared error times ``scale``, summed: a loss with an argument its config() keeps."""

    name = "scaled-squared-error"
    reduction = "sum"

    def __init__(self, scale: float = 1.0):
        self.scale = float(scale)

    def forward(self, output, target):
        output, t = self._compared(output, target)
        error = t - output
        return self.scale * (error * error).sum()

    def config(self):
        return {"type": self.config_type(), "scale": self.scale}


class HalfSquaredError(nn.SquaredError):
    """A subclass with a forward of its own and the name it inherits (chainrule's)."""

    def forward(self, output, target):
        return 0.5 * super().forward(output, target)


class Unnamed(nn.Loss):
    """A subclass of nn.Loss that sets no name."""

    def forward(self, output, target):
        output, t = self._compared(output, target)
        return ((t - output) * (t - output)).sum()


@pytest.fixture(autouse=True)
def registry_kept():
    """The loss registry as it was: a class a test registers leaves with the test."""
    before = dict(losses.LOSSES)
    yield
    losses.LOSSES.clear()
    losses.LOSSES.update(before)


@pytest.fixture
def net():
    return nn.mlp([2, 3, 1], output="logistic", rng=0)


def _saved_quietly(path, model, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a registered loss is no cause for a warning
        return io.save_model(path, model, loss=loss)


def test_a_registered_loss_round_trips_through_save_and_load_with_its_arguments(tmp_path, net):
    assert nn.register_loss(Scaled) is Scaled
    path = _saved_quietly(tmp_path / "m", net, Scaled(3.0))
    model, info = io.load_model(path)
    assert info["loss"] == {"type": "scaled-squared-error", "scale": 3.0}
    rebuilt = io.saved_loss(info, path)
    assert type(rebuilt) is Scaled and rebuilt.scale == 3.0
    assert rebuilt(model(X), T).item() == pytest.approx(Scaled(3.0)(net(X), T).item(), rel=1e-6)
    again = _saved_quietly(tmp_path / "again", model, info["loss"])  # what load gave, saved
    assert io.load_model(again)[1]["loss"] == info["loss"]
    assert nn.register_loss(Scaled) is Scaled  # a re-run notebook cell: harmless


def test_a_registered_loss_round_trips_through_the_command_line(tmp_path, net, capsys):
    nn.register_loss(Scaled)
    path = _saved_quietly(tmp_path / "m", net, Scaled(3.0))
    data = tmp_path / "xy.csv"
    data.write_text("a,b,y\n0.1,0.2,1\n0.3,0.4,0\n")
    code, out, err = run(capsys, "evaluate", path, "--data", data, "--json")
    assert code == 0, err
    # the model's own loss, rebuilt with its scale: three times the summed squared error
    assert json.loads(out)["loss"] == pytest.approx(Scaled(3.0)(net(X), T).item(), rel=1e-6)
    case = ("--input", "0.1,0.2", "--target", "1")
    # the loss is rebuilt from the file, and explained from its own backward (s66)
    code, out, err = run(capsys, "explain", "--model", path, *case, "--format", "json")
    assert code == 0, err
    explained = json.loads(out)["loss"]
    assert explained["name"] == "scaled-squared-error" and explained["written_out"] is False
    code, out, err = run(capsys, "explain", "--model", path, *case, "--loss", "squared-error",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)


def test_an_unregistered_loss_is_named_with_register_loss_at_save_and_at_load(
    tmp_path, net, capsys
):
    with pytest.warns(UserWarning, match=r"HalfSquaredError.*register_loss"):
        path = io.save_model(tmp_path / "m", net, loss=HalfSquaredError("mean"))
    _, info = io.load_model(path)  # the model itself loads
    assert info["loss"] == {"type": "HalfSquaredError", "reduction": "mean"}
    with pytest.raises(ModelFileError, match=r"'HalfSquaredError'.*nn\.register_loss") as caught:
        io.saved_loss(info, path)
    assert "model.json" in str(caught.value)
    line = assert_user_error(capsys, "explain", "--model", path, "--input", "0.1,0.2",
                             "--target", "1", match="register_loss")  # fmt: skip
    assert "'HalfSquaredError'" in line
    # a class with no name of its own is saved under its class's name (was an empty type)
    with pytest.warns(UserWarning, match=r"Unnamed.*register_loss"):
        io.save_model(tmp_path / "unnamed", net, loss=Unnamed())
    assert io.load_model(tmp_path / "unnamed")[1]["loss"] == {"type": "Unnamed"}


def test_a_file_saved_before_its_class_was_registered_loads_once_it_is(tmp_path, net):
    """The load message's remedy works: the class registered under its class's name in lower
    case rebuilds the files that name the class."""
    with pytest.warns(UserWarning):
        path = io.save_model(tmp_path / "m", net, loss=HalfSquaredError("mean"))
    with pytest.raises(ModelFileError, match='name = "halfsquarederror"'):
        io.saved_loss(io.load_model(path)[1], path)

    class Registered(HalfSquaredError):
        name = "halfsquarederror"

    nn.register_loss(Registered)
    rebuilt = io.saved_loss(io.load_model(path)[1], path)
    assert type(rebuilt) is Registered and rebuilt.reduction == "mean"


def test_register_loss_refuses_a_name_taken_or_missing():
    with pytest.raises(ConfigError, match="'squared-error' is taken by chainrule's own"):
        nn.register_loss(HalfSquaredError)  # the name it inherits
    with pytest.raises(ConfigError, match='name = "unnamed"'):
        nn.register_loss(Unnamed)
    with pytest.raises(ConfigError, match="not a subclass of chainrule.nn.Loss"):
        nn.register_loss(nn.Linear)
    assert "squared-error" in losses.LOSSES and losses.LOSSES["squared-error"] is nn.SquaredError
