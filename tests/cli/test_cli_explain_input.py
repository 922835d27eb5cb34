"""``chainrule explain`` and ``chainrule graph``: the user's --input, --target and --loss are read,
checked and used, and a mistake in them is one line (exit 2), never a traceback."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule.cli import main


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A standardised 4-input run (CSV) and a BCE run (symmetry), each trained briefly."""
    root = tmp_path_factory.mktemp("explain")
    rows = [f"{k % 3},{k % 5},{k % 7},{k % 2},{k % 2}" for k in range(30)]
    (root / "four.csv").write_text("\n".join(rows) + "\n")
    for args in (["--data", root / "four.csv", "--hidden", "3"], ["--data", "symmetry"]):
        out = root / ("four" if "--hidden" in args else "sym")
        assert main(["train", *map(str, args), "--epochs", "1", "--out", str(out), "-q"]) == 0
    return root


def test_a_json_object_is_not_numbers(tmp_path, capsys):
    (tmp_path / "d.json").write_text('{"x": [1, 2]}')
    for given in (tmp_path / "d.json", '{"x": [1, 2]}'):
        assert_user_error(capsys, "explain", "--input", given, "--target", "1",
                          match="an object where a number belongs")  # fmt: skip


@pytest.mark.parametrize("name", ["x.npz", "x.txt"])
def test_a_file_of_a_suffix_not_read_is_named_not_read_as_numbers(tmp_path, capsys, name):
    # it was "--input 'x.npz': not numbers (could not convert string to float: 'x.npz')"
    np.savez(tmp_path / "x.npz", a=np.ones((1, 2)))
    (tmp_path / "x.txt").write_text("1,0\n")
    line = assert_user_error(capsys, "explain", "--input", tmp_path / name, "--target", "1",
                             match=f"a {name[1:]} file is not read")  # fmt: skip
    assert "could not convert" not in line


@pytest.mark.parametrize("command", ["explain", "predict"])
def test_a_csv_of_another_width_is_refused_for_its_width_not_its_label(
    runs_dir, tmp_path, capsys, command
):
    """A labelled CSV of 3 columns given to a model of 4 inputs: its text label, where the
    model's third input would be, was reported as "not a number" (a file without labels got
    the width's message)."""
    rows = tmp_path / "narrow.csv"
    rows.write_text("a,b,species\n1,2,setosa\n")
    args = ["--model", runs_dir / "four"] if command == "explain" else [runs_dir / "four"]
    assert_user_error(capsys, command, *args, "--input", rows,
                      match="3 columns but the model takes 4 inputs")  # fmt: skip


def test_an_empty_input_is_named_as_empty(capsys):
    assert_user_error(capsys, "explain", "--input", "", "--target", "1",
                      match="--input is empty")  # fmt: skip


def test_a_bce_target_outside_0_1_is_one_line(runs_dir, capsys):
    assert_user_error(capsys, "explain", "--model", runs_dir / "sym", "--input", "1,0,1,0,1,0",
                      "--target", "2", match="targets must lie in [0, 1]")  # fmt: skip


def test_an_input_of_the_wrong_width_names_the_option_and_the_model(runs_dir, capsys):
    model = runs_dir / "four"
    line = assert_user_error(capsys, "explain", "--model", model, "--input", "1,2,3",
                             "--target", "0", match="--input: 3 values per case")  # fmt: skip
    assert f"model {model} takes 4" in line


def test_loss_choices_are_the_ones_explain_writes_out(capsys):
    line = assert_user_error(capsys, "explain", "--loss", "bogus",
                             match="--loss: unknown value 'bogus'")  # fmt: skip
    assert "binary-cross-entropy" in line and "margin-squared-error" in line
    assert_user_error(capsys, "explain", "--loss", "margin-squared-error",
                      match="the seed network is explained with its own loss")  # fmt: skip
    code, out, err = run(capsys, "explain", "--input", "0.3,0.7", "--target", "1,0,1",
                         "--loss", "margin-squared-error")  # fmt: skip
    assert code == 0, err
    assert "E = ½ Σ_j e_j²" in out and "e_j = min(y_j - 0.8, 0)" in out


