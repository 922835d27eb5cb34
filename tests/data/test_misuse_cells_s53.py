"""A bad cell of an array given in Python is named as NumPy indexes it (0-based, ``X[2, 0]``), by
the Standardizer and the Dataset alike: one said "column 1 ... in row 3" (1-based), the other
"row 2, column 0" (0-based)."""

import re

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError

BAD = np.array([[1.0, 1.0], [1.0, 2.0], [np.nan, 4.0]])


def _named_cell(message: str) -> tuple[int, ...]:
    found = re.search(r"X\[(\d+), (\d+)\] is nan", message)
    assert found, message
    return tuple(int(k) for k in found.groups())


def test_standardizer_and_dataset_name_the_same_cell_as_numpy_indexes_it():
    """Oracle: the index NumPy itself gives for the NaN."""
    where = tuple(int(k) for k in np.argwhere(np.isnan(BAD))[0])
    with pytest.raises(DataError) as fitted:
        data.Standardizer().fit(BAD)
    with pytest.raises(DataError) as built:
        data.Dataset(X=BAD, y=[0, 1, 0], task="classification")
    assert _named_cell(str(fitted.value)) == _named_cell(str(built.value)) == where
    assert np.isnan(BAD[_named_cell(str(fitted.value))])
    assert str(fitted.value) == "Standardizer.fit: X[2, 0] is nan (not finite)"
    assert str(built.value) == "data: input X[2, 0] is nan (not finite)"


def test_dataset_targets_and_labels_are_named_by_their_index_in_y():
    X = np.zeros((4, 2))
    with pytest.raises(DataError, match=r"^data: target y\[3, 1\] is inf \(not finite\)$"):
        data.Dataset(X=X, y=np.array([[0, 0], [0, 0], [0, 0], [0, np.inf]]), task="regression")
    with pytest.raises(DataError, match=r"^data: label y\[1\] is 1\.5, not an integer class$"):
        data.Dataset(X=X, y=[0, 1.5, 0, 1], task="classification")
    with pytest.raises(DataError, match=r"^data: label y\[2\] is -1; labels must be >= 0$"):
        data.Dataset(X=X, y=[0, 1, -1, 1], task="classification")
    with pytest.raises(DataError, match=r"^data: label y\[3\] is 4, out of range for 2 classes"):
        data.Dataset(X=X, y=[0, 1, 0, 4], task="classification", n_classes=2)
