"""Workload 5: micrograd's demo (a 2-16-16-1 ReLU net on 100 make_moons points), one step.

The step is micrograd's own demo.ipynb step: forward over all 100 points, the max-margin loss
mean(relu(1 - y * score)) plus 1e-4 * sum(p^2), zero the gradients, backward, and SGD with
learning rate 0.5. micrograd builds a graph of Python scalars; chainrule does the same maths on
(100, 16) arrays. Both start from the same weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.common import bench_threads, time_calls

SIZES = [2, 16, 16, 1]
ALPHA = 1e-4
LR = 0.5


def moons_problem(seed: int = 0):
    """The 100 points (labels -1/+1) and the starting weights, float64 like micrograd's floats."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, (n_in, n_out)) for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    biases = [np.zeros(n) for n in SIZES[1:]]
    return x, (y * 2 - 1).astype(np.float64), weights, biases


def make_chainrule(x, y, weights, biases) -> Callable[[], float]:
    import chainrule as cr

    cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (not done by the import)

    params = [cr.tensor(w.copy(), requires_grad=True) for w in weights]
    params += [cr.tensor(b.copy(), requires_grad=True) for b in biases]
    n_layers = len(weights)
    xt, yt = cr.tensor(x), cr.tensor(y[:, None])

    def step() -> float:
        h = xt
        for k in range(n_layers):
            h = h @ params[k] + params[n_layers + k]
            if k < n_layers - 1:
                h = cr.relu(h)
        data_loss = cr.relu(1 - yt * h).mean()
        reg_loss = ALPHA * sum((p * p).sum() for p in params)
        loss = data_loss + reg_loss
        loss.backward()
        for p in params:
            p.data -= LR * p.grad.data
            p.grad = None
        return float(loss.data)

    return step


def make_torch(x, y, weights, biases) -> Callable[[], float]:
    import torch

    torch.set_num_threads(bench_threads())
    params = [torch.tensor(a, requires_grad=True) for a in [*weights, *biases]]
    n_layers = len(weights)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y[:, None])

    def step() -> float:
        h = xt
        for k in range(n_layers):
            h = torch.addmm(params[n_layers + k], h, params[k])
            if k < n_layers - 1:
                h = torch.relu(h)
        loss = torch.relu(1 - yt * h).mean() + ALPHA * sum((p * p).sum() for p in params)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return float(loss)

    return step


def make_micrograd(x, y, weights, biases) -> Callable[[], float]:
    """micrograd.nn.MLP with its weights overwritten by the shared ones (demo.ipynb's step)."""
    from micrograd.engine import Value
    from micrograd.nn import MLP

    model = MLP(SIZES[0], SIZES[1:])
    for layer, w, b in zip(model.layers, weights, biases):
        for j, neuron in enumerate(layer.neurons):
            for i, wi in enumerate(neuron.w):
                wi.data = float(w[i, j])
            neuron.b.data = float(b[j])
    inputs = [list(map(Value, row)) for row in x.tolist()]

    def step() -> float:
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= LR * p.grad
        return loss.data

    return step


SYSTEMS = {"chainrule": make_chainrule, "torch": make_torch, "micrograd": make_micrograd}


def measure(system: str, reps: int, warmup: int) -> dict:
    """Seconds per training step after ``warmup`` untimed steps (at least 1), the same for every
    system; ``first_loss``, the first warm-up step's loss, lets the report check that the
    systems agree."""
    if warmup < 1:
        raise ValueError(f"moons: warmup must be at least 1 (its first step gives first_loss), "
                         f"not {warmup}")  # fmt: skip
    x, y, weights, biases = moons_problem()
    step = SYSTEMS[system](x, y, weights, biases)
    first_loss = step()  # the first of the warm-up steps
    return {**time_calls(step, reps, warmup - 1), "first_loss": first_loss}
