"""Neural-network primitives: the logistic function and other units, softmax and its relatives.

These have rules of their own (rather than being composed) because the rule is cheaper from the
saved output (the logistic unit's dy/dz = y (1 - y)) or because only a fused form is stable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from chainrule import backend
from chainrule.backend import BLAS_FLOATS, array_module, shared_vector
from chainrule.checks import is_integer
from chainrule.engine import apply
from chainrule.errors import DataError, LabelError
from chainrule.ops.elementwise import _exp, _masked
from chainrule.ops.reduce import _sum, sum_array
from chainrule.ops.registry import ShapeError, array_of, primitive
from chainrule.ops.shape import _reshape, as_tensor, kept_shape, normalize_axes, single_axis
from chainrule.tensor import Tensor

# the reductions themselves: ``ndarray.max`` and ``.sum`` are Python wrappers around them
_add_reduce, _max_reduce = numpy.add.reduce, numpy.maximum.reduce
_min_reduce = numpy.minimum.reduce


def _logistic(z: Any) -> Any:
    """1 / (1 + e^-z), exact at any z, in four passes over one fresh array.

    Where e^-z overflows (z < -709 in float64, -88.7 in float32) it becomes inf and 1 / (1 + inf)
    is exactly 0, the right limit; only NumPy's overflow warning is silenced, for the exp (the
    other passes cannot overflow). Down to z = -745 (float64) or -103.9 (float32) the exact
    value is a subnormal number, which this gives as 0, as PyTorch 2.13 does on CPU: off by
    less than the smallest normal number (2.2e-308, 1.2e-38), where computing it would cost
    every step a second, two-sided pass. Complex z, and other array libraries:
    :func:`_two_sided_logistic`.
    """
    if type(z) is not numpy.ndarray or z.dtype.kind not in "fc":  # read at once: every step
        z = backend.as_floating(z)  # integers, booleans: the library's default float (float64)
        xp = array_module(z)  # (a NumPy array of floats, every step's, needs no look-up)
        if xp is not numpy:  # the standard has no out= and no errstate to silence an overflow
            return _two_sided_logistic(xp, z)
    if z.dtype.kind == "c":
        return numpy.asarray(_two_sided_logistic(numpy, z))  # a 0-d result must be an array too
    y = numpy.negative(z) if z.ndim else numpy.asarray(-z)  # a 0-d result must be an array too
    backend.ignoring_overflow(numpy.exp, y, out=y)
    y += 1
    # 1 / y, correctly rounded as reciprocal is (the same bits for real floats), but NumPy's
    # divide has SIMD loops where its reciprocal has none: 1.7x faster on float32 and float64
    return numpy.divide(1, y, out=y)


def _two_sided_logistic(xp: Any, z: Any) -> Any:
    """1 / (1 + e^-z) from the side where the exponential is at most 1 in size: complex z, and
    real z in an array library other than NumPy.

    Where Re z < 0, e^-z can overflow. An infinite complex number has no usable phase:
    1 / (1 + e^-z) would be nan + nan j (at -1000 + 1e-20j, a complex step's point, whose true
    value underflows to 0); a real one gives the right limit, 0, but with the library's overflow
    warning (array-api-strict's NumPy), which the standard has no ``errstate`` to silence. There
    the same function is e^z / (1 + e^z), whose e^z is small. (NumPy's real path silences the
    one warning instead, in four passes: see :func:`_logistic`.)
    """
    left = (z if backend.is_real_floating(z.dtype, xp) else xp.real(z)) < 0
    small = xp.exp(xp.where(left, z, -z))  # e^z left of the imaginary axis, e^-z right of it
    return xp.where(left, small / (1 + small), 1 / (1 + small))


def _logistic_vjp(g: Any, out: Any, z: Any) -> Any:
    """dE/dz = dE/dy y (1 - y), from the saved output y alone.

    ``slope`` is a fresh array, so ``*=`` can work in place on bare arrays (one temporary, not
    three); on tensors ``*=`` makes a new recorded product, so the rule stays differentiable.
    """
    slope = 1 - out
    slope *= out
    slope *= g
    return slope


def _tanh_vjp(g: Any, out: Any, x: Any) -> Any:
    """dE/dx = dE/dy (1 - y^2), in place on a fresh array as in :func:`_logistic_vjp`."""
    slope = out * out
    slope *= -1
    slope += 1
    slope *= g
    return slope


_sigmoid = primitive(
    "sigmoid",
    _logistic,
    _logistic_vjp,
    doc="The logistic unit y = 1 / (1 + e^-z); dy/dz = y (1 - y) from the saved output.",
)
_tanh = primitive(
    "tanh",
    lambda x: array_module(x).tanh(backend.as_floating(x)),
    _tanh_vjp,
    doc="Hyperbolic tangent; d tanh/dx = 1 - tanh^2.",
)
_relu = primitive(
    "relu",
    lambda x: array_module(x).maximum(x, 0),
    # g selected where the output is not 0 (x > 0, or x NaN, whose output is NaN: PyTorch sends
    # g through there too), not multiplied by a mask: an infinite g where x <= 0 gives 0 (as
    # PyTorch does), not inf * 0 = NaN. One comparison, as x > 0 was.
    lambda g, out, x: _masked(g, out != 0),
    doc="max(x, 0); the derivative at 0 is taken as 0, at NaN as 1 (as in PyTorch).",
)
_softplus = primitive(
    "softplus",
    lambda x: array_module(x).logaddexp(0, backend.as_floating(x)),
    lambda g, out, x: g * _sigmoid(x),
    doc="log(1 + e^x), stable for large |x|; its derivative is the logistic function.",
)


def sigmoid(z: Any) -> Tensor:
    """The logistic function y = 1 / (1 + e^-z), exact and warning-free at any z."""
    if type(z) is Tensor:  # the common case: straight to the engine
        return apply(_sigmoid, (z,), {})
    return _sigmoid(as_tensor(z))


logistic = sigmoid


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    if type(x) is Tensor:  # the common case: straight to the engine
        return apply(_tanh, (x,), {})
    return _tanh(as_tensor(x))


def relu(x: Any) -> Tensor:
    """max(x, 0); the derivative at 0 is taken as 0."""
    if type(x) is Tensor:  # the common case: straight to the engine
        return apply(_relu, (x,), {})
    return _relu(as_tensor(x))


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), stable for large |x|.

    Its gradient is the logistic function, computed as :func:`sigmoid` computes it: where the
    exact value is a subnormal number (x from -88.7 down to -103.9 in float32, -709 to -745 in
    float64) it is 0, off by less than the smallest normal number (1.2e-38, 2.2e-308).
    PyTorch's softplus gradient keeps the subnormal (3.8e-44 at x = -100 in float32), where
    its own sigmoid flushes it to 0 too."""
    return _softplus(as_tensor(x))


def _stable_max(x: Any, axes: tuple[int, ...], keep_inf: bool = False) -> Any:
    """The max over ``axes`` (kept); a non-finite max becomes 0 so that x - max stays finite.

    With ``keep_inf`` a +inf max stays, for softmax: its row then is NaN throughout (inf - inf
    at the +inf entries, a NaN sum for the rest), as PyTorch gives it; shifted by 0 the row was
    half NaN (inf / inf), half 0. logsumexp keeps the 0 shift: its +inf is PyTorch's too.

    An empty axis has no max: any shift serves there, and 0 gives what PyTorch gives (softmax
    of shape (2, 0) is empty, logsumexp over it is log 0 = -inf)."""
    xp = array_module(x)
    if type(x) is numpy.ndarray:
        if not x.size:
            return xp.zeros(kept_shape(x.shape, axes), x.dtype)
        m = x.max(axis=axes, keepdims=True)  # the method: NumPy's np.max wrapper costs more
    else:
        if not backend.size(x):
            shape = kept_shape(x.shape, axes)
            return xp.zeros(shape, dtype=x.dtype, device=backend.device_of(x))
        m = xp.max(x, axis=axes, keepdims=True)
    kept = (m > -xp.inf) if keep_inf else xp.isfinite(m)  # a NaN max shifts by 0: NaN anyway
    return xp.where(kept, m, 0)


def _shifted(x: Any, peak: Any, order: str = "K") -> Any:
    """x - peak, the shift that keeps e^x from overflowing. A row spanning more than the largest
    float shifts its smallest entries to -inf, whose e^x is the right 0: on NumPy arrays without
    NumPy's overflow warning (the standard has no ``errstate`` to silence it elsewhere)."""
    if type(x) is numpy.ndarray:
        return backend.ignoring_overflow(numpy.subtract, x, peak, order=order)
    return x - peak


def _logsumexp(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """log sum e^x as m + log sum e^(x - m), m the max; saves e^(x - m) and its sums for the
    rule, which divides them (the softmax, with no pass over the inputs)."""
    x = backend.as_floating(x)  # an integer shift by the peak would wrap
    xp = array_module(x)
    m = _stable_max(x, axes)
    exps = xp.exp(_shifted(x, m))
    sums = sum_array(exps, axes, True)  # a tall axis 0 in blocks
    if backend.size(x):
        with numpy.errstate(divide="ignore"):  # only a row of -inf sums to 0: its log is -inf
            out = xp.log(sums)
        out = out + m
    else:  # an empty sum is 0: log 0 = -inf, as PyTorch gives it (NumPy's log of 0 would warn)
        out = m - xp.inf
    if not keepdims:
        out = backend.reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))
    return out, (exps, sums)


