"""Turn the suite's results into the markdown report (docs/benchmarks.md).

Each timed child process contributes one number per system per round: the median of its timed
calls. A table shows, per system, the median of those per-process medians, their min and max
(the spread between fresh processes), and the ratio to chainrule's median from the same run.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from benchmarks.common import cpu_per_call
from benchmarks.pinning import CPU_TOLERANCE, STARVED_BELOW, over_cores, starved

METHOD = """\
## Method

- Every measurement runs in a fresh child process (`python -m benchmarks.child`), one per system
  per round; rounds are interleaved, and the systems' order changes each round so that over a
  cycle every system runs at every position and right after every other equally often (a
  Williams design, `run.round_order`: a fixed rotation kept each system's neighbour, so what
  one child left behind fell on the same system every round).
- Every child runs on the same cores: `run.py` sets its affinity mask between fork and exec, and
  the child sets it again (`benchmarks/pinning.py`) before it imports any library, so every
  thread pool (OpenBLAS, OpenMP, PyTorch's, XLA's) is born on those cores and stays there. The
  pools are also sized to the cores given (`OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`,
  `MKL_NUM_THREADS` ... = n, `torch.set_num_threads(n)`; at one core
  `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`). Thread flags alone do not hold XLA: its CPU
  client starts a pool per visible core whatever the flags say; the mask does.
