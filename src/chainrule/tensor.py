"""Tensor: an array from the array module, plus its gradient and the node that produced it.

The operators and methods here are thin: each forwards to a function in :mod:`chainrule.ops`,
which runs the primitive and lets the engine record it. The array itself is ``tensor.data``; the
module that owns it is ``tensor.xp`` (NumPy unless another array library was registered).
"""

from __future__ import annotations

import inspect
import numbers
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Never, Self

import numpy as np

from chainrule import backend
from chainrule.backend import array_module, to_numpy
from chainrule.errors import ShapeError, mark_in_process

if TYPE_CHECKING:
    from chainrule.engine import Node
    from chainrule.ops.registry import Primitive

Scalar = int | float | bool
ArrayLike = Any


_new = object.__new__
_unit_seeds: dict[tuple[Any, Any], Any] = {}
#: Held while a backward adds its totals into the leaves' ``.grad`` (read, add, write back):
#: threads training one model at once (Hogwild) would otherwise lose each other's sums, as
#: PyTorch's engine prevents with a lock of its own.
_accumulating = threading.Lock()


def _unit_seed(data: Any) -> Any:
    """dE/dE = 1 shaped like a one-element output: a shared read-only array (no allocation per
    backward; the engine copies it before it could become anyone's ``.grad``)."""
    if type(data) is not np.ndarray and (xp := array_module(data)) is not np:
        # on the output's own device; no read-only flag to protect a shared one
        return xp.ones(data.shape, dtype=data.dtype, device=backend.device_of(data))
    key = (np, data.dtype)  # every backward's: no namespace look-up for a NumPy output
    one = _unit_seeds.get(key)
    if one is None:
        one = _unit_seeds[key] = np.ones((), data.dtype)
        one.flags.writeable = False
    return one.reshape(data.shape)


def _not_numbers(
    data: Any, dtype: Any, values: np.ndarray | None = None, who: str = "tensor"
) -> str:
    """Why values that NumPy stores as strings, objects or dates cannot be a tensor, nor a
    NumPy array of ml_dtypes' floats (bfloat16, float8: a torch or JAX array of them can).
    ``values``, NumPy's array of ``data``: an object array of numbers holds an integer that no
    integer dtype of NumPy's holds, which is named, with the float that holds it. ``who``
    names the function refusing (``astype`` names no example value: its input was numbers)."""
    big = None if values is None else _too_large_integer(values)
    if big is not None:
        return _too_large_message(big, values)
    shown = repr(data)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    if backend.dtype_kind(dtype) == "f":
        return (
            f"{who}: a NumPy array of {dtype} (ml_dtypes' float) cannot be a tensor: on NumPy "
            "chainrule computes in NumPy's own dtypes; convert it with .astype(numpy.float32), "
            "which holds each of its values exactly"
        )
    called = _uncalled(data)
    if called is not None:
        return f"{who}: a tensor holds numbers (bool, int, float or complex); {called}"
    example = f" such as {shown}" if who == "tensor" else ""
    return (
        f"{who}: a tensor holds numbers (bool, int, float or complex), not values of dtype "
        f"{dtype}{example}"
    )


def _uncalled(data: Any) -> str | None:
    """What to say of a method or function given where numbers go (``h.detach @ W``, the call's
    parentheses forgotten), or None for other values (also seen in a 0-d object array)."""
    if isinstance(data, np.ndarray) and data.dtype == object and data.size == 1:
        data = data.reshape(-1)[0]
    if not (inspect.isroutine(data) or inspect.ismethodwrapper(data)):
        return None
    name = getattr(data, "__name__", "?")
    owner = getattr(data, "__self__", None)
    if owner is None or inspect.ismodule(owner):
        return f"got a function ({name}), not its result: call it, {name}(...)"
    return f"got a method ({type(owner).__name__}.{name}), not its result: call it, x.{name}()"


def check_numbers_dtype(dtype: np.dtype, who: str) -> None:
    """Refuse, in :func:`_not_numbers`' words naming ``who``, a NumPy dtype that holds no
    numbers (strings, objects, dates; ml_dtypes' int4 and raw bytes): ``astype`` made such a
    tensor, whose ops then failed far from the cast. ml_dtypes' floats (bfloat16, float8s) pass:
    rounding through them and back (``x.astype("bfloat16").astype("float32")``) simulates their
    precision, gradient included; ops on such a tensor compute as NumPy's ufuncs promote it."""
    if backend.dtype_kind(dtype) not in "biufc":
        raise TypeError(_not_numbers(None, dtype, who=who))


def _too_large_integer(values: np.ndarray, dtype: Any = np.int64) -> int | None:
    """The first Python integer out of ``dtype``'s range (an integer dtype) in an object array
    that holds numbers alone (NumPy made it an object array for that integer), or None."""
    if values.dtype != object:
        return None
    cells = values.reshape(-1)
    if not all(isinstance(cell, numbers.Number) for cell in cells):
        return None  # a string, None or an array among them: that is what to name
    limits = np.iinfo(dtype)
    return next((n for n in cells if type(n) is int and not limits.min <= n <= limits.max), None)


def _range_of(dtype: Any) -> str:
    """An integer dtype's range as a person writes it: ``-2**63 to 2**63 - 1``."""
    limits = np.iinfo(dtype)
    bits = limits.bits - (limits.min < 0)
    low = f"-2**{bits}" if limits.min < 0 else "0"
    return f"{low} to 2**{bits} - 1" if bits > 16 else f"{limits.min} to {limits.max}"


def _too_large_message(n: int, values: np.ndarray, dtype: Any = np.int64) -> str:
    """The refusal of the Python integer ``n`` that ``dtype`` (int64 where none was asked for)
    cannot hold (NumPy reads 2**63 to 2**64 - 1 alone as uint64; a tensor has no wider integers),
    with the float that holds it."""
    bits = n.bit_length()
    named = f"the integer {n}" if bits <= 100 else f"an integer of {bits} bits"
    try:
        float(n)
    except OverflowError:
        fix = "nor does float64 (at most 1.8e308); scale it down first"
    else:
        complex_cells = any(isinstance(cell, complex) for cell in values.reshape(-1))
        wide = "complex128" if complex_cells else "float64"
        fix = f"give it as a float (dtype={wide}, or float(...)), which holds it to 16 digits"
    return f"tensor: {named} does not fit in {np.dtype(dtype)} ({_range_of(dtype)}); {fix}"


def holds_none(given: Any, values: np.ndarray | None = None) -> bool:
    """Whether ``given`` is None, or a list, tuple or object array holding None, that NumPy read
    as NaN in ``values`` (asked for a float dtype, it makes a missing value NaN, silently). The
    cells are searched only where ``values`` has a NaN, so that numbers pay one pass over the
    array, and arrays of numbers none. ``values`` None: NumPy raised instead of making any (a
    masked array's None, whose ``float()`` fails), and the cells are searched for the cause."""
    if given is None:
        return True
    if isinstance(given, np.ndarray):  # a masked array too
        if given.dtype.kind != "O":  # an array of numbers: the fast path, nothing to look for
            return False
    elif type(given) not in (list, tuple):
        return False
    if values is not None and (values.dtype.kind not in "fc" or not np.isnan(values).any()):
        return False
    return _any_none(np.asarray(given, dtype=object))


def numbers_of(data: Any, dtype: Any, copy: bool = False) -> np.ndarray | None:
    """NumPy's array of ``data`` in ``dtype`` (a copy with ``copy``, else shared where NumPy
    can); None where NumPy could make none for a None in ``data`` (a masked array's None,
    whose ``float()`` fails before NumPy makes NaN), for the caller to refuse as it refuses
    None. A list or tuple holding a masked array with entries masked is refused, as a bare one
    is (:func:`~chainrule.backend.check_unmasked_within`: NumPy read the values under its mask).
    A scipy sparse matrix is refused, saying how to make it dense (:func:`sparse_refusal`).
    Any other refusal is NumPy's own."""
    try:
        values = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
    except TypeError:
        _refuse_sparse(data)  # looked for only where NumPy failed: numbers pay nothing
        if not holds_none(data):
            raise
        return None
    except ValueError:  # NumPy's "inhomogeneous shape after 1 dimensions" named no row
        _refuse_sparse(data)
        ragged = _ragged(data) if type(data) in _LISTS else None
        if ragged is None:
            raise
        raise ValueError(
            f"tensor: the rows are of different lengths: {ragged}; a tensor's rows all have "
            "one length (pad the short ones, or make a tensor of each)"
        ) from None
    if values.dtype.kind == "O" and values.ndim == 0:  # NumPy's one object: a sparse matrix?
        _refuse_sparse(data)
    if type(data) in _LISTS:  # an array pays this one test
        backend.check_unmasked_within(data, values)
    return values


def _refuse_sparse(data: Any) -> None:
    """Raise :func:`sparse_refusal`'s TypeError where ``data`` is a scipy sparse matrix."""
    refusal = sparse_refusal(data, "tensor")
    if refusal is not None:
        raise TypeError(refusal)


_LISTS = (list, tuple)


def sparse_refusal(value: Any, what: str) -> str | None:
    """The words refusing ``value`` where it is a scipy sparse matrix or array, which NumPy
    misreads (a 0-d array of one object, or "setting an array element with a sequence"), for
    the caller to raise as its own error, naming its own call ``what`` (a tensor's TypeError,
    a dataset's DataError, the explainer's ExplainError); None for any other value."""
    sparse = sys.modules.get("scipy.sparse")  # a sparse matrix exists only once it is loaded
    if sparse is None or not sparse.issparse(value):
        return None
    return (
        f"{what}: got a scipy sparse matrix ({type(value).__name__}, shape {value.shape}); "
        "sparse data is not supported: pass a dense array, its .toarray()"
    )


