"""Run one workload for one system in this (fresh) process and print the result as JSON.

The parent (``benchmarks/run.py``) starts one child per system per round. The child pins itself
to the cores named in ``$BENCH_CORES`` before it imports anything else (the parent has already
pinned it at exec, so this only confirms it when the parent started it), so no system inherits
another's warm caches, JIT or allocator, and none runs on more cores than it was given.

    BENCH_CORES=0 python -m benchmarks.child '{"workload": "mlp", "system": "torch", ...}'
"""

from __future__ import annotations

# Pin first: no library may start a thread pool before the affinity mask is set.
from benchmarks.pinning import pin_from_environment, threads_now

PINNING = pin_from_environment()

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from benchmarks.common import cpu_seconds, max_rss_bytes  # noqa: E402  (imports no NumPy)

#: workload name -> (module under benchmarks.workloads, function)
WORKLOADS = {
    "mlp": ("mlp", "measure"),
    "mlp_memory": ("mlp", "measure_memory"),
    "chain": ("chain", "measure"),
    "moons": ("moons", "measure"),
    "digits": ("digits", "measure"),
    "explainer": ("explainer", "measure"),
    "sgemm": ("sgemm", "measure"),
}


def run(spec: dict) -> dict:
    """Dispatch ``spec`` (workload name, system, the workload's parameters) to its workload."""
    module_name, function = WORKLOADS[spec.pop("workload")]
    module = importlib.import_module(f"benchmarks.workloads.{module_name}")
    return getattr(module, function)(**spec)


#: The libraries every row needs: one missing is an error of the set-up, not a peer to skip.
_REQUIRED = {"numpy", "chainrule", "benchmarks"}


def _missing_peer(error: ModuleNotFoundError) -> dict:
    """A peer library that is not installed (autograd, micrograd, jax) is a skipped row naming
    it, not an error with a traceback; a required one missing is still an error."""
    top = (error.name or "").split(".")[0]
    if not top or top in _REQUIRED:
        traceback.print_exc(file=sys.stderr)
        return {"status": "error", "error": f"ModuleNotFoundError: {str(error)[:200]}"}
    return {"status": "skipped", "reason": f"{top} not installed"}


def main() -> None:
    # the children's CPU time from here on: a wrapper's (a pyenv shim's) finished subprocesses
    # are carried across its exec into this count, and read as this child's own cores
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    spec = json.loads(sys.argv[1])
    try:
        result = run(spec)
    except RecursionError as error:
        result = {"status": "fails", "error": f"RecursionError: {str(error)[:80]}"}
    except MemoryError:
        result = {"status": "fails", "error": "MemoryError"}
    except ModuleNotFoundError as error:
        result = _missing_peer(error)
    except Exception as error:  # report, do not hide: the parent prints it in the table
        traceback.print_exc(file=sys.stderr)
        result = {"status": "error", "error": f"{type(error).__name__}: {str(error)[:200]}"}
    cpu = cpu_seconds() - cpu0
    result["pinning"] = {
        **PINNING,
        "affinity_at_end": sorted(os.sched_getaffinity(0)),
        "threads_at_end": threads_now(),
        # the whole child after pinning: imports, set-up, JIT compiles, warm-up and timing
        "process_cpu_per_wall": cpu / max(time.perf_counter() - wall0, 1e-9),
    }
    # the process's peak RSS so far, imports included (Linux reports kilobytes)
    result["max_rss"] = max_rss_bytes()
    print("BENCH-RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
