"""Shape primitives: reshape, transpose, broadcasting, indexing, joining and splitting.

Broadcasting forward means summing backward: :func:`unbroadcast` (the ``sum_to`` primitive) is the
one place every op sends a gradient back to its input's shape.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from chainrule import backend
from chainrule.backend import array_module
from chainrule.engine import is_grad_enabled
from chainrule.ops.registry import EachInput, ShapeError, primitive
from chainrule.tensor import Tensor, not_an_array

# ---------------------------------------------------------------------------------------------
# Turning operands into tensors
# ---------------------------------------------------------------------------------------------


def as_tensor(value: Any, like: Tensor | None = None, op: str | None = None) -> Tensor:
    """``value`` as a Tensor; a Python number takes ``like``'s dtype where NumPy's rules allow.

    So ``2.0 * x`` stays float32 for a float32 ``x`` (a Python scalar never upcasts), and so
    does ``[1, 2] * x`` (:func:`~chainrule.backend.list_operand`). Beside a ``like`` of another
    library than NumPy, a NumPy array or a list joins that library and device
    (:func:`~chainrule.backend.operand_like` says its dtype); an array of a third library stays
    as it is, for the op to refuse naming both. A Python integer that ``like``'s dtype cannot
    hold is an ``OverflowError`` naming ``op`` (the operation it is an operand of), the dtype,
    the number and the fix (:func:`~chainrule.backend.number_out_of_range`).
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)):
        data = like.data
        xp = array_module(data)
        try:
            if xp is numpy:
                dtype = data.dtype if data.dtype.kind == "f" else xp.result_type(data, value)
                return _scalar_constant(value, dtype, xp)
            return _device_constant(value, data, xp)
        except OverflowError:  # the library's words name neither the op nor a way out
            raise OverflowError(backend.number_out_of_range(value, data, op)) from None
        except AttributeError:  # like.data = 5.0 on a plain tensor ('float' has no 'dtype')
            if hasattr(data, "dtype"):
                raise
            raise TypeError(not_an_array(like, f"{op}: the tensor" if op else "a tensor")) from None
    if like is not None and isinstance(value, complex):
        # a Python complex is weak too: float32 * 1j is complex64, as in NumPy (not complex128),
        # and so is a NumPy complex128, which is one (as a NumPy float64 is a Python float):
        # NumPy's own promotion would make it complex128, as PyTorch's of a 0-d tensor does not
        if array_module(like.data) is numpy:
            weak = numpy.result_type(like.data, complex(value))
            return _scalar_constant(value, weak, numpy)
        # another library's: a 0-d complex array of its precision there (it was NumPy's,
        # refused beside the tensor), as PyTorch's own float32 * 1j gives complex64
        single = backend.dtype_name(like.dtype) in ("float32", "complex64", "float16", "bfloat16")
        dtype = "complex64" if single else "complex128"
        return Tensor._wrap(backend.asarray_like(value, like.data, dtype=dtype))
    if like is not None and isinstance(value, (numpy.integer, numpy.bool_)):
        # as the Python number it holds (a NumPy float is one)
        return as_tensor(value.item(), like, op)
    if like is not None and isinstance(value, numpy.generic) and like.xp is not numpy:
        # a NumPy float32 (a float32 array's .sum()) beside another library's tensor: a 0-d
        # array of its own dtype there, as NumPy combines it (it was an error naming NumPy)
        try:
            return Tensor._wrap(backend.asarray_like(numpy.asarray(value), like.data))
        except TypeError:  # a dtype the library lacks (float16 on array-api-strict, float128)
            return as_tensor(_python_number(value), like)
    if like is not None and isinstance(value, (list, tuple)):
        return Tensor(backend.list_operand(value, like.data))
    value = backend.bare_array(value)  # a pandas Series or DataFrame: the array of its values
    if (
        like is not None
        and isinstance(value, backend.JOINING_TYPES)
        and not isinstance(like.data, (numpy.ndarray, numpy.generic))
    ):  # a NumPy array or a list joins the tensor's library and device, as a number does
        return Tensor._wrap(backend.operand_like(value, like.data))
    return Tensor(value)


def _python_number(value: numpy.generic) -> Any:
    """The Python number a NumPy scalar holds: ``.item()``, and for a longdouble or
    clongdouble, which ``.item()`` returns as it is (no Python number holds all of it), the
    float or complex nearest it."""
    kind = value.dtype.kind
    if kind == "f":
        return float(value)
    return complex(value) if kind == "c" else value.item()


