"""GPU smoke check: chainrule on CuPy arrays and on PyTorch CUDA tensors.

1. Runs ``tests/engine/test_array_api.py`` (every op to second order, every function transform
   and gradcheck, training with every optimizer, checkpoints, model files, the explainer; each
   compared with NumPy) on the GPU libraries found.
2. Times workload 1's training step (784 -> 256 logistic -> 10 softmax cross-entropy, batch 128,
   float32, SGD) with chainrule on each GPU library, against the same step in PyTorch on the GPU.

Where no GPU (or neither library) is present it prints why and exits 0: CI has no GPU, so these
libraries are tested only by this script (see the README's "Array libraries").

    python benchmarks/gpu_smoke.py                # tests and timings
    python benchmarks/gpu_smoke.py --no-tests --reps 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/gpu_smoke.py` puts benchmarks/ first
    sys.path.insert(0, str(REPO))

from benchmarks.common import mlp_problem  # noqa: E402

SIZES, BATCH, LR = [784, 256, 10], 128, 0.1


def gpu_libraries() -> tuple[dict[str, str], list[str]]:
    """``{test name: description}`` of the GPU libraries usable here, and why others are not."""
    found, missing = {}, []
    try:
        import torch

        if torch.cuda.is_available():
            found["torch-cuda"] = f"torch {torch.__version__} on {torch.cuda.get_device_name()}"
        else:
            missing.append("torch: no CUDA device")
    except ImportError:
        missing.append("torch is not installed")
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            found["cupy"] = f"cupy {cupy.__version__}"
        else:
            missing.append("cupy: no CUDA device")
    except ImportError:
        missing.append("cupy is not installed")
    except Exception as error:  # the CUDA runtime itself is missing or broken
        missing.append(f"cupy: {type(error).__name__}: {error}")
    return found, missing


def run_tests(names: list[str]) -> int:
    """The array-library test module on ``names`` only, slow cases included."""
    env = dict(os.environ, CHAINRULE_GPU_LIBRARIES=",".join(names))
    selection = " or ".join(names)
    command = [sys.executable, "-m", "pytest", "-q", "-m", "", "-k", selection]
    command.append(str(REPO / "tests" / "engine" / "test_array_api.py"))
    return subprocess.run(command, env=env, cwd=REPO).returncode


def _synchronize(name: str) -> Callable[[], None]:
    if name == "cupy":
        import cupy

        return cupy.cuda.Device().synchronize
    import torch

    return torch.cuda.synchronize


def chainrule_step(name: str) -> Callable[[], None]:
    """Workload 1's step with chainrule's nn, CrossEntropy and SGD on GPU library ``name``."""
    import chainrule as cr

    x, labels, weights, biases = mlp_problem(SIZES, BATCH)
    if name == "cupy":
        import cupy as xp

        device = None
    else:
        import torch as xp

        device = "cuda"
    layers: list[Any] = []
    for k, (w, b) in enumerate(zip(weights, biases)):
        linear = cr.nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers += [linear, cr.nn.Logistic()] if k < len(weights) - 1 else [linear]
    model = cr.nn.Sequential(*layers).to(xp=xp, device=device)
    loss_fn, optimizer = cr.nn.CrossEntropy(), cr.optim.SGD(model, lr=LR)
    xt = cr.tensor(x, xp=xp, device=device)
    targets = cr.tensor(labels, xp=xp, device=device)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(xt), targets).backward()
        optimizer.step()

    return step


def torch_step() -> Callable[[], None]:
    """The same step in PyTorch on the GPU: workload 1's own torch step, on "cuda"."""
    from benchmarks.workloads.mlp import make_torch

    step, _ = make_torch(*mlp_problem(SIZES, BATCH), device="cuda")
    return step


def median_ms(step: Callable[[], None], sync: Callable[[], None], reps: int) -> float:
    """The median milliseconds of ``step`` (each timed to the GPU's finish) after a warm-up."""
    for _ in range(10):
        step()
    sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=50, help="timed steps per system")
    parser.add_argument("--no-tests", action="store_true", help="only the timings")
    args = parser.parse_args(argv)
    found, missing = gpu_libraries()
    if not found:
        print(f"skipped: no GPU library can run here ({'; '.join(missing)})")
        return 0
    for name, description in found.items():
        print(f"found {name}: {description}")
    for reason in missing:
        print(f"not run: {reason}")
    status = 0 if args.no_tests else run_tests(list(found))
    print(f"\nWorkload 1 step ({SIZES}, batch {BATCH}, float32, SGD), median of {args.reps}:")
    reference = None
    if "torch-cuda" in found:
        reference = median_ms(torch_step(), _synchronize("torch-cuda"), args.reps)
        print(f"  torch on the GPU          {reference:8.3f} ms")
    for name in found:
        ms = median_ms(chainrule_step(name), _synchronize(name), args.reps)
        ratio = f"  ({ms / reference:.2f}x torch)" if reference else ""
        print(f"  chainrule on {name:<12} {ms:8.3f} ms{ratio}")
    return status


if __name__ == "__main__":
    sys.exit(main())