def test_graph_uses_input_and_target_without_a_model(tmp_path, capsys):
    assert_user_error(capsys, "graph", "--input", "1,2,3,4,5", "--target", "1", "--out",
                      tmp_path / "g.svg", match="expects 2 values per case")  # fmt: skip
    assert not (tmp_path / "g.svg").exists()
    code, seed, _ = run(capsys, "graph", "--format", "dot")
    assert code == 0
    code, mine, err = run(capsys, "graph", "--input", "0.25,0.75", "--target", "1,0,1",
                          "--format", "dot")  # fmt: skip
    assert code == 0, err
    assert mine != seed and "0.75" in mine


def test_graph_refuses_a_loss_it_would_not_use(tmp_path, capsys):
    assert_user_error(capsys, "graph", "--loss", "mse", "--out", tmp_path / "g.svg",
                      match="--loss: the seed's graph needs --input and --target")  # fmt: skip


def test_a_csv_of_labels_one_per_line_is_a_label_per_case(runs_dir, tmp_path, capsys):
    """A one-column file is a column of cases (one label each), not one case's row."""
    (tmp_path / "in.csv").write_text("1,2,3,0\n2,0,1,1\n")
    (tmp_path / "t.csv").write_text("0\n1\n")
    common = ["explain", "--model", runs_dir / "four", "--input", tmp_path / "in.csv"]
    code, from_file, err = run(capsys, *common, "--target", tmp_path / "t.csv", "--format", "json")
    assert code == 0, err
    _, typed, _ = run(capsys, *common, "--target", "0;1", "--format", "json")
    assert from_file == typed and '"n_cases": 2' in from_file


def _explained_json(capsys, tmp_path, name, *args):
    out = tmp_path / f"{name}.json"
    code, _, err = run(capsys, "explain", *args, "--format", "json", "--out", out)
    assert code == 0, err
    return json.loads(out.read_text())


@pytest.mark.parametrize("case", [None, 3])
def test_a_run_without_input_explains_its_own_held_out_case(runs_dir, tmp_path, capsys, case):
    """``explain --model RUN`` (no --input/--target) takes case 0, or --case, of the split the
    run was evaluated on, as serve --model does. The oracle: the same row typed in raw (the
    standardisation undone, and found among the CSV's own rows) with its label."""
    run_dir = runs_dir / "four"
    picked = ["--case", case] if case is not None else []
    by_case = _explained_json(capsys, tmp_path, "case", "--model", run_dir, *picked)
    info = json.loads((run_dir / "model" / "model.json").read_text())
    mean, std = (np.array(info["standardizer"][k]) for k in ("mean", "std"))
    raw = np.array(by_case["inputs"][0]) * std + mean
    table = np.loadtxt(runs_dir / "four.csv", delimiter=",")
    (matches,) = np.nonzero(np.all(np.abs(table[:, :4] - raw) < 1e-4, axis=1))
    assert len(matches) > 0, raw  # a row of the data the run was trained and tested on
    label = int(table[matches[0], 4])
    assert by_case["targets"][0] == [float(k == label) for k in range(2)]
    typed = ",".join(f"{v:.0f}" for v in table[matches[0], :4])
    by_hand = _explained_json(capsys, tmp_path, "typed", "--model", run_dir, "--input", typed,
                              "--target", label)  # fmt: skip
    np.testing.assert_allclose(by_case["inputs"], by_hand["inputs"], rtol=1e-5, atol=1e-6)
    assert by_case["loss"]["E"] == pytest.approx(by_hand["loss"]["E"], rel=1e-5)


@pytest.mark.parametrize("loss", ["squared-error", "binary-cross-entropy"])
def test_a_runs_case_gives_its_targets_as_the_loss_reads_them(runs_dir, tmp_path, capsys, loss):
    """A classifier explained with a loss on its outputs reads its labels as one-hot rows (as
    training and serve --model read them), not as labels: the run's case gives 2 per case."""
    explained = _explained_json(capsys, tmp_path, loss, "--model", runs_dir / "four", "--loss",
                                loss, "--case", 1)  # fmt: skip
    by_labels = _explained_json(capsys, tmp_path, "ce", "--model", runs_dir / "four", "--case", 1)
    assert explained["targets"] == by_labels["targets"]  # the same one-hot row for every loss
    assert sorted(explained["targets"][0]) == [0.0, 1.0]


