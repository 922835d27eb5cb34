"""Turn the suite's results into the markdown report (docs/benchmarks.md).

Each timed child process contributes one number per system per round: the median of its timed
calls. A table shows, per system, the median of those per-process medians, their min and max
(the spread between fresh processes), and the ratio to chainrule's median from the same run.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

METHOD = """\
## Method

- Every measurement runs in a fresh child process (`python -m benchmarks.child`), one per system
  per round; rounds are interleaved and the order of the systems rotates by one each round.
- Every child has the same thread count: `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS` and
  `MKL_NUM_THREADS` set, `torch.set_num_threads(n)`, and for JAX
  `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` at one thread.
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
- Memory (workload 2b) runs once per system in its own process: tracemalloc's peak from building
  the model through two steps (NumPy reports its arrays to tracemalloc, so this sees every array
  chainrule, the NumPy peer, autograd and scikit-learn allocate; inputs and the shared initial
  weights are allocated before tracing starts), and the growth of the process's peak RSS over the
  same span (the only measure for torch's and XLA's own allocators; coarse, includes JIT).
- Workloads 3-4 are chains of tiny elementwise ops ending in a sum, then backward to the two
  leaves w and b that every op reads (see `benchmarks/workloads/chain.py`); JAX runs op by op
  (`jax.vjp`, no jit) since a jitted chain measures a compiler, not per-op overhead. micrograd
  runs with Python's default recursion limit; its RecursionError is reported as *fails*.
- This machine is shared with other engineers, so absolute times drift; trust the same-run
  ratios, and compare load averages at the start and end of the run.
"""


def render(facts: dict[str, Any], tasks: list, gemm_flops: Callable[[list[int], int], int]) -> str:
    """The whole report as markdown."""
    by_key = {task.key: task for task in tasks}
    peak = _peak_gflops(by_key.get("sgemm"))
    parts = [_header(facts, by_key.get("sgemm"), peak), _headline(by_key)]
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
    explainers = [by_key[k] for k in ("explainer", "explainer_checked") if k in by_key]
    if explainers:
        parts.append(_explainer_table(explainers))
    parts.append(METHOD)
    return "\n".join(parts)


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


def _header(facts: dict, sgemm, peak: float | None) -> str:
    blas = []
    if sgemm is not None:
        for r in sgemm.results.get("numpy", []):
            blas = r.get("blas", blas)
    blas_text = (
        "; ".join(
            f"{b.get('internal_api')} {b.get('version')}, kernel {b.get('architecture')}, "
            f"{b.get('num_threads')} thread(s), {b.get('threading_layer')}"
            for b in blas
        )
        or "not measured (run the sgemm workload)"
    )
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
    openblas = ", ".join(f"{k}={v!r}" for k, v in facts["openblas_env"].items())
    unset = " (unset in the children: --unset-openblas-coretype)" if facts[
        "unset_openblas_coretype"] else " (left as is in the children)"  # fmt: skip
    load0 = ", ".join(f"{x:.2f}" for x in facts["load_average_at_start"])
    load1 = ", ".join(f"{x:.2f}" for x in facts.get("load_average_at_end", ()))
    peak_text = f"{peak:.1f} GFLOP/s" if peak else "not measured"
    return f"""# Benchmarks

Generated by `python benchmarks/run.py{" --quick" if facts["quick"] else ""}` on {facts["date"]}
({facts["suite_seconds"]:.0f} s). Regenerate with the same command; see
`benchmarks/README.md`.