def _logsumexp_vjp(
    g: Any, out: Any, x: Any, axes: tuple[int, ...], keepdims: bool, saved: Any
) -> Any:
    """dE/dx = g softmax(x) = g e^(x - m) / sum e^(x - m), from the forward's exponentials.

    e^(x - out) rounded ``out`` at the size of m first (float32 at 1000 gave 0.49998546 for
    0.5). On tensors the exponentials are recomputed from recorded ops, m a constant (the
    quotient does not depend on it), so the rule stays differentiable: diag(p) - p p^T.
    A row of only -inf (0 / 0) or holding +inf (inf / inf at the +inf) gives a NaN gradient
    there, as PyTorch's (and as softmax gives such a row), not a fault to warn of."""
    if saved is None:
        exps = _exp(_shifted(x, _stable_max(array_of(x), axes)))
        sums = _sum(exps, axes=axes, keepdims=True)
        exps, sums = _nan_where_unfit(exps), _nan_where_unfit(sums, zero=True)
    else:
        exps, sums = saved
    per_row = g if keepdims else _reshape(g, shape=kept_shape(x.shape, axes))
    with numpy.errstate(divide="ignore", invalid="ignore"):
        return exps * (per_row / sums)


def _nan_where_unfit(values: Tensor, zero: bool = False) -> Tensor:
    """``values``, the recomputed e^(x - m), made NaN where they are inf (a +inf logit), or
    with ``zero`` their sums made NaN where they are 0 (a row of only -inf), by a recorded
    product with a constant; ``values`` itself where there are none.

    The gradient there is NaN either way, as PyTorch's, but made from inf * 0 and 1 / 0 it
    left inf in the recorded graph, and the next derivative's rules met 0 * inf and 1 / 0
    outside any errstate: a Hessian with one row of -inf warned "invalid value encountered in
    multiply" a dozen times, where PyTorch's and softmax's are silent. From a NaN on, every
    rule carries NaN quietly (a +inf row's other entries stay 0, as PyTorch's)."""
    array = array_of(values)
    xp = array_module(array)
    unfit = (array == 0) if zero else xp.isinf(array)
    if not bool(xp.any(unfit)):
        return values
    return values * xp.where(unfit, xp.nan, xp.ones_like(array))