def _ragged(data: list | tuple) -> str | None:
    """Where the nested lists ``data`` stop being rectangular, in words ("data[1] has 1 item
    where data[0] has 2"), level by level from the top; None where they are rectangular (NumPy
    refused them for another reason)."""
    level: list[tuple[str, Any]] = [("data", data)]
    while level:
        rows = [(at, item) for at, item in level if _is_row(item)]
        if not rows:
            return None
        first_at, first = rows[0]
        if len(rows) < len(level):  # a number beside a list
            at = next(at for at, item in level if not _is_row(item))
            return f"{at} is a number where {first_at} is a list of {len(first)}"
        for at, row in rows:
            if len(row) != len(first):
                return f"{at} has {_items(len(row))} where {first_at} has {len(first)}"
        level = [(f"{at}[{i}]", item) for at, row in rows for i, item in enumerate(row)]
    return None


def _is_row(item: Any) -> bool:
    """Whether ``item`` is a row of :func:`_ragged`'s lists: a list, a tuple or an array of at
    least one axis."""
    return type(item) in _LISTS or (isinstance(item, np.ndarray) and item.ndim > 0)


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _any_none(cells: np.ndarray) -> bool:
    """Whether object cells hold None, looking inside the 0-d object arrays among them, which
    NumPy keeps whole in a list's object array (``[np.array(None), 1.0]``) but reads as NaN;
    masked ones too (``[np.ma.array(None), 1.0]``)."""
    return any(
        cell is None or (isinstance(cell, np.ndarray) and cell.dtype == object and _any_none(cell))
        for cell in cells.reshape(-1)
    )


def _leaves_a_matrix(axes: tuple) -> bool:
    """Whether two axes listed for a 2-d tensor's ``transpose`` are its identity permutation,
    (0, 1) or the same counted from the end, which PyTorch reads as a swap."""
    return (
        len(axes) == 2
        and all(isinstance(a, (int, np.integer)) and -2 <= a < 2 for a in axes)
        and [a % 2 for a in axes] == [0, 1]
    )


def _grad_flag(requires_grad: Any, who: str) -> bool:
    """``requires_grad`` given to ``who``'s constructor (``Tensor``, ``Parameter``) as a bool, or a
    TypeError naming it: a string or a number was taken for its truth (``"no"`` required a
    gradient), and a dtype there (``Tensor([1.0], "float32")``, where ``cr.tensor`` takes the
    dtype second) made a float64 tensor that requires a gradient. NumPy's bool is a bool. Only
    the public constructor calls this, and ``requires_grad_`` (a tensor's and a module's, whose
    ``who`` ends in "_" and has no dtype to name), and only for a value that is neither True nor
    False."""
    if isinstance(requires_grad, np.bool_):
        return bool(requires_grad)
    shown = repr(requires_grad)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    message = f"{who}: requires_grad must be True or False, not {shown}"
    dtype = None if who.endswith("_") else _dtype_named_by(requires_grad)
    if dtype is not None:
        raise TypeError(
            f"{message}, a dtype: dtype is {who}'s third argument, {who}(data, requires_grad, "
            f"dtype) (cr.tensor takes it second); pass dtype={dtype!r}"
        )
    raise TypeError(f"{message} ({type(requires_grad).__name__})")


def _dtype_named_by(value: Any) -> str | None:
    """The dtype ``value`` names, by its name (``"float32"``, ``np.float32``, ``float``,
    ``torch.float32``), or None where it names none."""
    if isinstance(value, np.dtype) or type(value).__name__.lower() == "dtype":  # torch's too
        return backend.dtype_name(value)
    if (
        isinstance(value, str)
        or any(value is kind for kind in (float, int, complex, bool))
        or (isinstance(value, type) and issubclass(value, np.generic))
    ):
        try:
            return np.dtype(value).name
        except TypeError:
            return None
    return None


#: NumPy's default dtypes, which a NumPy tensor's repr leaves unsaid (:func:`_unsaid_dtypes`).
_NUMPY_DEFAULTS = ("float64", "complex128", "int64", "bool")
#: The complex dtype of a default float's width, as PyTorch pairs them (complex64 with float32).
_COMPLEX_OF = {"float16": "complex32", "float32": "complex64", "float64": "complex128"}


def _unsaid_dtypes(xp: Any, data: Any) -> tuple[str, ...]:
    """The dtypes a tensor's repr does not name, as PyTorch's names none of its defaults: the
    default float of the tensor's library (what ``cr.tensor([1.0])`` makes there: NumPy's
    float64, PyTorch's float32 unless set), the complex of its width, the default integer and
    bool. A float64 tensor's repr on PyTorch says ``dtype=torch.float64``, as torch's does."""
    if xp is np:
        return _NUMPY_DEFAULTS
    try:
        floating = backend.dtype_name(backend.default_float(xp, data))
        integer = backend.dtype_name(backend.default_int(xp, data))
    except (AttributeError, KeyError, TypeError):  # no inspection API: say any dtype but NumPy's
        return _NUMPY_DEFAULTS
    return (floating, _COMPLEX_OF.get(floating, ""), integer, "bool")


#: The ufuncs NumPy calls for an operator with an array or a NumPy scalar on the left (``arr + t``
#: is ``np.add(arr, t)``): the tensor's operator, and its reflected one, that answers each
_UFUNC_OPERATORS = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.less: ("__lt__", "__gt__"),
    np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"),
    np.greater_equal: ("__ge__", "__le__"),
    np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__"),
}
#: the operator of ``arr op= t``, which NumPy calls as ``np.add(arr, t, out=(arr,))``
_IN_PLACE_SYMBOLS = {
    "add": "+",
    "subtract": "-",
    "multiply": "*",
    "divide": "/",
    "power": "**",
    "matmul": "@",
}
#: chainrule's name for a NumPy ufunc (or ufunc method) where it is another
_CHAINRULE_NAMES = {
    "absolute": "abs",
    "negative": "neg",
    "expit": "sigmoid",  # scipy.special's
    "add.reduce": "sum",
    "maximum.reduce": "max",
    "minimum.reduce": "min",
}


def _ufunc_refusal(ufunc: Any, method: str, count: int, kwargs: dict[str, Any]) -> str:
    """Why NumPy's ``ufunc`` (called as ``method``, on ``count`` inputs) is refused a tensor,
    and what to use: chainrule's function of its name where there is one. Keeps NumPy's words
    "does not support ufuncs", by which the engine knows a rule that calls NumPy on the
    tensors of tensor mode."""
    import chainrule  # the package imports this module first: loaded by the time NumPy calls

    name = getattr(ufunc, "__name__", repr(ufunc))
    called = f"np.{name}" if getattr(np, name, None) is ufunc else name
    if method != "__call__":
        called, name = f"{called}.{method}", f"{name}.{method}"
    what = f"{called} on a chainrule Tensor"
    symbol = _IN_PLACE_SYMBOLS.get(name) if "out" in kwargs and method == "__call__" else None
    if symbol is not None:
        return (
            f"{what} with out= (as `arr {symbol}= t` asks): NumPy cannot write a recorded result "
            f"into an array (a Tensor does not support ufuncs); write arr = arr {symbol} t for "
            "a tensor, or use t.numpy() where no gradient is wanted. To update a parameter by "
            "its gradient (micrograd's p.data += -lr * p.grad), step the tensor itself: with "
            "cr.no_grad(): p -= lr * p.grad"
        )
    own = _CHAINRULE_NAMES.get(name, name)
    function = getattr(chainrule, own, None) if own.isidentifier() else None
    if callable(function) and not isinstance(function, type):
        args = "t" if method != "__call__" or count == 1 else ", ".join("abc"[:count])
        return (
            f"{what}: NumPy cannot record it for backward (a Tensor does not support ufuncs); "
            f"use cr.{own}({args})"
        )
    return (
        f"{what}: NumPy cannot record it for backward (a Tensor does not support ufuncs) and "
        f"chainrule has no {own}; use chainrule's ops, or call {called} on t.numpy() where no "
        "gradient is wanted"
    )


class _ReadByNumPy:
    """``Tensor.__array_ufunc__``: the method where NumPy reads it, from the class (NumPy looks
    it up on the type: ``arr + t`` and ``np.exp(t)`` reach the method), and None read from a
    tensor. NumPy's masked arrays read it from the operand itself (``m + t``:
    ``MaskedArray._delegate_binop``, NumPy's rule of deferring written again in Python), and,
    given a method, computed on the tensor's bare values (its ``__array__``), a masked array
    out, the tensor dropped from the graph and the values under the mask used; None tells them
    to leave the operator to the tensor (``t.__radd__(m)``), which records it and refuses a
    masked entry as :func:`~chainrule.backend.check_unmasked` does. Python code that copies
    NumPy's rule (NumPy's ``NDArrayOperatorsMixin``) defers to the tensor alike. No op of
    chainrule's reads it."""

    def __init__(self, method: Any) -> None:
        self.method = method

    def __get__(self, tensor: Any, owner: Any = None) -> Any:
        return self.method if tensor is None else None


#: PyTorch's keyword names for the arguments of chainrule's methods that take an axis
_TORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims"}


def torch_keywords(op: str, given: dict[str, Any]) -> TypeError:
    """The refusal of keywords that the method ``op`` (``sum``, ``softmax``, ...) does not take:
    PyTorch's ``dim=`` and ``keepdim=`` named by chainrule's names with the call to write
    (Python's own words, "unexpected keyword argument 'dim'", gave no way on); any other
    keyword in Python's words. The methods taking an axis collect unknown keywords
    (``**torch_names``) only to refuse them here."""
    name, value = next(iter(given.items()))
    ours = _TORCH_KEYWORDS.get(name)
    if ours is None:
        return TypeError(f"Tensor.{op}() got an unexpected keyword argument {name!r}")
    return TypeError(
        f"{op}: {name}= is PyTorch's name; chainrule names it {ours}=: x.{op}({ours}={value!r})"
    )


