"""A/B one workload of the suite between two versions of chainrule, with the NumPy peer beside.

    python benchmarks/ab.py --old main                    # workload 2, 1 core, 24 rounds
    python benchmarks/ab.py --old main --workload mlp1 --cores 2 --rounds 30
    python benchmarks/ab.py --old /path/to/other/src      # a source tree instead of a revision

A change of a few percent is smaller than the noise of a shared machine between two runs of
``run.py``: each child's median moves by 5-10% from round to round. Here the versions take turns
in the same rounds (in the suite's order, ``run.round_order``), each round in fresh child
processes of the suite (``benchmarks.child``, pinned as in ``run.py``), and the report is the
median over rounds of the *paired* ratios (new / old, and each / numpy, from the same round), in
wall time and in CPU time.

``--old`` and ``--new`` are each a git revision (its ``src/`` is exported to a temporary
directory) or a directory that holds the ``chainrule`` package, or a checkout's root; ``--new``
defaults to this checkout's ``src/``. Only the chainrule package changes between them: the
workload code is this checkout's. The children the suite's report would flag are listed last.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    chainrule_source,
    child_environment,
    cpu_per_call,
    positive_float,
    positive_int,
    source_problem,
)
from benchmarks.report import flagged, median_interval  # noqa: E402
from benchmarks.run import cpu_sets, plan, round_order, run_child  # noqa: E402

WORKLOADS = ("mlp1", "mlp2")


def source_tree(spec: str, into: Path) -> Path:
    """The directory holding ``chainrule`` for ``spec``: a directory as given (or a checkout
    root's ``src/``: ``common.chainrule_source``), or a revision's ``src/`` exported from git
    into ``into``."""
    tree = chainrule_source(Path(spec))
    if tree is not None:
        return tree
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", spec, "src"],
        capture_output=True,
    )
    if archive.returncode != 0:
        raise ValueError(
            f"{spec!r} is neither a directory holding chainrule nor a git revision "
            f"({archive.stderr.decode().strip()[:120]})"
        )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def paired_ratios(rounds_a: list[float], rounds_b: list[float]) -> list[float]:
    """a / b round by round (the same round's children ran side by side)."""
    return [a / b for a, b in zip(rounds_a, rounds_b) if a > 0 and b > 0]


def summary(results: dict[str, dict[str, list[float]]], base: str) -> list[str]:
    """One line per system: median wall and CPU ms per step, and the median paired ratios to
    ``base`` (the other version) and to numpy, each with its 90% confidence interval
    (``report.median_interval``; the range of the ratios below five rounds)."""
    lines = []
    for name, seen in results.items():
        others = () if name == "numpy" else (base, "numpy")
        line = (
            f"{name:<10} wall {statistics.median(seen['wall']) * 1e3:9.3f} ms   "
            f"CPU {statistics.median(seen['cpu']) * 1e3:9.3f} ms"
        )
        for other in others:
            if other == name or other not in results:
                continue
            for kind in ("wall", "cpu"):
                ratios = paired_ratios(seen[kind], results[other][kind])
                interval = median_interval(ratios)
                what = "90% CI" if interval else "range"
                low, high = interval or (min(ratios), max(ratios))
                line += (
                    f"   {name}/{other} {kind} {statistics.median(ratios):.3f}"
                    f" ({what} {low:.3f}-{high:.3f})"
                )
        lines.append(line)
    return lines


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The options, each checked before any child runs: a bad one is one line and exit status 2
    (the parser comes back for --old and --new, checked once their trees are found)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", required=True, help="git revision or directory with chainrule")
    parser.add_argument(
        "--new", default=str(REPO / "src"), help="as --old (default: this checkout's src/)"
    )
    parser.add_argument("--workload", choices=WORKLOADS, default="mlp2")
    parser.add_argument("--cores", default="1", help="how many cores every child is pinned to")
    parser.add_argument(
        "--rounds", type=positive_int, default=24, help="a multiple of 6 balances the order"
    )
    parser.add_argument(
        "--reps", type=positive_int, help="timed steps per child (default: the suite's)"
    )
    parser.add_argument("--timeout", type=positive_float, default=300.0, help="seconds per child")
    parser.add_argument("--json", type=Path, help="also write every round's order and times here")
    args = parser.parse_args(argv)
    try:
        sets = cpu_sets(args.cores, sorted(os.sched_getaffinity(0)))
    except ValueError as error:
        parser.error(str(error))
    if len(sets) != 1:  # the versions are compared within one core count
        parser.error(f"--cores: ab.py runs at one core count; give one number, not {args.cores!r}")
    (args.cpus,) = sets
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    cpus = args.cpus
    task = next(t for t in plan(quick=False) if t.key == args.workload)
    spec = dict(task.spec, **({"reps": args.reps} if args.reps is not None else {}))
    with tempfile.TemporaryDirectory() as scratch:
        trees = {}
        for name in ("old", "new"):
            into = Path(scratch) / name  # each its own: both may be revisions
            try:
                trees[name] = source_tree(getattr(args, name), into)
            except ValueError as error:
                parser.error(f"--{name}: {error}")
        envs = {
            name: child_environment(cpus, unset_openblas_coretype=False, source=tree)
            for name, tree in trees.items()
        }
        for name, env in envs.items():  # the child must import the tree named, not an install
            problem = source_problem(env, trees[name])
            if problem:
                parser.error(f"{name}: {problem}")
        runs = [("numpy", "numpy", envs["new"])]
        runs += [(name, "chainrule", env) for name, env in envs.items()]
        results: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n, *_ in runs}
        children = replace(task, cpus=cpus, results={}, systems=[n for n, *_ in runs])
        orders: list[list[str]] = []
        print(f"{task.title}, {len(cpus)} core(s) (CPUs {cpus}); old = {trees['old']}")
        for r in range(args.rounds):
            order = round_order(runs, r)
            orders.append([name for name, *_ in order])
            for name, system, env in order:
                result = run_child({**spec, "system": system}, cpus, env, args.timeout)
                if "times" not in result:
                    print(f"{name}: {result.get('status')}: {result.get('error')}", file=sys.stderr)
                    return 1
                children.results.setdefault(name, []).append(result)
                results[name]["wall"].append(statistics.median(result["times"]))
                results[name]["cpu"].append(cpu_per_call(result))  # a sum: see time_calls
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    if args.json:  # the rounds themselves: to test for order effects, or pool runs
        args.json.write_text(json.dumps({"orders": orders, "results": results}))
    print("\n".join(summary(results, base="old")))
    print(pinning_summary(children))
    return 0


def pinning_summary(task) -> str:
    """The children that were no fair measurement on their cores (``report.flagged``, as the
    suite's report lists them: extra CPU time, a wait for a core, a library imported before
    pinning, cores left), or one line saying none was."""
    found = flagged(task)
    if not found:
        return (
            "pinning: no child flagged (each ran on the CPUs asked, pinned before its first "
            "library import, within its cores' CPU time and without waiting for a core)"
        )
    return "\n".join(["pinning: children to distrust:", *(f"  {line}" for line in found)])


if __name__ == "__main__":
    sys.exit(main())
