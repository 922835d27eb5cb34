"""Count the instructions of chainrule's per-op path and of a tiny training step (cachegrind).

    python benchmarks/instructions.py                    # both, this checkout's src/
    python benchmarks/instructions.py --what chain --src /path/to/other/src   # or its checkout
    python benchmarks/instructions.py --what cold         # cache misses of workload 1's step

Wall time on a shared machine moves by 5-10% between runs, more than most single changes to the
engine's Python. Instructions counted by valgrind's cachegrind repeat from run to run (hash seed
fixed, address randomisation off) to within a few hundred per op, so an A/B of two versions of
chainrule's own code is exact enough to keep or drop a change. They are not time: see
docs/profile.md for how they relate, and confirm a kept change with ``benchmarks/ab.py``.

- ``chain``: instructions per op of workload 3's chain (mul, add, sigmoid on length-8 float32
  vectors, forward and backward), a 6,003-op run minus a 3-op one.
- ``step``: instructions per step of workload 1's chainrule step on a 4-3-2 network with a batch
  of 2, where the arrays cost next to nothing: 40 steps minus 10, over 30. The hand-written NumPy
  step of the same network is counted beside it.
- ``cold``: workload 1's own network (784-256-10, a batch of 16 to keep valgrind's run short)
  under cachegrind's cache simulation, with a core's caches: 32 KiB first-level instruction and
  data caches and a 1 MiB last level (the L2; valgrind models two levels). The step's matrix
  products evict the code that runs between them, so a framework pays for each distinct code
  path it runs (the interpreter's, NumPy's, its own) in instruction-cache misses at every step:
  this counts them, per step, for chainrule and the hand-written step (13 steps minus 3). The
  misses are what the step's framework time follows (docs/profile.md), and they repeat to within
  about 1% from run to run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/instructions.py` puts benchmarks/ first
    sys.path.insert(0, str(REPO))

from benchmarks.common import chainrule_source  # noqa: E402

RUNS = {"chain": (3, 6003), "step": (10, 40), "cold": (3, 13)}  # (short run, long run) per kind
#: cachegrind's simulated caches for ``cold``: size, associativity, line (a core's L1s and L2)
CORE_CACHES = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64"]
#: the cache counters ``cold`` reports, as cachegrind's summary names them
COLD_EVENTS = {
    "instructions": "I refs",
    "L1i misses": "I1 misses",
    "L2 instruction misses": "LLi misses",
    "L1d misses": "D1 misses",
    "L2 data misses": "LLd misses",
}


def child(what: str, count: int, system: str) -> None:
    """Run ``count`` ops (chain) or steps (step) after a warm-up; valgrind counts the process."""
    sys.path.insert(0, str(REPO))
    if what == "chain":
        from benchmarks.workloads import chain

        run = chain.make_chainrule(8, "float32", ("mul", "add", "sigmoid"))
        run(30)
        run(count)
        return
    from benchmarks.common import mlp_problem
    from benchmarks.workloads import mlp

    sizes, batch = ([784, 256, 10], 16) if what == "cold" else ([4, 3, 2], 2)
    step, _ = mlp.SYSTEMS[system](*mlp_problem(sizes, batch))
    for _ in range(5 + count):
        step()


def counted(what: str, count: int, system: str, src: Path) -> dict[str, int]:
    """Cachegrind's summary counts of one child process (instructions only, unless ``cold``)."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(src))
    caches = ["--cache-sim=yes", *CORE_CACHES] if what == "cold" else ["--cache-sim=no"]
    command = [
        "setarch", "-R", "valgrind", "--tool=cachegrind", *caches,
        "--cachegrind-out-file=/dev/null",
        sys.executable, __file__, "--child", what, str(count), system,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    events = COLD_EVENTS if what == "cold" else {"instructions": "I refs"}
    counts = {}
    for name, label in events.items():
        found = re.search(label.replace(" ", r"\s+") + r":\s+([\d,]+)", result.stderr)
        if result.returncode != 0 or found is None:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"instructions: the {what} child failed under valgrind: {tail}")
        counts[name] = int(found.group(1).replace(",", ""))
    return counts


def per_unit(what: str, system: str, src: Path) -> int:
    """Instructions per op (chain) or per step (step): the long run minus the short one."""
    return per_unit_counts(what, system, src)["instructions"]


def per_unit_counts(what: str, system: str, src: Path) -> dict[str, int]:
    """Every count of :func:`counted` per op or per step: the long run minus the short one."""
    short, long = RUNS[what]
    longer, shorter = counted(what, long, system, src), counted(what, short, system, src)
    return {name: (longer[name] - shorter[name]) // (long - short) for name in longer}


def cold_table(src: Path) -> str:
    """``cold``'s counts per step for chainrule and the hand-written step, and their ratio."""
    counts = {system: per_unit_counts("cold", system, src) for system in ("chainrule", "numpy")}
    lines = [f"{'per step (784-256-10, batch 16)':34s} {'chainrule':>11s} {'numpy':>11s} ratio"]
    for name in COLD_EVENTS:
        ours, theirs = counts["chainrule"][name], counts["numpy"][name]
        lines.append(f"{name:34s} {ours:11,} {theirs:11,} {ours / max(theirs, 1):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--what", choices=("chain", "step", "cold", "both"), default="both")
    parser.add_argument(
        "--src",
        type=Path,
        default=REPO / "src",
        help="the chainrule to count: a src/ or a checkout",
    )
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "COUNT", "SYSTEM"), help="internal")
    args = parser.parse_args(argv)
    if args.child:
        what, count, system = args.child
        child(what, int(count), system)
        return 0
    src = chainrule_source(args.src)  # a checkout's root stands for its src/, as in ab.py
    if src is None:
        print(f"instructions: no chainrule package in {args.src}", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None or shutil.which("setarch") is None:
        print("instructions: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.what in ("chain", "both"):
        print(f"chain: {per_unit('chain', 'chainrule', src):,} instructions per op")
    if args.what in ("step", "both"):
        for system in ("chainrule", "numpy"):
            print(f"step, {system}: {per_unit('step', system, src):,} instructions per step")
    if args.what == "cold":
        print(cold_table(src))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
