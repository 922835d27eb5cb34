"""Pin a benchmark process to a set of cores before any library starts its thread pools.

Standard library only: ``benchmarks/child.py`` imports this first, before NumPy, PyTorch or JAX,
so every library sees the pinned set when it sizes its thread pool (XLA and OpenMP read the
affinity mask; the thread variables below cover the BLAS pools that read only the environment).
Thread counts alone are not enough: XLA's CPU client starts a pool per core whatever its flags
say, and only the affinity mask keeps it on the cores it was given.

    BENCH_CORES=0 python -m benchmarks.child '{...}'     # one core: CPU 0
    BENCH_CORES=0,1 python -m benchmarks.child '{...}'   # two cores
"""

from __future__ import annotations

import os
import sys

#: The environment variable that names the CPUs a child runs on ("0" or "0,1").
CORES_VARIABLE = "BENCH_CORES"
#: Thread-pool sizes read from the environment, all set to the number of cores given.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: Variables that bind threads to CPUs of their own choosing, read when a runtime loads: libgomp
#: (loaded by torch and scikit-learn) moved a child's main thread to CPU 1 under
#: ``GOMP_CPU_AFFINITY=1`` after it had pinned itself to CPU 0. A child runs without them.
AFFINITY_VARIABLES = (
    "GOMP_CPU_AFFINITY",
    "OMP_PLACES",
    "OMP_PROC_BIND",
    "KMP_AFFINITY",
    "KMP_HW_SUBSET",
    "MKL_AFFINITY",
)
#: Libraries that must not be imported before the process is pinned.
LIBRARIES = ("numpy", "scipy", "torch", "jax", "jaxlib", "sklearn", "autograd", "chainrule")
#: A CPU/wall ratio above this many times the cores given means a system used more cores.
CPU_TOLERANCE = 1.10
#: CPU seconds the process clock cannot resolve: Linux credits a thread running on another core
#: with its time at scheduler ticks (1-10 ms), so a region of a few milliseconds can read up to a
#: tick more CPU than its threads used (an idle OpenBLAS worker spinning on the second core then
#: shows as 2.45 x the wall time on two cores).
CPU_CLOCK_SLACK = 0.010
#: A timed region's CPU/wall below this (at any core count: a computing process has a thread
#: running all the time) means the process ran for less than 90% of its wall time: it waited
#: for a core that other work held (or for I/O), and its wall time is inflated by that wait.
STARVED_BELOW = 0.90
#: Added to XLA_FLAGS at one core: no Eigen thread pool inside XLA's kernels.
XLA_ONE_CORE = "--xla_cpu_multi_thread_eigen=false"


def parse_cpus(text: str) -> list[int]:
    """``"0,1"`` -> ``[0, 1]``; a clear error for anything that is not a list of CPU numbers."""
    try:
        cpus = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(
            f"{CORES_VARIABLE}: {text!r} is not a comma-separated list of CPUs"
        ) from None
    if not cpus or cpus[0] < 0:
        raise ValueError(f"{CORES_VARIABLE}: {text!r} names no CPU")
    return cpus


def format_cpus(cpus: list[int]) -> str:
    """The inverse of :func:`parse_cpus`."""
    return ",".join(str(cpu) for cpu in sorted(cpus))


def thread_environment(cpus: list[int], base: dict[str, str]) -> dict[str, str]:
    """``base`` with the cores named, every thread pool sized to their number, and no variable
    that would bind a thread elsewhere (:data:`AFFINITY_VARIABLES`)."""
    env = {k: v for k, v in base.items() if k not in AFFINITY_VARIABLES}
    n = len(cpus)
    env[CORES_VARIABLE] = format_cpus(cpus)
    env["BENCH_THREADS"] = str(n)
    for name in THREAD_VARIABLES:
        env[name] = str(n)
    eigen = XLA_ONE_CORE.split("=")[0]
    flags = [f for f in env.get("XLA_FLAGS", "").split() if not f.startswith(eigen)]
    if n == 1:
        flags.append(XLA_ONE_CORE)
    env["XLA_FLAGS"] = " ".join(flags)
    return env


def pin_from_environment() -> dict:
    """Pin this process to ``$BENCH_CORES`` (if set) and size the thread pools to match.

    Returns what a result should record: the CPUs asked for, the affinity read back right after
    pinning, and which of :data:`LIBRARIES` were already imported (none, when called first).
    """
    loaded = sorted(name for name in LIBRARIES if name in sys.modules)
    text = os.environ.get(CORES_VARIABLE, "")
    if not text:
        return {"requested": None, "affinity": sorted(os.sched_getaffinity(0)), "loaded": loaded}
    cpus = parse_cpus(text)
    os.sched_setaffinity(0, cpus)
    for name in AFFINITY_VARIABLES:  # a child started by hand: no runtime loaded has read them
        os.environ.pop(name, None)
    os.environ.update(thread_environment(cpus, dict(os.environ)))
    return {"requested": cpus, "affinity": sorted(os.sched_getaffinity(0)), "loaded": loaded}


def threads_now() -> int:
    """How many threads this process runs now (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def over_cores(cpu_per_wall: float | None, cores: int, wall: float | None = None) -> bool:
    """True when a row used more than the cores it was given: past the tolerance and, where the
    region's ``wall`` seconds are known, by more CPU time than the clock resolves
    (:data:`CPU_CLOCK_SLACK`)."""
    if cpu_per_wall is None or cpu_per_wall <= cores * CPU_TOLERANCE:
        return False
    return wall is None or (cpu_per_wall - cores * CPU_TOLERANCE) * wall > CPU_CLOCK_SLACK


def starved(cpu_per_wall: float | None, wall: float | None = None) -> bool:
    """True when a row ran on less than :data:`STARVED_BELOW` of a core: it waited for a core
    (a loaded machine) or for I/O, by more CPU time than the clock resolves where the region's
    ``wall`` seconds are known. The counterpart of :func:`over_cores`: a loaded host's inflated
    wall times show, where only over-use showed before."""
    if cpu_per_wall is None or cpu_per_wall >= STARVED_BELOW:
        return False
    return wall is None or (STARVED_BELOW - cpu_per_wall) * wall > CPU_CLOCK_SLACK
