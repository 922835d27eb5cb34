"""Count the instructions of chainrule's per-op path and of a tiny training step (cachegrind).

    python benchmarks/instructions.py                    # both, this checkout's src/
    python benchmarks/instructions.py --what chain --src /path/to/other/src

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
RUNS = {"chain": (3, 6003), "step": (10, 40)}  # (short run, long run) per kind


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

    step, _ = mlp.SYSTEMS[system](*mlp_problem([4, 3, 2], 2))
    for _ in range(5 + count):
        step()


def counted(what: str, count: int, system: str, src: Path) -> int:
    """Instructions of one child process under cachegrind."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(src))
    command = [
        "setarch", "-R", "valgrind", "--tool=cachegrind", "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable, __file__, "--child", what, str(count), system,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or found is None:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"instructions: the {what} child failed under valgrind: {tail}")
    return int(found.group(1).replace(",", ""))


def per_unit(what: str, system: str, src: Path) -> int:
    """Instructions per op (chain) or per step (step): the long run minus the short one."""
    short, long = RUNS[what]
    difference = counted(what, long, system, src) - counted(what, short, system, src)
    return difference // (long - short)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--what", choices=("chain", "step", "both"), default="both")
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the chainrule to count")
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "COUNT", "SYSTEM"), help="internal")
    args = parser.parse_args(argv)
    if args.child:
        what, count, system = args.child
        child(what, int(count), system)
        return 0
    if not (args.src / "chainrule").is_dir():
        print(f"instructions: no chainrule package in {args.src}", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None or shutil.which("setarch") is None:
        print("instructions: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.what in ("chain", "both"):
        print(f"chain: {per_unit('chain', 'chainrule', args.src):,} instructions per op")
    if args.what in ("step", "both"):
        for system in ("chainrule", "numpy"):
            print(f"step, {system}: {per_unit('step', system, args.src):,} instructions per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
