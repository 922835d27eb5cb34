"""The array-library seam after QA s52: the gradient of indexing (``scatter_add``) reads a key
as the forward did, on array-api-strict and PyTorch.

1. A boolean mask beside a slice or Ellipsis indexed forward on array-api-strict but its
   backward raised array-api-strict's IndexError ("masking is only specified ... sole index").
2. The gradient of an integer-array key on array-api-strict compared every picked element with
   every position of the array (745 GiB asked for x[np.arange(100)] of a 2000x2000 array).
3. On PyTorch a mask and an integer apart (a slice or Ellipsis between) gave NumPy's values
   transposed or in another shape, and ``x[..., ...]``, which NumPy refuses, was ``x``.

Oracles: NumPy's own ``x[key]`` and ``np.add.at(zeros, key, w)`` (the gradient of
``sum(w * x[key])``), and a second derivative in closed form."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

LIBRARIES = {"torch": torch, "strict": xs}

CUBE = np.arange(60.0).reshape(3, 4, 5)

#: keys with a mask beside a slice or Ellipsis, or apart from an integer or array
KEYS = {
    "slice, mask": (slice(None), np.array([True, False, True, True])),
    "mask, ellipsis": (np.array([False, True, True]), Ellipsis),
    "slice, mask, ellipsis, int": (slice(1, None), np.array([True, True, True, False]), ..., -2),
    "slice, int, ellipsis, mask": (
        slice(1, None),
        0,
        ...,
        np.array([False, False, True, True, False]),
    ),
    "mask, slice, array": (np.array([True, False, True]), slice(None), np.array([4, 0])),
    "2-d mask, ellipsis, array": (np.eye(3, 4, dtype=bool), ..., np.array([1, 1, 3])),
    "array, ellipsis, array": (np.array([2, 0, 2]), ..., np.array([1, 1, 4])),
    "new axis, mask, ellipsis, int": (None, np.array([True, False, True]), ..., 3),
}


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("name", list(KEYS))
def test_a_key_with_masks_or_arrays_apart_reads_and_differentiates_as_on_numpy(library, name):
    """Values as NumPy's x[key] and the gradient of sum(w * x[key]) as np.add.at(zeros, key, w)
    (a repeated position adds each copy)."""
    key = KEYS[name]
    expected = CUBE[key]
    w = np.random.default_rng(0).standard_normal(expected.shape)
    expected_grad = np.zeros_like(CUBE)
    np.add.at(expected_grad, key, w)
    xp = LIBRARIES[library]
    x = cr.tensor(CUBE, xp=xp, requires_grad=True)
    y = x[key]
    (y * cr.tensor(w, xp=xp)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=1e-14)


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_a_mask_beside_a_slice_differentiates_twice(library):
    """cr.gradient, then the gradient of its sum: for E = sum(x[:, mask] ** 3), dE/dx is
    3 x ** 2 where the mask picks, and d/dx sum(dE/dx) is 6 x there, 0 elsewhere."""
    mask = np.array([True, False, True, True])
    x = cr.tensor(CUBE, xp=LIBRARIES[library], requires_grad=True)
    (g,) = cr.gradient((x[:, mask] ** 3).sum(), [x], create_graph=True)
    picked = np.zeros(CUBE.shape, dtype=bool)
    picked[:, mask] = True
    np.testing.assert_allclose(g.numpy(), np.where(picked, 3 * CUBE**2, 0.0))
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(picked, 6 * CUBE, 0.0))


def test_repeated_positions_accumulate_and_an_inf_stays_at_its_own_position_on_array_api_strict():
    """Many copies of a few positions (runs longer than one doubling step) sum as np.add.at
    does; an inf cotangent at one position leaves the others finite (a running sum and its
    differences would have put NaN after it)."""
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 3, size=200)
    cols = rng.integers(0, 5, size=200)
    key = (rows, 1, cols)
    w = rng.standard_normal(200)
    w[7] = np.inf
    expected = np.zeros_like(CUBE)
    np.add.at(expected, key, w)
    x = cr.tensor(CUBE, xp=xs, requires_grad=True)
    (x[key] * cr.tensor(w, xp=xs)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert np.isnan(x.grad.numpy()).sum() == np.isnan(expected).sum() == 0


@pytest.mark.parametrize("key", [(np.arange(100), 2), (np.arange(100),)], ids=["rows, int", "rows"])
def test_the_gradient_of_an_integer_array_key_takes_memory_of_the_arrays_size(key):
    """On array-api-strict (NumPy underneath, so tracemalloc sees its arrays) the backward of
    x[key] for a 1000x1000 float64 x stays within a few times x's 8 MB; it compared 100 picked
    positions with all 10**6 (about 900 MB for the first key). No timing: memory only."""
    x = cr.tensor(np.zeros((1000, 1000)), xp=xs, requires_grad=True)
    y = x[key]
    tracemalloc.start()
    try:
        y.sum().backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * CUBE.itemsize * 1000 * 1000
    expected = np.zeros((1000, 1000))
    np.add.at(expected, key, 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_two_ellipses_are_refused_as_numpy_refuses_them(library):
    """PyTorch took x[..., ...] as x; NumPy refuses it."""
    with pytest.raises(IndexError, match="single ellipsis"):
        CUBE[..., ...]
    x = cr.tensor(CUBE, xp=LIBRARIES[library])
    with pytest.raises(
        IndexError, match=r"getitem: index \(Ellipsis, Ellipsis\) .*single ellipsis"
    ):
        x[..., ...]


def test_a_mask_that_does_not_fit_its_axes_is_refused_on_torch():
    """A mask beside an array becomes its true positions on PyTorch; one shorter than its axis
    is refused first, as NumPy refuses it, and not read as positions that happen to fit."""
    key = (slice(None), np.array([True, False, True]), np.array([0, 1]))
    with pytest.raises(IndexError, match="boolean index did not match"):
        CUBE[key]
    x = cr.tensor(CUBE, xp=torch)
    with pytest.raises(
        IndexError, match=r"boolean index of shape \(3,\) .* from 1 on, of shape \(4,\)"
    ):
        x[key]


@pytest.mark.parametrize(
    ("shape", "key"),
    [((0, 3), (np.zeros((0, 3), bool),)), ((0, 3, 4), (np.zeros((0, 3), bool), None))],
)
def test_a_2d_mask_of_a_0_size_array_differentiates_on_array_api_strict(shape, key):
    """array-api-strict reads such a mask's write as of another shape (a ValueError, not an
    IndexError): the gradient goes to the forward's flat positions, none here."""
    x = cr.tensor(np.zeros(shape), xp=xs, requires_grad=True)
    y = x[key]
    assert tuple(y.shape) == np.zeros(shape)[key].shape
    y.sum().backward()
    assert tuple(x.grad.shape) == shape
