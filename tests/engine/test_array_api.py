"""Every op, a network's training steps and checkpoints on other array libraries, each compared
with the same run on NumPy.

The libraries: NumPy itself, array-api-strict (the standard's strict reference implementation,
on its default device, on its fake ``device1``, which finds arrays made on the wrong device, and
on ``no_float64``, a device without float64), PyTorch on the CPU through array-api-compat, and
JAX on the CPU (with float64 switched on). A library that is not installed skips its tests.
CuPy and CUDA run the same cases in ``benchmarks/gpu_smoke.py``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn, optim
from chainrule.backend import ArrayLibraryError, to_numpy
from chainrule.io import load_model, read_arrays, save_model, write_arrays
from chainrule.ops.linalg import linear
from chainrule.ops.registry import REGISTRY, primitive


@dataclass
class Library:
    """One array library (and device) under test, and the float type it computes in."""

    name: str
    xp: Any
    device: Any
    dtype: str
    rtol: float
    atol: float

    def tensor(self, array: np.ndarray, requires_grad: bool = False) -> cr.Tensor:
        return cr.tensor(
            np.asarray(array, dtype=self.dtype),
            xp=self.xp,
            device=self.device,
            requires_grad=requires_grad,
        )


LIBRARIES = ["numpy", "strict", "strict-device1", "strict-no-float64", "torch", "jax"]
#: GPU libraries ("cupy", "torch-cuda") join only when benchmarks/gpu_smoke.py asks for them
LIBRARIES += [name for name in os.environ.get("CHAINRULE_GPU_LIBRARIES", "").split(",") if name]


def _strict(device: str) -> tuple[Any, Any]:
    xs = pytest.importorskip("array_api_strict")
    return xs, xs.Device(device)


#: JAX compiles every op for every shape on first use (seconds each on a busy machine): the
#: default run takes a few cases and optimizers on it, ``pytest -m slow`` the rest.
JAX_DEFAULT_CASES = {"gather-repeats", "cross-entropy-labels"}
JAX_DEFAULT_OPTIMIZERS = {"adam"}  # and plain SGD in test_plain_sgd_changes_immutable_jax_weights


def _grid(items: list[str], jax_default: set[str]) -> list:
    """(library, item) pairs; JAX's outside ``jax_default`` are marked slow."""
    return [
        pytest.param(
            name,
            item,
            id=f"{name}-{item}",
            marks=[pytest.mark.slow] if name == "jax" and item not in jax_default else [],
        )
        for name in LIBRARIES
        for item in items
    ]


@pytest.fixture
def lib(request) -> Library:
    name = request.param
    if name == "numpy":
        return Library(name, np, None, "float64", 1e-12, 1e-14)
    if name.startswith("strict"):
        pytest.importorskip("array_api_compat")
        if name == "strict-no-float64":  # float32 only: compared with NumPy run in float32
            return Library(name, *_strict("no_float64"), "float32", 2e-5, 1e-6)
        return Library(
            name,
            *_strict("device1" if name.endswith("1") else "CPU_DEVICE"),
            "float64",
            1e-12,
            1e-14,
        )
    if name.startswith("torch"):
        pytest.importorskip("array_api_compat")
        torch = pytest.importorskip("torch")
        if name == "torch-cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA device")
        return Library(
            name,
            torch,
            name.replace("torch-", "") if "-" in name else "cpu",
            "float64",
            1e-9,
            1e-12,
        )
    if name == "cupy":
        pytest.importorskip("array_api_compat")
        return Library(name, pytest.importorskip("cupy"), None, "float64", 1e-9, 1e-12)
    pytest.importorskip("array_api_compat")
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    request.addfinalizer(lambda: jax.config.update("jax_enable_x64", previous))
    return Library(name, pytest.importorskip("jax.numpy"), None, "float64", 1e-9, 1e-12)


def _assert_on_library(lib: Library, t: Any) -> None:
    """The result is an array of the library under test, on its device."""
    data = t.data if isinstance(t, cr.Tensor) else t
    if lib.name == "numpy":
        assert isinstance(data, (np.ndarray, np.generic))
        return
    assert backend.array_module(data) is backend.namespace(lib.xp), type(data)
    if lib.device is not None:  # torch says "cuda:0" for "cuda"
        assert str(backend.device_of(data)).startswith(str(lib.device))


# ---------------------------------------------------------------------------------------------
# Every op: value, first and second derivatives
# ---------------------------------------------------------------------------------------------

rng = np.random.default_rng(7)
A = rng.uniform(0.2, 1.5, (2, 3))
B = rng.uniform(0.2, 1.5, (2, 3))
ROW = rng.uniform(0.2, 1.5, (3,))
C = rng.normal(size=(3, 2))


