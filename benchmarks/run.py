"""Run chainrule's benchmark suite against its peers and write a markdown report.

    python benchmarks/run.py --quick                 # 1 and 2 cores, report in benchmarks/results/
    python benchmarks/run.py                         # the full suite
    python benchmarks/run.py --only mlp1,chain --cores 1 --output /tmp/report.md
    python benchmarks/run.py --quick --output docs/benchmarks.md   # regenerate the docs' report

Every measurement runs in a fresh child process (``benchmarks/child.py``) pinned to the same
cores as every other system's (the affinity mask is set before the interpreter starts, and again
by the child before its first import) with every thread pool sized to them; each timed region
records CPU time beside wall time, so a system that used more cores than it was given shows.
Rounds are interleaved and the systems' order changes each round (a Williams design: every system
at every position, and right after every other, equally often), so slow drift of a shared machine
and whatever one child leaves behind for the next spread over all systems. Ratios are taken
within one run and one core count. Every child imports this checkout's ``src/`` (first on
PYTHONPATH, checked before the first child runs), and the header records its path and git
revision.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: The chainrule every child imports: this checkout's, not whichever is installed.
SOURCE = REPO / "src"
if str(REPO) not in sys.path:  # `python benchmarks/run.py` puts benchmarks/ first, not the repo
    sys.path.insert(0, str(REPO))
#: Where reports go by default (git-ignored).
RESULTS = REPO / "benchmarks" / "results"

from benchmarks import report  # noqa: E402
from benchmarks.common import (  # noqa: E402
    OPENBLAS_OVERRIDES,
    child_environment,
    cpu_model,
    source_problem,
)
from benchmarks.pinning import format_cpus  # noqa: E402
from benchmarks.workloads.mlp import gemm_flops  # noqa: E402

MLP_SYSTEMS = ["chainrule", "numpy", "torch", "jax", "autograd", "sklearn"]
CHAIN_SYSTEMS = ["chainrule", "numpy", "torch", "jax", "autograd", "micrograd"]
WORKLOAD_NAMES = ["sgemm", "mlp1", "mlp2", "tiny", "chain", "moons", "digits", "explainer"]


@dataclass
class Task:
    """One table of the report: a workload measured for several systems over several rounds."""

    key: str
    title: str
    spec: dict[str, Any]
    systems: list[str]
    rounds: int
    per_system: dict[str, dict[str, Any]] = field(default_factory=dict)  # spec overrides
    results: dict[str, list[dict]] = field(default_factory=dict)  # system -> one dict per round
    cpus: list[int] = field(default_factory=lambda: [0])  # the cores every child is pinned to
    env: dict[str, str] = field(default_factory=dict)  # added to every child's environment


#: Workloads 3-4's children: OpenBLAS's idle workers sleep at once instead of spinning. Its
#: workers spin for about 2^28 cycles (60-100 ms) after ``import numpy``, with no BLAS call made,
#: so at 2 cores a NumPy-based system's chain, timed inside that window, read CPU/wall 2.0 for a
#: Python loop on length-8 vectors. These workloads make no BLAS call: the setting changes only
#: the idle spin (the MLP workloads, whose matmuls wake the workers each step, keep the default).
CHAIN_ENV = {"OPENBLAS_THREAD_TIMEOUT": "4"}


def plan(quick: bool) -> list[Task]:
    """The workloads and how hard to run each: ``quick`` trades rounds and N for minutes."""
    tasks = [
        Task("sgemm", "Peak sgemm", {"workload": "sgemm", "n": 1536 if quick else 2048,
             "reps": 5}, ["numpy"], 3 if quick else 5),
        Task("mlp1", "1. MLP step 784-256-10, batch 128", {"workload": "mlp",
             "sizes": [784, 256, 10], "batch": 128, "reps": 15 if quick else 30, "warmup": 5},
             MLP_SYSTEMS, 3 if quick else 24),  # a target at 1.03x needs rounds: one round's
             # ratio to the hand-written step moves by +-15% on a shared host (9 were too few);
             # 24 is four whole cycles of round_order's design for six systems
        Task("mlp2", "2. MLP step 784-512-512-512-10, batch 512", {"workload": "mlp",
             "sizes": [784, 512, 512, 512, 10], "batch": 512, "reps": 5 if quick else 10,
             "warmup": 2}, MLP_SYSTEMS, 2 if quick else 6),
        Task("mlp2_memory", "2b. Peak memory of workload 2", {"workload": "mlp_memory",
             "sizes": [784, 512, 512, 512, 10], "batch": 512}, MLP_SYSTEMS, 1),
        Task("tiny", "3. Per-op overhead, 10,000 tiny ops", {"workload": "chain", "n_ops": 10_000,
             "width": 8, "dtype": "float32", "ops": ["mul", "add", "sigmoid"],
             "reps": 3, "warmup": 1}, CHAIN_SYSTEMS, 3 if quick else 6,
             # rounds are what steadies a per-op ratio on a shared machine; the slow peers'
             # per-op figures need no second rep for that
             per_system={"jax": {"reps": 1}, "autograd": {"reps": 1}}, env=dict(CHAIN_ENV)),
        # every system gets the same two untimed steps (a micrograd step takes 1.4 s); the
        # first's loss is the table's "first loss"
        Task("moons", "5. micrograd's demo step (2-16-16-1, 100 moons)", {"workload": "moons",
             "reps": 50, "warmup": 2}, ["chainrule", "torch", "micrograd"], 2 if quick else 3,
             per_system={"micrograd": {"reps": 3 if quick else 5}}),
        Task("digits", "6. End to end: digits to 95% held-out accuracy", {"workload": "digits",
             "target": 0.95, "max_epochs": 60}, ["chainrule", "chainrule-cli", "torch", "sklearn"],
             2 if quick else 3),
        Task("explainer", "7. Explainer, 784-100-10, one case", {"workload": "explainer",
             "reps": 3, "check": False}, ["chainrule"], 1),
        Task("explainer_checked", "7b. Explainer with finite-difference checks",
             {"workload": "explainer", "reps": 1, "check": True,
             "max_checks": 1_000 if quick else 20_000}, ["chainrule"], 1),
        Task("explainer_batch", "7c. Explainer with checks, a float32 batch, and its JSON",
             {"workload": "explainer", "reps": 1, "check": True, "cases": 100,
              "dtype": "float32", "to_json": True, "max_checks": 1_000 if quick else 20_000},
             ["chainrule"], 1),
    ]  # fmt: skip
    tasks += chain_tasks(quick)
    return tasks


def chain_tasks(quick: bool) -> list[Task]:
    """Workload 4, one task per N; the slow peers stop where they would take minutes."""
    sizes = [1_000, 10_000, 100_000] + ([] if quick else [1_000_000])
    limits = {"numpy": 100_000, "autograd": 100_000, "jax": 10_000, "micrograd": 10_000}
    tasks = []
    for n in sizes:
        systems = [s for s in CHAIN_SYSTEMS if n <= limits.get(s, 10**9)]
        reps = 3 if n <= 10_000 else 1
        rounds = 1 if n >= 1_000_000 else 2 if quick else 3
        spec = {"workload": "chain", "n_ops": n, "width": 1, "dtype": "float64",
                "ops": ["mul", "add"], "reps": reps, "warmup": 1}  # fmt: skip
        tasks.append(Task(f"chain_{n}", f"4. Chain of N={n:,} ops", spec, systems, rounds,
                          env=dict(CHAIN_ENV)))  # fmt: skip
    return tasks


def run_child(spec: dict, cpus: list[int], env: dict[str, str], timeout: float) -> dict:
    """Run one measurement in a fresh process pinned to ``cpus``; add its wall time."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "benchmarks.child", json.dumps(spec)]
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            # between fork and exec: the interpreter itself starts on the given cores
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"no result within {timeout:.0f} s"}
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": "error", "error": f"exit {done.returncode}: {tail[0][:200]}"}
    result = json.loads(lines[-1][len("BENCH-RESULT ") :])
    result["process_wall"] = wall
    return result


