"""Workload 6: end to end, train a 64-32-10 logistic net on sklearn's digits to a target accuracy.

Every system gets the same split (80/20, stratified, seed 0), pixels scaled to [0, 1], the same
starting weights, mini-batches of 32, plain SGD at learning rate 0.5, and stops at the end of the
first epoch whose held-out accuracy reaches ``target`` (or after ``max_epochs``). The parent times
the whole child process (imports included, as a user waits for them) and reads its peak RSS; the
child reports the fit time alone and the epochs it needed. The data and the split are made with
NumPy alone: scikit-learn's import (about 90 MiB and a second or more) made in every child
charged the sklearn row's library to every system's process wall time and peak RSS.

``chainrule-cli`` is not that setup: it runs ``chainrule train --data digits`` with the command's
own preset (its result's ``preset`` says which), and the report labels it so.

chainrule runs the library's own path (``chainrule.train.fit`` with a stopping callback) when
``chainrule.train`` and ``chainrule.nn`` are there, else a fit loop on the engine's ops.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import bench_threads, cpu_seconds

SIZES = [64, 32, 10]
LR = 0.5
BATCH = 32


def digits_problem(seed: int = 0):
    """Train/test arrays and index sets, and the starting weights (float32)."""
    table = np.loadtxt(_digits_file(), delimiter=",")  # 64 pixel counts 0..16, then the digit
    x = (table[:, :-1] / 16.0).astype(np.float32)  # as chainrule.data.digits scales them
    labels = table[:, -1].astype(np.int64)
    train, test = stratified_split(labels, test_fraction=0.2, seed=seed)
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
        for a, b in zip(SIZES[:-1], SIZES[1:])
    ]
    biases = [np.zeros(b, np.float32) for b in SIZES[1:]]
    return x, labels, train, test, weights, biases


def _digits_file():
    """scikit-learn's copy of the digits (the file ``chainrule.data.digits`` reads), found
    without importing scikit-learn, nor chainrule: the torch and sklearn rows pay for neither."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("scikit-learn's digits data", name="sklearn")
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
    """Sorted train and test row indices, each class split ``test_fraction`` to test at random
    (reproducible for ``seed``): the same split in every child, whatever its system."""
    rng = np.random.default_rng(seed)
    test = []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.append(members[: round(test_fraction * len(members))])
    test_rows = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test_rows), test_rows


def _batches(n: int, epoch: int):
    order = np.random.default_rng(epoch).permutation(n)
    return [order[k : k + BATCH] for k in range(0, n, BATCH)]


def fit_chainrule(problem, target: float, max_epochs: int) -> dict:
    import chainrule as cr

    cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (not done by the import)

    try:
        return _fit_chainrule_library(cr, problem, target, max_epochs)
    except (ImportError, AttributeError) as error:
        result = _fit_chainrule_ops(cr, problem, target, max_epochs)
        result["how"] = f"engine-ops fit loop (train.fit unavailable: {type(error).__name__})"
        return result


