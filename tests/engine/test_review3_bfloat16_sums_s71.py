"""Review 3 of stop 71: once astype to ml_dtypes' bfloat16 was taken again on NumPy (aeb7e05), its
sums and means were NumPy's, added in bfloat16: 4,096 ones summed to 256 and a mean of 0.1 came
out 0.0078. A float narrower than float32 (float16, bfloat16) is added in float32 and rounded
once, as torch adds it; float32 and float64 stay NumPy's sum bit for bit."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("rows", [1024, 4096, 5000])
def test_bfloat16_sums_and_means_are_torchs(rows):
    values = np.random.default_rng(0).uniform(0, 1, (rows, 3)).astype(np.float32)
    x = cr.tensor(values).astype("bfloat16")
    t = torch.tensor(values).bfloat16()
    got = x.sum(axis=0).numpy().astype(np.float32)
    np.testing.assert_array_equal(got, t.sum(0).float().numpy())
    mean = x.mean(axis=0).numpy().astype(np.float32)
    np.testing.assert_allclose(mean, t.mean(0).float().numpy(), rtol=2**-7)


def test_bfloat16_bias_gradient_sums_rows_in_float32():
    g = np.ones((5000, 2), ml_dtypes.bfloat16)
    expected = torch.ones((5000, 2), dtype=torch.bfloat16).sum(0).float().numpy()
    np.testing.assert_array_equal(backend.sum_rows(g).astype(np.float32), expected)
    broadcast = np.broadcast_to(np.array(1, ml_dtypes.bfloat16), (5000, 2))
    np.testing.assert_array_equal(backend.sum_rows(broadcast).astype(np.float32), expected)


def test_float32_and_integer_sums_stay_numpys():
    x = np.random.default_rng(1).standard_normal((5000, 3)).astype(np.float32)
    assert backend.host_sum(x, 0).tobytes() == x.sum(axis=0).tobytes()
    ints = np.ones((5000, 2), np.int8)
    assert backend.host_sum(ints, 0).dtype == ints.sum(axis=0).dtype
