"""Review of functional_call's turns and of pickling (s66).

- functional_call took a lock on every module of the tree for its whole forward: a forward that
  hands a submodule's work to another thread (an ensemble evaluating its members in a thread
  pool through ``functional_call(self.a, {}, x)``) waited for itself, for ever. It takes one
  lock now, the module's passed to it.
- The default generator pickled alone (a checkpoint of its state) unpickled as the receiving
  process's live default, not the state saved: now NumPy's, a plain generator in its state; a
  module holding the default still unpickles drawing from the receiving process's.
- ``copy.copy`` of a network, or of a parameter, whose ``.grad`` was made by
  ``backward(create_graph=True)`` raised; only a deep copy and pickle refuse it.
"""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _in_a_worker(function, *args):
    """``function(*args)`` in a daemon thread of its own, waited for at most 20 s: a
    ``TimeoutError`` where it waits for ever (a daemon thread left waiting blocks no exit)."""
    result = []
    worker = threading.Thread(target=lambda: result.append(function(*args)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        raise TimeoutError(f"{getattr(function, '__name__', function)} waited for ever")
    return result[0]


class _Ensemble(nn.Module):
    """Two members, each evaluated in a worker thread by functional_call on it (the review's
    case used a ThreadPoolExecutor)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(2, 1, dtype="float64", rng=0)
        self.b = nn.Linear(2, 1, dtype="float64", rng=1)

    def forward(self, x):
        first = _in_a_worker(nn.functional_call, self.a, {}, x)
        return first + _in_a_worker(nn.functional_call, self.b, {}, x)


def test_a_forward_calling_its_members_in_worker_threads_finishes():
    """The review's case: the members' calls in the workers take their own modules' turns,
    not the network's, and see the values swapped into the network."""
    x = np.ones((3, 2))
    net = _Ensemble()
    params = {k: v * 2.0 for k, v in net.named_parameters()}
    expected = sum(
        x @ (2.0 * member.weight.numpy()) + 2.0 * member.bias.numpy() for member in (net.a, net.b)
    )
    result = _in_a_worker(nn.functional_call, net, params, x)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12)
    assert all(
        owner.__dict__[attr] is param
        for owner in net.modules()
        for attr, param in owner._parameters.items()
    )


def test_the_default_generator_pickled_alone_restores_its_state():
    """A checkpoint of the generator (``pickle.dumps({"rng": cr.manual_seed(0)})``) draws what
    the generator drew after it, as NumPy's generators do; a network beside it holding the
    default (``Dropout()``) still unpickles with the receiving process's default."""
    default = cr.creation.as_generator(None)
    state = default.bit_generator.state
    try:
        rng = cr.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5))
        saved = pickle.dumps({"rng": rng, "net": net})
        first = rng.normal(size=4)
        restored = pickle.loads(saved)
        assert restored["rng"] is not default
        np.testing.assert_array_equal(restored["rng"].normal(size=4), first)
        assert restored["net"][1].rng is default
        assert copy.deepcopy(net)[1].rng is default
    finally:
        default.bit_generator.state = state


def _with_a_gradients_graph():
    net = nn.Linear(2, 1, dtype="float64", rng=0)
    loss = (net(cr.tensor(np.ones((3, 2)))) ** 2).sum()
    loss.backward(create_graph=True)
    assert net.weight.grad.requires_grad  # the gradient carries its graph
    return net


def test_a_shallow_copy_takes_a_gradient_that_carries_a_graph():
    net = _with_a_gradients_graph()
    shallow = copy.copy(net)
    assert type(shallow) is nn.Linear and shallow.weight is net.weight
    np.testing.assert_array_equal(shallow(np.ones((1, 2))).numpy(), net(np.ones((1, 2))).numpy())
    weight = copy.copy(net.weight)
    assert weight is not net.weight and weight.grad is net.weight.grad
    np.testing.assert_array_equal(weight.numpy(), net.weight.numpy())
    assert weight.requires_grad and type(weight) is type(net.weight)


@pytest.mark.parametrize("copier", [copy.deepcopy, pickle.dumps], ids=["deepcopy", "pickle"])
def test_a_deep_copy_and_pickle_still_refuse_it(copier):
    net = _with_a_gradients_graph()
    with pytest.raises(RuntimeError, match="create_graph=True"):
        copier(net)
    with pytest.raises(RuntimeError, match="create_graph=True"):
        copier(net.weight)