class _Absent:
    """A method of PyTorch's tensors that chainrule's lack (``t.view``): reading it on a tensor
    raises the ``AttributeError`` Python raises for any missing name, with what to write
    instead, so ``hasattr(t, "view")`` stays False. A class attribute costs the tensor's other
    attributes nothing, where a ``__getattr__`` would (CPython 3.11 specialises no attribute
    read of a class that has one: a read of ``t.data`` cost four times as much). On the class
    it is itself, whose docstring says the same."""

    def __init__(self, hint: str) -> None:
        self.hint = hint

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.__doc__ = f"Tensor has no .{name}; {self.hint}"

    def __get__(self, tensor: Any, owner: Any = None) -> Any:
        if tensor is None:
            return self
        raise AttributeError(self.__doc__, name=self.name, obj=tensor)

    def __repr__(self) -> str:
        return f"<absent: {self.__doc__}>"


#: The advice for a non-leaf's gradient, which backward does not keep (PyTorch's retain_grad)
_NON_LEAF_ADVICE = (
    "for dE/d(this tensor) use cr.gradient(E, [t]), or make it a leaf that the rest of the "
    "computation starts from (t = t.detach().requires_grad_()) and read t.grad after backward"
)


_int_new = int.__new__


class ElementCount(int):
    """``Tensor.size``: the number of elements, an ``int`` as NumPy's ``size`` is (``t.size ==
    12``, arithmetic, ``json``, ``range``), that answers PyTorch's call too: ``t.size()`` is
    the shape tuple and ``t.size(d)`` the length of axis ``d``, so ``x.size(-1)`` in ported
    code works rather than failing with "'int' object is not callable".

    Arithmetic on it gives plain ints; it pickles and copies as a plain int. NumPy would take
    an int subclass as an int64 array (``float32_array / t.size`` a float64); its ufuncs are
    handed the plain int instead, so the result's dtype is the one a plain int gives."""

    _shape: tuple[int, ...]

    @staticmethod
    def of(count: int, shape: tuple[int, ...]) -> ElementCount:
        """``count`` elements of an array of ``shape``."""
        out = _int_new(ElementCount, count)
        out._shape = shape
        return out

    def __call__(self, axis: int | None = None, **torch_names: Never) -> Any:
        """The shape tuple, or with ``axis`` the length of that axis (negative from the end)."""
        if torch_names:
            raise torch_keywords("size", torch_names)
        if axis is None:
            return self._shape
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"size: axis must be an int, not {type(axis).__name__}")
        if not -len(self._shape) <= axis < len(self._shape):
            raise IndexError(
                f"size: axis {axis} is out of range for a {len(self._shape)}-d tensor of shape "
                f"{self._shape}"
            )
        return self._shape[axis]

    def __reduce__(self) -> tuple:
        return int, (int(self),)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(int(x) if isinstance(x, ElementCount) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


class Tensor:
    """An n-dimensional array that remembers how it was computed, so it can be differentiated.

    ``Tensor(data, requires_grad=False, dtype=None)`` takes ``requires_grad`` second, as
    PyTorch's ``nn.Parameter(data, requires_grad)`` does, and ``dtype`` third, where
    :func:`chainrule.tensor` takes ``dtype`` second: ``requires_grad`` must be a bool, and a
    dtype in its place is refused, naming the fix.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # The op that produced the tensor is kept on the tensor itself (``_primitive``, ``_inputs``,
    # ``_params``, ``_saved``, and ``_seq``, its place in the order ops ran; ``_origin`` only
    # where anomaly mode set it; once a pass released the node, ``_saved`` names that pass), as
    # PyTorch keeps ``grad_fn`` on its tensor: one object per recorded op, not two. ``node``
    # reads them as a :class:`~chainrule.engine.Node`. A leaf has ``_primitive`` None; one made
    # by the constructor or ``detach`` has a ``_seq`` too, its making's place in that order
    # (:func:`~chainrule.engine.number_new_leaf`).
    __slots__ = {  # the public slots' docstrings are what help() and inspect.getdoc show
        "data": "The values: an array of the library ``xp`` (NumPy by default).",
        "requires_grad": "Whether backward computes this tensor's gradient (see requires_grad_).",
        # the gradient is read through the ``grad`` property (a warning for a non-leaf's, as
        # PyTorch's): ops and the engine write the slot itself, so no op pays for the property
        "_grad": "The gradient backward added into this leaf (None until then; see zero_grad).",
        "name": "A name that error messages give this tensor (None unless set).",
        "_primitive": None,
        "_inputs": None,
        "_params": None,
        "_saved": None,
        "_seq": None,
        "_origin": None,
        "__weakref__": None,
    }

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy meeting a tensor: ``arr * t``, ``np.float64(2) * t``, ``arr @ t``, ``arr < t``
        (NumPy calls the operator's ufunc, ``np.multiply(arr, t)``) give what the tensor's
        operator gives, recorded for backward; any other ufunc (``np.exp(t)``), ``out=``
        (``arr += t``) or a ufunc method (``np.add.reduce``) is refused, naming chainrule's
        function. Reached only where NumPy meets a tensor: no op of chainrule's passes here."""
        if method == "__call__" and not kwargs and len(inputs) == 2:
            names = _UFUNC_OPERATORS.get(ufunc)
            if names is not None:
                left, right = inputs
                if isinstance(left, Tensor):  # np.add(t, arr): t + arr
                    return getattr(left, names[0])(right)
                return getattr(right, names[1])(left)  # arr + t: t.__radd__(arr)
        raise TypeError(_ufunc_refusal(ufunc, method, len(inputs), kwargs))

    __array_ufunc__ = _ReadByNumPy(__array_ufunc__)

    #: whether ``a += b`` changes this tensor's values in place whatever its requires_grad: true
    #: for ``nn.Parameter``, so a frozen weight (an EMA copy, a layer unfrozen later) stays the
    #: object its module, its optimizer and its callers hold (:meth:`_in_place`)
    _updated_in_place = False

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        if requires_grad is not True and requires_grad is not False:  # the ops make theirs by
            # _wrap, which never comes here; a bool given costs these two identity tests alone
            requires_grad = _grad_flag(requires_grad, type(self).__name__)
        if isinstance(data, Tensor):
            data = data.data
        xp = array_module(data)
        if xp is np:
            values = numbers_of(data, dtype)
            if values is None:  # a masked array's None: refused as None is
                raise TypeError(_not_numbers(data, np.dtype(object)))
            self.data = values
            if self.data.dtype.kind not in "biufc":
                raise TypeError(_not_numbers(data, self.data.dtype, self.data))
            if holds_none(data, self.data):  # a missing value, which a float dtype made NaN
                raise TypeError(_not_numbers(data, np.dtype(object)))
        else:  # already the library's array: keep its device, not its library's autograd
            dtype = backend.dtype_in(xp, dtype, on=data)  # refused where data's device lacks it
            self.data = xp.asarray(backend.detached(data), dtype=dtype)
        self.requires_grad = False
        self._grad: Tensor | None = None
        self._primitive: Primitive | None = None
        self.name: str | None = None
        _engine.number_new_leaf(self)  # no op has read this object yet: see _seq above
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def _wrap(cls, data: Any) -> Tensor:
        """A fresh tensor around an op's output array (the hot path: no conversion, no checks)."""
        out = _new(cls)
        out.data = data
        out.requires_grad = False
        out._grad = out._primitive = out.name = None
        return out

    # -- what it is ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The length of each axis, as a tuple."""
        try:
            return self.data.shape
        except AttributeError:  # t.data = 5.0 on a plain tensor (no cost in 3.11 otherwise)
            raise TypeError(not_an_array(self)) from None

    @property
    def ndim(self) -> int:
        """The number of axes."""
        try:
            return self.data.ndim
        except AttributeError:  # t.data = 5.0 on a plain tensor
            raise TypeError(not_an_array(self)) from None

    @property
    def size(self) -> ElementCount:
        """The number of elements, an int (NumPy's ``size``) that is also callable as PyTorch's
        ``size()``: ``t.size()`` is the shape, ``t.size(-1)`` the last axis's length."""
        try:
            data = self.data
            return ElementCount.of(backend.size(data), data.shape)
        except AttributeError:  # t.data = 5.0 on a plain tensor (item(), float(t) read it)
            raise TypeError(not_an_array(self)) from None

    @property
    def dtype(self) -> Any:
        """The dtype of ``data`` (the array library's own)."""
        try:
            return self.data.dtype
        except AttributeError:  # t.data = 5.0 on a plain tensor
            raise TypeError(not_an_array(self)) from None

    @property
    def xp(self) -> Any:
        """The array namespace that owns ``data`` (the seam for other array libraries)."""
        return array_module(self.data)

    @property
    def device(self) -> Any:
        """The device ``data`` lives on ("cpu" for NumPy)."""
        return backend.device_of(self.data)

    @property
    def node(self) -> Node | None:
        """The recorded op that produced this tensor (None for a leaf)."""
        return None if self._primitive is None else _engine.Node(self)

    @property
    def op(self) -> str | None:
        """The name of the op that produced this tensor (None for a leaf)."""
        return None if self._primitive is None else self._primitive.name

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded op produced this tensor (made by the user, or detached)."""
        return self._primitive is None

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        if not hasattr(self.data, "shape"):  # t.data = 5.0 on a plain tensor: said, not shown
            raise TypeError(not_an_array(self))
        body = np.array2string(to_numpy(self.data), separator=", ", prefix="tensor(")
        extras = []
        shape = tuple(self.data.shape)
        if 0 in shape and len(shape) > 1:  # "[]" alone would not say which axes are empty
            extras.append(f"size={shape}")
        dtype = self.data.dtype
        if backend.dtype_name(dtype) not in _unsaid_dtypes(self.xp, self.data):
            extras.append(f"dtype={dtype}")
        if self._primitive is not None:
            extras.append(f"op={self._primitive.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def _repr_html_(self) -> str:
        """How a notebook shows a tensor: shape, dtype, values and ``.grad``."""
        from chainrule.notebook.display import tensor_html  # the notebook host, loaded on use

        with warnings.catch_warnings():  # it shows .grad: a non-leaf's None is no mistake here
            warnings.filterwarnings("ignore", _NON_LEAF_GRAD.split("(")[0], UserWarning)
            return tensor_html(self)

    # -- gradients ----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark this tensor as a variable to differentiate with respect to (in place).

        Only a real floating-point tensor can require a gradient: an integer or boolean one is
        refused (as PyTorch refuses it: a gradient has its tensor's dtype, and an integer one
        truncates), and a complex one (:data:`~chainrule.engine.COMPLEX_FORWARD_ONLY`). PyTorch
        also refuses ``w.data = <integers>`` on such a tensor; here ``data`` is a plain field (a
        check on every write would cost every op), so :meth:`backward` refuses its gradient.
        """
        if requires_grad is not True and requires_grad is not False:  # "no" was taken as true
            requires_grad = _grad_flag(requires_grad, "requires_grad_")
        data = self.data
        if not requires_grad and self._primitive is not None:
            # the graph already records its paths through this tensor: dropping them would
            # silently leave out their share of every gradient below (PyTorch refuses it too)
            raise RuntimeError(
                f"requires_grad_(False): this tensor is the output of '{self._primitive.name}', "
                "not a leaf; only a leaf's flag can change. Use .detach() for a copy cut from "
                "the graph"
            )
        xp = array_module(data)
        if requires_grad and not backend.is_real_floating(data.dtype, xp):
            # the library's own float: JAX without x64 has no float64 to convert to
            floats = backend.dtype_name(backend.default_float(xp, data))
            advice = (
                _engine.COMPLEX_FORWARD_ONLY
                if backend.is_complex(data.dtype, xp)
                else f"convert with .astype('{floats}') first"
            )
            raise TypeError(
                f"requires_grad: only real floating-point tensors can require gradients, not "
                f"{data.dtype}; {advice}"
            )
        self.requires_grad = requires_grad
        return self

    def backward(
        self,
        gradient: ArrayLike | None = None,
        retain_graph: bool = False,
        create_graph: bool = False,
    ) -> None:
        """Backpropagate from this tensor, *adding* dE/d(leaf) into each leaf's ``.grad``.

        ``.grad`` accumulates across calls, as in PyTorch: call ``zero_grad`` (or an optimizer's)
        between steps. A non-scalar output needs ``gradient=`` (the cotangent dE/d(self)).
        The graph's saved values are released afterwards unless ``retain_graph``.

        Only real floating-point tensors get a gradient: a ``TypeError`` naming the tensor (its
        shape and dtype) is raised, and no ``.grad`` is changed, where this output or a leaf
        that requires a gradient is not floating (its ``.data`` set to integers after
        :meth:`requires_grad_`, as ``w.data = np.array([[1, -1]])``).
        """
        if not self.requires_grad:  # cr.gradient refuses it in the same words
            raise _engine.constant_output_error(self, "backward", "this tensor", "any leaf")
        if gradient is None and not create_graph:  # a training step's backward: one call
            totals = _engine.backward_to_leaves(self, self._unit_seed(), retain_graph)
        else:
            totals = _engine.backward_pass(
                [self],
                [self._seed(gradient)],
                retain_graph=retain_graph or create_graph,
                create_graph=create_graph,
            ).values()
        with _accumulating:  # two threads' backward into one shared leaf: no sum lost
            kept = {}  # the .grad each leaf had before its sum, to undo a refused pass
            for leaf, total in totals:
                grad = leaf._grad  # the slot (a Parameter's writes pass its __setattr__)
                if grad is None:
                    _set_grad(leaf, total)
                    continue
                if _shape_or_none(grad) != total.shape:  # set by hand: would broadcast
                    if _reads_as_no_gradient(grad):  # micrograd's p.grad = 0.0, np.float64(0):
                        kept[id(leaf)] = grad  # no gradient yet, as None is
                        _set_grad(leaf, total)
                        continue
                    if type(grad) not in (int, float) or total.shape != ():
                        _undo_accumulation(totals, leaf, kept)
                        raise _misshapen_grad_error(leaf, grad, total.shape)
                    # a number on a 0-d leaf (p.grad = 1.0): of its shape, summed as below
                kept[id(leaf)] = grad
                _set_grad(leaf, grad + total)

    def _unit_seed(self) -> Any:
        """dE/dE = 1 for a one-element output, as an array (a larger one needs ``gradient=``)."""
        data = self.data
        if type(data) is not np.ndarray and not hasattr(data, "shape"):  # t.data = 5.0
            raise TypeError(not_an_array(self, "backward: the output"))
        if (data.size if type(data) is np.ndarray else backend.size(data)) != 1:
            raise RuntimeError(
                f"backward: output has shape {tuple(self.shape)}; pass gradient= or reduce it to a "
                "scalar first"
            )
        return _unit_seed(data)

    def _seed(
        self,
        gradient: ArrayLike | None,
        what: str = "backward: gradient",
        of: str = "the output",
        op: str = "backward",
    ) -> Tensor:
        """``gradient`` as the seed of a backward from this output (``of``), in its dtype: a
        leaf's own seed becomes its ``.grad``, which has the leaf's dtype. The one home of a
        seed's conversion: ``backward(gradient=)`` and every transform's cotangents and tangents
        come here. ``what`` names the value in errors (``"vjp: cotangent 0"``), ``of`` the output it
        seeds, and ``op`` the operation that an array of another library is refused for.

        A complex seed for a real output is refused: cast to the output's dtype, its imaginary
        part would be dropped (a tangent of 1j would give 0), and complex gradients are not
        computed at all (:data:`~chainrule.engine.COMPLEX_FORWARD_ONLY`)."""
        if gradient is None:
            return Tensor._wrap(self._unit_seed())
        given = gradient if isinstance(gradient, Tensor) else None
        data = (
            given.data if given is not None else backend.asarray_like(gradient, self.data, None, op)
        )
        if backend.is_complex(data.dtype, array_module(data)) and not backend.is_complex(
            self.dtype, self.xp
        ):
            raise TypeError(
                f"{what} is {backend.dtype_name(data.dtype)} but {of} is "
                f"{backend.dtype_name(self.dtype)}: {_engine.COMPLEX_FORWARD_ONLY}"
            )
        if given is not None:  # recorded: a cotangent may be an outer variable (forward mode's
            # dummy, under no_grad too: itself where no cast is due, as a cast is not recorded)
            seed = given if given.dtype == self.dtype else given.astype(self.dtype)
        else:
            seed = Tensor(backend.astype(data, self.dtype))
        if seed.shape != self.shape:  # a ShapeError, as every other shape mistake
            raise ShapeError(
                f"{what} has shape {tuple(seed.shape)} but {of} has shape {tuple(self.shape)}"
            )
        return seed

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradient: None, or zeros with ``set_to_none=False`` (see
        :func:`forget_grad`)."""
        forget_grad(self, set_to_none)

    @property
    def grad(self) -> Tensor | None:
        """The gradient backward added into this leaf (None until then; see zero_grad).

        Only a leaf gets one: a tensor an op made (a hidden layer's output) has None, and reading
        it warns once, as PyTorch warns (chainrule has no ``retain_grad``): its dE/d(tensor)
        is ``cr.gradient(E, [h])``, or ``h.grad`` after making it a leaf that the rest of the
        computation starts from (``h = h.detach().requires_grad_()``)."""
        grad = self._grad
        if grad is None and self._primitive is not None:
            warnings.warn(_NON_LEAF_GRAD.format(op=self._primitive.name), UserWarning, 2)
        return grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        self._grad = value

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares the array)."""
        return _engine.number_new_leaf(Tensor._wrap(self.data))

    def clone(self) -> Tensor:
        """A copy of the values in an array of its own, recorded (the gradient passes through
        unchanged), as PyTorch's ``clone``: a parameter changed in place later (an optimizer's
        step, ``p *= 0.9``) leaves the copy as it was. ``x.detach().clone()`` is a copy cut
        from the graph.

        It is ``x * True``: a new array on every library, of x's own dtype (a boolean one
        too, where ``* 1`` made integers), and x's values exactly (-0.0 stays -0.0, where
        ``+ 0`` made it 0.0); ``astype`` to its own dtype shares the array beyond NumPy."""
        return self * True

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory when the data is already NumPy)."""
        return to_numpy(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The values for NumPy (``np.asarray(t)`` shares them), honouring NumPy 2's ``copy``:
        ``np.array(t)`` and ``np.copy(t)`` ask for a copy (they returned the tensor's own array,
        so writing the "copy" changed the tensor), ``copy=False`` refuses to convert.

        A tensor that needs a gradient is refused while recording, as PyTorch refuses it: a
        NumPy function (``np.dot(t, W)``, ``np.where``) would compute on the bare values and
        drop ``t`` from the graph, a silently wrong gradient. ``t.numpy()`` reads the values.
        The refusal also says why a transform's result may need a gradient (``cr.grad(f)(x)``
        with ``f`` using a network whose parameters require one, handed to scipy) and the
        ways out."""
        self._refuse_untracked("a NumPy array", "NumPy's")
        array = self.numpy()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            if copy is False:
                raise ValueError(
                    f"a tensor of {array.dtype} cannot be read as {np.dtype(dtype)} without a copy"
                )
            return array.astype(dtype)
        return array.copy() if copy else array

    def _refuse_untracked(self, into: str, whose: str) -> None:
        """Refuse, while recording, to give the values of a tensor that needs a gradient to
        another library, which would compute on them out of the graph: ``into`` names what
        it was to become ("a NumPy array"), ``whose`` whose functions would drop it."""
        if self.requires_grad and _engine.mode.grad_enabled:
            refusal = TypeError(
                f"a tensor that needs a gradient cannot become {into}: {whose} functions "
                "would drop it from the graph (its gradient silently wrong). Use chainrule's "
                "ops (cr.matmul, cr.where, ...), or read the values with t.numpy(). A "
                "transform's result needs a gradient where f uses a tensor that does (a "
                "network's parameters, when optimising its input): for the numbers (scipy, "
                "np.asarray), take g.numpy() or g.detach(), or call the transform under "
                "cr.no_grad(), or freeze those tensors (requires_grad_(False))"
            )
            # so a transform can say which argument it was (left out of a pickle of the error)
            mark_in_process(refusal, refused_tensor=self)
            raise refusal

    def __dlpack__(self, **options: Any) -> Any:
        """The values through DLPack, the protocol PyTorch reads (``torch.as_tensor(t)``,
        ``torch.tensor(t)``; ``np.from_dlpack(t)`` too): PyTorch reads no ``__array__``, and
        read a tensor as a sequence (``len(t)``, ``t[0]``, ...), which failed at its first
        0-d element, "len() of a 0-d tensor". The array's own, shared as ``np.asarray(t)``
        shares it; ``options`` (``max_version``, ``copy``, ...) are the reader's, passed on.
        A tensor that needs a gradient is refused while recording, as :meth:`__array__`
        refuses it."""
        self._refuse_untracked("another library's array (DLPack)", "that library's")
        return self.data.__dlpack__(**options)

    def __dlpack_device__(self) -> Any:
        """The device of the values, as DLPack names it (asked before :meth:`__dlpack__`)."""
        return self.data.__dlpack_device__()

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """A leaf's state for ``copy.deepcopy`` and pickle: its values, gradient flag, gradient
        and name. A tensor an op made is refused, as PyTorch refuses it: its copy would carry
        the graph behind it, and backward through the copy would fill the copied leaves'
        gradients, not the user's, with no error. So is a leaf whose ``.grad`` carries a graph
        (made by ``backward(create_graph=True)``); a shallow copy takes it (:meth:`__copy__`)."""
        if self._grad is not None and self._grad._primitive is not None:
            raise RuntimeError(
                "copy.deepcopy and pickle take leaf tensors, and this tensor's .grad was made by "
                "backward(create_graph=True) (it carries the graph): clear it first (t.grad = "
                "None, cr.zero_grad(...), or the model's or optimizer's zero_grad())"
            )
        return self._leaf_state()

    def __copy__(self) -> Self:
        """``copy.copy``: a leaf of the same values, flag, name and gradient (the same objects),
        a gradient that carries a graph too, which only a deep copy and pickle refuse."""
        shallow = type(self).__new__(type(self))
        shallow.__setstate__(self._leaf_state())
        return shallow

    def _leaf_state(self) -> tuple[None, dict[str, Any]]:
        """The fields a copy of a leaf takes (:meth:`__getstate__`); a tensor an op made is
        refused."""
        if self._primitive is not None:
            raise RuntimeError(
                "copy.deepcopy and pickle take leaf tensors (made by the user, not by an op); "
                "copy t.detach() for the values"
            )
        fields = {"data": self.data, "requires_grad": self.requires_grad, "grad": self._grad}
        return None, {**fields, "name": self.name, "_primitive": None}

    def __setstate__(self, state: Any) -> None:
        """Python's own unpickling (each field set as an attribute), which also reads a tensor
        pickled by an older chainrule: its op was one ``_node`` field then (None for a leaf,
        the one kind pickled since), read now as a leaf of its values, as :meth:`__getstate__`
        writes one; its other fields (``data``, ``requires_grad``, ``grad``, ``name``) are
        today's."""
        attributes, fields = state if isinstance(state, tuple) else (state, None)
        if attributes:  # a subclass with a __dict__ of its own
            vars(self).update(attributes)
        for name, value in (fields or {}).items():
            if name != "_node":
                setattr(self, name, value)
        if fields is not None and "_node" in fields:
            self._primitive = None

    def item(self) -> float | int | bool:
        """The one number of a one-element tensor, as a Python number."""
        if self.size != 1:
            raise ValueError(
                f"item: only a one-element tensor converts to a number, not {tuple(self.shape)}"
            )
        return to_numpy(self.data).reshape(()).item()

    def tolist(self) -> Any:
        """The values as nested Python lists of Python numbers (a number for a 0-d tensor)."""
        return self.numpy().tolist()

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"``: a one-number tensor formats as its number (as a PyTorch tensor
        of one number does); with no spec, any tensor is its ``str``. A spec for more numbers
        is refused, naming the shape."""
        if not spec:
            return str(self)
        if self.size != 1:
            raise TypeError(
                f"format spec {spec!r}: a tensor of shape {tuple(self.shape)} holds more than "
                "one number; format one of them (t[0]) or reduce it (t.sum(), t.mean())"
            )
        return format(self.item(), spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {tuple(self.shape)} is ambiguous; "
                "reduce it first (.sum(), .max(), or compare and use .any() / .all())"
            )
        return bool(self.item())

    def astype(self, dtype: Any) -> Tensor:
        return _ops.astype(self, dtype)

    # -- arithmetic (NumPy broadcasting) ------------------------------------------------------
    # a + b, a - b, a * b and a / b are the ops themselves, set below the class; declared here
    # for type checkers, which do not see a method set after its class (no runtime cost)
    if TYPE_CHECKING:

        def __add__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return _ops.power(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.power(base, self)

    # a += b: see _in_place
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(_ops.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(_ops.sub, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(_ops.mul, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(_ops.div, other, "/=")

    def __ipow__(self, exponent: Any) -> Tensor:
        return self._in_place(_ops.power, exponent, "**=")

    def _transform_has_ended(self) -> bool:
        from chainrule.functional import is_ended_transform_variable  # loaded after us

        return is_ended_transform_variable(self)

    def _in_place_refusal(self, symbol: str) -> str:
        from chainrule.functional import is_transform_variable  # the core loads it after us

        if is_transform_variable(self):  # no_grad would leave the update out of the derivative
            return (
                f"{symbol} on the argument a transform (cr.grad, cr.jvp, ...) differentiates "
                f"with respect to would change its variable in place; write x = x "
                f"{symbol[:-1]} ... for a new tensor, which the derivative follows"
            )
        return (
            f"{symbol} on a leaf that requires a gradient (a parameter) would record the "
            f"update as part of the computation; update it under `with cr.no_grad():`, or "
            f"write w = w {symbol[:-1]} ... for a new tensor"
        )

    def _in_place(self, op: Any, other: Any, symbol: str) -> Tensor:
        """``a += b`` (and ``-=``, ``*=``, ``/=``, ``**=``) as PyTorch takes it on a parameter.

        On a leaf that requires a gradient: under :func:`~chainrule.no_grad` its values are
        updated in place (a hand-written step, ``w -= lr * w.grad``; a graph that read the old
        values is then refused by backward), and with recording on it is refused (it would make
        the parameter an op's output). A frozen ``nn.Parameter`` is updated in place too, with
        recording on as well where the result needs no gradient (``ema_w *= 0.9``): rebound,
        it left the module holding a new tensor and the optimizer the old one, so an EMA copy
        never moved and a layer unfrozen later was never stepped. Any other tensor is rebound
        to the result, ``a = a + b``: nothing another name shares is changed, so no recorded
        op's inputs change under it. A transform's variable kept after its transform returned
        is taken as the argument it was made from, which required no gradient: rebound too, so
        a ``vjp_fn`` that still reads it is left unchanged.
        """
        if self._primitive is not None or self._transform_has_ended():
            return op(self, other)
        if self.requires_grad:
            if _engine.is_grad_enabled():
                raise RuntimeError(self._in_place_refusal(symbol))
        elif not self._updated_in_place:
            return op(self, other)
        result = op(self, other)
        if result.requires_grad:  # a frozen parameter given a value that needs a gradient
            raise RuntimeError(
                f"{symbol} on a frozen parameter with a value that requires a gradient would "
                f"record the update as part of the computation; update it under "
                f"`with cr.no_grad():`"
            )
        result = result.data
        if tuple(result.shape) != tuple(self.data.shape):
            raise ShapeError(
                f"{symbol}: the result has shape {tuple(result.shape)} but the tensor updated in "
                f"place has shape {tuple(self.data.shape)}"
            )
        if _kind(result) > _kind(self.data):  # a frozen integer parameter times 0.5 would
            # truncate, a bool one plus 1 stay True, a float one times 1j drop the imaginary part
            raise TypeError(
                f"{symbol}: the result is {result.dtype} and the parameter updated in place is "
                f"{self.data.dtype}; it cannot hold it (as PyTorch refuses it)"
            )
        if result.dtype != self.data.dtype:  # a float32 parameter stays float32
            result = backend.astype(result, self.data.dtype)
        check_writeable(self.data, symbol)
        now = _engine.note_write()
        backend.write(self, result)
        _engine.note_written(self.data, now)  # the array backward will read
        return self

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        """+x: a new tensor of the same values (a reshape to its own shape, recorded), as NumPy's
        +a is a new array. It was x itself, as PyTorch's +x is: the result's requires_grad_(False)
        froze x."""
        return _ops.reshape(self, self.shape)

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            "tensors are immutable under autodiff; build the new values with cr.where or "
            "cr.concatenate, or write to tensor.data where no recorded graph still reads it "
            "(a backward afterwards would use the new values unchecked)"
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # Comparisons give plain arrays: they have no gradient.
    def __lt__(self, other: Any) -> Any:
        left, right = self._sides(other, "comparison (<)")
        return left < right

    def __le__(self, other: Any) -> Any:
        left, right = self._sides(other, "comparison (<=)")
        return left <= right

    def __gt__(self, other: Any) -> Any:
        left, right = self._sides(other, "comparison (>)")
        return left > right

    def __ge__(self, other: Any) -> Any:
        left, right = self._sides(other, "comparison (>=)")
        return left >= right

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        left, right = self._sides(other, "comparison (==)")
        return left == right

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        left, right = self._sides(other, "comparison (!=)")
        return left != right

    def _sides(self, other: Any, op: str) -> tuple[Any, Any]:
        """Both sides of a comparison (``op``, "comparison (<)", names it in errors): this
        tensor's array, and the other side as :meth:`_compared` makes it. Integers against a
        float number compare as floats, as NumPy compares them (array-api-strict refused
        ``int_tensor < 0.5``: "Python float scalars can only be promoted with floating-point
        arrays"). An integer beyond every value of the tensor's dtype compares by value, as
        NumPy 2 compares it (``int8_x < 1000`` is all True): a comparison has no result dtype
        to overflow, where NumPy, JAX and array-api-strict refused to make 1000 an int8, and
        PyTorch made -1 a uint8 255 (``uint8_x < -1`` was all True). The check costs only
        where a number failed to join the tensor, or is negative beside PyTorch's unsigned."""
        try:
            right = self._compared(other, op)
        except (OverflowError, RuntimeError, ValueError):  # RuntimeError, ValueError: PyTorch's
            side = backend.number_beyond(other, self.data)
            if not side:
                raise
            return self._beyond(side)
        left = self.data
        if type(left) is np.ndarray:  # NumPy refused every number its dtype cannot hold
            return left, right
        if isinstance(other, (float, np.floating)):
            if right.dtype != left.dtype:
                left = backend.astype(left, right.dtype)
        elif isinstance(other, (int, np.integer)) and other < 0:
            side = backend.number_beyond(other, left)  # PyTorch wraps it into an unsigned dtype
            if side:
                return self._beyond(side)
        return left, right

    def _beyond(self, side: int) -> tuple[Any, Any]:
        """Two sides that compare as every element of this tensor compares with a number beyond
        all its dtype's values, above them (``side`` 1) or below them (-1): zeros in its shape,
        on its library and device, against ``side``. So ``x < 1000`` is ``zeros < 1``, all
        True, and the operator methods stay one comparison each."""
        data = self.data
        xp = array_module(data)
        if xp is np:
            return np.zeros(data.shape, np.int8), side
        return xp.zeros(data.shape, dtype=xp.int8, device=backend.device_of(data)), side

    def _compared(self, other: Any, op: str) -> Any:
        """The other side of a comparison as the ops take an operand: a number (NumPy's
        scalars too) in this tensor's dtype, a list or NumPy array on its library and device,
        and an array of another library or device refused naming both (array-api-strict
        refused ``x < np.int64(1)``, torch against NumPy raised a bare TypeError)."""
        if isinstance(other, Tensor):
            if type(self.data) is not np.ndarray or type(other.data) is not np.ndarray:
                backend.check_compatible("comparison", [self.data, other.data])
            return other.data
        if isinstance(other, (int, float, bool, np.generic)):
            return _ops.as_tensor(other, self, op).data
        if backend.bare_array(other) is not other:  # a pandas Series: its values, here
            return backend.asarray_like(other, self.data)
        if type(self.data) is np.ndarray and (
            isinstance(other, np.ndarray) or not hasattr(other, "shape")
        ):
            return other  # NumPy with NumPy, a list or None: NumPy's own comparison
        if isinstance(other, (list, np.ndarray)):
            return backend.asarray_like(other, self.data)
        backend.check_compatible("comparison", [self.data, other])
        return other

    __hash__ = object.__hash__

    # -- methods mirroring the functions in chainrule.ops -------------------------------------
    # Each one's docstring is its op's, with its own notes before it (_METHOD_FORMS, below).
    # ``dtype`` and ``out`` are there for NumPy's functions, which call these methods on a tensor
    # (np.mean(t) is t.mean(axis=None, dtype=None, out=None)): it raised "unexpected keyword"
    def sum(
        self,
        axis: Any = None,
        keepdims: bool = False,
        dtype: Any = None,
        out: Any = None,
        **torch_names: Never,
    ) -> Tensor:
        """``dtype`` and ``out`` are NumPy's (``np.sum(t)`` calls this): ``dtype`` casts first,
        ``out`` is refused. PyTorch's ``dim=`` and ``keepdim=`` are refused naming ``axis=`` and
        ``keepdims=`` (so are they by every method that takes an axis)."""
        if torch_names:
            raise torch_keywords("sum", torch_names)
        return _ops.sum(self._for_numpy("sum", dtype, out), axis, keepdims)

    def mean(
        self,
        axis: Any = None,
        keepdims: bool = False,
        dtype: Any = None,
        out: Any = None,
        **torch_names: Never,
    ) -> Tensor:
        """``dtype`` and ``out`` are NumPy's (``np.mean(t)`` calls this): ``dtype`` casts first,
        ``out`` is refused."""
        if torch_names:
            raise torch_keywords("mean", torch_names)
        return _ops.mean(self._for_numpy("mean", dtype, out), axis, keepdims)

    def var(
        self,
        axis: Any = None,
        *positional: Never,  # PyTorch's x.var(0, True): refused by ops.var, flagged by a checker
        keepdims: bool = False,
        ddof: int = 0,
        dtype: Any = None,
        out: Any = None,
        **torch_names: Never,
    ) -> Tensor:
        """``ddof=0`` as in NumPy; the options after ``axis`` are keywords only."""
        if torch_names:
            raise torch_keywords("var", torch_names)
        values = self._for_numpy("var", dtype, out)
        return _ops.var(values, axis, *positional, keepdims=keepdims, ddof=ddof)

    def max(
        self, axis: Any = None, keepdims: bool = False, out: Any = None, **torch_names: Never
    ) -> Tensor:
        """``out`` is NumPy's (``np.max(t)`` calls this), and refused."""
        if torch_names:
            raise torch_keywords("max", torch_names)
        return _ops.max(self._for_numpy("max", None, out), axis, keepdims)

    def min(
        self, axis: Any = None, keepdims: bool = False, out: Any = None, **torch_names: Never
    ) -> Tensor:
        """``out`` is NumPy's (``np.min(t)`` calls this), and refused."""
        if torch_names:
            raise torch_keywords("min", torch_names)
        return _ops.min(self._for_numpy("min", None, out), axis, keepdims)

    def _for_numpy(self, op: str, dtype: Any, out: Any) -> Tensor:
        """This tensor in ``dtype`` (as NumPy computes ``np.mean(a, dtype=...)``); ``out=`` is
        refused: a tensor's result is a new tensor, recorded (no array is written into)."""
        if out is not None:
            raise TypeError(f"{op}: out= is not supported; a tensor's {op} is a new tensor")
        return self if dtype is None else self.astype(dtype)

    def reshape(self, *shape: Any) -> Tensor:
        """The shape as one tuple or as separate sizes: ``t.reshape(2, 3)``."""
        return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Tensor:
        """The axes permuted as NumPy's ``transpose`` takes them: reversed with no argument (or
        None), else one axis per dimension, listed or in one tuple (``transpose(1, 0, 2)``).

        Two axes listed that leave a 2-d tensor as it is (``transpose(0, 1)``, ``(-2, -1)``)
        are refused: PyTorch reads them as two axes to swap, so code ported from it would get
        the matrix unmoved and silently wrong numbers. Swap with ``swapaxes(0, 1)`` or ``.T``;
        the identity given as one tuple, ``transpose((0, 1))``, is taken as NumPy takes it."""
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]  # None, or the axes in one sequence
        elif self.ndim == 2 and _leaves_a_matrix(axes):
            axes = tuple(int(a) for a in axes)  # (0, 1), not (np.int64(0), np.int64(1))
            raise ShapeError(
                f"transpose{axes} of a 2-d tensor: NumPy reads the numbers as the new order of "
                "all axes, which leaves it as it is, and PyTorch as two axes to swap; to swap "
                f"them use x.swapaxes{axes} or x.T (the identity as NumPy means it: "
                f"transpose({axes}))"
            )
        return _ops.transpose(self, None if axes is None or len(axes) == 0 else tuple(axes))

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """A matrix transposed (a 0-d or 1-d tensor as it is): :func:`chainrule.transpose`.

        Past 2 axes, every axis reversed, as NumPy's ``.T`` (the contract arrays and tensors
        share: a derivative rule's ``g.T`` runs on either), with a UserWarning as PyTorch 2
        gives: ``K.T`` of a batch (B, T, d), ported from code meaning its last two axes, gives
        (d, T, B) and, where B == T == d, silently wrong numbers. Say which you mean: ``.mT``
        for the last two axes, ``.transpose()`` for all of them reversed. A rule run on
        tensors by a ``create_graph`` pass is not warned of (it means NumPy's .T)."""
        if self.ndim > 2 and not _engine.mode.in_rules:
            warnings.warn(
                f".T of a {self.ndim}-d tensor of shape {tuple(self.shape)} reverses every "
                "axis, as NumPy's (PyTorch deprecates it past 2); to swap the last two axes (a "
                "batch of matrices) use x.mT or x.swapaxes(-1, -2), to reverse all axes "
                "x.transpose()",
                UserWarning,
                stacklevel=2,
            )
        return _ops.transpose(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - NumPy's and PyTorch's name
        """Each matrix transposed: the last two axes swapped (``swapaxes(-1, -2)``), for a
        batch (..., m, n) -> (..., n, m), as NumPy's and PyTorch's ``.mT``; needs 2 axes or
        more."""
        if self.ndim < 2:
            raise ShapeError(
                f".mT of a {self.ndim}-d tensor: it swaps the last two axes, so needs at least "
                "2 (a vector needs no transposing; x[:, None] makes it a column)"
            )
        return _ops.swapaxes(self, -1, -2)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None, **torch_names: Never) -> Tensor:
        if torch_names:
            raise torch_keywords("squeeze", torch_names)
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int | None = None, **torch_names: Never) -> Tensor:
        """``axis`` is required (None is refused by the op): its default lets ``dim=`` reach
        the refusal that names ``axis=``."""
        if torch_names:
            raise torch_keywords("unsqueeze", torch_names)
        return _ops.unsqueeze(self, axis)

    expand_dims = unsqueeze

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return _ops.broadcast_to(self, shape)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)

    def norm(
        self,
        *positional: Never,  # PyTorch's x.norm(1), the 1-norm: refused by ops.norm, saying so
        axis: Any = None,
        keepdims: bool = False,
        **torch_names: Never,
    ) -> Tensor:
        """The 2-norm only, its ``axis`` by keyword: a positional argument (PyTorch's ``p``,
        ``x.norm(1)`` is its 1-norm) and ``p=`` are refused, saying so, as are PyTorch's
        ``dim=`` and ``keepdim=`` (naming ``axis=`` and ``keepdims=``)."""
        return _ops.norm(self, *positional, axis=axis, keepdims=keepdims, **torch_names)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    logistic = sigmoid

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def softplus(self) -> Tensor:
        return _ops.softplus(self)

    def clip(
        self, low: Any = None, high: Any = None, *, min: Any = None, max: Any = None
    ) -> Tensor:
        """The values limited to [low, high] (either bound None: none on that side). ``min=``
        and ``max=`` are the bounds too, by the names of PyTorch's ``clamp``, NumPy 2.1's
        ``clip`` and the array API's: ``x.clip(min=0)``, as :func:`chainrule.clip` takes them."""
        return _ops.clip(self, low, high, min=min, max=max)

    def softmax(self, axis: int = -1, **torch_names: Never) -> Tensor:
        if torch_names:
            raise torch_keywords("softmax", torch_names)
        return _ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1, **torch_names: Never) -> Tensor:
        if torch_names:
            raise torch_keywords("log_softmax", torch_names)
        return _ops.log_softmax(self, axis)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, **torch_names: Never) -> Tensor:
        if torch_names:
            raise torch_keywords("logsumexp", torch_names)
        return _ops.logsumexp(self, axis, keepdims)

    # PyTorch's methods a tensor lacks, each an _Absent that says what to write instead: class
    # attributes here cost the tensor's other attributes nothing, where a __getattr__ would, and
    # a base class holding them cost every op a step more to free its result. Hidden from type
    # checkers (there ``float`` would name this attribute in the annotations above), which
    # find no such method either; last, so that the class body above reads the builtins.
    if not TYPE_CHECKING:
        view = _Absent("chainrule's is .reshape(...): t.reshape(3, 1)")
        permute = _Absent("chainrule's is .transpose(...), NumPy's: every axis in its new order")
        expand = _Absent("chainrule's is .broadcast_to(shape)")
        flatten = _Absent(
            "write .reshape(-1) for flatten(), and .reshape(len(t), -1) for flatten(1), which "
            "keeps the batch axis (flatten(d): .reshape(*t.shape[:d], -1))"
        )
        dim = _Absent("chainrule's is the property .ndim (t.ndim, no call)")
        numel = _Absent("chainrule's is the property .size (t.size, no call)")
        float = _Absent("cast with .astype('float32')")
        double = _Absent("cast with .astype('float64')")
        half = _Absent("cast with .astype('float16')")
        long = _Absent("cast with .astype('int64')")
        int = _Absent("cast with .astype('int32')")
        bool = _Absent("cast with .astype('bool')")
        to = _Absent(
            "cast with .astype(dtype); a tensor lives on its array's device, and cr.tensor(t, "
            "xp=..., device=...) copies it to another"
        )
        cpu = _Absent(
            "a tensor lives on its array's device (a NumPy one on the CPU): t.numpy() is its "
            "values as a NumPy array"
        )
        cuda = _Absent(
            "a tensor lives on its array's device: make one on the GPU with cr.tensor(values, "
            "xp=torch, device='cuda') (or xp=cupy)"
        )
        retain_grad = _Absent(f"backward fills only the leaves' .grad: {_NON_LEAF_ADVICE}")
        zero_ = _Absent(
            "clear a gradient with w.zero_grad() on its tensor, cr.zero_grad(...) or an "
            "optimizer's zero_grad(); zero a parameter's values with p.data = "
            "cr.zeros_like(p) (a parameter is changed in place under cr.no_grad() too: p *= "
            "0.9); any other tensor is rebound, not changed in place: x = cr.zeros_like(x)"
        )
        clamp = _Absent("chainrule's is .clip (NumPy's name): x.clip(lo, hi), x.clip(min=0)")
        std = _Absent(
            "write cr.sqrt(x.var(axis, ddof=1)) for PyTorch's std, which divides by n - 1; "
            "x.var() divides by n (ddof=0, NumPy's default)"
        )
        gather = _Absent(
            "index with integer arrays: q[np.arange(len(a)), a] takes q[i, a[i]] from each "
            "row (PyTorch's q.gather(1, a[:, None]).squeeze(1)), and its gradient goes back to "
            "those entries"
        )
        pow = _Absent("write x ** p (or cr.power(x, p))")
        square = _Absent("write x ** 2 (or x * x)")
        masked_fill = _Absent(
            "write cr.where(mask, value, x): value where mask is true, x elsewhere"
        )
        add_ = _Absent(
            "a parameter is changed in place under no_grad: with cr.no_grad(): p += a (p.add_"
            "(g, alpha=-lr): p -= lr * g); any other tensor is not changed in place: x = x + a"
        )
        mul_ = _Absent(
            "a parameter is changed in place under no_grad: with cr.no_grad(): p *= a; any "
            "other tensor is not changed in place: x = x * a"
        )
        copy_ = _Absent(
            "give a parameter new values: p.data = q.detach().clone() (a copy: p.data = q "
            "shares q's array); a whole network's: target.load_state_dict(online.state_dict())"
        )
        exp_ = _Absent(
            "write x = x.exp(), a new tensor; a parameter's values in place: with "
            "cr.no_grad(): p.data = p.exp()"
        )
        detach_ = _Absent(
            "write x = x.detach(), a new leaf on the same values: no tensor's graph is cut in place"
        )
        new_zeros = _Absent(
            "write cr.zeros(shape, dtype=x.dtype, xp=x.xp, device=x.device) (x's dtype, "
            "array library and device), or cr.zeros_like(x) for x's shape"
        )
        argmax = _Absent("an index has no gradient: take it from the values, t.numpy().argmax(...)")
        argmin = _Absent("an index has no gradient: take it from the values, t.numpy().argmin(...)")

    def __dir__(self) -> list[str]:
        """The names ``dir(t)`` lists (tab completion): PyTorch's it lacks left out."""
        return [name for name in object.__dir__(self) if name not in _ABSENT]


