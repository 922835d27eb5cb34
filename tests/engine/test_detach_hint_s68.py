"""Truncated backpropagation through time without ``.detach()``: the hidden state carried into
the next batch leads backward into the earlier batch's graph. That gave "the graph ... was
freed ...; pass retain_graph=True", and following it, after an optimizer's step, "input 1 of
'add' was changed in place (an optimizer's step ...)": neither said the likely case, a value
from an earlier step carried into this one, cut with ``h = h.detach()``. Both say it now, and
doing so trains as PyTorch does.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphFreedError

DETACH = (
    "if a value from an earlier step is carried into this one (an RNN's hidden state), cut it "
    "with h = h.detach()"
)


def _weights():
    rng = np.random.default_rng(0)
    return rng.normal(0, 0.5, (2, 3)), rng.normal(0, 0.5, (3, 3))


def _batches():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(3, 2, 2)) for _ in range(3)]


def _run(U, W, x, h, lib=cr):
    for t in range(x.shape[0]):
        h = lib.tanh(lib.matmul(lib.tensor(x[t]), U) + lib.matmul(h, W))
    return h


def _train(detach: bool, retain_graph: bool = False):
    U0, W0 = _weights()
    U, W = cr.tensor(U0, requires_grad=True), cr.tensor(W0, requires_grad=True)
    optimizer = cr.optim.SGD([U, W], lr=0.1)
    h = cr.zeros((2, 3), dtype="float64")
    for x in _batches():
        optimizer.zero_grad()
        h = _run(U, W, x, h)
        (h**2).sum().backward(retain_graph=retain_graph)
        optimizer.step()
        if detach:
            h = h.detach()
    return U, W


def test_the_freed_graph_names_detach_and_doing_so_trains_as_torch(torch):
    with pytest.raises(GraphFreedError) as raised:
        _train(detach=False)
    message = str(raised.value)
    assert "pass retain_graph=True" in message and DETACH in message
    U, W = _train(detach=True)
    U0, W0 = _weights()
    Ut = torch.tensor(U0, requires_grad=True)
    Wt = torch.tensor(W0, requires_grad=True)
    optimizer = torch.optim.SGD([Ut, Wt], lr=0.1)
    h = torch.zeros(2, 3, dtype=torch.float64)
    for x in _batches():
        optimizer.zero_grad()
        h = _run(Ut, Wt, x, h, lib=torch)
        (h**2).sum().backward()
        optimizer.step()
        h = h.detach()
    np.testing.assert_allclose(U.numpy(), Ut.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(W.numpy(), Wt.detach().numpy(), rtol=1e-12)


def test_the_freed_graph_names_detach_for_cr_gradient_too():
    U0, W0 = _weights()
    U, W = cr.tensor(U0, requires_grad=True), cr.tensor(W0, requires_grad=True)
    h = _run(U, W, _batches()[0], cr.zeros((2, 3), dtype="float64"))
    cr.gradient((h**2).sum(), [U, W])
    h = _run(U, W, _batches()[1], h)
    with pytest.raises(GraphFreedError, match="cr.gradient") as raised:
        cr.gradient((h**2).sum(), [U, W])
    assert DETACH in str(raised.value)


def test_the_graph_changed_by_a_step_names_detach():
    with pytest.raises(RuntimeError, match="changed in place") as raised:
        _train(detach=False, retain_graph=True)
    assert DETACH in str(raised.value)
