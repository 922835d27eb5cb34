"""Devices of one library, and a device without 64-bit integers, as a QA pass found them.

1. An array of the tensor's own library on another device, given where an array is converted
   to the tensor's (a seed, a cotangent or tangent, a where's condition, a loss's targets, a
   model's input), is refused naming both devices, as arithmetic refuses it: the library's
   ``asarray`` copied it across without a word. A NumPy array or a list still joins, and so does
   an index key of any device (test_review1_devices_s71.py), as PyTorch takes one.
2. array-api-strict's ``no_x64`` device (no int64): labels, positions and ``arange`` are int32
   there, as on JAX without x64, and a float32 model trains to the NumPy run's weights.
3. Arithmetic on booleans, which array-api-strict refuses, names the cast that fixes it.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn, optim
from chainrule.backend import ArrayLibraryError

pytest.importorskip("array_api_compat")
xps = pytest.importorskip("array_api_strict")

D1, D2, NO_X64 = xps.Device("device1"), xps.Device("device2"), xps.Device("no_x64")


def _on_device1():
    return cr.tensor([1.0, 2.0, 3.0], xp=xps, device=D1, requires_grad=True)


def _elsewhere(values):
    """The user's array of the same library (array-api-strict), on device2."""
    return xps.asarray(values, device=D2)


# ---------------------------------------------------------------------------------------------
# 1. A same-library array on another device is refused, naming both devices and the op
# ---------------------------------------------------------------------------------------------

_MODEL = nn.mlp([3, 2], rng=0)

OTHER_DEVICE_CASES = {
    "backward seed": ("backward", lambda x: (x * 2).backward(_elsewhere([1.0, 1, 1]))),
    "vjp seed": ("vjp", lambda x: cr.vjp(lambda q: q * 2, x)[1](_elsewhere([1.0, 1, 1]))),
    "gradient cotangent": (
        "gradient",
        lambda x: cr.gradient(x * 2, [x], _elsewhere([1.0, 1, 1])),
    ),
    "jvp tangent": ("jvp", lambda x: cr.jvp(lambda q: q * 2, (x,), (_elsewhere([1.0, 1, 1]),))),
    "where condition": ("where", lambda x: cr.where(_elsewhere([True, False, True]), x, 0.0)),
    "CrossEntropy targets": ("CrossEntropy", lambda x: nn.CrossEntropy()(x[None], _elsewhere([1]))),
    "MSE targets": ("MSE", lambda x: nn.MSE()(x, _elsewhere([1.0, 2, 3]))),
    "softmax_cross_entropy targets": (
        "softmax_cross_entropy",
        lambda x: cr.softmax_cross_entropy(x[None], _elsewhere([1])),
    ),
    "model input": (
        "a layer's input",
        lambda x: _MODEL.to(xp=xps, device=D1)(_elsewhere([[1.0, 2, 3]])),
    ),
}


@pytest.mark.parametrize("case", list(OTHER_DEVICE_CASES))
def test_a_same_library_array_on_another_device_is_refused(case):
    op, run = OTHER_DEVICE_CASES[case]
    with pytest.raises(ArrayLibraryError, match=r"(?s)device1.*device2") as caught:
        run(_on_device1())
    words = str(caught.value)
    assert "cannot be combined" in words and "move them to one library and device" in words
    if op is not None:
        assert words.startswith(f"{op}: ")


def test_the_refusal_uses_the_words_arithmetic_uses():
    x = _on_device1()
    with pytest.raises(ArrayLibraryError) as arithmetic:
        x * cr.tensor(_elsewhere([1.0, 1, 1]))
    with pytest.raises(ArrayLibraryError) as seed:
        (x * 2).backward(_elsewhere([1.0, 1, 1]))
    assert str(seed.value).partition(": ")[2] == str(arithmetic.value).partition(": ")[2]
    assert seed.value.libraries == arithmetic.value.libraries


def test_numpy_arrays_and_lists_still_join_the_tensors_device():
    """The documented exception (guard: passes before the fix too)."""
    x = _on_device1()
    (x * 2).backward(np.ones(3))
    assert x.grad.device == D1 and x.grad.numpy().tolist() == [2.0, 2.0, 2.0]
    assert cr.where([True, False, True], x, 0.0).device == D1
    assert x[np.array([0, 2])].device == D1
    loss = nn.CrossEntropy()(x[None], np.array([1]))
    assert loss.device == D1
    same = xps.asarray([1.0, 1, 1], device=D1)  # the tensor's own device: no refusal
    y = _on_device1()
    (y * 3).backward(same)
    assert y.grad.numpy().tolist() == [3.0, 3.0, 3.0]


# ---------------------------------------------------------------------------------------------
# 2. A device without 64-bit integers: int64 narrowed to int32, as on JAX without x64
# ---------------------------------------------------------------------------------------------