#: The names of PyTorch's methods a tensor lacks (its :class:`_Absent` attributes)
_ABSENT = frozenset(name for name, value in vars(Tensor).items() if isinstance(value, _Absent))


def array_of(value: Any) -> Any:
    """The array behind ``value``: a tensor's data, or the value itself (an array, a number)."""
    return value.data if isinstance(value, Tensor) else value


#: A gradient stored into the slot itself, past a Parameter's ``__setattr__`` (backward's
#: accumulation, once per leaf and pass)
_set_grad = Tensor.__dict__["_grad"].__set__


def _shape_or_none(grad: Any) -> Any:
    """The shape of a ``.grad`` backward adds into, or None where it has none (a number or a
    list set by hand, or a tensor whose ``.data`` is one)."""
    try:
        return grad.shape
    except (AttributeError, TypeError):
        return None


def _reads_as_no_gradient(grad: Any) -> bool:
    """Whether a ``.grad`` set by hand that is not of its leaf's shape is a zero number or a 0-d
    zero (``0.0``, ``np.float64(0.0)``, ``np.array(0.0)``, ``cr.tensor(0.0)``): micrograd zeroes
    gradients with ``p.grad = 0.0``, which :meth:`Tensor.backward` reads as no gradient yet."""
    value = grad.data if isinstance(grad, Tensor) else grad
    if type(value) not in (int, float) and _shape_or_none(value) != ():
        return False  # a list, a string, an array of another shape
    try:
        return bool(value == 0)
    except (TypeError, ValueError):
        return False


