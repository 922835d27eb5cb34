"""``chainrule train`` warns where an input column equals the label column on every row.

QA (autoencoder): a CSV file of 64 inputs and 64 target columns trained a regression on the
last target alone, whose identical copy sat among the inputs: a low loss, looking like
success. A warning (not a refusal: a teaching file may mean the copy) names both columns and,
for a regression, says that several target columns need the Python API. The label column is
compared as the file holds it: a class number as written; class names (text) with nothing, their
numbers being chainrule's (review 1: a 0/1 flag beside no/yes labels was called a copy, the same
flag beside cat/dog was not). The oracle: the columns written down.
"""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import run

WARNING = "chainrule: warning: "


def _warnings(err):
    return [line for line in err.splitlines() if line.startswith(WARNING)]


def _write(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(capsys, data, out, *options):
    code, _, err = run(capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", out,
                       *options)  # fmt: skip
    assert code == 0, err
    return err


@pytest.mark.parametrize("header", [True, False])
def test_inputs_with_their_copies_as_targets_warn_naming_the_copy(tmp_path, capsys, header):
    pixels = np.random.default_rng(0).uniform(size=(40, 4)).round(4)
    names = [f"p{i}" for i in range(4)] + [f"t{i}" for i in range(4)]
    data = _write(tmp_path / "ae.csv", names if header else None,
                  np.hstack([pixels, pixels]).tolist())  # fmt: skip
    err = _train(capsys, data, tmp_path / "run", "--task", "regression")
    warned = _warnings(err)
    assert len(warned) == 1, err
    where = "column 'p3' equals the label column 't3'"
    if not header:  # counted in the file, the label column too
        where = "column 4 equals the label column 8"
    assert f"ae.csv: {where} on every row: the model can copy it" in warned[0], warned
    assert "Dataset(X, y=Y, task='regression')" in warned[0], warned


def test_several_copies_of_a_class_label_are_named_in_one_warning(tmp_path, capsys):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 3, 30)
    other = rng.normal(size=30).round(3)
    rows = [(c, b, c, c, c) for b, c in zip(other, label)]  # a, c and d copy the label
    data = _write(tmp_path / "c.csv", ["a", "b", "c", "d", "label"], rows)
    warned = _warnings(_train(capsys, data, tmp_path / "run"))
    assert len(warned) == 1, warned
    assert "column 'a', column 'c', column 'd' equal the label column 'label'" in warned[0]
    assert "autoencoder" not in warned[0]  # one class label per case: nothing to say of that


@pytest.mark.parametrize("names", [("no", "yes"), ("yes", "no"), ("cat", "dog")])
def test_class_names_are_compared_with_no_input_column(tmp_path, capsys, names):
    flag = np.random.default_rng(3).integers(0, 2, 30)
    x = np.random.default_rng(4).normal(size=30).round(3)
    rows = [(a, f, names[f]) for a, f in zip(x, flag)]  # flag 1 exactly where the 2nd name
    data = _write(tmp_path / "n.csv", ["x1", "flag", "y"], rows)
    assert not _warnings(_train(capsys, data, tmp_path / "run"))


def test_a_class_number_is_compared_as_the_file_writes_it(tmp_path, capsys):
    label = np.random.default_rng(5).integers(1, 3, 30)  # classes 1 and 2, no header
    x = np.random.default_rng(6).normal(size=30).round(3)
    rows = [(a, c, c - 1, c) for a, c in zip(x, label)]  # column 2 the label, 3 one less
    data = _write(tmp_path / "h.csv", None, rows)
    warned = _warnings(_train(capsys, data, tmp_path / "run"))
    assert len(warned) == 1, warned
    assert "h.csv: column 2 equals the label column 4 on every row" in warned[0], warned


def test_a_column_equal_to_the_label_on_some_rows_only_says_nothing(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 2)).round(3)
    y = x[:, 0].copy()
    y[7] += 1.0  # one row apart: not a copy
    data = _write(tmp_path / "r.csv", ["a", "b", "y"], np.column_stack([x, y]).tolist())
    assert not _warnings(_train(capsys, data, tmp_path / "run", "--task", "regression"))


def test_train_help_says_several_target_columns_need_the_python_api(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    flat = " ".join(out.replace("\u2502", " ").split())  # a help panel's borders, if drawn
    assert "several target columns (an autoencoder's) need the Python API" in flat, flat
