"""Workloads 3 and 4: long chains of tiny elementwise ops, forward then backward.

A chain applies ``ops`` in turn to a vector h, starting from h = x:

    mul: h <- h * w      add: h <- h + b      sigmoid: h <- 1 / (1 + e^-h)

with leaves w and b that every mul and add reads (fan-out: their gradients sum over the whole
chain), then E = sum(h) and backward to w and b. The arrays are tiny, so the time is the framework's
overhead per op: recording a node, the topological sort, calling each rule, summing fan-out.
Workload 3 is 10,000 ops on length-8 float32 vectors (mul, add, sigmoid); workload 4 is N ops on
length-1 float64 vectors (mul, add: every peer, micrograd included, has them) for N up to 1e6.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence

import numpy as np

from benchmarks.common import bench_threads, max_rss_bytes

Run = Callable[[int], tuple[float, float]]  # n_ops -> (forward seconds, backward seconds)


def _leaves(width: int, dtype: str):
    x = np.linspace(0.1, 0.9, width).astype(dtype)
    w = np.full(width, 0.9, dtype=dtype)
    b = np.full(width, 0.01, dtype=dtype)
    return x, w, b


def _op_sequence(ops: Sequence[str], n_ops: int) -> list[str]:
    """The chain's ops in order: built by every system before its timer starts."""
    return [ops[k % len(ops)] for k in range(n_ops)]


def make_chainrule(width: int, dtype: str, ops: Sequence[str]) -> Run:
    import chainrule as cr

    cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (not done by the import)

    x0, w0, b0 = _leaves(width, dtype)

    def run(n_ops: int) -> tuple[float, float]:
        w, b = cr.tensor(w0, requires_grad=True), cr.tensor(b0, requires_grad=True)
        sequence = _op_sequence(ops, n_ops)
        start = time.perf_counter()
        h = cr.tensor(x0)
        for op in sequence:
            h = h * w if op == "mul" else h + b if op == "add" else cr.sigmoid(h)
        loss = h.sum()
        middle = time.perf_counter()
        loss.backward()
        return middle - start, time.perf_counter() - middle

    return run


def make_numpy(width: int, dtype: str, ops: Sequence[str]) -> Run:
    """Hand-written: forward keeps each op's input (or output), backward walks them in reverse."""
    x0, w, b = _leaves(width, dtype)

    def run(n_ops: int) -> tuple[float, float]:
        sequence = _op_sequence(ops, n_ops)
        start = time.perf_counter()
        saved = []
        h = x0
        for op in sequence:
            if op == "mul":
                saved.append(h)
                h = h * w
            elif op == "add":
                saved.append(None)
                h = h + b
            else:
                h = 1 / (1 + np.exp(-h))
                saved.append(h)
            del op
        loss = h.sum()
        middle = time.perf_counter()
        g = np.ones_like(h)
        dw = np.zeros_like(w)
        db = np.zeros_like(b)
        for op, kept in zip(reversed(sequence), reversed(saved)):
            if op == "mul":
                dw += g * kept
                g = g * w
            elif op == "add":
                db += g
            else:
                g = g * kept * (1 - kept)
        del loss
        return middle - start, time.perf_counter() - middle

    return run


def make_torch(width: int, dtype: str, ops: Sequence[str]) -> Run:
    import torch

    torch.set_num_threads(bench_threads())
    x0, w0, b0 = (torch.from_numpy(a) for a in _leaves(width, dtype))

    def run(n_ops: int) -> tuple[float, float]:
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        sequence = _op_sequence(ops, n_ops)
        start = time.perf_counter()
        h = x0
        for op in sequence:
            h = h * w if op == "mul" else h + b if op == "add" else torch.sigmoid(h)
        loss = h.sum()
        middle = time.perf_counter()
        loss.backward()
        return middle - start, time.perf_counter() - middle

    return run


