"""What QA found in ``chainrule graph`` and ``chainrule explain --model`` (session 65):

3. ``graph --model RUN --input RAWROW`` drew the standardised inputs and never said they were
   standardised (explain says so, in its "Where the case comes from");
4. ``explain --model RUN`` of a run trained with weight decay wrote out dE/dw of the data's loss
   with no word that each training step also added weight_decay * w.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from cli_run import run, small_table, train_small

ROW = "0.5,-1.0,2.0"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small runs on one CSV file: plain SGD, SGD with weight decay 0.5, AdamW (its default
    decay, 0.01); each run's directory by name."""
    root = tmp_path_factory.mktemp("s65")
    table = small_table(root / "d.csv", seed=0)
    return {
        name: train_small(root / name, table, *options)
        for name, options in {
            "plain": ["--optimizer", "sgd", "--lr", "0.1"],
            "decay": ["--optimizer", "sgd", "--lr", "0.1", "--weight-decay", "0.5"],
            "adamw": ["--optimizer", "adamw"],
        }.items()
    }


# -- 3. graph says its inputs were standardised, in explain's words ------------------------------
def _explain_source(capsys, run_dir, *args) -> str:
    code, out, err = run(capsys, "explain", "--model", run_dir, *args, "--json",
                         "--no-symbolic", "--no-perturbation")  # fmt: skip
    assert code == 0, err
    return json.loads(out)["case_source"]


@pytest.mark.parametrize("kind", ["network", "computation"])
def test_graph_of_a_raw_input_row_says_it_was_standardised_as_explain_does(
    runs, tmp_path, capsys, kind
):
    source = _explain_source(capsys, runs["plain"], "--input", ROW, "--target", "1")
    assert "standardised with the model's saved training mean and std" in source
    svg = tmp_path / f"{kind}.svg"
    code, _, err = run(capsys, "graph", "--kind", kind, "--model", runs["plain"],
                       "--input", ROW, "--target", "1", "--out", svg)  # fmt: skip
    assert code == 0, err
    said = [line for line in err.splitlines() if "standardised" in line]
    assert said == [f"note: the numbers drawn are {source}"]
    if kind != "network":
        return
    # what is said is what is drawn: the input circles hold the row standardised by hand
    standardizer = json.loads((runs["plain"] / "model" / "model.json").read_text())["standardizer"]
    raw = np.array([float(v) for v in ROW.split(",")])
    scaled = (raw - standardizer["mean"]) / np.array(standardizer["std"])
    drawn = re.findall(r">y=([^<]+)<", svg.read_text())[:3]  # layer 0's, drawn first
    values = [float(v.replace("−", "-")) for v in drawn]
    np.testing.assert_allclose(values, scaled, rtol=5e-3, atol=1e-3)
    assert not np.allclose(values, raw, rtol=0.1)


def test_graph_of_a_runs_case_says_which_case_and_the_seed_says_nothing(runs, tmp_path, capsys):
    source = _explain_source(capsys, runs["plain"], "--case", "1")
    code, _, err = run(capsys, "graph", "--kind", "network", "--model", runs["plain"],
                       "--case", "1", "--out", tmp_path / "case.svg")  # fmt: skip
    assert code == 0, err
    assert f"note: the numbers drawn are {source}" in err.splitlines()
    code, _, err = run(capsys, "graph", "--kind", "network", "--out", tmp_path / "seed.svg")
    assert code == 0 and "numbers drawn" not in err


@pytest.mark.parametrize("kind", ["network", "computation"])
def test_graph_quiet_says_nothing_on_stderr(runs, tmp_path, capsys, kind):
    """Second review: graph's new note could not be turned off; --quiet, as train's, does."""
    args = ["graph", "--kind", kind, "--model", runs["plain"], "--case", "1", "--out"]
    code, _, err = run(capsys, *args, tmp_path / "a.svg", "--quiet")
    assert code == 0 and "note:" not in err, err
    code, _, err = run(capsys, *args, tmp_path / "b.svg")
    assert code == 0 and "note: the numbers drawn are" in err
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


# -- 4. explain --model names the run's weight decay ---------------------------------------------
def _explained(capsys, run_dir) -> tuple[str, list[str]]:
    args = ["explain", "--model", run_dir, "--no-symbolic", "--no-perturbation"]
    code, text, err = run(capsys, *args)
    assert code == 0, err
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return text, json.loads(out)["notes"]


def _recorded(run_dir) -> dict:
    """The run's configuration as its model file records it: the oracle of what was trained."""
    return json.loads((run_dir / "model" / "model.json").read_text())["meta"]["run"]


def test_explain_of_a_run_with_weight_decay_names_it_and_of_one_without_says_nothing(runs, capsys):
    recorded = _recorded(runs["decay"])
    assert (recorded["optimizer"], recorded["weight_decay"]) == ("sgd", 0.5)
    text, notes = _explained(capsys, runs["decay"])
    said = [note for note in notes if "weight decay" in note]
    assert len(said) == 1 and " ".join(text.split()).count(said[0]) == 1
    assert "weight decay 0.5 (--optimizer sgd, L2)" in said[0]
    assert "added 0.5·w to every dE/dw" in said[0] and "the decay is not in them" in said[0]
    # a run without decay: not a word of it
    assert _recorded(runs["plain"])["weight_decay"] == 0
    text, notes = _explained(capsys, runs["plain"])
    assert "decay" not in text and not any("decay" in note for note in notes)


def test_explain_of_an_adamw_run_names_its_decoupled_default_decay(runs, capsys):
    recorded = _recorded(runs["adamw"])
    assert recorded["optimizer"] == "adamw"
    _, notes = _explained(capsys, runs["adamw"])
    said = [note for note in notes if "weight decay" in note]
    assert len(said) == 1
    assert f"weight decay {recorded['weight_decay']:g} (--optimizer adamw, decoupled)" in said[0]
    assert "by 1 - lr·" in said[0]
