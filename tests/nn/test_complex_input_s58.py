"""A complex batch given to a layer as a plain array (QA, s58).

A plain batch takes the weights' dtype; a complex one was cast to float32 with only NumPy's
ComplexWarning to say its imaginary parts were gone, and the layer answered numbers of the
real parts. It is refused naming both dtypes and the two ways on; a complex tensor computes in
complex numbers as before (forward only), and real batches are unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

COMPLEX = np.array([[1 + 5j, 2.0, 3.0]])


@pytest.mark.parametrize(
    "model",
    [lambda: nn.Linear(3, 2, rng=0), lambda: nn.Sequential(nn.Logistic(), nn.Linear(3, 2, rng=0))],
    ids=["Linear", "Sequential"],
)
@pytest.mark.parametrize("batch", [COMPLEX, COMPLEX.tolist()], ids=["array", "list"])
def test_a_complex_plain_batch_is_refused_naming_both_dtypes(model, batch):
    with pytest.raises(
        TypeError, match=r"input is complex \(complex128\) and the weights are float32"
    ):
        model()(batch)


def test_a_complex_tensor_still_computes_in_complex_numbers():
    layer = nn.Linear(3, 2, rng=0, dtype="float64")
    out = layer(cr.tensor(COMPLEX))
    expected = COMPLEX @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-15)


def test_real_plain_batches_take_the_weights_dtype_without_a_warning():
    layer = nn.Linear(3, 2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for batch in ([[1, 2, 3]], np.array([[1.0, 2.0, 3.0]]), np.array([[1, 2, 3]])):
            out = layer(batch)
            assert out.dtype == np.float32
            np.testing.assert_allclose(
                out.numpy(),
                np.asarray(batch, np.float32) @ layer.weight.numpy() + layer.bias.numpy(),
                rtol=1e-6,
            )


class _SeriesLike:
    """A 1-D column as pandas' nullable Series or polars' hold it: a dtype object NumPy does
    not know (Int64), values through ``__array__``."""

    dtype = "Int64"

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)


def test_an_input_whose_dtype_is_another_librarys_object_is_read_as_before():
    """The complex check asked NumPy about pandas' Int64 dtype, which NumPy refuses: such a
    Series, read at d66a5bc, raised "dtype argument must be a NumPy dtype" (review, s58)."""
    layer = nn.Linear(3, 2, rng=0)
    out = layer(_SeriesLike([1, 2, 3]))
    expected = np.array([1, 2, 3], np.float32) @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
