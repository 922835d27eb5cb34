"""How the command line reads data files it should refuse or read differently: pipes and devices
as --data and as predict's --input, pandas' header of column numbers, extra files in an IDX
directory, an unterminated quote, numbers float() takes but a CSV should not hold, explain's
--input file, and messages that name the file at fault."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data
from chainrule.errors import DataError
from chainrule.train import runs


def table_rows(n: int = 40, seed: int = 0) -> list[str]:
    X = np.random.default_rng(seed).normal(size=(n, 3))
    return [f"{a:.4f},{b:.4f},{c:.4f},{k % 2}" for k, (a, b, c) in enumerate(X)]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def train(capsys, *args):
    code, out, err = run(capsys, "train", "--epochs", 1, "-q", *args)
    assert code == 0, err
    return out


# -- 1. a pipe or a device as --data ------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_as_data_is_refused_before_it_is_read(tmp_path, capsys):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)  # nothing ever writes it: reading it would block forever
    line = assert_user_error(capsys, "train", "--data", fifo, "--out", tmp_path / "r",
                             match="a pipe, not a file")  # fmt: skip
    assert str(fifo) in line and "save the data to a .csv file" in line


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_as_data_is_named_as_a_device(tmp_path, capsys, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert_user_error(capsys, "train", "--data", device, "--out", tmp_path / "r",
                      match=f"{device}: a character device, not a file")  # fmt: skip


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "xor"
    from chainrule.cli import main

    assert main(["train", "--data", "xor", "--epochs", "1", "-q", "--out", str(out)]) == 0
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_as_predict_input_is_refused_before_it_is_read(xor_run, tmp_path, capsys):
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)  # nothing ever writes it: reading it would block forever
    line = assert_user_error(capsys, "predict", xor_run, "--input", fifo,
                             match="a pipe, not a file")  # fmt: skip
    assert str(fifo) in line and "save the data to a .csv file" in line


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_as_predict_input_is_named_as_a_device(xor_run, tmp_path, capsys, device):
    """/dev/zero is one endless line: reading it would never end (and fill the memory)."""
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    out = tmp_path / "p.csv"
    assert_user_error(capsys, "predict", xor_run, "-i", device, "-o", out,
                      match=f"{device}: a character device, not a file")  # fmt: skip
    assert not out.exists()


def test_predict_output_dash_is_stdout_and_dot_slash_dash_a_file(xor_run, tmp_path, capsys,
                                                                  monkeypatch):  # fmt: skip
    """``-o -`` is stdout, as the default and explain's and graph's ``--out -`` (it wrote a
    file named "-"); ``-o ./-`` names that file."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "rows.csv", ["0,1", "1,1"])
    code, out, err = run(capsys, "predict", xor_run, "-i", "rows.csv", "-o", "-")
    assert code == 0 and len(out.splitlines()) == 3 and not (tmp_path / "-").exists(), err
    code, out, err = run(capsys, "predict", xor_run, "-i", "rows.csv", "-o", "./-")
    assert code == 0 and out == "" and len((tmp_path / "-").read_text().splitlines()) == 3


# -- 2. pandas' header of column numbers --------------------------------------------------------


def test_pandas_column_numbers_are_a_header_not_a_case(tmp_path, capsys):
    path = write(tmp_path / "pd.csv", ["0,1,2,3", *table_rows()])
    ds = data.load(path)
    assert len(ds) == 40 and ds.n_classes == 2 and ds.feature_names == ["0", "1", "2"]
    train(capsys, "--data", path, "--out", tmp_path / "r")
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", path, "--json")
    assert code == 0 and json.loads(out)["cases"] == 40, err


@pytest.mark.parametrize("first", ["0,1", "0,1,3,2", "0.0,1,2,3", "1,2,3,4"])
def test_other_first_lines_of_numbers_stay_cases(tmp_path, first):
    width = len(first.split(","))
    rows = [",".join(["1"] * (width - 1) + [str(k % 2)]) for k in range(5)]
    assert len(data.read_table(write(tmp_path / "d.csv", [first, *rows])).values) == 6


# -- 3. an IDX directory's checksum covers the files the loader reads ---------------------------


def idx_dir(path):
    path.mkdir()
    data.write_idx(
        path / "train-images-idx3-ubyte", np.arange(40 * 4, dtype=np.uint8).reshape(40, 2, 2)
    )
    data.write_idx(path / "train-labels-idx1-ubyte", (np.arange(40) % 2).astype(np.uint8))
    return path