def _undo_accumulation(totals: Any, stop: Tensor, kept: dict) -> None:
    """Put back the ``.grad`` of every leaf that :meth:`Tensor.backward` summed into before
    ``stop`` (``kept`` holds those that had one; the others had None), so that a refused pass
    changes no ``.grad``."""
    for leaf, _ in totals:
        if leaf is stop:
            return
        _set_grad(leaf, kept.get(id(leaf)))


def _misshapen_grad_error(leaf: Tensor, grad: Any, shape: tuple) -> Exception:
    """The refusal of a backward into a ``.grad`` that is not of the leaf's shape (set by hand,
    or left from before the leaf's ``.data`` changed shape): ``grad + total`` would broadcast
    (a (3, 1) ``.grad`` on a (3,) leaf became (3, 3), a number became an array), a silently
    wrong gradient. PyTorch refuses such a ``.grad`` where it is
    assigned; chainrule's setter takes anything (an optimizer's step names it), so the sum
    refuses it, with no ``.grad`` changed."""
    who = f"backward: leaf {leaf.name!r}" if leaf.name else "backward: a leaf"
    fix = (
        f"clear it with zero_grad() (or .grad = None) and let backward fill it, or assign a "
        f"gradient of shape {tuple(shape)}; no .grad was changed"
    )
    grad_shape = _shape_or_none(grad)
    if grad_shape is None:
        return TypeError(
            f"{who} of shape {tuple(shape)} has a .grad that is a {type(grad).__name__}, not an "
            f"array or tensor (set by hand: a number is added into a 0-d leaf's .grad only, and "
            f"a zero, micrograd's p.grad = 0.0, is read as no gradient yet), which backward would "
            f"add its gradient to; {fix}"
        )
    return ShapeError(
        f"{who} has a .grad of shape {tuple(grad_shape)}, set by hand or left from before its "
        f".data changed shape, that is not of the leaf's shape {tuple(shape)}: adding its "
        f"gradient would broadcast to another shape; {fix}"
    )