- Every timed region records the process's CPU time (all its threads, and finished child
  processes) beside its wall time. The *CPU/wall* column is the median over rounds; a row where
  any round's CPU/wall exceeds 1.1 x the cores given, by more CPU time than the process clock
  resolves (10 ms: another core's thread is credited at scheduler ticks), is flagged in bold
  and listed under the headline, as is any child whose affinity read back differs from the
  cores asked, that had a library imported before it pinned itself, or whose affinity at its
  end differs from them (a runtime moved it: libgomp obeys `GOMP_CPU_AFFINITY` as it loads, so
  the children run without it, `OMP_PLACES`, `OMP_PROC_BIND` and `KMP_AFFINITY`). *CPU ms*
  (workloads 1-2) is the CPU time per step, a child's calls summed and divided by their number
  (one call's reading misses or lumps a second thread's time, which Linux credits at scheduler
  ticks), median over rounds: at one core, what the step costs with the time spent waiting for
  the core left out.
- Every child's glibc allocator keeps up to 256 MiB of freed memory for reuse
  (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`): the setting chainrule's command line
  and `Trainer.fit` make, given to every system alike.
- Inside a child: untimed warm-up calls (JAX compiles here), then timed calls; the child's
  number is the median of its calls. Tables give the median over rounds, the min and max over
  rounds, and the ratio to chainrule in the same run (below 1 is faster than chainrule).
- Workloads 1-2 start every system from the same weights and batch (`common.mlp_problem`):
  logistic hidden units, softmax cross-entropy (mean over the batch), plain SGD, lr 0.1, float32.
  A step is forward + backward + update. *numpy* is the hand-written backprop with preallocated
  buffers (`benchmarks/peers/numpy_mlp.py`), the practical limit for a NumPy library; *torch* is
  eager PyTorch with `torch.optim.SGD`; *jax* jits the whole step; *autograd* is HIPS autograd's
  `grad` with a NumPy update; *sklearn* is one `MLPClassifier.partial_fit` on the batch with
  `solver="sgd"`, `batch_size` = the batch, momentum 0 and `alpha=0` (exactly one minibatch SGD
  step, plus the input validation a user pays). micrograd is not run there: a scalar graph of a
  200,000-weight net on 128 cases would take minutes per step.
- The GEMM floor is the step's matmul FLOPs (forward, dE/dW, and dE/dy below the first layer) over
  the peak sgemm rate measured in the same run; "% of peak" is floor / median.
- Workload 4's *peak RSS growth* is how far the timed chains raised the child's peak RSS above
  what its imports and warm-up had reached: the graph's memory at its peak, torch's included.
- Memory (workload 2b) runs once per system in its own process: tracemalloc's peak from building
  the model through two steps (NumPy reports its arrays to tracemalloc, so this sees every array
  chainrule, the NumPy peer, autograd and scikit-learn allocate; every module the system needs
  is imported, and inputs and the shared initial weights are allocated, before tracing starts),
  and the growth of the process's peak RSS over the same span (the only measure for torch's and
  XLA's own allocators; coarse, and it includes JIT compilation and, for jax, the start-up of
  its CPU client at the first array).
- Memory is given in MiB (2^20 bytes); in workload 4's table a growth below 1 MiB, 0 included,
  reads "< 1 MiB", and the median over rounds counts a round that grew by 0.
- Workloads 3-4 are chains of tiny elementwise ops ending in a sum, then backward to the two
  leaves w and b that every op reads (see `benchmarks/workloads/chain.py`); JAX runs op by op
  (`jax.vjp`, no jit) since a jitted chain measures a compiler, not per-op overhead. micrograd
  runs with Python's default recursion limit; its RecursionError is reported as *fails*.
- This machine is shared with other engineers, so absolute times drift; trust the same-run
  ratios, and compare load averages at the start and end of the run.
"""


def render(facts: dict[str, Any], tasks: list, gemm_flops: Callable[[list[int], int], int]) -> str:
    """The whole report as markdown: the header, the headline ratios at every core count, then
    every table once per core count."""
    by_cores: dict[int, list] = {}
    for task in tasks:
        by_cores.setdefault(len(task.cpus), []).append(task)
    peaks = {n: _peak_gflops(_find(ts, "sgemm")) for n, ts in by_cores.items()}
    parts = [_header(facts, by_cores, peaks), _headline(by_cores), _flags(tasks)]
    parts = [part for part in parts if part]  # no headline ratios where no task gives one
    for n, group in by_cores.items():
        cpus = group[0].cpus
        title = f"## At {_cores(n)} (CPU{'s' if n > 1 else ''} {', '.join(map(str, cpus))})"
        parts.append(title + "\n")
        parts += [_demote(part) for part in _sections(group, gemm_flops, peaks[n])]
    parts.append(METHOD)
    return "\n".join(parts)


def _sections(tasks: list, gemm_flops: Callable, peak: float | None) -> list[str]:
    """Every table of one core count."""
    by_key = {task.key: task for task in tasks}
    parts = []
    for key in ("mlp1", "mlp2"):
        if key in by_key:
            parts.append(_mlp_table(by_key[key], gemm_flops, peak))
    if "mlp2_memory" in by_key:
        parts.append(_memory_table(by_key["mlp2_memory"]))
    if "tiny" in by_key:
        parts.append(_per_op_table(by_key["tiny"]))
    chains = [t for t in tasks if t.key.startswith("chain_")]
    if chains:
        parts.append(_chain_table(chains))
    if "moons" in by_key:
        parts.append(_plain_table(by_key["moons"], 1e3, "ms/step"))
    if "digits" in by_key:
        parts.append(_digits_table(by_key["digits"]))
    explainers = [
        by_key[k] for k in ("explainer", "explainer_checked", "explainer_batch") if k in by_key
    ]
    if explainers:
        parts.append(_explainer_table(explainers))
    return parts


def _find(tasks: list, key: str):
    return next((t for t in tasks if t.key == key), None)


def _cores(n: int) -> str:
    return f"{n} core{'s' if n > 1 else ''}"


def _demote(text: str) -> str:
    """A section's ``## title`` one level down, under its core count."""
    return "\n".join("#" + line if line.startswith("## ") else line for line in text.split("\n"))


# -- statistics ---------------------------------------------------------------------------------


def per_round(results: list[dict]) -> list[float]:
    """One number per round: the median of that child's timed calls."""
    return [statistics.median(r["times"]) for r in results if r.get("times")]


def summary(results: list[dict]) -> dict[str, float] | None:
    """Median, min and max over rounds, or None when no round produced times."""
    values = per_round(results)
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def cpu_per_wall(result: dict) -> float | None:
    """One child's CPU time over wall time in its timed region (None if it recorded none)."""
    if result.get("cpu_per_wall") is not None:
        return float(result["cpu_per_wall"])
    if result.get("cpu_times") and result.get("times"):
        return sum(result["cpu_times"]) / max(sum(result["times"]), 1e-12)
    return None


def median_cpu(results: list[dict]) -> float | None:
    """Median over rounds of each child's CPU seconds per call, its calls' sum over their number
    (``common.cpu_per_call``: one call's reading misses or lumps a second thread's time, so a
    median of calls was wrong on two cores): on one core, a view of the step that a loaded
    machine disturbs less than wall time (waiting for the core is not counted), though cache
    pollution still is."""
    values = [v for v in map(cpu_per_call, results) if v is not None]
    return statistics.median(values) if values else None


def cpu_cell(results: list[dict], cores: int) -> str:
    """The CPU/wall column: median over rounds, in bold with the limit where a round broke it."""
    values = [v for v in map(cpu_per_wall, results) if v is not None]
    if not values:
        return "n/a"
    text = f"{statistics.median(values):.2f}"
    over = [cpu_per_wall(r) for r in results if _region_over_cores(r, cores)]
    if over:
        return f"**{text} (max {max(over):.2f} > {CPU_TOLERANCE:.1f} x {cores})**"
    waited = [cpu_per_wall(r) for r in results if _region_starved(r)]
    if waited:
        return f"**{text} (min {min(waited):.2f} < {STARVED_BELOW:.1f}: waited for a core)**"
    return text


def timed_wall(result: dict) -> float | None:
    """The wall seconds of one child's timed region (its calls' sum), None if it recorded none."""
    times = result.get("times")
    return sum(times) if times else None


def _region_over_cores(result: dict, cores: int) -> bool:
    return over_cores(cpu_per_wall(result), cores, timed_wall(result))


def _region_starved(result: dict) -> bool:
    return starved(cpu_per_wall(result), timed_wall(result))


def flagged(task) -> list[str]:
    """Why any child of ``task`` is not a fair measurement on its cores: a timed region (or the
    whole process) that used more CPU than the cores allow, a timed region that waited for a
    core (``pinning.starved``: its wall time is inflated), a child not pinned as asked, or one
    that a library moved off its cores after it pinned itself (libgomp obeys
    ``GOMP_CPU_AFFINITY`` when it loads)."""
    cores, found = len(task.cpus), []
    for system, results in task.results.items():
        for k, r in enumerate(results):
            where = f"{task.title}, {_cores(cores)}, {system}, round {k + 1}"
            if _region_over_cores(r, cores):
                found.append(f"{where}: CPU/wall {cpu_per_wall(r):.2f} in the timed region")
            if _region_starved(r):
                found.append(
                    f"{where}: CPU/wall {cpu_per_wall(r):.2f} in the timed region, below "
                    f"{STARVED_BELOW:.1f}: it waited for a core (other work on the machine) or "
                    "for I/O, so its wall time is inflated"
                )
            pinning = r.get("pinning") or {}
            whole = pinning.get("process_cpu_per_wall")
            if over_cores(whole, cores, r.get("process_wall")):
                found.append(f"{where}: CPU/wall {whole:.2f} over the whole process")
            if pinning and pinning.get("affinity") != list(task.cpus):
                found.append(f"{where}: affinity {pinning.get('affinity')} != {task.cpus}")
            end = pinning.get("affinity_at_end")
            if end is not None and end != list(task.cpus):  # a runtime moved it after pinning
                found.append(f"{where}: left its cores: affinity {end} at the end, not {task.cpus}")
            if pinning.get("loaded"):
                found.append(f"{where}: {pinning['loaded']} imported before pinning")
    return found


def failure(results: list[dict]) -> str:
    """Why a system produced no times ('fails: RecursionError', 'skipped: ...')."""
    for r in results:
        if "times" not in r:
            detail = r.get("error") or r.get("reason") or ""
            return f"{r.get('status', 'error')}: {detail}".strip()
    return ""


def _chainrule_median(task) -> float | None:
    stats = summary(task.results.get("chainrule", []))
    return stats["median"] if stats else None


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def _how(results: list[dict]) -> str:
    for r in results:
        if r.get("how"):
            return str(r["how"])
    return ""


# -- sections -----------------------------------------------------------------------------------


def _system_rows(
    task, header: str, rule: str, cells: Callable[[list[dict], dict[str, float]], list[str]]
) -> list[str]:
    """A table's header, then one row per system: ``cells(results, summary)`` after its name,
    or, for a system that produced no timing, why, with the other columns left empty."""
    rows = [header, rule]
    empty = " |" * (header.count("|") - 3)
    for system in task.systems:
        results = task.results.get(system, [])
        stats = summary(results)
        if stats is None:
            rows.append(f"| {system} | {failure(results)} |{empty}")
        else:
            rows.append("| " + " | ".join([system, *cells(results, stats)]) + " |")
    return rows


def _peak_gflops(task) -> float | None:
    if task is None:
        return None
    values = [r["gflops"] for r in task.results.get("numpy", []) if "gflops" in r]
    return max(values) if values else None


#: Cores' worth of other work running as the suite starts above which its report says the machine
#: was shared (half a core or more; ``run.busy_cores``, or the 1-minute load average where a run
#: did not record it).
BUSY_LOAD = 0.5


def _busy_warning(facts: dict) -> str:
    """The warning that other work ran as the suite started ('' on a quiet machine): measured
    before any child ran, so it is other work's alone (the end's load includes the suite's own
    last child); half a core of it already competes with every table that uses all cores."""
    busy = facts.get("busy_cores_at_start")
    load = facts["load_average_at_start"][0]
    if busy is None:
        if load <= BUSY_LOAD:
            return ""
        what = f"1-minute load average {load:.2f} before the suite started"
    else:
        if busy <= BUSY_LOAD:
            return ""
        what = f"{busy:.2f} cores busy over the 2 s before the suite started"
    return (
        f"\n\n**This run shared the machine with other work ({what}, on"
        f" {facts['cores_visible']} cores): wall times, and the ratios taken from them, are"
        " disturbed, most at the larger core count. At 1 core the CPU ms columns are the steadier"
        " guide. Rerun the command above on a quiet machine before quoting a ratio.**"
    )


def _header(facts: dict, by_cores: dict[int, list], peaks: dict[int, float | None]) -> str:
    blas_rows = []
    for n, tasks in by_cores.items():
        sgemm, blas = _find(tasks, "sgemm"), []
        if sgemm is not None:
            for r in sgemm.results.get("numpy", []):
                blas = r.get("blas", blas)
        text = "; ".join(
            f"{b.get('internal_api')} {b.get('version')}, kernel {b.get('architecture')}, "
            f"{b.get('num_threads')} thread(s), {b.get('threading_layer')}"
            for b in blas
        )
        peak = f"{peaks[n]:.1f} GFLOP/s" if peaks.get(n) else "not measured"
        blas_rows.append(
            f"| numpy's BLAS at {_cores(n)} (threadpoolctl) | {text or 'not measured'} |\n"
            f"| peak sgemm (float32 matmul) at {_cores(n)} | {peak} |"
        )
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
    openblas = ", ".join(f"{k}={v!r}" for k, v in facts["openblas_env"].items())
    unset = " (unset in the children: --unset-openblas-coretype)" if facts[
        "unset_openblas_coretype"] else " (left as is in the children)"  # fmt: skip
    load0 = ", ".join(f"{x:.2f}" for x in facts["load_average_at_start"])
    load1 = ", ".join(f"{x:.2f}" for x in facts.get("load_average_at_end", ()))
    sets = "; ".join(
        f"{_cores(len(c))}: CPU{'s' if len(c) > 1 else ''} {', '.join(map(str, c))}"
        for c in facts["cpu_sets"]
    )
    quick = (
        " This is the quick mode (fewer rounds, chains up to N = 1e5): the full suite, without"
        " `--quick`, also runs N = 1e6."
        if facts["quick"]
        else ""
    )
    blas_text = "\n".join(blas_rows)
    busy = facts.get("busy_cores_at_start")
    busy_row = (
        "" if busy is None else f"\n| cores busy over the 2 s before the start | {busy:.2f} |"
    )
    quick += _busy_warning(facts)
    return f"""# Benchmarks

Generated by `{facts["command"]}` on {facts["date"]} ({facts["suite_seconds"]:.0f} s).
Regenerate it with the same command (see `benchmarks/README.md`); a run without `--output` writes
to `benchmarks/results/` and leaves this file alone.{quick}

| | |
|---|---|
| CPU | {facts["cpu"]} ({facts["cores_visible"]} cores visible) |
| cores per system (every child pinned) | {sets} |
{blas_text}
| OpenBLAS overrides in the environment | {openblas}{unset} |
| load average (1, 5, 15 min) | start {load0}; end {load1} |{busy_row}
| chainrule measured (what every child imports) | {_measured(facts)} |
| Python | {facts["python"]} on {facts["platform"]} |
| versions | {versions} |
"""


def _measured(facts: dict) -> str:
    """The chainrule the children imported, and the checkout's git revision (``dirty`` where
    its src/ or benchmarks/ differed from it), from ``run.measured_chainrule``."""
    found = facts.get("chainrule")
    if not found:  # a run before run.py recorded it: its children imported an installed copy
        return "not recorded (an older run: its children imported any installed chainrule)"
    revision = found.get("revision")
    if revision is None:
        where = "not a git checkout"
    else:
        where = f"git {revision[:12]}"
        if found.get("dirty"):
            where += ", dirty (src/ or benchmarks/ differed from that revision)"
    return f"`{found['path']}`, {where}"


def _headline(by_cores: dict[int, list]) -> str:
    """The ratios the targets are stated in, one column per core count ('' where none)."""
    counts = list(by_cores)
    rows: dict[str, dict[int, str]] = {}

    def put(label: str, n: int, value: str | None) -> None:
        if value is not None:
            rows.setdefault(label, {})[n] = value

    for n, tasks in by_cores.items():
        by_key = {task.key: task for task in tasks}
        ratio = functools.partial(_same_run_ratio, by_key)

        for key, label in (("mlp1", "workload 1"), ("mlp2", "workload 2")):
            for system in ("numpy", "torch", "jax"):
                put(f"{label}: chainrule / {system} step time", n, ratio(key, system))
        memory = by_key.get("mlp2_memory")
        if memory is not None:
            mine, base = _traced(memory, "chainrule"), _traced(memory, "numpy")
            if mine and base:
                put("workload 2 peak memory: chainrule / numpy", n, f"{mine / base:.2f}x")
        tiny = by_key.get("tiny")
        if tiny is not None:
            stats = summary(tiny.results.get("chainrule", []))
            if stats:
                us = stats["median"] / tiny.spec["n_ops"] * 1e6
                put("workload 3: chainrule us per op, forward + backward", n, f"{us:.2f}")
            put("workload 3: chainrule / torch per op", n, ratio("tiny", "torch"))
        for key, label in (("chain_100000", "1e5"), ("chain_1000000", "1e6")):
            put(f"workload 4, N = {label}: chainrule / torch time", n, ratio(key, "torch"))
            task = by_key.get(key)
            if task is not None:
                mine, theirs = _rss_growth(task, "chainrule"), _rss_growth(task, "torch")
                if mine is not None and theirs:
                    put(f"workload 4, N = {label}: chainrule / torch peak RSS growth", n,
                        f"{mine / theirs:.2f}x")  # fmt: skip
        r = ratio("moons", "micrograd", invert=True)
        if r:
            put("workload 5: micrograd / chainrule step time", n, f"{float(r[:-1]):.0f}x")
    if not rows:  # e.g. --only explainer: no ratio to give, no empty table
        return ""
    lines = [
        "## Headline ratios (same run, same cores)",
        "",
        "Below 1 chainrule is faster. *Paired*: the median over rounds of the ratio within each "
        "round (the systems take turns in a round), steadier on a shared machine than the ratio "
        "of the two medians before it. *90% CI*: where the paired median lies with 90% "
        "confidence, from the rounds' order statistics (no assumption about the noise's "
        "distribution; given from five rounds on). A target is met when the whole interval is "
        "below it, and missed when the whole interval is above it.",
        "",
        "| ratio | " + " | ".join(_cores(n) for n in counts) + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for label, values in rows.items():
        lines.append(f"| {label} | " + " | ".join(values.get(n, "") for n in counts) + " |")
    return "\n".join(lines) + "\n"


def _same_run_ratio(by_key: dict, key: str, system: str, invert: bool = False) -> str | None:
    """chainrule's median over ``system``'s in task ``key`` (or the inverse), or None."""
    task = by_key.get(key)
    if task is None:
        return None
    mine, theirs = _chainrule_median(task), summary(task.results.get(system, []))
    if not mine or not theirs:
        return None
    value = theirs["median"] / mine if invert else mine / theirs["median"]
    paired = None if invert else paired_ratio(task, system)
    if paired is None:
        return f"{value:.3f}x"  # three places: the targets sit at 1.03x
    interval = median_interval(round_ratios(task, system))
    if interval is None:
        return f"{value:.3f}x (paired {paired:.3f}x)"
    return f"{value:.3f}x (paired {paired:.3f}x, 90% CI {interval[0]:.3f}-{interval[1]:.3f})"


def paired_ratio(task, system: str) -> float | None:
    """The median over rounds of chainrule's time over ``system``'s in the same round.

    The systems take turns within each round, so a slow stretch of a shared machine lands on
    both sides of a round's ratio; the ratio of the two medians above can pair a fast round of
    one with a slow round of the other. None with fewer than three complete rounds.
    """
    ratios = round_ratios(task, system)
    return statistics.median(ratios) if len(ratios) >= 3 else None


def round_ratios(task, system: str) -> list[float]:
    """chainrule's median step time over ``system``'s, round by round (complete rounds only)."""
    mine, theirs = task.results.get("chainrule", []), task.results.get(system, [])
    return [
        statistics.median(a["times"]) / statistics.median(b["times"])
        for a, b in zip(mine, theirs)
        if a.get("times") and b.get("times") and statistics.median(b["times"]) > 0
    ]


def median_interval(values: list[float], confidence: float = 0.9) -> tuple[float, float] | None:
    """A confidence interval for the median of the distribution ``values`` were drawn from.

    Distribution-free (order statistics): each value lies below the median with probability 1/2,
    so the k-th smallest and the k-th largest of n values bracket it with probability
    1 - 2 P(Binomial(n, 1/2) < k). The widest such k that still reaches ``confidence`` is taken.
    A shared machine's noise is skewed (a busy neighbour only ever slows a round), which a
    mean's interval would assume away. None when n values cannot reach ``confidence`` (n < 5 at
    90%).
    """
    ordered, n = sorted(values), len(values)
    # exact integers: 2^n P(Binomial(n, 1/2) < k) = sum of C(n, j) for j < k, each C(n, j) from
    # the last (one comb per k would make 10^5 rounds take minutes)
    miss = Fraction(1) - Fraction(confidence)  # the probability allowed outside, both tails
    below, term, best = 0, 1, None
    for k in range(1, n // 2 + 1):
        below += term  # C(n, k - 1)
        term = term * (n - k + 1) // k
        if 2 * below * miss.denominator > miss.numerator * 2**n:
            break
        best = k
    return None if best is None else (ordered[best - 1], ordered[n - best])


def _flags(tasks: list) -> str:
    found = [line for task in tasks for line in flagged(task)]
    head = "## Rows that used more cores than given, waited for one, or were not pinned as asked"
    if not found:
        return (
            f"{head}\n\nNone: every child ran on the CPUs asked, pinned before its first "
            f"library import, and no timed region's CPU/wall exceeded {CPU_TOLERANCE:.1f} x "
            f"the cores given or fell below {STARVED_BELOW:.1f}.\n"
        )
    return f"{head}\n\n" + "\n".join(f"- {line}" for line in found) + "\n"


def _rss_growth(task, system: str) -> float | None:
    """The median over rounds of ``system``'s peak RSS growth; a round that grew by 0 counts."""
    values = [r["rss_growth"] for r in task.results.get(system, []) if "rss_growth" in r]
    return float(statistics.median(values)) if values else None


def mib(size: float) -> str:
    """Bytes as whole MiB (2**20 bytes, as every memory column counts), "< 1 MiB" below one."""
    return "< 1 MiB" if size < 2**20 else f"{size / 2**20:.0f} MiB"


def _mlp_table(task, gemm_flops: Callable, peak: float | None) -> str:
    sizes, batch = task.spec["sizes"], task.spec["batch"]
    flops = gemm_flops(sizes, batch)
    floor = flops / (peak * 1e9) if peak else None
    base = _chainrule_median(task)
    floor_text = f"{floor * 1e3:.3f} ms" if floor else "n/a"
    fastest = min((s["median"] for s in map(summary, task.results.values()) if s), default=None)
    if floor and fastest and fastest < floor:
        floor_text += (
            " (a step beat it: the peak was measured while the machine was loaded, so read"
            " '% of peak' as an upper bound)"
        )
    intro = [
        f"## {task.title}",
        "",
        f"{flops / 1e6:.1f} MFLOP of matmul per step; GEMM floor at peak sgemm: {floor_text}. "
        f"{task.rounds} round(s) of {task.spec['reps']} timed steps.",
        "",
    ]

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        pct = f"{100 * floor / stats['median']:.0f}%" if floor else "n/a"
        times = [f"{stats[k] * 1e3:.3f}" for k in ("median", "min", "max")]
        cpu = cpu_cell(results, len(task.cpus))
        cpu_ms = median_cpu(results)
        cpu_ms_text = f"{cpu_ms * 1e3:.3f}" if cpu_ms is not None else "n/a"
        return [*times, _ratio(stats["median"], base), pct, cpu_ms_text, cpu, _how(results)]

    header = (
        "| system | median ms | min ms | max ms | vs chainrule | % of peak | CPU ms | CPU/wall "
        "| how |"
    )
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|---:|---|", cells)
    return "\n".join(intro + rows) + "\n"


def _traced(task, system: str) -> float | None:
    for r in task.results.get(system, []):
        if r.get("traced_peak"):
            return float(r["traced_peak"])
    return None


def _memory_table(task) -> str:
    base = _traced(task, "numpy")
    rows = [
        f"## {task.title}",
        "",
        "| system | tracemalloc peak MiB | vs numpy | peak RSS growth MiB |",
        "|---|---:|---:|---:|",
    ]
    for system in task.systems:
        results = task.results.get(system, [])
        r = next((r for r in results if "rss_delta" in r), None)
        if r is None:
            rows.append(f"| {system} | {failure(results)} | | |")
            continue
        traced = r.get("traced_peak")
        traced_text = f"{traced / 2**20:.1f}" if traced else "(not visible)"
        ratio = f"{traced / base:.2f}x" if traced and base else ""
        rows.append(f"| {system} | {traced_text} | {ratio} | {r['rss_delta'] / 2**20:.1f} |")
    return "\n".join(rows) + "\n"


def _per_op_table(task) -> str:
    n_ops = task.spec["n_ops"]
    base = _chainrule_median(task)
    us = 1e6 / n_ops
    intro = [
        f"## {task.title}",
        "",
        _sentences(
            f"Length-{task.spec['width']} {task.spec['dtype']} vectors, ops "
            f"{', '.join(task.spec['ops'])} in turn, {n_ops:,} ops, then sum and backward.",
            _spin_note([task]),
        ),
        "",
    ]

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        phases = [
            statistics.median(statistics.median(r[phase]) for r in results if phase in r)
            for phase in ("forward", "backward")
        ]
        totals = [f"{stats[k] * us:.2f}" for k in ("median", "min", "max")]
        return [*totals, *(f"{t * us:.2f}" for t in phases), _ratio(stats["median"], base),
                cpu_cell(results, len(task.cpus))]  # fmt: skip

    header = (
        "| system | us/op fwd+bwd (median) | min | max | forward us/op | backward us/op "
        "| vs chainrule | CPU/wall |"
    )
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|---:|", cells)
    return "\n".join(intro + rows) + "\n"


def _chain_table(tasks: list) -> str:
    systems: list[str] = []
    for task in tasks:
        systems += [s for s in task.systems if s not in systems]
    rows = [
        "## 4. A deep chain of N elementwise ops (mul, add), forward + backward",
        "",
        _sentences(
            "Seconds (median over rounds), with us per op, the ratio to chainrule, the peak RSS "
            "growth of the timed chains and CPU/wall beneath. A blank cell: not run at that N "
            "(the peer would take minutes).",
            _spin_note(tasks),
        ),
        "",
        "| N | " + " | ".join(systems) + " |",
        "|---:|" + "---:|" * len(systems),
    ]
    for task in tasks:
        n = task.spec["n_ops"]
        base = _chainrule_median(task)
        cells = []
        for system in systems:
            results = task.results.get(system)
            if results is None:
                cells.append("")
                continue
            stats = summary(results)
            if stats is None:
                cells.append(failure(results)[:40])
                continue
            growth = _rss_growth(task, system)
            memory = "RSS growth n/a" if growth is None else mib(growth)
            cells.append(
                f"{stats['median']:.4f} s<br>{stats['median'] / n * 1e6:.1f} us/op<br>"
                f"{_ratio(stats['median'], base)}<br>{memory}<br>"
                f"CPU/wall {cpu_cell(results, len(task.cpus))}"
            )
        rows.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _sentences(*parts: str) -> str:
    """The non-empty ``parts`` as one paragraph."""
    return " ".join(part for part in parts if part)


def _spin_note(tasks: list) -> str:
    """Why workloads 3-4 run with ``run.CHAIN_ENV`` (or, for a run made before it, how to read
    their CPU/wall at more than one core)."""
    timeout = tasks[0].env.get("OPENBLAS_THREAD_TIMEOUT")
    if timeout and all(t.env.get("OPENBLAS_THREAD_TIMEOUT") == timeout for t in tasks):
        return (
            f"The children ran with OPENBLAS_THREAD_TIMEOUT={timeout}: after `import numpy` "
            "OpenBLAS's idle worker spins on a second core for about "
            "0.1 s with no BLAS call made, so a NumPy-based row whose short chain was timed in "
            "that window read CPU/wall 2.0 at 2 cores; with the setting it sleeps at once. The "
            "chains make no BLAS call, so nothing else changes."
        )
    if len(tasks[0].cpus) == 1:
        return ""
    return (
        "A NumPy-based row's CPU/wall near 2.0 here is OpenBLAS's idle worker spinning on the "
        "second core for about 0.1 s after `import numpy` (this run predates "
        "OPENBLAS_THREAD_TIMEOUT=4 for these rows), not a second core's work: the chains make "
        "no BLAS call."
    )


def _plain_table(task, scale: float, unit: str) -> str:
    base = _chainrule_median(task)

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        loss = next((r["first_loss"] for r in results if "first_loss" in r), float("nan"))
        times = [f"{stats[k] * scale:.3f}" for k in ("median", "min", "max")]
        cpu = cpu_cell(results, len(task.cpus))
        return [*times, _ratio(stats["median"], base), f"{loss:.6f}", cpu]

    header = f"| system | median {unit} | min | max | vs chainrule | first loss | CPU/wall |"
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|", cells)
    return "\n".join([f"## {task.title}", "", *rows]) + "\n"


def _preset(results: list[dict]) -> str | None:
    """The setup a digits row ran instead of the shared one (``chainrule-cli``: the command's
    own preset), or None for a row of the shared setup."""
    return next((r["preset"] for r in results if r.get("preset")), None)


def _digits_table(task) -> str:
    base = _chainrule_median(task)
    own = {s: _preset(task.results.get(s, [])) for s in task.systems}
    own = {system: preset for system, preset in own.items() if preset}
    intro = [
        f"## {task.title}",
        "",
        "64-32-10 logistic net, SGD lr 0.5, batches of 32, same split (80/20, stratified) and "
        "starting weights; stops at the first epoch with held-out accuracy >= "
        f"{task.spec['target']:.2f} (at most {task.spec['max_epochs']} epochs). Each system "
        "shuffles in its own way, so the epochs a system needs differ by chance: *s per epoch* "
        "compares the work, *fit s* the time to the target. "
        "Process wall time includes Python start-up and imports."
        + (f" {', '.join(own)}: not this setup (below), so no ratio to chainrule." if own else ""),
        "",
    ]

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        ok = [r for r in results if "times" in r]
        wall = statistics.median(r["process_wall"] for r in ok)
        rss = max(r.get("max_rss", 0) for r in ok) / 2**20
        epochs = ok[0]["epochs"]
        per_epoch = f"{stats['median'] / epochs:.3f}" if epochs else "n/a"
        return [
            f"{stats['median']:.3f}",
            "own preset" if _preset(results) else _ratio(stats["median"], base),
            per_epoch,
            str(epochs),
            f"{ok[0]['accuracy']:.3f}",
            f"{wall:.2f}",
            f"{rss:.0f}",
            cpu_cell(results, len(task.cpus)),
            _how(results),
        ]

    header = (
        "| system | fit s (median) | vs chainrule | s per epoch | epochs | accuracy "
        "| process wall s | peak RSS MiB | CPU/wall | how |"
    )
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|", cells)
    notes = [
        f"*{system}* runs its own setup, not the one above: {preset}. Its fit s is the whole "
        "call, so it is no measure of the same work as the other rows."
        for system, preset in own.items()
    ]
    return "\n".join(intro + rows + ([""] + notes if notes else [])) + "\n"


def _explainer_table(tasks: list) -> str:
    rows = ["## 7. The explainer on a 784-100-10 network", ""]
    for task in tasks:
        results = task.results.get("chainrule", [])
        stats = summary(results)
        label = "with finite-difference checks" if task.spec.get("check") else "no checks"
        cases = task.spec.get("cases", 1)
        what = "one case" if cases == 1 else f"{cases} {task.spec.get('dtype')} cases"
        then = ", then write the JSON document" if task.spec.get("to_json") else ""
        if stats is None:
            rows.append(f"- {label}: {failure(results)}")
            continue
        terms = next((r.get("terms") for r in results if "terms" in r), "?")
        checks = f" (at most {task.spec['max_checks']:,} checked)" if task.spec.get("check") else ""
        rows.append(
            f"- {label}{checks}: {stats['median']:.3f} s to explain {what} and list all "
            f"{terms} terms w_ij dE/dz_j of the 100 hidden units{then} "
            f"(CPU/wall {cpu_cell(results, len(task.cpus))})"
        )
    return "\n".join(rows) + "\n"
