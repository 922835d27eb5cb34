"""QA's data-loading defects on the command line: one-hot label columns trained on silently,
a lone IDX train pair scored as ``--part test``, a file whose columns were reordered predicted
silently wrong (a run records its CSV's feature names), and IDX images of another shape with as
many pixels evaluated as if they were the model's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import data
from chainrule.cli import main


def write_rows(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- one-hot label columns ------------------------------------------------------------------------


def test_train_refuses_one_hot_label_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    k = np.arange(30) % 3
    rows = [[*np.round(rng.normal(size=4), 3), *(np.eye(3, dtype=int)[c])] for c in k]
    path = write_rows(tmp_path / "onehot.csv", ["a", "b", "c", "d", "is_0", "is_1", "is_2"], rows)
    match = "its last 3 columns (is_0, is_1, is_2) look like one-hot labels"
    assert_user_error(
        capsys, "train", "--data", path, "--epochs", 1, "--out", tmp_path / "r", match=match
    )
    assert not (tmp_path / "r").exists()


# -- IDX: a lone train pair, images of another shape ----------------------------------------------


def idx_pair(directory, prefix, shape=(6, 6), n=40, seed=0):
    directory.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 2).astype(np.uint8)
    images = rng.integers(0, 60, (n, *shape)).astype(np.uint8)
    images[labels == 1, 0, :] = 250
    data.write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
    data.write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory


@pytest.fixture(scope="module")
def idx_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    directory = idx_pair(root / "mn", "train")
    idx_pair(directory, "t10k", seed=1)
    assert main(["train", "--data", str(directory), "--epochs", "1", "-q",
                 "--out", str(root / "run")]) == 0  # fmt: skip
    return root / "run"


def test_evaluate_part_test_of_a_lone_train_pair_is_refused(idx_run, tmp_path, capsys):
    only = idx_pair(tmp_path / "only", "train")
    match = "no IDX pair for part 'test'; it holds only the train part"
    assert_user_error(capsys, "evaluate", idx_run, "--data", only, "--part", "test", match=match)
    code, out, err = run(capsys, "evaluate", idx_run, "--data", only, "--part", "train", "--json")
    assert code == 0, err
    assert json.loads(out)["data"] == f"the train part of {only}"


def test_a_run_records_its_image_shape_and_evaluate_compares_it(idx_run, tmp_path, capsys):
    meta = json.loads((idx_run / "model" / "model.json").read_text())["meta"]
    assert meta["image_shape"] == [6, 6] and meta["pixel_range"] == [0.0, 255.0]
    wide = idx_pair(tmp_path / "wide", "train", shape=(4, 9))  # 36 pixels, as 6x6
    assert_user_error(capsys, "evaluate", idx_run, "--data", wide,
                      match="images of shape 4x9, but the model was trained on images of "
                      "shape 6x6")  # fmt: skip
    same = idx_pair(tmp_path / "same", "train", seed=2)
    code, _, err = run(capsys, "evaluate", idx_run, "--data", same)
    assert code == 0, err


# -- feature names --------------------------------------------------------------------------------

HEADER = ["a", "b", "c"]


def feature_rows(order=(0, 1, 2), label=True, n=40):
    X = np.round(np.random.default_rng(0).normal(size=(n, 3)), 4)
    y = (X[:, 0] > 0).astype(int)
    return [[*X[i, list(order)], *([y[i]] if label else [])] for i in range(n)]


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    path = write_rows(root / "train.csv", [*HEADER, "label"], feature_rows())
    assert main(["train", "--data", str(path), "--epochs", "1", "-q",
                 "--out", str(root / "run")]) == 0  # fmt: skip
    return root / "run"


def test_a_run_records_its_csv_feature_names(csv_run):
    meta = json.loads((csv_run / "model" / "model.json").read_text())["meta"]
    assert meta["feature_names"] == HEADER


@pytest.mark.parametrize("label", [False, True])
def test_predict_refuses_reordered_columns(csv_run, tmp_path, capsys, label):
    header = ["b", "a", "c", *(["label"] if label else [])]
    path = write_rows(tmp_path / "rows.csv", header, feature_rows((1, 0, 2), label))
    match = "column 1 is named 'b', but the model's input 1 is 'a'"
    line = assert_user_error(capsys, "predict", csv_run, "--input", path, match=match)
    assert str(path) in line


def test_explain_refuses_reordered_columns(csv_run, tmp_path, capsys):
    path = write_rows(tmp_path / "rows.csv", ["b", "a", "c"], feature_rows((1, 0, 2), False)[:1])
    assert_user_error(capsys, "explain", "--model", csv_run, "--input", path, "--target", "0",
                      match="column 1 is named 'b', but the model's input 1 is 'a'")  # fmt: skip


def test_evaluate_refuses_reordered_columns(csv_run, tmp_path, capsys):
    path = write_rows(tmp_path / "more.csv", ["a", "c", "b", "label"], feature_rows((0, 2, 1)))
    assert_user_error(capsys, "evaluate", csv_run, "--data", path,
                      match="column 2 is named 'c', but the model's input 2 is 'b'")  # fmt: skip


@pytest.mark.parametrize("header", [True, False])
def test_the_same_header_or_none_is_accepted(csv_run, tmp_path, capsys, header):
    names = [*HEADER, "label"] if header else None
    path = write_rows(tmp_path / "more.csv", names, feature_rows())
    code, out, err = run(capsys, "evaluate", csv_run, "--data", path, "--json")
    assert code == 0, err
    assert json.loads(out)["cases"] == 40
    rows = write_rows(tmp_path / "rows.csv", HEADER if header else None, feature_rows(label=False))
    code, out, err = run(capsys, "predict", csv_run, "--input", rows, "--json")
    assert code == 0, err
    assert len(json.loads(out)["predictions"]) == 40


def test_a_model_without_recorded_names_reads_by_position(csv_run, tmp_path, capsys):
    """A model saved before names were recorded (or trained on a headerless file)."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(csv_run / "model", old)
    info = json.loads((old / "model.json").read_text())
    del info["meta"]["feature_names"]
    (old / "model.json").write_text(json.dumps(info))
    path = write_rows(tmp_path / "rows.csv", ["b", "a", "c"], feature_rows((1, 0, 2), False))
    code, _, err = run(capsys, "predict", old, "--input", path)
    assert code == 0, err