def forget_grad(tensor: Tensor, set_to_none: bool = True) -> None:
    """Forget ``tensor``'s accumulated gradient, as PyTorch's ``zero_grad(set_to_none=...)``:
    None (the default), or zeros of its shape in place of a gradient it has (one it lacks stays
    None). The two differ at the next step: an optimizer skips a parameter whose gradient is
    None, and steps one whose gradient is zero (momentum, RMSprop and Adam still move it, weight
    decay shrinks it). The one home of ``zero_grad`` for tensors, modules, optimizers and
    ``cr.zero_grad``."""
    grad = tensor._grad
    if set_to_none or grad is None:
        _set_grad(tensor, None)
    else:  # zeros of the tensor's own shape where .grad was set by hand (micrograd's 0.0)
        like = grad.data if isinstance(grad, Tensor) else tensor.data
        _set_grad(tensor, Tensor._wrap(array_module(like).zeros_like(like)))


_data_slot = Tensor.__dict__["data"]
#: The warning of a non-leaf's ``.grad`` read (PyTorch's, which points to ``retain_grad``)
_NON_LEAF_GRAD = (
    "the .grad of a tensor that is not a leaf (the output of '{op}') is being read: backward "
    "fills only the leaves' .grad, so it is None. F" + _NON_LEAF_ADVICE[1:]
)


