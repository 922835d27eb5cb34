"""functional_call from several threads on one network (L-BFGS from several starts in a thread
pool): calls take turns, and the network keeps its own parameters.

functional_call swapped values into ``holder.__dict__`` and put back whatever the slot held when
it began: with threads (NumPy's matmul lets another run meanwhile) a call computed with another
thread's values, and one that began while another's stand-in was in place put that stand-in back
for good (``net[0].weight`` no longer the registered parameter, while the state dict still showed
the right weights).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

SCALES = (0.5, 2.0, 3.0, -1.0)


def _network():
    return nn.Sequential(
        nn.Linear(16, 48, dtype="float64", rng=1),
        nn.Tanh(),
        nn.Linear(48, 1, dtype="float64", rng=2),
    )


def _in_threads(work, inputs):
    """``work(item)`` for each item in a thread of its own, all started together."""
    results = [None] * len(inputs)
    errors = []
    start = threading.Barrier(len(inputs))

    def run(k):
        try:
            start.wait()
            results[k] = work(inputs[k])
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _registered_in_place(net):
    """Each parameter's attribute is the parameter the module has registered."""
    return all(
        owner.__dict__[attr] is param
        for owner in net.modules()
        for attr, param in owner._parameters.items()
    )


def test_threads_get_the_serial_results_and_the_network_is_intact():
    """Four threads, each calling with its own values (NumPy's matmul lets the others run):
    every result is the serial one, and the network computes as before, with its own
    parameters in place. Ten rounds: overlapping calls met within one (before, one round
    in two or three)."""
    net = _network()
    x = np.random.default_rng(0).standard_normal((200, 16))
    before = net(x).numpy().copy()
    registered = dict(net.named_parameters())
    starts = [{k: v * s for k, v in net.state_dict().items()} for s in SCALES]
    serial = [nn.functional_call(net, p, x).numpy().copy() for p in starts]

    def calls(p):
        return [nn.functional_call(net, p, x).numpy().copy() for _ in range(25)]

    for _ in range(10):
        threaded = _in_threads(calls, starts)
        for outputs, expected in zip(threaded, serial):
            for output in outputs:
                np.testing.assert_array_equal(output, expected)
        np.testing.assert_array_equal(net(x).numpy(), before)
        assert all(registered[name] is param for name, param in net.named_parameters())
        assert _registered_in_place(net)


class _Gate(nn.Module):
    """A layer whose forward, in the thread named "first", waits for the second thread's call
    to reach its forward before it reads its weight; the second's forward waits for the first
    call to have returned. Calls that take turns never meet (the first waits out its wait, the
    second finds the first done); calls that overlap interleave so, every time."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.eye(2))
        self.first_inside, self.second_inside, self.first_done = (threading.Event() for _ in "123")

    def forward(self, x):
        if threading.current_thread().name == "first":
            self.first_inside.set()
            self.second_inside.wait(timeout=0.5)  # passes by itself once calls take turns
            return x @ self.weight
        y = x @ self.weight
        self.second_inside.set()
        self.first_done.wait(timeout=5)
        return y


@pytest.mark.parametrize("through", ["call", "value_and_grad"])
def test_overlapping_calls_take_turns(through):
    gate = _Gate()
    own = gate.weight
    x = np.array([[1.0, 2.0]])
    values = {
        "first": np.array([[2.0, 0.0], [0.0, 3.0]]),
        "second": np.array([[5.0, 1.0], [1.0, 7.0]]),
    }
    results = {}

    def call(name):
        if through == "call":
            results[name] = nn.functional_call(gate, {"weight": values[name]}, x).numpy().copy()
        else:
            value, grad = cr.value_and_grad(
                lambda w: nn.functional_call(gate, {"weight": w}, x).sum()
            )(values[name])
            results[name] = (value.item(), grad.numpy().copy())
        if name == "first":
            gate.first_done.set()

    first = threading.Thread(target=call, args=("first",), name="first")
    second = threading.Thread(target=call, args=("second",), name="second")
    first.start()
    assert gate.first_inside.wait(timeout=5)
    second.start()
    first.join()
    second.join()
    for name, w in values.items():
        if through == "call":
            np.testing.assert_array_equal(results[name], x @ w)
        else:  # d sum(x @ W) / dW[i, j] = x[0, i]
            assert results[name][0] == (x @ w).sum()
            np.testing.assert_array_equal(results[name][1], np.repeat(x.T, 2, axis=1))
    assert gate.weight is own
    assert gate.__dict__["weight"] is own


def test_a_call_puts_back_the_registered_parameter_not_what_it_found():
    """What a slot holds when a call begins may be a stand-in another call left there: the
    call puts back the parameter the module registered."""
    net = _network()
    x = np.ones((2, 16))
    before = net(x).numpy().copy()
    weight = net[0].weight
    net[0].__dict__["weight"] = cr.tensor(np.zeros((16, 48)))  # a stand-in left behind
    nn.functional_call(net, {"0.weight": weight.data * 2}, x)
    assert net[0].weight is weight
    np.testing.assert_array_equal(net(x).numpy(), before)