def _fit_chainrule_library(cr, problem, target: float, max_epochs: int) -> dict:
    x, labels, train, test, weights, biases = problem
    ds = cr.data.digits()
    model = cr.nn.mlp(SIZES, activation="logistic", output=None, dtype=np.float32)
    linears = [m for m in model if isinstance(m, cr.nn.Linear)]
    for linear, w, b in zip(linears, weights, biases):
        linear.weight.data[...] = w
        linear.bias.data[...] = b
    optimizer = cr.optim.SGD(model.parameters(), lr=LR)

    class StopAtTarget(cr.train.Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            if logs.get("val_accuracy", 0.0) >= target:
                trainer.stop_training = True

    start = time.perf_counter()
    history = cr.train.fit(
        model, cr.nn.CrossEntropy(), optimizer, ds.subset(train), ds.subset(test),
        epochs=max_epochs, batch_size=BATCH, seed=0, callbacks=[StopAtTarget()], progress=False,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - start
    last = history.last if hasattr(history, "last") else history[-1]
    return {
        "fit_seconds": fit_seconds,
        "epochs": int(last["epoch"]) + (1 if int(last["epoch"]) == 0 else 0),
        "accuracy": float(last["val_accuracy"]),
        "how": "chainrule.train.fit + nn.mlp + optim.SGD",
    }


def _fit_chainrule_ops(cr, problem, target: float, max_epochs: int) -> dict:
    x, labels, train, test, weights, biases = problem
    params = [cr.tensor(w.copy(), requires_grad=True) for w in weights]
    params += [cr.tensor(b.copy(), requires_grad=True) for b in biases]
    eye = np.eye(SIZES[-1], dtype=np.float32)

    def forward(xb):
        h = cr.sigmoid(cr.tensor(xb) @ params[0] + params[2])
        return h @ params[1] + params[3]

    start = time.perf_counter()
    for epoch in range(max_epochs):
        for rows in _batches(len(train), epoch):
            idx = train[rows]
            logp = cr.log_softmax(forward(x[idx]), axis=-1)
            loss = -(logp * cr.tensor(eye[labels[idx]])).sum() * (1.0 / len(idx))
            loss.backward()
            for p in params:
                p.data -= LR * p.grad.data
                p.grad = None
        with cr.no_grad():
            accuracy = float((forward(x[test]).data.argmax(1) == labels[test]).mean())
        if accuracy >= target:
            break
    return {"fit_seconds": time.perf_counter() - start, "epochs": epoch + 1, "accuracy": accuracy}


def fit_torch(problem, target: float, max_epochs: int) -> dict:
    import torch

    torch.set_num_threads(bench_threads())
    x, labels, train, test, weights, biases = problem
    params = [torch.tensor(a, requires_grad=True) for a in [*weights, *biases]]
    optimizer = torch.optim.SGD(params, lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)

    def forward(xb):
        return torch.addmm(params[3], torch.sigmoid(torch.addmm(params[2], xb, params[0])),
                           params[1])  # fmt: skip

    start = time.perf_counter()
    for epoch in range(max_epochs):
        for rows in _batches(len(train), epoch):
            idx = torch.from_numpy(train[rows])
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(forward(xt[idx]), yt[idx]).backward()
            optimizer.step()
        with torch.no_grad():
            test_idx = torch.from_numpy(test)
            accuracy = float((forward(xt[test_idx]).argmax(1) == yt[test_idx]).float().mean())
        if accuracy >= target:
            break
    return {"fit_seconds": time.perf_counter() - start, "epochs": epoch + 1, "accuracy": accuracy,
            "how": "hand-written fit loop, torch.optim.SGD"}  # fmt: skip


def fit_sklearn(problem, target: float, max_epochs: int) -> dict:
    """One ``partial_fit`` over the (pre-shuffled) training set is one epoch of minibatch SGD."""
    from sklearn.neural_network import MLPClassifier

    x, labels, train, test, weights, biases = problem
    model = MLPClassifier(
        hidden_layer_sizes=(SIZES[1],), activation="logistic", solver="sgd",
        learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
        batch_size=BATCH, shuffle=False,
    )  # fmt: skip
    start = time.perf_counter()
    model.partial_fit(x[train[:BATCH]], labels[train[:BATCH]], classes=np.arange(SIZES[-1]))
    model.coefs_ = [w.copy() for w in weights]
    model.intercepts_ = [b.copy() for b in biases]
    for epoch in range(max_epochs):
        order = train[np.random.default_rng(epoch).permutation(len(train))]
        model.partial_fit(x[order], labels[order])
        accuracy = float(model.score(x[test], labels[test]))
        if accuracy >= target:
            break
    return {"fit_seconds": time.perf_counter() - start, "epochs": epoch + 1, "accuracy": accuracy,
            "how": "MLPClassifier.partial_fit per epoch"}  # fmt: skip


def fit_cli(problem, target: float, max_epochs: int) -> dict:
    """`chainrule train --data digits` as a user runs it: the command's own preset (network,
    optimizer, epochs, split), run directory in a temporary folder. Not the shared setup above:
    it shows what the command costs end to end, plots and model file included."""
    import contextlib
    import io
    import json
    import tempfile

    from chainrule.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        captured = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(captured):
            code = main(["train", "--data", "digits", "--quiet", "--json", "--out", tmp + "/run"])
        seconds = time.perf_counter() - start
    if code != 0:
        return {"status": "error", "error": f"chainrule train exited {code}"}
    summary = json.loads(captured.getvalue())
    return {"fit_seconds": seconds, "epochs": summary.get("epochs"),
            "accuracy": summary.get("test_accuracy"), "preset": _preset(summary),
            "how": "chainrule train --data digits (its preset)"}  # fmt: skip


def _preset(summary: dict) -> str:
    """What ``chainrule train`` ran, read from its own summary (so it follows the preset)."""
    config = summary.get("config", {})
    val, test = config.get("split", ["?", "?"])
    hidden = "-".join(str(n) for n in config.get("hidden", []))
    early = config.get("early_stopping")
    stop = f"early stopping {early}" if early else "no early stop"
    return (
        f"`chainrule train --data digits`: a 64-{hidden}-10 {config.get('activation')} net, "
        f"{config.get('optimizer')} lr {config.get('lr')}, {config.get('schedule')} schedule, "
        f"{'standardized' if config.get('standardize') else 'unscaled'} inputs, its own "
        f"{val}/{test} validation/test split, {config.get('epochs')} epochs with {stop}, "
        "plots, checkpoints and the model file written"
    )


SYSTEMS = {
    "chainrule": fit_chainrule,
    "chainrule-cli": fit_cli,
    "torch": fit_torch,
    "sklearn": fit_sklearn,
}


def measure(system: str, target: float, max_epochs: int) -> dict:
    """Fit once; the parent adds the process's wall time and peak RSS."""
    problem = digits_problem()
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    result = SYSTEMS[system](problem, target, max_epochs)
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    if "fit_seconds" in result:
        result["times"] = [result["fit_seconds"]]
        # CPU over the whole call (its set-up too), so against the call's wall time, not the fit's
        result["cpu_per_wall"] = cpu / wall
    return result