def replaced_data(tensor: Tensor, value: Any, who: str = "p") -> Any:
    """The array that ``tensor.data = value`` stores, the write made known to backward.

    A ``Parameter``'s ``__setattr__`` calls this (a plain tensor's ``data`` is a bare field:
    a check on its every write would cost every op). The write is an in-place change, as an
    optimizer's step is: a graph recorded before it and reading this tensor is refused by
    backward (``engine.replaced_at``, by the tensor: the array given may be another tensor's,
    whose graphs stay good), where it mixed the old values with the new silently; so is
    ``p.data *= 0.5``, which Python runs as this write of the array changed in place
    (``engine.note_written``, by the array, seen by every tensor sharing it; a write
    through the array, ``p.data[...] = v``, reaches no setter and is not seen). The array may
    be of another shape or dtype (``Module.to`` converts so; an integer one is refused at
    backward). A tensor gives its array where it needs no gradient (the micrograd update
    ``p.data = p.data - lr * p.grad``, whose ``.grad`` is a tensor, as PyTorch's ``.data =``
    takes a tensor), and so does a leaf (shared, as PyTorch shares it); an op's output that
    needs a gradient is refused, as a write of values that would cut the path its graph
    recorded (``p.data = p - lr * p.grad`` while recording); so is a torch tensor that requires
    grad, as :func:`~chainrule.backend.detached` refuses it (torch's in-place step failed on it
    later); so is anything but an array (a list, a number), which stored as ``data`` failed at
    the next op. ``who`` names the tensor
    in the refusals."""
    if isinstance(value, Tensor):
        if value._primitive is not None:  # recorded: it requires a gradient
            raise TypeError(
                f"{who}.data = the output of '{value.op}' that requires a gradient: .data takes "
                f"values, not a computation to differentiate; update {who} in place under "
                f"no_grad (with cr.no_grad(): {who} -= lr * {who}.grad), or assign the "
                f"values: {who}.data = (...).detach()"
            )
        value = value.data
    elif isinstance(value, np.generic):  # a NumPy scalar: a 0-d array, as an op's 0-d result
        value = np.asarray(value)
    elif not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise TypeError(_array_wanted(who, type(value).__name__, f"{who}.dtype"))
    elif type(value) is not np.ndarray:  # a torch tensor that requires grad: refused as
        value = backend.detached(value)  # cr.tensor refuses it (torch's step and graph)
    try:
        current = _data_slot.__get__(tensor)
    except AttributeError:  # being made (the constructor, a copy): no op has read it yet
        return value
    if value is current:  # p.data *= 0.5: the array itself was changed, seen by all its readers
        _engine.note_written(value, _engine.note_write())
    else:  # another array: this tensor's graphs would read it, another's sharing it are intact
        _engine.replaced_at[id(tensor)] = _engine.note_write()
    return value


