"""What the MPI tests run under ``mpiexec`` (and, for the reference, in one process).

``python mpi_worker.py train OUT [--epochs N] [--loss L] [--checkpoints DIR] [--resume DIR]
[--early-stopping P]`` trains a small float64 network and writes each rank's final weights to
``OUT/rank<r>.npz`` (and the history to ``OUT/history<r>.json``). ``fail`` makes rank 1 raise
while the others wait in a collective; ``exit`` makes it call ``sys.exit(3)`` there instead;
``exit-0`` makes it call ``sys.exit(0)`` after the last collective, where rank 0 simply ends.
``--data own-part`` gives each rank its own cases (as a program that shards the data itself
would); ``--data plain-validation`` passes the validation set as a plain object with ``X``,
``y``, ``task`` and a length (no ``subset``). ``checks`` runs the checks of how gradients and
losses combine over the ranks (a plain function as the loss, ``average_gradients``'s
reductions, empty blocks, float16, dropout on resume) in one launch: see :func:`checks`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
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


def plain_loss(reduction: str | None = None):
    """The lecture's E written by hand, a sum over cases; ``reduction`` set as an attribute."""

    def E(y, t):  # noqa: N802 - the lecture's name
        d = t - y
        return 0.5 * (d * d).sum()

    if reduction is not None:
        E.reduction = reduction
    return E


def plain_loss_run(out: Path, reduction: str | None = "sum") -> list[dict]:
    """A Trainer with a plain function as the loss, on 37 cases in 10-case global batches (so
    blocks of unequal sizes); each rank's weights and history go to ``out``."""
    model = cr.nn.mlp([5, 6, 3], activation="logistic", output="logistic", rng=2,
                      dtype=np.float64)  # fmt: skip
    optimizer = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    trainer = cr.train.Trainer(model, plain_loss(reduction), optimizer, batch_size=10, seed=4,
                               progress=False)  # fmt: skip
    trainer.fit(dataset(), epochs=3)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"plain{dist.rank()}.npz", **model.state_dict())
    records = trainer.history.to_list()
    (out / f"plain-history{dist.rank()}.json").write_text(json.dumps(records))
    return records


def dropout_run(checkpoints: Path | None, resume: Path | None, epochs: int = 3):
    """A network with dropout on 37 cases in 10-case batches: on 2 or 3 ranks the blocks differ
    in size, so each rank's dropout generator draws a different number of masks."""
    layers = list(cr.nn.mlp([5, 16, 3], activation="tanh", rng=1, dtype=np.float64))
    model = cr.nn.Sequential(layers[0], layers[1], cr.nn.Dropout(0.5, rng=4), layers[2])
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = cr.train.Trainer(model, cr.nn.CrossEntropy(), optimizer, batch_size=10, seed=3,
                               progress=False, checkpoint_dir=checkpoints,
                               keep_checkpoints=0)  # fmt: skip
    if resume is not None:
        trainer.resume(resume)
    trainer.fit(dataset(), epochs=epochs)
    return model


def refit_run(out: Path) -> None:
    """A trainer fitted for an epoch, given a new head (new Parameters) and a new optimizer,
    then fitted on to 3 epochs: the new head's gradients are averaged too."""
    model = cr.nn.mlp([5, 6, 3], activation="tanh", rng=2, dtype=np.float64)
    trainer = cr.train.Trainer(model, cr.nn.CrossEntropy(), cr.optim.SGD(model, lr=0.5),
                               batch_size=10, seed=1, progress=False)  # fmt: skip
    trainer.fit(dataset(), epochs=1)
    head = cr.nn.Linear(6, 3, rng=7, dtype=np.float64)
    model[-1].weight, model[-1].bias = head.weight, head.bias
    trainer.optimizer = cr.optim.SGD(model, lr=0.5)
    trainer.fit(dataset(), epochs=3)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"refit{dist.rank()}.npz", **model.state_dict())


def first_dropout_masks() -> list:
    """The dropout masks of the first global batch (12 cases, one batch) as each rank drew
    them for its block: a list of every rank's (rank 0 first)."""
    seen = []

    class Record(cr.nn.Module):
        def forward(self, x):
            if self.training:
                seen.append((x.numpy() != 0).astype(int).tolist())
            return x

    X, y = np.ones((12, 6)), np.arange(12) % 2
    ds = cr.data.Dataset(X=X, y=y, task="classification", n_classes=2, name="ones")
    first = cr.nn.Linear(6, 6, rng=0, dtype=np.float64)
    for p in first.parameters():
        p.data[...] = 1.0  # every unit positive: the mask shows through
    model = cr.nn.Sequential(first, cr.nn.Dropout(0.5, rng=5), Record(),
                             cr.nn.Linear(6, 2, rng=1, dtype=np.float64))  # fmt: skip
    trainer = cr.train.Trainer(model, cr.nn.CrossEntropy(), cr.optim.SGD(model, lr=0.0),
                               batch_size=12, seed=0, progress=False)  # fmt: skip
    trainer.fit(ds, epochs=1)
    return dist.world().allgather_object(seen[0]) if dist.size() > 1 else [seen[0]]


def frozen_on_one_rank() -> dict:
    """Rank 1 froze a bias that the other ranks train: refused by every rank at the start."""
    model = cr.nn.mlp([5, 4, 3], rng=0, dtype=np.float64)
    if dist.rank() == 1:
        model[0].bias.requires_grad = False
    trainer = cr.train.Trainer(model, cr.nn.CrossEntropy(), cr.optim.SGD(model, lr=0.1),
                               batch_size=10, progress=False)  # fmt: skip
    try:
        trainer.fit(dataset(), epochs=1)
    except dist.DistributedError as error:
        return {"refused": str(error), "epochs": trainer.epoch}
    return {"refused": None, "epochs": trainer.epoch}


