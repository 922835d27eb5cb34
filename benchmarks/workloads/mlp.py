"""Workloads 1 and 2: one SGD training step of a logistic MLP with softmax cross-entropy.

Every system starts from the same weights (``common.mlp_problem``), trains on the same batch with
the same learning rate, and is timed per step (forward, backward, parameter update). Each
``make_*`` function returns that step as a zero-argument callable; it imports its library itself.
"""

from __future__ import annotations

import functools
import importlib
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import bench_threads, max_rss_bytes, mlp_problem, time_calls

Step = Callable[[], Any]
LR = 0.1


def gemm_flops(sizes: list[int], batch: int) -> int:
    """Multiply-adds x 2 of the matmuls in one step: forward, dE/dW, and dE/dy below layer 1."""
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(products) + sum(products[1:]))


def make_chainrule(x, labels, weights, biases) -> tuple[Step, str]:
    """chainrule through nn.Linear, nn.Logistic, nn.CrossEntropy and optim.SGD. No step runs
    here: every system's first calls are the child's warm-up alike."""
    import chainrule as cr

    cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (every child's environment
    # already sets glibc alike: common.child_environment)
    nn, optim = cr.nn, cr.optim
    layers = []
    for k, w in enumerate(weights):
        linear = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
        linear.weight.data[...] = w
        linear.bias.data[...] = biases[k]
        layers.append(linear)
        if k < len(weights) - 1:
            layers.append(nn.Logistic())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropy()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    xt = cr.tensor(x)
    targets = cr.tensor(labels)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(xt), targets).backward()
        optimizer.step()

    return step, "nn.Sequential + nn.CrossEntropy + optim.SGD"


def make_numpy(x, labels, weights, biases) -> tuple[Step, str]:
    """The hand-written backprop with preallocated buffers (benchmarks/peers/numpy_mlp.py)."""
    from benchmarks.peers.numpy_mlp import NumpyMLP

    net = NumpyMLP(weights, biases, batch=x.shape[0])
    return (lambda: net.sgd_step(x, labels, LR)), "preallocated buffers, out= everywhere"