| | |
|---|---|
| CPU | {facts["cpu"]} ({facts["cores"]} cores visible) |
| threads per system | {facts["threads"]} |
| numpy's BLAS (threadpoolctl) | {blas_text} |
| peak sgemm (float32 matmul, {facts["threads"]} thread) | {peak_text} |
| OpenBLAS overrides in the environment | {openblas}{unset} |
| load average (1, 5, 15 min) | start {load0}; end {load1} |
| Python | {facts["python"]} on {facts["platform"]} |
| versions | {versions} |
"""


def _headline(by_key: dict) -> str:
    """The ratios the targets are stated in, gathered in one place."""
    lines = ["## Headline ratios (same run)", ""]

    def ratio(key: str, system: str, invert: bool = False) -> str | None:
        task = by_key.get(key)
        if task is None:
            return None
        mine, theirs = _chainrule_median(task), summary(task.results.get(system, []))
        if not mine or not theirs:
            return None
        value = theirs["median"] / mine if invert else mine / theirs["median"]
        return f"{value:.3f}x"  # three places: the targets sit at 1.05x

    for key, label in (("mlp1", "workload 1"), ("mlp2", "workload 2")):
        for system in ("numpy", "torch", "jax"):
            r = ratio(key, system)
            if r:
                lines.append(f"- {label}: chainrule / {system} step time = {r}")
    memory = by_key.get("mlp2_memory")
    if memory is not None:
        mine = _traced(memory, "chainrule")
        base = _traced(memory, "numpy")
        if mine and base:
            lines.append(f"- workload 2 peak memory: chainrule / numpy = {mine / base:.2f}x")
    tiny = by_key.get("tiny")
    if tiny is not None:
        stats = summary(tiny.results.get("chainrule", []))
        if stats:
            us = stats["median"] / tiny.spec["n_ops"] * 1e6
            lines.append(f"- workload 3: chainrule {us:.1f} us per op, forward + backward")
    r = ratio("chain_100000", "torch", invert=True)
    if r:
        lines.append(f"- workload 4, N = 1e5: torch / chainrule time = {r}")
    r = ratio("moons", "micrograd", invert=True)
    if r:
        lines.append(f"- workload 5: chainrule is {float(r[:-1]):.0f} times faster than micrograd")
    return "\n".join(lines) + "\n"


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
        return [*times, _ratio(stats["median"], base), pct, _how(results)]

    header = "| system | median ms | min ms | max ms | vs chainrule | % of peak | how |"
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---|", cells)
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
        "| system | tracemalloc peak MB | vs numpy | peak RSS growth MB |",
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
        f"Length-{task.spec['width']} {task.spec['dtype']} vectors, ops "
        f"{', '.join(task.spec['ops'])} in turn, {n_ops:,} ops, then sum and backward.",
        "",
    ]

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        phases = [
            statistics.median(statistics.median(r[phase]) for r in results if phase in r)
            for phase in ("forward", "backward")
        ]
        totals = [f"{stats[k] * us:.2f}" for k in ("median", "min", "max")]
        return [*totals, *(f"{t * us:.2f}" for t in phases), _ratio(stats["median"], base)]

    header = (
        "| system | us/op fwd+bwd (median) | min | max | forward us/op | backward us/op "
        "| vs chainrule |"
    )
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|", cells)
    return "\n".join(intro + rows) + "\n"


def _chain_table(tasks: list) -> str:
    systems: list[str] = []
    for task in tasks:
        systems += [s for s in task.systems if s not in systems]
    rows = [
        "## 4. A deep chain of N elementwise ops (mul, add), forward + backward",
        "",
        "Seconds (median over rounds), with us per op and the ratio to chainrule beneath. "
        "A blank cell: not run at that N (the peer would take minutes).",
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
            cells.append(
                f"{stats['median']:.4f} s<br>{stats['median'] / n * 1e6:.1f} us/op<br>"
                f"{_ratio(stats['median'], base)}"
            )
        rows.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _plain_table(task, scale: float, unit: str) -> str:
    base = _chainrule_median(task)

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        loss = next((r["first_loss"] for r in results if "first_loss" in r), float("nan"))
        times = [f"{stats[k] * scale:.3f}" for k in ("median", "min", "max")]
        return [*times, _ratio(stats["median"], base), f"{loss:.6f}"]

    header = f"| system | median {unit} | min | max | vs chainrule | first loss |"
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|", cells)
    return "\n".join([f"## {task.title}", "", *rows]) + "\n"


def _digits_table(task) -> str:
    base = _chainrule_median(task)
    intro = [
        f"## {task.title}",
        "",
        "64-32-10 logistic net, SGD lr 0.5, batches of 32, same split and starting weights; "
        "stops at the first epoch with held-out accuracy >= "
        f"{task.spec['target']:.2f} (at most {task.spec['max_epochs']} epochs). "
        "Process wall time includes Python start-up and imports.",
        "",
    ]

    def cells(results: list[dict], stats: dict[str, float]) -> list[str]:
        ok = [r for r in results if "times" in r]
        wall = statistics.median(r["process_wall"] for r in ok)
        rss = max(r.get("max_rss", 0) for r in ok) / 2**20
        return [
            f"{stats['median']:.3f}",
            _ratio(stats["median"], base),
            str(ok[0]["epochs"]),
            f"{ok[0]['accuracy']:.3f}",
            f"{wall:.2f}",
            f"{rss:.0f}",
            _how(results),
        ]

    header = (
        "| system | fit s (median) | vs chainrule | epochs | accuracy | process wall s "
        "| peak RSS MB | how |"
    )
    rows = _system_rows(task, header, "|---|---:|---:|---:|---:|---:|---:|---|", cells)
    return "\n".join(intro + rows) + "\n"


def _explainer_table(tasks: list) -> str:
    rows = ["## 7. The explainer on a 784-100-10 network", ""]
    for task in tasks:
        results = task.results.get("chainrule", [])
        stats = summary(results)
        label = "with finite-difference checks" if task.spec.get("check") else "no checks"
        if stats is None:
            rows.append(f"- {label}: {failure(results)}")
            continue
        terms = next((r.get("terms") for r in results if "terms" in r), "?")
        checks = f" (at most {task.spec['max_checks']:,} checked)" if task.spec.get("check") else ""
        rows.append(
            f"- {label}{checks}: {stats['median']:.3f} s to explain one case and list all "
            f"{terms} terms w_ij dE/dz_j of the 100 hidden units"
        )
    return "\n".join(rows) + "\n"
