"""The machine's peak single-precision matmul rate: the floor every MLP step is measured against.

NumPy's float32 matmul of two n x n matrices (2 n^3 flops) on the BLAS numpy ships, with the
thread count the parent set; the best of ``reps`` calls is the peak.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import blas_info, time_calls


def measure(n: int, reps: int) -> dict:
    """Seconds per n x n float32 matmul (after one warm-up) and the GFLOP/s of the best one."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    timed = time_calls(lambda: np.matmul(a, b, out=out), reps, warmup=1)
    return {**timed, "gflops": 2 * n**3 / min(timed["times"]) / 1e9, "blas": blas_info()}