def run_task(task: Task, unset_openblas_coretype: bool, timeout: float) -> None:
    """All rounds of one task, the systems in each round in :func:`round_order`."""
    env = {**child_environment(task.cpus, unset_openblas_coretype), **task.env}
    for r in range(task.rounds):
        for system in round_order(task.systems, r):
            spec = {**task.spec, **task.per_system.get(system, {})}
            if task.spec["workload"] not in ("sgemm", "explainer"):
                spec["system"] = system
            result = run_child(spec, task.cpus, env, timeout)
            task.results.setdefault(system, []).append(result)
            _progress(task, r, system, result)


def round_order(systems: list, r: int) -> list:
    """The order of ``systems`` in round ``r``: a Williams design. Over one cycle of rounds (as
    many as systems, twice that for an odd count) every system runs once at every position and
    right after every other system equally often.

    Rotating one order, as the suite did, balances the positions but keeps each system's
    neighbours: numpy always ran right after chainrule, and chainrule after scikit-learn, so
    whatever a child leaves behind (memory for the kernel to reclaim, a core's state) weighed on
    the same system in every round. The first row is 0, 1, n-1, 2, n-2, ...: its steps between
    neighbours are all different modulo n, so its shifts put every ordered pair side by side
    once."""
    n = len(systems)
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(k + shift) % n for k in first] for shift in range(n)]
    if n % 2:  # an odd count needs the rows read backwards too to balance the neighbours
        rows += [row[::-1] for row in rows]
    return [systems[k] for k in rows[r % len(rows)]]


