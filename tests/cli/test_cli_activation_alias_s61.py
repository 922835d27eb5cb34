"""``chainrule train --activation sigmoid``: ``nn.activation``, ``nn.mlp`` and ``--arch`` take
sigmoid as the logistic's other name, and the command line refused it ("choose one of
logistic, tanh, relu"). It trains the logistic network, recorded under the unit's own name:
the oracle is the same run with ``--activation logistic``, bit for bit."""

from __future__ import annotations

import json

import pytest
from cli_run import assert_user_error, run

from chainrule import io


@pytest.mark.parametrize("spelled", ["sigmoid", "Sigmoid"])
def test_sigmoid_trains_the_logistic_network(tmp_path, capsys, spelled):
    weights = []
    for name in ("logistic", spelled):
        out = tmp_path / name
        code, _, err = run(capsys, "train", "--data", "xor", "--activation", name, "--epochs", 3,
                           "-q", "--out", out)  # fmt: skip
        assert code == 0, err
        assert json.loads((out / "run.json").read_text())["config"]["activation"] == "logistic"
        model, _ = io.load_model(out / "model")
        weights.append([p.data.tolist() for p in model.parameters()])
    assert weights[0] == weights[1]


def test_an_unknown_unit_is_still_refused_naming_the_choices(capsys):
    line = assert_user_error(capsys, "train", "--data", "xor", "--activation", "softsign",
                             match="unknown value 'softsign'")  # fmt: skip
    assert "logistic, tanh, relu" in line