def test_the_case_option_names_its_range_and_what_it_needs(runs_dir, tmp_path, capsys):
    run_dir = runs_dir / "four"
    assert_user_error(capsys, "explain", "--model", run_dir, "--case", 999,
                      match="--case 999: the test split has cases 0 to")  # fmt: skip
    assert_user_error(capsys, "explain", "--model", run_dir, "--case", 1, "--input", "1,2,3,4",
                      "--target", "1", match="without --input/--target")  # fmt: skip
    assert_user_error(capsys, "graph", "--case", 1, match="give --model")
    assert_user_error(capsys, "explain", "--case", 1, match="give --model RUN")
    assert_user_error(capsys, "graph", "--kind", "network", "--case", 1, match="give --model RUN")
    from chainrule import io, nn

    io.save_model(tmp_path / "bare", nn.mlp([4, 3, 2], rng=0))  # a model file with no run
    assert_user_error(capsys, "explain", "--model", tmp_path / "bare",
                      match="give --input and --target for this model")  # fmt: skip
    # one of the two given: the other is named (it asked for the one given too)
    assert_user_error(capsys, "explain", "--model", tmp_path / "bare", "--input", "1,2,3,4",
                      match="give --target too for this model")  # fmt: skip
    assert_user_error(capsys, "explain", "--model", tmp_path / "bare", "--target", "1,0",
                      match="give --input too for this model")  # fmt: skip
    assert_user_error(capsys, "explain", "--model", tmp_path / "bare", "--case", 0,
                      match="no cases to show")  # fmt: skip


def test_graph_draws_a_runs_network_and_graph_without_input(runs_dir, tmp_path, capsys):
    for kind in ("network", "computation"):
        out = tmp_path / f"{kind}.svg"
        code, _, err = run(capsys, "graph", "--kind", kind, "--model", runs_dir / "four",
                           "--case", 2, "--out", out)  # fmt: skip
        assert code == 0, err
        assert out.read_text().lstrip().startswith(("<svg", "<?xml"))


def test_a_csv_predict_takes_is_an_input_explain_takes(runs_dir, tmp_path, capsys):
    """A header line and a trailing label column, as `chainrule predict --input` reads them:
    explain read every column as an input (5 values, the model takes 4) and refused the file.
    The case explained is the same as the one given inline."""
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b,c,d,label\n1,2,3,1,0\n")
    code, out, err = run(capsys, "predict", runs_dir / "four", "--input", rows, "--json")
    assert code == 0, err
    from_file = _explained_json(capsys, tmp_path, "file", "--model", runs_dir / "four",
                                "--input", rows, "--target", "0")  # fmt: skip
    inline = _explained_json(capsys, tmp_path, "inline", "--model", runs_dir / "four",
                             "--input", "1,2,3,1", "--target", "0")  # fmt: skip
    assert from_file["inputs"] == inline["inputs"]  # the standardised row the model reads
    assert from_file["layers"] == inline["layers"]  # every y, z, dE/dy and dE/dz


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_as_a_models_input_file_is_refused(runs_dir, tmp_path, capsys):
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)  # no writer: reading it would wait forever
    assert_user_error(capsys, "explain", "--model", runs_dir / "four", "--input", fifo,
                      "--target", "0", match="a pipe, not a file")  # fmt: skip


@pytest.mark.parametrize("command", ["explain", "graph"])
def test_an_input_too_large_for_a_float32_model_is_one_line_and_writes_nothing(
    runs_dir, tmp_path, capsys, command
):
    """1e300 is finite in float64, infinity in the float32 model: explain wrote out inf and NaN
    over --out (or crashed in JSON) and graph drew them; predict refuses it, and so do these."""
    out = tmp_path / ("k.json" if command == "explain" else "g.dot")
    out.write_text("kept")
    extra = ["--format", "json"] if command == "explain" else []
    line = assert_user_error(
        capsys, command, "--model", runs_dir / "four", "--input", "1e300,1,2,0", "--target", "1",
        *extra, "--out", out, match="--input: 1e+300",
    )  # fmt: skip
    assert "too large for the float32 model" in line and out.read_text() == "kept"


def test_a_derivation_whose_numbers_overflowed_is_no_json_crash():
    """Finite inputs can still overflow inside a float32 network: JSON says so in one error."""
    from chainrule import explain, nn
    from chainrule.explainer import ExplainError
    from chainrule.explainer.serialize import to_json

    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Logistic())
    net[0].weight.data[...] = 1e38
    with np.errstate(over="ignore"):
        d = explain(net, np.array([[10.0, 10.0]]), np.array([[1.0, 0.0]]), check=False)
    with pytest.raises(ExplainError, match="overflowed"):
        to_json(d)


