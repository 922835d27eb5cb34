"""Reductions: sum, mean, max, min, var, norm (over all elements or chosen axes, with keepdims)."""

from __future__ import annotations

import warnings
from typing import Any, Never

import numpy

from chainrule import backend
from chainrule.backend import BLOCKED_ROWS, array_module, host_sum
from chainrule.ops.elementwise import _masked, _where, astype
from chainrule.ops.registry import array_of, primitive
from chainrule.ops.shape import (
    _broadcast_to,
    _reshape,
    as_tensor,
    kept_shape,
    normalize_axes,
    sum_cases_first,
)
from chainrule.tensor import Tensor, torch_keywords

#: The mean of no values.
NAN = float("nan")
#: 1 / 0 for a variance without degrees of freedom (``ddof`` at least the number of values).
INF = float("inf")


def expand_reduced(g: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """A reduction's gradient ``g`` spread back over the reduced axes of ``x`` (tensor or array)."""
    if not keepdims:
        g = _reshape(g, shape=kept_shape(x.shape, axes))
    return g if g.shape == x.shape else _broadcast_to(g, shape=x.shape)


def sum_array(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """The array ``x`` summed over ``axes`` (ascending), in ``x``'s library: ``sum``'s forward,
    and the sum of every reduction that adds up many values (mean, var, logsumexp).

    A NumPy array of :data:`~chainrule.backend.BLOCKED_ROWS` elements or more that keeps some
    axis goes through :func:`~chainrule.ops.shape.sum_cases_first`: NumPy adds the rows of a
    leading reduced axis one at a time, so its float32 error grew with them (the mean of a
    million rows of 100.5 was 101.36); smaller arrays, the per-op path, take NumPy's sum as
    they always did. float16 is added in float32 and rounded once, at any size
    (:func:`~chainrule.backend.host_sum`)."""
    if type(x) is numpy.ndarray:
        if x.size < BLOCKED_ROWS:  # a layer's tensors: one comparison, NumPy's sum as before
            return host_sum(x, axes, keepdims)  # (float16's in float32)
        return _sum_many(x, axes, keepdims)
    return array_module(x).sum(x, axis=axes, keepdims=keepdims)


def _sum_many(x: numpy.ndarray, axes: tuple[int, ...], keepdims: bool) -> numpy.ndarray:
    """:func:`sum_array` of a large NumPy array: a leading run of reduced axes that keeps some
    axis as cases in blocks; anything else by NumPy, whose sum of every axis is already
    pairwise (in memory order) and whose later axes are not the rows it adds one by one."""
    if not axes or axes[0] != 0 or len(axes) == x.ndim:
        return host_sum(x, axes, keepdims)
    kept = kept_shape(x.shape, axes)
    shape = kept if keepdims else tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return sum_cases_first(x, axes).reshape(shape)


_sum = primitive(
    "sum",
    sum_array,
    lambda g, out, x, axes, keepdims: expand_reduced(g, x, axes, keepdims),
)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default).

    On NumPy a tensor of 4,096 elements or more summed over leading axes (axis 0 of a tall
    matrix) adds their rows in blocks, as the backward's sums over cases do: the float32 error
    stays near 1e-7 relative, as PyTorch's, where NumPy's sum over axis 0 adds the rows one at
    a time (the mean of a million rows of 100.5 came out 101.36). mean, var, logsumexp and
    softmax sum the same way; smaller tensors get NumPy's sum, bit for bit. A float16 tensor
    is added in float32 and rounded once, as PyTorch adds it (NumPy adds float16 rows in
    float16: 1,024 rows of 0.1 summed to 108.2, not 102.4)."""
    x = as_tensor(x)
    return _sum(x, axes=normalize_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def _floating(x: Tensor) -> Tensor:
    """``x``, integers and booleans cast to the library's float (the standard mixes no integer
    array with a float)."""
    if backend.is_floating(x.dtype, x.xp):
        return x
    return x.astype(backend.dtype_name(backend.default_float(x.xp, x.data)))


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes by default); the mean of no values is NaN, as in NumPy.
    Integers are averaged in the library's float, as NumPy averages them, on any library; a
    float16 (a float too narrow to hold a count: float8s too) in float32, rounded back once, as
    NumPy and PyTorch average it."""
    x = _floating(as_tensor(x))
    if _narrow(x):
        return astype(mean(astype(x, "float32"), axis, keepdims), x.dtype)
    axes = normalize_axes(axis, x.ndim, "mean")
    count = _count(x.shape, axes)
    total = sum(x, axes, keepdims)
    # divided, not times 1 / count: one rounding, as NumPy's and PyTorch's (the product was 1
    # ulp off theirs in float32 for a third of inputs, and var inherited it)
    return total / count if count else total * NAN


