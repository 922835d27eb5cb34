"""What every child process shares: thread settings, timing, initial weights and machine facts."""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: The environment variables that pin each library's thread pool (set before any import).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Set on some processors here for old OpenBLAS builds; they slow a current numpy.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_environment(threads: int, unset_openblas_coretype: bool) -> dict[str, str]:
    """The environment of a child process: every thread pool pinned to ``threads``."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    env["BENCH_THREADS"] = str(threads)
    # XLA's CPU backend runs Eigen's thread pool unless told otherwise.
    xla = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env["XLA_FLAGS"] = xla if threads == 1 else env.get("XLA_FLAGS", "")
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if unset_openblas_coretype:
        for name in OPENBLAS_OVERRIDES:
            env.pop(name, None)
    return env


def bench_threads() -> int:
    """The thread count the parent asked this child to use."""
    return int(os.environ.get("BENCH_THREADS", "1"))


def time_calls(step: Callable[[], Any], reps: int, warmup: int) -> list[float]:
    """Seconds per call of ``step``, after ``warmup`` untimed calls (JIT compiles, caches fill)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def max_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mlp_problem(sizes: list[int], batch: int, seed: int = 0, dtype: Any = np.float32):
    """The shared starting point of workloads 1-2: inputs, labels, weights and biases.

    Weights are N(0, 1/fan_in) laid out (n_in, n_out) as the lecture's w_ij; biases are zero.
    Every system copies these arrays, so all start from the same weights.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], size=batch)
    weights = [
        (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    biases = [np.zeros(n_out, dtype=dtype) for n_out in sizes[1:]]
    return x, labels, weights, biases


def blas_info() -> list[dict[str, Any]]:
    """numpy's BLAS as threadpoolctl sees it: library, version, kernel (architecture), threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed (pip install -e '.[bench]')"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "prefix")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
