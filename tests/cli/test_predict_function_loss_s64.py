"""A run trained with a loss function of one's own on logits (BCE from logits, as a PyTorch
user writes it) says so by ``output_activation = "logistic"``, and its fit reads accuracy by it;
but model.json stored the loss as null, so ``chainrule predict`` of its checkpoint cut the one
output unit at 0.5, as a probability: a case with logit 0.2 was class 0. model.json now keeps
what such a loss says of the outputs (``loss_reads``), and predict reads them as the fit did."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import run

import chainrule as cr
from chainrule import nn


def bce_logits(z, t):
    return (cr.softplus(z) - z * cr.tensor(np.asarray(t, dtype=np.float64))).sum()


def _trained(tmp_path, loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    ds = cr.data.Dataset(X=X, y=y, task="classification", n_classes=2)
    net = nn.mlp([2, 1], dtype="float64", rng=0)  # one output unit: logits
    cr.train.fit(net, loss, cr.optim.SGD(net, lr=0.05), ds, epochs=3, progress=False,
                 checkpoint_dir=tmp_path / "ck")  # fmt: skip
    return net, tmp_path / "ck" / "epoch-000003"


def _predicted(capsys, checkpoint, inputs_file):
    code, text, err = run(capsys, "predict", checkpoint, "-i", inputs_file, "--json")
    assert code == 0, err
    return [case["prediction"] for case in json.loads(text)["predictions"]]


def test_predict_cuts_a_logits_loss_functions_output_at_logit_0(tmp_path, capsys):
    bce_logits.output_activation = "logistic"
    try:
        net, checkpoint = _trained(tmp_path, bce_logits)
    finally:
        del bce_logits.output_activation
    info = json.loads((checkpoint / "model.json").read_text())
    assert info["loss"] is None and info["loss_reads"] == {"output_activation": "logistic"}
    # cases with logits between 0 and 0.5: on by logit 0, off if cut at 0.5 as probabilities
    z = np.linspace(0.05, 0.45, 5)
    w, b = net[0].weight.numpy()[:, 0], net[0].bias.numpy()[0]
    X = np.stack([(z - b) / w[0], np.zeros_like(z)], axis=1)
    np.testing.assert_allclose(net(cr.tensor(X)).numpy()[:, 0], z, atol=1e-12)
    inputs_file = tmp_path / "in.csv"
    inputs_file.write_text("\n".join(f"{a!r},{c!r}" for a, c in X.tolist()) + "\n")
    assert _predicted(capsys, checkpoint, inputs_file) == ["1"] * 5


def test_a_loss_function_that_says_nothing_is_cut_at_0_5_as_before(tmp_path, capsys):
    with pytest.warns(UserWarning, match="does not say how the network's outputs are read"):
        net, checkpoint = _trained(tmp_path, lambda z, t: bce_logits(z, t))
    info = json.loads((checkpoint / "model.json").read_text())
    assert info["loss_reads"] is None
    w, b = net[0].weight.numpy()[:, 0], net[0].bias.numpy()[0]
    z = np.array([0.2, 0.7])
    X = np.stack([(z - b) / w[0], np.zeros_like(z)], axis=1)
    inputs_file = tmp_path / "in.csv"
    inputs_file.write_text("\n".join(f"{a!r},{c!r}" for a, c in X.tolist()) + "\n")
    assert _predicted(capsys, checkpoint, inputs_file) == ["0", "1"]
