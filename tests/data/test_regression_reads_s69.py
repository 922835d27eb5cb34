"""``read_csv`` with ``task="regression"`` refuses a header naming a column other than the last
as the label, and warns of a ``y`` there, which may be a coordinate (session 69: ``y,a,b`` read
as a model predicting ``b`` from ``y``, silently; ``y,z,temperature`` is a file of coordinates
and a measurement); labels that are no class numbers (below 0) point to a regression unless the
file is read for a classifier."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chainrule.data import read_csv
from chainrule.errors import DataError

ROWS = "1.5,0.2,0.3\n-2.25,0.4,0.1\n3.0,0.9,0.8\n"


@pytest.mark.parametrize("name", ["target", "Label", "class", "labels"])
def test_a_label_named_first_is_refused_in_a_regression(tmp_path, name):
    path = tmp_path / "first.csv"
    path.write_text(f"{name},a,b\n" + ROWS)
    with pytest.raises(DataError, match=rf"column 1 \('{name}'\) is named as a label") as caught:
        read_csv(path, task="regression")
    assert f"label_column={name!r}" in str(caught.value)
    ds = read_csv(path, task="regression", label_column=name, dtype=np.float64)  # as it says
    np.testing.assert_array_equal(ds.y[:, 0], [1.5, -2.25, 3.0])
    assert ds.feature_names == ["a", "b"]
    ds = read_csv(
        path, task="regression", label_column=-1, dtype=np.float64
    )  # or the last, all the same
    np.testing.assert_array_equal(ds.y[:, 0], [0.3, 0.1, 0.8])


@pytest.mark.parametrize("header", ["x,y,height", "a,b,height", "y,a,target"])
def test_a_regression_header_without_a_label_elsewhere_reads(tmp_path, header):
    """``y`` beside ``x`` is a coordinate; a last column named as a label is the label."""
    path = tmp_path / "ok.csv"
    path.write_text(f"{header}\n" + ROWS)
    ds = read_csv(path, task="regression", dtype=np.float64)
    np.testing.assert_array_equal(ds.y[:, 0], [0.3, 0.1, 0.8])


@pytest.mark.parametrize("header", ["y,a,b", "y,z,temperature", "t,Y,v"])
def test_a_y_before_the_last_column_of_a_regression_is_warned_of_and_read(tmp_path, header):
    from chainrule.data.csvfile import DataWarning

    path = tmp_path / "y.csv"
    path.write_text(f"{header}\n" + ROWS)
    name = next(n for n in header.split(",") if n.lower() == "y")
    with pytest.warns(DataWarning, match=rf"\('{name}'\) has the name a regression's target") as w:
        ds = read_csv(path, task="regression", dtype=np.float64)
    assert f"--label-column {name}" in str(w[0].message)
    np.testing.assert_array_equal(ds.y[:, 0], [0.3, 0.1, 0.8])  # the last column, as documented
    assert w[0].filename == __file__  # the caller's line, not the reader's
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the last column asked for: no warning
        read_csv(path, task="regression", label_column=-1, dtype=np.float64)


def test_a_negative_label_points_to_a_regression(tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text("a,b,y\n0.1,0.2,1\n0.3,0.4,-3\n")
    said = r"label -3 is out of range \(>= 0\); for measurements, not classes, read the file as"
    with pytest.raises(DataError, match=said + r" a regression \(task='regression'"):
        read_csv(path)
    # read for a classifier (evaluate), the model's task is not the file's to change
    with pytest.raises(DataError, match=r"label -3 is out of range \(>= 0\)$"):
        read_csv(path, for_model=True)
    # a class number past the n_classes given is a class too many, no measurement
    path.write_text("a,b,y\n0.1,0.2,1\n0.3,0.4,5\n")
    with pytest.raises(DataError, match=r"label 5 is out of range \(0\.\.2\)$"):
        read_csv(path, n_classes=3)
