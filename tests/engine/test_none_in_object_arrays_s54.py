"""None inside an object array, or a 0-d object array holding None, given with a float dtype.

Stop 53 refused None inside lists; NumPy makes None NaN from an object array too
(``np.asarray(np.array([1.0, None], dtype=object), dtype="float32")`` is ``[1, nan]``), so a
column with a missing value read by pandas-style code became NaN silently.
"""

import numpy as np
import pytest

import chainrule as cr

MISSING = [
    np.array([1.0, None], dtype=object),
    np.array([[1.0], [None]], dtype=object),
    [np.array(None), 1.0],  # NumPy keeps a 0-d object array whole inside a list's cells
    np.ma.array([1.0, None], dtype=object),  # an ndarray subclass (review, stop 54)
]


@pytest.mark.parametrize("data", MISSING, ids=["1d", "2d", "0d-in-list", "masked"])
@pytest.mark.parametrize("make", [cr.tensor, cr.Tensor], ids=["tensor", "Tensor"])
def test_none_in_an_object_array_is_refused(torch, make, data):
    """torch refuses an object array outright (oracle: no NaN made)."""
    with pytest.raises(TypeError):
        torch.tensor(np.array([1.0, None], dtype=object), dtype=torch.float32)
    with pytest.raises(TypeError, match="None|dtype object"):
        make(data, dtype="float32")


def test_full_refuses_an_array_holding_none():
    with pytest.raises(TypeError, match=r"^full: value holds None"):
        cr.full((2,), np.array(None))


def test_object_arrays_of_numbers_and_nan_are_still_read():
    """Guards (pass before and after): numbers in an object array, and a real NaN, are values."""
    got = cr.tensor(np.array([1, 2.5, np.nan], dtype=object), dtype="float32")
    np.testing.assert_array_equal(got.numpy(), np.array([1, 2.5, np.nan], dtype=np.float32))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(cr.full((2,), np.array(3.0, dtype=object)).numpy(), [3.0, 3.0])