@pytest.mark.parametrize(
    ("given", "message"),
    [("1,0;0", "--input '1,0;0': its cases have 1 and 2 numbers; give every case as many"),
     ("1e400,0", "--input: 1e400 is too large for any float (at most 1.8e308)")],
)  # fmt: skip
def test_ragged_cases_and_a_number_past_any_float_say_so(capsys, given, message):
    """NumPy's "inhomogeneous shape after 1 dimensions" and "inf is too large" (1e400 had been
    read as inf) named neither."""
    assert_user_error(capsys, "explain", "--input", given, "--target", "1,0,1", match=message)


def test_graphs_mistakes_do_not_speak_of_explain_and_a_flag_it_ignored_is_refused(capsys):
    """``chainrule graph`` said "explain: the input has shape ..."; --hide-implementation with
    --kind network was ignored silently."""
    line = assert_user_error(capsys, "graph", "--input", "1,2,3", "--target", "1,0,1",
                             match="chainrule: the input has shape (1, 3)")  # fmt: skip
    assert "explain" not in line
    hides = "--hide-implementation hides ops of --kind computation's graph"
    assert_user_error(capsys, "graph", "--kind", "network", "--hide-implementation", match=hides)


def _npy(path, kind):
    if kind == "complex":
        np.save(path, np.array([[1 + 1j, 0.0, 1.0]]))
    elif kind == "text":
        np.save(path, np.array([["1", "0", "1"]]))
    elif kind == "objects":
        np.save(path, np.array([[1, 0, 1]], dtype=object), allow_pickle=True)
    else:
        path.write_text("not a NumPy file")


@pytest.mark.parametrize(
    ("kind", "message"),
    [("complex", "holds complex128 values; give real numbers"),
     ("text", "holds <U1 values; give real numbers"),
     ("objects", "not a NumPy array of numbers (NumPy would have to unpickle it"),
     ("damaged", "not a NumPy array of numbers (NumPy would have to unpickle it")],
)  # fmt: skip
def test_a_npy_input_of_anything_but_real_numbers_is_refused_naming_the_file(
    tmp_path, capsys, kind, message
):
    """A complex .npy was derived from its real parts with only NumPy's warning; a damaged one
    said "not numbers (... load it unsafely using the allow_pickle= keyword)"."""
    _npy(tmp_path / "x.npy", kind)
    line = assert_user_error(capsys, "explain", "--input", tmp_path / "x.npy", "--target", "1,0,1",
                             match=f"--input {tmp_path / 'x.npy'}: {message}")  # fmt: skip
    assert "allow_pickle" not in line


