"""Every differentiable op against NumPy (values) and central differences (first and second order).

Each case is an op applied to inputs of one shape family: scalar, vector, matrix, broadcasting
(1, n) against (m, n), and a batched 3-d array. Inputs are drawn away from the kinks (abs, relu,
max, clip, maximum) and inside the domain (log, sqrt, power), so a finite difference is exact up to
O(eps^2) and any disagreement is a wrong rule.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.linalg import linear
from chainrule.ops.registry import REGISTRY

SHAPES = {"scalar": (), "vector": (4,), "matrix": (3, 4), "row": (1, 4), "batch": (2, 3, 4)}
BINARY_SHAPES = {
    "scalar": ((), ()),
    "vector": ((4,), (4,)),
    "matrix": ((3, 4), (3, 4)),
    "row-vs-matrix": ((1, 4), (3, 4)),
    "matrix-vs-row": ((3, 4), (1, 4)),
    "column-vs-row": ((3, 1), (1, 4)),
    "scalar-vs-matrix": ((), (3, 4)),
    "batch-vs-vector": ((2, 3, 4), (4,)),
    "batch-vs-column": ((2, 3, 4), (3, 1)),
}


@dataclass
class Case:
    """An op under test: the chainrule function, its NumPy reference, and float64 inputs."""

    id: str
    f: Callable
    ref: Callable
    inputs: list[np.ndarray]


def _rng(*key: object) -> np.random.Generator:
    """A generator seeded from the case's name, so every case is reproducible on its own."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape))


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(rng.uniform(0.5, 2.0, shape))


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Magnitudes in [0.3, 2] with random signs: far from the kink at 0."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return np.asarray(sign * rng.uniform(0.3, 2.0, shape))


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values at least 0.1 apart, so max and min have no ties."""
    n = int(np.prod(shape))
    values = rng.permutation(n) * 0.25 - n * 0.125 + rng.uniform(-0.05, 0.05, n)
    return values.reshape(shape)


def _separated(rng, shape_a, shape_b, gap: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two inputs whose broadcast elements differ by at least ``gap`` (no ties for maximum)."""
    for _ in range(1000):
        a, b = _normal(rng, shape_a), _normal(rng, shape_b)
        if np.all(np.abs(a - b) > gap):
            return a, b
    raise AssertionError("could not draw separated inputs")


def _sigmoid_np(z):
    return 1 / (1 + np.exp(-z))