def _logits_no_x64():
    values = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=np.float32)
    return values, cr.tensor(values, xp=xps, device=NO_X64, requires_grad=True)


@pytest.mark.parametrize("labels", [[2, 0], np.array([2, 0])], ids=["list", "numpy int64"])
def test_cross_entropy_of_int_labels_on_no_x64_matches_numpy(labels):
    values, logits = _logits_no_x64()
    loss = nn.CrossEntropy()(logits, labels)
    loss.backward()
    oracle = cr.tensor(values, requires_grad=True)
    expected = nn.CrossEntropy()(oracle, np.array([2, 0]))
    expected.backward()
    assert loss.device == NO_X64
    np.testing.assert_allclose(float(loss.numpy()), float(expected.numpy()), rtol=1e-6)
    np.testing.assert_allclose(logits.grad.numpy(), oracle.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_index_with_a_list_and_arange_on_no_x64():
    values, t = _logits_no_x64()
    assert t[[1, 1, 0]].numpy().tolist() == values[[1, 1, 0]].tolist()
    assert t[[0, 1], 2].numpy().tolist() == values[[0, 1], 2].tolist()  # int beside an array
    r = cr.arange(4, xp=xps, device=NO_X64)
    assert r.device == NO_X64 and backend.dtype_name(r.dtype) == "int32"
    assert r.numpy().tolist() == [0, 1, 2, 3]
    q = cr.tensor(np.array([5, -7], dtype=np.int64), xp=xps, device=NO_X64)
    assert backend.dtype_name(q.dtype) == "int32" and q.numpy().tolist() == [5, -7]


def test_int64_asked_for_or_past_int32_on_no_x64_is_refused_by_name():
    with pytest.raises(ArrayLibraryError, match=r"no int64 on device .*no_x64.*use int32"):
        cr.arange(3, dtype="int64", xp=xps, device=NO_X64)
    with pytest.raises(ArrayLibraryError, match=r"(?s)no int64.*do not fit its int32"):
        cr.tensor(np.array([0, 2**40]), xp=xps, device=NO_X64)


def test_fit_on_no_x64_equals_the_numpy_run():
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])

    def trained(model):
        data = cr.data.Dataset(x, y, task="classification")
        sgd = optim.SGD(model.parameters(), lr=0.1)
        cr.train.fit(model, nn.CrossEntropy(), sgd, data, epochs=2, batch_size=4, progress=False)
        return [backend.to_numpy(p.data) for p in model.parameters()]

    on_host = trained(nn.mlp([3, 4, 2], rng=0))
    moved = nn.mlp([3, 4, 2], rng=0).to(xp=xps, device=NO_X64)
    on_no_x64 = trained(moved)
    assert all(p.device == NO_X64 for p in moved.parameters())
    for got, want in zip(on_no_x64, on_host):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_torch_keeps_its_64_bit_integers():
    """Guard (passes before the fix too): torch lists no uint64 among its dtypes, and has it."""
    torch = pytest.importorskip("torch")
    for dtype in (np.int64, np.uint64):
        t = cr.tensor(np.array([1, 2], dtype=dtype), xp=torch)
        assert backend.dtype_name(t.dtype) == np.dtype(dtype).name


# ---------------------------------------------------------------------------------------------
# 3. Arithmetic on booleans names the cast where the library refuses it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run, cast",
    [
        (lambda b: b * 2, "int64"),
        (lambda b: 3 * b, "int64"),
        (lambda b: b - 1, "int64"),
        (lambda b: b + b, "int64"),
        (lambda b: b * 2.5, "float64"),
    ],
    ids=["mul", "rmul", "sub", "add bools", "mul float"],
)
def test_boolean_arithmetic_refusal_names_the_cast(run, cast):
    b = cr.tensor(xps.asarray([True, False]))
    with pytest.raises(TypeError, match=r"Only numeric dtypes") as caught:
        run(b)
    assert f"cast the boolean operand to a number dtype first (x.astype('{cast}'))" in str(
        caught.value
    )


def test_boolean_cast_named_is_the_devices_integer():
    b = cr.tensor(xps.asarray([True, False], device=NO_X64))
    with pytest.raises(TypeError, match=r"x\.astype\('int32'\)"):
        b + b


def test_boolean_true_division_names_a_boolean_operand():
    b = cr.tensor(xps.asarray([True, False]))
    with pytest.raises(TypeError, match=r"cast the boolean operand to a float dtype first"):
        b / 2


def test_libraries_that_multiply_booleans_still_do():
    """Guard (passes before the fix too): NumPy and PyTorch give [2, 0]."""
    assert (cr.tensor([True, False]) * 2).numpy().tolist() == [2, 0]
    torch = pytest.importorskip("torch")
    assert (cr.tensor(torch.tensor([True, False])) * 2).numpy().tolist() == [2, 0]
