"""Speed tricks change no behaviour: shared constants and seeds never show through.

Each test pins a result to the plain NumPy computation (bit for bit) or to a property a user
relies on (a ``.grad`` they can write into, owned by one leaf only).
"""

import itertools
import threading
import warnings

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_negative_zero_constant_is_not_positive_zero(dtype):
    data = np.array([1.0, -2.0, 3.0], dtype=dtype)
    x = cr.tensor(data, requires_grad=True)
    _ = x * 0.0  # puts +0.0 into the shared constant cache first
    with np.errstate(divide="ignore"):
        got = (1 / (x * -0.0)).numpy()
        want = 1 / (data * -0.0)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.array_equal(got, want)


def test_zero_int_and_bool_constants_keep_their_types():
    x = cr.tensor([1, 2, 3])
    assert (x * 0).dtype == (np.array([1, 2, 3]) * 0).dtype
    assert np.array_equal((x + False).numpy(), np.array([1, 2, 3]) + False)


def test_shared_constant_cannot_be_written_into():
    x = cr.tensor([1.0, 2.0])
    y = x * 1.5
    y2 = x * 1.5
    assert np.array_equal(y.numpy(), y2.numpy())
    from chainrule.ops.shape import as_tensor

    constant = as_tensor(1.5, x)
    with pytest.raises(ValueError):
        constant.data += 1  # read-only: a slip cannot change every later ``* 1.5``


def _seeded_grads():
    """Leaves whose ``.grad`` came (before the fix) straight from a shared or caller's array."""
    leaf = cr.tensor(3.0, requires_grad=True)
    leaf.backward(create_graph=True)  # dE/dE: the shared unit seed
    summed = cr.tensor([3.0, 2.0], requires_grad=True)
    summed.sum().backward(create_graph=True)  # a broadcast (read-only) view of the seed
    return [leaf, summed]


@pytest.mark.parametrize("create_graph", [False, True])
def test_grads_are_writable_and_owned(create_graph):
    for leaf in _seeded_grads() if create_graph else []:
        before = leaf.grad.numpy().copy()
        leaf.grad.data += 1
        assert np.array_equal(leaf.grad.numpy(), before + 1)
    a = cr.tensor([3.0, 2.0], requires_grad=True)
    b = cr.tensor([1.0, 5.0], requires_grad=True)
    g = cr.tensor([1.0, 1.0], requires_grad=True)
    (a + b).backward(g, create_graph=create_graph)
    a.grad.data += 1  # add passes its cotangent through to both: each must own its copy
    assert np.array_equal(b.grad.numpy(), [1.0, 1.0])
    assert np.array_equal(g.numpy(), [1.0, 1.0])
    # a second backward of a scalar output: the unit seed is still 1
    x = cr.tensor(2.0, requires_grad=True)
    x.backward(create_graph=create_graph)
    x.grad.data += 5
    y = cr.tensor(2.0, requires_grad=True)
    y.backward(create_graph=create_graph)
    assert y.grad.item() == 1.0


def test_copied_grad_stays_differentiable():
    # d/dg of sum(dE/da) where dE/da = g: the copy of g keeps its graph
    a = cr.tensor([3.0, 2.0], requires_grad=True)
    g = cr.tensor([0.5, -1.0], requires_grad=True)
    (a * 1.0).backward(g, create_graph=True)
    (dg,) = cr.gradient((a.grad * a.grad).sum(), [g])
    np.testing.assert_allclose(dg.numpy(), 2 * g.numpy())


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_logistic_through_divide_is_bit_for_bit_the_reciprocal(dtype):
    """The logistic's last pass is ``divide(1, y)``, faster than ``reciprocal(y)``: both are
    correctly rounded, so every value, the tails' 0 included, stays the same bits (complex
    numbers take their own path: tests/engine/test_complex_logistic.py)."""
    z = np.concatenate([np.linspace(-800, 800, 4001), [0.0, -0.0, np.inf, -np.inf]])
    z = z.astype(dtype)
    with np.errstate(over="ignore"):
        want = np.reciprocal(1 + np.exp(-z))
    got = cr.sigmoid(cr.tensor(z)).numpy()
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
    assert np.isnan(cr.sigmoid(cr.tensor(np.array([np.nan], dtype))).numpy()).all()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(128, 256), (3, 1), (0, 4), (1000, 7)])
