"""Matrix multiplication, with NumPy's rules for 1-d operands and batch broadcasting."""

from __future__ import annotations

from typing import Any

from chainrule.backend import array_module
from chainrule.ops.registry import ShapeError, primitive
from chainrule.ops.shape import (
    as_tensor,
    as_tensors,
    reshape,
    swapaxes,
    transpose,
    unbroadcast,
    unsqueeze,
)
from chainrule.tensor import Tensor


def _matmul_vjp_a(g: Tensor, out: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """dE/da = dE/dout @ b^T: row i of a reaches every output in row i through b's columns."""
    if b.ndim == 1:  # out[..., m] = a[..., m, k] b[k] (and a dot product when a is 1-d too)
        return unbroadcast(unsqueeze(g, -1) * b, a.shape)
    if a.ndim == 1:  # out[..., n] = a[k] b[..., k, n]
        return unbroadcast(matmul(b, unsqueeze(g, -1))[..., 0], a.shape)
    return unbroadcast(matmul(g, swapaxes(b, -1, -2)), a.shape)


def _matmul_vjp_b(g: Tensor, out: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """dE/db = a^T @ dE/dout (for a layer z = y @ W: dE/dw_ij = sum over cases of y_i dE/dz_j)."""
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return unbroadcast(unsqueeze(a, -1) * unsqueeze(g, -2), b.shape)
    if b.ndim == 1:
        return unbroadcast(matmul(swapaxes(a, -1, -2), unsqueeze(g, -1))[..., 0], b.shape)
    return unbroadcast(matmul(swapaxes(a, -1, -2), g), b.shape)


_matmul = primitive(
    "matmul",
    lambda a, b: array_module(a).matmul(a, b),
    _matmul_vjp_a,
    _matmul_vjp_b,
    doc="a @ b; batched over leading axes, 1-d operands as in NumPy.",
)


def _check_matmul_shapes(a: Tensor, b: Tensor, op: str = "matmul") -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"{op}: shapes {a.shape} and {b.shape}: operands must not be scalars")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"{op}: shapes {a.shape} and {b.shape} do not align ({k_a} != {k_b})")


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` (for a layer: z_j = sum_i y_i w_ij is ``y @ W``)."""
    a, b = as_tensors(a, b)
    _check_matmul_shapes(a, b)
    return _matmul(a, b)


# ---------------------------------------------------------------------------------------------
# A layer's net input z = y @ W + b, fused
# ---------------------------------------------------------------------------------------------


def _linear_forward(x: Any, weight: Any, bias: Any) -> Any:
    z = array_module(x).matmul(x, weight)
    z += bias  # in place: the product is a fresh array, so no extra pass over a copy
    return z


def _as_rows(t: Tensor) -> Tensor:
    """Every case as one row: (..., n) -> (cases, n)."""
    return reshape(t, (-1, t.shape[-1]))


_linear = primitive(
    "linear",
    _linear_forward,
    lambda g, out, x, weight, bias: matmul(g, transpose(weight)),
    lambda g, out, x, weight, bias: matmul(transpose(_as_rows(x)), _as_rows(g)),
    lambda g, out, x, weight, bias: unbroadcast(g, bias.shape),
    doc="z = x @ W + b for a layer: dE/dw_ij = sum over cases of y_i dE/dz_j, dE/db_j = dE/dz_j.",
)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """A layer's net input ``x @ weight + bias`` (z_j = b_j + sum_i y_i w_ij), in one op.

    ``weight`` is (n_in, n_out): row i is the unit below, column j the unit above.
    """
    x, weight = as_tensors(x, weight)
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-d (n_in, n_out), got shape {weight.shape}")
    _check_matmul_shapes(x, weight, "linear")
    if bias is None:
        return _matmul(x, weight)
    bias = as_tensor(bias, weight)
    if bias.shape != (weight.shape[1],):
        raise ShapeError(
            f"linear: bias of shape {bias.shape} does not match weight {weight.shape} "
            f"(expected ({weight.shape[1]},))"
        )
    return _linear(x, weight, bias)
