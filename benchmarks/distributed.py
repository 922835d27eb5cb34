"""Data-parallel scaling on this machine: 1, 2 and 4 ranks (4 oversubscribes a 2-core box).

    python benchmarks/distributed.py                        # ranks 1,2,4; a minute or two
    python benchmarks/distributed.py --ranks 1,2 --epochs 5 --steps 30 --output /tmp/dist.md

For each number of ranks the parent launches ``mpiexec -n R python benchmarks/distributed.py
--child SPEC`` and reads rank 0's JSON line. The child measures, with every rank in step
(a barrier before each timed region):

- ``digits``: the ``chainrule train`` digits run (its preset: 64-128-10, global batch 32, Adam)
  through :class:`chainrule.train.Trainer`: seconds per epoch, and the share of that time spent
  in the gradient allreduce;
- ``workload 2``: one SGD step of the 784-512-512-512-10 MLP on a global batch of 512 (float32),
  each rank its 512/R cases: seconds per step and the allreduce share;
- ``allreduce``: averaging 1 MB and 100 MB of float32 gradients with
  :class:`chainrule.distributed.GradientAverager` (pack, in-place ``Allreduce``, divide,
  unpack) against one raw ``comm.Allreduce(MPI.IN_PLACE, buffer)`` of the same size, the floor.

Needs the [mpi] extra (mpi4py, the MPICH wheel, threadpoolctl). Each rank runs one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/distributed.py` puts benchmarks/ first
    sys.path.insert(0, str(ROOT))

from benchmarks.common import positive_float, positive_int, positive_ints  # noqa: E402

#: What a run can measure (``--only``), in the order the report gives them.
PARTS = ("digits", "workload2", "allreduce", "overlap")


# -- the child: runs on every rank --------------------------------------------------------------


def _timed_allreduce(world) -> list[float]:
    """Wrap ``world.allreduce_`` so every call's seconds are recorded."""
    spent: list[float] = []
    plain = world.allreduce_

    def allreduce_(array):
        started = time.perf_counter()
        out = plain(array)
        spent.append(time.perf_counter() - started)
        return out

    world.allreduce_ = allreduce_
    return spent


def child_digits(world, epochs: int) -> dict:
    from chainrule.train import Trainer, runs

    config = runs.resolve_config({"data": "digits", "epochs": epochs})
    prepared = runs.load_data(config)
    model, loss, optimizer, schedule = runs.build(config, prepared.train)
    trainer = Trainer(model, loss, optimizer, batch_size=config.batch_size, seed=config.seed,
                      schedule=schedule, progress=False)  # fmt: skip
    spent = _timed_allreduce(world)
    world.comm is None or world.comm.Barrier()
    started = time.perf_counter()
    trainer.fit(prepared.train, prepared.val, epochs=epochs)
    elapsed = time.perf_counter() - started
    return {  # the share counts waiting for the slowest rank, which a collective includes
        "epoch_s": elapsed / epochs,
        "allreduce_share": sum(spent) / elapsed,
        "val_accuracy": trainer.history.last["val_accuracy"],
    }


def child_workload2(world, steps: int) -> dict:
    import chainrule as cr
    from benchmarks.common import mlp_problem

    sizes, batch = [784, 512, 512, 512, 10], 512
    x, labels, weights, biases = mlp_problem(sizes, batch)
    model = cr.nn.mlp(sizes, activation="logistic", rng=0, dtype=np.float32)
    for layer, w in zip(model.parameters()[::2], weights):
        layer.data[...] = w
    for bias, b in zip(model.parameters()[1::2], biases):
        bias.data[...] = b
    trainer = cr.train.Trainer(model, cr.nn.CrossEntropy(), cr.optim.SGD(model, lr=0.1),
                               batch_size=batch, progress=False)  # fmt: skip
    local = world.shard(np.arange(batch))
    xs, ts = x[local], labels[local]
    trainer.step(xs, ts)  # warm up: buffers, buckets
    spent = _timed_allreduce(world)
    times = []
    for _ in range(steps):
        world.comm is None or world.comm.Barrier()
        started = time.perf_counter()
        trainer.step(xs, ts)
        times.append(time.perf_counter() - started)
    median = float(np.median(times))
    return {
        "step_s": median,
        "allreduce_s": float(np.median(spent)) if spent else 0.0,
        "allreduce_share": float(np.median(spent)) / median if spent else 0.0,
    }