def _logsumexp_np(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax_np(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

UNARY = {
    # name: (chainrule, numpy, input sampler)
    "neg": (cr.neg, np.negative, _normal),
    "neg-operator": (lambda x: -x, np.negative, _normal),
    "exp": (cr.exp, np.exp, _normal),
    "log": (cr.log, np.log, _positive),
    "sqrt": (cr.sqrt, np.sqrt, _positive),
    "abs": (cr.abs, np.abs, _away_from_zero),
    "sign": (cr.sign, np.sign, _away_from_zero),
    "sin": (cr.sin, np.sin, _normal),
    "cos": (cr.cos, np.cos, _normal),
    "sigmoid": (cr.sigmoid, _sigmoid_np, _normal),
    "tanh": (cr.tanh, np.tanh, _normal),
    "relu": (cr.relu, lambda x: np.maximum(x, 0), _away_from_zero),
    "softplus": (cr.softplus, lambda x: np.log1p(np.exp(x)), _normal),
    "square": (lambda x: x**2, np.square, _normal),
    "cube": (lambda x: x**3, lambda x: x**3, _normal),
    "power-half": (lambda x: x**0.5, np.sqrt, _positive),
    "power-negative": (lambda x: x**-1.5, lambda x: x**-1.5, _positive),
    "scalar-times": (lambda x: 2.5 * x, lambda x: 2.5 * x, _normal),
    "scalar-minus": (lambda x: 1.0 - x, lambda x: 1.0 - x, _normal),
    "scalar-over": (lambda x: 2.0 / x, lambda x: 2.0 / x, _positive),
    "scalar-base-power": (lambda x: 2.0**x, lambda x: 2.0**x, _normal),
}

BINARY = {
    "add": (lambda a, b: a + b, np.add, _normal),
    "sub": (lambda a, b: a - b, np.subtract, _normal),
    "mul": (lambda a, b: a * b, np.multiply, _normal),
    "div": (lambda a, b: a / b, np.divide, "div"),
    "power": (lambda a, b: a**b, np.power, "power"),
    "maximum": (cr.maximum, np.maximum, "separated"),
    "minimum": (cr.minimum, np.minimum, "separated"),
}


def _binary_inputs(kind, rng, shape_a, shape_b):
    if kind == "div":
        return [_normal(rng, shape_a), _away_from_zero(rng, shape_b)]
    if kind == "power":
        return [_positive(rng, shape_a), _normal(rng, shape_b)]
    if kind == "separated":
        return list(_separated(rng, shape_a, shape_b))
    return [kind(rng, shape_a), kind(rng, shape_b)]


def _elementwise_cases() -> list[Case]:
    cases = []
    for name, (f, ref, sample) in UNARY.items():
        for shape_name, shape in SHAPES.items():
            rng = _rng(name, shape_name)
            cases.append(Case(f"{name}-{shape_name}", f, ref, [sample(rng, shape)]))
    for name, (f, ref, kind) in BINARY.items():
        for shape_name, (shape_a, shape_b) in BINARY_SHAPES.items():
            rng = _rng(name, shape_name)
            inputs = _binary_inputs(kind, rng, shape_a, shape_b)
            cases.append(Case(f"{name}-{shape_name}", f, ref, inputs))
    return cases


def _where_and_clip_cases() -> list[Case]:
    rng = _rng("where")
    cases = []
    for shape_name, (shape_a, shape_b) in BINARY_SHAPES.items():
        condition = rng.random(np.broadcast_shapes(shape_a, shape_b)) < 0.5
        cases.append(
            Case(
                f"where-{shape_name}",
                lambda a, b, c=condition: cr.where(c, a, b),
                lambda a, b, c=condition: np.where(c, a, b),
                [_normal(rng, shape_a), _normal(rng, shape_b)],
            )
        )
    row_mask = np.array([True, False, True, False])  # a (4,) condition against (3, 4) operands
    cases.append(
        Case(
            "where-broadcast-condition",
            lambda a, b: cr.where(row_mask, a, b),
            lambda a, b: np.where(row_mask, a, b),
            [_normal(rng, (3, 4)), _normal(rng, (3, 1))],
        )
    )
    for shape_name, shape in SHAPES.items():
        x = _normal(rng, shape) * 0.8
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.15, x)  # away from the bounds
        for bounds in [(-0.5, 0.5), (-0.5, None), (None, 0.5)]:
            cases.append(
                Case(
                    f"clip{bounds}-{shape_name}",
                    lambda x, b=bounds: cr.clip(x, *b),
                    lambda x, b=bounds: np.clip(x, *b),
                    [x],
                )
            )
    return cases


#: The NumPy references of the reductions NumPy has under another name
_REDUCTION_REFS = {
    "logsumexp": _logsumexp_np,
    "norm": lambda x, axis=None, keepdims=False: np.sqrt(np.sum(x * x, axis, keepdims=keepdims)),
}


def _reduction_cases() -> list[Case]:
    cases = []
    axes_by_shape = {
        "scalar": [None],
        "vector": [None, 0, -1],
        "matrix": [None, 0, 1],
        "batch": [None, 0, -1, (0, 2), (1, 2)],
    }
    for name in ["sum", "mean", "max", "min", "var", "logsumexp", "norm"]:
        sample = _distinct if name in ("max", "min") else _normal
        for shape_name, axes in axes_by_shape.items():
            rng = _rng(name, shape_name)
            x = sample(rng, SHAPES[shape_name])
            for axis in axes:
                for keepdims in (False, True):
                    ref = _REDUCTION_REFS.get(name) or getattr(np, name)
                    cases.append(
                        Case(
                            f"{name}-{shape_name}-axis{axis}-keep{keepdims}",
                            lambda x, n=name, a=axis, k=keepdims: getattr(cr, n)(
                                x, axis=a, keepdims=k
                            ),
                            lambda x, r=ref, a=axis, k=keepdims: r(x, axis=a, keepdims=k),
                            [x],
                        )
                    )
    rng = _rng("var-ddof")
    cases.append(
        Case(
            "var-ddof1",
            lambda x: x.var(axis=1, ddof=1),
            lambda x: np.var(x, axis=1, ddof=1),
            [_normal(rng, (3, 4))],
        )
    )
    cases.append(
        Case("mean-method", lambda x: x.mean(0), lambda x: x.mean(0), [_normal(rng, (3, 4))])
    )
    return cases


MATMUL_SHAPES = {
    "matrix": ((3, 4), (4, 2)),
    "batched": ((2, 3, 4), (2, 4, 5)),
    "vector-matrix": ((4,), (4, 3)),
    "matrix-vector": ((3, 4), (4,)),
    "dot": ((4,), (4,)),
    "batch-matrix": ((2, 3, 4), (4, 5)),
    "matrix-batch": ((3, 4), (2, 4, 5)),
    "broadcast-batch": ((2, 1, 2, 3), (3, 3, 2)),
    "vector-batch": ((4,), (2, 4, 3)),
    "batch-vector": ((2, 3, 4), (4,)),
}


def _matmul_cases() -> list[Case]:
    cases = []
    for name, (shape_a, shape_b) in MATMUL_SHAPES.items():
        rng = _rng("matmul", name)
        inputs = [_normal(rng, shape_a), _normal(rng, shape_b)]
        cases.append(Case(f"matmul-{name}", lambda a, b: a @ b, np.matmul, inputs))
    rng = _rng("matmul-function")
    cases.append(
        Case("matmul-function", cr.matmul, np.matmul, [_normal(rng, (2, 3)), _normal(rng, (3,))])
    )
    return cases


def _shape_cases() -> list[Case]:
    rng = _rng("shape")
    m, b = _normal(rng, (3, 4)), _normal(rng, (2, 3, 4))
    v = _normal(rng, (4,))
    singleton = _normal(rng, (1, 4, 1))
    specs = [
        ("reshape-matrix", lambda x: x.reshape(2, 6), lambda x: x.reshape(2, 6), [m]),
        ("reshape-flat", lambda x: cr.reshape(x, -1), lambda x: x.reshape(-1), [b]),
        ("reshape-infer", lambda x: x.reshape((4, -1)), lambda x: x.reshape(4, -1), [b]),
        ("reshape-scalar", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [v[:1]]),
        ("transpose-T", lambda x: x.T, lambda x: x.T, [m]),
        ("transpose-default", cr.transpose, np.transpose, [b]),
        ("transpose-axes", lambda x: x.transpose(1, 0, 2), lambda x: x.transpose(1, 0, 2), [b]),
        ("transpose-negative", lambda x: cr.transpose(x, (-1, 0, 1)),
         lambda x: np.transpose(x, (-1, 0, 1)), [b]),
        ("swapaxes", lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2), [b]),
        ("swapaxes-negative", lambda x: cr.swapaxes(x, -1, -2),
         lambda x: np.swapaxes(x, -1, -2), [b]),
        ("broadcast_to-row", lambda x: cr.broadcast_to(x, (3, 4)),
         lambda x: np.broadcast_to(x, (3, 4)), [m[:1]]),
        ("broadcast_to-new-axes", lambda x: x.broadcast_to((2, 3, 4)),
         lambda x: np.broadcast_to(x, (2, 3, 4)), [v]),
        ("broadcast_to-scalar", lambda x: cr.broadcast_to(x, (3,)),
         lambda x: np.broadcast_to(x, (3,)), [np.array(0.7)]),
        ("squeeze-all", cr.squeeze, np.squeeze, [singleton]),
        ("squeeze-axis", lambda x: x.squeeze(0), lambda x: x.squeeze(0), [singleton]),
        ("unsqueeze-front", lambda x: x.unsqueeze(0), lambda x: x[None], [m]),
        ("unsqueeze-back", lambda x: cr.unsqueeze(x, -1), lambda x: x[..., None], [m]),
        ("expand_dims", lambda x: cr.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), [m]),
        ("concatenate-0", lambda x, y: cr.concatenate([x, y]), lambda x, y: np.concatenate([x, y]),
         [m, _normal(rng, (2, 4))]),
        ("concatenate-1", lambda x, y: cr.concatenate([x, y], axis=1),
         lambda x, y: np.concatenate([x, y], axis=1), [m, _normal(rng, (3, 1))]),
        ("concatenate-three", lambda x, y, z: cr.concatenate([x, y, z], axis=-1),
         lambda x, y, z: np.concatenate([x, y, z], axis=-1), [b, b[..., :2], b[..., :1]]),
        ("stack-0", lambda x, y: cr.stack([x, y]), lambda x, y: np.stack([x, y]), [m, 2 * m]),
        ("stack-last", lambda x, y: cr.stack([x, y], axis=-1),
         lambda x, y: np.stack([x, y], axis=-1), [m, m + 1]),
        ("stack-vectors", lambda x, y, z: cr.stack([x, y, z], axis=1),
         lambda x, y, z: np.stack([x, y, z], axis=1), [v, v * 2, v - 1]),
        ("split-sections", lambda x: cr.split(x, 2, axis=1), lambda x: np.split(x, 2, axis=1),
         [m]),
        ("split-indices", lambda x: cr.split(x, [1, 3]), lambda x: np.split(x, [1, 3]), [v]),
        ("split-batch", lambda x: cr.split(x, 3, axis=1), lambda x: np.split(x, 3, axis=1), [b]),
    ]  # fmt: skip
    indices = [
        ("int", 1),
        ("negative-int", -1),
        ("two-ints", (1, 2)),
        ("slice", slice(1, None)),
        ("strided-slice", (slice(None), slice(None, None, 2))),
        ("reversed", slice(None, None, -1)),
        ("none", (None, slice(None), 1)),
        ("ellipsis", (Ellipsis, 0)),
        ("bool-mask", m > 0.0),
        ("bool-row-mask", np.array([True, False, True])),
        ("int-array-repeats", np.array([0, 0, 2, 0])),
        ("int-list-repeats", [2, 1, 2]),
        ("int-array-pairs", (np.array([0, 2, 0, 0]), np.array([1, 1, 1, 3]))),
        ("slice-and-int-array", (slice(None), np.array([1, 1, 3]))),
        ("2d-int-array", np.array([[0, 1], [1, 1]])),
    ]
    for name, index in indices:
        specs.append((f"getitem-{name}", lambda x, i=index: x[i], lambda x, i=index: x[i], [m]))
    specs.append(("getitem-batch", lambda x: x[1, :, [0, 0]], lambda x: x[1, :, [0, 0]], [b]))
    # squared, so that the gradient reaching getitem depends on x: its rule (scatter_add) is
    # then recorded and the second-order check differentiates it
    repeats = np.array([0, 0, 2, 0])
    specs.append(("getitem-repeats-squared", lambda x: x[repeats] ** 2,
                  lambda x: x[repeats] ** 2, [v]))  # fmt: skip
    specs.append(("getitem-tensor-index", lambda x: x[cr.tensor([3, 3])], lambda x: x[[3, 3]], [v]))
    return [Case(name, f, ref, inputs) for name, f, ref, inputs in specs]