def test_a_readme_beside_idx_files_does_not_change_the_runs_data(tmp_path, capsys):
    directory = idx_dir(tmp_path / "mnist")
    train(capsys, "--data", directory, "--out", tmp_path / "r")
    (directory / "README.txt").write_text("where these came from\n")
    (directory / ".DS_Store").write_bytes(b"\0\1")
    code, _, err = run(capsys, "evaluate", tmp_path / "r", "--json")
    assert code == 0, err
    data.write_idx(directory / "train-labels-idx1-ubyte", (np.arange(40) % 3 == 0).astype(np.uint8))
    assert_user_error(capsys, "evaluate", tmp_path / "r", match="has changed")


def test_an_older_runs_checksum_over_every_file_still_matches(tmp_path):
    directory = idx_dir(tmp_path / "mnist")
    (directory / "README.txt").write_text("notes\n")
    config = runs.resolve_config({"data": str(directory)})
    assert config.data_sha256 != runs.data_checksum(directory, every_file=True)
    config.data_sha256 = runs.data_checksum(directory, every_file=True)  # as older runs stored
    assert runs.data_source(config) == str(directory)


def float_idx_dir(path, low, high, n=200, seed=0):
    """Float images in [low, high) (a USPS-style file, mapped from its min..max); the label
    says whether the first pixel is above 0."""
    images = np.random.default_rng(seed).uniform(low, high, (n, 2, 2)).astype(np.float32)
    path.mkdir()
    data.write_idx(path / "train-images-idx3-ubyte", images)
    data.write_idx(path / "train-labels-idx1-ubyte", (images[:, 0, 0] > 0).astype(np.uint8))
    return path, images


def test_evaluate_maps_another_idx_directory_as_the_training_images_were(tmp_path, capsys):
    """A float IDX directory is mapped from its min..max; evaluate --data on another one mapped
    it from its own (a pixel of 0 became 0.84 instead of 0.5) and reported a wrong accuracy."""
    trained, _ = float_idx_dir(tmp_path / "train", -1.0, 1.0)
    other, images = float_idx_dir(tmp_path / "other", -1.0, 0.2, n=100, seed=1)
    train(capsys, "--data", trained, "--out", tmp_path / "r", "--epochs", 30, "--lr", 0.03)
    info = json.loads((tmp_path / "r" / "model" / "model.json").read_text())
    low, high = info["meta"]["pixel_range"]
    assert -1.0 <= low < -0.99 and 0.99 < high <= 1.0  # the training images' min and max
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", other, "--json")
    assert code == 0, err
    # the oracle: the model on the other images mapped from the training range, standardised
    import chainrule as cr

    model, info = cr.io.load_model(tmp_path / "r" / "model")
    rows = (images.reshape(len(images), -1).astype(np.float64) - low) / (high - low)
    rows = data.Standardizer.from_state(info["standardizer"]).transform(rows.astype(np.float32))
    predicted = model(cr.tensor(rows.astype(np.float32))).numpy().argmax(axis=1)
    expected = float(np.mean(predicted == (images[:, 0, 0] > 0)))
    assert json.loads(out)["accuracy"] == pytest.approx(expected, abs=1e-12)
    alone = data.load(other)  # loaded by itself, the directory is mapped from its own range
    assert alone.meta["pixel_range"] == pytest.approx([float(images.min()), float(images.max())])


