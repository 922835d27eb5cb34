"""The engine's first benchmark: per-op overhead and deep chains, chainrule against PyTorch.

Run it as a script (it is not a test):

    python benchmarks/bench_engine.py                 # full run, a markdown table on stdout
    python benchmarks/bench_engine.py --quick         # fewer rounds, chains up to 10,000
    python benchmarks/bench_engine.py --json out.json # also write the raw timings

Both libraries run in this one process, on one thread each (OMP/OPENBLAS/MKL threads and
``torch.set_num_threads(1)``), in interleaved rounds (chainrule, torch, chainrule, torch ...), so
a slow moment of the machine hurts both alike; each cell is the median over the rounds. The ratio
is torch time / chainrule time: above 1 chainrule is faster, below 1 PyTorch is.
"""

from __future__ import annotations

import os

# Single-threaded maths on both sides, set before NumPy or PyTorch load their thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (not done by the import)

try:
    import torch
except ImportError:  # the comparison needs the bench extra: pip install -e '.[bench]'
    torch = None

TINY = 8  # length of the vectors in the per-op workloads: the arithmetic is negligible
OVERHEAD_OPS = 10_000


@dataclass
class Timing:
    """Seconds per round for one workload in one library, forward and backward apart."""

    forward: list[float] = field(default_factory=list)
    backward: list[float] = field(default_factory=list)

    def median(self, part: str) -> float:
        return statistics.median(getattr(self, part))


# ---------------------------------------------------------------------------------------------
# The workloads: one function per library, returning (forward seconds, backward seconds)
# ---------------------------------------------------------------------------------------------


def _timed(build: Callable[[], object], backward: Callable[[object], None]) -> tuple[float, float]:
    """Time ``build()`` (the forward pass, recording the graph) and then ``backward(result)``."""
    gc.collect()
    gc.disable()  # a collection in the middle of one library's run would be noise
    try:
        start = time.perf_counter()
        out = build()
        middle = time.perf_counter()
        backward(out)
        end = time.perf_counter()
    finally:
        gc.enable()
    return middle - start, end - middle


def _step_chainrule(op: str) -> Callable:
    return {
        "add": lambda y: y + 0.001,
        "mul": lambda y: y * 0.999,
        "sigmoid": cr.sigmoid,
        "mixed": lambda y: cr.sigmoid(y * 0.999 + 0.001),
    }[op]


def _step_torch(op: str) -> Callable:
    return {
        "add": lambda y: y + 0.001,
        "mul": lambda y: y * 0.999,
        "sigmoid": torch.sigmoid,
        "mixed": lambda y: torch.sigmoid(y * 0.999 + 0.001),
    }[op]


def chain_chainrule(op: str, n_ops: int, width: int) -> tuple[float, float]:
    """``n_ops`` applications of ``op`` in a chain on a vector of ``width``, then backward."""
    x = cr.tensor(np.linspace(-1.0, 1.0, width), requires_grad=True)
    step = _step_chainrule(op)
    per_call = 3 if op == "mixed" else 1

    def build():
        y = x
        for _ in range(n_ops // per_call):
            y = step(y)
        return y.sum()

    return _timed(build, lambda out: out.backward())


def chain_torch(op: str, n_ops: int, width: int) -> tuple[float, float]:
    """The same chain in PyTorch (float64, like chainrule's default)."""
    x = torch.linspace(-1.0, 1.0, width, dtype=torch.float64, requires_grad=True)
    step = _step_torch(op)
    per_call = 3 if op == "mixed" else 1

    def build():
        y = x
        for _ in range(n_ops // per_call):
            y = step(y)
        return y.sum()

    return _timed(build, lambda out: out.backward())


def _check_agreement(op: str, n_ops: int) -> None:
    """Both libraries compute the same gradient (a benchmark of a wrong answer is worthless)."""
    x = cr.tensor(np.linspace(-1.0, 1.0, TINY), requires_grad=True)
    tx = torch.linspace(-1.0, 1.0, TINY, dtype=torch.float64, requires_grad=True)
    y, ty = x, tx
    step, t_step = _step_chainrule(op), _step_torch(op)
    for _ in range(n_ops):
        y, ty = step(y), t_step(ty)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """A row of the table."""

    name: str
    op: str
    n_ops: int
    width: int
    per_op: bool  # report microseconds per op rather than milliseconds in total
    chainrule: Timing = field(default_factory=Timing)
    torch: Timing = field(default_factory=Timing)


def workloads(quick: bool) -> list[Workload]:
    rows = [
        Workload(f"per-op {op} (length {TINY}, {OVERHEAD_OPS:,} ops)", op, OVERHEAD_OPS, TINY, True)
        for op in ("add", "mul", "sigmoid")
    ]
    depths = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rows += [
        Workload(f"deep chain, N = {n:,} (mul, add, sigmoid)", "mixed", n, TINY, False)
        for n in depths
    ]
    return rows


def run(rows: list[Workload], rounds: int) -> None:
    """Interleave the libraries round by round; one warm-up round is thrown away."""
    for round_index in range(rounds + 1):
        for row in rows:
            for lib, timing in ((chain_chainrule, row.chainrule), (chain_torch, row.torch)):
                forward, backward = lib(row.op, row.n_ops, row.width)
                if round_index > 0:
                    timing.forward.append(forward)
                    timing.backward.append(backward)


def _format(seconds: float, row: Workload) -> str:
    if row.per_op:
        return f"{seconds / row.n_ops * 1e6:.2f} us/op"
    return f"{seconds * 1e3:.1f} ms"


def table(rows: list[Workload]) -> str:
    lines = [
        "| workload | pass | chainrule | PyTorch | ratio torch/chainrule |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        for part in ("forward", "backward"):
            ours, theirs = row.chainrule.median(part), row.torch.median(part)
            lines.append(
                f"| {row.name} | {part} | {_format(ours, row)} | {_format(theirs, row)} "
                f"| {theirs / ours:.2f} |"
            )
    return "\n".join(lines)


def environment(rounds: int) -> str:
    return (
        f"chainrule {cr.__version__}, NumPy {np.__version__}, PyTorch {torch.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}; 1 thread each "
        f"(torch.get_num_threads() = {torch.get_num_threads()}); median of {rounds} "
        "interleaved rounds after a warm-up"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=None, help="timed rounds (default 7; 3 quick)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, chains up to 10,000")
    parser.add_argument("--json", metavar="PATH", help="also write the raw timings as JSON")
    args = parser.parse_args(argv)
    if torch is None:
        parser.error("PyTorch is needed for the comparison: pip install -e '.[bench]'")
    torch.set_num_threads(1)
    rounds = args.rounds or (3 if args.quick else 7)
    for op in ("add", "mul", "sigmoid", "mixed"):
        _check_agreement(op, 50)
    rows = workloads(args.quick)
    run(rows, rounds)
    print(f"<!-- {environment(rounds)} -->")
    print(table(rows))
    if args.json:
        raw = {
            "environment": environment(rounds),
            "rows": [
                {
                    "name": r.name,
                    "n_ops": r.n_ops,
                    "chainrule": vars(r.chainrule),
                    "torch": vars(r.torch),
                }
                for r in rows
            ],
        }
        temporary = args.json + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(raw, handle, indent=2)
        os.replace(temporary, args.json)  # never leave a half-written file
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