def _softmax_cases() -> list[Case]:
    cases = []
    for shape_name in ["vector", "matrix", "batch"]:
        rng = _rng("softmax", shape_name)
        x = _normal(rng, SHAPES[shape_name]) * 2
        for axis in (-1, 0):
            cases.append(
                Case(
                    f"softmax-{shape_name}-axis{axis}",
                    lambda x, a=axis: cr.softmax(x, a),
                    lambda x, a=axis: _softmax_np(x, a),
                    [x],
                )
            )
            cases.append(
                Case(
                    f"log_softmax-{shape_name}-axis{axis}",
                    lambda x, a=axis: x.log_softmax(a),
                    lambda x, a=axis: np.log(_softmax_np(x, a)),
                    [x],
                )
            )
    return cases


def _composite_cases() -> list[Case]:
    """Ops meeting each other: the places where rules must compose."""
    rng = _rng("composite")
    y, w, bias = _normal(rng, (5, 3)), _normal(rng, (3, 2)), _normal(rng, (2,))
    return [
        Case(
            "logistic-layer",
            lambda y, w, b: cr.sigmoid(y @ w + b),
            lambda y, w, b: _sigmoid_np(y @ w + b),
            [y, w, bias],
        ),
        Case(
            "squared-error",
            lambda y, w: 0.5 * ((cr.sigmoid(y @ w) - 1.0) ** 2).sum(),
            lambda y, w: 0.5 * ((_sigmoid_np(y @ w) - 1.0) ** 2).sum(),
            [y, w],
        ),
        Case(
            "cross-entropy",
            lambda y, w: -(cr.log_softmax(y @ w, axis=1)[np.arange(5), [0, 1, 1, 0, 1]]).mean(),
            lambda y, w: -np.log(_softmax_np(y @ w, 1))[np.arange(5), [0, 1, 1, 0, 1]].mean(),
            [y, w],
        ),
        Case(
            "normalise",
            lambda x: (x - x.mean(0)) / (x.var(0) + 1e-3).sqrt(),
            lambda x: (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3),
            [y],
        ),
    ]