def test_raw_pixels_for_a_model_trained_on_idx_images_are_refused_naming_the_map(tmp_path, capsys):
    """A model trained on uint8 IDX images saw pixels / 255; rows of raw pixels went into
    predict and evaluate as they were (every unit saturated) and gave confident, silently wrong
    answers. They are refused with the line and the map; rows mapped that way are predicted
    as the model computes them."""
    import chainrule as cr

    train(capsys, "--data", idx_dir(tmp_path / "mnist"), "--out", tmp_path / "r")
    pixels = np.array([[0, 12, 255, 7], [30, 40, 50, 60]])
    raw = write(tmp_path / "raw.csv", ["a,b,c,d", *(",".join(map(str, row)) for row in pixels)])
    line = assert_user_error(capsys, "predict", tmp_path / "r", "--input", raw,
                             match="raw.csv: line 2, column 2 ('b'): 12 is outside")  # fmt: skip
    assert "mapped from 0..255 onto [0, 1]; give each input as (pixel - 0) / 255" in line
    labelled = write(tmp_path / "labelled.csv", [f"{','.join(map(str, row))},1" for row in pixels])
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", labelled,
                      match="labelled.csv: line 1, column 2: 12 is outside [0, 1]")  # fmt: skip
    explain = ("explain", "--model", tmp_path / "r", "--input")
    assert_user_error(capsys, *explain, "0,0.5,255,1", "--target", "1",
                      match="--input: row 1, column 3: 255 is outside [0, 1]")  # fmt: skip
    assert_user_error(capsys, *explain, raw, "--target", "1;0",
                      match="raw.csv: line 2, column 2 ('b'): 12 is outside [0, 1]")  # fmt: skip
    scaled = write(
        tmp_path / "scaled.csv", [",".join(f"{v / 255!r}" for v in row) for row in pixels.tolist()]
    )
    code, out, err = run(capsys, "predict", tmp_path / "r", "--input", scaled, "--json")
    assert code == 0, err
    model, info = cr.io.load_model(tmp_path / "r" / "model")
    rows = data.Standardizer.from_state(info["standardizer"]).transform(pixels / 255)
    logits = model(cr.tensor(rows.astype(model.dtype))).numpy()
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    got = [row["outputs"] for row in json.loads(out)["predictions"]]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_raw_digits_pixels_are_refused_as_raw_idx_pixels_are(tmp_path, capsys):
    """load_digits().data counts 0..16; the built-in digits are those / 16. Raw rows went into
    evaluate and predict as they were: 88% where the scaled rows give 99%, with no message."""
    from sklearn.datasets import load_digits

    train(capsys, "--out", tmp_path / "r", "--epochs", 2)
    digits = load_digits()
    rows = np.c_[digits.data[:20], digits.target[:20]]
    raw = write(tmp_path / "raw.csv", [",".join(f"{v:g}" for v in row) for row in rows])
    line = assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", raw,
                             match="is outside [0, 1], but this model was trained on images "
                                   "whose pixels were mapped from 0..16")  # fmt: skip
    assert "(pixel - 0) / 16" in line
    features = write(tmp_path / "x.csv", [",".join(f"{v:g}" for v in row[:64]) for row in rows])
    assert_user_error(capsys, "predict", tmp_path / "r", "--input", features,
                      match="x.csv: line 1, column 3: 5 is outside [0, 1]")  # fmt: skip
    scaled = np.c_[digits.data[:20] / 16, digits.target[:20]]
    good = write(tmp_path / "scaled.csv", [",".join(repr(float(v)) for v in row) for row in scaled])
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", good)
    assert code == 0, err


def test_a_csv_with_class_names_trains_predicts_and_evaluates_by_name(tmp_path, capsys):
    """iris-style species names as labels: refused as 'not a number' before. The run keeps the
    names (sorted), predict writes them, and evaluate numbers another file's names as the model
    does (sorted by themselves, virginica and setosa alone would be 1 and 0: a silently wrong
    accuracy), refusing a name the model does not have."""
    import chainrule as cr

    rng = np.random.default_rng(0)
    species = ["setosa", "versicolor", "virginica"]
    X = rng.normal(size=(60, 2)) + np.repeat(np.arange(3), 20)[:, None] * 3
    rows = [f"{a:.4f},{b:.4f},{species[k // 20]}" for k, (a, b) in enumerate(X)]
    train(capsys, "--data", write(tmp_path / "iris.csv", ["x1,x2,species", *rows]),
          "--out", tmp_path / "r", "--epochs", 60)  # fmt: skip
    model, info = cr.io.load_model(tmp_path / "r" / "model")
    assert info["class_names"] == species
    other_rows = [rows[45], rows[2], rows[50], rows[7]]  # virginica, setosa, virginica, setosa
    other = write(tmp_path / "other.csv", other_rows)
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", other, "--json")
    assert code == 0, err
    report = json.loads(out)
    # the oracle: the model's own argmax on the rows, standardised, against the names' classes
    features = np.array([[float(v) for v in row.split(",")[:2]] for row in other_rows])
    scaled = data.Standardizer.from_state(info["standardizer"]).transform(features)
    predicted = model(cr.tensor(scaled.astype(model.dtype))).numpy().argmax(axis=1)
    truth = np.array([species.index(row.split(",")[2]) for row in other_rows])
    assert report["accuracy"] == pytest.approx(float(np.mean(predicted == truth)))
    assert [row["support"] for row in report["per_class"]] == [2, 0, 2]
    code, out, err = run(capsys, "predict", tmp_path / "r", "--input", other)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "line,prediction,setosa,versicolor,virginica"
    assert [line.split(",")[1] for line in lines[1:]] == [species[k] for k in predicted]
    write(tmp_path / "daisy.csv", [rows[0], "1.0,2.0,daisy"])
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", tmp_path / "daisy.csv",
                      match="daisy.csv, line 2, column 3: class 'daisy' is not one of the "
                            "model's classes (setosa, versicolor, virginica)")  # fmt: skip