_logsumexp_prim = primitive(
    "logsumexp", _logsumexp, _logsumexp_vjp, doc="log sum exp, stable.", saves=True
)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow; its gradient is the softmax.
    A row of only -inf gives -inf (an empty axis too), a row holding +inf gives +inf, without
    NumPy's warnings; their gradients are NaN (at the +inf), as PyTorch's."""
    x = as_tensor(x)
    return _logsumexp_prim(x, axes=normalize_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)


def _log_softmax(x: Any, axis: int) -> Any:
    """(x - m) - log sum exp(x - m), m the max: the shifted logits are exact, so the result keeps
    their precision. x - (log sum + m) would round log sum + m at the size of m first (float32
    at 1000 loses 3e-5)."""
    x = backend.as_floating(x)  # an integer shift by the peak would wrap
    xp = array_module(x)
    shifted = _shifted(x, _stable_max(x, (axis,), keep_inf=True))
    if not backend.size(shifted):  # nothing to normalise (the log of an empty sum would warn)
        return xp.exp(shifted)  # empty, of the float dtype the result has
    if xp is numpy and shifted.dtype.kind == "f":  # in place on the fresh shifted logits
        sums = sum_array(xp.exp(shifted), (axis,), True)  # a tall axis 0 in blocks
        shifted -= xp.log(sums, out=sums)
        return shifted
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _softmax(x: Any, axis: int) -> Any:
    x = backend.as_floating(x)  # an integer shift by the peak would wrap
    xp = array_module(x)
    e = xp.exp(_shifted(x, _stable_max(x, (axis,), keep_inf=True)))
    if xp is numpy:
        e /= sum_array(e, (axis,), True)  # a tall axis 0 in blocks
        return e
    return e / xp.sum(e, axis=axis, keepdims=True)


_log_softmax_prim = primitive(
    "log_softmax",
    _log_softmax,
    lambda g, out, x, axis: g - _exp(out) * _sum(g, axes=(axis,), keepdims=True),
    doc="x - logsumexp(x): log-probabilities, stable for large logits.",
)
_softmax_prim = primitive(
    "softmax",
    _softmax,
    lambda g, out, x, axis: out * (g - _sum(g * out, axes=(axis,), keepdims=True)),
    doc="exp(x) / sum(exp(x)) along an axis, stable for large logits.",
)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """Log-probabilities along ``axis`` (one axis): x - logsumexp(x). A row holding +inf (or
    NaN, or only -inf) is NaN throughout, as in PyTorch."""
    x = as_tensor(x)
    return _log_softmax_prim(x, axis=_one_axis(axis, x.ndim, "log_softmax"))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Probabilities along ``axis`` (one axis): exp(x) / sum(exp(x)). A row holding +inf (or
    NaN, or only -inf) is NaN throughout, as in PyTorch."""
    x = as_tensor(x)
    return _softmax_prim(x, axis=_one_axis(axis, x.ndim, "softmax"))


def _one_axis(axis: Any, ndim: int, op: str) -> int:
    """``axis`` as one non-negative axis; a tuple or None is refused (the rules normalise
    along one axis, and taking the first of several gave a softmax over that axis alone).

    A 0-d tensor is refused too, naming the op and its shape (()): it has no axis, as for
    ``logsumexp`` and every reduction, whose rules these are (log_softmax(x) = x -
    logsumexp(x, axis)). PyTorch reads a 0-d tensor as one value along dim -1 and gives 1.0
    (0.0 for log_softmax), the same for any input, with a gradient of 0: a softmax over
    one value is a class axis lost, a network's single output or a row reduced too far, the
    slip a ShapeError catches (``softmax_cross_entropy`` refuses scalar logits alike)."""
    if not is_integer(axis):
        raise ValueError(
            f"{op}: axis must be one integer axis, not {axis!r}; for a softmax over several "
            "axes, reshape them into one first"
        )
    if ndim == 0:
        raise ShapeError(
            f"{op}: a tensor of shape () has no axis {axis} to normalise along; a {op} over one "
            "value is the same for any input, give the values as an axis (x.reshape(-1))"
        )
    return single_axis(axis, ndim, op)


# ---------------------------------------------------------------------------------------------
# Softmax and cross-entropy fused: the classifier's loss in one stable primitive
# ---------------------------------------------------------------------------------------------


def _label_positions(labels: Any, logits_shape: tuple[int, ...]) -> Any:
    """Where each case's label lies in its logits flattened (case c, label l: c * n_classes + l),
    for NumPy labels; raises :class:`LabelError` naming the first label outside the classes.
    One flat index reads (``take``) and writes 3-4x faster than a (case, class) pair of index
    arrays, and ``ravel_multi_index`` checks every label's range as it computes them (a check of
    its own would be a reduction's code more, run at every step)."""
    cases = labels.size
    rows = shared_vector(numpy.arange, cases)
    try:
        return numpy.ravel_multi_index((rows, labels.reshape(-1)), (cases, logits_shape[-1]))
    except ValueError:
        check_labels(labels, logits_shape[-1], logits_shape)  # finds and names the label
        raise


#: Up to this many classes a case's max and sum are not NumPy's reductions over the last axis
#: (a loop per case): a classifier's usual 2-32 (:func:`_case_max`, :func:`_case_sums`)
_FEW_CLASSES = 32


def _case_max(logits: Any) -> Any:
    """Each case's largest logit, keeping the class axis (NumPy arrays).

    NumPy reduces a short last axis case by case, a loop per row. With few classes the max over
    the cases of a transposed copy is vectorised across them: 3-4x faster at 10 classes, copy
    included. The same values either way.
    """
    if logits.ndim == 2 and logits.shape[1] <= _FEW_CLASSES:
        return _max_reduce(logits.T.copy(), 0)[:, None]
    return _max_reduce(logits, -1, keepdims=True)


def _case_sums(values: Any) -> Any:
    """Each case's sum over the class axis, keeping it (NumPy arrays). With few classes, in
    float32 and float64, it is the product values @ ones, a BLAS matrix-vector product: 1.6x
    faster than NumPy's sum at 10 classes and 128 cases, 3.8x at 512. A long row keeps NumPy's
    pairwise sum, which is more accurate than BLAS's running one there (10x, in float32, at a
    thousand classes)."""
    if values.shape[-1] <= _FEW_CLASSES and values.dtype in BLAS_FLOATS:
        return (values @ shared_vector(numpy.ones, values.shape[-1], values.dtype))[..., None]
    return _add_reduce(values, -1, keepdims=True)


def _target_probabilities(logits: Any, targets: Any) -> Any:
    """Targets as a probability per class: integer labels become one-hot rows."""
    xp = array_module(logits)
    if xp is not numpy:
        if backend.is_integer(targets.dtype, xp):
            return _one_hot(xp, logits, targets)
        return backend.astype(targets, logits.dtype)
    if targets.dtype.kind in "iu":
        one_hot = xp.zeros(logits.shape, dtype=logits.dtype)
        one_hot.reshape(-1)[_label_positions(targets, logits.shape)] = 1
        return one_hot
    return targets.astype(logits.dtype, copy=False)