def _clip_to_tensor_bounds(rng: np.random.Generator) -> list[np.ndarray]:
    """x (3, 4) with bounds that are inputs too, a row of lows (4,) and a column of highs
    (3, 1): every element of x at least 0.1 from both, some below, inside and above."""
    low, high = np.array([-0.9, -0.5, -0.2, -0.7]), np.array([[0.6], [0.3], [0.9]])
    for _ in range(1000):
        x = _normal(rng, (3, 4))
        apart = np.all(np.abs(x - low) > 0.1) and np.all(np.abs(x - high) > 0.1)
        if apart and np.any(x < low) and np.any(x > high) and np.any((x > low) & (x < high)):
            return [x, low, high]
    raise AssertionError("could not draw x away from the bounds")


def _fused_cases() -> list[Case]:
    """The primitives that fuse several steps (a layer's x @ W + b, the cross-entropies), take
    their bounds as inputs (clip) or cast (astype): each against the same steps in NumPy."""
    rng = _rng("fused")
    x, w, bias = _normal(rng, (5, 3)), _normal(rng, (3, 2)), _normal(rng, (2,))
    logits, labels = _normal(rng, (5, 3)), np.array([0, 2, 1, 1, 0])
    rows, probabilities = _softmax_np(_normal(rng, (5, 3))), _sigmoid_np(_normal(rng, (5, 3)))

    def logistic_ce(z, t):
        return -t * np.log(_sigmoid_np(z)) - (1 - t) * np.log(1 - _sigmoid_np(z))

    return [
        Case("linear", linear, lambda x, w, b: x @ w + b, [x, w, bias]),
        Case(
            "clip-tensor-bounds",
            cr.clip,
            np.clip,
            _clip_to_tensor_bounds(rng),
        ),
        Case(
            "astype-own-dtype",
            lambda x: cr.astype(x, x.dtype) * x,
            lambda x: x * x,
            [_normal(rng, (3, 4))],
        ),
        Case(  # labels: the targets take no gradient
            "softmax_cross_entropy",
            lambda z: cr.softmax_cross_entropy(z, labels),
            lambda z: -np.log(_softmax_np(z, 1))[np.arange(5), labels].mean(),
            [logits],
        ),
        Case(  # targets that are inputs: the fused op of logits and targets
            "softmax_cross_entropy-of-targets",
            lambda z, t: cr.softmax_cross_entropy(z, t, reduction="none"),
            lambda z, t: -(t * np.log(_softmax_np(z, 1))).sum(axis=1),
            [logits, rows],
        ),
        Case(
            "logistic_cross_entropy",
            lambda z: cr.logistic_cross_entropy(z, probabilities),
            lambda z: logistic_ce(z, probabilities).mean(),
            [logits],
        ),
        Case(
            "logistic_cross_entropy-of-targets",
            lambda z, t: cr.logistic_cross_entropy(z, t, reduction="none"),
            logistic_ce,
            [logits, probabilities],
        ),
    ]


