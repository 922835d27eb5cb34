"""The summary after early stopping names the epoch its model is; predict refuses an --output
name of another format and gives a regression's prediction as a number; the names summaries
give the built-in datasets are names --data takes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data, io, nn
from chainrule.cli import main


def write_csv(path, rows, header=None):
    lines = [header] if header else []
    lines += [",".join(f"{v:.6g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def summary_line(out: str) -> str:
    return out.splitlines()[0]


# -- early stopping: the summary names the best epoch, whose model it reports -------------------


@pytest.mark.parametrize(("patience", "stopped"), [(3, True), (100, False)])
def test_the_summary_says_the_best_epoch_is_kept(tmp_path, capsys, patience, stopped):
    """parity at lr 5 overshoots after epoch 2: early stopping keeps epoch 2's weights, and the
    summary said "after 5 epochs" of them. The oracle: history.json, whose lowest loss is the
    best epoch's and equals the reported one (the classic problems are judged on their cases)."""
    code, out, err = run(capsys, "train", "--data", "parity", "--lr", "5", "--epochs", "30",
                         "--early-stopping", patience, "-q", "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    losses = [record["loss"] for record in history]
    best = int(np.argmin(losses)) + 1
    epochs = len(history)
    assert best < epochs and (epochs < 30) == stopped
    why = "stopped early; " if stopped else ""
    assert summary_line(out).endswith(f"after {epochs} epochs ({why}the best epoch, {best}, kept)")
    summary = json.loads((tmp_path / "r" / "run.json").read_text())
    assert summary["best_epoch"] == best and summary["epochs"] == epochs
    assert summary["test_loss"] == losses[best - 1]  # the model reported is the best epoch's
    assert summary["stopped_early"] is stopped


def test_a_summary_without_early_stopping_names_only_the_epochs(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--data", "xor", "--epochs", "3", "-q", "--json",
                         "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["best_epoch"] is None and summary["stopped_early"] is False
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "3", "-q",
                       "--out", tmp_path / "r2")  # fmt: skip
    assert summary_line(out).endswith("after 3 epochs")


# -- predict --output: a name of another format is refused, as explain, graph and export do ----


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor") / "run"
    assert main(["train", "--data", "xor", "--epochs", "2", "-q", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(("name", "flags", "match", "right"), [
    ("p.json", (), "format 'csv' but the name", ("--json",)),
    ("p.csv", ("--json",), "format 'json' but the name", ()),
    ("P.TSV", (), "ends in .tsv", ()),
])  # fmt: skip
def test_predict_refuses_an_output_of_another_format(
    xor_run, tmp_path, capsys, name, flags, match, right
):
    """-o p.json without --json wrote CSV into it; -o p.csv --json wrote JSON. The name with
    the format it says is written (a .tsv's CSV as .txt, a name without suffix either way)."""
    rows = write_csv(tmp_path / "rows.csv", [[0, 0], [1, 0]])
    target = tmp_path / name
    line = assert_user_error(capsys, "predict", xor_run, "-i", rows, "-o", target, *flags,
                             match=match)  # fmt: skip
    assert "--output" in line and "--json" in line
    assert not target.exists()
    if name == "P.TSV":
        target = tmp_path / "p.txt"
    for written in (target, tmp_path / "p"):
        code, _, err = run(capsys, "predict", xor_run, "-i", rows, "-o", written, *right)
        assert code == 0, err
        text = written.read_text()
        if right:  # a classifier's prediction stays its label
            predictions = json.loads(text)["predictions"]
            assert len(predictions) == 2
            assert {case["prediction"] for case in predictions} <= {"odd", "not odd"}
        else:
            assert text.splitlines()[0] == "line,prediction,odd"


# -- predict --json: a regression's prediction is a number ---------------------------------------


def test_a_regressions_json_prediction_is_its_output_as_a_number(tmp_path, capsys):
    """It was the CSV cell's text ("3.764635"). The oracle: the CSV's value, read back."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    table = write_csv(tmp_path / "reg.csv", np.column_stack([X, 3 * X[:, 0] + 2]), "a,b,y")
    code, _, err = run(capsys, "train", "--data", table, "--task", "regression", "--epochs", "2",
                       "-q", "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    rows = write_csv(tmp_path / "rows.csv", X[:5])
    code, out, err = run(capsys, "predict", tmp_path / "r", "-i", rows, "--json")
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    code, csv_out, _ = run(capsys, "predict", tmp_path / "r", "-i", rows)
    assert csv_out.splitlines()[0] == "line,y"  # the line, then the target column's name
    from_csv = [float(line.split(",")[1]) for line in csv_out.splitlines()[1:]]
    for case, written in zip(predictions, from_csv):
        assert isinstance(case["prediction"], float)
        assert case["prediction"] == case["outputs"][0]
        assert np.float32(case["prediction"]) == np.float32(written)


def test_a_regression_of_two_outputs_predicts_a_list_of_numbers(tmp_path, capsys):
    model = nn.Sequential(nn.Linear(2, 2))
    io.save_model(tmp_path / "m", model, loss="mse", meta={"task": "regression"})
    rows = write_csv(tmp_path / "rows.csv", [[0.5, -1], [2, 3]])
    code, out, err = run(capsys, "predict", tmp_path / "m", "-i", rows, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["outputs"] == ["prediction_0", "prediction_1"]
    weight, bias = model[0].weight.numpy(), model[0].bias.numpy()
    expected = np.array([[0.5, -1], [2, 3]], dtype=np.float32) @ weight + bias  # (n_in, n_out)
    for case, row in zip(document["predictions"], expected):
        assert case["prediction"] == case["outputs"]
        np.testing.assert_allclose(case["prediction"], row, rtol=1e-6)


# -- the names summaries print are names --data takes ---------------------------------------------


def test_every_builtin_datasets_name_loads_it_again():
    for builtin in data.dataset_names():
        ds = data.load(builtin)
        again = data.load(ds.name)
        assert again.name == ds.name
        np.testing.assert_array_equal(again.X, ds.X)
        np.testing.assert_array_equal(again.y, ds.y)


@pytest.mark.parametrize(("name", "builder"), [
    ("parity-6", lambda: data.parity(6)),
    ("symmetry-4", lambda: data.symmetry(4)),
    ("encoder-4-2-4", lambda: data.encoder(4, hidden=2)),
    ("encoder-8-4-2-8", lambda: data.encoder(8, hidden=[4, 2])),
])  # fmt: skip
def test_a_sized_name_loads_the_dataset_of_those_sizes(name, builder):
    ds, expected = data.load(name), builder()
    assert ds.name == expected.name == name
    np.testing.assert_array_equal(ds.X, expected.X)
    np.testing.assert_array_equal(ds.y, expected.y)
    assert ds.meta == expected.meta


def test_a_sized_name_is_refused_where_it_gives_no_dataset_or_a_size_again():
    with pytest.raises(data.DataError, match="'parity-6' gives n already"):
        data.load("parity-6", n=4)
    for name in ["parity-x", "encoder-8-3-4", "xor-2", "digits-3", "parity-6-2"]:
        with pytest.raises(data.DataError, match=f"unknown dataset '{name}'"):
            data.load(name)


@pytest.mark.parametrize(("given", "name", "first_layer"), [
    ("parity", "parity-4", (4, 6)), ("symmetry-4", "symmetry-4", (4, 2)),
    ("parity-6", "parity-6", (6, 6)), ("encoder-4-2-4", "encoder-4-2-4", (4, 2)),
])  # fmt: skip
def test_train_takes_the_name_its_summary_prints(tmp_path, capsys, given, name, first_layer):
    """The summary said parity-4: and --data parity-4 was an unknown dataset. A sized name
    trains with its dataset's recipe (full batches, every case), an encoder's with the hidden
    layer its name gives."""
    code, out, err = run(capsys, "train", "--data", given, "--epochs", "1", "-q",
                         "--out", tmp_path / "a")  # fmt: skip
    assert code == 0, err
    assert summary_line(out).startswith(f"{name}: accuracy")
    code, again, err = run(capsys, "train", "--data", name, "--epochs", "1", "-q", "--json",
                           "--out", tmp_path / "b")  # fmt: skip
    assert code == 0, err
    summary = json.loads(again)
    assert summary["dataset"] == name and summary["evaluated_on"] == "train"
    assert summary["config"]["batch_size"] is None
    model, _ = io.load_model(tmp_path / "b" / "model")
    assert model[0].weight.shape == first_layer  # (inputs, hidden units): the preset's network
    code, out, err = run(capsys, "evaluate", tmp_path / "b")
    assert code == 0, err
    assert f"split of {name})" in out.splitlines()[0]
    code, out, err = run(capsys, "evaluate", tmp_path / "a", "--data", name)
    assert code == 0, err
    assert f"all of {name})" in out.splitlines()[0]


def test_a_hidden_that_differs_from_the_encoders_name_is_refused(tmp_path, capsys):
    assert_user_error(capsys, "train", "--data", "encoder-4-2-4", "--hidden", "3", "--epochs", "1",
                      "--out", tmp_path / "r",
                      match="--data encoder-4-2-4 names its hidden layers (2)")  # fmt: skip
    assert not (tmp_path / "r").exists()
