"""The array-library seam's refusals, as a QA pass found them: JAX's refusal of shapes that do
not broadcast is a ``cr.ShapeError`` as on every other library; float64 asked for where the
library or device has none is refused naming both (JAX without ``jax_enable_x64`` made float32
without a word of chainrule's, array-api-strict's ``no_float64`` device gave its bare
ValueError); ``functional_call`` puts a state dict's NumPy arrays on the model's library; and
``xp=`` that is no array library is refused naming what ``xp`` must be. A library that is not
installed skips its tests."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, nn
from chainrule.backend import ArrayLibraryError


def _jax():
    pytest.importorskip("array_api_compat")
    jax = pytest.importorskip("jax")
    return jax, pytest.importorskip("jax.numpy")


def _strict():
    pytest.importorskip("array_api_compat")
    return pytest.importorskip("array_api_strict")


@pytest.fixture
def x64():
    """A function that switches JAX's float64 on or off; the setting is put back afterwards."""
    jax, _ = _jax()
    previous = jax.config.jax_enable_x64
    yield lambda on: jax.config.update("jax_enable_x64", on)
    jax.config.update("jax_enable_x64", previous)


# ---------------------------------------------------------------------------------------------
# JAX's refusal of shapes is a ShapeError, named as NumPy's is
# ---------------------------------------------------------------------------------------------

SHAPE_OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "maximum": cr.maximum,
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_jax_shapes_that_do_not_broadcast_raise_shape_error(name):
    _, jnp = _jax()
    op = SHAPE_OPS[name]
    with pytest.raises(cr.ShapeError) as on_numpy:
        op(cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((4, 3))))
    with pytest.raises(cr.ShapeError) as on_jax:
        op(cr.tensor(jnp.ones((2, 3))), cr.tensor(jnp.ones((4, 3))))
    named = f"{name}: shapes (2, 3) and (4, 3): "
    assert str(on_numpy.value).startswith(named)
    assert str(on_jax.value).startswith(named), str(on_jax.value)
    # the TypeError branch turns only a refusal of shapes into a ShapeError: array-api-strict's
    # refusal to mix integers with floats stays a TypeError naming the op and the dtypes
    xs = _strict()
    ints, floats = cr.tensor(xs.asarray([1, 2])), cr.tensor(xs.asarray([1.0, 2.0]))
    with pytest.raises(TypeError, match=rf"{name}: inputs int64 \(2,\) and float64") as refused:
        op(ints, floats)
    assert not isinstance(refused.value, cr.ShapeError)


# ---------------------------------------------------------------------------------------------
# float64 where the library or device has none: refused, naming both and what to do
# ---------------------------------------------------------------------------------------------


def test_jax_without_x64_refuses_float64_asked_for_and_keeps_its_default(x64):
    _, jnp = _jax()
    x64(False)
    asked = {
        "tensor of NumPy data": lambda: cr.tensor(np.ones(2), xp=jnp, dtype="float64"),
        "tensor of a JAX array": lambda: cr.tensor(jnp.ones(2), dtype=np.float64),
        "zeros": lambda: cr.zeros(2, xp=jnp, dtype="float64"),
        "randn": lambda: cr.randn(2, xp=jnp, dtype=np.float64, rng=0),
        "astype": lambda: cr.tensor(jnp.ones(2)).astype("float64"),
        "complex128": lambda: cr.tensor(np.ones(2), xp=jnp, dtype="complex128"),
    }
    for what, make in asked.items():
        with pytest.raises(ArrayLibraryError, match="jax_enable_x64") as refused:
            make()
        message = str(refused.value)
        assert "jax.numpy has no" in message and 'jax.config.update("jax_enable_x64", True)' in (
            message
        ), what
    model = nn.mlp([3, 2], rng=0).to(xp=jnp)  # float32 already: the move is JAX's default
    with pytest.raises(ArrayLibraryError, match="jax.numpy has no float64"):
        model.to("float64")
    assert str(model.parameters()[0].dtype) == "float32"  # nothing was cast before the refusal
    # without a dtype, float64 values become JAX's default float, float32, as before (and
    # without JAX's warning about a float64 asked for: none was)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert str(cr.tensor(np.ones(2), xp=jnp).dtype) == "float32"
    assert str(cr.zeros(2, xp=jnp).dtype) == "float32"
    assert str(nn.mlp([3, 2], rng=0, dtype="float64").to(xp=jnp).parameters()[0].dtype) == (
        "float32"
    )
    # switched on, the same requests make float64; switched off again, they are refused again
    x64(True)
    assert str(cr.tensor(np.ones(2), xp=jnp, dtype="float64").dtype) == "float64"
    assert str(model.to("float64").parameters()[0].dtype) == "float64"
    x64(False)
    with pytest.raises(ArrayLibraryError, match="jax_enable_x64"):
        cr.tensor(np.ones(2), xp=jnp, dtype="float64")
    # gradcheck still checks where JAX has no float64: on a float64 copy on the host
    x = cr.tensor(np.array([0.5, -1.0, 2.0], np.float32), xp=jnp)
    with (
        pytest.warns(UserWarning, match="too coarse for finite differences"),
        pytest.warns(UserWarning, match="has no float64; checking on a float64 copy"),
    ):
        report = cr.gradcheck(lambda t: (t * t * t).sum(), [x], raise_on_failure=True)
    assert report.max_abs_error < 1e-6