def _var_without_freedom(a: cr.Tensor) -> cr.Tensor:
    """``var`` over rows with ``ddof`` their length: +-inf values and gradients, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return cr.var(a, axis=1, ddof=a.shape[1])


@dataclass
class Case:
    name: str
    f: Callable[..., cr.Tensor]
    inputs: tuple[np.ndarray, ...]
    covers: tuple[str, ...]


CASES = [
    Case("add-broadcast", lambda a, r: a + r, (A, ROW), ("add", "sum_to")),
    Case("sub", lambda a, b: a - 2.0 * b, (A, B), ("sub", "mul")),
    Case("mul", lambda a, b: a * b, (A, B), ("mul",)),
    Case("div", lambda a, b: a / b, (A, B), ("div",)),
    Case("neg", lambda a: -a, (A,), ("neg",)),
    Case("power-scalar", lambda a: a**3, (A,), ("power_scalar",)),
    # power_slope_undefined: the exponent rule's value where a < 0, recorded in second derivatives
    Case("power", lambda a, b: a**b, (A, B), ("power", "power_slope_undefined")),
    Case(
        "exp-log-sqrt", lambda a: cr.exp(a) + cr.log(a) + cr.sqrt(a), (A,), ("exp", "log", "sqrt")
    ),
    Case("abs", lambda a: cr.abs(a - 0.7), (A,), ("abs",)),
    Case("sign", lambda a: cr.sign(a - 0.7) * a * a, (A,), ("sign",)),
    Case("sin-cos", lambda a: cr.sin(a) * cr.cos(2.0 * a), (A,), ("sin", "cos")),
    Case("norm", lambda a: cr.norm(a, axis=1) * cr.norm(a), (A,), ("norm",)),
    # a zero first row (a - a.detach(): 0 with slope 1): its second derivative is NaN, recorded
    Case(
        "norm-at-a-zero-row",
        lambda a: cr.norm(a * [[0.0], [1.0]] + (a - a.detach()), axis=1),
        (A,),
        ("norm_slope_jump", "norm_curvature_undefined"),
    ),
    Case(
        "maximum-minimum",
        lambda a, b: cr.maximum(a, b) * cr.minimum(a, b),
        (A, B),
        ("maximum", "minimum"),
    ),
    Case("where", lambda a, b: cr.where(a > 0.8, a * a, b), (A, B), ("where",)),
    Case("clip", lambda a: cr.clip(a * a, 0.3, 1.2), (A,), ("clip",)),
    Case(
        "clip-to-bounds",
        lambda a, b: cr.clip(a * a, b - 0.3, b + 0.2) * cr.clip(a, None, b),
        (A, B),
        ("clip_to_bounds",),
    ),
    Case("sum", lambda a: a.sum(axis=0) * a.sum(), (A,), ("sum",)),
    Case("max-min", lambda a: a.max(axis=1) * a.min(), (A,), ("max", "min")),
    Case("broadcast-to", lambda r: cr.broadcast_to(r, (2, 3)) ** 2, (ROW,), ("broadcast_to",)),
    Case("reshape-transpose", lambda a: a.reshape(3, 2) * a.T, (A,), ("reshape", "transpose")),
    Case("slice", lambda a: a[0:1, 1:] ** 2, (A,), ("getitem",)),
    Case(
        "gather-repeats",
        lambda r: r[np.array([0, 0, 2, 0])] ** 2,
        (ROW,),
        ("getitem", "scatter_add"),
    ),
    Case(
        "concatenate-stack",
        lambda a, b: cr.concatenate([a, b * b], 0) * cr.stack([a, b], 0).reshape(4, 3),
        (A, B),
        ("concatenate",),
    ),
    Case("matmul", lambda a, c: (a @ c) ** 2, (A, C), ("matmul",)),
    Case("linear", lambda a, c, b: linear(a * a, c, b[0, :2]) ** 2, (A, C, B), ("linear",)),
    Case("sigmoid-tanh", lambda a: cr.sigmoid(a) * cr.tanh(a), (A,), ("sigmoid", "tanh")),
    Case(
        "relu-softplus",
        lambda a: cr.relu(a - 0.7) ** 2 + cr.softplus(a),
        (A,),
        ("relu", "softplus"),
    ),
    Case("logsumexp", lambda a: cr.logsumexp(a * a, axis=1), (A,), ("logsumexp",)),
    Case(
        "softmax", lambda a: cr.softmax(a * a) * cr.log_softmax(a), (A,), ("softmax", "log_softmax")
    ),
    Case(
        "cross-entropy-labels",
        lambda a: cr.softmax_cross_entropy(a * a, np.array([2, 0])),
        (A,),
        ("softmax_cross_entropy",),
    ),
    Case(
        "cross-entropy-soft",
        lambda a, b: cr.softmax_cross_entropy(a * b, cr.softmax(b).detach()),
        (A, B),
        ("softmax_cross_entropy",),
    ),
    Case(
        "logistic-cross-entropy",
        lambda a, b: (
            cr.logistic_cross_entropy(a * b, cr.sigmoid(b).detach(), reduction="none")
            + cr.logistic_cross_entropy(a, cr.sigmoid(a).detach())
        ),
        (A, B),
        ("logistic_cross_entropy",),
    ),
    Case(  # targets that need a gradient: the second derivative mixes logits and targets
        "cross-entropies-of-targets",
        lambda a, b: (
            cr.softmax_cross_entropy(a * b, cr.softmax(b), reduction="none")
            + cr.logistic_cross_entropy(a, cr.sigmoid(a * b)).reshape((1,))
        ),
        (A, B),
        ("softmax_cross_entropy_of_targets", "logistic_cross_entropy_of_targets"),
    ),
    Case("astype", lambda a: a.astype("float32").astype("float64") * a, (A,), ("astype",)),
    Case(
        "var-without-freedom",
        lambda a: _var_without_freedom(a),
        (A,),
        ("var_without_freedom",),
    ),
]


def test_the_cases_cover_every_primitive() -> None:
    """Every registered primitive runs on every library here, against NumPy running the same
    rule: these cases check that the rule runs alike everywhere, not that it is right (a rule
    with its sign flipped passes them); tests/engine/test_ops.py checks it against central
    differences, and its own coverage test names a primitive missing there."""
    builtin = {
        name: p.forward.__module__
        for name, p in REGISTRY.items()
        if (getattr(p.forward, "__module__", None) or "").startswith("chainrule.")
    }
    covered = {name for case in CASES for name in case.covers}
    problems = [
        f"{name!r} ({module}) is a registered primitive with no Case in "
        "tests/engine/test_array_api.py's CASES: add one there, "
        f'Case("{name}", <a function of A (or A, B, ROW, C) that calls it>, <those inputs>, '
        f'("{name}",)), which runs it on every library against NumPy. That does not check its '
        "rule: a case in tests/engine/test_ops.py does (UNARY, BINARY or _fused_cases there)"
        for name, module in sorted(builtin.items())
        if name not in covered
    ]
    problems += [
        f"a Case in tests/engine/test_array_api.py's CASES covers {name!r}, which is no "
        "registered primitive: correct that Case's covers"
        for name in sorted(covered - set(builtin))
    ]
    assert not problems, "\n".join(problems)


def _derivatives(case: Case, make: Callable[[np.ndarray], cr.Tensor]) -> list[np.ndarray]:
    """f's value, its gradient (of a weighted sum) and a Hessian-vector product, on the host."""
    inputs = [make(array) for array in case.inputs]
    out = case.f(*inputs)
    weights = np.linspace(0.5, 1.5, max(out.size, 1)).reshape(out.shape)
    scalar = (out * make(weights)).sum()
    grads = cr.gradient(scalar, inputs, create_graph=True)
    directions = [make(np.cos(np.arange(a.size)).reshape(a.shape)) for a in case.inputs]
    terms = [(g * v).sum() for g, v in zip(grads, directions)]
    inner = terms[0]
    for term in terms[1:]:
        inner = inner + term
    # a linear op's gradient does not depend on the inputs: its second derivative is zero
    second = cr.gradient(inner, inputs) if inner.requires_grad else [g * 0.0 for g in grads]
    return [to_numpy(t.data).astype(np.float64) for t in (out, *grads, *second)]