def _one_hot(xp: Any, logits: Any, labels: Any) -> Any:
    """Integer labels as one-hot rows of ``logits``'s shape, dtype and device (the standard has
    no item assignment to write the ones with)."""
    return xp.astype(_is_label(xp, logits, labels), logits.dtype)


def _is_label(xp: Any, logits: Any, labels: Any) -> Any:
    """Integer labels as boolean one-hot rows of ``logits``'s shape, on its device."""
    classes = xp.arange(logits.shape[-1], device=backend.device_of(logits))
    return labels[..., None] == classes


def _reduced(xp: Any, losses: Any, reduction: str) -> Any:
    """A loss's per-case (or per-element) values reduced: as they are ("none"), their sum, or
    their mean; the mean of none is NaN, as cr.mean gives it (0 / 0)."""
    if reduction == "none":
        return losses
    if reduction == "sum":  # a sum past the largest float is inf, NumPy's warning and all
        return _add_reduce(losses, None) if xp is numpy else xp.sum(losses)
    # a mean is never past the largest loss, where a sum can be (two losses of 3e38 in float32)
    if xp is numpy:  # the ufunc's reduce itself: ndarray.sum is a Python wrapper around it
        count = losses.size
        if not count:
            return _add_reduce(losses, None) * float("nan")
        if losses.dtype.itemsize < 8 and losses.dtype.kind == "f":  # float32, float16: summed
            return _add_reduce(losses, None, numpy.float64) / count  # in float64, which holds it
        total = backend.ignoring_overflow(_add_reduce, losses, None)  # float64: divided first
        if losses.dtype.kind == "c" or math.isfinite(total):  # (a complex step's loss: as is)
            return total / count
        return _add_reduce(losses / count, None)
    count = backend.size(losses)
    if not count:
        return xp.sum(losses) * float("nan")
    return xp.sum(losses / count)  # divided first: no sum to overflow, and no host sync


def _softmax_cross_entropy_standard(logits: Any, targets: Any, reduction: str) -> tuple[Any, Any]:
    """:func:`_softmax_cross_entropy` in the array API standard: the same shifted sums, with
    one-hot targets instead of NumPy's fancy-indexed writes (JAX arrays cannot be written)."""
    logits = backend.as_floating(logits)  # integer logits: the library's float
    xp = array_module(logits)
    if backend.is_integer(targets.dtype, xp):
        check_labels(targets, logits.shape[-1], logits.shape)
    peak = xp.max(logits, axis=-1, keepdims=True)
    shifted = logits - peak
    residual = xp.exp(shifted)
    sums = xp.sum(residual, axis=-1, keepdims=True)
    residual = residual / sums  # the softmax y
    log_sums = xp.log(sums[..., 0])
    if backend.is_integer(targets.dtype, xp):
        is_label = _is_label(xp, logits, targets)
        # the label's shifted logit, selected: a product with the one-hot rows would give
        # 0 * -inf = NaN at a class whose logit is -inf
        losses = log_sums - xp.sum(xp.where(is_label, shifted, 0.0), axis=-1)
        residual = residual - xp.astype(is_label, logits.dtype)
    else:  # sum_j t_j (log sum exp - z_j), shifted: exact when a row of t does not sum to 1
        mass = xp.sum(targets, axis=-1)
        # a class of target 0 adds nothing, its logit -inf included (0 * -inf is NaN)
        weighted = targets * xp.where(targets == 0, xp.zeros_like(shifted), shifted)
        losses = mass * log_sums - xp.sum(weighted, axis=-1)
        residual = residual * mass[..., None] - targets
    return xp.astype(_reduced(xp, losses, reduction), logits.dtype), residual


def _softmax_cross_entropy(logits: Any, targets: Any, reduction: str) -> tuple[Any, Any]:
    """The loss, and each case's y - t (y the softmax): saved, the rule only scales it.

    Each case is shifted by its largest logit, so exp cannot overflow and the label's log
    probability is the shifted logit minus log sum exp, never the log of an underflowed 0. A logit
    of -inf masks its class out: with a target of 0 there it adds nothing (0 log 0 = 0, where
    t * z alone would be NaN); a case with a logit of +inf has no finite loss and gives NaN.
    The loss is a classifier's last op and runs at every step: few NumPy calls, one fresh array.
    Class labels are checked here, for every caller: one outside the classes raises
    :class:`LabelError`, which names it.
    """
    if type(logits) is not numpy.ndarray and array_module(logits) is not numpy:
        return _softmax_cross_entropy_standard(logits, targets, reduction)
    xp = numpy  # (a NumPy array, every step's, needs no look-up)
    if logits.dtype.kind not in "fc":  # integer logits: float64, as cr.exp and cr.softmax give
        logits = backend.as_floating(logits)
    if not logits.shape[-1] and targets.dtype.kind in "iu":  # no classes: no label is in range
        check_labels(targets, 0, logits.shape)
    # C order whatever the logits' layout: the label cells are written through a flat view
    shifted = _shifted(logits, _case_max(logits), order="C")
    residual = xp.exp(shifted)
    sums = _case_sums(residual)
    residual /= sums  # the softmax y
    log_sums = xp.log(sums.reshape(sums.shape[:-1]))
    if targets.dtype.kind in "iu":  # log sum exp - z_label, with both shifted by the max
        positions = _label_positions(targets, logits.shape)
        picked = shifted.reshape(-1).take(positions)  # fresh arrays: the reshapes are views
        losses = log_sums - picked.reshape(targets.shape)
        residual.reshape(-1)[positions] -= 1
    else:  # sum_j t_j (log sum exp - z_j), shifted: exact when a row of t does not sum to 1
        mass = _add_reduce(targets, -1)
        with numpy.errstate(invalid="ignore"):  # 0 * -inf, set right below where it happens
            weighted = targets * shifted
        losses = mass * log_sums - _add_reduce(weighted, -1)
        if numpy.isnan(losses).any():  # rare: take no pass over the classes unless it happens
            weighted[(targets == 0) & numpy.isneginf(shifted)] = 0
            losses = mass * log_sums - _add_reduce(weighted, -1)
        residual *= mass[..., None]  # d/dz_j = y_j sum_k t_k - t_j
        residual -= targets
    return xp.asarray(_reduced(xp, losses, reduction), dtype=logits.dtype), residual


