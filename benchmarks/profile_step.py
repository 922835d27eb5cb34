"""Where the time of workload 1's chainrule step goes: GEMM, elementwise NumPy, or framework.

    python benchmarks/profile_step.py [--steps 300] [--top 25]

Runs the chainrule training step of workload 1 (784-256-10, batch 128, float32, SGD) under
cProfile with every thread pool at one thread, then sorts the time into three buckets:

- GEMM: numpy's matmul (the BLAS calls);
- elementwise / reductions: every other NumPy function or ufunc (exp, add, multiply, sum, max ...);
- framework: the Python that chainrule runs around them (recording nodes, the topological
  sort, the rules' glue, the optimizer loop), i.e. everything else.

cProfile sees ``ndarray.__matmul__`` and ufunc calls as built-ins, so the split is by the name of
the innermost built-in that held the time. It prints the buckets and the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import mlp_problem  # noqa: E402
from benchmarks.workloads.mlp import gemm_flops, make_chainrule, make_numpy  # noqa: E402

SIZES, BATCH = [784, 256, 10], 128
_GEMM = ("matmul", "__matmul__", "dot")


def bucket(function: tuple[str, int, str]) -> str:
    """'gemm', 'numpy' or 'framework' for one cProfile function key (file, line, name)."""
    filename, _, name = function
    if filename == "~" and any(g in name for g in _GEMM):
        return "gemm"
    if filename == "~" and ("numpy" in name or "ufunc" in name or "ndarray" in name):
        return "numpy"
    if "/numpy/" in filename:
        return "numpy"
    return "framework"


def profile(steps: int) -> pstats.Stats:
    x, labels, weights, biases = mlp_problem(SIZES, BATCH)
    step, _ = make_chainrule(x, labels, weights, biases)
    for _ in range(10):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    return pstats.Stats(profiler)


def wall_per_step(make, steps: int) -> float:
    """Seconds per step without the profiler (its overhead inflates the framework bucket)."""
    x, labels, weights, biases = mlp_problem(SIZES, BATCH)
    step, _ = make(x, labels, weights, biases)
    for _ in range(10):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    mine = wall_per_step(make_chainrule, args.steps)
    floor = wall_per_step(make_numpy, args.steps)
    stats = profile(args.steps)
    totals = {"gemm": 0.0, "numpy": 0.0, "framework": 0.0}
    for function, (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[bucket(function)] += own
    whole = sum(totals.values())
    print(f"chainrule step {mine * 1e3:.3f} ms, hand-written NumPy step {floor * 1e3:.3f} ms")
    print(f"matmul work per step: {gemm_flops(SIZES, BATCH) / 1e6:.1f} MFLOP")
    print("share of profiled own time:")
    for name, seconds in totals.items():
        per_step = seconds / args.steps * 1e3
        print(f"  {name:<10} {100 * seconds / whole:5.1f}%  {per_step:.3f} ms/step")
    print(f"calls per step: {stats.total_calls / args.steps:.0f}")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
