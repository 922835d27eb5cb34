"""Review 2 of this stop: a float16 array whose dtype is NumPy's float16 by value but another
object (unpickled, big-endian) sums in float32 as any float16 does; astype through ml_dtypes'
bfloat16 is taken again; load_state_dict names a read-only parameter before writing."""

import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn


def _unpickled(array):
    copy = pickle.loads(pickle.dumps(array))
    assert copy.dtype == np.float16 and copy.dtype is not np.dtype(np.float16)
    return copy


@pytest.mark.parametrize("rows", [1024, backend.BLOCKED_ROWS + 5])
def test_an_unpickled_float16_array_sums_in_float32(rows):
    """1,024 rows of 0.1 added in float16 gave 108.2; in float32, rounded once, 102.4 (torch)."""
    torch = pytest.importorskip("torch")
    values = np.full((rows, 3), 0.1, np.float16)
    expected = torch.tensor(values).sum(dim=0).numpy()
    for array in (_unpickled(values), values.astype(">f2")):
        np.testing.assert_array_equal(cr.tensor(array).sum(axis=0).numpy(), expected)
        np.testing.assert_array_equal(backend.sum_rows(array), expected)
        np.testing.assert_array_equal(backend.host_sum(array, 0), expected)


def test_a_bias_gradient_from_an_unpickled_float16_seed_sums_in_float32():
    torch = pytest.importorskip("torch")
    seed = np.full((backend.BLOCKED_ROWS, 3), 0.1, np.float16)
    x = cr.tensor(np.zeros((backend.BLOCKED_ROWS, 3), np.float16))
    bias = cr.tensor(np.zeros(3, np.float16), requires_grad=True)
    (x + bias).backward(gradient=_unpickled(seed))
    expected = torch.tensor(seed).sum(dim=0).numpy()
    np.testing.assert_array_equal(bias.grad.numpy(), expected)


def test_astype_bfloat16_round_trip_is_taken_with_its_gradient():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([1.001, 2.7, -3.14159], np.float32)
    x = cr.tensor(values, requires_grad=True)
    y = x.astype("bfloat16").astype("float32")
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), values.astype(ml_dtypes.bfloat16).astype(np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3, np.float32))


def test_load_state_dict_names_a_read_only_parameter_and_writes_nothing():
    model = nn.Linear(2, 3)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    model.weight.data = np.broadcast_to(np.zeros(3, model.weight.dtype), (2, 3))
    bias = model.bias.data.copy()
    with pytest.raises(ValueError) as caught:
        model.load_state_dict(state)
    said = str(caught.value)
    assert said.startswith("load_state_dict: 'weight' of shape (2, 3) holds a read-only")
    assert "p.data = p.data.copy()" in said
    np.testing.assert_array_equal(model.bias.data, bias)  # nothing written


def test_load_state_dict_from_torch_names_a_read_only_parameter():
    torch = pytest.importorskip("torch")
    from chainrule import interop

    model = nn.Linear(2, 3)
    model.weight.data = np.broadcast_to(np.zeros(3, model.weight.dtype), (2, 3))
    with pytest.raises(ValueError, match=r"load_state_dict: 'weight' .* read-only"):
        interop.load_state_dict_from_torch(model, torch.nn.Linear(2, 3).state_dict())
