"""The array-module seam and the allocator setting in chainrule.backend."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend


class TaggedArray(np.ndarray):
    """A NumPy array of another type, standing in for a GPU library's array."""


def _counting_numpy(calls: list[str]) -> types.ModuleType:
    """A module with NumPy's interface that records which functions the ops ask it for."""
    proxy = types.ModuleType("counting_numpy")

    def __getattr__(name: str):
        calls.append(name)
        if name == "asarray":  # keep the array's own type, as the real library would
            return np.asanyarray
        if name == "where":  # NumPy's where returns a base ndarray; the library's returns its own
            return lambda *args: np.where(*args).view(TaggedArray)
        return getattr(np, name)

    proxy.__getattr__ = __getattr__
    return proxy


@pytest.fixture
def registered():
    calls: list[str] = []
    backend.register_array_module(TaggedArray, _counting_numpy(calls))
    yield calls
    backend._registered.pop(0)


def test_ops_forward_and_backward_go_through_the_registered_module(registered) -> None:
    data = np.array([0.5, -1.0, 2.0]).view(TaggedArray)
    x = cr.Tensor(data, requires_grad=True)
    assert x.xp.__name__ == "counting_numpy"
    y = (cr.sigmoid(x) * cr.exp(x)).sum()
    y.backward()
    assert {"exp", "ones", "sum"} <= set(registered)
    expected = np.exp(data) / (1 + np.exp(-data)) * (1 + 1 / (1 + np.exp(data)))
    np.testing.assert_allclose(np.asarray(x.grad.data), expected, rtol=1e-12)


def test_plain_numpy_arrays_never_reach_a_registered_module(registered) -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (cr.exp(x) * 2).sum().backward()
    assert registered == []
    assert backend.array_module(np.zeros(2)) is np


def test_keep_freed_memory_can_be_switched_off() -> None:
    code = "import chainrule.backend as b; print(b.keep_freed_memory())"
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"CHAINRULE_MALLOC": "system", "PATH": ""},
        check=True,
    )
    assert off.stdout.strip() == "False"
    if sys.platform.startswith("linux"):
        on = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={}, check=True
        )
        assert on.stdout.strip() in ("True", "False")  # False only off glibc (musl)