def _device_constant(value: Any, data: Any, xp: Any) -> Tensor:
    """A Python number beside an array of another library: a 0-d array on its device, of its
    dtype (a float beside integers takes the library's default float), cached like NumPy's."""
    if backend.is_floating(data.dtype, xp) or not isinstance(value, float):
        dtype = data.dtype
        if backend.dtype_name(dtype) == "bool" and not isinstance(value, bool):
            # a number beside booleans counts, as in NumPy ([True] * 2 is [2], not [True])
            dtype = backend.default_int(xp, data)
    else:
        dtype = backend.default_float(xp, data)
    where = backend.device_of(data)
    key = (type(value), value, dtype, xp.__name__, str(where))
    constant = _scalars.get(key)
    if constant is None:
        if len(_scalars) >= 4096:
            _scalars.clear()
        constant = _scalars[key] = Tensor._wrap(xp.asarray(value, dtype=dtype, device=where))
    return constant


_scalars: dict[tuple, Tensor] = {}


def shared_constants() -> Callable[[Tensor], bool]:
    """A test of whether a tensor is a shared 0-d constant (a Python number in an op, see
    :func:`_scalar_constant`): one tensor stands for every use of the same number, so a drawing
    of a graph must show each use as its own constant, not one value feeding many ops. The
    cache's constants now, and one made before the cache last cleared: a 0-d read-only NumPy
    leaf without a gradient is what :func:`_scalar_constant` makes."""
    # a copy first (one C call): another thread's op may add a number to the cache meanwhile,
    # and a comprehension over the live dict then stops with "changed size during iteration"
    cached = {id(constant) for constant in tuple(_scalars.values())}

    def shared(t: Tensor) -> bool:
        if id(t) in cached:
            return True
        data = t.data
        return (t.node is None and not t.requires_grad and isinstance(data, numpy.ndarray)
                and data.ndim == 0 and not data.flags.writeable)  # fmt: skip

    return shared


def _scalar_constant(value: Any, dtype: Any, xp: Any) -> Tensor:
    """A 0-d constant tensor, shared between uses: ``y * 1.01`` in a loop makes it only once.

    Safe to share because constants never require a gradient and ops never write into inputs
    (the array is read-only, so a slip would raise, and the engine copies a read-only total
    before it becomes anyone's ``.grad``).
    """
    # 0.0 == -0.0 (and hashes alike), but 1 / -0.0 is -inf: a zero is keyed by its spelling
    key = (type(value), value if value else repr(value), dtype, xp.__name__)
    constant = _scalars.get(key)
    if constant is None:
        if len(_scalars) >= 4096:
            _scalars.clear()
        array = xp.asarray(value, dtype=dtype)
        if hasattr(array, "flags"):
            array.flags.writeable = False
        constant = _scalars[key] = Tensor._wrap(array)
    return constant


def as_tensors(a: Any, b: Any, op: str | None = None) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors (whichever is a tensor sets a scalar's dtype);
    ``op`` names the op in a refusal of a number."""
    if isinstance(a, Tensor):  # the common case, two tensors, without a call per operand
        if isinstance(b, Tensor):
            return a, b
        operand = as_tensor(b, a, op)
        if isinstance(b, _NUMPY_FLOATS):  # only these can widen the tensor: no call for a number
            a = _in_numpys_dtype(a, operand)
        return a, operand
    b = as_tensor(b)
    operand = as_tensor(a, b, op)
    if isinstance(a, _NUMPY_FLOATS):
        b = _in_numpys_dtype(b, operand)
    return operand, b


#: The operands that may keep their own dtype beside a tensor: a 0-d NumPy float array, or a
#: NumPy float32 or float16 scalar (an np.float64 is read as the Python float it is, in the
#: tensor's dtype, and widens nothing).
_NUMPY_FLOATS = (numpy.ndarray, numpy.floating)


def _in_numpys_dtype(x: Tensor, operand: Tensor) -> Tensor:
    """``x``, a floating tensor of a library other than NumPy, cast to the dtype its pair with a
    NumPy float has on NumPy, where that value (:data:`_NUMPY_FLOATS`) joined ``x``'s library as
    the 0-d ``operand`` of a wider dtype.

    PyTorch lets a 0-d operand's dtype count only across kinds (float32 beside a 0-d float64
    stays float32 there), where NumPy, the array API standard and so array-api-strict and JAX
    give float64; a NumPy float array keeps its own dtype beside a tensor on every library.
    The cast is recorded, so the gradient returns to ``x`` in its own dtype."""
    if (
        operand.ndim
        or not x.ndim
        or x.xp is numpy
        or not backend.is_real_floating(operand.dtype, operand.xp)
        or not backend.is_real_floating(x.dtype, x.xp)
    ):
        return x
    mine, theirs = backend.dtype_name(x.dtype), backend.dtype_name(operand.dtype)
    try:
        wider = numpy.result_type(mine, theirs).name
    except TypeError:  # a dtype NumPy lacks (PyTorch's bfloat16): NumPy has no rule to follow
        return x
    return x if wider == mine else x.astype(wider)


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, an integer, or a sequence of them) as a sorted tuple of non-negative axes.

    Any integer counts (``operator.index``: a NumPy integer too, as NumPy and PyTorch take it).
    A 0-d tensor has no axis to name, as in NumPy (where ``a < 1`` let axis 0 through to fail
    later, an IndexError in squeeze).
    """
    if axis is None:
        return tuple(range(ndim))
    result = []
    for a in _integers(axis, op):
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: axis {axis} names the same axis twice")
    return tuple(sorted(result))


