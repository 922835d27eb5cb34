"""Parallel moved to another array library takes a plain batch, as Sequential and Linear do
(docs/nn.md: a plain array moves to the weights' library, device and dtype)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn

X = np.random.default_rng(0).normal(size=(2, 5))


def _library(name: str):
    if name == "torch":
        return pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    return pytest.importorskip("array_api_strict")


def _parallel() -> nn.Parallel:
    return nn.Parallel((2, nn.Linear(2, 1, rng=0)), (3, nn.Linear(3, 2, rng=1)))


@pytest.mark.parametrize("name", ["torch", "strict"])
@pytest.mark.parametrize("batch", ["array", "list"])
@pytest.mark.parametrize("wrapped", [False, True])
def test_parallel_on_another_library_takes_a_plain_batch(name, batch, wrapped):
    """``Parallel.to(xp=torch)(numpy_batch)`` raised NumPy's "Cannot interpret 'torch.float32'
    as a data type" (the batch was made a NumPy tensor of the weights' dtype object). Oracle:
    the same network on NumPy, its outputs and its weights' gradients."""
    xp = _library(name)
    x = X if batch == "array" else X.tolist()

    def make():
        net = _parallel()
        return nn.Sequential(net, nn.Logistic()) if wrapped else net

    reference = make()
    want = reference(X)
    (want * want).sum().backward()
    model = make().to(xp=xp, dtype="float32")
    out = model(x)
    assert type(out.data).__module__.split(".")[0] == xp.__name__.split(".")[0]
    assert out.dtype == xp.float32  # the weights' dtype, not the batch's float64
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5)
    (out * out).sum().backward()
    for mine, theirs in zip(model.parameters(), reference.parameters()):
        assert mine.grad.dtype == xp.float32
        np.testing.assert_allclose(
            backend.to_numpy(mine.grad.data), theirs.grad.numpy(), rtol=1e-4, atol=1e-6
        )


def test_parallel_on_numpy_still_casts_a_plain_batch_to_its_dtype():
    """NumPy's path is as before: a float64 batch for float32 weights computes in float32."""
    net = _parallel().to(dtype="float32")
    assert net(X).dtype == np.float32
    assert net(X.tolist()).dtype == np.float32
    assert net(cr.tensor(X)).dtype == np.float64  # a tensor is taken as given