def test_strict_device_without_float64_refuses_it_naming_library_device_and_dtype():
    xs = _strict()
    bare = xs.Device("no_float64")
    with pytest.raises(ArrayLibraryError) as refused:
        nn.mlp([3, 2], rng=0).to("float64", xp=xs, device=bare)
    message = str(refused.value)
    assert "array_api_strict has no float64" in message and "no_float64" in message
    assert "use float32" in message
    with pytest.raises(ArrayLibraryError, match="array_api_strict has no float64"):
        cr.tensor(np.ones(2, np.float32), xp=xs, device=bare).astype("float64")
    # float64 values without a dtype asked for: refused too, saying to make them float32
    with pytest.raises(ArrayLibraryError, match="make them float32 first"):
        cr.tensor(np.ones(2), xp=xs, device=bare)
    made = cr.tensor(np.ones(2), xp=xs, device=bare, dtype="float32")
    assert backend.dtype_name(made.dtype) == "float32"
    # the default device has float64
    assert backend.dtype_name(cr.tensor([1.0], xp=xs, dtype="float64").dtype) == "float64"
    with (
        pytest.warns(UserWarning, match="too coarse for finite differences"),
        pytest.warns(UserWarning, match="has no float64; checking on a float64 copy"),
    ):
        report = cr.gradcheck(lambda t: (t * t).sum(), [made], raise_on_failure=True)
    assert report.max_abs_error < 1e-6


# ---------------------------------------------------------------------------------------------
# functional_call: a bare NumPy array joins the replaced parameter's library and device
# ---------------------------------------------------------------------------------------------


def _other(name: str):
    """(module, device) of a library other than NumPy."""
    if name == "torch":
        pytest.importorskip("array_api_compat")
        return pytest.importorskip("torch"), "cpu"
    if name == "jax":
        return _jax()[1], None
    xs = _strict()
    return xs, xs.Device("device1")  # arrays made on the default device would be refused


@pytest.mark.parametrize("name", ["torch", "jax", "strict"])
def test_functional_call_with_a_state_dict_runs_on_the_models_library(name):
    xp, device = _other(name)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 3)).astype(np.float32)
    on_numpy = nn.mlp([3, 4, 2], rng=0)
    model = nn.mlp([3, 4, 2], rng=0).to(xp=xp, device=device)
    x = cr.tensor(X, xp=xp, device=device)
    out = nn.functional_call(model, model.state_dict(), x)
    assert backend.array_module(out.data) is backend.namespace(xp)
    expected = nn.functional_call(on_numpy, on_numpy.state_dict(), cr.tensor(X))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    # by hand: logistic(X W0 + b0) W2 + b2, in float64
    state = {k: np.asarray(v, np.float64) for k, v in model.state_dict().items()}
    hidden = 1 / (1 + np.exp(-(X @ state["0.weight"] + state["0.bias"])))
    by_hand = hidden @ state["2.weight"] + state["2.bias"]
    np.testing.assert_allclose(out.numpy(), by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["torch", "jax", "strict"])
