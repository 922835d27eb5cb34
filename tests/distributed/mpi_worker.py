"""What the MPI tests run under ``mpiexec`` (and, for the reference, in one process).

``python mpi_worker.py train OUT [--epochs N] [--loss L] [--checkpoints DIR] [--resume DIR]
[--early-stopping P]`` trains a small float64 network and writes each rank's final weights to
``OUT/rank<r>.npz`` (and the history to ``OUT/history<r>.json``). ``fail`` makes rank 1 raise
while the others wait in a collective; ``exit`` makes it call ``sys.exit(3)`` there instead;
``exit-0`` makes it call ``sys.exit(0)`` after the last collective, where rank 0 simply ends.
``--data own-part`` gives each rank its own cases (as a program that shards the data itself
would); ``--data plain-validation`` passes the validation set as a plain object with ``X``,
``y``, ``task`` and a length (no ``subset``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import distributed as dist


def dataset(n: int = 37, seed: int = 7) -> cr.data.Dataset:
    """A fixed synthetic problem: 37 cases (so 10-case batches leave a ragged last one)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    return cr.data.Dataset(X=X, y=y, task="classification", n_classes=3, name="synthetic")


def train(out: Path, epochs: int, loss: str, checkpoints: str | None, resume: str | None,
          early_stopping: int | None, batch_size: int = 10,
          data: str = "whole") -> cr.train.Trainer:  # fmt: skip
    """The run every test compares: same seed, same global batches, float64."""
    ds = dataset(seed=7 + dist.rank() if data == "own-part" else 7)
    train_ds, val_ds = ds.subset(np.arange(30)), ds.subset(np.arange(30, 37))
    if data == "plain-validation":
        val_ds = PlainDataset(val_ds.X, val_ds.y, val_ds.task)
    model = cr.nn.mlp([5, 8, 3], activation="logistic", rng=1, dtype=np.float64)
    if dist.rank() > 0:  # other ranks start elsewhere: the broadcast must fix it
        for p in model.parameters():
            p.data[...] = 100.0 * dist.rank()
    lossf = cr.nn.loss_from_name(loss)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    trainer = cr.train.Trainer(model, lossf, optimizer, batch_size=batch_size, seed=3,
                               progress=False, checkpoint_dir=checkpoints,
                               early_stopping=early_stopping)  # fmt: skip
    if resume:
        trainer.resume(resume)
    trainer.fit(train_ds, val_ds, epochs=epochs)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"rank{dist.rank()}.npz", **model.state_dict())
    records = trainer.history.to_list()
    (out / f"history{dist.rank()}.json").write_text(json.dumps(records))
    return trainer


class PlainDataset:
    """A dataset-like object with only what ``fit`` asks for (and a task): no ``subset``."""

    def __init__(self, X: np.ndarray, y: np.ndarray, task: str) -> None:
        self.X, self.y, self.task = X, y, task

    def __len__(self) -> int:
        return len(self.X)


def sklearn(out: Path, apart: bool = False, data: str = "whole", verbose: bool = False) -> None:
    """chainrule.sklearn's estimator, fitted on every rank's share (with an L2 penalty);
    ``apart``: rank 1 asks for one more epoch than the others."""
    from chainrule.sklearn import MLPClassifier

    ds = dataset(seed=7 + dist.rank() if data == "own-part" else 7)
    max_iter = 5 if apart and dist.rank() == 1 else 4
    clf = MLPClassifier(hidden_layer_sizes=(6,), batch_size=10, max_iter=max_iter, alpha=1e-2,
                        random_state=None if dist.size() > 1 else 5, dtype="float64",
                        verbose=verbose)  # fmt: skip
    if dist.size() > 1:  # rank 0's seed must reach everyone: give rank 0 the reference's
        clf.random_state = 5 if dist.rank() == 0 else 99
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter is deliberately too small to converge
        clf.fit(ds.X, ds.y)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {f"coef{j}": a for j, a in enumerate(clf.coefs_ + clf.intercepts_)}
    np.savez(out / f"rank{dist.rank()}.npz", **arrays)


def size_seen() -> int:
    """The world's size as a process a rank started finds it."""
    return dist.size()