def _run_on_named_classes(tmp_path, capsys, names: list[str], features: int):
    """A run of ``chainrule train`` on a CSV whose label column holds ``names``."""
    rows = [",".join([*(str(k % (3 + f)) for f in range(features)), names[k % len(names)]])
            for k in range(30)]  # fmt: skip
    header = ",".join([*"abcdefgh"[:features], "label"])
    (tmp_path / "named.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    run_dir = tmp_path / "named"
    assert main(["train", "--data", str(tmp_path / "named.csv"), "--hidden", "3", "--epochs",
                 "1", "--out", str(run_dir), "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    return run_dir


def test_a_model_trained_on_named_classes_takes_their_names_as_targets(tmp_path, capsys):
    """--target setosa was "not numbers" for a model whose file names its classes, and the
    message did not say which number is which. Oracle: the same derivation from the numbers."""
    run_dir = _run_on_named_classes(tmp_path, capsys, ["setosa", "virginica"], 4)
    inputs = "0.1,0.2,0.3,0.4;1,2,3,4"
    by_name = run(capsys, "explain", "--model", run_dir, "--input", inputs, "--target",
                  "virginica;setosa", "--format", "json")  # fmt: skip
    by_number = run(capsys, "explain", "--model", run_dir, "--input", inputs, "--target",
                    "1;0", "--format", "json")  # fmt: skip
    assert by_name[0] == 0 and by_name[1] == by_number[1]
    assert json.loads(by_name[1])["targets"] == json.loads(by_number[1])["targets"]
    listed = "this model's classes, by name or number: setosa (0), virginica (1)"
    assert_user_error(capsys, "explain", "--model", run_dir, "--input", inputs, "--target",
                      "setosa;versicolor", match=listed)  # fmt: skip


def test_class_names_with_a_dot_are_names_not_files(tmp_path, capsys):
    """--target e.coli was taken for a file name (it has a suffix), and refused as not numbers
    by a message that then listed e.coli among the classes."""
    names = ["e.coli", "St. Louis"]
    run_dir = _run_on_named_classes(tmp_path, capsys, names, 2)
    stored = json.loads((run_dir / "model" / "model.json").read_text())["class_names"]
    for name in names:
        code, out, err = run(capsys, "explain", "--model", run_dir, "--input", "0.1,0.2",
                             "--target", name, "--format", "json")  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["targets"] == [[float(k == stored.index(name)) for k in
                                               range(len(stored))]]  # fmt: skip


def test_a_csv_inputs_label_column_is_its_target(runs_dir, tmp_path, capsys):
    """``explain --model RUN --input rows.csv`` whose rows end in their labels asked for
    --target, the labels dropped: the column is now the target, read as evaluate reads it.
    Oracle: the same rows with the same labels given as --target; rows without the column
    still need --target."""
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b,c,d,label\n1,2,3,1,0\n2,0,6,0,1\n0,4,1,1,1\n")
    model = runs_dir / "four"
    from_column = _explained_json(capsys, tmp_path, "column", "--model", model, "--input", rows)
    given = _explained_json(capsys, tmp_path, "given", "--model", model, "--input", rows,
                            "--target", "0;1;1")  # fmt: skip
    assert from_column == given
    assert from_column["n_cases"] == 3
    features = tmp_path / "features.csv"
    features.write_text("1,2,3,1\n2,0,6,0\n")
    assert_user_error(capsys, "explain", "--model", model, "--input", features,
                      match="label column after the inputs")  # fmt: skip
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("1,2,3,1,0\n2,0,6,0,7\n")  # class 7 of a 2-class model
    assert_user_error(
        capsys, "explain", "--model", model, "--input", wrong, match="labels go up to 7"
    )


def test_a_label_column_of_class_names_is_read_as_the_models_classes(tmp_path, capsys):
    """Names in the column become the model's class numbers (as evaluate reads them); numbers
    for a model trained on names are refused, naming the file, as evaluate refuses them."""
    run_dir = _run_on_named_classes(tmp_path, capsys, ["setosa", "virginica"], 4)
    named = tmp_path / "named_rows.csv"
    named.write_text("a,b,c,d,label\n0.1,0.2,0.3,0.4,virginica\n1,2,3,4,setosa\n")
    from_column = _explained_json(capsys, tmp_path, "column", "--model", run_dir, "--input", named)
    given = _explained_json(capsys, tmp_path, "given", "--model", run_dir, "--input", named,
                            "--target", "virginica;setosa")  # fmt: skip
    assert from_column == given
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("0.1,0.2,0.3,0.4,1\n")
    line = assert_user_error(capsys, "explain", "--model", run_dir, "--input", numbered,
                             match="the label column holds class numbers")  # fmt: skip
    assert "numbered.csv" in line


def test_max_checks_is_an_option_and_0_checks_nothing_saying_so(runs_dir, capsys):
    """The note said "raise max_checks to check them all", a parameter of the Python API alone,
    and a batch's checks could not be turned off from the command line (600 cases of a large
    network: minutes). Oracle: the JSON's checked gradients, counted."""
    run_dir = runs_dir / "four"
    checked = {}
    for limit in ("0", "5", "20000"):
        code, out, err = run(capsys, "explain", "--model", run_dir, "--max-checks", limit,
                             "--format", "json")  # fmt: skip
        assert code == 0, err
        document = json.loads(out)
        weights = [w["dE_dw"] for c in document["connections"] for w in c["weights"]]
        checked[limit] = sum(w["numeric"] is not None for w in weights)
    assert checked["0"] == 0 and 0 < checked["5"] < checked["20000"] == 4 * 3 + 3 * 2
    code, out, _ = run(capsys, "explain", "--model", run_dir, "--max-checks", "0")
    assert "none is checked by finite differences here" in out and "✓" not in out
    code, out, _ = run(capsys, "explain", "--model", run_dir, "--max-checks", "5")
    assert "raise max_checks, explain's --max-checks, to check them all" in " ".join(out.split())
    assert_user_error(capsys, "explain", "--max-checks", "-1", match="--max-checks")


def test_a_one_output_models_unit_name_is_class_1_in_targets_and_label_columns(
    runs_dir, tmp_path, capsys
):
    """The symmetry model names its one unit ("symmetric"): --target symmetric, and the label
    "symmetric" in a CSV, were read as class 0 (the names' first), the opposite target, and
    labels 0 and 1 in a CSV were refused as numbers for a model "trained on names". Oracle: the
    unit's name is class 1 (its output on), as evaluate's report names them (not symmetric,
    symmetric)."""
    model = runs_dir / "sym"
    row = "1,0,0,0,0,1"
    by_name = _explained_json(capsys, tmp_path, "name", "--model", model, "--input", row,
                              "--target", "symmetric")  # fmt: skip
    assert by_name["targets"] == [[1.0]]
    named, numbered = tmp_path / "named.csv", tmp_path / "numbered.csv"
    named.write_text(f"{row},symmetric\n0,1,1,0,0,0,not symmetric\n")
    numbered.write_text(f"{row},1\n0,1,1,0,0,0,0\n")
    for labelled in (named, numbered):
        document = _explained_json(capsys, tmp_path, labelled.stem, "--model", model, "--input",
                                   labelled)  # fmt: skip
        assert document["targets"] == [[1.0], [0.0]]
        code, out, err = run(capsys, "evaluate", model, "--data", labelled, "--json")
        assert code == 0, err
        support = {row["class"]: row["support"] for row in json.loads(out)["per_class"]}
        assert support == {"not symmetric": 1, "symmetric": 1}


def test_a_model_file_that_records_no_task_reads_no_label_column(tmp_path, capsys):
    """A model saved with io.save_model with no task recorded and a loss that does not say
    whether its targets are classes or values (squared error) had its target column read as
    class labels: "label 1.5 is not an integer class; ... --task regression", an option explain
    lacks. Whether the column is a class or a value is not known: --target, as before."""
    from chainrule import io, nn

    io.save_model(tmp_path / "bare", nn.mlp([3, 4, 1], output=None, rng=0), loss="squared-error")
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2,3,1.5\n")
    line = assert_user_error(capsys, "explain", "--model", tmp_path / "bare", "--input", rows,
                             match="give --target too for this model")  # fmt: skip
    assert "label column" not in line
    given = _explained_json(capsys, tmp_path, "given", "--model", tmp_path / "bare", "--input",
                            "1,2,3", "--target", "1.5")  # fmt: skip
    assert given["targets"] == [[1.5]]


def test_a_model_saved_with_mse_reads_its_label_column_as_values(tmp_path, capsys):
    """The mse loss compares real values: a model saved with it and no task is a regression,
    whose label column is its target (cli.train.saved_task), as predict reads its outputs."""
    from chainrule import io, nn

    io.save_model(tmp_path / "bare", nn.mlp([3, 4, 1], output=None, rng=0), loss="mse")
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2,3,1.5\n")
    read = _explained_json(capsys, tmp_path, "read", "--model", tmp_path / "bare", "--input", rows)
    assert read["targets"] == [[1.5]]


@pytest.mark.parametrize("suffix", [".CSV", ".Csv"])
def test_a_case_file_with_an_upper_case_suffix_is_read_as_its_lower_case_twin(
    runs_dir, tmp_path, capsys, suffix
):
    """A spreadsheet's ROWS.CSV was "not numbers (could not convert string to float)": one
    check of the suffix ignored case and the others did not. It is read as rows.csv is, label
    column and all; a missing one is "no such file"."""
    text = "a,b,c,d,label\n1,2,3,1,0\n2,0,6,0,1\n"
    (tmp_path / "rows.csv").write_text(text)
    (tmp_path / f"upper{suffix}").write_text(text)
    model = runs_dir / "four"
    lower = _explained_json(capsys, tmp_path, "lower", "--model", model, "--input",
                            tmp_path / "rows.csv")  # fmt: skip
    upper = _explained_json(capsys, tmp_path, "upper", "--model", model, "--input",
                            tmp_path / f"upper{suffix}")  # fmt: skip
    assert upper == lower and upper["n_cases"] == 2
    missing = tmp_path / f"missing{suffix}"
    assert_user_error(capsys, "explain", "--input", missing, "--target", "1",
                      match=f"--input {missing}: no such file")  # fmt: skip
