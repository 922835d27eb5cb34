"""The array-library seam, QA s55: reversed NumPy views beside PyTorch, ``functional_call`` of a
state dict under a transform, JAX's bfloat16, JAX's 64-bit integers without x64, and
gradcheck's host copy of a JAX input beside a torch one.

Oracles: the same computation on NumPy's path (which reads a reversed view as it is), PyTorch's
own results (gradients by torch.autograd, bfloat16 dtypes and values), and NumPy's values."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn
from chainrule.backend import ArrayLibraryError

pytest.importorskip("array_api_compat")

RNG = np.random.default_rng(55)
X = RNG.standard_normal((4, 3)).astype(np.float32)
W = RNG.standard_normal(3).astype(np.float32)
LABELS = np.array([0, 1, 1, 0])


def _reversed(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` with a negative stride on its first axis (as ``np.flip`` makes)."""
    view = np.flip(array, axis=0)
    assert view.strides[0] < 0
    return view


# ---------------------------------------------------------------------------------------------
# 1. A reversed NumPy view joins a torch tensor wherever a NumPy array does
# ---------------------------------------------------------------------------------------------


def _model(xp):
    return nn.mlp([3, 5, 2], rng=0).to(xp=xp)


def _values(t):
    return t.numpy() if isinstance(t, cr.Tensor) else np.asarray(t)


def _seeded_gradient(xp):
    w = cr.tensor(W, xp=xp, requires_grad=True)
    (w * w).backward(_reversed(np.array([1.0, 2.0, 3.0], np.float32)))
    return w.grad


def _functional_call(xp):
    model = _model(xp)
    state = {k: _reversed(v) for k, v in _model(None).state_dict().items()}
    return nn.functional_call(model, state, cr.tensor(X, xp=xp))


def _loaded(xp):
    model = _model(xp)
    model.load_state_dict({k: _reversed(v) for k, v in _model(None).state_dict().items()})
    return model(cr.tensor(X, xp=xp))


#: what a reversed view meets on a library: each returns a tensor, compared with NumPy's path
JOINS = {
    "cr.tensor": lambda xp: cr.tensor(_reversed(np.arange(3.0)), xp=xp),
    "a model's input": lambda xp: _model(xp)(_reversed(X)),
    "operand on the right": lambda xp: cr.tensor(W, xp=xp) * _reversed(W),
    "operand on the left": lambda xp: _reversed(W) - cr.tensor(W, xp=xp),
    "integer operand": lambda xp: cr.tensor(W, xp=xp) + _reversed(np.arange(3)),
    "CrossEntropy labels": lambda xp: nn.CrossEntropy()(
        _model(xp)(cr.tensor(X, xp=xp)), _reversed(LABELS)
    ),
    "index key": lambda xp: cr.tensor(X, xp=xp)[_reversed(np.array([0, 3, 3]))],
    "mask key": lambda xp: cr.tensor(W, xp=xp)[_reversed(np.array([True, False, True]))],
    "backward seed": _seeded_gradient,
    "where's condition": lambda xp: cr.where(
        _reversed(np.array([True, False, False])), cr.tensor(W, xp=xp), 0.0
    ),
    "clip's bounds": lambda xp: cr.clip(
        cr.tensor(W, xp=xp), _reversed(np.full(3, -0.5, np.float32)), _reversed(np.ones(3))
    ),
    "functional_call": _functional_call,
    "load_state_dict": _loaded,
}


@pytest.mark.parametrize("name", list(JOINS))
def test_a_reversed_numpy_view_joins_a_torch_tensor_as_on_numpy(name, torch):
    """PyTorch's asarray refuses a negative stride even when asked to copy ("At least one
    stride in the given numpy array is negative"), which escaped raw from every place a NumPy
    array joins a torch tensor; the oracle is the same computation on NumPy's path."""
    on_torch = JOINS[name](torch)
    assert backend.array_module(on_torch.data) is backend.namespace(torch)
    expected = _values(JOINS[name](None))
    np.testing.assert_allclose(_values(on_torch), expected, rtol=1e-5, atol=1e-7)


def test_a_reversed_view_moved_to_torch_is_a_copy_of_its_own(torch):
    values = np.arange(4.0)
    t = cr.tensor(values[::-1], xp=torch)
    values[:] = -1.0  # a write to the array behind the view changes nothing moved
    np.testing.assert_array_equal(t.numpy(), [3.0, 2.0, 1.0, 0.0])
    # NumPy's own path reads the view as it is: no copy where no other library is involved
    view = values[::-1]
    assert backend.asarray_like(view, np.zeros(4)) is view