def test_functional_call_gradient_flows_to_the_tensor_given_beside_numpy_arrays(name):
    xp, device = _other(name)
    X = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], np.float32)
    model = nn.Linear(3, 2, rng=0).to(xp=xp, device=device)
    state = model.state_dict()  # NumPy copies
    W = cr.tensor(state["weight"], xp=xp, device=device, requires_grad=True)
    x = cr.tensor(X, xp=xp, device=device)
    loss = nn.functional_call(model, {"weight": W, "bias": state["bias"]}, x).sum()
    loss.backward()
    # d/dW sum(x W + b) = x^T 1: each row of the gradient is that input's column sum
    np.testing.assert_allclose(W.grad.numpy(), np.repeat(X.sum(0)[:, None], 2, axis=1))
    assert math.isclose(float(loss.numpy()), float((X @ state["weight"] + state["bias"]).sum()),
                        rel_tol=1e-6)  # fmt: skip


def test_functional_call_still_refuses_an_array_of_another_library():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    _, jnp = _jax()
    model = nn.Linear(3, 2, rng=0).to(xp=torch)
    x = cr.tensor(np.ones((1, 3), np.float32), xp=torch)
    with pytest.raises(ArrayLibraryError, match="torch on cpu"):
        nn.functional_call(model, {"bias": jnp.zeros(2)}, x)
    out = nn.functional_call(model, {"bias": [1.0, -1.0]}, x)  # a list joins torch too
    expected = np.ones((1, 3)) @ model.state_dict()["weight"] + np.array([1.0, -1.0])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# xp= that is no array library
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda xp: cr.tensor([1.0, 2.0], xp=xp),
        lambda xp: cr.zeros(2, xp=xp),
        lambda xp: nn.mlp([2, 1], rng=0).to(xp=xp),
    ],
    ids=["tensor", "zeros", "Module.to"],
)
@pytest.mark.parametrize("xp", ["torch", math], ids=["a name", "a module"])
def test_xp_that_is_no_array_library_is_refused_naming_what_xp_must_be(make, xp):
    with pytest.raises(TypeError) as refused:
        make(xp)
    message = str(refused.value)
    assert message.startswith("xp must be an array library's module"), message
    assert "numpy, torch, jax.numpy or array_api_strict" in message
    if xp == "torch":
        assert "not str 'torch'" in message and "pass the module itself: xp=torch" in message
    else:
        assert "not module <module 'math'" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(make(np), (cr.Tensor, nn.Module))  # a module that is one: fine


def test_a_float64_numpy_operand_on_a_device_without_float64_is_named():
    """``x * np.ones(2)`` beside a float32 tensor on the ``no_float64`` device gave strict's
    bare ValueError from the operand's move, naming no operand and no fix."""
    xs = _strict()
    x = cr.tensor(np.ones(2, np.float32), xp=xs, device=xs.Device("no_float64"))
    with pytest.raises(ArrayLibraryError, match=r"an operand is a float64 NumPy array; make it "
                       r"float32 first"):  # fmt: skip
        x * np.ones(2)
    assert backend.dtype_name((x * np.ones(2, np.float32)).dtype) == "float32"
    on_default = cr.tensor(np.ones(2, np.float32), xp=xs)  # NumPy's rule where float64 is
    assert backend.dtype_name((on_default * np.ones(2)).dtype) == "float64"


def test_a_float64_model_moved_as_float32_to_a_device_without_float64_is_cast_first():
    """``model.to("float32", xp=strict, device=no_float64)`` moved the float64 weights first,
    which the device refused; the advice was to call ``model.to("float32")`` before it."""
    xs = _strict()
    model = nn.mlp([3, 2], rng=0, dtype="float64")
    expected = nn.mlp([3, 2], rng=0, dtype="float64").to("float32")
    model.to("float32", xp=xs, device=xs.Device("no_float64"))
    assert {backend.dtype_name(p.dtype) for p in model.parameters()} == {"float32"}
    x = np.array([[0.5, -1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(
        backend.to_numpy(model(cr.tensor(x, xp=xs, device=xs.Device("no_float64"))).data),
        expected(x).numpy(),
    )