def _whole_batch(model, loss, X, T):
    """The gradients (by name) and loss of ``loss`` on the whole batch, in this process alone."""
    from chainrule.tensor import Tensor

    for p in model.parameters():
        p.grad = None
    value = loss(model(Tensor(X)), Tensor(T))
    value.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    return grads, float(value.item())


def _combined(model, loss, X, T, rows, **options):
    """This rank's block of ``rows`` forward and backward, then ``average_gradients``: the
    combined gradients (by name) and the loss it returns."""
    from chainrule.tensor import Tensor

    local = dist.shard(rows)
    value = loss(model(Tensor(X[local])), Tensor(T[local]))
    value.backward()
    total = dist.average_gradients(model, cases=len(local), loss=float(value.item()), **options)
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    return grads, total


def _check_combined(model, loss, X, T, rows, whole, options) -> dict[str, float]:
    """How far the combined gradients and loss (:func:`_combined`) are from the whole batch's
    (relative)."""
    grads, total = _combined(model, loss, X, T, rows, **options)
    expected, loss = whole
    scale = max(float(np.abs(g).max()) for g in expected.values())
    return {
        "grad": max(float(np.abs(grads[k] - expected[k]).max()) for k in expected) / scale,
        "loss": abs(total - loss) / abs(loss) if math.isfinite(total) else math.inf,
        "returned": total,
    }


def checks(out: Path) -> None:
    """Several checks in one launch (3 ranks), each noted in ``out/checks.json`` (rank 0's
    view) as numbers or the error it raised; the tests read them. Each check's collectives run
    on every rank alike, so an error one check raises on every rank leaves no rank waiting."""
    from chainrule.tensor import Tensor

    found: dict[str, object] = {}

    def check(name, function, *args, **kwargs):
        try:
            found[name] = function(*args, **kwargs)
        except Exception as error:  # noted for the tests, which say what went wrong
            found[name] = {"error": f"{type(error).__name__}: {error}"}

    ds = dataset()
    X, y = ds.X, ds.y
    onehot = np.eye(3)[y]

    # a plain function as the loss, summing over cases: told so, trained as one process does
    check("plain sum", plain_loss_run, out)

    def refused():  # told nothing: every rank refuses at the start, nothing trained
        model = cr.nn.mlp([5, 3], rng=0, dtype=np.float64)
        before = {k: v.copy() for k, v in model.state_dict().items()}
        trainer = cr.train.Trainer(model, plain_loss(None), cr.optim.SGD(model, lr=0.1),
                                   batch_size=10, progress=False)  # fmt: skip
        try:
            trainer.fit(dataset(), epochs=1)
        except cr.errors.ConfigError as error:
            unchanged = all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
            return {"refused": str(error), "together": dist.raised_together(error),
                    "epochs": trainer.epoch, "unchanged": unchanged}  # fmt: skip
        return {"refused": None, "epochs": trainer.epoch}

    check("plain refused", refused)

    # average_gradients: a summed loss (SquaredError's default) summed over the ranks, and the
    # mean of a mean loss; batches of 7 (blocks 3, 2, 2) and of 2 (rank 2's block is empty)
    model = cr.nn.mlp([5, 4, 3], activation="logistic", rng=3, dtype=np.float64)
    for name, loss, T, options in [
        ("sum", cr.nn.SquaredError(), onehot, {"reduction": "sum"}),
        ("mean", cr.nn.CrossEntropy(), y, {}),
    ]:
        for rows in (np.arange(7), np.array([8, 3])):
            whole = _whole_batch(model, loss, X[rows], T[rows])
            check(f"{name} of {len(rows)}", _check_combined, model, loss, X, T, rows, whole,
                  options)  # fmt: skip

    def float16():  # each rank's gradient 1.0 (a mean over 40000 cases): the mean is 1.0 too
        layer = cr.nn.Linear(2, 1, rng=0)
        for p in layer.parameters():  # nn builds float32 or float64 models: cast by hand
            p.data = p.data.astype(np.float16)
            p.grad = Tensor(np.ones(p.shape, dtype=np.float16))
        dist.average_gradients(layer, cases=40000)
        grads = [p.grad.numpy() for p in layer.parameters()]
        return {"dtypes": sorted({str(g.dtype) for g in grads}),
                "values": sorted({float(v) for g in grads for v in g.ravel()})}  # fmt: skip

    check("float16", float16)

    def dropout_resume():  # the uninterrupted run, then a resume from its first epoch
        checkpoints = out / "dropout-checkpoints"
        whole = dropout_run(checkpoints, None).state_dict()
        resumed = dropout_run(None, checkpoints / "epoch-000001").state_dict()
        np.savez(out / f"dropout-whole{dist.rank()}.npz", **whole)
        np.savez(out / f"dropout-resumed{dist.rank()}.npz", **resumed)
        return {"largest difference": max(float(np.abs(whole[k] - resumed[k]).max())
                                          for k in whole)}  # fmt: skip

    check("dropout resume", dropout_resume)
    check("refit", refit_run, out)
    check("dropout masks", first_dropout_masks)
    check("frozen on one rank", frozen_on_one_rank)
    if dist.rank() == 0:
        (out / "checks.json").write_text(json.dumps(found, indent=1))


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
        "checks",
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
    if args.mode == "checks":
        dist.init()
        args.out.mkdir(parents=True, exist_ok=True)
        checks(args.out)
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