def _progress(task: Task, r: int, system: str, result: dict) -> None:
    if "times" in result:
        what = f"median {statistics.median(result['times']) * 1e3:.3f} ms"
    elif "rss_delta" in result:  # workload 2b: memory, no times
        traced = result.get("traced_peak")
        what = f"tracemalloc peak {traced / 2**20:.1f} MiB, " if traced else ""
        what += f"peak RSS growth {result['rss_delta'] / 2**20:.1f} MiB"
    else:
        what = result.get("status", "done") + " " + result.get("error", result.get("reason", ""))
    cores = len(task.cpus)
    if "cpu_per_wall" in result or "cpu_times" in result:
        what += f", CPU/wall {report.cpu_per_wall(result):.2f}"
    label = f"{task.key} {cores} core{'s' if cores > 1 else ''} round {r + 1}/{task.rounds}"
    print(f"  [{label}] {system:<10} {what}", file=sys.stderr)


def machine_facts(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """What the report's header records about the machine and the run."""
    versions = {}  # chainrule's own is facts["chainrule"]: an installed copy's may not be it
    for name in ("numpy", "torch", "jax", "jaxlib", "autograd", "scikit-learn", "micrograd",
                 "threadpoolctl"):  # fmt: skip
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores_visible": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "busy_cores_at_start": busy_cores(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_sets": args.cpu_sets,
        "command": " ".join(["python benchmarks/run.py", *argv]),
        "openblas_env": {name: os.environ.get(name) for name in OPENBLAS_OVERRIDES},
        "unset_openblas_coretype": args.unset_openblas_coretype,
        "quick": args.quick,
        "versions": versions,
    }


def measured_chainrule(env: dict[str, str]) -> dict[str, Any]:
    """Which chainrule the children measure: the file a child with ``env`` imports (checked to
    be :data:`SOURCE`'s, else ``ValueError``), and the checkout's git revision, ``dirty`` where
    ``src/`` or ``benchmarks/`` differ from it (None where this is no git checkout)."""
    problem = source_problem(env, SOURCE)
    if problem:
        raise ValueError(problem)
    found: dict[str, Any] = {"path": str(SOURCE / "chainrule"), "revision": None, "dirty": None}

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)

    try:
        head = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--", "src", "benchmarks")
    except OSError:  # no git on this machine
        return found
    if head.returncode == 0 and changed.returncode == 0:
        found["revision"] = head.stdout.strip()
        found["dirty"] = bool(changed.stdout.strip())
    return found


