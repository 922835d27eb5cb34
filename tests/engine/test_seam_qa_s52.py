"""The array-library seam, QA s52: index keys that mix integers, slices and integer arrays on
array-api-strict, a 0-d NumPy float operand's dtype on PyTorch, a torch tensor that requires
grad entering chainrule, and shape and target messages in chainrule's own words.

Oracles: NumPy's own indexing and ``np.add.at`` (values and gradients), NumPy's result dtypes,
and PyTorch's gradients of the same functions."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn

pytest.importorskip("array_api_compat")
torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

LIBRARIES = {"numpy": None, "torch": torch, "strict": xs}

# ---------------------------------------------------------------------------------------------
# 1. Keys mixing integers, slices and integer arrays, as NumPy reads them, on every library
# ---------------------------------------------------------------------------------------------

CUBE = np.arange(24.0).reshape(2, 3, 4)

#: keys that array-api-strict refused (it takes integer arrays only beside integers, on every
#: axis); repeated positions in most, so the gradient must add each copy
KEYS = {
    "array, int": (np.array([1, 0, 1]), 2),
    "int, slice, array": (0, slice(None), np.array([3, 3])),
    "array, slice, array (apart)": (np.array([[1], [0]]), slice(None), np.array([3, 3, 0])),
    "array, ellipsis, int": (np.array([1, 1]), Ellipsis, 1),
    "new axis, array, int, new axis": (None, np.array([1, 1]), 2, None),
    "arrays broadcast, slice": (np.array([[0, 1]]), np.array([[2], [2]]), slice(1, 3)),
    "slice, array, array": (slice(None), np.array([0, 2, 0]), np.array([1, 1, 1])),
    "mask, int": (np.array([True, False]), 2),
    "int, mask, slice": (0, np.array([True, False, True]), slice(None)),
    "0-d array, slice, array": (np.array(1), slice(None), np.array([0, 0])),
    "step slice, negative array, int": (slice(None, None, 2), np.array([-1, -3, -1]), 0),
}


@pytest.mark.parametrize("name", list(KEYS))
def test_a_key_mixing_integers_slices_and_arrays_reads_as_on_numpy_on_array_api_strict(name):
    """array-api-strict raised IndexError ("add a trailing ellipsis", advice that then failed
    too) where NumPy and PyTorch index; the oracle is NumPy's x[key] and, for the gradient of
    sum(w * x[key]), np.add.at(zeros, key, w): a repeated position adds each copy."""
    key = KEYS[name]
    expected = CUBE[key]
    w = np.random.default_rng(0).standard_normal(expected.shape)
    expected_grad = np.zeros_like(CUBE)
    np.add.at(expected_grad, key, w)
    x = cr.tensor(CUBE, xp=xs, requires_grad=True)
    y = x[key]
    (y * cr.tensor(w, xp=xs)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=1e-15)


def test_a_mixed_key_differentiates_twice_and_stays_on_its_device_on_array_api_strict():
    """The gradient of the gradient runs the same gather and scatter (recorded); d/dx of the
    sum of dE/dx for E = sum(x[[1, 1], 2] ** 3) is 12 x at x[1, 2] (picked twice)."""
    device = xs.Device("device1")
    x = cr.tensor(CUBE, xp=xs, device=device, requires_grad=True)
    (g,) = cr.gradient((x[np.array([1, 1]), 2] ** 3).sum(), [x], create_graph=True)
    g.sum().backward()
    expected = np.zeros_like(CUBE)
    expected[1, 2] = 12 * CUBE[1, 2]
    np.testing.assert_allclose(x.grad.numpy(), expected)
    assert x.grad.data.device == device and x[0, :, np.array([1])].data.device == device


@pytest.mark.parametrize("library", ["torch", "strict"])  # NumPy's own refusal is the oracle
@pytest.mark.parametrize(
    "key",
    [(np.array([5]), 2), (0, 0, 0, 0), (np.array([1.0]),), (np.array([1, 0]), np.array([0, 1, 2]))],
    ids=["out of bounds", "too many", "float array", "arrays that do not broadcast"],
)
def test_a_key_that_does_not_fit_is_refused_naming_the_users_own_key(library, key):
    """The message showed chainrule's rewritten key (the user's 2 as Array([2]), an Ellipsis
    the user never wrote) and passed on array-api-strict's "add a trailing ellipsis (...)",
    which then failed too; PyTorch's words differed from NumPy's. Each library now refuses as
    NumPy does, in NumPy's words."""
    with pytest.raises(IndexError) as numpy_refusal:
        CUBE[key]
    x = cr.tensor(CUBE, xp=LIBRARIES[library])
    with pytest.raises(IndexError) as refused:
        x[key]
    message = str(refused.value)
    head = f"getitem: index {key!r} does not fit shape (2, 3, 4): "
    if getattr(key[0], "dtype", None) == np.float64:  # NumPy's words first, then the cast
        assert message.startswith(head + str(numpy_refusal.value) + ", and it holds"), message
    else:
        assert message.startswith(head)
        assert message.endswith(str(numpy_refusal.value))
    assert "Array(" not in message and "ellipsis" not in message.lower()


