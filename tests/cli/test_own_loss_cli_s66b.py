"""A loss of one's own on the command line (session 66): ``chainrule --import M explain --model
F --loss NAME`` refused a loss NAME registered by M ("--loss: unknown value"), though the same
loss stored in F was explained; and ``serve --model RUN`` of a run of one's own loss refused
naming ``chainrule explain --model RUN``, which without the run's ``--import`` modules does
not know the loss.

The oracles: the loss's own ``loss(model(x), labels)`` and ``.backward()``, computed here."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import assert_user_error, run, small_table  # noqa: E402
from plugin_files import SCALED_LOSS, assert_explained_by_backward, registries_kept, write_plugin  # noqa: E402

#: The user's module: a label-smoothing cross-entropy that reads integer class labels alone,
#: and a scaled squared error (half the summed squares), registered
PLUGIN = (
    """
import numpy as np

import chainrule as cr
from chainrule import nn


@nn.register_loss
class Smoothed{tag}(nn.Loss):
    name = "smoothed-{low}"
    output_activation = "softmax"

    def __init__(self, smoothing=0.2):
        self.smoothing = float(smoothing)

    def forward(self, output, target):
        labels = np.asarray(target)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError("Smoothed: integer labels (n,) only")
        k = output.shape[1]
        rows = np.eye(k)[labels] * (1 - self.smoothing) + self.smoothing / k
        return -(cr.log_softmax(output, axis=1) * cr.tensor(rows)).sum() / output.shape[0]

    def config(self):
        return {{"type": self.config_type(), "smoothing": self.smoothing}}

"""
    + SCALED_LOSS
)


@pytest.fixture(autouse=True)
def kept():
    """The registries, the plugins and Python's path as they were, after the test; called,
    as a fresh process finds them."""
    yield from registries_kept("plugin_s66b")


def _plugin(directory: Path, tag: str) -> str:
    return write_plugin(directory, f"plugin_s66b{tag}", PLUGIN, tag, scale=0.5).stem


def test_explain_takes_a_registered_loss_of_ones_own_by_name_and_its_labels(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    plugin = _plugin(tmp_path, "A")
    monkeypatch.syspath_prepend(str(tmp_path))
    loss = __import__(plugin).SmoothedA()  # its default smoothing, as --loss NAME makes it
    net = nn.Sequential(nn.Linear(2, 3, rng=0, dtype="float64"), nn.Tanh(),
                        nn.Linear(3, 3, rng=1, dtype="float64"))  # fmt: skip
    path = io.save_model(tmp_path / "model", net, loss=nn.CrossEntropy())
    x, labels = np.array([[0.3, -0.8]]), np.array([2])
    E = loss(net(cr.tensor(x)), labels)
    E.backward()
    engine = {name: p.grad.numpy() for name, p in net.named_parameters()}
    kept()  # a fresh process: --import registers the loss
    code, out, err = run(capsys, "--import", plugin, "explain", "--model", path, "--loss",
                         "smoothed-a", "--input", "0.3,-0.8", "--target", "2",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert_explained_by_backward(
        json.loads(out), "smoothed-a", E.item(), engine, rtol=1e-10, atol=1e-14
    )
    # a name nobody registered is still refused in the choice options' words
    unknown = "--loss: unknown value 'smoothed-z'; choose one of"
    assert_user_error(capsys, "--import", plugin, "explain", "--model", path, "--loss",
                      "smoothed-z", match=unknown)  # fmt: skip


def test_serves_refusal_of_a_run_of_ones_own_loss_names_its_imports_and_runs_as_printed(
    tmp_path, capsys, monkeypatch, kept
):
    monkeypatch.chdir(tmp_path)
    plugin = _plugin(tmp_path, "B")
    data = small_table(tmp_path / "t.csv", seed=0)
    code, _, err = run(capsys, "--import", plugin, "train", "--data", data, "--hidden", "3",
                       "--epochs", "2", "--loss", "scaled-b", "--out", "run", "-q")  # fmt: skip
    assert code == 0, err
    kept()
    line = assert_user_error(capsys, "--import", plugin, "serve", "--model", "run", "--port", "1",
                             match=f"not scaled-b; chainrule --import {plugin} explain --model "
                                   "run writes this model's derivation out")  # fmt: skip
    command = shlex.split(line.split("not scaled-b; ")[1].split(" writes ")[0])
    kept()  # a fresh process: the command imports the plugin itself
    code, text, err = run(capsys, *command[1:])
    assert code == 0, err
    assert "The loss, scaled-b, is a loss of your own" in text
