"""What QA found in train, evaluate, predict and explain --out, each pinned on small runs:
evaluating on the built-in dataset a model trained on, adamw's default weight decay, the
family-trees warm-up's refusal, explain's format from --out's suffix, a one-line CSV's bad
cell."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run


def train(capsys, *args):
    code, out, err = run(capsys, "train", "-q", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def evaluate(capsys, *args):
    code, out, err = run(capsys, "evaluate", *args, "--json")
    assert code == 0, err
    return json.loads(out)


# -- evaluate --data: the built-in dataset the model was trained on ------------------------------


def test_evaluate_on_the_built_in_digits_a_model_was_trained_on(tmp_path, capsys):
    """evaluate --data digits refused a model trained on digits: the model's class names 0..9
    were taken as numbers, the dataset's same names as names."""
    out = tmp_path / "run"
    summary = train(capsys, "--data", "digits", "--epochs", 1, "--hidden", 16, "--out", out)
    held_out = evaluate(capsys, out)  # the split train reported on
    assert held_out["accuracy"] == pytest.approx(summary["test_accuracy"])
    everything = evaluate(capsys, out, "--data", "digits")
    assert everything["cases"] == 1797
    # the same cases written to a CSV file of class numbers score the same
    from chainrule import data

    digits = data.load("digits")
    table = tmp_path / "digits.csv"
    np.savetxt(table, np.column_stack([digits.X, digits.y]), delimiter=",", fmt="%.10g")
    from_file = evaluate(capsys, out, "--data", table)
    assert everything["accuracy"] == pytest.approx(from_file["accuracy"])
    assert everything["loss"] == pytest.approx(from_file["loss"], rel=1e-5)


@pytest.mark.parametrize("name", ["parity", "encoder"])
def test_evaluate_on_the_built_in_classic_problem_matches_train(tmp_path, capsys, name):
    out = tmp_path / "run"
    summary = train(capsys, "--data", name, "--epochs", 3, "--out", out)
    result = evaluate(capsys, out, "--data", name)
    assert result["accuracy"] == pytest.approx(summary["test_accuracy"])


def test_a_file_of_class_names_is_still_refused_for_a_model_of_numbers(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(30, 2))
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("".join(f"{a:.4f},{b:.4f},{k % 2}\n" for k, (a, b) in enumerate(rows)))
    names = tmp_path / "names.csv"
    names.write_text("".join(f"{a:.4f},{b:.4f},{'ab'[k % 2]}\n" for k, (a, b) in enumerate(rows)))
    out = tmp_path / "run"
    train(capsys, "--data", numbers, "--epochs", 1, "--hidden", 3, "--out", out)
    assert_user_error(capsys, "evaluate", out, "--data", names, match="holds class names (a, b)")


# -- adamw: PyTorch's default decoupled weight decay ---------------------------------------------


def test_adamw_without_weight_decay_trains_unlike_adam(tmp_path, capsys):
    """--optimizer adamw with no --weight-decay trained bit for bit as adam (a decay of 0)."""
    common = ("--data", "xor", "--epochs", 3, "--lr", "0.05")  # one rate for both

    def weights(name, *args):
        result = train(capsys, *common, "--out", tmp_path / name, *args)
        return result, (tmp_path / name / "model" / "model.safetensors").read_bytes()

    _, adam = weights("adam", "--optimizer", "adam")
    adamw, decayed = weights("adamw", "--optimizer", "adamw")
    _, undecayed = weights("adamw0", "--optimizer", "adamw", "--weight-decay", "0")
    assert adamw["config"]["weight_decay"] == 0.01
    assert decayed != adam
    assert undecayed == adam  # --weight-decay 0 still turns the decay off
    # resuming keeps the recorded decay, and refuses another
    code, _, err = run(capsys, "train", "--resume", tmp_path / "adamw", "--epochs", 4, "-q")
    assert code == 0, err
    assert_user_error(capsys, "train", "--resume", tmp_path / "adamw", "--epochs", 5,
                      "--weight-decay", "0", match="--weight-decay cannot change")  # fmt: skip