def _array_wanted(who: str, held: str, dtype: str) -> str:
    """The words of a ``.data`` that is no array (a number, a list): what it must be and the
    two ways to give it; ``held`` names what it is, ``dtype`` the dtype to convert to."""
    return (
        f"{who}.data must be an array (of its library), not {held}: assign "
        f"numpy.asarray(values, dtype={dtype}), or write the values into the array, "
        f"{who}.data[...] = values (a write backward cannot see)"
    )


def not_an_array(tensor: Tensor, what: str = "this tensor") -> str:
    """The refusal of ``tensor``, whose ``.data`` was set to something that is no array
    (``a.data = 5.0``): a plain tensor's ``data`` is a bare field, written unchecked (a check
    on each write would cost every op; a ``Parameter``'s write is checked, by
    :func:`replaced_data`), so the tensor's first use that reads its array says what happened
    (its repr, ``shape``, ``dtype``, ``backward``), where it failed inside NumPy's or this
    library's code ("'float' object has no attribute 'shape'"). ``what`` names the tensor."""
    data = _data_slot.__get__(tensor)
    held = f"a {type(data).__name__} ({data!r:.40})"
    return (
        f"{what} has a .data that is {held}, not an array: a plain tensor's .data = stores "
        f"what it is given unchecked (an nn.Parameter's is checked). "
        + _array_wanted("t", held.split(" (")[0], "...")
    )


def check_writeable(array: Any, who: str, what: str = "the parameter") -> None:
    """Refuse, by a ValueError naming ``who`` (``-=``, ``SGD.step``) and ``what``, an update in
    place of a read-only NumPy array: NumPy's "assignment destination is read-only" named
    neither the tensor nor the fix. An optimizer asks it of every parameter before it changes
    anything (a step count, a momentum), so a step refused leaves its state as it was."""
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        raise ValueError(
            f"{who}: {what} of shape {tuple(array.shape)} holds a read-only NumPy array "
            "(np.frombuffer, a memory map, a broadcast view, pandas' to_numpy), which cannot "
            "be updated in place; copy it first: p.data = p.data.copy()"
        )


# The layers above build on Tensor; its methods reach them through these module references.
def _kind(array: Any) -> int:
    """An array's kind of number, in the order a value may widen: 0 bool, 1 integer, 2 real
    floating, 3 complex (an in-place result of a wider kind cannot be held)."""
    xp, dtype = array_module(array), array.dtype
    if backend.is_complex(dtype, xp):
        return 3
    if backend.is_real_floating(dtype, xp):
        return 2
    return 0 if dtype == xp.bool else 1


from chainrule import engine as _engine  # noqa: E402
from chainrule import ops as _ops  # noqa: E402

# The four arithmetic operators are the ops themselves rather than methods that call them: an
# operator is the hot path of every small op, and a method's frame around the call cost a tiny
# op a twentieth of its time. (The reflected forms, 2 * x, stay methods: they swap operands.)
Tensor.__add__ = _ops.add
Tensor.__sub__ = _ops.sub
Tensor.__mul__ = _ops.mul
Tensor.__truediv__ = _ops.div

#: Tensor's methods that are an op's method form, ``t.exp()`` for ``cr.exp(t)``, each named by
#: its op: the one place their docstrings are made, as the op's (aliases share their method:
#: ``expand_dims`` is ``unsqueeze``, ``logistic`` is ``sigmoid``).
_METHOD_FORMS = (
    "sum", "mean", "var", "max", "min", "reshape", "transpose", "swapaxes", "squeeze",
    "unsqueeze", "broadcast_to", "exp", "log", "sqrt", "abs", "sign", "sin", "cos", "norm",
    "sigmoid", "tanh", "relu", "softplus", "clip", "softmax", "log_softmax", "logsumexp", "astype",
)  # fmt: skip


def _document_method_form(method: Any, op: Any) -> None:
    """Give ``method`` the docstring of ``op``, which it calls on the tensor, after a line that
    says so and the method's own notes (its arguments NumPy passes, its refusals)."""
    notes = inspect.cleandoc(method.__doc__) if method.__doc__ else ""
    said = f"The method form of :func:`chainrule.{op.__name__}`: ``t.{method.__name__}(...)`` "
    said += f"is ``cr.{op.__name__}(t, ...)``."
    method.__doc__ = "\n\n".join(
        part for part in (said, notes, inspect.cleandoc(op.__doc__ or "")) if part
    )


for _name in _METHOD_FORMS:
    _document_method_form(getattr(Tensor, _name), getattr(_ops, _name))
del _name