def _softmax_cross_entropy_vjp(
    g: Any, out: Any, logits: Any, targets: Any, reduction: str, saved: Any
) -> Any:
    """dE/dz_j = y_j - t_j per case (y the softmax), times the incoming gradient.

    On arrays the forward's y - t is reused (never changed in place: a retained graph may run
    this rule again); on tensors it is recomputed from a recorded softmax, so the rule stays
    differentiable.
    """
    if saved is None:
        probabilities = _target_probabilities(array_of(logits), targets)
        saved = _softmax_prim(logits, axis=logits.ndim - 1)
        if not backend.is_integer(targets.dtype, array_module(targets)):  # rows may not sum to 1
            saved *= array_module(probabilities).sum(probabilities, axis=-1, keepdims=True)
        saved -= probabilities  # a fresh tensor: in place
    return _per_case(saved, g, reduction)


def _per_case(per_class: Any, g: Any, reduction: str) -> Any:
    """A cross-entropy's derivative per class and case times the incoming gradient: g per case
    for ``reduction="none"``, else g (over the number of cases for a mean)."""
    if reduction == "none":
        return per_class * _reshape(g, shape=g.shape + (1,))
    size = per_class.size if type(per_class) is numpy.ndarray else backend.size(array_of(per_class))
    cases = size // per_class.shape[-1] if per_class.ndim else 1
    return per_class * (g * (1.0 / cases) if reduction == "mean" and cases else g)


def _soft_cross_entropy_logits_vjp(
    g: Any, out: Any, logits: Any, targets: Any, reduction: str, saved: Any
) -> Any:
    """dE/dz_j = y_j sum_k t_k - t_j per case, when the targets are an input too: on tensors
    recomputed from recorded ops on both, so a second derivative reaches the targets."""
    if saved is None:
        saved = _softmax_prim(logits, axis=logits.ndim - 1) * targets.sum(axis=-1, keepdims=True)
        saved = saved - targets
    return _per_case(saved, g, reduction)


def _soft_cross_entropy_targets_vjp(
    g: Any, out: Any, logits: Any, targets: Any, reduction: str, saved: Any
) -> Any:
    """dE/dt_j = -log softmax(z)_j = log sum exp(z) - z_j per case: the loss is linear in t."""
    return _per_case(-_log_softmax_prim(logits, axis=logits.ndim - 1), g, reduction)


_softmax_cross_entropy_prim = primitive(
    "softmax_cross_entropy",
    _softmax_cross_entropy,
    _softmax_cross_entropy_vjp,
    doc="-sum_j t_j log softmax(z)_j per case, from logits; backward sends y - t.",
    saves=True,
)
#: The same loss with the targets an input that needs a gradient (a teacher network's soft
#: outputs): one more rule, and no cost to the common case, whose targets are a parameter.
_softmax_cross_entropy_targets_prim = primitive(
    "softmax_cross_entropy_of_targets",
    _softmax_cross_entropy,
    _soft_cross_entropy_logits_vjp,
    _soft_cross_entropy_targets_vjp,
    doc="softmax_cross_entropy differentiated in its targets too: dE/dt_j = -log softmax(z)_j.",
    saves=True,
)


def check_labels(
    labels: Any,
    n_classes: int,
    logits_shape: tuple[int, ...] | None,
    op: str = "softmax_cross_entropy",
) -> None:
    """Raise naming ``op`` and the first class label outside [0, n_classes), in one pass over
    the labels (and the logits' shape, where there are logits).

    Read as unsigned, a negative label is a huge number, so a single max finds both kinds.
    """
    if type(labels) is numpy.ndarray:
        if not labels.size:
            return
    elif not backend.size(labels):
        return
    else:  # on the device: two reductions, one number back
        xp = array_module(labels)
        if int(xp.min(labels)) >= 0 and int(xp.max(labels)) < n_classes:
            return
        labels = backend.to_numpy(labels)
    # the unsigned dtype of the labels' size and byte order ('>i4' -> '>u4')
    unsigned = (
        labels if labels.dtype.kind == "u" else labels.view(labels.dtype.str.replace("i", "u"))
    )
    if _max_reduce(unsigned, None) < n_classes:
        return
    bad = labels[(labels < 0) | (labels >= n_classes)].reshape(-1)[0]
    logits = "" if logits_shape is None else f" (logits shape {tuple(logits_shape)})"
    raise LabelError(
        f"{op}: label {int(bad)} is out of range for {n_classes} classes{logits}; labels "
        f"must lie in [0, {n_classes})"
    )


def target_array(target: Any, what: str) -> Any:
    """A loss's target as an array: a NumPy array of numbers as it is (every step's: nothing
    looked into), a tensor's own, another library's array as it is (on its device: NumPy
    cannot read a GPU's), anything else through NumPy. Missing values are refused naming the
    cases and ``what`` (``"CrossEntropy: the target"``): pandas' in a pandas column (NumPy
    reads NA in an ``Int64`` column as NaN, a float: refused as float labels, or a NaN loss),
    None or pandas' NA in a list (:func:`~chainrule.backend.missing_entries`). The one reading
    of targets for the losses of ``nn`` and the fused ops."""
    if type(target) is numpy.ndarray and target.dtype != object:  # every step's: as it is
        return target
    if isinstance(target, Tensor):
        return target.data
    if array_module(target) is not numpy:
        return backend.detached(target)
    array = backend.as_host_array(target)  # a masked entry refused, in a list too
    missing = backend.missing_entries(target, array)
    if missing is not None:
        raise DataError(backend.missing_refusal(missing, array.shape, what))
    return array