def make_autograd(width: int, dtype: str, ops: Sequence[str]) -> Run:
    import autograd
    import autograd.numpy as anp

    x0, w0, b0 = _leaves(width, dtype)

    def run(n_ops: int) -> tuple[float, float]:
        sequence = _op_sequence(ops, n_ops)

        def f(params):
            w, b = params
            h = x0
            for op in sequence:
                h = h * w if op == "mul" else h + b if op == "add" else 1 / (1 + anp.exp(-h))
            return anp.sum(h)

        start = time.perf_counter()
        vjp, _ = autograd.make_vjp(f)((w0, b0))
        middle = time.perf_counter()
        vjp(1.0)
        return middle - start, time.perf_counter() - middle

    return run


def make_jax(width: int, dtype: str, ops: Sequence[str]) -> Run:
    """JAX op by op (jax.vjp, no jit): what a dynamic graph costs it. Under jit this would be
    a compile of an N-op program, not a per-op overhead."""
    import jax
    import jax.numpy as jnp

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    x0, w0, b0 = (jnp.asarray(a) for a in _leaves(width, dtype))

    def run(n_ops: int) -> tuple[float, float]:
        sequence = _op_sequence(ops, n_ops)

        def f(w, b):
            h = x0
            for op in sequence:
                h = h * w if op == "mul" else h + b if op == "add" else jax.nn.sigmoid(h)
            return jnp.sum(h)

        start = time.perf_counter()
        loss, vjp = jax.vjp(f, w0, b0)
        jax.block_until_ready(loss)  # dispatch is asynchronous: time the forward, not its queue
        middle = time.perf_counter()
        jax.block_until_ready(vjp(jnp.ones((), dtype=dtype)))
        return middle - start, time.perf_counter() - middle

    return run


def make_micrograd(width: int, dtype: str, ops: Sequence[str]) -> Run:
    """micrograd's scalar Values, one per vector element; its backward sorts recursively."""
    from micrograd.engine import Value

    if "sigmoid" in ops:
        raise NotImplementedError("micrograd has no sigmoid (its Value offers +, *, **, relu)")
    x0, w0, b0 = _leaves(width, dtype)

    def run(n_ops: int) -> tuple[float, float]:
        w = [Value(float(v)) for v in w0]
        b = [Value(float(v)) for v in b0]
        sequence = _op_sequence(ops, n_ops)
        start = time.perf_counter()
        h = [Value(float(v)) for v in x0]
        for op in sequence:
            h = (
                [hi * wi for hi, wi in zip(h, w)]
                if op == "mul"
                else [hi + bi for hi, bi in zip(h, b)]
            )
        loss = sum(h[1:], h[0])
        middle = time.perf_counter()
        loss.backward()
        return middle - start, time.perf_counter() - middle

    return run


SYSTEMS: dict[str, Callable[[int, str, Sequence[str]], Run]] = {
    "chainrule": make_chainrule,
    "numpy": make_numpy,
    "torch": make_torch,
    "jax": make_jax,
    "autograd": make_autograd,
    "micrograd": make_micrograd,
}


def measure(
    system: str, n_ops: int, width: int, dtype: str, ops: list[str], reps: int, warmup: int
) -> dict:
    """Forward and backward seconds of a chain of ``n_ops`` ops, ``reps`` times after warming up
    on a chain of at most 300 ops (enough to fill caches, short enough for micrograd).

    ``rss_growth`` is how far the timed chains raised the process's peak RSS above what imports
    and the warm-up had reached: the memory a chain's graph (and its backward) holds at its peak,
    the one measure that sees torch's allocator as well as NumPy's.
    """
    try:
        run = SYSTEMS[system](width, dtype, ops)
    except NotImplementedError as error:
        return {"status": "skipped", "reason": str(error)}
    for _ in range(warmup):
        run(min(n_ops, 300))
    gc.collect()
    rss_before = max_rss_bytes()
    forward, backward, cpu, wall = [], [], 0.0, 0.0
    for _ in range(reps):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        f, b = run(n_ops)
        cpu += time.process_time() - cpu0
        wall += time.perf_counter() - wall0
        forward.append(f)
        backward.append(b)
    return {"times": [f + b for f, b in zip(forward, backward)], "forward": forward,
            "backward": backward, "cpu_per_wall": cpu / wall,
            "rss_growth": max_rss_bytes() - rss_before}  # fmt: skip