def test_bias_gradient_is_the_sum_over_cases(dtype, shape):
    """nn.Linear's dE/db is a BLAS product ones @ g for float32/float64 (faster than NumPy's
    sum over axis 0): it must be the sum over cases, in g's dtype, within the error bound of
    any order of summation."""
    rng = np.random.default_rng(7)
    upstream = rng.standard_normal(shape).astype(dtype)
    x = cr.tensor(rng.standard_normal((shape[0], 5)).astype(dtype))
    layer = cr.nn.Linear(5, shape[1], dtype="float32" if dtype == "float16" else dtype)
    for p in layer.parameters():  # a model is float32 or float64: a float16 one is cast by hand
        p.data = p.data.astype(dtype)
    (layer(x) * cr.tensor(upstream)).sum().backward()
    got = layer.bias.grad.numpy()
    exact = upstream.astype(np.float64).sum(axis=0)  # 0 for an empty batch
    assert got.dtype == np.dtype(dtype) and got.shape == (shape[1],)
    eps = np.finfo(dtype).eps
    bound = (shape[0] + 1) * eps * np.abs(upstream).astype(np.float64).sum(axis=0) + eps
    assert np.all(np.abs(got - exact) <= bound)  # any order of summation keeps within this


@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul")  # the weight's inf * 0
def test_bias_gradient_propagates_nan_and_inf():
    g = np.array([[1.0, np.inf, np.nan], [2.0, 1.0, 0.0]], np.float32)
    layer = cr.nn.Linear(2, 3, dtype="float32")
    (layer(cr.tensor(np.ones((2, 2), np.float32))) * cr.tensor(g)).sum().backward()
    got = layer.bias.grad.numpy()
    assert got[0] == 3.0 and got[1] == np.inf and np.isnan(got[2])


def _cross_entropy_oracle(logits, labels):
    """Per-case -log softmax(z)_label and softmax - onehot, in float64 with math.fsum."""
    import math

    losses, residual = [], []
    for row, label in zip(logits.astype(np.float64).reshape(-1, logits.shape[-1]), labels.ravel()):
        peak = max(row)
        exps = [math.exp(v - peak) for v in row]
        total = math.fsum(exps)
        losses.append(math.log(total) - (row[label] - peak))
        residual.append([e / total - (j == label) for j, e in enumerate(exps)])
    return np.array(losses).reshape(labels.shape), np.array(residual).reshape(logits.shape)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("classes", [1, 2, 10, 32, 33, 100])
@pytest.mark.parametrize("label_dtype", ["uint8", "int32", "uint64"])
def test_cross_entropy_fast_paths_match_an_exact_oracle(dtype, classes, label_dtype):
    """The fused loss takes each case's max over a transposed copy (few classes), its sums as a
    product with ones (BLAS floats) and its label cells by flat positions: every path must give
    the loss and y - t of the formula, for (cases, classes) and (..., classes) logits alike."""
    from chainrule.ops.nn import _softmax_cross_entropy

    rng = np.random.default_rng(classes)
    layouts = {
        "C": lambda a: a,
        "Fortran": np.asfortranarray,  # a flat view of y - t would be a copy: writes lost
        "strided": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    }
    for shape, layout in itertools.product([(37, classes), (4, 5, classes), (0, classes)], layouts):
        logits = layouts[layout]((rng.standard_normal(shape) * 30).astype(dtype))
        labels = rng.integers(0, classes, size=shape[:-1]).astype(label_dtype)
        losses, residual = _softmax_cross_entropy(logits, labels, "none")
        want_losses, want_residual = _cross_entropy_oracle(logits, labels)
        tol = {"float16": 2e-2, "float32": 2e-5, "float64": 1e-12}[dtype]
        assert losses.dtype == residual.dtype == np.dtype(dtype)
        assert losses.shape == labels.shape and residual.shape == logits.shape
        np.testing.assert_allclose(losses, want_losses, rtol=tol, atol=tol * 10)
        np.testing.assert_allclose(residual, want_residual, rtol=tol, atol=tol)


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract")  # inf - inf
def test_cross_entropy_fast_paths_keep_extreme_logits_stable():
    from chainrule.ops.nn import _softmax_cross_entropy

    logits = np.array([[1e4, -1e4, 0.0], [-1e30, -1e30, -1e30], [np.inf, 0.0, 0.0]], np.float32)
    losses, residual = _softmax_cross_entropy(logits, np.array([1, 2, 0]), "none")
    assert losses[0] == np.float32(2e4) and np.isclose(losses[1], np.log(3.0))
    assert np.isnan(losses[2])  # an infinite logit has no finite loss
    np.testing.assert_array_equal(residual[0], [1.0, -1.0, 0.0])


