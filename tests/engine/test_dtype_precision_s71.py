"""Dtypes and float16 precision: astype rounds through ml_dtypes' floats and refuses dtypes that
hold no numbers on NumPy; an integer tensor's true division by a number its dtype cannot hold
has NumPy 2's answer; float16 norms and sums accumulate in float32 and round once, as
PyTorch's do."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.linalg import linear

ml_dtypes = pytest.importorskip("ml_dtypes")

# ---------------------------------------------------------------------------------------------
# astype to ml_dtypes' floats and to dtypes that hold no numbers
# ---------------------------------------------------------------------------------------------


def _refusal(make):
    with pytest.raises(TypeError) as caught:
        make()
    return str(caught.value)


@pytest.mark.parametrize("dtype", ["bfloat16", ml_dtypes.bfloat16])
def test_a_round_trip_through_bfloat16_rounds_as_torch_and_differentiates(dtype):
    """x.astype("bfloat16").astype("float32") simulates bf16 precision (a real use): the values
    are ml_dtypes' rounding, torch's bfloat16 round trip the oracle, and d(sum y**2)/dx = 2y."""
    torch = pytest.importorskip("torch")
    values = np.array([1.001, 2.7, -3.14159, 1e-3, 65504.0], np.float32)
    x = cr.tensor(values, requires_grad=True)
    b = x.astype(dtype)
    assert b.dtype == np.dtype(ml_dtypes.bfloat16) and b.requires_grad
    y = b.astype("float32")
    (y * y).sum().backward()
    expected = torch.tensor(values).to(torch.bfloat16).to(torch.float32).numpy()
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_array_equal(y.numpy(), values.astype(ml_dtypes.bfloat16).astype(np.float32))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), 2 * expected)


def test_astype_float8_is_taken_and_rounds_as_ml_dtypes():
    values = np.array([1.1, -0.3, 7.0], np.float32)
    x = cr.tensor(values)
    y = x.astype("float8_e4m3fn").astype("float32")
    np.testing.assert_array_equal(
        y.numpy(), values.astype(ml_dtypes.float8_e4m3fn).astype(np.float32)
    )


@pytest.mark.parametrize("dtype", ["U5", object, "datetime64[s]"])
def test_astype_to_strings_objects_or_dates_is_refused(dtype):
    x = cr.tensor(np.array([1.5, 2.5], np.float32))
    said = _refusal(lambda: x.astype(dtype))
    assert said.startswith("astype: a tensor holds numbers (bool, int, float or complex)")


@pytest.mark.parametrize("dtype", ["float16", "float64", "int8", "bool", "complex64"])
def test_astype_to_numpys_own_dtypes_still_casts(dtype):
    x = cr.tensor(np.array([1.5, 2.5], np.float32))
    assert x.astype(dtype).dtype == np.dtype(dtype)


def test_astype_bfloat16_keeps_bfloat16_on_torch():
    torch = pytest.importorskip("torch")
    x = cr.tensor(torch.tensor([1.5, 2.5]), requires_grad=True)
    b = x.astype("bfloat16")
    assert b.dtype == torch.bfloat16 and cr.tanh(b).dtype == torch.bfloat16


# ---------------------------------------------------------------------------------------------
# True division of integers by a number the dtype cannot hold
# ---------------------------------------------------------------------------------------------

INTEGER_QUOTIENTS = [
    (np.array([100, 50], np.int8), 300),
    (np.array([100, -50], np.int8), 128),
    (np.array([100, -50], np.int8), -129),
    (np.array([1, 2], np.int32), 2**40),
    (np.array([1, 2], np.int64), 2**64),
    (np.array([1, 2], np.uint8), -3),
    (np.array([1, 2], np.uint64), -1),
    (np.array([True, False]), 300),
    (np.array([3, 7], np.int8), np.int64(300)),
]


@pytest.mark.parametrize(("values", "number"), INTEGER_QUOTIENTS)
def test_integer_tensor_divided_by_a_number_beyond_its_dtype_is_numpys(values, number):
    quotient = cr.tensor(values) / number
    expected = values / number  # NumPy 2: the quotient of integers is float64
    assert quotient.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(quotient.data, expected)


@pytest.mark.parametrize(("values", "number"), INTEGER_QUOTIENTS)
def test_number_divided_by_an_integer_tensor_beyond_its_dtype_is_numpys(values, number):
    values = np.where(values == 0, 1, values).astype(values.dtype)  # no division by zero
    quotient = number / cr.tensor(values)
    expected = number / values
    assert quotient.dtype == expected.dtype
    np.testing.assert_array_equal(quotient.data, expected)


def test_cr_div_of_an_int8_tensor_by_300_is_numpys():
    values = np.array([100, 50], np.int8)
    np.testing.assert_array_equal(cr.div(cr.tensor(values), 300).data, values / 300)


def test_other_ops_still_refuse_a_number_beyond_the_dtype_naming_the_op():
    t = cr.tensor(np.array([1, 2], np.int8))
    with pytest.raises(OverflowError, match=r"^mul: the Python number 300 is out of the range"):
        t * np.int64(300)  # a NumPy integer names the op as a Python one does
    with pytest.raises(OverflowError, match=r"^div: the Python number .* out of the range"):
        t / 2**1100  # beyond every float too


def test_torch_integer_tensor_divided_by_a_number_beyond_its_dtype():
    torch = pytest.importorskip("torch")
    t8 = torch.tensor([100, 50], dtype=torch.int8)
    quotient = cr.tensor(t8) / 300  # refused: "value cannot be converted to type int8"
    assert torch.equal(quotient.data, t8 / 300)
    u8 = torch.tensor([1, 2], dtype=torch.uint8)
    # PyTorch made -1 a uint8 255: the quotient was [1/255, 2/255]
    assert torch.equal((cr.tensor(u8) / -1).data, torch.tensor([-1.0, -2.0]))


# ---------------------------------------------------------------------------------------------
# float16 norms and sums accumulate in float32
# ---------------------------------------------------------------------------------------------


def test_float16_norm_of_ten_300s_is_finite_as_torchs():
    x = cr.tensor(np.full(10, 300, np.float16), requires_grad=True)
    n = cr.norm(x)
    n.backward()
    exact = 300 * np.sqrt(10)  # 948.68..., float16 948.5
    assert n.dtype == np.float16 and n.item() == np.float16(exact)
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(x.grad.data.astype(np.float64), 1 / np.sqrt(10), rtol=1e-3)


def test_float16_norm_over_an_axis_matches_torch():
    torch = pytest.importorskip("torch")
    values = np.linspace(100, 400, 24, dtype=np.float16).reshape(4, 6)
    x = cr.tensor(values, requires_grad=True)
    n = cr.norm(x, axis=1)
    n.sum().backward()
    t = torch.tensor(values, requires_grad=True)
    m = torch.linalg.vector_norm(t, dim=1)
    m.sum().backward()
    assert n.dtype == np.float16 and np.isfinite(n.data).all()
    np.testing.assert_allclose(n.data.astype(np.float64), m.detach().numpy(), rtol=2e-3)
    np.testing.assert_allclose(
        x.grad.data.astype(np.float64), t.grad.numpy().astype(np.float64), rtol=2e-3
    )


@pytest.mark.parametrize("rows", [1024, 4095, 4096, 60000])
def test_float16_sum_over_many_rows_accumulates_in_float32(rows):
    values = np.full((rows, 3), 0.1, np.float16)
    total = cr.sum(cr.tensor(values), axis=0)
    once = values.astype(np.float64).sum(axis=0).astype(np.float16)  # exact, rounded once
    assert total.dtype == np.float16
    np.testing.assert_array_equal(total.data, once)


def test_float16_sum_over_many_rows_is_torchs():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).uniform(0, 0.2, (60000, 2)).astype(np.float16)
    total = cr.sum(cr.tensor(values), axis=0).data
    once = values.astype(np.float64).sum(axis=0).astype(np.float16)  # [5992, 5996]
    np.testing.assert_array_equal(total, torch.tensor(values).sum(0).numpy())
    np.testing.assert_array_equal(total, once)


@pytest.mark.parametrize("rows", [1024, 5000])
def test_float16_bias_gradients_accumulate_in_float32(rows):
    x = cr.tensor(np.ones((rows, 2), np.float16))
    weight = cr.tensor(np.eye(2, dtype=np.float16))
    bias = cr.tensor(np.zeros(2, np.float16), requires_grad=True)
    (linear(x, weight, bias) * 0.1).sum().backward()  # the linear op's rule: sum_rows
    broadcast = cr.tensor(np.zeros(2, np.float16), requires_grad=True)
    ((x @ weight + broadcast) * 0.1).sum().backward()  # add's rule: unbroadcast
    exact = np.float16(rows * float(np.float16(0.1)))
    assert bias.grad.dtype == broadcast.grad.dtype == np.float16
    np.testing.assert_array_equal(bias.grad.data, [exact, exact])
    np.testing.assert_array_equal(broadcast.grad.data, [exact, exact])


def test_float32_sums_are_numpys_as_before():
    values = np.random.default_rng(1).normal(size=(300, 4)).astype(np.float32)
    np.testing.assert_array_equal(cr.sum(cr.tensor(values), axis=0).data, values.sum(axis=0))
