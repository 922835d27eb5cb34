"""Review 1 of the device and logsumexp commits (ae2f8c9, 71eb317), as its probes found them.

1. An index key of the tensor's library on another device joins the tensor's device, as
   PyTorch takes a CPU key for a CUDA tensor (``x_cuda[torch.tensor([0, 2])]``); ae2f8c9 had
   refused it with the seeds and targets (which stay refused: test_devices_s71.py, where a
   model's input now names what was at fault, "a layer's input").
2. Moving a NumPy array into a library and device that offer every 64-bit dtype (PyTorch on the
   CPU) skips the narrowing machinery (its dtype names and lookups cost four times the move);
   a device without float64 or int64 still narrows or refuses.
3. The Hessian of logsumexp with a row of -inf or +inf is NaN where PyTorch's is, without
   NumPy's "invalid value encountered in multiply" warnings (71eb317 gave a dozen or more).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from chainrule.backend import ArrayLibraryError

pytest.importorskip("array_api_compat")
xps = pytest.importorskip("array_api_strict")

D1, D2 = xps.Device("device1"), xps.Device("device2")


def _on_device1():
    return cr.tensor([1.0, 2.0, 3.0], xp=xps, device=D1, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# 1. Index keys join the tensor's device, as PyTorch's
# ---------------------------------------------------------------------------------------------

KEYS_ON_DEVICE2 = {  # a key of array-api-strict's device2, and the positions it selects
    "positions": (lambda: xps.asarray([0, 2], device=D2), [0, 2]),
    "mask": (lambda: xps.asarray([True, False, True], device=D2), [0, 2]),
    "positions in a tuple": (lambda: (xps.asarray([2, 0], device=D2),), [2, 0]),
    "a chainrule tensor": (lambda: cr.tensor(xps.asarray([2, 2], device=D2)), [2, 2]),
}


@pytest.mark.parametrize("case", list(KEYS_ON_DEVICE2))
def test_an_index_key_on_another_device_joins_the_tensors_device(case):
    make_key, positions = KEYS_ON_DEVICE2[case]
    x = _on_device1()
    y = x[make_key()]
    assert y.device == D1
    assert y.numpy().tolist() == np.array([1.0, 2.0, 3.0])[positions].tolist()
    y.sum().backward()  # scattered back through the key, on the tensor's device
    assert x.grad.device == D1
    assert x.grad.numpy().tolist() == np.bincount(positions, minlength=3).tolist()


# ---------------------------------------------------------------------------------------------
# 2. Nothing to narrow: the narrowing machinery is not asked (the fast path), and is elsewhere
# ---------------------------------------------------------------------------------------------


def test_a_device_with_every_wide_dtype_skips_the_narrowing(monkeypatch):
    torch = pytest.importorskip("torch")

    def asked(*args, **kwargs):
        raise AssertionError("_narrowed was asked where the device offers every dtype")

    like = torch.ones(3, dtype=torch.float64)
    backend.asarray_like(np.ones(3), like)  # the answer cached before the spy is set
    monkeypatch.setattr(backend, "_narrowed", asked)
    moved = backend.asarray_like(np.array([1.5, 2.5]), like)
    labels = backend.asarray_like(np.array([2, 0]), like)
    assert moved.dtype == torch.float64 and moved.tolist() == [1.5, 2.5]
    assert labels.dtype == torch.int64 and labels.tolist() == [2, 0]


def test_devices_without_wide_dtypes_still_narrow_or_refuse_after_a_wide_one():
    """Guard of the cache (passes before the fix too): its answer is per device."""
    wide = xps.asarray([1.0], device=D1)
    assert backend.asarray_like(np.array([3, 1]), wide).dtype == xps.int64
    no_x64 = xps.asarray([1.0], dtype=xps.float32, device=xps.Device("no_x64"))
    assert backend.asarray_like(np.array([3, 1]), no_x64).dtype == xps.int32
    no_float64 = xps.asarray([1.0], dtype=xps.float32, device=xps.Device("no_float64"))
    with pytest.raises(ArrayLibraryError, match="float64"):
        backend.asarray_like(np.array([0.5]), no_float64)


# ---------------------------------------------------------------------------------------------
# 3. logsumexp's Hessian over rows of infinities: torch's NaNs, no warnings
# ---------------------------------------------------------------------------------------------

ODD_ROWS = {
    "only -inf": [-np.inf, -np.inf, -np.inf],
    "a +inf": [np.inf, 1.0, 2.0],
    "a +inf and a NaN": [np.inf, np.nan, 0.0],
}


@pytest.mark.parametrize("row", list(ODD_ROWS))
def test_logsumexp_hessian_over_a_row_of_infinities_is_quiet_and_torchs(row):
    torch = pytest.importorskip("torch")
    x = np.array([[0.5, -1.0, 2.0], ODD_ROWS[row]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = cr.hessian(lambda t: cr.logsumexp(t, axis=1).sum())(x).numpy()
    theirs = torch.autograd.functional.hessian(
        lambda t: torch.logsumexp(t, 1).sum(), torch.tensor(x)
    ).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(np.nan_to_num(ours), np.nan_to_num(theirs), rtol=1e-12, atol=1e-15)
    assert np.isnan(ours).any()  # the odd row's columns, as torch's
