"""Every library refuses exactly the index keys NumPy refuses, as chainrule's IndexError naming
the op, the key and the shape. A QA pass found keys NumPy refuses taken elsewhere: PyTorch and
array-api-strict read no element of an empty result, so ``x[..., [], -3]`` of a (3, 4, 2) ``x``
was (3, 0) where NumPy says "index -3 is out of bounds for axis 2 with size 2"; JAX clamps
integer arrays (``x[[3]]`` was ``x[[2]]``) and on a 0-size array raised a ShapeError. NumPy is
the oracle: each key is tried on a NumPy array first, and the result, the gradient (its
scatter-add) or the refusal of every other library is compared with it. A library that is not
installed skips its tests."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from chainrule.ops import shape as shape_ops

LIBRARIES = ["numpy", "torch", "strict", "jax"]
EMPTY = np.array([], dtype=np.int64)

#: (id, shape, key): keys NumPy refuses, beside keys it takes with an empty or a small result
KEYS = [
    # an out-of-bounds integer beside an empty integer array: the result is empty
    ("ellipsis-empty-negative", (3, 4, 2), (..., EMPTY, -3)),
    ("ellipsis-empty-positive", (3, 4, 2), (..., EMPTY, 2)),
    ("empty-then-ellipsis", (3, 4, 2), (EMPTY, ..., -3)),
    ("empty-beside-integer", (3, 4, 2), (EMPTY, 5)),
    ("empty-slice-integer", (3, 4, 2), (EMPTY, slice(None), 7)),
    ("newaxis-empty-integer", (3, 4, 2), (None, EMPTY, 4)),
    ("two-d-empty", (3, 4, 2), (EMPTY[:, None], EMPTY, 2)),
    ("empty-on-empty-array", (0, 3), (EMPTY, -4)),
    ("ellipsis-empty-on-0-size", (2, 0, 3), (..., EMPTY, 3)),
    # out-of-bounds integer arrays (JAX clamped them), on 0-size axes and arrays too
    ("array-past-end", (3, 4, 2), np.array([3])),
    ("array-negative", (3, 4, 2), np.array([-4])),
    ("slice-then-array", (3, 4, 2), (slice(None), np.array([4]))),
    ("array-newaxis-slice", (3, 4, 2), (None, np.array([0, 3]), slice(1, None), -1)),
    ("array-on-0-size-axis", (0, 3), np.array([0])),
    ("array-on-0-size-array", (0, 3), (slice(None), np.array([3]))),
    ("arrays-on-0-size-axis", (3, 0), (np.array([1]), np.array([0]))),
    ("integer-on-0-size-array", (0, 3), (slice(None), 3)),
    # boolean masks of the wrong length on empty axes
    ("mask-long-on-0", (0, 3), np.array([False])),
    ("mask-short-on-3-of-0-size", (3, 0), np.array([False, False])),
    ("mask-on-0-size-axis", (3, 0), (slice(None), np.array([False]))),
    ("mask-on-axis-of-0-size", (0, 3), (slice(None), np.array([False, False]))),
    ("mask-2d-wrong", (0, 3), np.array([[False, False, False]])),
    # taken by NumPy: the same keys in bounds
    ("in-bounds-ellipsis-empty", (3, 4, 2), (..., EMPTY, -2)),
    ("in-bounds-empty-integer", (3, 4, 2), (EMPTY, 3)),
    ("in-bounds-two-d-empty", (3, 4, 2), (EMPTY[:, None], EMPTY, 1)),
    ("in-bounds-empty-on-0-size", (0, 3), (EMPTY, 2)),
    ("in-bounds-array-ellipsis", (3, 4, 2), (np.array([2, 0, 2]), ..., -2)),
    ("in-bounds-newaxis-slice", (3, 4, 2), (None, np.array([0, 2]), slice(1, None), -1)),
    ("in-bounds-on-0-size-array", (0, 3), (slice(None), np.array([2, -3]))),
    ("in-bounds-mask-on-0-size", (3, 0), (np.array([False, True, True]), slice(None))),
    ("in-bounds-mask-and-array", (3, 4, 2), (np.array([True, False, True]), ..., np.array([1]))),
]


def _xp(name: str):
    if name == "numpy":
        return None
    pytest.importorskip("array_api_compat")
    if name == "torch":
        return pytest.importorskip("torch")
    if name == "strict":
        return pytest.importorskip("array_api_strict")
    jax = pytest.importorskip("jax")
    return pytest.importorskip("jax.numpy"), jax


@pytest.fixture(params=LIBRARIES)
def xp(request):
    """The library under test (None for NumPy), JAX with float64 on for the test's length."""
    found = _xp(request.param)
    if request.param != "jax":
        return found
    jnp, jax = found
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    request.addfinalizer(lambda: jax.config.update("jax_enable_x64", previous))
    return jnp


def _array(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)


def _numpy_reading(a: np.ndarray, key):
    """NumPy's result of ``a[key]``, or its IndexError."""
    try:
        return a[key], None
    except IndexError as error:
        return None, error


def _on(xp, key):
    """The key with its arrays on the library (what a gradient's scatter-add receives)."""
    items = key if isinstance(key, tuple) else (key,)
    moved = tuple(
        backend.from_numpy(item, xp=xp) if isinstance(item, np.ndarray) and xp else item
        for item in items
    )
    return moved if isinstance(key, tuple) else moved[0]


def _assert_refused_as_numpy(info, op: str, key, shape, numpy_error) -> None:
    message = str(info.value)
    assert message.startswith(f"{op}: index "), message
    assert f"does not fit shape {shape}" in message, message
    assert str(numpy_error) in message, (message, str(numpy_error))


@pytest.mark.parametrize("case", KEYS, ids=[case[0] for case in KEYS])
def test_getitem_takes_and_refuses_what_numpy_does(xp, case) -> None:
    _, shape, key = case
    a = _array(shape)
    expected, numpy_error = _numpy_reading(a, key)
    x = cr.tensor(a, xp=xp, requires_grad=True) if xp else cr.tensor(a, requires_grad=True)
    if numpy_error is not None:
        with pytest.raises(IndexError) as info:
            x[key]
        _assert_refused_as_numpy(info, "getitem", key, shape, numpy_error)
        return
    out = x[key]
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(backend.to_numpy(out.data), expected)
    # the gradient's scatter-add against NumPy's np.add.at of the same weights
    weights = np.random.default_rng(0).standard_normal(expected.shape)
    (out * (backend.from_numpy(weights, xp=xp) if xp else weights)).sum().backward()
    oracle = np.zeros(shape)
    np.add.at(oracle, key, weights)
    np.testing.assert_array_equal(backend.to_numpy(x.grad.data), oracle)


@pytest.mark.parametrize(
    "case", [case for case in KEYS if not case[0].startswith("in-bounds")], ids=lambda c: c[0]
)
def test_scatter_add_refuses_what_numpy_refuses(xp, case) -> None:
    """The gradient's scatter-add, called with a key NumPy refuses: JAX's at[].add dropped the
    updates out of bounds and returned zeros."""
    _, shape, key = case
    assert _numpy_reading(_array(shape), key)[1] is not None
    g = np.ones(())  # values that broadcast to any result: only the key is at fault
    g = cr.tensor(g, xp=xp) if xp else cr.tensor(g)
    with pytest.raises(IndexError) as info:
        shape_ops.scatter_add(g, shape=shape, index=_on(xp, key))
    message = str(info.value)
    assert message.startswith("scatter_add: index "), message
    assert f"does not fit shape {shape}" in message, message