def test_weight_decay_help_says_decoupled_for_adamw(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "decoupled" in text and "adamw" in text and "L2" in text and "0.01" in text


# -- family-trees' warm-up: the true reason, "default" only when it is -------------------------


def test_family_trees_warmup_refusal_gives_the_real_reason(tmp_path, capsys):
    """rmsprop given --momentum 0.5 was told "(given no momentum)", and a --schedule given was
    called "the family-trees default"."""
    line = assert_user_error(capsys, "train", "--data", "family-trees", "--schedule",
                             "family-trees", "--optimizer", "rmsprop", "--momentum", "0.5",
                             "--out", tmp_path / "r", match="SGD with momentum")  # fmt: skip
    assert "rmsprop is not SGD" in line
    assert "given no momentum" not in line and "default" not in line
    line = assert_user_error(capsys, "train", "--data", "family-trees", "--optimizer", "adam",
                             "--out", tmp_path / "r",
                             match="family-trees (the family-trees default) warms up")  # fmt: skip
    assert "adam is not SGD" in line
    line = assert_user_error(capsys, "train", "--data", "digits", "--schedule", "family-trees",
                             "--out", tmp_path / "r", match="adam is not SGD")  # fmt: skip
    assert "default" not in line
    assert not (tmp_path / "r").exists()


# -- explain --out: the format from the file's suffix --------------------------------------------


@pytest.mark.parametrize(
    ("name", "start"),
    [("o.tex", "\\documentclass"), ("o.html", "<!DOCTYPE html"), ("o.md", "#"),
     ("o.txt", "Backpropagation"), ("o", "Backpropagation")],
)  # fmt: skip
def test_explain_out_takes_its_format_from_the_suffix(tmp_path, capsys, name, start):
    out = tmp_path / name
    code, _, err = run(capsys, "explain", "--no-symbolic", "--out", out)
    assert code == 0, err
    assert out.read_text().lstrip().startswith(start), out.read_text()[:200]


def test_explain_out_json_is_json(tmp_path, capsys):
    out = tmp_path / "o.json"
    code, _, err = run(capsys, "explain", "--no-symbolic", "--out", out)
    assert code == 0, err
    assert isinstance(json.loads(out.read_text()), dict)


@pytest.mark.parametrize(
    ("args", "match"),
    [(["--format", "json", "--out", "o.tex"], "format 'json' but the name"),
     (["--format", "text", "--out", "o.html"], "format 'text' but the name"),
     (["--out", "o.pdf"], "cannot write a .pdf file")],
)  # fmt: skip
def test_explain_out_refuses_a_suffix_of_another_format(tmp_path, capsys, args, match):
    args = [tmp_path / a if a.startswith("o.") else a for a in args]
    assert_user_error(capsys, "explain", "--no-symbolic", *args, match=match)
    assert list(tmp_path.iterdir()) == []


# -- predict --input: a one-line file's cell that is not a number --------------------------------


def test_a_one_line_input_with_a_text_cell_names_the_cell(tmp_path, capsys):
    """5.1,3.5,abc,0.2 alone was read as a header: "no data rows (only a header)"."""
    rng = np.random.default_rng(0)
    table = tmp_path / "four.csv"
    table.write_text("".join(",".join(f"{v:.3f}" for v in row) + f",{k % 2}\n"
                             for k, row in enumerate(rng.normal(size=(30, 4)))))  # fmt: skip
    out = tmp_path / "run"
    train(capsys, "--data", table, "--epochs", 1, "--hidden", 3, "--out", out)
    one = tmp_path / "one.csv"
    one.write_text("5.1,3.5,abc,0.2\n")
    assert_user_error(capsys, "predict", out, "--input", one,
                      match="one.csv, line 1, column 3: 'abc' is not a number")  # fmt: skip
    header = tmp_path / "header.csv"
    header.write_text("a,b,c,d\n")
    assert_user_error(capsys, "predict", out, "--input", header, match="only a header")
    fine = tmp_path / "fine.csv"
    fine.write_text("5.1,3.5,1.4,0.2\n")
    code, text, err = run(capsys, "predict", out, "--input", fine)
    assert code == 0, err
    assert len(text.strip().splitlines()) == 2  # the header and the one row
