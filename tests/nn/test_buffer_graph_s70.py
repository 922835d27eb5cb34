"""A buffer set to a tensor the graph recorded is refused, naming the buffer and the fix.

A BatchNorm of one's own that updated its running mean without ``cr.no_grad()``
(``self.running_mean = 0.9 * self.running_mean + 0.1 * cr.mean(x, 0)``) chained every step's
graph to the last one's: memory grew step by step, and a later backward failed far from the
line at fault. A parameter computed from others was refused already; such a buffer is now too,
while the updates under ``cr.no_grad()`` (in place, or a new value) and ``.detach()`` work, and
give the running mean the closed form says.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.random.default_rng(0).normal(size=(6, 3))


class _BatchNormS70(nn.Module):
    """The QA's BatchNorm1d, its running mean updated the way ``update`` names."""

    def __init__(self, n: int, update: str, momentum: float = 0.1) -> None:
        super().__init__()
        self.update, self.momentum = update, momentum
        self.gamma = nn.Parameter(np.ones(n))
        self.beta = nn.Parameter(np.zeros(n))
        self.register_buffer("running_mean", np.zeros(n))

    def forward(self, x):
        m, v = cr.mean(x, 0), cr.var(x, 0)
        old, new = 1 - self.momentum, self.momentum
        if self.update == "recorded":
            self.running_mean = old * self.running_mean + new * m
        elif self.update == "in place":
            with cr.no_grad():
                self.running_mean[...] = old * self.running_mean + new * m
        elif self.update == "no_grad":
            with cr.no_grad():
                self.running_mean = old * self.running_mean + new * m
        else:
            self.running_mean = (old * self.running_mean + new * m).detach()
        return (x - m) / cr.sqrt(v + 1e-5) * self.gamma + self.beta


def _net(update: str):
    return nn.Sequential(nn.Linear(3, 2, rng=0), _BatchNormS70(2, update))


def _step(net) -> None:
    cr.sum(net(cr.tensor(X)) ** 2).backward()


def test_a_recorded_running_mean_is_refused_naming_it_and_the_fix() -> None:
    net = _net("recorded")
    with pytest.raises(TypeError) as error:
        _step(net)
    text = str(error.value)
    assert text.startswith("_BatchNormS70.running_mean is a buffer: cannot set it to the"), text
    assert "with cr.no_grad(): module.running_mean[...] = ... (in place)" in text, text
    assert "value.detach()" in text, text
    assert np.array_equal(net[1].running_mean, np.zeros(2))  # nothing was kept


@pytest.mark.parametrize("update", ["in place", "no_grad", "detach"])
def test_updates_without_a_graph_keep_the_running_mean(update) -> None:
    net = _net(update)
    for _ in range(3):
        _step(net)
    z = X @ np.asarray(net[0].weight.numpy()) + np.asarray(net[0].bias.numpy())
    expected = (1 - 0.9**3) * z.mean(axis=0)  # three steps of momentum 0.1 from zero
    np.testing.assert_allclose(np.asarray(cr.tensor(net[1].running_mean).numpy()), expected,
                               rtol=1e-12)  # fmt: skip
    assert net[1].gamma.grad is not None


def test_a_tensor_buffer_is_told_to_take_a_new_value() -> None:
    bn = _BatchNormS70(2, "recorded")
    bn.running_mean = cr.tensor(np.zeros(2))  # a tensor buffer: no in-place write offered
    x = cr.tensor(X[:, :2], requires_grad=True)
    with pytest.raises(TypeError, match=r"with cr.no_grad\(\): module.running_mean = \.\.\., "):
        bn(x)


def test_register_buffer_refuses_a_recorded_tensor_too() -> None:
    module = nn.Module()
    recorded = cr.tensor(np.ones(2), requires_grad=True) * 2
    with pytest.raises(TypeError, match="Module.stats is a buffer: cannot set it to the output"):
        module.register_buffer("stats", recorded)
    module.register_buffer("stats", recorded.detach())  # the fix named