def _narrow(x: Tensor) -> bool:
    """Whether ``x`` is a float too narrow to reduce in (float16: a count past 65504 was inf,
    and 1 / count subnormal, so its means and variances went to 0; a norm of ten 300s was inf):
    :func:`~chainrule.backend.narrow_float`. NumPy and PyTorch compute them in float32."""
    return backend.narrow_float(x.dtype, x.xp)


def var(
    x: Any, axis: Any = None, *positional: Never, keepdims: bool = False, ddof: int = 0
) -> Tensor:
    """Variance over ``axis``, dividing by ``n - ddof`` (of integers in the library's float).

    ``ddof`` is 0 by default, as in NumPy: PyTorch's ``var`` divides by ``n - 1``
    (``correction=1``). ``keepdims`` and ``ddof`` are keywords only: PyTorch's ``x.var(0,
    True)`` means unbiased, which read positionally here would have kept the dimension and
    divided by n, silently. So ``positional`` takes nothing (``Never``: a type checker flags
    any): an argument after ``axis`` is a TypeError that says so.

    Where ``n - ddof`` is 0 or less it divides by 0, as NumPy and PyTorch do (``np.var(x,
    ddof=n)``, ``torch.var(x, correction=n)``, both also for ``ddof > n``): inf where the values
    differ, NaN where they are all alike or there are none (0 / 0), with a RuntimeWarning
    saying why. The gradient there is the limit of ``2 (x - mean) / (n - ddof)``: -inf or inf
    by the sign of ``x - mean``, NaN where ``x`` is the mean, as ``torch.var(x, dim=...,
    correction=n)`` gives it (torch's whole-tensor ``x.var(correction=n)`` drops the sign).
    """
    if positional:  # named, with what PyTorch's var(dim, True) is here
        raise TypeError(
            f"var: only the axis is positional, then keepdims= and ddof= by name; got "
            f"{', '.join(map(repr, (axis, *positional)))} after the tensor (PyTorch's "
            "var(dim, True) is var(axis, ddof=1) here; ddof=0 divides by n, as in NumPy)"
        )
    x = _floating(as_tensor(x))
    if _narrow(x):  # in float32, as mean
        return astype(var(astype(x, "float32"), axis, keepdims=keepdims, ddof=ddof), x.dtype)
    axes = normalize_axes(axis, x.ndim, "var")
    count = _count(x.shape, axes)
    centre = mean(x, axes, keepdims=True)
    freedom = count - ddof
    if freedom > 0:
        deviation = x - centre
        return sum(deviation * deviation, axes, keepdims) / freedom
    warnings.warn(
        f"var: ddof={ddof} leaves no degrees of freedom for {count} values: the variance "
        "divides by 0 (inf; NaN where the values are all alike or there are none), as in NumPy "
        "and PyTorch",
        RuntimeWarning,
        stacklevel=2,
    )
    # the mean's own share of the gradient is 0 (the deviations sum to 0), but times 1/0 it
    # is inf - inf, NaN for every element: leave it out, as torch's rule does
    return _spread_over_nothing(x - centre.detach(), axes=axes, keepdims=keepdims)


