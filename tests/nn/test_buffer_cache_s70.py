"""A buffer set to a recorded tensor is refused only where it is persistent (running statistics:
each step's graph chained into the last one's). A non-persistent buffer used as a cache of this
step's keys (``register_buffer('kv_cache', None, persistent=False)``, then ``self.kv_cache = k``)
holds the recorded tensor, as PyTorch's does, and the loss backpropagates through it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class _Cached(nn.Module):
    def __init__(self, persistent: bool) -> None:
        super().__init__()
        self.key = nn.Linear(3, 2)
        self.register_buffer("kv_cache", None, persistent=persistent)

    def forward(self, x):
        self.kv_cache = self.key(x)
        return (self.kv_cache * 2.0).sum()


def test_a_non_persistent_buffer_holds_a_recorded_cache_and_gradients_flow():
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    model = _Cached(persistent=False)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    model(cr.tensor(x)).backward()
    assert model.kv_cache.op is not None  # the recorded tensor itself
    assert "kv_cache" not in model.state_dict()
    # torch allows the same, and gives the same gradient
    tm = torch.nn.Module()
    tm.register_buffer("kv_cache", None, persistent=False)
    w = torch.tensor(model.key.weight.numpy().T, requires_grad=True)  # torch's (out, in)
    tm.kv_cache = torch.tensor(x) @ w.T
    (tm.kv_cache * 2.0).sum().backward()
    np.testing.assert_allclose(model.key.weight.grad.numpy(), w.grad.numpy().T, rtol=1e-6)


def test_a_persistent_buffer_set_to_a_recorded_tensor_is_still_refused():
    model = _Cached(persistent=True)
    with pytest.raises(TypeError, match=r"_Cached.kv_cache is a buffer: .*cr.no_grad\(\)"):
        model(cr.tensor(np.ones((4, 3))))


def test_register_buffer_refuses_a_recorded_tensor_only_where_persistent():
    model = nn.Module()
    recorded = cr.tensor([1.0], requires_grad=True) * 2.0
    model.register_buffer("cache", recorded, persistent=False)
    assert model.cache is recorded
    with pytest.raises(TypeError, match=r"stats is a buffer"):
        model.register_buffer("stats", recorded)
