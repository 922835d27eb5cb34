"""Run one workload for one system in this (fresh) process and print the result as JSON.

The parent (``benchmarks/run.py``) starts one child per system per round, with every thread pool
pinned by environment variables, so no system inherits another's warm caches, JIT or allocator.

    python -m benchmarks.child '{"workload": "mlp", "system": "torch", ...}'
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import traceback

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


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        result = run(spec)
    except RecursionError as error:
        result = {"status": "fails", "error": f"RecursionError: {str(error)[:80]}"}
    except MemoryError:
        result = {"status": "fails", "error": "MemoryError"}
    except Exception as error:  # report, do not hide: the parent prints it in the table
        traceback.print_exc(file=sys.stderr)
        result = {"status": "error", "error": f"{type(error).__name__}: {str(error)[:200]}"}
    # the process's peak RSS so far, imports included (Linux reports kilobytes)
    result["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("BENCH-RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
