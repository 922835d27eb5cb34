"""The array-library seam, as a QA pass found it: copies, dtypes, operands of NumPy beside
another library's tensors, and boolean targets. Each test compares with the same computation
on NumPy (the oracle) or with hand-computed numbers; a library that is not installed skips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, optim


def _library(name: str):
    """(module, device) of a library under test; NumPy's device is the host, "cpu"."""
    if name == "numpy":
        return np, "cpu"
    if name == "torch":
        return pytest.importorskip("torch"), "cpu"
    pytest.importorskip("array_api_compat")
    xs = pytest.importorskip("array_api_strict")
    return xs, xs.Device("CPU_DEVICE")


def _user_array(xp, values):
    """The user's own array of ``xp``, float64."""
    if xp is np:
        return np.array(values, dtype=np.float64)
    return xp.asarray(np.array(values), dtype=xp.float64)


def _values(array) -> list:
    return backend.to_numpy(array).tolist()


# ---------------------------------------------------------------------------------------------
# F7: cr.tensor always holds its own copy, whatever xp and device say
# ---------------------------------------------------------------------------------------------

LIBRARIES = ["numpy", "torch", "strict"]


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("placement", ["xp", "device", "both"])
def test_tensor_of_an_array_of_its_own_library_and_device_is_a_copy(name, placement):
    """``cr.tensor(u, xp=<u's library>)`` (or ``device=<u's device>``) shared u's memory: an
    optimizer's step wrote into u. Oracle: u keeps [1, 2]; the step moves the tensor alone."""
    xp, device = _library(name)
    user = _user_array(xp, [1.0, 2.0])
    where = {"xp": {"xp": xp}, "device": {"device": device}, "both": {"xp": xp, "device": device}}
    x = cr.tensor(user, requires_grad=True, **where[placement])
    (x * x).sum().backward()
    optim.SGD([x], lr=1.0).step()
    assert _values(user) == [1.0, 2.0]
    assert _values(x.data) == [-1.0, -2.0]  # w - lr * 2w


@pytest.mark.parametrize("name", LIBRARIES)
def test_refilling_the_users_array_after_the_forward_leaves_the_gradient(name):
    """The QA reproducer: y = sum(x * x) recorded x's values; refilling the user's array then
    gave x.grad [20, 20]. Oracle: 2x at x = [1, 2], [2, 4]."""
    xp, device = _library(name)
    user = _user_array(xp, [1.0, 2.0])
    x = cr.tensor(user, xp=xp, device=device, requires_grad=True)
    y = (x * x).sum()
    user[...] = 10.0
    y.backward()
    assert _values(x.grad.data) == [2.0, 4.0]


def test_tensor_of_a_numpy_tensor_with_xp_numpy_is_a_copy():
    """A chainrule tensor given to cr.tensor with xp=numpy: the new tensor's array is its own."""
    t = cr.tensor([1.0, 2.0])
    copy = cr.tensor(t, xp=np, device="cpu")
    assert copy.data is not t.data and not np.shares_memory(copy.data, t.data)


