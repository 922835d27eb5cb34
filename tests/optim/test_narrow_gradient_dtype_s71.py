"""A gradient narrower than its parameter (a float16 ``.grad`` for a float32 weight) was read as
it is, so the update's products were rounded in float16 (SGD's ``lr * g``, Adam's
``(1 - beta1) g``): Adam stepped [1, 2] to [0.9000446, 1.900662] where a float32 gradient of the
same values gives [0.9, 1.900001]. Every optimizer now reads it in the parameter's dtype
(widened exactly), so its steps are bit for bit those of the same gradient in float32."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, optim

SETTINGS = {
    "sgd": (optim.SGD, {"lr": 0.1}),
    "sgd-momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "sgd-nesterov": (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "sgd-decay-shrink": (optim.SGD, {"lr": 0.1, "weight_decay": 0.01, "shrink": 0.002}),
    "rmsprop": (optim.RMSprop, {"lr": 0.01}),
    "rmsprop-momentum": (optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
    "adam": (optim.Adam, {"lr": 0.1}),
    "adam-decay": (optim.Adam, {"lr": 0.1, "weight_decay": 0.01}),
    "adamw": (optim.AdamW, {"lr": 0.1}),
}


def gradients(shape: tuple[int, ...], steps: int) -> list[np.ndarray]:
    """float16 gradients (so their float32 copies hold the same values exactly)."""
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape).astype(np.float16) for _ in range(steps)]


def trajectory(name: str, start: np.ndarray, grads: list[np.ndarray], dtype, xp=np) -> np.ndarray:
    cls, hyper = SETTINGS[name]
    p = nn.Parameter(xp.asarray(start.copy()))  # its own array: the step writes in place
    opt = cls([p], **hyper)
    for g in grads:
        p.grad = xp.asarray(g.astype(dtype))
        opt.step()
    return np.array(p.data)


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("size", [3, 5000], ids=["small", "axpy-sized"])
def test_a_float16_gradient_steps_a_float32_parameter_as_its_float32_copy(name, size):
    start = np.random.default_rng(1).normal(size=size).astype(np.float32)
    grads = gradients((size,), 4)
    stepped = trajectory(name, start, grads, np.float16)
    oracle = trajectory(name, start, grads, np.float32)
    assert stepped.dtype == np.float32
    np.testing.assert_array_equal(stepped, oracle)


def test_the_reported_adam_step():
    p = nn.Parameter(np.array([1.0, 2.0], np.float32))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.array([0.5, 1e-3], np.float16)
    opt.step()
    q = nn.Parameter(np.array([1.0, 2.0], np.float32))
    oracle = optim.Adam([q], lr=0.1)
    q.grad = np.array([0.5, 1e-3], np.float32)
    oracle.step()
    np.testing.assert_array_equal(p.data, q.data)
    assert p.grad.dtype == np.float16  # the gradient itself is left as it was given


@pytest.mark.parametrize("name", ["sgd", "sgd-momentum", "rmsprop", "adam"])
def test_a_float32_gradient_steps_a_float64_parameter_as_its_float64_copy(name):
    start = np.random.default_rng(2).normal(size=6)
    grads = [g.astype(np.float32) for g in gradients((6,), 3)]
    np.testing.assert_array_equal(
        trajectory(name, start, grads, np.float32), trajectory(name, start, grads, np.float64)
    )


@pytest.mark.parametrize("name", ["sgd", "sgd-momentum", "adam"])
def test_the_update_without_out_reads_it_in_the_parameters_dtype_too(name):
    """array-api-strict's arrays cannot be written: its update is the ``_updated`` path (it has
    no float16: a float32 gradient of a float64 parameter)."""
    xp = pytest.importorskip("array_api_strict")
    start = np.random.default_rng(3).normal(size=4)
    grads = [g.astype(np.float32) for g in gradients((4,), 3)]
    stepped = trajectory(name, start, grads, np.float32, xp=xp)
    oracle = trajectory(name, start, grads, np.float64, xp=xp)
    assert stepped.dtype == np.float64
    np.testing.assert_array_equal(stepped, oracle)