CASES_BY_NAME = {case.name: case for case in CASES}


@pytest.mark.parametrize(
    ("lib", "case_name"), _grid(list(CASES_BY_NAME), JAX_DEFAULT_CASES), indirect=["lib"]
)
def test_every_op_and_its_first_and_second_derivatives_match_numpy(lib: Library, case_name: str):
    case = CASES_BY_NAME[case_name]
    if case.name == "astype" and lib.dtype == "float32":
        pytest.skip("a device without float64 has no second float type to cast through")

    def on_numpy(array):
        return cr.tensor(np.asarray(array, dtype=lib.dtype), requires_grad=True)

    def on_library(array):
        return lib.tensor(array, requires_grad=True)

    # the test's own sums of +-inf gradients are inf - inf for a variance without freedom: NaN
    # on both sides, which NumPy warns of
    quiet = case.name == "var-without-freedom"
    with np.errstate(invalid="ignore") if quiet else contextlib.nullcontext():
        expected = _derivatives(case, on_numpy)
        inputs = [on_library(a) for a in case.inputs]
        _assert_on_library(lib, case.f(*inputs))
        got = _derivatives(case, on_library)
    for index, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(g, e, rtol=lib.rtol, atol=lib.atol, err_msg=f"output {index}")


# ---------------------------------------------------------------------------------------------
# Two float dtypes in one product promote, as the standard says, on every library
# ---------------------------------------------------------------------------------------------

#: (x, W, b) dtypes: each operand the wider one in turn
MIXED_DTYPES = [
    ("float32", "float64", "float64"),
    ("float64", "float32", "float32"),
    ("float32", "float32", "float64"),
    ("float64", "float32", "float64"),
]
#: chainrule's op, and the same in torch with the promotion torch's ``@`` will not do itself
PRODUCTS: dict[str, tuple[Callable, Callable]] = {
    "linear": (lambda x, w, b: linear(x, w, b), lambda x, w, b: _torch_product(x, w) + b),
    "linear-batch": (
        lambda x, w, b: linear(x.reshape(2, 2, 3), w, b),
        lambda x, w, b: _torch_product(x.reshape(2, 2, 3), w) + b,
    ),
    "matmul": (lambda x, w, b: (x @ w) * b, lambda x, w, b: _torch_product(x, w) * b),
    "matmul-vectors": (  # 1-d @ 2-d, 2-d @ 1-d, 1-d @ 1-d
        lambda x, w, b: (x[0] @ w) * b + (x @ w[:, 0])[:2] + x[1] @ w[:, 1],
        lambda x, w, b: (
            _torch_product(x[0], w) * b
            + _torch_product(x, w[:, 0])[:2]
            + _torch_product(x[1], w[:, 1])
        ),
    ),
}


def _torch_product(a: Any, b: Any) -> Any:
    import torch

    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype) @ b.to(dtype)