def check_probabilities(targets: Any, op: str) -> None:
    """Refuse targets that are not probabilities, values outside [0, 1] or NaN, naming ``op``,
    the range of the values, their shape and the first row (case) holding one outside, with its
    value. Cross-entropy against such a target has no lower bound (a target of -1 beside one of
    2 rewards a logit running to infinity: training chases -inf) or no meaning. The one check
    for ``cr.softmax_cross_entropy``, ``cr.logistic_cross_entropy``, ``nn.CrossEntropy``'s
    probability rows, ``nn.BinaryCrossEntropy`` and a multilabel ``data.Dataset``: two
    reductions over the values (integer class labels never come here), booleans none."""
    if type(targets) is numpy.ndarray:
        if targets.dtype.kind not in "iuf" or not targets.size:  # booleans: always 0 or 1
            return
        low, high = float(_min_reduce(targets, None)), float(_max_reduce(targets, None))
    else:
        xp = array_module(targets)
        if not backend.size(targets) or not (
            backend.is_real_floating(targets.dtype, xp) or backend.is_integer(targets.dtype, xp)
        ):
            return
        low, high = float(xp.min(targets)), float(xp.max(targets))
    # a few units of the last place past 0 or 1 are a float's rounding (a - b, 1 - p in
    # float32: -1e-9), not a target outside: float64's for targets of another kind
    name = backend.dtype_name(targets.dtype)
    slack = 4 * float(numpy.finfo(name if name in ("float16", "float32") else "f8").eps)
    if low >= -slack and high <= 1 + slack:  # NaN fails both
        return
    values = backend.to_numpy(targets)
    outside = ~((values >= -slack) & (values <= 1 + slack))
    first = numpy.unravel_index(int(numpy.argmax(outside)), values.shape)
    shape = tuple(values.shape)
    got = "NaN" if low != low or high != high else f"values in [{low!r}, {high!r}]"
    row = f"; row {int(first[0])} holds {values[first].item()!r}" if values.ndim else ""
    raise DataError(f"{op}: targets must lie in [0, 1], got {got} (shape {shape}){row}")


def check_class_rows(targets: Any, logits_shape: tuple[int, ...], op: str) -> None:
    """Refuse probabilities beside logits of more than two axes, (n, d1, ..., k), only where
    they positively look like PyTorch's (N, C, d1, ...) layout, the classes on axis 1: rows
    along the last axis (the classes here) do not all sum to 1, and rows along axis 1 all do
    (or 0: a dropped position). Read classes last, softmax would run over the wrong axis and
    the loss would silently be another number; the refusal names the move. Every other target
    is taken as beside logits (n, k): weights, multi-hot rows, rows of zeros. The tolerance,
    1e-2, takes bfloat16's rounding and float32 probabilities cast to float64. The one check
    for ``cr.softmax_cross_entropy`` and ``nn.CrossEntropy``; for logits of more than two axes
    only, one sum over the targets (two where the last axis's rows do not sum to 1)."""
    if len(logits_shape) <= 2 or not backend.size(targets):
        return
    xp = array_module(targets)

    def sum_to_one(axis: int) -> bool:
        if type(targets) is numpy.ndarray:  # float64 sums: NumPy sums bfloat16 in bfloat16
            sums = numpy.sum(targets, axis=axis, dtype=numpy.float64)
        else:
            sums = backend.to_numpy(xp.sum(targets, axis=axis)).astype(numpy.float64)
        return bool(numpy.all((numpy.abs(sums - 1) <= _ROW_SUM_TOLERANCE) | (sums == 0)))

    if sum_to_one(-1) or not sum_to_one(1):
        return
    shape = tuple(logits_shape)
    move = "logits.swapaxes(1, -1)" if len(shape) == 3 else "numpy.moveaxis(logits, 1, -1)"
    raise ShapeError(
        f"{op}: probabilities of shape {shape} beside logits of shape {shape} sum to 1 along "
        "axis 1, not along the last axis, the classes: PyTorch's (N, C, d1, ...) layout, the "
        "classes on axis 1, is not taken (softmax would run over the last axis): move the "
        f"classes last, {move} and the targets alike"
    )


# a row's sum within this of 1 sums to 1: bfloat16's rounding over a row is ~4e-3
_ROW_SUM_TOLERANCE = 1e-2


def listed_labels(targets: Any) -> Any:
    """Targets given as an empty Python list (or tuple) as class labels, int64 of shape (0,);
    any other targets as they are. No number in it says float, as NumPy reads ``[]``: labels
    made by a list comprehension were taken as integers until the batch was empty, then
    refused as float labels. ``getitem`` reads ``[]`` as integer positions alike. The one
    reading of it for ``cr.softmax_cross_entropy`` and ``nn.CrossEntropy``."""
    if isinstance(targets, (list, tuple)) and not targets:
        return numpy.zeros(0, dtype=numpy.int64)
    return targets


def targets_are_labels(targets: Any, logits_shape: tuple[int, ...], op: str) -> bool:
    """What a softmax cross-entropy's targets are, read as PyTorch's ``cross_entropy`` reads
    them: True for class labels (integers, of the logits' shape without its class axis), False
    for probability rows (real floats of the logits' shape: one-hot or soft). Anything else is
    refused, naming ``op``, the target's shape and dtype and the two forms that fit: integer
    one-hot rows and float labels (:class:`ShapeError`, saying which cast reads them as meant),
    booleans (``TypeError``, saying to cast them: a boolean is neither a label nor a
    probability), other shapes and dtypes.

    The one reading of targets for ``cr.softmax_cross_entropy`` and ``nn.CrossEntropy``, run at
    every step: a dtype and a shape compared, no pass over the values (the primitive checks the
    labels' range as it reads them, :func:`_label_positions`).
    """
    if type(targets) is numpy.ndarray:  # the hot path: NumPy's kind letter, read at once
        if targets.dtype.kind in "iu":
            if targets.shape == logits_shape[:-1]:
                return True
        elif targets.shape == logits_shape and backend.is_real_floating(targets.dtype):
            return False
    else:  # another library's: its shape may be its own type (torch.Size), its dtype too
        xp, shape = array_module(targets), tuple(targets.shape)
        if backend.is_integer(targets.dtype, xp):
            if shape == tuple(logits_shape[:-1]):
                return True
        elif shape == tuple(logits_shape) and backend.is_real_floating(targets.dtype, xp):
            return False
    raise _targets_refused(targets, tuple(logits_shape), op)


