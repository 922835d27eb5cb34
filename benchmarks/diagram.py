"""How long the unit-level network diagram takes to draw (``viz.network.network_svg``).

    python benchmarks/diagram.py                          # this checkout: ms per draw
    python benchmarks/diagram.py --old /tmp/other-clone   # and another tree's, taking turns
    python benchmarks/diagram.py --rounds 12 --draws 30

The explorer redraws the diagram at every step, in the browser, the notebook widget and the web
page, so its cost is felt: placing the weights' labels off the other edges' lines made a 35-edge
diagram (4-5-3) take about 90 ms, from 8; working on every candidate spot at once brought it to
about 13 ms (1.1-1.5x the drawing without label avoidance, same run). Each round draws the
networks of ``tests/viz/test_network_labels_s53.py`` (an mlp with logistic output, one case) in
a fresh child
process per version, pinned to one core before NumPy loads (``pinning.py``), the versions'
order alternating; a child reports the median of its draws, and the table the median over
rounds. ``--old`` and ``--new`` are each a directory holding the ``chainrule`` package or a
checkout's root (``--new`` defaults to this checkout's ``src/``); with ``--old``, ``new/old``
is the median over rounds of the ratio within each round.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.pinning import CORES_VARIABLE, pin_from_environment  # noqa: E402

#: The networks drawn: layer sizes, as the label tests draw them (2-2-3: 10 edges, 4-5-3: 35,
#: 6-6: 36).
NETWORKS = ((2, 2, 3), (4, 5, 3), (6, 6))


def _child(source: str, draws: int) -> None:
    """In a child pinned to its core: draw each network ``draws`` times with the chainrule of
    ``source``; print the median ms per draw of each as JSON."""
    pin_from_environment()  # before NumPy starts a thread pool
    sys.path.insert(0, source)
    import json
    import statistics
    import time

    import numpy as np

    import chainrule as cr
    from chainrule import nn
    from chainrule.viz.network import network_svg

    assert Path(cr.__file__).resolve().is_relative_to(Path(source).resolve()), cr.__file__
    medians = {}
    for sizes in NETWORKS:
        net = nn.mlp(list(sizes), rng=0, output="logistic", dtype=np.float64)
        X = np.random.default_rng(0).uniform(size=(1, sizes[0]))
        T = np.random.default_rng(1).uniform(size=(1, sizes[-1]))
        d = cr.explain(net, X, T, check=False, perturbation=False)
        network_svg(d)  # warm: imports, caches
        walls, cpus = [], []
        for _ in range(draws):
            start, start_cpu = time.perf_counter(), time.process_time()
            network_svg(d)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        key = "-".join(map(str, sizes))
        medians[key] = 1000 * statistics.median(walls)
        medians[key + " cpu"] = 1000 * statistics.median(cpus)  # more than wall: threads ran
    print(json.dumps(medians))


def _source(text: str) -> str:
    """The directory holding the chainrule package: ``text`` itself or its ``src/``."""
    from benchmarks.common import chainrule_source

    found = chainrule_source(Path(text))
    if found is None:
        raise SystemExit(f"diagram.py: no chainrule package in {text} or {text}/src")
    return str(found)


def main() -> None:
    import argparse
    import json
    import statistics
    import subprocess

    from benchmarks.common import positive_int
    from benchmarks.pinning import format_cpus, thread_environment

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", help="another version's tree, timed in turns with --new")
    parser.add_argument("--new", default=str(REPO / "src"), help="default: this checkout's src/")
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--draws", type=positive_int, default=20, help="draws per child")
    parser.add_argument("--core", type=int, default=None, help="the CPU (default: the first)")
    args = parser.parse_args()
    versions = {"new": _source(args.new)}
    if args.old:
        versions = {"old": _source(args.old), **versions}
    allowed = sorted(os.sched_getaffinity(0))
    core = args.core if args.core is not None else allowed[0]
    if core not in allowed:  # refused here, not as a child's OSError and a CalledProcessError
        parser.error(f"--core {core}: this process may run on CPUs {format_cpus(allowed)} only")
    env = thread_environment([core], dict(os.environ))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    for round_ in range(args.rounds):
        names = list(versions)[:: 1 if round_ % 2 == 0 else -1]  # who goes first alternates
        for name in names:
            child = [sys.executable, __file__, "--child", versions[name], str(args.draws)]
            out = subprocess.run(child, env=env, capture_output=True, text=True)
            if out.returncode != 0:  # one line naming the version and the child's last words
                last = (out.stderr.strip().splitlines() or ["no output"])[-1]
                raise SystemExit(f"diagram.py: the {name} child ({versions[name]}) failed: {last}")
            runs[name].append(json.loads(out.stdout))
    print(f"ms per draw of network_svg, median of {args.rounds} rounds x {args.draws} draws, "
          f"CPU {core}; each network's 'cpu' row is the process's CPU time per draw, which "
          "exceeds the wall time only where more than the one core was used")  # fmt: skip
    head = "| network | " + " | ".join(versions) + (" | new/old |" if args.old else " |")
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for key in runs["new"][0]:
        cells = [f"{statistics.median(r[key] for r in runs[name]):.2f}" for name in versions]
        if args.old:
            ratios = [n[key] / o[key] for n, o in zip(runs["new"], runs["old"])]
            cells.append(f"{statistics.median(ratios):.3f}")
        print(f"| {key} | " + " | ".join(cells) + " |")
    for name, source in versions.items():
        print(f"{name}: {source}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        if CORES_VARIABLE not in os.environ:
            raise SystemExit("diagram.py --child: run it through diagram.py, which pins it")
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