def child_allreduce(world, megabytes: list[int], repeats: int) -> dict:
    from chainrule import distributed as dist
    from chainrule.tensor import Tensor

    out = {}
    for mb in megabytes:
        n = mb * 2**20 // 4
        # eight parameters of that total size, with gradients, as a model would have them
        params = [Tensor(np.zeros(n // 8, np.float32), requires_grad=True) for _ in range(8)]
        for p in params:
            p.grad = np.ones(p.shape, np.float32)
        averager = dist.GradientAverager(params, world)
        raw = np.ones(n // 8 * 8, np.float32)
        ours, floor = [], []
        for _ in range(repeats):
            for timings, mine in ((ours, True), (floor, False)):
                world.comm is None or world.comm.Barrier()
                started = time.perf_counter()
                if mine:
                    averager.average(1.0)
                elif world.comm is not None:
                    world.comm.Allreduce(world.in_place, raw)
                timings.append(time.perf_counter() - started)
        out[f"{mb}MB"] = {"averager_s": float(np.median(ours)), "raw_s": float(np.median(floor))}
    return out


def child_overlap(world, repeats: int) -> dict:
    """Would posting the allreduce during backward pay? Time a nonblocking ``Iallreduce`` of
    workload 2's gradients (3.7 MB) with backward-sized work (its matmuls) between post and
    wait, against the two done one after the other. Overlap pays only if MPI progresses the
    collective while Python computes."""
    if world.comm is None:
        return {}
    n = 784 * 512 + 2 * 512 * 512 + 512 * 10 + 3 * 512 + 10  # float32: 3.7 MB
    buffer = np.ones(n, np.float32)
    a = np.ones((512 // world.size, 512), np.float32)
    b = np.ones((512, 512), np.float32)

    def work() -> None:
        for _ in range(6):  # about the matmuls of one backward pass of the local batch
            a @ b

    timings: dict[str, list[float]] = {"comm": [], "work": [], "serial": [], "overlapped": []}
    for _ in range(repeats):
        for key in timings:
            world.comm.Barrier()
            started = time.perf_counter()
            if key in ("comm", "serial"):
                world.comm.Allreduce(world.in_place, buffer)
            if key in ("work", "serial"):
                work()
            if key == "overlapped":
                request = world.comm.Iallreduce(world.in_place, buffer)
                work()
                request.Wait()
            timings[key].append(time.perf_counter() - started)
    return {key: float(np.median(values)) for key, values in timings.items()}


def child(spec: dict) -> None:
    from chainrule import distributed as dist

    world = dist.init(blas_threads=1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # one rank alone too: the same BLAS for every count
    result = {"ranks": world.size}
    if "digits" in spec["only"]:
        result["digits"] = child_digits(world, spec["epochs"])
    if "workload2" in spec["only"]:
        result["workload2"] = child_workload2(world, spec["steps"])
    if "allreduce" in spec["only"]:
        result["allreduce"] = child_allreduce(world, spec["megabytes"], spec["repeats"])
    if "overlap" in spec["only"]:
        result["overlap"] = child_overlap(world, spec["repeats"])
    if world.is_main:
        print(json.dumps(result), flush=True)


# -- the parent ---------------------------------------------------------------------------------


def launch(ranks: int, spec: dict, timeout: float) -> dict:
    mpiexec = shutil.which("mpiexec") or shutil.which(
        "mpiexec", path=str(Path(sys.executable).parent)
    )
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install -e '.[mpi]'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    command = [mpiexec, "-n", str(ranks), sys.executable, str(Path(__file__).resolve()),
               "--child", json.dumps(spec)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{ranks} ranks failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> str:
    base = results[0]
    lines = ["| ranks | digits s/epoch | speed-up | allreduce share | workload 2 s/step | "
             "speed-up | allreduce share |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        d, w = r.get("digits"), r.get("workload2")
        cells = [str(r["ranks"])]
        for part, key in ((d, "epoch_s"), (w, "step_s")):
            if part is None:
                cells += ["-", "-", "-"]
                continue
            first = (base.get("digits") if part is d else base.get("workload2")) or part
            cells += [f"{part[key]:.4f}", f"{first[key] / part[key]:.2f}x",
                      f"{part['allreduce_share']:.0%}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    sizes = [r["allreduce"] for r in results if "allreduce" in r and r["ranks"] > 1]
    if sizes:
        lines += ["", "| ranks | buffer | GradientAverager | raw mpi4py Allreduce | ratio |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for r in results:
            for size, t in r.get("allreduce", {}).items():
                if r["ranks"] > 1:
                    lines.append(f"| {r['ranks']} | {size} | {t['averager_s'] * 1e3:.2f} ms | "
                                 f"{t['raw_s'] * 1e3:.2f} ms | "
                                 f"{t['averager_s'] / t['raw_s']:.2f} |")  # fmt: skip
    overlaps = [r for r in results if r.get("overlap")]
    if overlaps:
        lines += ["", "| ranks | allreduce 3.7 MB | backward-sized work | one after the other | "
                  "Iallreduce during the work |", "|---|---|---|---|---|"]  # fmt: skip
        for r in overlaps:
            o = r["overlap"]
            lines.append(
                f"| {r['ranks']} | "
                + " | ".join(
                    f"{o[k] * 1e3:.2f} ms" for k in ("comm", "work", "serial", "overlapped")
                )
                + " |"
            )
    return "\n".join(lines) + "\n"


def parts(text: str) -> list[str]:
    """An argparse type for ``--only``: a comma-separated subset of :data:`PARTS`."""
    named = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(named) - set(PARTS))
    if unknown or not named:
        what = f"unknown part(s) {unknown}" if unknown else f"{text!r} names no part"
        raise argparse.ArgumentTypeError(f"{what}; choose from {','.join(PARTS)}")
    return named


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Every option checked before mpiexec starts: a bad one is one line and exit status 2."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ranks", type=positive_ints, default="1,2,4", help="e.g. 1,2,4")
    parser.add_argument("--only", type=parts, default=",".join(PARTS), help=",".join(PARTS))
    parser.add_argument("--epochs", type=positive_int, default=3, help="digits epochs")
    parser.add_argument("--steps", type=positive_int, default=10, help="workload 2's timed steps")
    parser.add_argument("--megabytes", type=positive_ints, default="1,100", help="allreduce sizes")
    parser.add_argument("--repeats", type=positive_int, default=5, help="allreduce, overlap")
    parser.add_argument("--timeout", type=positive_float, default=600, help="seconds per launch")
    parser.add_argument("--output", type=Path, help="write the markdown tables here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return
    spec = {"only": args.only, "epochs": args.epochs, "steps": args.steps,
            "megabytes": args.megabytes, "repeats": args.repeats}  # fmt: skip
    results = []
    for ranks in args.ranks:
        results.append(launch(ranks, spec, args.timeout))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    text = report(results)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
