"""``Standardizer.transform`` names a value it scales beyond the dtype's range as NumPy indexes
it (``X[1, 0]``, 0-based), as ``fit`` and a Dataset name cells (stop 53): it said "case 2,
column 1" (1-based). The error carries the indices (``cell``) and the words after them
(``detail``), so a reader of a file names the file's case from data, not from the words."""

import numpy as np
import pytest

from chainrule import data
from chainrule.data.dataset import cell_name
from chainrule.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)


TRAIN = np.array([[-0.5, 0.75], [0.5, 1.25]])  # means 0 and 1, stds 0.5 and 0.25


def _fitted() -> data.Standardizer:
    """Both stds below 1: a value near float32's limit grows past it once scaled."""
    return data.Standardizer().fit(TRAIN)


@pytest.mark.parametrize("where", [(1, 0), (2, 1), (0, 1)])
def test_the_cell_is_named_as_numpy_indexes_it(where):
    scaler = _fitted()
    X = np.zeros((3, 2), dtype=np.float32)
    X[where] = 3.0e38
    with pytest.raises(DataError) as refused:
        scaler.transform(X)
    error = refused.value
    # oracle: the value scaled by hand in float64 from NumPy's mean and std of the training rows
    column = where[1]
    scaled = (np.float64(X[where]) - TRAIN.mean(0)[column]) / TRAIN.std(0)[column]
    assert abs(scaled) > FLOAT32_MAX
    assert error.cell == where and X[error.cell] == X[where]
    assert str(error) == f"{cell_name('X', where)}: {error.detail}"
    assert error.detail.startswith(f"{X[where]:g} standardised by the training data's mean")
    assert f"is {scaled:g}, beyond float32's range" in error.detail
    assert "case" not in str(error)


def test_fit_and_transform_name_the_same_cell_alike():
    """The same bad position named by fit (a NaN) and by transform (too large once scaled)."""
    X = np.ones((3, 2))
    X[2, 0] = np.nan
    with pytest.raises(DataError, match=r"X\[2, 0\] is nan"):
        data.Standardizer().fit(X)
    big = np.zeros((3, 2), dtype=np.float32)
    big[2, 0] = -3.0e38
    with pytest.raises(DataError, match=r"^X\[2, 0\]: -3e\+38 standardised") as refused:
        _fitted().transform(big)
    assert refused.value.cell == (2, 0)


def test_values_within_range_are_scaled_as_before():
    X = np.array([[0.25, 1.5]], dtype=np.float32)
    out = _fitted().transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (X - TRAIN.mean(0)) / TRAIN.std(0), rtol=1e-7)
    with pytest.raises(DataError, match=r"^X\[0, 1\]: "):  # float64 holds it: float16 does not
        _fitted().transform(np.array([[0.0, 2e4]]), np.float16)