def children(out: Path) -> None:
    """Processes a rank starts (a joblib pool for cross_val_score, multiprocessing by spawn and
    by fork after MPI started) are no ranks: each runs alone; the rank stays in its world."""
    import multiprocessing
    import subprocess

    from sklearn.model_selection import cross_val_score

    from chainrule.sklearn import MLPClassifier

    dist.init()
    ds = dataset()
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, dtype="float64")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two epochs do not converge
        scores = cross_val_score(clf, ds.X, ds.y, cv=2, n_jobs=2)
    seen = {"world": dist.size(), "scores": [float(s) for s in scores]}
    for method in ("spawn", "fork"):
        with multiprocessing.get_context(method).Pool(1) as pool:
            seen[method] = pool.apply(size_seen)
    code = "import chainrule.distributed as d; print(d.size())"
    seen["subprocess"] = int(subprocess.check_output([sys.executable, "-c", code], text=True))
    dist.world().allreduce_(np.ones(2))  # the rank's world still works
    out.mkdir(parents=True, exist_ok=True)
    (out / f"children{dist.rank()}.json").write_text(json.dumps(seen))


def caught_then_fail() -> None:
    """The ranks disagree (a stop every rank meets), the program catches it and goes on, and
    then rank 1 fails alone while rank 0 waits in a collective: the job must abort, not hang."""
    from chainrule.sklearn import MLPClassifier

    ds = dataset()
    with contextlib.suppress(dist.DistributedError):
        MLPClassifier(max_iter=3 + dist.rank(), random_state=1).fit(ds.X, ds.y)
    if dist.rank() == 1:
        raise RuntimeError("rank 1 fails alone after the caught disagreement")
    dist.world().allreduce_(np.ones(1))
    time.sleep(60)


def nest(out: Path) -> None:
    """Rank 0 starts an mpiexec of its own, whose ranks write the size of their world."""
    import shutil
    import subprocess

    dist.init()
    if dist.rank() == 0:
        mpiexec = shutil.which("mpiexec") or str(Path(sys.executable).parent / "mpiexec")
        command = [mpiexec, "-n", "2", sys.executable, __file__, "sizes", str(out)]
        subprocess.run(command, check=True, timeout=90)
    dist.world().allreduce_(np.ones(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    modes = [
        "train",
        "fail",
        "exit",
        "exit-0",
        "sklearn",
        "sklearn-apart",
        "threads",
        "children",
        "sklearn-verbose",
        "caught-then-fail",
        "nest",
        "sizes",
    ]
    parser.add_argument("mode", choices=modes)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--loss", default="cross-entropy")
    parser.add_argument("--checkpoints")
    parser.add_argument("--resume")
    parser.add_argument("--early-stopping", type=int)
    parser.add_argument("--data", choices=["whole", "own-part", "plain-validation"],
                        default="whole")  # fmt: skip
    args = parser.parse_args()
    if args.mode == "children":
        children(args.out)
        return
    if args.mode == "nest":
        nest(args.out)
        return
    if args.mode == "sizes":  # as threads: a file per rank
        dist.init()
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"size{dist.rank()}.json").write_text(json.dumps(dist.size()))
        return
    if args.mode == "caught-then-fail":
        dist.init()
        caught_then_fail()
        return
    dist.init()
    if args.mode in ("fail", "exit"):
        if dist.rank() == 1 and args.mode == "fail":
            raise RuntimeError("rank 1 fails on purpose")
        if dist.rank() == 1:  # SystemExit, which sys.excepthook never sees
            sys.exit(3)
        dist.world().allreduce_(np.ones(4))  # the others wait here for rank 1
        time.sleep(60)
        return
    if args.mode == "exit-0":
        dist.world().allreduce_(np.ones(4))
        if dist.rank() == 1:
            sys.exit(0)
        return
    if args.mode == "threads":
        from threadpoolctl import threadpool_info

        blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        args.out.mkdir(parents=True, exist_ok=True)  # a file per rank: stdout lines interleave
        (args.out / f"threads{dist.rank()}.json").write_text(json.dumps({"blas_threads": blas}))
        return
    if args.mode.startswith("sklearn"):
        sklearn(args.out, apart=args.mode == "sklearn-apart", data=args.data,
                verbose=args.mode == "sklearn-verbose")  # fmt: skip
        return
    train(args.out, args.epochs, args.loss, args.checkpoints, args.resume, args.early_stopping,
          data=args.data)  # fmt: skip


if __name__ == "__main__":
    main()