def _squares_over_nothing(deviation: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    with numpy.errstate(invalid="ignore"):  # 0 * inf: NaN, which var's warning explains
        return (
            array_module(deviation).sum(deviation * deviation, axis=axes, keepdims=keepdims) * INF
        )


def _squares_over_nothing_vjp(
    g: Any, out: Any, deviation: Any, axes: tuple[int, ...], keepdims: bool
) -> Any:
    # 2 (x - mean) / 0: NaN where x is the mean (0 * inf), which var's warning has explained;
    # the general product rule would warn again in backward
    with numpy.errstate(invalid="ignore"):
        return expand_reduced(g, deviation, axes, keepdims) * (deviation * (2 * INF))


#: The sum of squared deviations divided by 0 degrees of freedom, one op so that its forward and
#: backward each say 0 * inf once, in var's warning.
_spread_over_nothing = primitive(
    "var_without_freedom", _squares_over_nothing, _squares_over_nothing_vjp
)


def _extreme_vjp(g: Any, out: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """The gradient goes to the elements that attain the extreme, shared equally between ties; a
    NaN extreme is attained by the NaNs (NumPy's max of a NaN is NaN, as PyTorch's is), which
    share its gradient, where ``x == NaN`` would find none and divide 0 by 0."""
    extreme = array_of(out)
    if not keepdims:
        extreme = backend.reshape(extreme, kept_shape(x.shape, axes))
    values = array_of(x)
    found = values == extreme
    xp = array_module(found)
    if bool(xp.any(xp.isnan(extreme))):
        found = found | (xp.isnan(values) & xp.isnan(extreme))
    hits = backend.astype(found, x.dtype)
    share = hits / array_module(hits).sum(hits, axis=axes, keepdims=True)
    return expand_reduced(g, x, axes, keepdims) * share


def _reduce_forward(name: str):
    def forward(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
        # only a reduced axis of length 0 leaves nothing to take the extreme of: (0, 3) over
        # axis 1 is an empty result, as in NumPy
        if backend.size(x) == 0 and any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{name} over an empty axis has no value")
        return getattr(array_module(x), name)(x, axis=axes, keepdims=keepdims)

    return forward


_max = primitive("max", _reduce_forward("max"), _extreme_vjp)
_min = primitive("min", _reduce_forward("min"), _extreme_vjp)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Largest value over ``axis``; tied maxima share the gradient equally."""
    x = as_tensor(x)
    return _max(x, axes=normalize_axes(axis, x.ndim, "max"), keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Smallest value over ``axis``; tied minima share the gradient equally."""
    x = as_tensor(x)
    return _min(x, axes=normalize_axes(axis, x.ndim, "min"), keepdims=keepdims)


def _norm_forward(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    return array_module(x).sqrt(sum_array(x * x, axes, keepdims))


def _norm_vjp(g: Any, out: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """g x / norm, and 0 where the norm is 0 (PyTorch's subgradient, which ``F.normalize``
    relies on), whatever g is there (g is cut first: an infinite g times x's 0 is no NaN), and
    without a 0 / 0 in either mode.

    With ``create_graph`` (tensors) the division is recorded, so the second derivative is
    (I - u u^T) / norm away from 0. At a zero norm the norm has no second derivative: the slope
    x / norm jumps there, and its derivative, infinite, meets a cotangent that may itself vanish
    there (norm(x)**2 sends 2 norm(x), and 0 times that infinity is the true 2I), so no finite
    number is right. The recorded rule keeps the value 0 but takes its derivative in x from
    :data:`_slope_jump`: NaN over a zero vector's elements wherever a nonzero
    cotangent comes back to them, as PyTorch's NaN (which it gives even for a zero one)."""
    norm = expand_reduced(out, x, axes, keepdims)
    nonzero = array_of(norm) != 0
    safe = _where(norm, 1.0, condition=nonzero)  # the norm, 1 where it is 0 (there x is 0 too)
    slope = _masked(expand_reduced(g, x, axes, keepdims), nonzero) * (x / safe)
    if not isinstance(x, Tensor) or bool(array_module(nonzero).all(nonzero)):
        return slope  # a first derivative (arrays), or no zero vector: nothing else to record
    # 0 at the zero vectors (the sign of x, as the subgradient's 0 * x), recorded through x
    kink = _slope_jump(_masked(x, ~nonzero), axes=axes)
    return _where(slope, kink, condition=nonzero)


def _undefined_block_forward(w: Any, axes: tuple[int, ...]) -> Any:
    xp = array_module(w)
    reached = w != 0  # NaN compares unequal: reached
    if axes:  # axis=() is elementwise (torch's any over dim=() is over every axis)
        reached = xp.any(reached, axis=axes, keepdims=True)
    return xp.where(reached, w * NAN, w)


#: w times a block that does not exist (d(x / norm)/dx at a zero vector), one block per vector
#: (the elements ``axes`` reduce): NaN over a vector that any nonzero element of w reaches,
#: w's zeros elsewhere. The block is symmetric, so the rule is the op itself: NaN where a
#: nonzero cotangent comes back, at every order. (``power_slope_undefined``, elementwise, summed
#: over the vector, would cancel: w = [1, -1].)
_undefined_block = primitive(
    "norm_curvature_undefined",
    _undefined_block_forward,
    lambda g, out, w, axes: _undefined_block(g, axes=axes),
    doc="Part of norm's second derivative, which a zero vector has none of: w times that "
    "block, NaN over a vector w reaches with a nonzero element, w's zeros elsewhere.",
)

#: The jump of norm's slope x / norm at a zero vector, as a function of x there: 0 (its
#: subgradient; x * 0 keeps x's sign), with the undefined block as its derivative, so that a
#: second derivative is NaN in both modes. Its input is x at the zero vectors (finite) and 0
#: elsewhere. Forward mode transposes the reverse pass over zero dummies and differentiates it
#: in them: the tangent reaches the block before any factor, where a product by a constant 0
#: (x * 0 recorded) would have made it 0 first.
_slope_jump = primitive(
    "norm_slope_jump",
    lambda x, axes: x * 0.0,
    lambda g, out, x, axes: _undefined_block(g, axes=axes),
    doc="Part of norm's derivative: its slope x / norm jumps at a zero vector. 0 there, "
    "with no derivative (NaN where a nonzero cotangent comes back).",
)


_norm = primitive(
    "norm",
    _norm_forward,
    _norm_vjp,
    doc="The 2-norm sqrt(sum(x * x)); its gradient x / norm is taken as 0 where the norm is 0.",
)


def norm(
    x: Any,
    *positional: Never,
    axis: Any = None,
    keepdims: bool = False,
    **other_names: Never,
) -> Tensor:
    """The Euclidean (2-)norm over ``axis`` (all axes by default: a matrix's Frobenius norm),
    ``sqrt(sum(x * x))``, as ``torch.linalg.vector_norm`` and NumPy's ``linalg.vector_norm``
    (unscaled, as theirs: past about 1e154 in float64, 1e19 in float32, it is inf); integers in
    the library's float.

    Its gradient is ``x / norm``, and 0 where the norm is 0, as in PyTorch: written as
    ``cr.sqrt((x * x).sum())`` it is 0 / 0 = NaN at a zero vector (``x / norm(x)`` itself is
    still NaN there: divide by ``cr.maximum(norm(x), eps)``, as ``F.normalize`` does). Its second
    derivative is PyTorch's away from a zero norm; at one the norm has none, and a Hessian or
    Hessian-vector product is NaN over the zero vector's elements (as PyTorch's), not a finite
    number: 0 there made ``hessian(lambda x: norm(x) ** 2)`` at 0 come out 0, where it is 2I
    (write ``(x * x).sum()`` for that).

    ``axis`` and ``keepdims`` are keywords only: a second argument is the order of the norm in
    ``torch.norm(x, 1)``, ``x.norm(1)``, ``torch.linalg.vector_norm(x, 1)`` and
    ``numpy.linalg.norm(x, 1)`` (the 1-norm), which read as the axis would have been another
    number, silently. It is refused, as are PyTorch's ``p=`` and NumPy's ``ord=``, saying so.

    >>> import chainrule as cr
    >>> cr.norm(cr.tensor([3.0, 4.0]))
    tensor(5.)
    """
    if positional or other_names:
        raise _not_taken_by_norm(positional, other_names)
    x = _floating(as_tensor(x))
    if _narrow(x):  # in float32, as mean: float16's squares overflow past 255
        return astype(norm(astype(x, "float32"), axis=axis, keepdims=keepdims), x.dtype)
    return _norm(x, axes=normalize_axes(axis, x.ndim, "norm"), keepdims=keepdims)


#: The libraries whose name for the order of a norm chainrule's norm refuses.
_ORDER_NAMES = {"p": "PyTorch's p", "ord": "NumPy's ord"}


def _not_taken_by_norm(positional: tuple, names: dict[str, Any]) -> TypeError:
    """The refusal of what :func:`norm` and ``Tensor.norm`` do not take: an argument after the
    tensor or ``p=`` / ``ord=`` (the order of the norm, which chainrule's is not told: it is the
    2-norm), or PyTorch's ``dim=`` / ``keepdim=`` (by ``torch_keywords``)."""
    only = (
        "chainrule's norm does not take it: it is the 2-norm only (PyTorch's default), over "
        "the axes given by keyword, norm(x, axis=1) or x.norm(axis=1); for the 1-norm (p=1) "
        "write abs(x).sum(axis=...), for p=inf abs(x).max(axis=...)"
    )
    if positional:
        given = ", ".join(map(repr, positional))
        return TypeError(
            f"norm: {given} after the tensor would be the order of the norm, as in "
            f"torch.norm(x, {given}), x.norm({given}) and numpy.linalg.norm(x, {given}); "
            f"{only}"
        )
    order = next((name for name in names if name in _ORDER_NAMES), None)
    if order is None:
        return torch_keywords("norm", names)
    return TypeError(
        f"norm: {order}={names[order]!r} is {_ORDER_NAMES[order]}, the order of the norm; "
        f"leave {order}= out: {only}"
    )