# ---------------------------------------------------------------------------------------------
# 2. A NumPy float array keeps its own dtype beside a tensor, a 0-d one on PyTorch too
# ---------------------------------------------------------------------------------------------


def _dtype(t: cr.Tensor) -> str:
    return backend.dtype_name(t.dtype)


def test_numpy_scalars_and_0d_arrays_combine_as_the_readme_says_on_every_library():
    """README: a NumPy float array keeps its own dtype (float64 beside float32 gives float64, as
    on NumPy); NumPy's float64, integer and boolean scalars count as Python numbers (the tensor's
    dtype); a np.float32 or np.float16 keeps its dtype as a 0-d array does. PyTorch gave
    float32 for x32 * np.array(2.0): its own rule lets a 0-d operand's dtype count only across
    kinds. The oracle for the arrays is NumPy's result dtype."""
    cases = [  # (tensor dtype, operand, the documented result dtype)
        ("float32", np.array(2.0), np.result_type(np.float32, np.array(2.0))),
        ("float32", np.array(2.0, np.float32), "float32"),
        ("float32", np.ones(3), np.result_type(np.float32, np.ones(3))),
        ("float32", np.float64(2.0), "float32"),
        ("float32", np.int64(2), "float32"),
        ("float32", np.bool_(True), "float32"),
        ("float64", np.array(2.0, np.float32), "float64"),
    ]
    for library, xp in LIBRARIES.items():
        for dtype, operand, expected in cases:
            x = cr.tensor(np.ones(3, dtype), xp=xp)
            for result in (x * operand, operand * x, x - operand, cr.maximum(x, operand)):
                assert _dtype(result) == np.dtype(expected).name, (library, dtype, operand)
    for xp in (None, torch):  # array-api-strict has no float16
        x16 = cr.tensor(np.ones(3, np.float16), xp=xp)
        assert _dtype(x16 * np.float32(2)) == (np.ones(3, np.float16) * np.float32(2)).dtype.name
        assert _dtype(x16 * np.array(2.0)) == (np.ones(3, np.float16) * np.array(2.0)).dtype.name


def test_a_0d_float64_operand_on_torch_differentiates_in_the_tensors_dtype():
    """The float64 product's gradient returns to the float32 tensor in float32, with PyTorch's
    own numbers for the same function computed in float64 as the oracle."""
    values = np.array([0.5, -1.25, 3.0], np.float32)
    x = cr.tensor(values, xp=torch, requires_grad=True)
    y = (x * np.array(2.5)) ** 2
    y.sum().backward()
    reference = torch.tensor(values, requires_grad=True)
    ((reference.double() * 2.5) ** 2).sum().backward()
    assert _dtype(y) == "float64" and _dtype(x.grad) == "float32"
    np.testing.assert_allclose(y.numpy(), (values.astype(np.float64) * 2.5) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# 3. A torch tensor that requires grad is refused where it would enter chainrule
# ---------------------------------------------------------------------------------------------


def _tracked() -> torch.Tensor:
    return torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)