def test_evaluate_refuses_names_for_a_model_of_numbers_and_numbers_for_one_of_names(
    tmp_path, capsys
):
    """A model trained on class numbers has no names to match: names sorted by themselves
    were taken as its numbers ('b' for 0 and 'a' for 1 gave the swapped accuracy); and a model
    of names given numbers has nothing to say which number is which."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    numbered = [f"{a:.4f},{b:.4f},{k}" for (a, b), k in zip(X, y)]
    named = [f"{a:.4f},{b:.4f},{'ba'[k]}" for (a, b), k in zip(X, y)]
    train(capsys, "--data", write(tmp_path / "n.csv", numbered), "--out", tmp_path / "n",
          "--epochs", 2)  # fmt: skip
    names_file = write(tmp_path / "s.csv", named)
    assert_user_error(capsys, "evaluate", tmp_path / "n", "--data", names_file,
                      match="s.csv: the label column holds class names (a, b), but the model "
                            "was trained on class numbers")  # fmt: skip
    train(capsys, "--data", write(tmp_path / "s2.csv", named), "--out", tmp_path / "s",
          "--epochs", 2)  # fmt: skip
    assert_user_error(capsys, "evaluate", tmp_path / "s", "--data", tmp_path / "n.csv",
                      match="n.csv: the label column holds class numbers, but the model was "
                            "trained on class names (a, b)")  # fmt: skip


# -- 4. an unterminated quote -------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_an_unterminated_quote_names_the_line_it_opens_on(tmp_path, task):
    """A classification read the rest of the file as one text label (one case whose class name
    held every line below), silently; a regression said the cell is not a number."""
    rows = ["a,b,label", '1,2,"0', *["0,1,0"] * 5000]
    with pytest.raises(DataError, match=r"q\.csv, line 2: a quote opened here is never closed$"):
        data.read_csv(write(tmp_path / "q.csv", rows), task=task)


def test_cells_quoted_loosely_still_load(tmp_path):
    """The strict reader that tells a quote never closed refused '"a" ,' (a space after a
    closing quote), which loaded before; only a file with a cell over several lines is read
    strictly too."""
    rows = ["x1,x2,label", '1,2,"a" ', '3,4,"b" ', '5,6,"a"', '7,8,"b"']
    ds = data.read_csv(write(tmp_path / "loose.csv", rows))
    assert len(ds) == 4 and ds.n_classes == 2
    spanning = ["x1,x2,label", '1,2,"a', 'b"', "3,4,c"]  # a quoted label over two lines
    # is read, and its line break refused as a class name's (s64: it broke predict's output)
    refusal = r"line 2, column 3 \('label'\): class 'a\\nb' holds a line"
    with pytest.raises(DataError, match=refusal):
        data.read_csv(write(tmp_path / "two_lines.csv", spanning))


def test_a_field_past_the_limit_names_the_line_it_starts_on(tmp_path):
    rows = ["a,b,label", "0,1,0", '1,2,"0', *["0,1,0"] * 30000]
    with pytest.raises(DataError, match=r"q\.csv, line 3: malformed CSV \(field larger"):
        data.read_table(write(tmp_path / "q.csv", rows))


# -- 5. explain --input FILE.csv reads it as predict does ---------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    path = write(root / "d.csv", ["a,b,c,label", *table_rows()])
    from chainrule.cli import main

    assert main(["train", "--data", str(path), "--hidden", "3", "--epochs", "1", "-q",
                 "--out", str(root / "r")]) == 0  # fmt: skip
    return root / "r"


@pytest.mark.parametrize("text", ["\ufeff0.5,0.2,1\n", "a,b,c\n0.5,0.2,1\n"])
def test_explain_reads_a_bom_and_a_header_in_its_input_file(run_dir, tmp_path, capsys, text):
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "explain", "--model", run_dir, "--input", tmp_path / "x.csv",
                         "--target", "1")  # fmt: skip
    assert code == 0, err


def test_explain_names_the_input_file_for_a_nan(run_dir, tmp_path, capsys):
    (tmp_path / "x.csv").write_text("0.5,nan,1\n")
    nan = "x.csv, line 1, column 2: 'nan' is not a finite"
    assert_user_error(capsys, "explain", "--model", run_dir, "--input", tmp_path / "x.csv",
                      "--target", "1", match=nan)  # fmt: skip


# -- 6. numbers float() takes but a CSV should not hold -----------------------------------------


@pytest.mark.parametrize(
    ("cell", "column"), [("1_0", 4), ("1_000", 1), ("\uff11", 4), ("1\u0660", 2)]
)
def test_underscores_and_non_ascii_digits_are_not_numbers(tmp_path, cell, column):
    rows = table_rows(6)
    cells = rows[3].split(",")
    cells[column - 1] = cell
    rows[3] = ",".join(cells)
    with pytest.raises(DataError, match=f"line 5, column {column} .*: '{cell}' is not a number"):
        data.read_csv(write(tmp_path / "d.csv", ["a,b,c,label", *rows]))


def test_plain_numbers_in_every_notation_still_read(tmp_path):
    path = write(tmp_path / "d.csv", ["-1.5,.5,2e-3,+3.", " 4 ,5E+2,-0,1"])
    assert data.read_table(path).values.tolist() == [[-1.5, 0.5, 0.002, 3.0], [4, 500, 0, 1]]


# -- 7. messages name the file at fault ---------------------------------------------------------


def test_a_negative_idx_label_names_the_labels_file(tmp_path):
    directory = idx_dir(tmp_path / "neg")
    data.write_idx(directory / "train-labels-idx1-ubyte", np.array([0, -1] * 20, dtype=np.int8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte: label of case 1 is -1"):
        data.load(directory)


def test_a_huge_idx_label_names_the_labels_file(tmp_path, capsys):
    directory = idx_dir(tmp_path / "big")
    labels = np.array([0, 2**31 - 1] * 20, dtype=np.int32)
    data.write_idx(directory / "train-labels-idx1-ubyte", labels)
    line = assert_user_error(capsys, "train", "--data", directory, "--out", tmp_path / "r",
                             match="class numbers appear")  # fmt: skip
    assert "the labels of " + str(directory / "train-labels-idx1-ubyte") in line


def test_a_model_that_does_not_fit_names_the_data_path(run_dir, tmp_path, capsys):
    path = write(tmp_path / "narrow.csv", ["0.5,1", "0.2,0"])
    assert_user_error(capsys, "evaluate", run_dir, "--data", path,
                      match=f"{path}: 1 input feature but the model")  # fmt: skip


def test_evaluate_picks_an_idx_directory_s_test_part(tmp_path, capsys):
    """evaluate --data DIR read only a directory's train part: another directory's t10k images
    could not be scored."""
    directory = idx_dir(tmp_path / "mnist")
    data.write_idx(directory / "t10k-images-idx3-ubyte",
                   np.arange(12 * 4, dtype=np.uint8).reshape(12, 2, 2)[::-1].copy())  # fmt: skip
    data.write_idx(directory / "t10k-labels-idx1-ubyte", (np.arange(12) % 2).astype(np.uint8))
    train(capsys, "--data", directory, "--out", tmp_path / "r")
    results = {}
    for part, cases in (("train", 40), ("test", 12)):
        code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", directory,
                             "--part", part, "--json")  # fmt: skip
        assert code == 0, err
        results[part] = json.loads(out)
        assert results[part]["cases"] == cases
    assert results["test"]["data"] == f"the t10k part of {directory}"
    # the oracle: the t10k files read by the library on the training images' scale
    from chainrule import io
    from chainrule import train as cr_train
    from chainrule.cli.train import saved_standardizer

    model, info = io.load_model(tmp_path / "r" / "model")
    test = data.load_idx_dir(directory, part="test", pixel_range=info["meta"]["pixel_range"])
    standardized = runs.prepare(test, saved_standardizer(info), np.dtype(model.dtype))
    expected = cr_train.evaluate(model, io.saved_loss(info, tmp_path / "r"), standardized)
    assert results["test"]["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--part", "test", "--json")
    assert code == 0 and json.loads(out)["loss"] == results["test"]["loss"], err  # its own t10k
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", directory, "--part", "t10k",
                      match="--part: unknown value 't10k'; choose one of train, test")  # fmt: skip
    # a CSV file has no parts: --part was ignored silently ("all of rows.csv")
    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join(",".join(["0"] * 64 + ["1"]) for _ in range(3)) + "\n")
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", rows, "--part", "test",
                      match=f"--part test: {rows} is no IDX directory")  # fmt: skip


def test_evaluate_on_another_dataset_names_the_inputs_first(tmp_path, capsys):
    """A 2-feature model evaluated on digits complained about class names: the 64 inputs
    against the model's 2 say what is wrong."""
    # (a 0/1 feature that is 1 - label on every row would be refused as one-hot labels)
    path = write(tmp_path / "two.csv", ["0.5,2,0", "0.2,0,1"] * 20)
    code, _, err = run(capsys, "train", "--data", path, "--epochs", 1, "--out", tmp_path / "r")
    assert code == 0, err
    assert_user_error(capsys, "evaluate", tmp_path / "r", "--data", "digits",
                      match="64 input features but the model")  # fmt: skip