def single_axis(axis: Any, ndim: int, op: str, name: str = "axis") -> int:
    """``axis``, one integer, as a non-negative axis of a ``ndim``-d tensor; anything else (None,
    a tuple, ``1.0``) is a TypeError naming the op and the argument, as ``stack`` gives it.
    ``normalize_axes(axis, ...)[0]`` read None as every axis and took the first: ``split(x, 2,
    axis=None)`` and ``swapaxes(x, None, 1)`` silently used axis 0."""
    try:
        index = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an integer, not {axis!r}") from None
    return normalize_axes(index, ndim, op)[0]


def _integers(axis: Any, op: str) -> tuple[int, ...]:
    """``axis`` (an integer or a sequence of them) as a tuple of Python integers; anything else
    (``1.0``, a string) is refused naming the op (it was a bare "not iterable")."""
    try:
        return (operator.index(axis),)
    except TypeError:  # not an integer: a sequence of them
        pass
    try:
        return tuple(operator.index(a) for a in axis)
    except TypeError:
        raise TypeError(
            f"{op}: axis must be an integer or a sequence of integers, not {axis!r}"
        ) from None


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ---------------------------------------------------------------------------------------------
# Broadcasting and its transpose
# ---------------------------------------------------------------------------------------------


def _sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    extra = x.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and x.shape[extra + i] != 1
    )
    if type(x) is numpy.ndarray or not axes:
        if axes and axes[0] == 0 and x.size >= backend.BLOCKED_ROWS:  # maybe many cases
            return sum_cases_first(x, axes).reshape(shape)
        summed = backend.host_sum(x, axes, keepdims=True) if axes else x
        return summed.reshape(shape)
    xp = array_module(x)
    return xp.reshape(xp.sum(x, axis=axes, keepdims=True), shape)