# ---------------------------------------------------------------------------------------------
# F3: a torch tensor that requires grad is refused (it was detached silently); its detached
# copy becomes a tensor without torch's warning
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("placement", [{}, {"xp": "torch"}, {"device": "cpu"}])
def test_tensor_of_a_torch_tensor_requiring_grad_is_refused_and_its_detached_copy_warns_nothing(
    placement,
):
    """The copy was made before the tensor left torch's autograd, and torch.asarray warned
    ("unspecified requires_grad now defaults to obj.requires_grad"); then torch's graph ended
    there silently (a.grad stayed None). Now it is refused, and a.detach() is taken."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    placement = {k: torch if v == "torch" else v for k, v in placement.items()}
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.ArrayLibraryError, match=r"requires grad .*detach"):
        cr.tensor(a, requires_grad=True, **placement)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor(a.detach(), requires_grad=True, **placement)
        (x * x).sum().backward()
    assert not x.data.requires_grad and a.grad is None  # torch's graph is not involved
    assert _values(x.grad.data) == [2.0, 4.0]
    assert x.data.data_ptr() != a.data_ptr()


# ---------------------------------------------------------------------------------------------
# F4: creation functions take the library's own dtype objects
# ---------------------------------------------------------------------------------------------

CREATIONS = {
    "tensor": lambda **kw: cr.tensor([0.5, 1.5], **kw),
    "zeros": lambda **kw: cr.zeros(2, **kw),
    "ones": lambda **kw: cr.ones(2, **kw),
    "full": lambda **kw: cr.full((2,), 0.25, **kw),
    "arange": lambda **kw: cr.arange(2, **kw),
    "linspace": lambda **kw: cr.linspace(0.0, 1.0, 2, **kw),
    "randn": lambda **kw: cr.randn(2, rng=0, **kw),
    "rand": lambda **kw: cr.rand(2, rng=0, **kw),
}


@pytest.mark.parametrize("name", ["torch", "strict"])
@pytest.mark.parametrize("creation", sorted(CREATIONS))
def test_creation_takes_the_librarys_own_dtype(name, creation):
    """``cr.zeros(2, xp=torch, dtype=torch.float32)`` raised NumPy's "Cannot interpret
    'torch.float32' as a data type", where Tensor.astype and nn.Linear take it. Oracle: the
    same call with the dtype's name, "float32", and NumPy's values."""
    xp, device = _library(name)
    make = CREATIONS[creation]
    made = make(xp=xp, device=device, dtype=xp.float32)
    assert made.dtype == xp.float32
    assert type(made.data).__module__.split(".")[0] == xp.__name__.split(".")[0]
    expected = make(dtype="float32").numpy()
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(made.numpy(), expected)


@pytest.mark.parametrize("creation", sorted(CREATIONS))
def test_creation_reads_a_library_dtype_by_name_on_numpy(creation):
    """Without xp, a library's dtype is read by its name, as nn.Linear(dtype=torch.float32)
    reads it: NumPy float32 values."""
    torch = pytest.importorskip("torch")
    made = CREATIONS[creation](dtype=torch.float32)
    assert type(made.data) is np.ndarray and made.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# F5: boolean (and other non-float) one-hot targets to the cross-entropies
# ---------------------------------------------------------------------------------------------

LOGITS = np.random.default_rng(0).normal(size=(3, 4))
ONE_HOT = np.eye(4, dtype=bool)[[0, 3, 2]]


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("loss", ["logistic_cross_entropy"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_boolean_targets_give_the_float_targets_loss_and_gradient(name, loss, create_graph):
    """Boolean targets worked on NumPy and JAX; torch raised "Subtraction ... with a bool
    tensor" and array-api-strict a TypeError (in the second-order rule). Oracle: the same loss
    of float targets on NumPy, its gradient, and the gradient's directional derivative
    (create_graph) by the same rule. (softmax_cross_entropy refuses booleans, as PyTorch's
    cross_entropy does: tests/nn/test_cross_entropy_targets_s61.py.)"""
    xp, device = _library(name)
    function = getattr(cr, loss)

    def first_and_second(z, targets):
        E = function(z, targets)
        (g,) = cr.gradient(E, [z], create_graph=create_graph)
        if not create_graph:
            return E, g, None
        (h,) = cr.gradient((g * g).sum(), [z])
        return E, g, h

    want = first_and_second(cr.tensor(LOGITS, requires_grad=True), ONE_HOT.astype(float))
    z = cr.tensor(LOGITS, xp=xp, device=device, requires_grad=True)
    own = ONE_HOT if xp is np else xp.asarray(ONE_HOT, device=device)  # the library's bools
    for targets in (ONE_HOT, own):
        got = first_and_second(z, targets)
        for mine, theirs in zip(got, want):
            if theirs is not None:
                np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# F1: NumPy arrays, lists and numbers join another library's tensor in every op
# ---------------------------------------------------------------------------------------------

V = np.array([1.0, 2.0, 3.0])

#: op -> (function of x and the operand, on any library), each with the operand on either side
JOINS = {
    "x + a": lambda x, a: x + a,
    "a + x": lambda x, a: a + x,
    "x - a": lambda x, a: x - a,
    "a - x": lambda x, a: a - x,
    "x * a": lambda x, a: x * a,
    "a * x": lambda x, a: a * x,
    "x / a": lambda x, a: x / a,
    "a / x": lambda x, a: a / x,
    "x ** a": lambda x, a: x**a,
    "x @ a": lambda x, a: x @ a,
    "a @ x": lambda x, a: a @ x,
    "maximum": lambda x, a: cr.maximum(x, a),
    "minimum(a, x)": lambda x, a: cr.minimum(a, x),
    "where(c, x, a)": lambda x, a: cr.where(np.array([True, False, True]), x, a),
    "where(c, a, x)": lambda x, a: cr.where(np.array([True, False, True]), a, x),
    "concatenate([x, a])": lambda x, a: cr.concatenate([x, a]),
    "concatenate([a, x])": lambda x, a: cr.concatenate([a, x]),
    "stack([a, x])": lambda x, a: cr.stack([a, x]),
}


@pytest.mark.parametrize("name", ["torch", "strict"])
@pytest.mark.parametrize("operand", ["array", "list"])
@pytest.mark.parametrize("op", sorted(JOINS))
def test_numpy_arrays_and_lists_join_another_librarys_tensor(name, operand, op):
    """README: "NumPy arrays and lists join the other library"; arithmetic, matmul, maximum,
    where's branches and concatenate raised ArrayLibraryError (a list called "numpy").
    Oracle: the same op all on NumPy, its value and its gradient."""
    xp, device = _library(name)
    a = V + 0.5 if operand == "array" else (V + 0.5).tolist()
    f = JOINS[op]

    def value_and_grad(x):
        y = f(x, a)
        (g,) = cr.gradient((y * y).sum(), [x])
        return y, g

    want_y, want_g = value_and_grad(cr.tensor(V, requires_grad=True))
    x = cr.tensor(V, xp=xp, device=device, requires_grad=True)
    y, g = value_and_grad(x)
    assert y.xp is x.xp and g.xp is x.xp
    assert str(y.device) == str(x.device)
    np.testing.assert_allclose(y.numpy(), want_y.numpy(), rtol=1e-14)
    np.testing.assert_allclose(g.numpy(), want_g.numpy(), rtol=1e-14)


@pytest.mark.parametrize("name", ["torch", "strict"])
def test_joined_operands_take_dtypes_as_numbers_do(name):
    """A list of floats is weak, as the numbers in it are (float32 stays float32, as the
    transforms' numbers and a Python float keep it); a NumPy float64 array promotes as on NumPy;
    integers or booleans beside floats take the floats' dtype (array-api-strict mixes no kinds).
    Oracle: NumPy's float32 x * 2.0 and float32 x * float64 array."""
    xp, device = _library(name)
    x = cr.tensor(V, xp=xp, device=device, dtype=xp.float32, requires_grad=True)
    assert (x * [2.0, 2.0, 2.0]).dtype == xp.float32
    assert ([1, 2, 3] + x).dtype == xp.float32
    assert (x * np.array([1, 0, 1])).dtype == xp.float32
    assert (x * np.array([True, False, True])).dtype == xp.float32
    assert (x + V).dtype == xp.float64  # as cr.tensor(V, dtype="float32") + V on NumPy
    assert (cr.tensor(V, dtype="float32") + V).dtype == np.float64
    y = x * np.array([True, False, True])
    (g,) = cr.gradient(y.sum(), [x])
    assert g.dtype == xp.float32 and _values(g.data) == [1.0, 0.0, 1.0]


def test_a_torch_tensor_beside_a_strict_array_is_still_refused():
    """Only NumPy's arrays and Python's lists join: two other libraries are refused, naming
    both, and a torch array beside a NumPy tensor too (a tensor does not move: only bare NumPy
    arrays and lists join)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    xs = pytest.importorskip("array_api_strict")
    x = cr.tensor(V, xp=torch)
    for f in (
        lambda: x + xs.asarray(V),
        lambda: cr.concatenate([x, xs.asarray(V)]),
        lambda: cr.tensor(V) * torch.asarray(V),
        lambda: cr.concatenate([cr.tensor(V), torch.asarray(V)]),
    ):
        with pytest.raises(cr.ArrayLibraryError, match="an operand of .* and one of "):
            f()


def test_numpy_operands_beside_numpy_tensors_stay_numpy():
    """The fast path is untouched: a NumPy tensor and a NumPy array or list give NumPy arrays,
    an array of NumPy's dtype; a list's numbers are weak, as on every library
    (tests/engine/test_list_operands.py)."""
    x = cr.tensor(V.astype(np.float32))
    assert type((x + V).data) is np.ndarray and (x + V).dtype == np.float64
    assert type((x * [1.0, 2.0, 3.0]).data) is np.ndarray
    assert (x * [1.0, 2.0, 3.0]).dtype == np.float32
    assert type(cr.concatenate([x, V]).data) is np.ndarray


def test_a_tensor_of_a_numpy_scalar_does_not_move_a_list_beside_it():
    """x.sum() holds a NumPy scalar: a list beside it combines as beside x itself (float32, a
    list's numbers being weak) and stays a NumPy array, not another library's."""
    x = cr.tensor(np.ones(2, np.float32))
    assert type((x.sum() * [1.0, 2.0]).data) is np.ndarray
    assert (x.sum() * [1.0, 2.0]).dtype == (x * [1.0, 2.0]).dtype == np.float32


def test_strings_beside_another_librarys_tensor_are_refused_naming_them():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="a tensor holds numbers; an operand of <U1"):
        cr.tensor(torch.ones(2)) * ["a", "b"]