def test_shared_ones_and_row_numbers_cannot_be_written_and_grads_stay_their_own():
    from chainrule import backend

    rows = backend.shared_vector(np.arange, 4)
    assert rows.tolist() == [0, 1, 2, 3] and rows is backend.shared_vector(np.arange, 4)
    for shared in (backend.shared_vector(np.ones, 4, np.dtype(np.float32)), rows):
        with pytest.raises(ValueError, match="read-only"):
            shared += 1
    layer = cr.nn.Linear(3, 4, dtype="float32")
    x = cr.tensor(np.ones((4, 3), np.float32))
    labels = cr.tensor(np.array([0, 1, 2, 3]))
    cr.nn.CrossEntropy()(layer(x), labels).backward()
    first = layer.bias.grad.numpy().copy()
    layer.bias.grad.data += 100  # the user's own array: writable, and nothing shared in it
    layer.zero_grad()
    cr.nn.CrossEntropy()(layer(x), labels).backward()
    np.testing.assert_array_equal(layer.bias.grad.numpy(), first)


def test_long_rows_keep_numpys_pairwise_sum_in_the_loss():
    """Only a few classes take the BLAS row sums: over a thousand classes BLAS's running sum
    loses a digit that NumPy's pairwise sum keeps (a float32 loss 10x less accurate)."""
    import math

    from chainrule.ops.nn import _softmax_cross_entropy

    logits = np.full((4, 1000), -10.0, np.float32)
    logits[:, 0] = 0.0
    losses, _ = _softmax_cross_entropy(logits, np.zeros(4, np.int64), "none")
    exact = math.log(math.fsum([1.0] + [math.exp(-10.0)] * 999))
    # the pairwise sum is 3 ulp of the sum off here, the running one 20
    assert np.all(np.abs(losses.astype(np.float64) - exact) <= 4 * np.finfo(np.float32).eps)


def test_constant_vectors_of_a_huge_batch_are_not_kept(monkeypatch):
    """The shared ones and row starts are kept only up to backend.SHARED_LENGTH: a batch of
    millions would otherwise stay in memory as long as the process. (Which small vectors a
    step keeps depends on what ran before in the process: the lengths asked for are recorded.)"""
    from chainrule import backend

    kept, made = [], []
    keep, read_only = backend._kept_vector, backend._read_only
    monkeypatch.setattr(
        backend, "_kept_vector", lambda make, n, *a: kept.append(n) or keep(make, n, *a)
    )
    monkeypatch.setattr(backend, "_read_only", lambda v: made.append(len(v)) or read_only(v))
    rows = backend.SHARED_LENGTH + 1
    layer = cr.nn.Linear(2, 3, dtype="float32")
    x = cr.tensor(np.ones((rows, 2), np.float32))
    cr.nn.CrossEntropy()(layer(x), cr.tensor(np.zeros(rows, np.int64))).backward()
    z = np.ones(2) @ layer.weight.numpy().astype(np.float64) + layer.bias.numpy()
    want = np.exp(z - z.max()) / np.exp(z - z.max()).sum() - [1, 0, 0]  # every case alike
    np.testing.assert_allclose(layer.bias.grad.numpy(), want, rtol=1e-3, atol=1e-5)
    assert rows in made  # the step asked for a vector of the batch's length ...
    assert max(kept, default=0) <= backend.SHARED_LENGTH  # ... and kept none that long
    big = backend.shared_vector(np.ones, rows, np.dtype(np.float32))
    assert big is not backend.shared_vector(np.ones, rows, np.dtype(np.float32))
    assert not big.flags.writeable
    small = backend.shared_vector(np.ones, 7, np.dtype(np.float32))
    assert small is backend.shared_vector(np.ones, 7, np.dtype(np.float32))