def test_a_trainer_fits_a_dataset_of_reversed_arrays_on_torch_as_on_numpy(torch):
    """Trainer.fit on a Dataset whose inputs and labels are reversed views; the oracle is the
    same fit on NumPy (the same seed, the same batches)."""
    from chainrule.data import Dataset
    from chainrule.train import Trainer

    def fit(xp):
        model = _model(xp)
        data = Dataset(_reversed(X), _reversed(LABELS), "classification")
        optimizer = cr.optim.SGD(model.parameters(), lr=0.5)
        Trainer(model, nn.CrossEntropy(), optimizer, batch_size=2, progress=False).fit(
            data, epochs=2
        )
        return model.state_dict()

    on_torch, on_numpy = fit(torch), fit(None)
    for key, expected in on_numpy.items():
        np.testing.assert_allclose(on_torch[key], expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# 2. functional_call refuses a tensor of another library than the parameter it replaces
# ---------------------------------------------------------------------------------------------


def _library(name, torch_module, jnp):
    if name == "torch":
        return torch_module
    if name == "jax":
        return jnp
    return pytest.importorskip("array_api_strict")


def _gradient_of_the_sum(model, params, x):
    return cr.grad(lambda p: nn.functional_call(model, p, x).sum())(params)


@pytest.mark.parametrize("name", ["torch", "jax", "strict"])
def test_grad_over_a_state_dict_of_another_librarys_model_is_refused_naming_the_fix(
    name, torch, jnp_without_x64
):
    """cr.grad made the state dict's NumPy copies tensors of NumPy, which met the model's
    weights in the first op ("linear: torch ... and numpy", a mix the caller never wrote). It is
    refused naming the parameter too, both libraries and the fix; the model keeps its own
    parameters. The fix it names (the model's own arrays)
    gives the gradients of NumPy's path, in the model's library, and torch.autograd's."""
    xp = _library(name, torch, jnp_without_x64)
    model = _model(xp)
    own = {k: p.data for k, p in model.named_parameters()}
    x = cr.tensor(X, xp=xp)
    with pytest.raises(ArrayLibraryError) as refused:
        _gradient_of_the_sum(model, model.state_dict(), x)
    message = str(refused.value)
    assert re.search(r"\. functional_call: '\d\.(weight|bias)' is a tensor of numpy, ", message)
    assert backend.library_name(model[0].weight.data) in message
    assert "named_parameters()" in message and "\n" not in message
    assert {k: p.data for k, p in model.named_parameters()} == own  # restored, same arrays

    grads = _gradient_of_the_sum(model, own, x)
    on_numpy = _model(None)
    expected = _gradient_of_the_sum(on_numpy, on_numpy.state_dict(), cr.tensor(X))
    for key, grad in grads.items():
        assert backend.array_module(grad.data) is backend.namespace(xp)
        np.testing.assert_allclose(grad.numpy(), expected[key].numpy(), rtol=1e-5, atol=1e-6)
    if name == "torch":  # torch's own gradients of the same sum
        leaves = {k: v.clone().requires_grad_(True) for k, v in own.items()}
        hidden = torch.sigmoid(torch.from_numpy(X) @ leaves["0.weight"] + leaves["0.bias"])
        (hidden @ leaves["2.weight"] + leaves["2.bias"]).sum().backward()
        for key, leaf in leaves.items():
            np.testing.assert_allclose(grads[key].numpy(), leaf.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_all_given_on_one_library_with_its_input_run_there(torch, jnp_without_x64):
    """Only a mix the forward meets is refused (review 1): a torch model's whole state dict
    with a NumPy input runs on NumPy, under grad too, and gradcheck's float64 host copies of a
    JAX model's weights (JAX without x64 has no float64) are checked on the host."""
    model = _model(torch)
    grads = _gradient_of_the_sum(model, model.state_dict(), cr.tensor(X))
    on_numpy = _model(None)
    expected = _gradient_of_the_sum(on_numpy, on_numpy.state_dict(), cr.tensor(X))
    for key, grad in grads.items():
        np.testing.assert_allclose(grad.numpy(), expected[key].numpy(), rtol=1e-5, atol=1e-6)
    layer = nn.Linear(2, 1, rng=0).to(xp=jnp_without_x64)
    call = lambda W, b: nn.functional_call(layer, {"weight": W, "bias": b}, X[:, :2]).sum()  # noqa: E731
    with pytest.warns(UserWarning) as warned:  # float32 inputs, copied to the host
        assert cr.gradcheck(call, [layer.weight.data, layer.bias.data])
    assert any("which has no float64" in str(w.message) for w in warned)


def test_an_array_of_a_third_library_is_refused_by_functional_call_too(torch, jnp_without_x64):
    model = nn.Linear(3, 2, rng=0).to(xp=torch)
    x = cr.tensor(X, xp=torch)
    with pytest.raises(ArrayLibraryError, match=r"functional_call: 'bias' is an array of jax"):
        nn.functional_call(model, {"bias": jnp_without_x64.zeros(2)}, x)


# ---------------------------------------------------------------------------------------------
# 3. JAX's bfloat16 (ml_dtypes, NumPy kind "V") is a real float, as torch's bfloat16 is
# ---------------------------------------------------------------------------------------------

#: ops whose result kept torch's bfloat16 and drifted to float32 on JAX's
BF16_OPS = {
    "b * 1.5": lambda b: b * 1.5,
    "softmax": lambda b: cr.softmax(b, axis=0),
    "mean": lambda b: b.mean(),
    "sigmoid": cr.sigmoid,
    "b / 2 + 1": lambda b: b / 2 + 1,
}
BF16_VALUES = np.array([0.5, -1.25, 2.0], np.float32)


@pytest.mark.parametrize("name", list(BF16_OPS))
def test_a_jax_bfloat16_tensor_stays_bfloat16_and_takes_gradients_as_torch_does(
    name, torch, jnp_without_x64
):
    jnp = jnp_without_x64
    op = BF16_OPS[name]
    # without a gradient first: the result drifted to float32 (b * 1.5 was float32)
    constant = cr.tensor(jnp.asarray(BF16_VALUES, dtype=jnp.bfloat16))
    assert backend.dtype_name(op(constant).dtype) == "bfloat16"
    # then as a variable: requires_grad refused bfloat16 ("only real floating-point tensors")
    b = cr.tensor(jnp.asarray(BF16_VALUES, dtype=jnp.bfloat16), requires_grad=True)
    t = cr.tensor(torch.tensor(BF16_VALUES, dtype=torch.bfloat16), requires_grad=True)
    out, expected = op(b), op(t)
    assert backend.dtype_name(expected.dtype) == "bfloat16"  # torch's own result
    assert backend.dtype_name(out.dtype) == "bfloat16"
    np.testing.assert_allclose(out.numpy().astype(np.float32), expected.numpy(), rtol=1e-2)
    out.sum().backward()
    expected.sum().backward()
    assert backend.dtype_name(b.grad.dtype) == "bfloat16"
    np.testing.assert_allclose(
        b.grad.numpy().astype(np.float32), t.grad.numpy(), rtol=2e-2, atol=1e-2
    )


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_dropout_keeps_a_bfloat16_input_bfloat16_as_torchs_own_dropout_does(
    library, torch, jnp_without_x64
):
    """Dropout's mask was made in float32 for a bfloat16 input (NumPy has no bfloat16, and
    torch takes no NumPy array of ml_dtypes'), so x * mask drifted to float32."""
    xp = torch if library == "torch" else jnp_without_x64
    x = cr.tensor(xp.asarray(np.ones((4, 5), np.float32), dtype=xp.bfloat16))
    layer = cr.nn.Dropout(0.3, rng=0)
    y = layer(x)
    assert backend.dtype_name(y.dtype) == "bfloat16"
    assert (
        backend.dtype_name(
            torch.nn.functional.dropout(torch.ones(2, dtype=torch.bfloat16), 0.3).dtype
        )
        == "bfloat16"
    )
    # the same units dropped as a float32 input's, the rest scaled by 1 / 0.7 rounded to bfloat16
    reference = cr.nn.Dropout(0.3, rng=0)(cr.tensor(np.ones((4, 5), np.float32))).numpy()
    scale = float(torch.tensor(1 / 0.7, dtype=torch.bfloat16))
    np.testing.assert_array_equal(np.asarray(y.numpy(), np.float32), (reference > 0) * scale)


def test_the_dtype_predicates_read_ml_dtypes_floats_as_floats(jnp_without_x64):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = jnp_without_x64.ones(2, dtype=jnp_without_x64.bfloat16).dtype
    assert backend.is_real_floating(bf16) and backend.is_floating(bf16)
    assert not backend.is_complex(bf16) and not backend.is_integer(bf16)
    float8 = np.dtype(ml_dtypes.float8_e4m3fn)
    assert backend.is_real_floating(float8)
    assert not backend.is_floating(np.dtype(ml_dtypes.int4))  # ml_dtypes' integers: not floats
    assert not backend.is_floating(np.dtype([("a", np.float32)]))  # a record: kind "V" too


def test_an_integer_jax_tensor_without_x64_is_told_to_become_float32(jnp_without_x64):
    """The advice named float64, which JAX without x64 lacks (astype('float64') is refused
    there); it names the library's own default float, as NumPy's stays float64."""
    jnp = jnp_without_x64
    with pytest.raises(TypeError, match=r"convert with \.astype\('float32'\) first"):
        cr.tensor(jnp.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"convert with \.astype\('float64'\) first"):
        cr.tensor(np.arange(3), requires_grad=True)
    # backward's advice for a leaf whose .data was set to integers, the same way
    for xp, floats in ((jnp, "float32"), (np, "float64")):
        w = cr.tensor(xp.ones(2), requires_grad=True)
        w.data = xp.asarray([1, -1])
        with pytest.raises(TypeError, match=rf"or \.astype\('{floats}'\)\)$"):
            (w * 2).sum().backward()


# ---------------------------------------------------------------------------------------------
# 4. JAX without x64: NumPy's 64-bit integers become int32 without JAX's truncation warning
# ---------------------------------------------------------------------------------------------

MADE = {
    "cr.arange(5, xp=jnp)": (lambda jnp: cr.arange(5, xp=jnp), np.arange(5), "int32"),
    "cr.tensor([1, 2], xp=jnp)": (lambda jnp: cr.tensor([1, 2], xp=jnp), [1, 2], "int32"),
    "uint64 values": (
        lambda jnp: cr.tensor(np.array([1, 7], np.uint64), xp=jnp),
        [1, 7],
        "uint32",
    ),
}


@pytest.mark.parametrize("name", list(MADE))
def test_64_bit_integers_move_to_jax_without_x64_silently(name, jnp_without_x64):
    make, expected, dtype = MADE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Explicitly requested dtype int64 ... truncated"
        made = make(jnp_without_x64)
    assert backend.dtype_name(made.dtype) == dtype
    np.testing.assert_array_equal(made.numpy(), expected)
    import jax

    jax.config.update("jax_enable_x64", True)  # put back by the fixture
    assert backend.dtype_name(make(jnp_without_x64).dtype) == dtype.replace("32", "64")


@pytest.mark.parametrize("values", [[2**40 + 5, 1], [-(2**31) - 1], [2**63 + 7]])
def test_64_bit_integers_that_int32_cannot_hold_still_get_jaxs_warning(values, jnp_without_x64):
    """Values past int32's range wrap on the move: narrowed silently they were a wrong number
    no one was told of (review 1); they are left to JAX, which warns that it truncates them."""
    host = np.array(values, np.uint64 if values[0] >= 2**63 else np.int64)
    with pytest.warns(UserWarning, match="truncated"):
        cr.tensor(host, xp=jnp_without_x64)
    if host.dtype == np.int64:  # as an operand beside a JAX tensor too (review 3)
        b = cr.tensor(np.array([3] * len(values)), xp=jnp_without_x64)
        with pytest.warns(UserWarning, match="truncated"):
            b + host


# ---------------------------------------------------------------------------------------------
# 5. gradcheck: a JAX input copied to the host beside a torch input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("jax_first", [False, True])
def test_gradcheck_names_the_jax_input_it_copied_to_the_host(jax_first, torch, jnp_without_x64):
    """The refusal said "an operand of torch on cpu and one of numpy", a NumPy the caller never
    passed: it now says that operand is gradcheck's host copy of the JAX input, and why."""
    inputs = [torch.ones(2, dtype=torch.float64), jnp_without_x64.ones(2)]
    if jax_first:
        inputs.reverse()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the host-copy warning
        with pytest.raises(ArrayLibraryError, match=r"^mul: an operand of") as refused:
            cr.gradcheck(lambda a, b: (a * b).sum(), inputs)
    message = str(refused.value)
    assert f"host of input {0 if jax_first else 1} (jax" in message
    assert "jax_enable_x64" in message and "inputs of one library" in message
