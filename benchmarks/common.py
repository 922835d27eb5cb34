"""What every child process shares: thread settings, timing, initial weights and machine facts;
and what the benchmark commands share: where a version of chainrule lives, option types.

NumPy is imported where it is used, not here: ``benchmarks.child`` reads :func:`cpu_seconds`
at its start, before a workload chose when (and with which thread settings) NumPy loads."""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.pinning import thread_environment

#: Set on some processors here for old OpenBLAS builds; they slow a current numpy.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: The checkout these benchmarks sit in: its ``src/`` is the chainrule a child imports.
REPO = Path(__file__).resolve().parents[1]


#: glibc's allocator keeps up to this much freed memory for reuse in every child, whatever its
#: system: the setting ``chainrule.backend.keep_freed_memory()`` makes (as the CLI and
#: ``Trainer.fit`` do), given through the environment so that no system runs with an allocator
#: setting another lacks (HIPS autograd's step was 1.3x faster with it).
KEEP_FREED_BYTES = str(256 * 2**20)


def child_environment(
    cpus: list[int], unset_openblas_coretype: bool, source: Path = REPO / "src"
) -> dict[str, str]:
    """The environment of a child process: pinned to ``cpus``, every thread pool sized to them
    and bound to none of its own choosing (``pinning.AFFINITY_VARIABLES`` cleared), glibc's
    allocator set alike for every system (:data:`KEEP_FREED_BYTES`), and ``source`` (the tree
    holding the chainrule to measure, by default this checkout's) first on PYTHONPATH, ahead of
    an installed chainrule (an editable install of another checkout included); check it with
    :func:`source_problem`."""
    env = thread_environment(cpus, dict(os.environ))
    inherited = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    env["PYTHONPATH"] = os.pathsep.join([str(source), str(REPO), *inherited])
    env["MALLOC_MMAP_THRESHOLD_"] = env["MALLOC_TRIM_THRESHOLD_"] = KEEP_FREED_BYTES
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if unset_openblas_coretype:
        for name in OPENBLAS_OVERRIDES:
            env.pop(name, None)
    return env


def bench_threads() -> int:
    """The thread count the parent asked this child to use (the number of cores it was given)."""
    return int(os.environ.get("BENCH_THREADS", "1"))


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its children that have finished."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_calls(step: Callable[[], Any], reps: int, warmup: int) -> dict[str, list[float]]:
    """Wall and CPU seconds per call of ``step``, after ``warmup`` untimed calls (JIT compiles,
    caches fill): ``{"times": [...], "cpu_times": [...]}``.

    One call's CPU reading is only meaningful summed with the others: Linux credits the time of
    a thread on another core in lumps at scheduler ticks, so a short call's reading can miss a
    second BLAS thread's work or hold several calls' worth of it. Read CPU per call as the
    round's sum over its calls (:func:`cpu_per_call`), never as a median."""
    for _ in range(warmup):
        step()
    times, cpu_times = [], []
    for _ in range(reps):
        cpu0 = time.process_time()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu0)
    return {"times": times, "cpu_times": cpu_times}


def cpu_per_call(result: dict) -> float | None:
    """A child's CPU seconds per call: its calls' CPU summed and divided by their number (see
    :func:`time_calls`); None where it recorded none."""
    cpu = result.get("cpu_times")
    return sum(cpu) / len(cpu) if cpu else None


def max_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mlp_problem(sizes: list[int], batch: int, seed: int = 0, dtype: Any = "float32"):
    """The shared starting point of workloads 1-2: inputs, labels, weights and biases.

    Weights are N(0, 1/fan_in) laid out (n_in, n_out) as the lecture's w_ij; biases are zero.
    Every system copies these arrays, so all start from the same weights.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], size=batch)
    weights = [
        (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    biases = [np.zeros(n_out, dtype=dtype) for n_out in sizes[1:]]
    return x, labels, weights, biases


def blas_info() -> list[dict[str, Any]]:
    """numpy's BLAS as threadpoolctl sees it: library, version, kernel (architecture), threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed (pip install -e '.[bench]')"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "prefix")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def chainrule_source(path: Path) -> Path | None:
    """The directory in ``path`` that holds the ``chainrule`` package, the one to put on
    PYTHONPATH: ``path`` itself, or the ``src/`` of a checkout's root; None where neither does."""
    for tree in (path, path / "src"):
        if (tree / "chainrule" / "__init__.py").is_file():
            return tree.resolve()
    return None


def imported_from(env: dict[str, str]) -> str:
    """The file ``import chainrule`` loads in a child with ``env`` (or its error's last line)."""
    done = subprocess.run(
        [sys.executable, "-c", "import chainrule; print(chainrule.__file__)"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or (done.stderr.strip().splitlines() or ["no output"])[-1][-200:]


def source_problem(env: dict[str, str], source: Path) -> str | None:
    """Why a child with ``env`` would not measure the chainrule in ``source`` (it imports
    another copy, or fails to import it), or None: checked before any child runs."""
    where = imported_from(env)
    if Path(where).resolve().parent.parent != Path(source).resolve():
        return f"chainrule imports from {where}, not from {source}"
    return None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (rounds, reps, ranks, epochs); anything
    else is refused in one line naming the option, before any child runs."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_ints(text: str) -> list[int]:
    """An argparse type: a comma-separated list of :func:`positive_int` ("1,2,4")."""
    values = [positive_int(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} names no number")
    return values


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (seconds; a child's timeout cannot be infinite)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text}")
    return value