def _exp_quietly(values, dtype=np.float32):
    from chainrule import backend

    array = np.array(values, dtype)
    backend.ignoring_overflow(np.exp, array, out=array)
    return array


@pytest.mark.parametrize("setting", [{}, {"over": "raise"}, {"over": "warn"}, {"all": "call"}])
def test_the_logistics_exp_ignores_overflow_under_any_handling_and_restores_it(setting):
    """e^x too large for the dtype is inf without a warning, a raise or a call, whatever the
    handling in force says of overflow; the handling is the caller's again afterwards."""
    calls = []
    with np.errstate(**setting, call=lambda kind, flag: calls.append(kind)):
        before = np.geterr()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = _exp_quietly([100.0, 0.0, -1.0])
            y = cr.sigmoid(cr.tensor(np.array([-800.0, 0.0], np.float32))).numpy()
        assert np.geterr() == before
    assert np.isinf(got[0]) and got[1] == 1 and got[2] == np.exp(np.float32(-1.0))
    assert y.tolist() == [0.0, 0.5] and calls == []


def test_the_logistics_exp_keeps_the_rest_of_the_handling_in_force():
    """Only overflow is ignored: an underflow under ``under="raise"`` still raises, also after a
    call under the default handling (the quiet handling is remade whenever the handling in
    force changes, not kept from the first call)."""
    assert _exp_quietly([-200.0])[0] == 0.0  # the default ignores underflow
    with np.errstate(under="raise"), pytest.raises(FloatingPointError, match="underflow"):
        _exp_quietly([-200.0])
    assert _exp_quietly([-200.0])[0] == 0.0
    with np.errstate(under="raise"), pytest.raises(FloatingPointError, match="underflow"):
        _exp_quietly([-200.0])


def test_the_logistics_exp_follows_each_threads_handling():
    """errstate is per thread: a thread that raises on underflow and one that does not, taking
    turns, each get their own handling (with overflow ignored in both)."""
    results = {}
    turns = [threading.Event() for _ in range(3)]

    def loud():
        with np.errstate(under="raise"):
            turns[0].set()
            turns[1].wait(5)
            try:
                _exp_quietly([-200.0, 100.0])
            except FloatingPointError as error:
                results["loud"] = str(error)
            turns[2].set()

    thread = threading.Thread(target=loud)
    thread.start()
    turns[0].wait(5)
    quiet = _exp_quietly([-200.0, 100.0])  # while the other thread's handling raises
    turns[1].set()
    turns[2].wait(5)
    thread.join(5)
    results["quiet"] = _exp_quietly([-200.0, 100.0])
    assert "underflow" in results["loud"]
    assert quiet[0] == 0.0 and np.isinf(quiet[1])
    assert results["quiet"][0] == 0.0 and np.isinf(results["quiet"][1])


def test_the_logistics_exp_without_numpys_context_variable(monkeypatch):
    """Where NumPy has no (private) error-state context variable, errstate itself is used."""
    from chainrule import backend

    monkeypatch.setattr(backend, "_error_state", None)
    with np.errstate(over="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _exp_quietly([100.0, 0.0])
    assert np.isinf(got[0]) and got[1] == 1
