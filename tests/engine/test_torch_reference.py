"""A second opinion: random expression graphs built from chainrule's ops, checked against PyTorch.

Hypothesis draws the shapes (with broadcasting), the leaves' values, and a sequence of ops whose
operands are picked from everything computed so far, so tensors are reused (fan-out) and paths
meet again (diamonds). The same graph is built in both libraries; every intermediate value and
every leaf's gradient must agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402

EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True, database=None)


class ChainruleOps:
    """The ops under test, spelled in chainrule."""

    @staticmethod
    def leaf(array: np.ndarray) -> cr.Tensor:
        return cr.tensor(array, requires_grad=True)

    @staticmethod
    def values(t: cr.Tensor) -> np.ndarray:
        return t.numpy()

    @staticmethod
    def grad(t: cr.Tensor) -> np.ndarray:
        return np.zeros(t.shape) if t.grad is None else t.grad.numpy()  # unused: no grad

    exp, log, sqrt, tanh, sigmoid = cr.exp, cr.log, cr.sqrt, cr.tanh, cr.sigmoid
    softplus, relu, abs, maximum, minimum = cr.softplus, cr.relu, cr.abs, cr.maximum, cr.minimum
    broadcast_to, matmul = cr.broadcast_to, cr.matmul

    @staticmethod
    def where_greater(a, b, x, y):
        return cr.where(a > b, x, y)

    @staticmethod
    def sum(x, axis, keepdims):
        return x.sum(axis, keepdims)

    @staticmethod
    def mean(x, axis, keepdims):
        return x.mean(axis, keepdims)

    @staticmethod
    def amax(x, axis, keepdims):
        return x.max(axis, keepdims)

    @staticmethod
    def amin(x, axis, keepdims):
        return x.min(axis, keepdims)

    @staticmethod
    def var(x, axis, keepdims):
        return x.var(axis, keepdims=keepdims)

    @staticmethod
    def logsumexp(x, axis, keepdims):
        return cr.logsumexp(x, axis, keepdims)

    softmax, log_softmax = staticmethod(cr.softmax), staticmethod(cr.log_softmax)

    @staticmethod
    def take_last(x, index):
        return x[..., index]

    @staticmethod
    def stack_mean(xs):
        return cr.stack(xs).mean(0)

    @staticmethod
    def concat_split(x, y):
        left, right = cr.split(cr.concatenate([x, y], axis=-1), 2, axis=-1)
        return left * 2.0 - right

    @staticmethod
    def clip(x):
        return cr.clip(x, -0.7, 0.9)


class TorchOps:
    """The same ops, spelled in PyTorch."""

    @staticmethod
    def leaf(array: np.ndarray):
        return torch.tensor(array, dtype=torch.float64, requires_grad=True)

    @staticmethod
    def values(t) -> np.ndarray:
        return t.detach().numpy()

    @staticmethod
    def grad(t) -> np.ndarray:
        return np.zeros(t.shape) if t.grad is None else t.grad.numpy()

    exp, log, sqrt, tanh, sigmoid = torch.exp, torch.log, torch.sqrt, torch.tanh, torch.sigmoid
    softplus, relu, abs = torch.nn.functional.softplus, torch.relu, torch.abs
    maximum, minimum, broadcast_to, matmul = (
        torch.maximum,
        torch.minimum,
        torch.broadcast_to,
        torch.matmul,
    )

    @staticmethod
    def where_greater(a, b, x, y):
        return torch.where(a > b, x, y)

    @staticmethod
    def sum(x, axis, keepdims):
        return torch.sum(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def mean(x, axis, keepdims):
        return torch.mean(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def amax(x, axis, keepdims):
        return torch.amax(x, dim=axis, keepdim=keepdims)  # ties share, as chainrule's max

    @staticmethod
    def amin(x, axis, keepdims):
        return torch.amin(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def var(x, axis, keepdims):
        return torch.var(x, dim=axis, keepdim=keepdims, unbiased=False)

    @staticmethod
    def logsumexp(x, axis, keepdims):
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def softmax(x, axis):
        return torch.softmax(x, dim=axis)

    @staticmethod
    def log_softmax(x, axis):
        return torch.log_softmax(x, dim=axis)

    @staticmethod
    def take_last(x, index):
        return x[..., torch.as_tensor(index)]

    @staticmethod
    def stack_mean(xs):
        return torch.stack(xs).mean(0)

    @staticmethod
    def concat_split(x, y):
        left, right = torch.split(torch.cat([x, y], dim=-1), x.shape[-1], dim=-1)
        return left * 2.0 - right

    @staticmethod
    def clip(x):
        return torch.clamp(x, -0.7, 0.9)


@dataclass
class Step:
    """One op of a random graph: its name, the pool indices of its operands, its parameters."""

    op: str
    operands: tuple[int, ...]
    params: dict


UNARY = ["exp-tanh", "log", "sqrt", "tanh", "sigmoid", "softplus", "relu", "abs", "neg", "square",
         "clip", "scalar"]  # fmt: skip
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "where", "concat-split"]
FULL = ["sum", "mean", "amax", "amin", "var", "logsumexp", "softmax", "log_softmax", "matmul",
        "take", "stack"]  # fmt: skip


def apply_step(lib: Any, step: Step, pool: list, full_shape: tuple[int, int], W: Any) -> Any:
    """Build one op in ``lib``; 'full' ops first broadcast their operand to (m, n)."""
    args = [pool[i] for i in step.operands]
    p = step.params
    op = step.op
    if op in FULL:
        x = lib.broadcast_to(args[0], full_shape)
        if op in ("sum", "mean", "amax", "amin", "var", "logsumexp"):
            return getattr(lib, op)(x, p["axis"], True)  # keepdims: stays broadcastable
        if op in ("softmax", "log_softmax"):
            return getattr(lib, op)(x, p["axis"])
        if op == "matmul":
            return lib.tanh(lib.matmul(x, W))
        if op == "take":
            return lib.take_last(x, p["index"])
        return lib.stack_mean([x, lib.broadcast_to(pool[p["other"]], full_shape) * 0.5])
    a = args[0]
    unary = {
        "exp-tanh": lambda: lib.exp(lib.tanh(a)),
        "log": lambda: lib.log(a * a + 0.5),
        "sqrt": lambda: lib.sqrt(a * a + 0.1),
        "tanh": lambda: lib.tanh(a),
        "sigmoid": lambda: lib.sigmoid(a),
        "softplus": lambda: lib.softplus(a),
        "relu": lambda: lib.relu(a),
        "abs": lambda: lib.abs(a),
        "neg": lambda: -a,
        "square": lambda: lib.tanh(a) ** 2,
        "clip": lambda: lib.clip(a),
        "scalar": lambda: 1.5 - a * 0.5,
    }
    if op in unary:
        return unary[op]()
    b = args[1]
    if op == "concat-split":
        return lib.concat_split(lib.broadcast_to(a, full_shape), lib.broadcast_to(b, full_shape))
    binary = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a / (b * b + 1.0),
        "maximum": lambda: lib.maximum(a, b),
        "minimum": lambda: lib.minimum(a, b),
        "where": lambda: lib.where_greater(a, b, a * 2.0, b),
    }
    return binary[op]()


@st.composite
def random_graphs(draw):
    """Shapes, leaf values, and a sequence of ops over a growing pool of tensors."""
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape_choices = [(m, n), (1, n), (n,), (m, 1), ()]
    leaf_shapes = [(m, n)] + draw(st.lists(st.sampled_from(shape_choices), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**32 - 1))
    steps: list[Step] = []
    pool_size = len(leaf_shapes)
    for _ in range(draw(st.integers(1, 10))):
        op = draw(st.sampled_from(UNARY + BINARY + FULL))
        arity = 2 if op in BINARY else 1
        # Favour the newest tensors so graphs get deep, but allow any (fan-out and reuse).
        operands = tuple(
            draw(st.one_of(st.just(pool_size - 1), st.integers(0, pool_size - 1)))
            for _ in range(arity)
        )
        params = {
            "axis": draw(st.sampled_from([0, 1, -1])),
            "index": draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)),
            "other": draw(st.integers(0, pool_size - 1)),
        }
        steps.append(Step(op, operands, params))
        pool_size += 1
    return (m, n), leaf_shapes, seed, steps


def build(lib: Any, full_shape, leaf_shapes, seed, steps):
    """The leaves, every intermediate, and E = sum_k sum(R_k * node_k) over the whole pool."""
    rng = np.random.default_rng(seed)
    leaves = [lib.leaf(rng.uniform(-2, 2, s)) for s in leaf_shapes]
    W = lib.leaf(rng.uniform(-1, 1, (full_shape[1], full_shape[1])))
    pool = list(leaves)
    for step in steps:
        pool.append(apply_step(lib, step, pool, full_shape, W))
    E = None
    for node in pool:
        term = (node * lib.leaf(rng.uniform(-1, 1, full_shape))).sum()
        E = term if E is None else E + term
    return leaves + [W], pool, E


def _compare(full_shape, leaf_shapes, seed, steps) -> None:
    cr_leaves, cr_pool, cr_E = build(ChainruleOps, full_shape, leaf_shapes, seed, steps)
    t_leaves, t_pool, t_E = build(TorchOps, full_shape, leaf_shapes, seed, steps)
    for k, (a, b) in enumerate(zip(cr_pool, t_pool)):
        np.testing.assert_allclose(
            ChainruleOps.values(a), TorchOps.values(b), rtol=1e-10, atol=1e-12, err_msg=f"node {k}"
        )
    cr_E.backward()
    t_E.backward()
    for k, (a, b) in enumerate(zip(cr_leaves, t_leaves)):
        np.testing.assert_allclose(
            ChainruleOps.grad(a), TorchOps.grad(b), rtol=1e-9, atol=1e-11, err_msg=f"leaf {k}"
        )


@EXAMPLES
@given(random_graphs())
def test_random_graphs_match_torch(graph) -> None:
    _compare(*graph)


def test_a_known_graph_with_every_op_matches_torch() -> None:
    # Hypothesis draws at random; this pins one graph that uses every op and reuses its leaves.
    ops = UNARY + BINARY + FULL
    steps = [
        Step(op, (k % 3,) if op not in BINARY else (k % 3, (k + 1) % 3), {
            "axis": k % 2, "index": [2, 0, 2], "other": 1
        })
        for k, op in enumerate(ops)
    ]  # fmt: skip
    _compare((2, 3), [(2, 3), (1, 3), (2, 1)], 7, steps)


@st.composite
def matmul_shapes(draw):
    """Operand shapes for matmul: 1-d, 2-d and batched with broadcasting batch axes."""
    k = draw(st.integers(1, 4))
    a_core = draw(st.sampled_from([(k,), (draw(st.integers(1, 3)), k)]))
    b_core = draw(st.sampled_from([(k,), (k, draw(st.integers(1, 3)))]))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    a_batch = [draw(st.sampled_from([d, 1])) for d in batch]
    b_batch = [draw(st.sampled_from([d, 1])) for d in batch][draw(st.integers(0, len(batch))) :]
    a_shape = tuple(a_batch) + a_core if len(a_core) == 2 else a_core
    b_shape = tuple(b_batch) + b_core if len(b_core) == 2 else b_core
    return a_shape, b_shape, draw(st.integers(0, 2**32 - 1))


@EXAMPLES
@given(matmul_shapes())
def test_matmul_shapes_match_torch(case) -> None:
    a_shape, b_shape, seed = case
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    a, b = cr.tensor(a0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
    out, t_out = a @ b, ta @ tb
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    t_out.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@EXAMPLES
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.data(),
)
def test_indexing_with_repeats_matches_torch(m, n, data) -> None:
    rows = data.draw(st.lists(st.integers(-m, m - 1), min_size=1, max_size=6))
    cols = data.draw(st.lists(st.integers(0, n - 1), min_size=len(rows), max_size=len(rows)))
    x0 = np.arange(m * n, dtype=np.float64).reshape(m, n) / 7
    x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    mask = x0 > x0.mean()
    out = cr.sigmoid(x[rows, cols]).sum() + x[rows].sum() * 0.5 + (x[mask] ** 2).sum()
    t_rows, t_cols = torch.tensor(rows), torch.tensor(cols)
    t_out = (
        torch.sigmoid(tx[t_rows, t_cols]).sum()
        + tx[t_rows].sum() * 0.5
        + (tx[torch.tensor(mask)] ** 2).sum()
    )
    assert out.item() == pytest.approx(t_out.item(), rel=1e-12)
    out.backward()
    t_out.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(random_graphs())
def test_random_graphs_match_torch_in_float32(graph) -> None:
    full_shape, leaf_shapes, seed, steps = graph
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-2, 2, s).astype(np.float32) for s in leaf_shapes]
    cr_leaves = [cr.tensor(v, requires_grad=True) for v in values]
    t_leaves = [torch.tensor(v, requires_grad=True) for v in values]
    W0 = rng.uniform(-1, 1, (full_shape[1],) * 2).astype(np.float32)
    cr_W, t_W = cr.tensor(W0, requires_grad=True), torch.tensor(W0, requires_grad=True)
    cr_pool, t_pool = list(cr_leaves), list(t_leaves)
    for step in steps:
        cr_pool.append(apply_step(ChainruleOps, step, cr_pool, full_shape, cr_W))
        t_pool.append(apply_step(TorchOps, step, t_pool, full_shape, t_W))
    for a, b in zip(cr_pool, t_pool):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=2e-5, atol=2e-5)
    sum(p.sum() for p in cr_pool).backward()
    sum(p.sum() for p in t_pool).backward()
    for a, b in zip(cr_leaves + [cr_W], t_leaves + [t_W]):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            assert a.grad.dtype == np.float32
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)