@pytest.mark.parametrize("dtypes", MIXED_DTYPES, ids="-".join)
@pytest.mark.parametrize("op", PRODUCTS, ids=str)
@pytest.mark.parametrize("lib", ["numpy", "strict", "torch"], indirect=True)
def test_a_product_of_two_float_dtypes_promotes_on_every_library(lib, op, dtypes) -> None:
    """float32 with float64 computes in float64 (the standard's promotion, NumPy's too), and each
    gradient comes back in its input's dtype. PyTorch's ``@`` refuses two dtypes, so linear's
    forward and rules (which use the operator) raised torch's dtype error there. The oracle:
    torch's autograd with the operands promoted first."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [
        rng.standard_normal((4, 3)).astype(dtypes[0]),
        rng.standard_normal((3, 2)).astype(dtypes[1]),
        rng.standard_normal(2).astype(dtypes[2]),
    ]
    ours, theirs = PRODUCTS[op]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = theirs(*ts)
    weights = np.linspace(0.5, 1.5, expected.numel()).reshape(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    for create_graph in (False, True):  # the rules on arrays, then on recorded tensors
        inputs = [cr.tensor(a, xp=lib.xp, device=lib.device, requires_grad=True) for a in arrays]
        out = ours(*inputs)
        _assert_on_library(lib, out)
        assert backend.dtype_name(out.dtype) == str(expected.dtype).replace("torch.", "")
        seed = cr.tensor(weights, xp=lib.xp, device=lib.device)
        grads = cr.gradient((out * seed).sum(), inputs, create_graph=create_graph)
        np.testing.assert_allclose(to_numpy(out.data), expected.detach().numpy(), rtol=1e-6)
        for grad, t, array in zip(grads, ts, arrays, strict=True):
            assert backend.dtype_name(grad.dtype) == array.dtype.name
            np.testing.assert_allclose(to_numpy(grad.data), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("lib", ["numpy", "strict", "torch"], indirect=True)
def test_a_float32_layer_given_a_float64_batch_computes_in_float64_on_every_library(lib) -> None:
    data = np.random.default_rng(6).standard_normal((5, 3))
    layer = nn.Linear(3, 2, rng=0).to(xp=lib.xp, device=lib.device)
    batch = cr.tensor(data, xp=lib.xp, device=lib.device, requires_grad=True)
    out = layer(batch)
    (out * out).sum().backward()
    reference = nn.Linear(3, 2, rng=0)
    host = cr.tensor(data, requires_grad=True)
    expected = reference(host)
    (expected * expected).sum().backward()
    assert backend.dtype_name(out.dtype) == "float64"
    np.testing.assert_allclose(to_numpy(out.data), expected.data, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(batch.grad.data), host.grad.data, rtol=1e-12)
    for p, q in zip(layer.parameters(), reference.parameters(), strict=True):
        assert backend.dtype_name(p.grad.dtype) == "float32"
        np.testing.assert_allclose(to_numpy(p.grad.data), q.grad.data, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# A network's training steps with every optimizer, and checkpoints
# ---------------------------------------------------------------------------------------------

X = np.random.default_rng(1).normal(size=(8, 4))
LABELS = np.array([0, 1, 2, 1, 0, 2, 2, 1])

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.5),
    "sgd-nesterov": lambda p: optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3, shrink=1e-3
    ),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=1e-3),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
}


def test_every_optimizer_is_in_the_comparison_with_numpy() -> None:
    """An optimizer updates NumPy's and PyTorch's arrays in place (``_update``) and
    array-api-strict's and JAX's by new arrays (``_updated``): only the runs below, against the
    NumPy run, check that the two agree, or that the second exists."""
    params = [cr.tensor(np.ones(2), requires_grad=True)]
    made = {type(make(params)) for make in OPTIMIZERS.values()}
    missing = [
        f"optim.OPTIMIZERS[{name!r}] ({cls.__name__}) has no entry in "
        "tests/engine/test_array_api.py's OPTIMIZERS: add one there, "
        f'"{name}": lambda p: optim.{cls.__name__}(p, lr=..., <its other hyperparameters>), '
        "so that its steps and checkpoints run on every library against the NumPy run"
        for name, cls in optim.OPTIMIZERS.items()
        if cls not in made
    ]
    assert not missing, "\n".join(missing)


def _network(dtype: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 6, rng=0, dtype=dtype),
        nn.Logistic(),
        nn.Dropout(0.25, rng=3),
        nn.Linear(6, 3, rng=2, dtype=dtype),
    )


def _step(model: nn.Sequential, opt: optim.Optimizer, x: Any) -> float:
    opt.zero_grad()
    loss = nn.CrossEntropy()(model(x), LABELS)
    loss.backward()
    opt.step()
    return float(loss)


def _assert_same_weights(lib: Library, model: nn.Sequential, reference: nn.Sequential) -> None:
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        _assert_on_library(lib, p)
        np.testing.assert_allclose(
            to_numpy(p.data), q.data, rtol=lib.rtol, atol=lib.atol, err_msg=name
        )


@pytest.mark.parametrize(
    ("lib", "name"), _grid(list(OPTIMIZERS), JAX_DEFAULT_OPTIMIZERS), indirect=["lib"]
)
def test_training_steps_and_checkpoints_match_numpy(lib: Library, name: str, tmp_path) -> None:
    reference = _network(lib.dtype)
    model = _network(lib.dtype).to(xp=lib.xp, device=lib.device)
    ref_opt, opt = OPTIMIZERS[name](reference), OPTIMIZERS[name](model)
    x_ref, x = cr.tensor(X.astype(lib.dtype)), lib.tensor(X)
    before = to_numpy(model.parameters()[0].data).copy()
    for _ in range(3):
        expected = _step(reference, ref_opt, x_ref)
        assert _step(model, opt, x) == pytest.approx(expected, rel=lib.rtol * 10)
    assert not np.array_equal(to_numpy(model.parameters()[0].data), before)
    _assert_same_weights(lib, model, reference)

    # a checkpoint: the weights and the optimizer's buffers through files, then one more step
    write_arrays(tmp_path / "opt.safetensors", opt.state_dict()["state"])
    save_model(tmp_path / "model", model)
    loaded, _ = load_model(tmp_path / "model")
    for (key, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters()):
        np.testing.assert_array_equal(to_numpy(p.data), q.data, err_msg=key)
    restored = loaded.to(xp=lib.xp, device=lib.device)
    restored.train()
    restored[2].rng = model[2].rng  # the dropout masks continue where the run left off
    restored_opt = OPTIMIZERS[name](restored)
    restored_opt.load_state_dict(
        {"config": opt.config(), "state": read_arrays(tmp_path / "opt.safetensors")}
    )
    expected = _step(reference, ref_opt, x_ref)
    assert _step(restored, restored_opt, x) == pytest.approx(expected, rel=lib.rtol * 10)
    _assert_same_weights(lib, restored, reference)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_torch_parameters_and_buffers_are_updated_in_place(name: str) -> None:
    """PyTorch takes NumPy's in-place update (out=, -=): the parameters' tensors and the
    optimizer's buffers stay the same objects from step to step (no new arrays per step)."""
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    model = _network("float64").to(xp=torch)
    opt = OPTIMIZERS[name](model)
    x = cr.tensor(X, xp=torch)
    _step(model, opt, x)
    arrays = [p.data for p in model.parameters()]
    buffers = [dict(state) for state in opt.state]
    values = [to_numpy(a).copy() for a in arrays]
    _step(model, opt, x)
    for p, array, before in zip(model.parameters(), arrays, values):
        assert p.data is array and not np.array_equal(to_numpy(array), before)
    for state, kept in zip(opt.state, buffers):
        assert state.keys() == kept.keys()
        assert all(state[key] is kept[key] for key in state), name