ENTRIES = {
    "cr.tensor": lambda w: cr.tensor(w),
    "cr.tensor, requires_grad": lambda w: cr.tensor(w, requires_grad=True, xp=torch),
    "cr.Tensor": lambda w: cr.Tensor(w),
    "an op": lambda w: cr.exp(w),
    "beside a numpy parameter": lambda w: cr.tensor(np.ones(3), requires_grad=True) * w,
    "beside a torch parameter": lambda w: w * cr.tensor(np.ones(3), xp=torch, requires_grad=True),
    "a model's input": lambda w: nn.Linear(3, 2, rng=0, dtype="float64").to(xp=torch)(w),
    "a loss's targets": lambda w: nn.MSE()(cr.tensor(np.zeros(3), xp=torch), w),
    "a transform's argument": lambda w: cr.grad(lambda v: (v * v).sum())(w),
}


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_torch_tensor_that_requires_grad_is_refused_naming_it_and_the_way_out(entry):
    """It was detached silently: backward() ran and left w.grad None, as if w did not matter.
    torch refuses the mirror case (a chainrule tensor in a torch op); chainrule now refuses
    this one, naming what was passed and the way out."""
    w = _tracked()
    with pytest.raises(TypeError):
        torch.exp(cr.tensor(np.ones(3)))  # the mirror case, refused by torch
    with pytest.raises(cr.ArrayLibraryError) as refused:
        ENTRIES[entry](w)
    message = str(refused.value)
    assert "torch.Tensor of shape (3,) (float64) that requires grad" in message
    assert ".detach()" in message and "from_torch" in message
    assert w.grad is None


def test_the_way_out_gives_chainrules_gradient_equal_to_torchs():
    """w.detach(), as the refusal says: chainrule differentiates its own tensor, and the oracle
    is torch's gradient of the same function."""
    w = _tracked()
    (torch.exp(w) * w).sum().backward()
    x = cr.tensor(w.detach(), requires_grad=True)
    (cr.exp(x) * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), w.grad.numpy(), rtol=1e-15)
    parameter = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(cr.ArrayLibraryError, match=r"torch\.nn\.Parameter of shape \(2,\)"):
        cr.tensor(parameter)


# ---------------------------------------------------------------------------------------------
# 4. Messages in chainrule's own words
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_boolean_targets_of_a_labels_shape_are_called_booleans(library):
    """They were called "float targets"; NumPy's reading (a boolean array is no float one) is
    the oracle for the kind named. Booleans are refused, as PyTorch's cross_entropy refuses
    them, saying to cast them."""
    targets = np.array([True, False, True])
    assert targets.dtype.kind == "b"
    logits = cr.tensor(np.zeros((3, 2)), xp=LIBRARIES[library])
    with pytest.raises(TypeError) as refused:
        cr.softmax_cross_entropy(logits, targets)
    message = str(refused.value)
    assert "dtype bool" in message and "booleans are neither" in message
    assert "cast them, to integers for labels" in message


SHAPE_ERRORS = {
    "matmul batch": (
        lambda xp: cr.tensor(np.ones((2, 3, 4)), xp=xp) @ cr.tensor(np.ones((3, 4, 5)), xp=xp),
        "matmul: shapes (2, 3, 4) and (3, 4, 5): the batch dimensions (2,) and (3,) do not "
        "broadcast",
    ),
    "reshape": (
        lambda xp: cr.tensor(np.ones(6), xp=xp).reshape(5, -1),
        "reshape: shapes (6,) (shape=(5, -1)): an array of 6 elements cannot take that shape",
    ),
    "broadcast_to": (
        lambda xp: cr.broadcast_to(cr.tensor(np.ones((2, 3)), xp=xp), (4, 3)),
        "broadcast_to: shapes (2, 3) (shape=(4, 3)): they do not broadcast",
    ),
    "add": (
        lambda xp: cr.tensor(np.ones((2, 3)), xp=xp) + cr.tensor(np.ones(4), xp=xp),
        "add: shapes (2, 3) and (4,): they do not broadcast",
    ),
}


@pytest.mark.parametrize("library", ["numpy", "strict"])
@pytest.mark.parametrize("case", list(SHAPE_ERRORS))
def test_shape_errors_leave_out_numpys_internal_wording(library, case):
    """NumPy's words repeated the shapes in its internal forms: "(2,3,4)->(2,newaxis,newaxis)"
    and "into shape (5,newaxis)" after chainrule's prefix had named them. NumPy itself refuses
    the same shapes (the oracle that they do not fit)."""
    build, expected = SHAPE_ERRORS[case]
    with pytest.raises(ValueError):
        build_numpy = {"matmul batch": lambda: np.ones((2, 3, 4)) @ np.ones((3, 4, 5)),
                       "reshape": lambda: np.ones(6).reshape(5, -1),
                       "broadcast_to": lambda: np.broadcast_to(np.ones((2, 3)), (4, 3)),
                       "add": lambda: np.ones((2, 3)) + np.ones(4)}[case]  # fmt: skip
        build_numpy()
    with pytest.raises(cr.ShapeError) as refused:
        build(LIBRARIES[library])
    message = str(refused.value)
    assert message == expected
    assert not re.search(r"newaxis|remapped|original->", message)