def test_a_headerless_training_file_records_no_names(tmp_path, capsys):
    path = write_rows(tmp_path / "train.csv", None, feature_rows())
    code, _, err = run(
        capsys, "train", "--data", path, "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err
    meta = json.loads((tmp_path / "r" / "model" / "model.json").read_text())["meta"]
    assert "feature_names" not in meta
    rows = write_rows(tmp_path / "rows.csv", ["b", "a", "c"], feature_rows((1, 0, 2), False))
    code, _, err = run(capsys, "predict", tmp_path / "r", "--input", rows)
    assert code == 0, err


def test_a_header_differing_only_in_case_or_spaces_is_accepted(csv_run, tmp_path, capsys):
    path = write_rows(tmp_path / "more.csv", ["A", " b", "C ", "label"], feature_rows())
    code, out, err = run(capsys, "evaluate", csv_run, "--data", path, "--json")
    assert code == 0, err


def test_evaluate_reads_rows_whose_last_columns_look_one_hot(tmp_path, capsys):
    """A model trained on c,a,b,y evaluated on the rows where b = 1 - y: two 0/1 columns that
    sum to 1 on every row were refused as one-hot labels, though the model reads them as its
    inputs."""
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    rows = [[round(float(rng.normal()), 3), a[i], b[i], a[i] ^ b[i]] for i in range(60)]
    train_file = write_rows(tmp_path / "xor.csv", ["c", "a", "b", "y"], rows)
    assert main(["train", "--data", str(train_file), "--epochs", "1", "-q",
                 "--out", str(tmp_path / "run")]) == 0  # fmt: skip
    capsys.readouterr()
    ones = [r for r in rows if r[1] == 1][:10]  # here b = 1 - y
    path = write_rows(tmp_path / "slice.csv", ["c", "a", "b", "y"], ones)
    code, out, err = run(capsys, "evaluate", tmp_path / "run", "--data", path, "--json")
    assert code == 0, err
    assert json.loads(out)["cases"] == len(ones)


def test_evaluate_of_real_valued_labels_does_not_point_to_a_task_option(csv_run, tmp_path, capsys):
    """evaluate has no --task: its message pointed a classifier's user to --task regression."""
    rows = [[*row[:3], 0.25 + row[3]] for row in feature_rows()]
    path = write_rows(tmp_path / "real.csv", [*HEADER, "label"], rows)
    match = "the model is a classifier, whose labels are class numbers"
    line = assert_user_error(capsys, "evaluate", csv_run, "--data", path, match=match)
    assert "--task" not in line