def make_torch(x, labels, weights, biases, device: str = "cpu") -> tuple[Step, str]:
    """PyTorch eager: leaf tensors, F.cross_entropy, torch.optim.SGD (on ``device``: the GPU
    smoke script runs the same step on "cuda")."""
    import torch

    torch.set_num_threads(bench_threads())
    ws = [torch.tensor(w, device=device, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, device=device, requires_grad=True) for b in biases]
    optimizer = torch.optim.SGD(ws + bs, lr=LR)
    xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(labels, device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        h = xt
        for k, (w, b) in enumerate(zip(ws, bs)):
            h = torch.addmm(b, h, w)
            if k < len(ws) - 1:
                h = torch.sigmoid(h)
        torch.nn.functional.cross_entropy(h, yt).backward()
        optimizer.step()

    return step, f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def make_jax(x, labels, weights, biases) -> tuple[Step, str]:
    """JAX: the whole step (loss, grad, SGD update) under jax.jit, parameters donated."""
    import jax
    import jax.numpy as jnp

    def loss_fn(params, xb, yb):
        ws, bs = params
        h = xb
        for k, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if k < len(ws) - 1:
                h = jax.nn.sigmoid(h)
        logp = jax.nn.log_softmax(h, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    @functools.partial(jax.jit, donate_argnums=0)  # the old parameters' buffers are reused
    def update(params, xb, yb):
        grads = jax.grad(loss_fn)(params, xb, yb)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    state = {"params": ([jnp.asarray(w) for w in weights], [jnp.asarray(b) for b in biases])}
    xj, yj = jnp.asarray(x), jnp.asarray(labels)

    def step() -> None:
        state["params"] = jax.block_until_ready(update(state["params"], xj, yj))

    return step, f"jax {jax.__version__}, jit"


def make_autograd(x, labels, weights, biases) -> tuple[Step, str]:
    """HIPS autograd: autograd.grad of a NumPy loss, update in NumPy."""
    import autograd
    import autograd.numpy as anp

    n_layers = len(weights)
    rows = np.arange(x.shape[0])

    def loss_fn(params):
        h = x
        for k in range(n_layers):
            h = anp.dot(h, params[k]) + params[n_layers + k]
            if k < n_layers - 1:
                h = 1 / (1 + anp.exp(-h))
        shifted = h - anp.max(h, axis=1, keepdims=True)
        logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(logp[rows, labels])

    grad_fn = autograd.grad(loss_fn)
    params = [w.copy() for w in weights] + [b.copy() for b in biases]

    def step() -> None:
        for p, g in zip(params, grad_fn(params)):
            p -= (LR * g).astype(p.dtype, copy=False)

    return step, "autograd.grad, NumPy update"


def make_sklearn(x, labels, weights, biases) -> tuple[Step, str]:
    """scikit-learn MLPClassifier: one ``partial_fit`` on the batch is one SGD step.

    With solver="sgd", batch_size equal to the batch and momentum 0, partial_fit makes exactly one
    pass of one minibatch (input validation included, as a user pays it). alpha=0 turns off the L2
    penalty so the loss matches the others.
    """
    import sklearn
    from sklearn.neural_network import MLPClassifier

    n_classes = weights[-1].shape[1]
    model = MLPClassifier(
        hidden_layer_sizes=tuple(w.shape[1] for w in weights[:-1]),
        activation="logistic",
        solver="sgd",
        learning_rate_init=LR,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=x.shape[0],
        shuffle=False,
    )
    model.partial_fit(x, labels, classes=np.arange(n_classes))  # builds the layers
    model.coefs_ = [w.copy() for w in weights]
    model.intercepts_ = [b.copy() for b in biases]
    return (lambda: model.partial_fit(x, labels)), (
        f"sklearn {sklearn.__version__}, partial_fit = 1 step, params {model.coefs_[0].dtype}"
    )


SYSTEMS: dict[str, Callable[..., tuple[Step, str]]] = {
    "chainrule": make_chainrule,
    "numpy": make_numpy,
    "torch": make_torch,
    "jax": make_jax,
    "autograd": make_autograd,
    "sklearn": make_sklearn,
}
#: Every module a system's ``make_*`` and its first steps import, loaded before memory tracing
#: starts, so that no system's traced span holds its library's code: chainrule loads nn and optim
#: lazily (1.7 MiB of tracemalloc's peak when they loaded inside the span), torch's optimizer
#: imports torch._dynamo at its first step. A test checks that none loads inside the span.
_IMPORTS = {
    "chainrule": ("chainrule", "chainrule.nn", "chainrule.optim"),
    "numpy": ("numpy", "benchmarks.peers.numpy_mlp"),
    "torch": ("torch", "torch.optim", "torch._dynamo"),
    "jax": ("jax", "jax.numpy"),
    "autograd": ("autograd", "autograd.numpy"),
    "sklearn": ("sklearn", "sklearn.neural_network"),
}


def measure(system: str, sizes: list[int], batch: int, reps: int, warmup: int) -> dict:
    """Time ``reps`` training steps of ``system`` after ``warmup`` untimed ones."""
    x, labels, weights, biases = mlp_problem(sizes, batch)
    step, how = SYSTEMS[system](x, labels, weights, biases)
    return {**time_calls(step, reps, warmup), "how": how}


def measure_memory(system: str, sizes: list[int], batch: int) -> dict:
    """Peak memory of building the model and running two steps, in a process of its own.

    ``traced_peak`` is tracemalloc's peak (NumPy reports its array allocations to it, so it sees
    everything chainrule, the NumPy peer, autograd and scikit-learn allocate); ``rss_delta`` is the
    growth of the process's peak RSS over the same span (the only measure that sees torch's and
    XLA's own allocators; coarse, page-granular, and it includes JIT compilation and, for jax,
    the start of its CPU client at the first array). Every module the system needs is imported
    before the span (:data:`_IMPORTS`): the span holds the model, its arrays and two steps.
    """
    for module in _IMPORTS[system]:
        importlib.import_module(module)
    x, labels, weights, biases = mlp_problem(sizes, batch)
    rss_before = max_rss_bytes()
    tracemalloc.start()
    step, how = SYSTEMS[system](x, labels, weights, biases)
    step()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    numpy_based = system in ("chainrule", "numpy", "autograd", "sklearn")
    return {
        "traced_peak": peak if numpy_based else None,
        "rss_delta": max_rss_bytes() - rss_before,
        "how": how,
    }
