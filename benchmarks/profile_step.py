"""Where the time of workload 1's chainrule step goes: GEMM, elementwise NumPy, or framework.

    python benchmarks/profile_step.py [--steps 600] [--top 25]

Splits the chainrule training step of workload 1 (784-256-10, batch 128, float32, SGD; every
thread pool at one thread) into three parts, by measurement rather than by profile attribution
(cProfile charges ``a @ b`` and ``a * b`` on arrays to the Python function that wrote them, so
it cannot separate them from the framework):

- GEMM: the step's five matmuls timed alone on the same shapes;
- elementwise and reductions: the hand-written NumPy step (benchmarks/peers) minus the GEMM;
- framework: chainrule's step minus the hand-written one (recording, the backward walk, the
  rules' glue and their extra temporaries, the optimizer loop).

Then it prints cProfile's top functions by own time, to show which framework code holds it.
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
    os.environ[_name] = "1"  # outright: a user's OPENBLAS_NUM_THREADS=4 would skew the profile

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402  (after the thread variables are set)

from benchmarks.common import mlp_problem  # noqa: E402
from benchmarks.workloads.mlp import gemm_flops, make_chainrule, make_numpy  # noqa: E402

SIZES, BATCH = [784, 256, 10], 128
TINY = [4, 3, 2]


def gemm_seconds(steps: int) -> float:
    """Seconds per step of the step's matmuls alone, on the same shapes and layouts:
    forward x @ W1, y @ W2; backward y.T @ dz2, dz2 @ W2.T, x.T @ dz1."""
    x, _, (w1, w2), _ = mlp_problem(SIZES, BATCH)
    rng = np.random.default_rng(1)
    y = rng.random((BATCH, SIZES[1]), dtype=np.float32)
    dz2 = rng.standard_normal((BATCH, SIZES[2])).astype(np.float32)
    dz1 = rng.standard_normal((BATCH, SIZES[1])).astype(np.float32)

    def matmuls() -> None:
        x @ w1, y @ w2, y.T @ dz2, dz2 @ w2.T, x.T @ dz1

    for _ in range(10):
        matmuls()
    start = time.perf_counter()
    for _ in range(steps):
        matmuls()
    return (time.perf_counter() - start) / steps


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


def wall_per_step(
    makes: tuple, steps: int, sizes: list[int] = SIZES, batch: int = BATCH, rounds: int = 15
) -> list[float]:
    """Seconds per step of each maker's step, without the profiler (its overhead would inflate
    the framework bucket): rounds of ``steps // rounds`` steps, the systems taking turns, and the
    median round of each (this machine's noise moves whole rounds, not single steps)."""
    x, labels, weights, biases = mlp_problem(sizes, batch)
    runs = [make(x, labels, weights, biases)[0] for make in makes]
    for step in runs:
        for _ in range(10):
            step()
    per_round = max(1, steps // rounds)
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for step, seen in zip(runs, times):
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            seen.append((time.perf_counter() - start) / per_round)
    return [float(np.median(seen)) for seen in times]


def _positive(text: str) -> int:
    """An argparse type: a whole number > 0 (--steps 0 divided by zero, -5 printed nonsense)."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=_positive, default=600)
    parser.add_argument("--top", type=_positive, default=25)
    args = parser.parse_args(argv)
    mine, floor = wall_per_step((make_chainrule, make_numpy), args.steps)
    gemm = gemm_seconds(args.steps)
    print(f"chainrule step {mine * 1e3:.3f} ms; hand-written NumPy step {floor * 1e3:.3f} ms")
    print(f"matmul work per step: {gemm_flops(SIZES, BATCH) / 1e6:.1f} MFLOP")
    print("where chainrule's step goes (measured, not profiled):")
    parts = {
        "GEMM (the five matmuls alone)": gemm,
        "elementwise + reductions (NumPy peer - GEMM)": floor - gemm,
        "framework (chainrule - NumPy peer)": mine - floor,
    }
    for name, seconds in parts.items():
        print(f"  {name:<46} {seconds * 1e3:7.3f} ms  {100 * seconds / mine:5.1f}%")
    # The same framework work on a network too small to evict anything from the caches: the
    # difference is what the big step's operands cost the Python around them.
    tiny_mine, tiny_floor = wall_per_step((make_chainrule, make_numpy), 20 * args.steps, TINY, 2)
    print(
        f"framework on a {'-'.join(map(str, TINY))} network, batch 2 (warm caches): "
        f"{(tiny_mine - tiny_floor) * 1e3:.3f} ms"
    )
    stats = profile(args.steps)
    print(f"calls per step: {stats.total_calls / args.steps:.0f}")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