def _targets_refused(targets: Any, logits_shape: tuple[int, ...], op: str) -> Exception:
    """The error for targets that are neither class labels nor probability rows of
    ``logits_shape`` (see :func:`targets_are_labels`), in one message for the op and the
    loss module."""
    xp, shape, labels_shape = array_module(targets), tuple(targets.shape), logits_shape[:-1]
    dtype = backend.dtype_name(targets.dtype)
    integer = backend.is_integer(targets.dtype, xp)
    real = not integer and backend.is_real_floating(targets.dtype, xp)
    if not labels_shape:  # logits (C,): one case that lost its batch axis, not a column
        n_classes = logits_shape[0] if logits_shape else "C"
        one = "a label of shape ()" if integer else f"probabilities of shape ({n_classes},)"
        column = (
            f" (logits of shape ({n_classes},) are one case without its batch axis: give "
            f"logits of shape (1, {n_classes}) (logits.reshape(1, -1)) or {one})"
        ) * ((integer or real) and shape != logits_shape)
    else:
        per = "case" if len(labels_shape) == 1 else f"position, {labels_shape}"
        column = f" (a column of labels: flatten it to one label per {per})" * (
            shape == (*labels_shape, 1)
        )
    if dtype == "bool":
        hint = "; booleans are neither: cast them, to integers for labels or to floats for rows"
    elif not (integer or real):
        hint = f"; {dtype} values are neither"
    elif integer and shape == logits_shape:
        hint = ": give one-hot rows as floats"
    elif real and shape == labels_shape:
        hint = ": give class labels as integers"
    else:
        hint = ""
    message = (
        f"{op}: a target of shape {shape} and dtype {dtype} does not fit logits of shape "
        f"{logits_shape}: expected labels {labels_shape} or probabilities {logits_shape}{column}; "
        f"class labels are integers, probabilities floats{hint}"
    )
    return ShapeError(message) if integer or real else TypeError(message)


