"""predict and evaluate of a checkpoint check the data as of the run's model; predict's input:
a header of numeric feature names, another separator, decimal commas."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run


def write_csv(path, rows, header=None):
    lines = [header] if header else []
    lines += [",".join(f"{v:.6g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def train(capsys, *args):
    code, out, err = run(capsys, "train", "-q", *args)
    assert code == 0, err
    return out


def checkpoint_models(run_dir):
    """The run's checkpoints/ folder and each of its epoch directories."""
    epochs = sorted((run_dir / "checkpoints").glob("epoch-*"))
    assert epochs
    return [run_dir / "checkpoints", *epochs]


# -- a checkpoint records the data checks the run's model records --------------------------------


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    from chainrule.cli import main

    assert main(["train", "--data", "digits", "--epochs", "2", "--hidden", "8", "-q",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


def test_checkpoints_record_the_models_data_meta(digits_run):
    final = json.loads((digits_run / "model" / "model.json").read_text())["meta"]
    for model in checkpoint_models(digits_run)[1:]:
        meta = json.loads((model / "model.json").read_text())["meta"]
        assert meta["pixel_range"] == final["pixel_range"]
        assert meta["image_shape"] == final["image_shape"]


def test_a_checkpoint_refuses_raw_pixels_as_the_run_does(digits_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    raw = np.column_stack([rng.integers(0, 17, size=(20, 64)), np.arange(20) % 10])
    labelled = write_csv(tmp_path / "raw_labelled.csv", raw)
    rows = write_csv(tmp_path / "raw_rows.csv", raw[:, :64])
    refusal = assert_user_error(capsys, "evaluate", digits_run, "--data", labelled,
                                match="outside [0, 1]")  # fmt: skip
    for model in checkpoint_models(digits_run):
        assert assert_user_error(capsys, "evaluate", model, "--data", labelled,
                                 match="outside [0, 1]") == refusal  # fmt: skip
        assert_user_error(capsys, "predict", model, "-i", rows, match="outside [0, 1]")


def test_a_checkpoint_refuses_reordered_columns_as_the_run_does(tmp_path, capsys):
    X = np.random.default_rng(1).normal(size=(40, 3))
    table = np.column_stack([X, (X[:, 0] > 0).astype(int)])
    out = tmp_path / "run"
    train(capsys, "--data", write_csv(tmp_path / "abc.csv", table, "a,b,c,label"),
          "--epochs", 2, "--out", out)  # fmt: skip
    reordered = write_csv(tmp_path / "cba.csv", X[:5, ::-1], "c,b,a")
    refusal = assert_user_error(capsys, "predict", out, "-i", reordered, match="column 1")
    for model in checkpoint_models(out):
        assert assert_user_error(capsys, "predict", model, "-i", reordered,
                                 match="column 1") == refusal  # fmt: skip


# -- predict's --input ---------------------------------------------------------------------------


def predictions(capsys, model, path, lines=None):
    """predict's JSON predictions for ``path``, without the line each was read from (checked
    against ``lines`` where they are given): files laid out otherwise compare alike."""
    code, text, err = run(capsys, "predict", model, "-i", path, "--json")
    assert code == 0, err
    cases = json.loads(text)["predictions"]
    if lines is not None:
        assert [case["line"] for case in cases] == lines
    return [{k: v for k, v in case.items() if k != "line"} for case in cases]


def test_a_header_of_the_models_numeric_names_is_no_row(tmp_path, capsys):
    X = np.random.default_rng(2).normal(size=(30, 3))
    table = np.column_stack([X, (X[:, 1] > 0).astype(int)])
    out = tmp_path / "run"
    train(capsys, "--data", write_csv(tmp_path / "years.csv", table, "2019,2020,2021,label"),
          "--epochs", 1, "--out", out)  # fmt: skip
    headed = predictions(capsys, out, write_csv(tmp_path / "h.csv", X[:4], "2019,2020,2021"),
                         lines=[2, 3, 4, 5])  # fmt: skip
    bare = predictions(capsys, out, write_csv(tmp_path / "b.csv", X[:4]), lines=[1, 2, 3, 4])
    assert headed == bare  # four rows, the same predictions, none for the header


@pytest.fixture(scope="module")
def three_input_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("three")
    X = np.random.default_rng(3).normal(size=(30, 3))
    data = write_csv(tmp / "d.csv", np.column_stack([X, (X[:, 2] > 0).astype(int)]))
    from chainrule.cli import main

    assert main(["train", "--data", str(data), "--epochs", "1", "-q", "--out",
                 str(tmp / "run")]) == 0  # fmt: skip
    return tmp / "run"


@pytest.mark.parametrize(("sep", "suffix"), [(";", ".csv"), ("|", ".csv"), ("\t", ".csv")])
def test_predict_hints_at_another_separator_as_train_does(
    three_input_run, tmp_path, capsys, sep, suffix
):
    rows = ["a,b,c,label", "0.5,0.1,0.2,1", "0.3,0.2,0.1,0"]
    labelled = tmp_path / f"labelled{suffix}"
    labelled.write_text("\n".join(r.replace(",", sep) for r in rows) + "\n")
    train_line = assert_user_error(capsys, "train", "--data", labelled, "--epochs", 1,
                                   "--out", tmp_path / "no", match="holds")  # fmt: skip
    inputs = tmp_path / f"inputs{suffix}"
    inputs.write_text("\n".join(r.replace(",", sep) for r in ["a,b,c", "0.5,0.1,0.2"]) + "\n")
    line = assert_user_error(capsys, "predict", three_input_run, "-i", inputs,
                             match="1 column but the model takes 3 inputs")  # fmt: skip
    hint = train_line[train_line.index(" holds") :]
    assert line.endswith(hint), (line, hint)


def test_predict_names_one_input_in_the_singular(tmp_path, capsys):
    x = np.random.default_rng(4).normal(size=30)
    out = tmp_path / "run"
    train(capsys, "--data", write_csv(tmp_path / "x.csv", np.column_stack([x, x > 0])),
          "--epochs", 1, "--out", out)  # fmt: skip
    wide = write_csv(tmp_path / "wide.csv", np.ones((2, 3)))
    assert_user_error(capsys, "predict", out, "-i", wide,
                      match="3 columns but the model takes 1 input (")  # fmt: skip


@pytest.fixture(scope="module")
def one_input_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one")
    x = np.random.default_rng(5).normal(size=40)
    data = write_csv(tmp / "x.csv", np.column_stack([x, x > 0]))
    from chainrule.cli import main

    assert main(["train", "--data", str(data), "--epochs", "1", "-q", "--out",
                 str(tmp / "run")]) == 0  # fmt: skip
    return tmp / "run"


def test_a_one_input_model_refuses_decimal_commas(one_input_run, tmp_path, capsys):
    commas = tmp_path / "commas.csv"
    commas.write_text("0,5\n1,25\n-2,75\n")
    assert_user_error(capsys, "predict", one_input_run, "-i", commas,
                      match="commas.csv, line 1: 0,5 reads as")  # fmt: skip
    points = tmp_path / "points.csv"
    points.write_text("0.5\n1.25\n-2.75\n")
    expected = predictions(capsys, one_input_run, points)
    labelled = tmp_path / "labelled.csv"  # a trailing label column is still read past
    labelled.write_text("0.5,1\n1.25,0\n-2.75,1\n")
    assert predictions(capsys, one_input_run, labelled) == expected
    headed = tmp_path / "headed.csv"  # whole numbers and labels, said so by a header
    headed.write_text("x,label\n0,5\n1,25\n")
    whole = tmp_path / "whole.csv"
    whole.write_text("0\n1\n")
    assert predictions(capsys, one_input_run, headed) == predictions(capsys, one_input_run, whole)