def busy_cores(seconds: float = 2.0) -> float | None:
    """How many cores' worth of work ran over the next ``seconds`` (this process sleeps): the
    machine's state as the suite starts. The load average cannot say it: it still counts the
    last minute's work, a benchmark run just before included. None where /proc/stat is missing."""

    def busy_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stat:  # cpu user nice system idle iowait irq softirq steal
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        return sum(ticks) - ticks[3] - ticks[4], sum(ticks)

    try:
        busy0, total0 = busy_and_total()
        time.sleep(seconds)
        busy1, total1 = busy_and_total()
    except (OSError, ValueError):
        return None
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def default_output() -> Path:
    """Where a report goes unless ``--output`` says otherwise: a fresh, git-ignored file, so a
    run never overwrites docs/benchmarks.md (or an earlier run's report) by surprise."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS / f"report-{stamp}.md"


def cpu_sets(text: str, available: list[int]) -> list[list[int]]:
    """``--cores 1,2`` -> one CPU set per count: the first ``n`` CPUs this process may run on."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--cores: {text!r} is not a comma-separated list of core counts"
        ) from None
    if not counts:
        raise ValueError("--cores: give at least one core count")
    for n in counts:
        if not 1 <= n <= len(available):
            raise ValueError(
                f"--cores: {n} core(s) asked, this process may run on {len(available)} "
                f"(CPUs {format_cpus(available)})"
            )
    return [available[:n] for n in dict.fromkeys(counts)]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, N up to 1e5")
    parser.add_argument(
        "--cores",
        default=None,
        help="core counts to run the whole suite at, every system pinned to the same first N "
        "CPUs (default 1,2, or 1 on a one-core machine)",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {','.join(WORKLOAD_NAMES)}"
    )
    parser.add_argument(
        "--output",
        default="",
        help="the markdown report (default: benchmarks/results/report-<date>-<time>.md)",
    )
    parser.add_argument(
        "--json", default="", help="the raw results (default: benchmarks/results/<report>.json)"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per child process")
    parser.add_argument(
        "--render",
        default="",
        metavar="JSON",
        help="measure nothing: write the report of the raw results of an earlier run",
    )
    parser.add_argument(
        "--unset-openblas-coretype",
        action="store_true",
        help="unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the child processes",
    )
    args = parser.parse_args(argv)
    available = sorted(os.sched_getaffinity(0))
    if args.cores is None:  # both tables, or the one a one-core machine can measure
        args.cores = "1,2" if len(available) > 1 else "1"
    try:
        args.cpu_sets = cpu_sets(args.cores, available)
    except ValueError as error:
        parser.error(str(error))
    named = {w for w in args.only.split(",") if w}
    unknown = named - set(WORKLOAD_NAMES)
    if unknown:
        parser.error(f"--only: unknown workload(s) {sorted(unknown)}; choose from {WORKLOAD_NAMES}")
    if args.only and not named:  # "," names nothing: it is not "every workload"
        parser.error(f"--only {args.only!r} names no workload; choose from {WORKLOAD_NAMES}")
    if not args.timeout > 0:
        parser.error(f"--timeout must be a number of seconds > 0, not {args.timeout}")
    args.output = Path(args.output) if args.output else default_output()
    # the raw results stay out of the docs: beside a default report, else under benchmarks/results
    args.json = Path(args.json) if args.json else RESULTS / f"{args.output.stem}.json"
    for option, path in (("--output", args.output), ("--json", args.json)):
        problem = unwritable(path)
        if problem:  # found now, not after the suite's minutes of measuring
            parser.error(f"{option} {path}: {problem}")
    # the report written over the raw results would lose the only copy of the measurements
    if args.render and _same_file(Path(args.render), args.output):
        parser.error(f"--render and --output both name {args.output}: the report would replace "
                     "the raw results it is rendered from; give --output another file")  # fmt: skip
    if not args.render and _same_file(args.json, args.output):
        parser.error(f"--json and --output both name {args.output}: the report would replace "
                     "the raw results; give them two files")  # fmt: skip
    return args


def _same_file(a: Path, b: Path) -> bool:
    """Whether paths ``a`` and ``b`` name one file (through links, or a relative path)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def unwritable(path: Path) -> str | None:
    """Why the file ``path`` could not be written (a directory, a parent that is a file or not
    writable), or None: checked before measuring, so a bad path loses no results."""
    if path.is_dir() or str(path).endswith(("/", os.sep)):
        return "is a directory; give a file name"
    existing = next((p for p in path.parents if p.exists()), Path("."))
    if not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if not os.access(existing, os.W_OK):
        return f"cannot write in {existing}"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.render:
        return render_saved(Path(args.render), args.output)
    wanted = {w for w in args.only.split(",") if w}
    # task by task, each core count in turn: a workload's tables are measured close in time
    tasks = [
        replace(task, cpus=cpus, results={})
        for task in plan(args.quick)
        if not wanted or task.key.split("_")[0] in wanted
        for cpus in args.cpu_sets
    ]
    try:  # the children measure this checkout's chainrule, or nothing runs
        chainrule = measured_chainrule(child_environment(args.cpu_sets[0], False))
    except ValueError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    facts = machine_facts(args, argv)
    facts["chainrule"] = chainrule
    started = time.perf_counter()
    before = signal.signal(signal.SIGTERM, _terminated)
    try:
        for task in tasks:
            print(f"{task.title} on CPU(s) {format_cpus(task.cpus)}", file=sys.stderr)
            run_task(task, args.unset_openblas_coretype, args.timeout)
    except KeyboardInterrupt as stop:  # keep what was measured: minutes of rounds, not a traceback
        status = 128 + signal.SIGTERM if isinstance(stop, Terminated) else 130
        return save_interrupted(args.json, facts, tasks, time.perf_counter() - started, status)
    finally:
        signal.signal(signal.SIGTERM, before)
    facts["suite_seconds"] = time.perf_counter() - started
    facts["load_average_at_end"] = os.getloadavg()
    raw = {"facts": facts, "tasks": [t.__dict__ for t in tasks]}
    _write(args.json, json.dumps(raw, indent=1, default=str))  # first: the measurements
    _write(args.output, report.render(facts, tasks, gemm_flops))
    seconds = facts["suite_seconds"]
    print(f"report written to {args.output}, raw results to {args.json} ({seconds:.0f} s)",
          file=sys.stderr)  # fmt: skip
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the suite is, as Ctrl-C's KeyboardInterrupt is: ``subprocess.run``
    kills the running child on its way out (else the child ran on, orphaned), and the rounds
    measured so far are saved."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


def save_interrupted(
    raw_path: Path, facts: dict, tasks: list, seconds: float, status: int = 130
) -> int:
    """After Ctrl-C or SIGTERM: the results of the children that finished go to ``raw_path`` (no
    report: its tables compare whole rounds), and one line says so; exit ``status``, 130 as for
    SIGINT, 143 for SIGTERM."""
    facts["suite_seconds"], facts["interrupted"] = seconds, True
    done = [t for t in tasks if t.results]
    _write(raw_path, json.dumps({"facts": facts, "tasks": [t.__dict__ for t in done]},
                                indent=1, default=str))  # fmt: skip
    print(f"run.py: interrupted after {seconds:.0f} s; the results of {len(done)} task(s) so far "
          f"are in {raw_path}", file=sys.stderr)  # fmt: skip
    return status


def render_saved(raw_path: Path, output: Path) -> int:
    """The report of a saved run (``--json``'s file), for a change to the report alone."""
    try:
        raw = json.loads(raw_path.read_text())
        if raw["facts"].get("interrupted"):  # its tables would compare rounds that never ran
            print(f"run.py: {raw_path} holds an interrupted run; an interrupted run gets no "
                  "report (rerun the suite)", file=sys.stderr)  # fmt: skip
            return 2
        tasks = [Task(**fields) for fields in raw["tasks"]]
        text = report.render(raw["facts"], tasks, gemm_flops)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"run.py: cannot render {raw_path}: {error}", file=sys.stderr)
        return 2
    _write(output, text)
    print(f"report written to {output}", file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    """Write atomically: a temp file of its own beside the target (two runs writing the same
    report do not share one), then os.replace; a failed write leaves no temp file. The file gets
    the mode a plain open() would leave: the replaced file's, else 0o666 less the umask (mkstemp
    makes 0o600, which turned docs/benchmarks.md private on every regeneration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_of(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_of(path: Path) -> int:
    """The permission bits open(path, "w") would give: the existing file's, or new-file bits."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


if __name__ == "__main__":
    sys.exit(main())