def softmax_cross_entropy(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of softmax(logits) against targets (class labels or probabilities per row).

    Per case the loss is -sum_j t_j log softmax(z)_j, with targets t in [0, 1] (refused
    otherwise, naming the first row holding one outside: :func:`check_probabilities`; a row
    need not sum to 1: a row of zeros drops its case; beside logits of more than two axes
    targets are refused only where they look like PyTorch's (N, C, T) layout,
    :func:`check_class_rows`).
    Fused and stable at any logits; its
    gradient is softmax(logits) * sum_j t_j - targets, which is softmax - t for labels and
    distributions (scaled by 1/cases for ``reduction="mean"``). Targets that need a gradient
    (a tensor with ``requires_grad``) get dE/dt_j = -log softmax(z)_j per case.

    Targets are read as PyTorch's ``cross_entropy`` reads them (:func:`targets_are_labels`, as
    ``nn.CrossEntropy`` reads them): integers are class labels, of the logits' shape without
    the class axis; real floats are probability rows of the logits' shape. Integer one-hot
    rows, float labels and booleans are refused, saying what to cast them to.

    The loss is in the logits' dtype whatever the targets' (float64 targets keep float32 logits'
    loss float32, as ``nn``'s losses cast targets to the output's dtype); PyTorch's
    ``cross_entropy`` promotes the pair to float64 instead.
    """
    logits = as_tensor(logits)
    differentiated = _needs_gradient(targets)
    targets = target_array(listed_labels(targets), "softmax_cross_entropy: the target")
    # labels join the logits' device; another library's are refused, as any op refuses them
    targets = backend.asarray_like(targets, logits.data, op="softmax_cross_entropy")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"softmax_cross_entropy: reduction must be mean, sum or none, not {reduction!r}"
        )
    if logits.ndim == 0:
        raise ShapeError("softmax_cross_entropy: logits need a class axis, got a scalar")
    labels = targets_are_labels(targets, logits.shape, "softmax_cross_entropy")
    if labels:
        targets = backend.signed_positions(targets)
    else:
        check_probabilities(targets, "softmax_cross_entropy")
        check_class_rows(targets, tuple(logits.shape), "softmax_cross_entropy")
    if differentiated is not None:
        return _softmax_cross_entropy_targets_prim(logits, differentiated, reduction=reduction)
    # off NumPy, and ml_dtypes' bfloat16 on it (NumPy sums a row of it in bfloat16)
    if not labels and (type(targets) is not numpy.ndarray or targets.dtype.kind != "f"):
        targets = _in_logits_float(targets, logits.data)
    return _softmax_cross_entropy_prim(logits, targets=targets, reduction=reduction)


def _needs_gradient(targets: Any) -> Tensor | None:
    """A loss's targets as an input of its node when they need a gradient, else None (then
    they are a parameter, as class labels and data always are)."""
    return targets if isinstance(targets, Tensor) and targets.requires_grad else None


def _in_logits_float(targets: Any, logits: Any) -> Any:
    """Targets that are not class labels (probabilities of another float dtype, a logistic
    unit's boolean targets) in the logits' float dtype, off NumPy: the standard has no
    arithmetic on booleans (PyTorch refused "Subtraction ... with a bool tensor", in the forward
    and in the rules that recompute y - t for a second derivative). NumPy computes with them as
    they are."""
    xp = array_module(logits)
    dtype = logits.dtype if backend.holds_floats(logits) else backend.default_float(xp, logits)
    return backend.astype(targets, dtype)


def _logistic_cross_entropy(z: Any, targets: Any, reduction: str) -> tuple[Any, Any]:
    """Each element's softplus(z) - z t = max(z, 0) - z t + log(1 + e^-|z|), reduced, and
    sigmoid(z) - t: saved, the rule only scales it.

    Terms that are never negative (for t in [0, 1]), so nothing cancels: the linear part is
    max(z, 0) (1 - t) - min(z, 0) t, never max(z, 0) - z t (at z = 20 and t = 0.999999 in
    float32 it subtracts two numbers near 20 and keeps one digit of their 2e-5 difference) nor
    softplus(z) - z t (no digit of log(1 + e^-40) at z = 40, t = 1). No exp of a positive number
    is taken: a = e^min(z, 0) and b = e^-max(z, 0), one of them 1, give e = e^-|z| = a b (exact)
    for the log, and the logistic function sigmoid(z) = a / (1 + e), 1 - sigmoid(z) = b / (1 + e),
    neither rounded against 1, so sigmoid(z) - t = (a (1 - t) - b t) / (1 + e) is exact at t = 1
    and z = 40 (-e^-40), where sigmoid(z) - 1 would be 0. No where() either: a random mask made
    NumPy's where five times the cost of an exp. A logit of +inf against a target of 1 (or -inf
    against 0) is a certain right answer, with loss 0 (inf - inf alone would be NaN).
    """
    z = backend.as_floating(z)  # integer logits: the library's float
    xp = array_module(z)
    t = targets if targets.dtype == z.dtype else xp.astype(targets, z.dtype)
    if xp is numpy and z.ndim and z.dtype.kind == "f" and numpy.isfinite(z).all():
        return _logistic_cross_entropy_numpy(z, t, reduction)
    positive, negative = xp.maximum(z, xp.zeros_like(z)), xp.minimum(z, xp.zeros_like(z))
    a, b = xp.exp(negative), xp.exp(-positive)
    e = a * b
    residual = (a * (1 - t) - b * t) / (1 + e)
    if bool(xp.all(xp.isfinite(z))):
        linear = positive * (1 - t) - negative * t
    else:  # rare: an infinite logit, whose inf * 0 is computed and set right (NumPy quiet)
        linear = _linear_part_at_infinite_logits(xp, z, t, z >= 0)
    losses = xp.log1p(e) + linear
    return xp.astype(_reduced(xp, losses, reduction), residual.dtype), residual


def _logistic_cross_entropy_numpy(z: Any, t: Any, reduction: str) -> tuple[Any, Any]:
    """:func:`_logistic_cross_entropy` for finite real NumPy logits: the same formulas, in place
    on five fresh arrays (it runs at every step of a network of logistic output units, and an
    array past malloc's mmap threshold costs its page faults at each step)."""
    positive, negative = numpy.maximum(z, 0), numpy.minimum(z, 0)
    a = numpy.exp(negative)
    b = numpy.negative(positive)
    numpy.exp(b, out=b)
    complement = 1 - t
    losses = positive
    losses *= complement
    negative *= t
    losses -= negative  # adds |z| t where z < 0: both terms >= 0
    e = numpy.multiply(a, b, out=negative)
    residual = a
    residual *= complement
    b *= t
    residual -= b
    losses += numpy.log1p(e, out=b)
    e += 1
    residual /= e
    return numpy.asarray(_reduced(numpy, losses, reduction), dtype=z.dtype), residual


def _linear_part_at_infinite_logits(xp: Any, z: Any, t: Any, right: Any) -> Any:
    """max(z, 0) - z t where some z are infinite: z (1 - t) where z >= 0, -z t where not, with
    0 for a certain right answer (+inf against 1, -inf against 0), where either is inf * 0."""
    with numpy.errstate(invalid="ignore"):  # array-api-strict computes on NumPy too
        certain = ((z == xp.inf) & (t == 1)) | ((z == -xp.inf) & (t == 0))
        z = xp.where(certain, xp.zeros_like(z), z)
        return xp.where(right, z * (1 - t), -z * t)


def _logistic_cross_entropy_vjp(
    g: Any, out: Any, logits: Any, targets: Any, reduction: str, saved: Any
) -> Any:
    """dE/dz = sigmoid(z) - t per element, times the incoming gradient (over the count for a
    mean). On arrays the forward's sigmoid(z) - t is reused (never changed in place: a retained
    graph may run this rule again); on tensors it is recomputed from a recorded logistic, so
    the rule stays differentiable."""
    if saved is None:
        saved = _sigmoid(logits) - targets
    return _per_element(saved, g, reduction)


def _per_element(per_element: Any, g: Any, reduction: str) -> Any:
    """A derivative per element times the incoming gradient (over the count for a mean)."""
    if reduction == "none":
        return per_element * g
    count = (
        per_element.size
        if type(per_element) is numpy.ndarray
        else backend.size(array_of(per_element))
    )
    return per_element * (g * (1.0 / count) if reduction == "mean" and count else g)


def _logistic_cross_entropy_targets_vjp(
    g: Any, out: Any, logits: Any, targets: Any, reduction: str, saved: Any
) -> Any:
    """dE/dt = -z per element: the loss is softplus(z) - z t, linear in t."""
    return _per_element(-logits, g, reduction)


_logistic_cross_entropy_prim = primitive(
    "logistic_cross_entropy",
    _logistic_cross_entropy,
    _logistic_cross_entropy_vjp,
    doc="-t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)) per element, from logits; "
    "backward sends sigmoid(z) - t.",
    saves=True,
)
#: The same loss with the targets an input that needs a gradient (see
#: ``_softmax_cross_entropy_targets_prim``).
_logistic_cross_entropy_targets_prim = primitive(
    "logistic_cross_entropy_of_targets",
    _logistic_cross_entropy,
    _logistic_cross_entropy_vjp,
    _logistic_cross_entropy_targets_vjp,
    doc="logistic_cross_entropy differentiated in its targets too: dE/dt = -z.",
    saves=True,
)


def logistic_cross_entropy(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logistic units sigmoid(logits) against targets, per element (PyTorch's
    ``binary_cross_entropy_with_logits``): -t log y - (1 - t) log(1 - y), y = sigmoid(z).

    Fused and stable at any logits; its gradient is sigmoid(z) - t (over the number of
    elements for ``reduction="mean"``). The targets have the logits' shape; targets that need a
    gradient get dE/dt = -z. The loss is in the logits' dtype whatever the targets' (PyTorch's
    ``binary_cross_entropy_with_logits`` promotes float32 logits and float64 targets to float64).
    Targets must lie in [0, 1] (:func:`check_probabilities`).
    """
    return named_logistic_cross_entropy(logits, targets, reduction, "logistic_cross_entropy")


def named_logistic_cross_entropy(logits: Any, targets: Any, reduction: str, op: str) -> Tensor:
    """:func:`logistic_cross_entropy`, whose refusals name ``op`` (``nn.BinaryCrossEntropy``
    gives its own name: its targets are checked once, here)."""
    logits = as_tensor(logits)
    differentiated = _needs_gradient(targets)
    targets = target_array(targets, f"{op}: the target")
    targets = backend.asarray_like(targets, logits.data, op=op)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be mean, sum or none, not {reduction!r}")
    if tuple(targets.shape) != tuple(logits.shape):
        raise ShapeError(
            f"{op}: targets of shape {tuple(targets.shape)} do not match "
            f"logits {tuple(logits.shape)}"
        )
    check_probabilities(targets, op)
    if differentiated is not None:
        return _logistic_cross_entropy_targets_prim(logits, differentiated, reduction=reduction)
    if type(targets) is not numpy.ndarray:
        targets = _in_logits_float(targets, logits.data)
    return _logistic_cross_entropy_prim(logits, targets=targets, reduction=reduction)