def sum_cases_first(x: numpy.ndarray, axes: tuple[int, ...]) -> numpy.ndarray:
    """``x`` summed over ``axes`` (ascending, the first 0), the leading run of them as one axis
    of cases by :func:`~chainrule.backend.sum_rows` where they are many: NumPy's sum adds the
    rows of a leading axis one at a time, so its error would grow with the cases (a bias
    broadcast over a large batch here, a sum or mean over them in ``ops.reduce.sum_array``);
    the kept shape is the caller's to restore."""
    lead = 1
    while lead < len(axes) and axes[lead] == lead:
        lead += 1
    cases = math.prod(x.shape[:lead])
    if cases < backend.BLOCKED_ROWS:
        return backend.host_sum(x, axes, keepdims=True)
    if len(axes) > lead:  # the axes after a kept one first (a last axis: NumPy's pairwise sum)
        x = backend.host_sum(x, axes[lead:], keepdims=True)
    # a view where the layout allows (C order, a broadcast's zero strides, a 2-d array as it
    # is); sum_rows then sums by layout (a broadcast as its row times the cases)
    return backend.sum_rows(x.reshape(cases, x.size // cases))


sum_to = primitive(
    "sum_to",
    _sum_to,
    lambda g, out, x, shape: _broadcast_to(g, shape=x.shape),
    doc="Sum a broadcast array back down to `shape` (the transpose of broadcasting).",
)

_broadcast_to = primitive(
    "broadcast_to",
    lambda x, shape: array_module(x).broadcast_to(x, shape),
    lambda g, out, x, shape: unbroadcast(g, x.shape),
    doc="Repeat along new or size-1 axes; backward sums the copies.",
)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` repeated to ``shape`` by NumPy's broadcasting rules; to its own shape, a new tensor
    sharing its values (:func:`same_values`: writable, where NumPy's broadcast view is not)."""
    x = as_tensor(x)
    shape = tuple(shape)
    return same_values(x) if x.shape == shape else _broadcast_to(x, shape=shape)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum the gradient ``g`` back to an input's ``shape``: every broadcast copy adds up.

    Works on a tensor (recorded) or a plain array, like every helper that rules call.
    """
    return g if g.shape == shape else sum_to(g, shape=shape)


# ---------------------------------------------------------------------------------------------
# Reshaping and permuting
# ---------------------------------------------------------------------------------------------

_reshape = primitive(
    "reshape",
    backend.reshape,
    lambda g, out, x, shape: _reshape(g, shape=x.shape),
)


def reshape(x: Any, shape: Any) -> Tensor:
    """The same values in a new shape (one dimension may be -1). To its own shape it is still a
    new tensor, sharing ``x``'s values and recorded (as every op that changes nothing: see
    :func:`same_values`)."""
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _reshape(x, shape=shape)


def same_values(x: Tensor) -> Tensor:
    """A new tensor of ``x``'s values, sharing its array: what an op that changes nothing gives
    (a reshape or broadcast to ``x``'s own shape, a squeeze with nothing to squeeze, ``+x``), as
    PyTorch gives a view there. It was ``x`` itself, so that
    ``x.reshape(x.shape).requires_grad_(False)`` froze the parameter ``x``. Recorded as a
    reshape to its own shape (a view, no copy; a drawing hides it as implementation), so the
    gradient flows on to ``x``."""
    return _reshape(x, shape=x.shape)


def _inverse_permutation(axes: tuple[int, ...]) -> tuple[int, ...]:
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return tuple(inverse)


_transpose = primitive(
    "transpose",
    lambda x, axes: (
        x.transpose(axes) if type(x) is numpy.ndarray else array_module(x).permute_dims(x, axes)
    ),
    lambda g, out, x, axes: _transpose(g, axes=_inverse_permutation(axes)),
)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them by default, like ``.T``); the identity permutation (a 1-d
    tensor's ``.T``) is a new tensor too, a view of ``x``'s values, as in PyTorch."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    given = tuple(axes)
    if not all(-x.ndim <= a < x.ndim for a in given):
        raise ShapeError(f"transpose: axes {given} are out of range for a {x.ndim}-d tensor")
    axes = tuple(a % x.ndim for a in given) if x.ndim else given
    if sorted(axes) != list(range(x.ndim)):
        # two axes for more: PyTorch's transpose(dim0, dim1), which swaps them
        swap = f"; to swap two axes use swapaxes{given}" if len(given) == 2 < x.ndim else ""
        raise ShapeError(
            f"transpose: axes {given} are not a permutation of a {x.ndim}-d tensor{swap}"
        )
    return _transpose(x, axes=axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axis1, axis2 = (
        single_axis(axis1, x.ndim, "swapaxes", "axis1"),
        single_axis(axis2, x.ndim, "swapaxes", "axis2"),
    )
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Drop axes of length one (all of them, or the ones named)."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(
                    f"squeeze: axis {a} of shape {tuple(x.shape)} has length {x.shape[a]}, not 1"
                )
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Any, axis: Any) -> Tensor:
    """Insert an axis of length one at ``axis``, or at each of a sequence of axes, numbered in
    the result as NumPy's ``expand_dims`` numbers them (``expand_dims``)."""
    x = as_tensor(x)
    axes = _integers(axis, "unsqueeze")
    ndim = x.ndim + len(axes)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(
                f"unsqueeze: axis {a} is out of range for a result with {ndim} dimensions"
            )
    inserted = {a % ndim for a in axes}
    if len(inserted) != len(axes):
        raise ShapeError(f"unsqueeze: axis {axis} names the same axis twice")
    rest = iter(x.shape)
    return reshape(x, tuple(1 if i in inserted else next(rest) for i in range(ndim)))


expand_dims = unsqueeze


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------


def _foreign_to_numpy(item: Any) -> bool:
    return hasattr(item, "shape") and not isinstance(item, (numpy.ndarray, numpy.generic))


def _normalize_index(index: Any, like: Any) -> Any:
    """Tensors inside an index become their arrays; lists become arrays (NumPy's meaning) of
    ``like``'s library, on its device."""
    items = index if isinstance(index, tuple) else (index,)
    fixed = []
    on_numpy = isinstance(like, numpy.ndarray)
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        if on_numpy:  # a pandas Series of positions or a mask: its values (asarray_like's
            item = backend.bare_array(item)  # on another library)
        if on_numpy and _foreign_to_numpy(item):
            backend.check_compatible("getitem", [like, item])  # raises, naming both libraries
        if not on_numpy and isinstance(item, numpy.integer):
            # a position, as a Python int: made a 0-d array it named no axis (array-api-strict
            # refused x[0, i]), and PyTorch reads a uint8 one as a mask
            fixed.append(int(item))
            continue
        foreign = hasattr(item, "shape") and not on_numpy
        if isinstance(item, list) or foreign:
            # an empty list selects nothing along its axis: integer positions, not float64
            empty = isinstance(item, list) and not item
            # a key on another device joins the tensor's, as PyTorch takes a CPU key for a
            # CUDA tensor (x_cuda[torch.tensor([0, 2])])
            item = backend.asarray_like(
                _listed_arrays(item), like, dtype="int64" if empty else None, moves=True
            )
            # positions, as NumPy reads them: PyTorch took a uint8 key for a mask (rows 0 and
            # 2 of [1, 0, 1, 0], not rows 1, 0, 1, 0)
            item = backend.signed_positions(item)
        fixed.append(item)
    if not on_numpy:
        _one_ellipsis(fixed, index)
        fixed = _integers_beside_arrays_as_arrays(fixed, like)
    if type(like).__module__.startswith("torch"):
        fixed = _masks_beside_arrays_as_positions(fixed, like)
        fixed = _negative_steps_as_positions(fixed, like)
    if not isinstance(like, numpy.ndarray) and not any(
        item is Ellipsis or hasattr(item, "shape") for item in fixed
    ):
        fixed.append(Ellipsis)  # the standard wants every axis named; NumPy implies the rest
        return tuple(fixed)
    return tuple(fixed) if isinstance(index, tuple) else fixed[0]


def _listed_arrays(item: Any) -> Any:
    """A list of an index that holds tensors (at any depth), as NumPy reads it: one array of
    their values and the numbers beside them, made on the host (a list is the user's own
    positions, and NumPy's reading the meaning of every key). PyTorch's ``asarray`` took a list
    of 0-d chainrule tensors for sequences and failed on "len() of a 0-d tensor"
    (``x[[cr.tensor(1), cr.tensor(0)]]``). Any other list is left as it is."""
    if not isinstance(item, list) or not _holds_tensor(item):
        return item
    return numpy.asarray(_host_values(item))


def _holds_tensor(item: Any) -> bool:
    if isinstance(item, Tensor):
        return True
    return isinstance(item, list) and any(_holds_tensor(element) for element in item)


def _host_values(item: Any) -> Any:
    if isinstance(item, Tensor):
        return backend.to_numpy(item.data)
    if isinstance(item, list):
        return [_host_values(element) for element in item]
    return item


def _integers_beside_arrays_as_arrays(items: list, like: Any) -> list:
    """Integers of an index that holds an array, as one-element arrays: NumPy counts such an
    integer among the advanced indices (``x[0, :, [0, 2]]`` puts the array's axis first, as
    integers and arrays apart put theirs), PyTorch as a plain position (the axis stayed in
    place: a (5, 2) result for NumPy's (2, 5), transposed numbers where it was square). A
    one-element array broadcasts against the others as the integer does in NumPy."""
    if not any(getattr(item, "ndim", 0) >= 1 for item in items):
        return items
    return [_one_element_positions(item, like) for item in items]


def _one_element_positions(item: Any, like: Any) -> Any:
    """An integer, or a 0-d integer array (NumPy counts both among the advanced indices), as a
    one-element array; anything else as it is."""
    if isinstance(item, int) and not isinstance(item, bool):
        return backend.asarray_like([item], like, dtype="int64")
    if getattr(item, "ndim", None) == 0 and backend.dtype_name(item.dtype).startswith(
        ("int", "uint")
    ):
        return backend.reshape(item, (1,))
    return item


def _one_ellipsis(items: list, index: Any) -> None:
    """NumPy's refusal of a second Ellipsis, which PyTorch took (``x[..., ...]`` was ``x``)."""
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError(
            f"getitem: index {index!r} has more than one Ellipsis: an index can only have a "
            "single ellipsis ('...'), as in NumPy"
        )


def _is_mask(item: Any) -> bool:
    return getattr(item, "ndim", 0) >= 1 and backend.dtype_name(item.dtype) == "bool"


def _first_axes(items: list, ndim: int) -> list[int]:
    """The first axis of an array of ``ndim`` dimensions that each item of an index reads (an
    Ellipsis the axes no other item names, a boolean mask as many as it has)."""

    def taken(item: Any) -> int:
        return item.ndim if _is_mask(item) else 1

    named = sum(taken(item) for item in items if item is not None and item is not Ellipsis)
    firsts, axis = [], 0
    for item in items:
        firsts.append(axis)
        if item is Ellipsis:
            axis += ndim - named
        elif item is not None:
            axis += taken(item)
    return firsts


def _masks_beside_arrays_as_positions(items: list, like: Any) -> list:
    """A boolean mask beside another array, as the integer arrays of its true positions (one
    per axis it covers), which NumPy reads it as: PyTorch placed a mask's axes apart from the
    other arrays where a slice or Ellipsis came between (``x[1:, mask, ..., -2]`` of a
    (3, 4, 5) ``x`` was (2, 3) for NumPy's (3, 2); ``x[1:, 0, ..., mask]`` transposed), and
    reads integer arrays as NumPy does. NumPy's check that a mask fits its axes comes first,
    as positions would fit axes the mask did not."""
    if not any(_is_mask(item) for item in items) or (
        sum(hasattr(item, "shape") for item in items) < 2
    ):
        return items
    xp = array_module(like)
    fixed = []
    for item, axis in zip(items, _first_axes(items, like.ndim)):
        if not _is_mask(item):
            fixed.append(item)
            continue
        covered = tuple(like.shape[axis : axis + item.ndim])
        if tuple(item.shape) != covered:
            raise IndexError(
                f"getitem: a boolean index of shape {tuple(item.shape)} does not match the indexed "
                f"array's axes from {axis} on, of shape {covered}"
            )
        fixed.extend(xp.nonzero(item))
    return fixed


def _negative_steps_as_positions(items: list, like: Any) -> list:
    """PyTorch slices with no negative step (``x[::-1]`` raised "step must be greater than
    zero"): one such slice becomes the positions it names, an integer array on its axis, which
    selects the same, in the same place, when it is the index's only array."""
    backwards = [
        k for k, item in enumerate(items) if isinstance(item, slice) and (item.step or 1) < 0
    ]
    if not backwards:
        return items
    if len(backwards) > 1 or any(hasattr(item, "shape") for item in items):
        raise IndexError(
            "getitem: PyTorch takes a negative slice step only as the index's one array-like "
            "part; index in two steps (x[::-1][:, ::-1]) or flip a NumPy copy"
        )
    (at,) = backwards
    axis = _first_axes(items, like.ndim)[at]
    positions = list(range(*items[at].indices(like.shape[axis])))
    return [*items[:at], backend.asarray_like(positions, like, dtype="int64"), *items[at + 1 :]]


def _refused(op: str, index: Any, shape: tuple[int, ...], error: IndexError) -> IndexError:
    """An index's refusal naming the op, the key (the user's own, not the library's form of it)
    and the shape it does not fit."""
    return IndexError(f"{op}: index {_key_text(index)} does not fit shape {tuple(shape)}: {error}")


#: The longest key a refusal quotes whole; past it a list in the key is summarised
KEY_TEXT_LIMIT = 200


def _key_text(index: Any) -> str:
    """``index`` as its repr where that is one line of at most :data:`KEY_TEXT_LIMIT`
    characters; else each array in it as its dtype and shape (``<float32 array of shape
    (100, 3)>``): a repr of many lines, cut to its first by a one-line report (the command
    line's), named nothing; and each list summarised as NumPy summarises a long array
    (``[0, 1, 2, ..., 99999] (a list of 100000)``), not quoted whole."""
    text = repr(index)
    if "\n" not in text and len(text) <= KEY_TEXT_LIMIT:
        return text
    items = [_item_text(item) for item in (index if isinstance(index, tuple) else (index,))]
    if not isinstance(index, tuple):
        return items[0]
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


def _item_text(item: Any) -> str:
    if isinstance(item, Tensor) or _is_array_key(item):
        kind = "tensor" if isinstance(item, Tensor) else "array"
        return f"<{backend.dtype_name(item.dtype)} {kind} of shape {tuple(item.shape)}>"
    if isinstance(item, list):
        return _list_text(item)
    return " ".join(repr(item).split())


def _list_text(item: list) -> str:
    """A list in a key, its first and last three entries and its length (its shape where it
    nests): ``[0, 1, 2, ..., 99997, 99998, 99999] (a list of 100000)``."""
    try:
        values = numpy.asarray(item)
    except (ValueError, TypeError):  # ragged: quoted as it is
        return " ".join(repr(item).split())
    text = numpy.array2string(values, separator=", ", threshold=6, edgeitems=3)
    text = " ".join(text.split()).replace("[ ", "[")  # NumPy pads entries to one width
    size = f"a list of {len(item)}" if values.ndim == 1 else f"a list of shape {values.shape}"
    return f"{text} ({size})"


def _scatter_add(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    try:
        return backend.scatter_add(g, shape, index)
    except IndexError as error:
        raise _refused("scatter_add", index, shape, error) from None


scatter_add = primitive(
    "scatter_add",
    _scatter_add,
    lambda g, out, src, shape, index: _getitem(g, index=index),
    doc="Zeros of `shape` with `src` added at `index` (the transpose of indexing).",
)

_getitem = primitive(
    "getitem",
    backend.index_array,
    lambda g, out, x, index: scatter_add(g, shape=x.shape, index=index),
    doc="x[index] with ints, slices, None, boolean masks or integer arrays.",
)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]``; a repeated integer index accumulates its gradient, as ``np.add.at`` does.

    Where the result is recorded, the index's arrays are recorded as copies: the backward pass
    sends the gradient to the elements the forward read, though the caller writes new positions
    into the same index buffer in between (PyTorch refuses a tensor key changed so)."""
    x = as_tensor(x)
    _refuse_float_index(x, index)
    key = _normalize_index(index, x.data)
    if x.requires_grad and is_grad_enabled():
        key = _arrays_copied(key)
    try:
        return _getitem(x, index=key)
    except IndexError as error:  # named by the user's own key, not the library's form of it
        raise _refused("getitem", index, x.shape, error) from None


def _arrays_copied(key: Any) -> Any:
    """``key`` with each array in it (integer positions, a boolean mask) a copy of its own; the
    ints, slices, None and Ellipsis as they are (nothing to copy, nothing paid)."""
    if type(key) is numpy.ndarray:  # one NumPy array, the common key: its own copy
        return key.copy()
    items = key if isinstance(key, tuple) else (key,)
    if not any(_is_array_key(item) for item in items):
        return key
    copied = tuple(_copy_of(item) if _is_array_key(item) else item for item in items)
    return copied if isinstance(key, tuple) else copied[0]


def _copy_of(array: Any) -> Any:
    """A copy of an index array: a NumPy array's own ``copy`` (a small key's copy through
    ``asarray_like`` cost more than the indexing), another library's by ``asarray_like``."""
    if type(array) is numpy.ndarray:
        return array.copy()
    return backend.asarray_like(array, array, copy=True)


def _is_array_key(item: Any) -> bool:
    return hasattr(item, "shape") and not isinstance(item, numpy.generic)


def _refuse_float_index(x: Tensor, index: Any) -> None:
    """Refuse an index array of floats in NumPy's words first, naming its dtype and shape. Where
    its values are whole numbers it says next what to write (cast it with ``.astype('int64')``),
    then one likely cause: a model that indexes with its input (an embedding lookup) gets its
    rows cast to the model's float dtype by chainrule.train's fit and predict, and must cast
    them back. Where they are not (0.5), no cast is offered: it would truncate them to other
    positions."""
    for item in index if isinstance(index, tuple) else (index,):
        array = item.data if isinstance(item, Tensor) else item
        if type(array) is numpy.ndarray and array.dtype.kind in "biu":
            continue  # NumPy positions or a mask, the common key: one look at the dtype's kind
        if not _is_array_key(array) or not backend.dtype_name(array.dtype).startswith(
            ("float", "bfloat", "complex")
        ):
            continue
        what = (
            "arrays used as indices must be of integer (or boolean) type, and it holds a "
            f"{backend.dtype_name(array.dtype)} array of shape {tuple(array.shape)}"
        )
        if _whole_numbers(array):
            what += (
                " of whole numbers: cast it with .astype('int64') (whole numbers are exact up "
                "to 2**24 in float32, 2**53 in float64). If it came through chainrule.train's "
                "fit or predict (or the chainrule command), those cast a dataset's inputs to "
                "the model's float dtype: cast them back in forward, e.g. "
                "self.weight[idx.astype('int64')]"
            )
        raise _refused("getitem", index, x.shape, IndexError(what))


def _whole_numbers(array: Any) -> bool:
    """Whether every value of a float array is a whole number (False where it cannot be read,
    such as under a JAX transform)."""
    try:
        values = backend.to_numpy(array)
        return bool(numpy.all(numpy.isfinite(values)) and numpy.all(values == numpy.round(values)))
    except Exception:  # noqa: BLE001  (an error message's detail: never an error of its own)
        return False


# ---------------------------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------------------------


def _concatenate_vjp(index: int, g: Tensor, out: Tensor, *inputs: Tensor, axis: int) -> Tensor:
    start = sum(t.shape[axis] for t in inputs[:index])
    stop = start + inputs[index].shape[axis]
    return _getitem(g, index=(slice(None),) * axis + (slice(start, stop), Ellipsis))


_concatenate = primitive(
    "concatenate",
    lambda *xs, axis: (
        numpy.concatenate(xs, axis=axis)
        if type(xs[0]) is numpy.ndarray
        else array_module(xs[0]).concat(xs, axis=axis)
    ),
    EachInput(_concatenate_vjp),
    doc="Join tensors along an existing axis; backward slices the gradient apart.",
)


def _joined(values: Sequence[Any]) -> list[Tensor]:
    """The parts of a concatenate or stack as tensors: NumPy arrays and lists among a library's
    tensors (or arrays) join its library and device, as a binary op's operand does, and a
    list's numbers take the first tensor's dtype (:func:`~chainrule.backend.list_operand`)."""
    values = list(values)
    like = next((value for value in values if isinstance(value, Tensor)), None)
    # NumPy's alone, or no bare array or list among them: nothing to join
    if backend.other_libraries and any(isinstance(v, backend.JOINING_TYPES) for v in values):
        for value in values:
            data = value.data if isinstance(value, Tensor) else value
            if hasattr(data, "shape") and not isinstance(data, (numpy.ndarray, numpy.generic)):
                like = as_tensor(value)
                break
    return [as_tensor(value, like) for value in values]


def concatenate(tensors: Sequence[Any], axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (NumPy arrays and lists join the tensors' library);
    with ``axis=None``, each flattened first, as NumPy joins them (any shapes, 0-d included).
    A 0-d tensor has no axis to join along: refused naming the shapes, as in NumPy."""
    tensors = _joined(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    if axis is None:  # it joined along axis 0, unflattened (NumPy flattens each input)
        flat = [t if t.ndim == 1 else _reshape(t, shape=(-1,)) for t in tensors]
        return _concatenate(*flat, axis=0)
    ndim = tensors[0].ndim
    if ndim == 0:  # NumPy's words (it was an axis out of range); a 0-d tensor after the first
        # is refused by the library, naming the shapes and their numbers of dimensions
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ShapeError(
            f"concatenate: zero-dimensional tensors cannot be concatenated (shapes {shapes}); "
            "use stack, or axis=None to join their values"
        )
    # before the axis: its range is the first tensor's, and NumPy names the axis it normalised
    odd = next((i for i, t in enumerate(tensors) if t.ndim != ndim), None)
    if odd is not None:
        which = f" (tensors 0 and {odd})" if len(tensors) > 2 else ""
        raise ShapeError(  # "op: shapes ... and ...", as every op's shape refusal begins
            f"concatenate: shapes {tuple(tensors[0].shape)} and {tuple(tensors[odd].shape)}"
            f"{which} have {ndim} and {tensors[odd].ndim} dimensions: all tensors need the "
            "same number"
        )
    return _concatenate(*tensors, axis=single_axis(axis, ndim, "concatenate"))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = _joined(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    first = tuple(tensors[0].shape)
    # named by position, as concatenate names them: a set of distinct shapes hid which of
    # K experts was the odd one out
    odd = [i for i, t in enumerate(tensors) if tuple(t.shape) != first]
    if odd:
        more = f" ({len(odd) - 1} more differ)" if len(odd) > 1 else ""
        raise ShapeError(
            f"stack: all tensors need one shape, but tensor 0 has {first} and tensor "
            f"{odd[0]} has {tuple(tensors[odd[0]].shape)}{more}"
        )
    try:
        new_axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"stack: axis must be an integer, not {axis!r}") from None
    ndim = tensors[0].ndim + 1
    if not -ndim <= new_axis < ndim:  # here: unsqueeze's error named an op not called
        raise ShapeError(
            f"stack: axis {new_axis} is out of range for a result with {ndim} dimensions "
            f"(tensors of shape {tuple(tensors[0].shape)})"
        )
    return concatenate([unsqueeze(t, new_axis) for t in tensors], axis=new_axis)


def _split_indices(indices: Any) -> list[int]:
    """``split``'s indices as a list of ints (a list, a tuple or a 1-D integer array), or a
    TypeError naming the op (``split(x, 2.0)`` raised "Value after * must be an iterable")."""
    if isinstance(indices, numpy.ndarray) and indices.ndim == 1 and indices.dtype.kind in "iu":
        return indices.tolist()
    if isinstance(indices, Sequence) and all(
        isinstance(i, (int, numpy.integer)) and not isinstance(i, bool) for i in indices
    ):
        return [int(i) for i in indices]
    raise TypeError(
        f"split: indices_or_sections must be a number of sections or a list of integer "
        f"indices, not {indices!r}"
    )


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Split into equal sections, or at the given indices, along ``axis`` (like ``np.split``)."""
    x = as_tensor(x)
    axis = single_axis(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(indices_or_sections, (int, numpy.integer)):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ShapeError(
                f"split: axis {axis} of length {length} does not divide into "
                f"{indices_or_sections} equal sections"
            )
        # counted by section, not range(0, length + 1, step): a length-0 axis has step 0
        step = length // indices_or_sections
        bounds = [i * step for i in range(indices_or_sections + 1)]
    else:
        bounds = [0, *_split_indices(indices_or_sections), length]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(lo, hi), Ellipsis)) for lo, hi in zip(bounds[:-1], bounds[1:])]
