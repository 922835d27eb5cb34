"""Two seams the float32/backends QA found (stop 54).

- Unsigned class labels or index keys on JAX without x64 were cast to int64, which JAX truncates
  to int32 with a warning on every call (uint8 labels are what IDX files hold).
- An initialiser given a library's dtype (``torch.float32``), as ``nn.Linear`` and ``cr.randn``
  take it, failed with NumPy's "Cannot interpret 'torch.float32' as a data type".
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_unsigned_labels_on_jax_without_x64_warn_of_nothing(jnp_without_x64):
    jnp = jnp_without_x64
    logits = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], np.float32)
    z = cr.tensor(logits, xp=jnp, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.CrossEntropy()(z, np.array([2, 0], np.uint8))
        loss.backward()
        picked = cr.tensor(np.arange(4.0, dtype=np.float32), xp=jnp)[np.array([0, 2, 2], np.uint8)]
    # oracle: the same loss written out in NumPy (mean of -log softmax at the labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(float(loss.item()), -(log_p[0, 2] + log_p[1, 0]) / 2, rtol=1e-6)
    assert np.asarray(picked.data).tolist() == [0.0, 2.0, 2.0]


@pytest.mark.parametrize("name", ["uniform", "glorot", "he", "zeros"])
def test_an_initialiser_takes_a_librarys_dtype(name):
    torch = pytest.importorskip("torch")
    init = getattr(nn.init, name)
    expected = init((3, 2), np.float64, 0)
    by_keyword = init((3, 2), dtype=torch.float64, rng=0, xp=torch)
    by_position = init((3, 2), torch.float64, 0)
    assert by_keyword.dtype == torch.float64
    np.testing.assert_array_equal(by_keyword.numpy(), expected)
    np.testing.assert_array_equal(np.asarray(by_position), expected)


def test_an_initialiser_names_itself_for_a_dtype_numpy_lacks():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"^he init: dtype torch.quint8"):
        nn.init.he((3, 2), dtype=torch.quint8)
