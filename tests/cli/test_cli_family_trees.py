"""``chainrule train --data family-trees``: RHW 1986's network and the recipe that trains it."""

from __future__ import annotations

import contextlib
import json
import re
from io import StringIO

import numpy as np
import pytest

from chainrule import data, io, nn
from chainrule.cli import main
from chainrule.train import family_trees as ft


def train(tmp_path, capsys, *args):
    out = tmp_path / "run"
    code = main(["train", "--data", "family-trees", "--out", str(out), "--quiet", "--json", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return out, json.loads(captured.out)


@pytest.fixture(scope="module")
def thirty_epochs(tmp_path_factory):
    """A 30-epoch run (the warm-up's 20 and 10 more) and its JSON summary, trained once for the
    tests of this module that read it (none writes into it)."""
    out = tmp_path_factory.mktemp("family-trees") / "run"
    args = ["train", "--data", "family-trees", "--out", str(out), "--quiet", "--json"]
    with contextlib.redirect_stdout(StringIO()) as printed:
        assert main([*args, "--epochs", "30"]) == 0
    return out, json.loads(printed.getvalue())


def test_family_trees_preset_is_the_recipe_in_the_library(thirty_epochs, tmp_path, capsys):
    out, summary = thirty_epochs
    config, default = summary["config"], ft.RECIPES["default"]
    assert config["network"] == "family-trees" and config["loss"] == "margin-squared-error"
    assert (config["lr"], config["momentum"], config["shrink"], config["init_range"]) == (
        default.lr, default.momentum, default.shrink, default.init_range
    )  # fmt: skip
    assert summary["test_cases"] == 4 and summary["evaluated_on"] == "test"
    history = json.loads((out / "history.json").read_text())
    assert [h["lr"] for h in history[:20]] == [0.005] * 20  # the warm-up, then eps 0.07
    assert {h["lr"] for h in history[20:]} == {0.07}

    # the same weights as the library's own loop on the same held-out cases
    model, info = io.load_model(out / "model")
    assert isinstance(model[0], nn.Parallel) and info["loss"]["type"] == "margin-squared-error"
    seed = info["meta"]["run"]["seed"]
    run = ft.train_run(default.replace(sweeps=30), test=held_out_indices(out), seed=seed)
    for (name, mine), (_, theirs) in zip(run.net.named_parameters(), model.named_parameters()):
        np.testing.assert_allclose(
            theirs.numpy(), mine.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )

    code = main(["evaluate", str(out), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["cases"] == 4
    # predict reads the 36 input columns the two encoders share between them
    rows = data.family_trees().X[:2]
    np.savetxt(tmp_path / "cases.csv", rows, delimiter=",", fmt="%g")
    code = main(["predict", str(out), "--input", str(tmp_path / "cases.csv"), "--json"])
    predictions = json.loads(capsys.readouterr().out)
    assert code == 0 and len(predictions["predictions"]) == 2
    assert predictions["outputs"][:2] == ["Christopher", "Penelope"]


def held_out_indices(out):
    from chainrule.train import runs

    config = runs.RunConfig.from_json(json.loads((out / "run.json").read_text())["config"])
    return runs.load_data(config).test.meta["indices"]


def test_hidden_sizes_give_a_plain_network_on_family_trees(tmp_path, capsys):
    out, summary = train(tmp_path, capsys, "--epochs", "2", "--hidden", "8")
    assert summary["config"]["network"] == "mlp"
    model, _ = io.load_model(out / "model")
    assert isinstance(model, nn.Sequential) and model[0].n_in == 36


def test_family_trees_run_resumes_to_the_same_weights(thirty_epochs, tmp_path, capsys):
    straight, _ = thirty_epochs
    first, _ = train(tmp_path / "b", capsys, "--epochs", "12")
    code = main(["train", "--resume", str(first), "--epochs", "30", "--quiet"])
    assert code == 0, capsys.readouterr().err
    a, _ = io.load_model(straight / "model")
    b, _ = io.load_model(first / "model")
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_graph_draws_the_family_trees_network_with_each_branchs_parameters(trained_run, capsys):
    """graph --model draws the explainer's forward pass of the project's own family-trees run,
    each branch's parameters named as the model names them."""
    out = trained_run("family-trees")  # one epoch
    assert main(["graph", "--model", str(out), "--format", "dot", "--out", "-"]) == 0
    captured = capsys.readouterr()
    model, _ = io.load_model(out / "model")
    for name, _ in model.named_parameters():  # each branch's and layer's, by the model's names
        assert f'label="{name} (' in captured.out
    assert "Parallel" not in captured.err
    assert "\\ndE/d" in captured.out and "sends back" in captured.out


def test_explain_and_the_network_diagram_write_the_family_trees_network_out(
    trained_run, tmp_path, capsys
):
    """They refused the project's own family-trees run (layer 0 is a Parallel); they now write
    its encoders as one layer joined in blocks, every check agreeing. The explorer, which edits
    full weight matrices, refuses it in one line."""
    out = trained_run("family-trees")  # one epoch
    assert main(["explain", "--model", str(out), "--no-symbolic"]) == 0
    text = capsys.readouterr().out
    assert "joins its units to layer 0 in blocks" in text
    # the weights from the one-hot inputs' zeros are 0 and so is their difference: no verdict
    assert "all agree" in text or re.search(r"all \d+ resolved checks agree; \d+ unresolved", text)
    assert "'0.0.0.weight and 0.1.0.weight'" in text
    svg = tmp_path / "net.svg"
    assert main(["graph", "--kind", "network", "--model", str(out), "--out", str(svg)]) == 0
    assert svg.read_text().count("<line") > 0
    capsys.readouterr()
    assert main(["serve", "--model", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule: ")
