"""Only a real floating-point tensor gets a gradient.

``requires_grad_`` refuses an integer tensor (as PyTorch does), but ``w.data = np.array([[1,
-1]])`` on a parameter (integer literals) went through: with an integer input the whole graph
was integer, backward gave ``w.grad`` of int64 (dE/dw truncated), and the optimizer's step then
failed with NumPy's casting error. PyTorch refuses the assignment itself (the reference below);
chainrule refuses the backward, naming the tensor, and changes no ``.grad``.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _parameter_set_to(values) -> cr.Tensor:
    """A float parameter whose ``.data`` was then set to ``values`` (not floating)."""
    w = cr.tensor(np.zeros(np.shape(values)), requires_grad=True)
    w.data = np.asarray(values)
    return w


def _backward(out, lane: str, leaf) -> None:
    """Differentiate ``out`` (one number) by each way a gradient is asked for."""
    if lane == "backward":
        out.backward()
    elif lane == "backward(gradient=)":
        out.backward(gradient=np.ones(out.shape))
    elif lane == "create_graph":
        out.backward(create_graph=True)
    else:  # "cr.gradient": a gradient for given targets, no .grad
        cr.gradient(out, [leaf])


LANES = ["backward", "backward(gradient=)", "create_graph", "cr.gradient"]


def test_torch_refuses_integer_values_for_a_tensor_that_requires_a_gradient(torch):
    """The reference: integers cannot carry a gradient, set either way."""
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([[1, -1]], requires_grad=True)
    w = torch.zeros((2, 1), requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        w.data = torch.tensor([[1], [-1]])


@pytest.mark.parametrize("lane", LANES)
def test_an_all_integer_graph_is_refused_naming_the_leaf(lane):
    w = _parameter_set_to([[1], [-1]])
    w.name = "w"
    out = (cr.tensor(np.array([[1, 2]])) @ w).sum()  # int64 all the way: the seed too
    with pytest.raises(TypeError) as refusal:
        _backward(out, lane, w)
    message = str(refusal.value)
    assert "int64" in message and "(2, 1)" in message and "'w'" in message, message
    assert "dtype=float" in message, message  # what to do
    assert w.grad is None


@pytest.mark.parametrize("lane", LANES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_an_integer_leaf_cast_to_float_on_the_way_is_refused_not_given_integers(dtype, lane):
    """The output is float, but the cast's rule sends the gradient back in the leaf's own dtype:
    no cast met it on the way, and the leaf's ``.grad`` was integer (0.5 -> 0)."""
    w = _parameter_set_to(np.array([1, 0, 1], dtype=dtype))
    out = (w.astype("float64") * 0.5).sum()
    with pytest.raises(TypeError, match=rf"reached a tensor of {dtype} .*\(shape \(3,\)"):
        _backward(out, lane, w)
    assert w.grad is None


def test_an_optimizer_after_the_refusal_moves_nothing():
    """The step that failed half-way with NumPy's casting error has no gradient to apply."""
    w = _parameter_set_to([[1], [-1]])
    with pytest.raises(TypeError):
        (cr.tensor(np.array([[1, 2]])) @ w).sum().backward()
    cr.optim.SGD([w], lr=0.1).step()
    np.testing.assert_array_equal(w.data, [[1], [-1]])


def test_a_leaf_differentiated_by_itself_is_refused():
    w = _parameter_set_to([3])
    with pytest.raises(TypeError, match=r"output differentiated is int64 \(shape \(1,\)\)"):
        w.backward()
    assert w.grad is None


def test_a_leaf_set_to_complex_values_is_refused_as_forward_only():
    """A complex leaf got a complex gradient, from the real rules (see COMPLEX_FORWARD_ONLY)."""
    w = _parameter_set_to(np.array([1 + 2j, 3 - 1j]))
    with pytest.raises(TypeError, match="complex128.*complex numbers are forward-only"):
        (w * 2.0).sum().backward()
    assert w.grad is None


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_a_leaf_set_to_other_floats_still_gets_its_gradient(dtype):
    """d/dw sum(x w^2) = 2 x w, in the leaf's own dtype: floating leaves are not refused."""
    w = _parameter_set_to(np.array([1.0, -2.0, 0.5], dtype=dtype))
    x = np.array([3.0, 1.0, 2.0], dtype=dtype)
    (cr.tensor(x) * w * w).sum().backward()
    assert w.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(w.grad.numpy(), 2 * x * w.data, rtol=1e-3)