CASES = (
    _elementwise_cases()
    + _where_and_clip_cases()
    + _reduction_cases()
    + _matmul_cases()
    + _shape_cases()
    + _softmax_cases()
    + _composite_cases()
    + _fused_cases()
)
# Second order on a representative subset of shapes: linear and piecewise-linear ops have a
# zero second derivative, which order=2 checks cheaply; the smooth ones are the point.
SECOND_ORDER = [c for c in CASES if not c.id.endswith(("-scalar-vs-matrix", "-batch-vs-column"))]


def _flat(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


# ---------------------------------------------------------------------------------------------
# Every registered primitive's rule is checked here
# ---------------------------------------------------------------------------------------------

#: The registered primitives whose rules no central difference can check, each with the test
#: that checks it instead. Every other primitive must be recorded by a case of CASES (the test
#: below): tests/engine/test_array_api.py runs each primitive on other libraries, but compares
#: them with NumPy running the same rule, so a wrong rule passes there.
CHECKED_ELSEWHERE = {
    # a variance over no degrees of freedom: its values and gradients are +-inf (NaN where the
    # values are alike), which no difference quotient approaches; checked against
    # torch.var(correction=n) there (and against NumPy on every library in test_array_api.py)
    "var_without_freedom": "tests/engine/test_var_ddof_torch.py",
    # norm's second derivative at a zero vector, which does not exist: 0 as a value, NaN as a
    # derivative, checked against torch's NaN and the first derivative's 0 there
    "norm_slope_jump": "tests/engine/test_review2_s70.py",
    "norm_curvature_undefined": "tests/engine/test_review2_s70.py",
}


def _builtin_primitives() -> dict[str, str]:
    """The library's registered primitives (not those tests register), each by its module."""
    modules = {name: getattr(p.forward, "__module__", None) or "" for name, p in REGISTRY.items()}
    return {name: module for name, module in modules.items() if module.startswith("chainrule.")}


def _recorded(roots: list) -> set[str]:
    """The names of the primitives recorded in the graphs behind the tensors ``roots``."""
    names, seen, stack = set(), set(), list(roots)
    while stack:
        t = stack.pop()
        if not isinstance(t, cr.Tensor) or id(t) in seen:
            continue
        seen.add(id(t))
        if t._primitive is not None:
            names.add(t._primitive.name)
            stack.extend(t._inputs)
    return names


def _checked_by_central_differences() -> set[str]:
    """The primitives whose rules the cases' central differences check: those a case's forward
    records (first order checks their rules) and, for SECOND_ORDER's cases, those its backward
    records with ``create_graph`` (second order differentiates their rules: sum_to,
    scatter_add and power_slope_undefined run only there)."""
    second = {case.id for case in SECOND_ORDER}
    names: set[str] = set()
    for case in CASES:
        tensors = [cr.tensor(a, requires_grad=True) for a in case.inputs]
        outs = _flat(case.f(*tensors))
        names |= _recorded(outs)
        if case.id in second:
            total = sum((out.sum() for out in outs[1:]), outs[0].sum())
            names |= _recorded(list(cr.gradient(total, tensors, create_graph=True)))
    return names


def test_every_registered_primitive_is_checked_against_central_differences() -> None:
    """A primitive with a wrong rule (softsign's derivative with its sign flipped) passed every
    test of tests/engine once it had its Case in test_array_api.py, which compares libraries
    running that same rule: the cases here are the check of the rules, so each primitive
    must be in them."""
    builtin = _builtin_primitives()
    checked = _checked_by_central_differences()
    missing = [
        f"{name!r} ({module}) is a registered primitive that no case of tests/engine/test_ops.py "
        "records, so nothing checks its derivative rule against central differences. Add it to "
        f'UNARY there, "{name}": (<its chainrule function>, <its NumPy reference>, <an input '
        "sampler: _normal, _positive or _away_from_zero>); to BINARY for two inputs; or as a "
        "Case of its own in _fused_cases. Only a rule no central difference can check (infinite "
        "values) goes in CHECKED_ELSEWHERE there, with a comment naming the test that checks it."
        for name, module in sorted(builtin.items())
        if name not in checked and name not in CHECKED_ELSEWHERE
    ]
    assert not missing, "\n".join(missing)
    stale = [
        f"{name!r} is in CHECKED_ELSEWHERE in tests/engine/test_ops.py but "
        + ("is no registered primitive" if name not in builtin else "a case here records it")
        + ": remove it from CHECKED_ELSEWHERE"
        for name in CHECKED_ELSEWHERE
        if name not in builtin or name in checked
    ]
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case: Case) -> None:
    tensors = [cr.tensor(a) for a in case.inputs]
    got = _flat(case.f(*tensors))
    expected = _flat(case.ref(*[a.copy() for a in case.inputs]))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == np.shape(e), case.id
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_first_order_matches_central_differences(case: Case) -> None:
    cr.gradcheck(case.f, case.inputs, raise_on_failure=True)


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.id)
def test_second_order_matches_central_differences(case: Case) -> None:
    cr.gradcheck(case.f, case.inputs, order=2, raise_on_failure=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_float32_in_float32_out_values_and_gradients(case: Case) -> None:
    tensors = [cr.tensor(a.astype(np.float32), requires_grad=True) for a in case.inputs]
    outs = _flat(case.f(*tensors))
    for out in outs:
        assert out.dtype == np.float32, f"{case.id}: output is {out.dtype}"
    total = outs[0].sum()
    for out in outs[1:]:
        total = total + out.sum()
    total.backward()
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == np.float32, f"{case.id}: grad {t.grad}"
        assert t.grad.shape == t.shape


def test_a_python_scalar_never_upcasts_float32() -> None:
    x = cr.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    for out in [2.0 * x, x * 2.0, x + 1, 1 - x, x / 3.0, 3.0 / x, x**2.0, 2.0**x, -x, x.mean()]:
        assert out.dtype == np.float32
    (2.0 * x).sum().backward()
    assert x.grad.dtype == np.float32


def test_getitem_with_repeated_indices_accumulates_like_add_at() -> None:
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows, cols = np.array([0, 2, 0, 0]), np.array([1, 3, 1, 1])
    cotangent = np.array([1.0, 10.0, 100.0, 1000.0])
    x[rows, cols].backward(cotangent)
    expected = np.zeros((3, 4))
    np.add.at(expected, (rows, cols), cotangent)
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert x.grad.numpy()[0, 1] == 1101.0


def test_astype_round_trip_casts_the_gradient_back() -> None:
    x = cr.tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.op == "astype"
    (y * 3.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    z = cr.tensor(np.array([0.5], dtype=np.float32), requires_grad=True)
    (cr.astype(z, "float64") ** 2).sum().backward()
    assert z.grad.dtype == np.float32 and z.grad.item() == pytest.approx(1.0)


def test_comparisons_give_plain_arrays_without_gradient() -> None:
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    mask = x > 0
    assert isinstance(mask, np.ndarray) and mask.tolist() == [True, False]


# ---------------------------------------------------------------------------------------------
# Numerics at the edges
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_exactly_without_warnings(dtype) -> None:
    z = cr.tensor(np.array([-800.0, -50.0, 0.0, 50.0, 800.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = cr.sigmoid(z)
        y.sum().backward()
    values = y.numpy()
    assert values.dtype == dtype
    assert values[0] == 0.0 and values[-1] == 1.0 and values[2] == 0.5
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(z.grad.numpy()))
    assert z.grad.numpy()[0] == 0.0 and z.grad.numpy()[-1] == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_for_huge_logits(dtype) -> None:
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1.0]], dtype=dtype)
    x = cr.tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lse = cr.logsumexp(x, axis=1)
        log_p = cr.log_softmax(x, axis=1)
        p = cr.softmax(x, axis=1)
        (lse.sum() + log_p[:, 0].sum() + p[:, 1].sum()).backward()
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exact_lse = np.log(np.exp(shifted).sum(axis=1)) + logits.max(axis=1)
    np.testing.assert_allclose(lse.numpy(), exact_lse, rtol=1e-6)
    np.testing.assert_allclose(log_p.numpy(), shifted - np.log(np.exp(shifted).sum(1))[:, None],
                               rtol=1e-6, atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(p.numpy().sum(axis=1), 1.0, rtol=1e-6)
    for t in (lse, log_p, p, x.grad):
        assert t.dtype == dtype and np.all(np.isfinite(t.numpy()))
    assert log_p.numpy()[0, 0] == 0.0 and log_p.numpy()[0, 2] == pytest.approx(-2e4)


def test_logsumexp_of_minus_infinity_rows_stays_finite_where_it_can() -> None:
    x = cr.tensor([[-np.inf, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(cr.logsumexp(x, axis=1).numpy(), [0.0, np.log(np.e + np.e**2)])


def test_softplus_is_stable_for_large_inputs() -> None:
    x = cr.tensor([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = cr.softplus(x)
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0.0, 1000.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0])


def test_unary_functions_accept_lists_and_arrays() -> None:
    for name in ["exp", "log", "sqrt", "abs", "neg", "sigmoid", "tanh", "relu", "softplus"]:
        out = getattr(cr, name)([0.5, 2.0])
        assert isinstance(out, cr.Tensor)
        out = getattr(cr, name)(np.array([0.5, 2.0], dtype=np.float32))
        assert out.dtype == np.float32


def test_ties_share_the_gradient_for_maximum_and_max() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([1.0, 0.0], requires_grad=True)
    cr.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0])
    x = cr.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.0, 0.5])


# ---------------------------------------------------------------------------------------------
# Engine bugs found by these tests, fixed: each test failed before its fix.
# ---------------------------------------------------------------------------------------------


def test_a_float32_leaf_mixed_with_float64_gets_a_float32_gradient() -> None:
    a = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32  # as PyTorch casts a gradient to its input's dtype


def test_x_to_the_power_zero_has_zero_gradient_at_zero() -> None:
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_var_with_ddof_at_least_n_names_the_problem() -> None:
    """A division by 0, inf for values that differ, as NumPy and torch give it, with a warning
    that says why (it raised; then it gave NaN: tests/engine/test_var_ddof_torch.py)."""
    with pytest.warns(RuntimeWarning, match="var: ddof=2 leaves no degrees of freedom for 2 "
                      r"values: the variance divides by 0 \(inf; NaN where the values are all "
                      "alike"):  # fmt: skip
        value = cr.var(cr.tensor([1.0, 2.0]), ddof=2)
    assert value.item() == np.inf


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_backward_without_create_graph_records_no_op(case: Case, monkeypatch) -> None:
    """Rules run on bare arrays unless create_graph asks for a recorded backward: an op of
    the engine called inside a rule (power's base rule once used this package's ``abs`` op)
    costs a whole op per node and backward."""
    import sys

    from chainrule import engine

    tensors = [cr.tensor(a, requires_grad=True) for a in case.inputs]
    outs = _flat(case.f(*tensors))
    total = sum((out.sum() for out in outs[1:]), outs[0].sum())
    recorded, applied = engine.apply, []

    def counting(primitive, *args, **kwargs):
        applied.append(primitive.name)
        return recorded(primitive, *args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("chainrule") and (
            getattr(module, "apply", None) is recorded
        ):
            monkeypatch.setattr(module, "apply", counting)
    total.backward()
    assert applied == [], f"{case.id}: backward ran {applied}"
