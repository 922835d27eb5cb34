"""``torch.as_tensor(t)`` and ``torch.tensor(t)`` of a chainrule tensor. PyTorch reads no
``__array__``: it read the tensor as a sequence (``len``, ``t[0]``, ...) and failed at its first
0-d element, "len() of a 0-d tensor". It reads DLPack, and a tensor now gives its values that
way, as ``np.asarray(t)`` gives them (shared), and refuses as ``np.asarray`` refuses a tensor
that needs a gradient while recording."""

import numpy as np
import pytest

import chainrule as cr

VALUES = {
    "vector": [1.0, 2.0],
    "scalar": 2.5,
    "matrix": [[1.0, -2.0, 3.0], [4.0, 5.0, 6.0]],
}


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_torch_gets_the_values_and_the_dtype(torch, values, dtype):
    t = cr.tensor(values, dtype=dtype)
    for read in (torch.as_tensor, torch.tensor):
        got = read(t)
        assert got.dtype == getattr(torch, dtype)
        np.testing.assert_array_equal(got.numpy(), np.asarray(t))


def test_as_tensor_shares_as_np_asarray_does_and_tensor_copies(torch):
    t = cr.tensor([1.0, 2.0])
    torch.as_tensor(t)[0] = 7.0
    assert t.numpy().tolist() == [7.0, 2.0]
    torch.tensor(t)[1] = 9.0
    assert t.numpy().tolist() == [7.0, 2.0]


def test_a_tensor_that_needs_a_gradient_is_refused_as_numpy_refuses_it(torch):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as by_numpy:
        np.asarray(w)
    with pytest.raises(TypeError) as by_torch:
        torch.as_tensor(w)
    assert "a tensor that needs a gradient cannot become" in str(by_torch.value)
    assert "len() of" not in str(by_torch.value)
    same = "functions would drop it from the graph"  # and the ways out after it, word for word
    assert str(by_torch.value).split(same)[1] == str(by_numpy.value).split(same)[1]
    assert by_torch.value.refused_tensor is w  # marked as __array__ marks it, for transforms
    with cr.no_grad():
        np.testing.assert_array_equal(torch.as_tensor(w).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(torch.as_tensor(w.detach()).numpy(), [1.0, 2.0])


def test_a_torch_backed_tensor_gives_torch_its_own_array(torch):
    t = cr.tensor(torch.tensor([1.0, 2.0], dtype=torch.float32))
    got = torch.as_tensor(t)
    assert got.dtype == torch.float32 and got.tolist() == [1.0, 2.0]


def test_numpy_reads_dlpack_too():
    t = cr.tensor([[1.0, 2.0]], dtype="float32")
    got = np.from_dlpack(t)
    assert got.dtype == np.float32 and np.shares_memory(got, t.numpy())
