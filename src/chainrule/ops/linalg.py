"""Matrix multiplication, with NumPy's rules for 1-d operands and batch broadcasting."""

from __future__ import annotations

from typing import Any

import numpy

from chainrule.backend import array_module, sum_rows
from chainrule.ops.registry import ShapeError, primitive
from chainrule.ops.shape import _reshape, _transpose, as_tensor, as_tensors, unbroadcast
from chainrule.tensor import Tensor

# The rules below run on tensors or plain arrays alike (see registry), so they use primitives.


def _column(t: Any) -> Any:
    """(..., n) -> (..., n, 1)."""
    return _reshape(t, shape=t.shape + (1,))


def _row(t: Any) -> Any:
    """(..., n) -> (..., 1, n)."""
    return _reshape(t, shape=t.shape[:-1] + (1, t.shape[-1]))


def _swap_last(t: Any) -> Any:
    """Exchange the last two axes: a batch of matrices transposed."""
    axes = tuple(range(t.ndim - 2)) + (t.ndim - 1, t.ndim - 2)
    return _transpose(t, axes=axes)


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    """dE/da = dE/dout @ b^T: row i of a reaches every output in row i through b's columns."""
    if b.ndim == 1:  # out[..., m] = a[..., m, k] b[k] (and a dot product when a is 1-d too)
        return unbroadcast(_column(g) * b, a.shape)
    if a.ndim == 1:  # out[..., n] = a[k] b[..., k, n]
        return unbroadcast(_matmul(b, _column(g))[..., 0], a.shape)
    return unbroadcast(_matmul(g, _swap_last(b)), a.shape)


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    """dE/db = a^T @ dE/dout (for a layer z = y @ W: dE/dw_ij = sum over cases of y_i dE/dz_j)."""
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return unbroadcast(_column(a) * _row(g), b.shape)
    if b.ndim == 1:
        return unbroadcast(_matmul(_swap_last(a), _column(g))[..., 0], b.shape)
    return unbroadcast(_matmul(_swap_last(a), g), b.shape)


_matmul = primitive(
    "matmul",
    lambda a, b: array_module(a).matmul(a, b),
    _matmul_vjp_a,
    _matmul_vjp_b,
    doc="a @ b; batched over leading axes, 1-d operands as in NumPy.",
)


def _check_matmul_shapes(a: Tensor, b: Tensor, op: str = "matmul") -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)}: operands must not be scalars"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align ({k_a} != {k_b})"
        )
    if a.ndim <= 2 or b.ndim <= 2:  # a layer's product, no batch on one side: nothing to check
        return
    batch_a, batch_b = tuple(a.shape[:-2]), tuple(b.shape[:-2])
    if batch_a == batch_b:
        return
    try:
        numpy.broadcast_shapes(batch_a, batch_b)
    except ValueError:  # NumPy's own words show its internal remapped shapes
        raise ShapeError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)}: the batch dimensions "
            f"{batch_a} and {batch_b} do not broadcast"
        ) from None


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` (for a layer: z_j = sum_i y_i w_ij is ``y @ W``)."""
    a, b = as_tensors(a, b)
    _check_matmul_shapes(a, b)
    return _matmul(a, b)


# ---------------------------------------------------------------------------------------------
# A layer's net input z = y @ W + b, fused
# ---------------------------------------------------------------------------------------------


def _promoted_product(a: Any, b: Any, error: Exception) -> Any:
    """``a @ b`` in the two arrays' promoted dtype, after ``a @ b`` raised ``error``.

    PyTorch's ``@`` refuses two dtypes (float32 @ float64) where NumPy and the array API
    standard promote; ``matmul`` promotes on every library (array-api-compat's namespace does),
    and so do the layer's rules, which use the operator for speed: they come here only once it
    has failed, so NumPy's hot path pays nothing. An error that is not about the dtypes (they
    agree) is raised as it was.
    """
    if a.dtype == b.dtype:
        raise error
    xp = array_module(a)
    dtype = xp.result_type(a, b)
    return xp.astype(a, dtype, copy=False) @ xp.astype(b, dtype, copy=False)


def _linear_forward(x: Any, weight: Any, bias: Any) -> Any:
    try:
        z = x @ weight  # the operator: any array module's matmul, with no lookup per call
    except RuntimeError as error:  # PyTorch's @ on two dtypes
        z = _promoted_product(x, weight, error)
    if bias.dtype is z.dtype:
        z += bias  # in place: the product is a fresh array, so no extra pass over a copy
        return z
    return z + bias  # a wider bias promotes, as x @ weight + bias does: += would cast it down


def _as_rows(t: Any) -> Any:
    """Every case as one row: (..., n) -> (cases, n)."""
    return t if t.ndim == 2 else _reshape(t, shape=(-1, t.shape[-1]))


def _linear_vjp_x(g: Any, out: Any, x: Any, weight: Any, bias: Any) -> Any:
    """dE/dy_i = sum_j w_ij dE/dz_j."""
    try:
        return g @ weight.T
    except RuntimeError as error:  # PyTorch's @ on two dtypes
        return _promoted_product(g, weight.T, error)


def _linear_vjp_weight(g: Any, out: Any, x: Any, weight: Any, bias: Any) -> Any:
    """dE/dw_ij = sum over cases of y_i dE/dz_j."""
    if x.ndim != 2:
        x, g = _as_rows(x), _as_rows(g)
    try:
        return x.T @ g
    except RuntimeError as error:  # PyTorch's @ on two dtypes
        return _promoted_product(x.T, g, error)


def _linear_vjp_bias(g: Any, out: Any, x: Any, weight: Any, bias: Any) -> Any:
    """dE/db_j = sum over cases of dE/dz_j: a NumPy batch's through :func:`sum_rows` (a BLAS
    product, blocked over many cases), anything else (cases over several axes, a tensor with
    ``create_graph``, another library's array) through :func:`unbroadcast`."""
    if type(g) is numpy.ndarray and g.ndim == 2:
        return sum_rows(g)
    return unbroadcast(g, bias.shape)


# ``@``, ``.T`` and ``.reshape`` mean the same on arrays and on tensors, so these rules run in
# both modes without a primitive call per step (the layer's backward is the hot path).
_linear = primitive(
    "linear",
    _linear_forward,
    _linear_vjp_x,
    _linear_vjp_weight,
    _linear_vjp_bias,
    doc="z = x @ W + b for a layer: dE/dw_ij = sum over cases of y_i dE/dz_j, dE/db_j = dE/dz_j.",
)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """A layer's net input ``x @ weight + bias`` (z_j = b_j + sum_i y_i w_ij), in one op.

    ``weight`` is (n_in, n_out): row i is the unit below, column j the unit above.
    """
    x, weight = as_tensors(x, weight)
    if weight.ndim != 2:
        raise ShapeError(
            f"linear: weight must be 2-d (n_in, n_out), got shape {tuple(weight.shape)}"
        )
    _check_matmul_shapes(x, weight, "linear")
    if bias is None:
        return _matmul(x, weight)
    bias = as_tensor(bias, weight)
    if bias.shape != (weight.shape[1],):
        raise ShapeError(
            f"linear: bias of shape {tuple(bias.shape)} does not match weight "
            f"{tuple(weight.shape)} "
            f"(expected ({weight.shape[1]},))"
        )
    return _linear(x, weight, bias)