def test_plain_sgd_changes_immutable_jax_weights() -> None:
    """``w -= lr * g`` on a JAX array only rebinds a name: the step must replace the array."""
    pytest.importorskip("array_api_compat")
    jnp = pytest.importorskip("jax.numpy")
    model = nn.Linear(3, 2, rng=0).to(xp=jnp)
    before = [to_numpy(p.data).copy() for p in model.parameters()]
    opt = optim.SGD(model, lr=0.1)
    (model(np.ones((4, 3), dtype=np.float32)) ** 2).sum().backward()
    grads = [to_numpy(p.grad.data) for p in model.parameters()]
    opt.step()
    for p, w, g in zip(model.parameters(), before, grads):
        np.testing.assert_allclose(to_numpy(p.data), w - np.float32(0.1) * g, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Mixing libraries or devices is an error naming both
# ---------------------------------------------------------------------------------------------


def test_mixing_libraries_in_one_op_names_both() -> None:
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor(torch.tensor([3.0, 4.0], dtype=torch.float64))
    for f in (lambda: a + b, lambda: b * a):
        with pytest.raises(ArrayLibraryError, match=r"(?s)(numpy.*torch|torch.*numpy)"):
            f()


def test_mixing_devices_in_one_op_names_both() -> None:
    pytest.importorskip("array_api_compat")
    xs, device1 = _strict("device1")
    a = cr.tensor(np.ones(2), xp=xs, requires_grad=True)
    b = cr.tensor(np.ones(2), xp=xs, device=device1)
    with pytest.raises(ArrayLibraryError, match=r"(?s)CPU_DEVICE.*device1"):
        a * b
    with pytest.raises(ArrayLibraryError, match="NumPy"):  # NumPy has one device: the host
        cr.zeros(2, device=device1)


def test_tensors_keep_their_library_and_device() -> None:
    pytest.importorskip("array_api_compat")
    xs, device1 = _strict("device1")
    x = cr.tensor(xs.asarray([1.0, -2.0], device=device1), requires_grad=True)
    assert x.device == device1 and x.xp is xs
    for t in (cr.zeros(3, xp=xs, device=device1), cr.randn(2, rng=0, xp=xs, device=device1)):
        assert t.device == device1
    y = (cr.sigmoid(x) * 3.0).sum()
    y.backward()
    assert x.grad.device == device1
    assert "tensor([" in repr(x.grad) and x.grad.numpy().shape == (2,)


# ---------------------------------------------------------------------------------------------
# The seam itself
# ---------------------------------------------------------------------------------------------


def test_a_namespace_is_resolved_once_per_array_type_and_registration_overrides_it() -> None:
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    t = torch.zeros(2)
    xp = backend.array_module(t)
    assert xp is backend.namespace(torch) and backend._namespaces[type(t)] is xp
    assert backend.array_module(np.zeros(2)) is np and backend.array_module(np.float32(1)) is np
    sentinel = object()
    backend.register_array_module(type(t), sentinel)
    try:
        assert backend.array_module(t) is sentinel
    finally:
        backend._registered.pop(0)
        backend._namespaces.clear()
    assert backend.array_module(t) is xp


def test_a_numpy_only_process_never_checks_operand_libraries() -> None:
    """The library check is skipped until another library appears; then it is made."""
    import subprocess
    import sys

    code = (
        "import numpy as np, chainrule as cr\n"
        "from chainrule import backend\n"
        "x = cr.tensor(np.ones(3), requires_grad=True)\n"
        "(cr.sigmoid(x) * 2.0 + x).sum().backward()\n"
        "print(len(backend.other_libraries), 'array_api_compat' in __import__('sys').modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]


def test_the_trainer_runs_on_another_library_as_on_numpy() -> None:
    """The library's one training step and its evaluation move host batches to the model."""
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    from chainrule.data.dataset import Dataset
    from chainrule.train.trainer import Trainer

    data = Dataset(X, LABELS, "classification", "toy")
    histories = []
    for xp in (None, torch):
        model = nn.mlp([4, 6, 3], rng=0, dtype="float64")
        if xp is not None:
            model.to(xp=xp)
        opt = optim.Adam(model, lr=0.05)
        trainer = Trainer(model, nn.CrossEntropy(), opt, batch_size=4, progress=False)
        histories.append(trainer.fit(data, data, epochs=3).records)
    for got, expected in zip(histories[1], histories[0]):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert got[key] == pytest.approx(expected[key], rel=1e-9), key


# ---------------------------------------------------------------------------------------------
# Function transforms and the gradient checker on every library
# ---------------------------------------------------------------------------------------------

XT = np.random.default_rng(3).normal(size=(2, 3))
WT = np.random.default_rng(4).normal(size=(3, 2))
UT = np.cos(np.arange(6.0)).reshape(2, 3)
VT = np.sin(np.arange(6.0) + 1.0).reshape(2, 3)


def _scalar_f(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
    z = x @ w
    return (cr.sigmoid(z) * cr.tanh(z)).sum() + (x * x * x).sum()


def _vector_g(x: cr.Tensor) -> cr.Tensor:
    return cr.sigmoid(x) * x.sum() + x * x


def _transforms(make: Callable[[np.ndarray], Any]) -> dict[str, list[Any]]:
    """Every transform's results (as flat lists of tensors) for inputs made by ``make``."""
    x, w, u, v = make(XT), make(WT), make(UT), make(VT)
    results = {
        "grad": cr.grad(_scalar_f, argnums=(0, 1))(x, w),
        "value_and_grad": cr.value_and_grad(_scalar_f)(x, w),
        "vjp": cr.vjp(_vector_g, x)[1](u),
        "jvp": cr.jvp(_vector_g, (x,), (v,)),
        "jacobian": cr.jacobian(_vector_g)(x),
        "jacobian-forward": cr.jacobian(_vector_g, mode="forward")(x),
        "hessian": cr.hessian(lambda x: _scalar_f(x, w))(x),
        "hvp": cr.hvp(lambda x: _scalar_f(x, w), (x,), (v,)),
    }
    return {name: cr.functional.tree_flatten(value)[0] for name, value in results.items()}


def _host(t: Any) -> np.ndarray:
    return to_numpy(t.data if isinstance(t, cr.Tensor) else t).astype(np.float64)


def _central(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6):
    """The Jacobian of ``f`` at ``x`` by central differences, shaped f(x).shape + x.shape."""
    columns = []
    for flat in range(x.size):
        e = np.zeros(x.size)
        e[flat] = eps
        e = e.reshape(x.shape)
        columns.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.moveaxis(np.array(columns), 0, -1).reshape(f(x).shape + x.shape)


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
@pytest.mark.parametrize("raw", [False, True], ids=["tensors", "raw-arrays"])
def test_every_transform_runs_on_the_library_and_matches_numpy(lib: Library, raw: bool) -> None:
    """grad, value_and_grad, vjp, jvp, jacobian (both modes), hessian and hvp: the results stay
    in the library and on its device and equal the NumPy run, whose Jacobian and Hessian equal
    central differences (float64)."""

    def on_library(array: np.ndarray) -> Any:
        t = lib.tensor(array)
        return t.data if raw else t

    expected = _transforms(lambda a: cr.tensor(np.asarray(a, dtype=lib.dtype)))
    got = _transforms(on_library)
    for name, results in got.items():
        assert len(results) == len(expected[name]), name
        for index, (g, e) in enumerate(zip(results, expected[name])):
            _assert_on_library(lib, g)
            np.testing.assert_allclose(
                _host(g),
                _host(e),
                rtol=lib.rtol * 10,
                atol=lib.atol * 10,
                err_msg=f"{name} {index}",
            )

    def g_host(x: np.ndarray) -> np.ndarray:
        return _vector_g(cr.tensor(x)).numpy()

    def grad_host(x: np.ndarray) -> np.ndarray:
        return cr.grad(_scalar_f)(cr.tensor(x), cr.tensor(WT)).numpy()

    loose = {"rtol": 1e-3, "atol": 1e-4} if lib.dtype == "float32" else {"rtol": 1e-6, "atol": 1e-8}
    np.testing.assert_allclose(_host(got["jacobian"][0]), _central(g_host, XT), **loose)
    np.testing.assert_allclose(_host(got["hessian"][0]), _central(grad_host, XT), **loose)


def _register_once(name: str, *args):
    return REGISTRY[name] if name in REGISTRY else primitive(name, *args)


# d(x^2)/dx written as x instead of 2x: the checker must catch it on every library
_bad_square = _register_once("test_array_api_bad_square", lambda x: x * x, lambda g, out, x: g * x)


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
def test_gradcheck_runs_on_the_library_and_still_catches_a_wrong_rule(lib: Library) -> None:
    """The inputs are perturbed in the library, on its device, in float64 where the device has
    it (else on a float64 host copy, with a warning saying so)."""
    seen = []

    def f(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
        seen.append(x.data)
        return cr.sigmoid(x @ w) * cr.tanh(x).sum()

    x, w = lib.tensor(XT), lib.tensor(WT)
    if lib.dtype == "float32":  # a device without float64
        coarse, host = (
            pytest.warns(UserWarning, match="too coarse"),
            pytest.warns(UserWarning, match="no float64.*host"),
        )
        with coarse, host:
            report = cr.gradcheck(f, [x, w])
        assert all(type(a) is np.ndarray and a.dtype == np.float64 for a in seen)
    else:
        report = cr.gradcheck(f, [x, w])
        for array in seen:
            _assert_on_library(lib, array)
            assert backend.dtype_name(array.dtype) == "float64"
    assert report.ok, str(report)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert cr.gradcheck(f, [x, w], order=2, mode="random").ok
        wrong = cr.gradcheck(lambda x: _bad_square(x) * 3.0, [x])
        wrong_random = cr.gradcheck(lambda x: _bad_square(x).sum(), [x], mode="random")
    assert not wrong.ok and not wrong_random.ok
    assert "d out[0, 0] / d input 0[0, 0]" in str(wrong)


# ---------------------------------------------------------------------------------------------
# Views that stay on the host: files, the explainer, plots
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
def test_a_model_of_any_library_saves_from_the_host_and_loads_back_onto_it(lib, tmp_path) -> None:
    reference = nn.mlp([4, 5, 3], rng=0, dtype=lib.dtype)
    model = nn.mlp([4, 5, 3], rng=0, dtype=lib.dtype).to(xp=lib.xp, device=lib.device)
    save_model(tmp_path / "model", model)
    on_host, _ = load_model(tmp_path / "model")
    moved, _ = load_model(tmp_path / "model", xp=lib.xp, device=lib.device)
    for (name, p), (_, q), (_, r) in zip(
        reference.named_parameters(), on_host.named_parameters(), moved.named_parameters()
    ):
        assert type(q.data) is np.ndarray
        _assert_on_library(lib, r)
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)
        np.testing.assert_array_equal(to_numpy(r.data), p.data, err_msg=name)
    x = lib.tensor(X)
    np.testing.assert_allclose(
        to_numpy(moved(x).data), reference(cr.tensor(X.astype(lib.dtype))).data, rtol=lib.rtol
    )


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
def test_the_explainer_explains_a_model_of_any_library_through_a_host_copy(lib) -> None:
    """The same derivation as for the NumPy model, digit for digit, and the user's model stays
    on its library and device."""

    def make() -> nn.Sequential:
        return nn.mlp([4, 3, 2], output="logistic", rng=1, dtype=lib.dtype)

    x, t = X[:3].astype(lib.dtype), np.eye(2)[[0, 1, 1]]
    expected = cr.explain(make(), x, t, "squared-error")
    model = make().to(xp=lib.xp, device=lib.device)
    got = cr.explain(model, lib.tensor(x), t, "squared-error")
    assert got.all_ok
    assert cr.explainer.render(got, "json") == cr.explainer.render(expected, "json")
    for p in model.parameters():
        _assert_on_library(lib, p)

    from chainrule.web.network import NetworkState  # the explorer's state reads the same way

    state = NetworkState.from_model(model, lib.tensor(x[0]).data, t[0], "squared-error")
    reference = NetworkState.from_model(make(), x[0], t[0], "squared-error")
    assert state.to_json() == reference.to_json()


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
def test_a_hinton_diagram_of_weights_of_any_library_is_drawn_from_the_host(lib) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from chainrule.viz.weights import hinton

    def squares(matrix: Any) -> list[tuple]:
        ax = Figure().subplots()
        hinton(ax, matrix)
        return [(p.get_xy(), p.get_width(), p.get_facecolor()) for p in ax.patches]

    weights = nn.Linear(4, 3, rng=0, dtype=lib.dtype).weight
    expected = squares(weights.data)
    moved = lib.tensor(weights.numpy())
    assert squares(moved) == expected and squares(moved.data) == expected


@pytest.mark.parametrize("lib", LIBRARIES, indirect=True)
def test_a_model_of_any_library_converts_to_pytorch_and_onnx_from_the_host(lib) -> None:
    """The same PyTorch module and the same ONNX graph as from the NumPy model."""

    def make() -> nn.Sequential:
        return nn.mlp([4, 3, 2], rng=1, dtype=lib.dtype)

    model = make().to(xp=lib.xp, device=lib.device)
    torch = pytest.importorskip("torch")
    ours, reference = cr.interop.to_torch(model), cr.interop.to_torch(make())
    for (name, p), (_, q) in zip(ours.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(p, q), name
    pytest.importorskip("onnx")
    got, expected = cr.interop.to_onnx(model), cr.interop.to_onnx(make())
    assert got.SerializeToString() == expected.SerializeToString()


ONE_ARRAY_INDICES = {
    "rows": lambda: np.array([0, 2, 0, 3]),
    "rows and a full slice": lambda: (np.array([0, 2, 0, 3]), slice(None)),
    "rows and an ellipsis": lambda: (np.array([0, 2, 0, 3]), Ellipsis),
    "a list of rows": lambda: [0, 2, 0],
    "columns": lambda: (slice(None), np.array([1, 1, 4])),
    "columns after an ellipsis": lambda: (Ellipsis, np.array([1, 1, 4])),
    "a matrix of rows": lambda: np.array([[0, 1], [2, 0]]),
    "columns of some rows": lambda: (slice(1, None), np.array([0, 3, 3])),
    "rows of every other column": lambda: (np.array([0, 2, 0]), slice(None, None, 2)),
    "columns of reversed rows after an ellipsis": lambda: (
        slice(None, None, -1),
        ...,
        np.array([4, 0, 4]),
    ),
}


@pytest.mark.parametrize("name", list(ONE_ARRAY_INDICES))
def test_one_integer_array_among_slices_indexes_on_array_api_strict(name: str) -> None:
    """The standard wants an integer array on every axis; x[rows] and x[1:, cols] are still
    what users write, so they go through the slices and then take: the same values and
    repeated-row gradients as NumPy's."""
    strict = pytest.importorskip("array_api_strict")
    values = np.arange(20.0).reshape(4, 5)
    ours = cr.tensor(strict.asarray(values), requires_grad=True)
    reference = cr.tensor(values, requires_grad=True)
    picked, expected = ours[ONE_ARRAY_INDICES[name]()], reference[ONE_ARRAY_INDICES[name]()]
    (picked * picked).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_array_equal(to_numpy(picked.data), expected.numpy())
    np.testing.assert_array_equal(to_numpy(ours.grad.data), reference.grad.numpy())


@pytest.mark.parametrize(
    "index",
    [(slice(1, None), [0, 3, 3]), (slice(None, None, -1), [2, 0]), ([1, 1, 0], slice(3, 0, -1))],
    ids=["rows then columns", "reversed rows then columns", "rows then reversed columns"],
)
def test_an_integer_array_among_slices_of_a_3d_tensor_indexes_on_array_api_strict(index):
    """The slices alone name fewer axes than a 3-d array has: the standard wants a trailing
    ellipsis there ("multi-axes index only specifies 2 dimensions")."""
    strict = pytest.importorskip("array_api_strict")
    values = np.arange(60.0).reshape(3, 4, 5)
    key = tuple(np.array(k) if isinstance(k, list) else k for k in index)
    ours = cr.tensor(strict.asarray(values), requires_grad=True)
    reference = cr.tensor(values, requires_grad=True)
    picked, expected = ours[key], reference[key]
    (picked * picked).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_array_equal(to_numpy(picked.data), expected.numpy())
    np.testing.assert_array_equal(to_numpy(ours.grad.data), reference.grad.numpy())


def test_a_numpy_tensor_indexed_by_another_librarys_array_names_both() -> None:
    torch = pytest.importorskip("torch")
    values = cr.tensor(np.arange(20.0).reshape(4, 5))
    with pytest.raises(ArrayLibraryError, match="getitem: an operand of numpy and one of torch"):
        values[torch.tensor([0, 2]), torch.tensor([1, 1])]


def test_a_bfloat16_torch_tensor_prints_and_reads_as_float32_values():
    """NumPy has no bfloat16: repr, .item(), .numpy() and .tolist() raised torch's "Got
    unsupported ScalarType BFloat16", while every op and its backward worked. float32 holds
    every bfloat16 exactly. Oracle: torch's own float32 view of the same values."""
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    values = torch.tensor([1.5, -0.1, 3e38], dtype=torch.bfloat16)
    x = cr.tensor(values, requires_grad=True)
    exact = values.float().numpy()
    assert x.numpy().dtype == np.float32 and np.array_equal(x.numpy(), exact)
    assert x.tolist() == exact.tolist() and "bfloat16" in repr(x)
    assert x[0].item() == 1.5
    (x * x).sum().backward()
    assert np.array_equal(x.grad.numpy(), (2 * values).float().numpy())


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz"])
def test_a_float8_torch_tensor_prints_and_reads_as_float32_values(name):
    """NumPy has no float8 either: printing raised torch's "Got unsupported ScalarType
    Float8_e4m3fn" (s58), where bfloat16 printed. Oracle: torch's own float32 view."""
    torch = pytest.importorskip("torch")
    values = torch.tensor([1.5, -0.25, 4.0]).to(getattr(torch, name))
    x = cr.Tensor(values)
    exact = values.float().numpy()
    assert x.numpy().dtype == np.float32 and np.array_equal(x.numpy(), exact)
    assert x.tolist() == exact.tolist() and name in repr(x)


def test_a_python_number_beside_torch_arrays_joins_their_library_in_every_transform():
    """grad, hessian, jvp and gradcheck made a number NumPy's, and the first op mixing it with
    the torch array raised "mul: an operand of torch on cpu and one of numpy". Oracle: the same
    calls on NumPy arrays, and the closed forms (d/ds sum(x s) = sum(x) = 3)."""
    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)

    def f(x, s):
        return (x * x * s).sum()

    for given in (x, np.array([1.0, 2.0])):
        ds = cr.grad(f, argnums=1)(given, 2.0)
        assert float(to_numpy(ds.data if hasattr(ds, "data") else ds)) == 5.0
        both = cr.grad(f, argnums=(0, 1))(given, 2)
        np.testing.assert_array_equal(to_numpy(both[0].data), [4.0, 8.0])
        assert float(to_numpy(cr.hessian(f, argnums=0)(given, 2.0).data)[1, 1]) == 4.0
        ones = torch.ones(2, dtype=torch.float64) if given is x else np.ones(2)
        value, tangent = cr.jvp(f, (given, 2.0), (ones, 1.0))
        assert (float(to_numpy(value.data)), float(to_numpy(tangent.data))) == (10.0, 17.0)
        assert cr.gradcheck(f, [given, 2.0]).ok
        assert cr.gradcheck(lambda x, s, k: f(x, s) * k, [given, [2.0], 3]).ok
    assert cr.grad(f, argnums=1)(x, 2.0).data.dtype == torch.float64  # the array's, not float32


def test_numbers_join_only_a_floating_array_and_gradcheck_warns_of_the_users_own_arrays():
    """An integer torch array (read for its shape alone) made the Python number beside it
    torch's float32, where it had been NumPy's float64; gradcheck warned that the number 2.0
    was "float32, too coarse"."""
    import warnings

    pytest.importorskip("array_api_compat")
    torch = pytest.importorskip("torch")
    result = cr.grad(lambda x, n: x * x * n.shape[0])(3.0, torch.tensor([0, 1]))
    assert type(result.data) is np.ndarray and result.data.dtype == np.float64
    assert float(result.data) == 12.0
    x32 = torch.tensor([1.0, 2.0], dtype=torch.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cr.gradcheck(lambda x, s: (x * s).sum(), [x32, 2.0]).ok
    assert [str(w.message).split(" is ")[0] for w in caught] == ["gradcheck: input 0"]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (lambda a, b: a + b, r"add: shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: cr.where(b > 0, a, a), r"where: shapes \(2, 3\) and \(2, 3\) \(condition="),
        (lambda a, b: cr.concatenate([a, b]), r"concatenate: shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: a.reshape((4, 2)), r"reshape: shapes \(2, 3\) \(shape=\(4, 2\)\)"),
        (lambda a, b: cr.broadcast_to(a, (3, 3)), r"broadcast_to: shapes \(2, 3\)"),
        # chainrule's own checks print shapes as tuples too (not torch.Size([2, 3]))
        (lambda a, b: a @ b, r"matmul: shapes \(2, 3\) and \(4,\) do not align"),
        (lambda a, b: cr.stack([a, b]), r"tensor 0 has \(2, 3\) and tensor 1 has \(4,\)"),
    ],
)
@pytest.mark.parametrize("lib", ["numpy", "strict", "torch"], indirect=True)
def test_shapes_an_op_cannot_combine_are_a_shape_error_naming_them_on_every_library(
    lib, op, message
) -> None:
    """PyTorch refuses them with a RuntimeError of its own: it is named as NumPy's are."""
    a, b = lib.tensor(np.ones((2, 3)), requires_grad=True), lib.tensor(np.ones(4))
    with pytest.raises(cr.ShapeError, match=message):
        op(a, b)


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fn"])
def test_a_numpy_array_of_an_ml_dtypes_float_is_refused_as_such(name):
    """It was refused as "not numbers (bool, int, float or complex)", though it holds floats
    (s58): the message names the dtype as a float NumPy lacks and the exact conversion."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([1.5, -0.25], dtype=getattr(ml_dtypes, name))
    with pytest.raises(TypeError, match=rf"NumPy array of {name} \(ml_dtypes' float\).*float32"):
        cr.Tensor(values)
    converted = cr.Tensor(values.astype(np.float32))
    assert converted.tolist() == [1.5, -0.25]
