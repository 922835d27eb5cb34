"""Making tensors: from data, filled with constants, ranges, and seeded random numbers.

Each function takes ``xp`` (an array library: ``torch``, ``cupy``, ``jax.numpy``,
``array_api_strict``; NumPy by default), ``device`` (one of that library's devices) and
``dtype`` (NumPy's, a name, or the library's own: ``torch.float32``). Values are made on the
host with NumPy, so a seed gives the same numbers on every library, and copied once to the
device.

Without a ``dtype`` the values are NumPy's float64, and a library that lacks float64 makes them
as it makes such values (JAX without ``jax_enable_x64``: float32). A ``dtype`` asked for is
made or refused: float64 where the library or device has none raises ``ArrayLibraryError``
naming both (it is not silently float32).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.checks import is_integer
from chainrule.errors import ConfigError
from chainrule.tensor import (
    Tensor,
    _too_large_integer,
    _too_large_message,
    holds_none,
    numbers_of,
)


class _TheDefaultGenerator:
    """The marker a pickled module holds where its layer drew from chainrule's default
    generator (``Module.__reduce_ex__``): it unpickles, and deep-copies, as the receiving
    process's default. A network with a ``Dropout()`` sent to a worker (joblib, a process
    pool) or through ``pickle`` drew from a frozen copy of the sender's state there, a plain
    generator a ``Trainer`` took for the layer's own and never seeded: its masks ignored the
    trainer's ``seed``. The default generator pickled alone is NumPy's: a plain generator in
    its state, a checkpoint of it."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return as_generator, (None,)

    def __deepcopy__(self, memo: dict) -> np.random.Generator:
        return as_generator(None)


#: The one marker (see :class:`_TheDefaultGenerator`)
THE_DEFAULT_GENERATOR = _TheDefaultGenerator()


#: chainrule's default generator: what ``rng=None`` draws from (:func:`randn`, :func:`rand`, the
#: initialisers, ``nn.Dropout`` and ``data.batches`` without ``rng=``). Seeded from the OS at
#: import, so it differs from process to process until :func:`manual_seed` seeds it; a process
#: forked from this one is seeded from the OS again, unless :func:`manual_seed` seeded it here
#: (then it goes on from the seeded state, as torch's and NumPy's generators do). One object
#: for the life of the process: a layer that took it draws what a reseed sets.
_default_rng = np.random.Generator(np.random.PCG64())

#: Whether :func:`manual_seed` has seeded the default generator (a forked child then keeps it)
_seeded = False


def _reseed_in_a_forked_child() -> None:
    """After ``os.fork``: the default generator seeded from the OS again (in place), unless
    :func:`manual_seed` seeded it. The children of a fork shared its state: every
    ``multiprocessing`` child drew the same ``cr.randn``, ``nn.Linear`` weights and dropout
    masks as the others and as the parent's next draws, though the default differs from
    process to process (as Python's ``random`` is reseeded after a fork)."""
    if not _seeded:
        _default_rng.bit_generator.state = np.random.PCG64().state


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reseed_in_a_forked_child)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's default generator and return it, as ``torch.manual_seed`` does.

    The default generator is what everything given no ``rng`` draws from: :func:`randn`,
    :func:`rand`, the initialisers, ``nn.Dropout`` layers and ``data.batches``. It is seeded
    from the OS at import, so without this call those draws differ from process to process
    (a process forked from this one is seeded from the OS again); after it, a process forked
    from this one goes on from the seeded state, as with torch's and NumPy's generators (the
    children of a fork draw the same numbers: seed each child, ``cr.manual_seed(seed + rank)``,
    for numbers of its own).
    It is reseeded in place (its state set to a generator newly seeded with ``seed``'s), so
    a layer built before the call, which holds the same generator, draws the seeded numbers
    too: ``d = nn.Dropout(0.5); cr.manual_seed(0); d(x)`` is the same in every process.
    (Only its ``spawn`` still derives from the import's seed, which NumPy keeps read-only:
    spawn from ``np.random.default_rng(seed)`` for seeded children.)
    A ``Trainer``'s fit draws from its own ``seed`` instead: the shuffling, and the masks of
    Dropout layers built without ``rng=`` (see :class:`chainrule.train.Trainer`)."""
    global _seeded
    try:
        fresh = np.random.default_rng(seed)  # a seed NumPy refuses is refused before any change
    except (TypeError, ValueError) as error:  # NumPy's words named neither call nor seed
        said = f"manual_seed: the seed must be an integer >= 0, not {seed!r}"
        raise type(error)(said) from None
    _default_rng.bit_generator.state = fresh.bit_generator.state
    _seeded = True
    return _default_rng


def _shape(shape: tuple, who: str) -> tuple[int, ...]:
    """``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(3)`` as a shape; a NumPy integer is a size.
    Anything but non-negative integers is a ``TypeError``/``ValueError`` naming ``who`` (NumPy's
    own words were "'float' object is not iterable" for ``ones(2.0)``)."""
    if len(shape) == 1 and not _is_size(shape[0]):
        if not isinstance(shape[0], (tuple, list, np.ndarray)):
            raise TypeError(f"{who}: a shape is integer sizes or a tuple of them, got {shape[0]!r}")
        shape = tuple(shape[0])
    for n in shape:
        if not _is_size(n):
            raise TypeError(f"{who}: a size must be an integer, got {n!r} in shape {shape!r}")
        if n < 0:
            raise ValueError(f"{who}: a size must be 0 or more, got {n} in shape {shape!r}")
    return tuple(int(n) for n in shape)


def _is_size(n: Any) -> bool:
    if isinstance(n, np.ndarray) and n.ndim == 0:  # np.array(3), as NumPy takes it
        n = n[()]
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def _placed(array: Any, xp: Any, device: Any, requires_grad: bool, asked: Any = None) -> Tensor:
    """A host array as a tensor of library ``xp`` on ``device`` (NumPy when both are None).
    ``asked``, the dtype the caller gave (None: none), is refused where ``xp`` or ``device``
    lacks it: the move would make float64 float32 on JAX without x64."""
    if xp is not None or device is not None:
        if asked is not None and xp is not None:
            backend.dtype_in(backend.namespace(xp), asked, device)
        array = backend.move(array, xp, device)
    return Tensor(array, requires_grad=requires_grad)


def _host_float(dtype: Any, who: str) -> Any:
    """:func:`host_dtype`, float64 where no ``dtype`` is given."""
    return np.dtype(np.float64) if dtype is None else host_dtype(dtype, who)


# what an integer or boolean dtype does to random samples (and what complex does: misread them)
_SAMPLES_TRUNCATED = (
    "the samples are floats, which it would truncate (integers mostly 0) or misread"
)


def floating_dtype(dtype: Any, who: str, why: str = _SAMPLES_TRUNCATED) -> Any:
    """:func:`host_dtype` (float64 where ``dtype`` is None), refusing with a ``TypeError`` naming
    ``who`` a dtype that is not a real floating-point one, for ``why`` (what it would do to the
    values): random samples cast to it were truncated (integers mostly 0, ``rand`` all 0, bools
    all True), where PyTorch refuses the dtype, and so were initialisers' weights. Booleans,
    integers and complex types are refused by their kind: bfloat16 (ml_dtypes') is a float whose
    NumPy kind is "V", not "f".

    >>> floating_dtype("float32", "randn")
    dtype('float32')
    """
    host = _host_float(dtype, who)
    if backend.dtype_kind(np.dtype(host)) != "f":  # ml_dtypes' int4 too, whose kind is "V"
        raise TypeError(
            f"{who}: dtype {np.dtype(host).name} is not a real floating-point type; {why}: give "
            "float16, float32 or float64, and cast the result with .astype(...) if that is meant"
        )
    return host


def _refuse_none(given: Any, values: np.ndarray | None, who: str, argument: str) -> None:
    """Refuse None as a value, alone or inside a list, which NumPy made NaN in ``values`` when a
    float dtype was asked for (``np.full(2, None)`` is ``[nan, nan]``): a forgotten value
    passed silently. ``values`` None: NumPy could make none (see :func:`holds_none`)."""
    if holds_none(given, values):
        what = "is None, not a number" if given is None else "holds None, which is not a number"
        raise TypeError(f"{who}: {argument} {what}")


def host_dtype(dtype: Any, who: str) -> Any:
    """``dtype`` as NumPy's, to make values in on the host: a NumPy dtype, a name or a Python
    type as NumPy reads it, and a library's own dtype object (``torch.float32``,
    ``array_api_strict.float32``) by its name, as ``nn.Linear(dtype=...)`` and ``astype`` take
    it. The values then move to ``xp`` in that dtype."""
    if dtype is None or isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, type) and issubclass(dtype, np.generic):  # np.float64, the default
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        name = backend.dtype_name(dtype)
    try:
        return np.dtype(name)
    except TypeError:
        extension = _ml_dtype(name)
        if extension is not None:
            return extension
        if isinstance(dtype, str):  # a name NumPy does not know ("banana", "float")
            raise TypeError(
                f"{who}: dtype {dtype!r} is no dtype NumPy knows; give a name such as "
                "'float32', 'float64', 'int64' or 'bool', or a dtype (np.float32, "
                "torch.float32)"
            ) from None
        raise TypeError(
            f"{who}: dtype {dtype!r} has no NumPy counterpart to make the values in; make them "
            f"in float32 and cast (.astype(...)), or give a NumPy dtype"
        ) from None


def _ml_dtype(name: str) -> np.dtype | None:
    """ml_dtypes' dtype called ``name`` (bfloat16, float8_e4m3fn), which NumPy reads by name
    only once ml_dtypes is imported (``import jax`` imports it: ``cr.ones(2, dtype=
    torch.bfloat16, xp=torch)`` was refused before and made after); None where ml_dtypes is not
    installed or has none of that name."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    found = getattr(ml_dtypes, name, None)
    return None if found is None else np.dtype(found)


def own_copy(data: Any) -> Any:
    """``data``'s values in a fresh array of its own library (a tensor's array included), which
    no one else holds: what :func:`tensor` and the transforms' variables keep.

    >>> values = np.zeros(2)
    >>> own_copy(values) is values
    False
    """
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.array_module(data)
    if xp is np:
        return np.array(data)  # always a copy; lists and numbers become arrays as before
    return xp.asarray(data, copy=True)


def _refuse_past_int64(data: Any, who: str = "tensor", dtype: Any = None) -> None:
    """Where NumPy could not make ``data`` in the dtype asked for because an integer in it is
    past int64 ("Python int too large to convert to C long", naming neither the number nor a
    dtype), raise OverflowError in the words ``tensor`` refuses it in without a dtype (the
    integer or its size, the range of ``dtype`` where it is an integer dtype, else int64's, the
    float that holds it); else return, and NumPy's own refusal stands (it names the number and
    the dtype: "Python integer 300 out of bounds for uint8"). ``who`` names the call (``full``)
    in place of ``tensor``."""
    try:
        cells = np.array(data, dtype=object)
    except (TypeError, ValueError):  # ragged, or no array at all: NumPy's words stand
        return
    asked = np.dtype(dtype) if dtype is not None and np.dtype(dtype).kind in "iu" else np.int64
    big = _too_large_integer(cells, asked)
    if big is not None and _too_large_integer(cells) is not None:
        message = _too_large_message(big, cells, asked).removeprefix("tensor:")
        raise OverflowError(f"{who}:{message}") from None


#: What ``cr.tensor`` of tensors that need a gradient would do (and how to say which is meant)
_DETACHES = (
    "cr.tensor of {what} takes the values alone, cut from the graph (no gradient flows back "
    "through it): to build a tensor of tensors use cr.stack([a, b]), recorded for backward; "
    "to copy the values, cr.tensor(t.detach()) (t.detach() shares them)"
)


def _needs_grad_within(items: list | tuple) -> bool:
    """Whether the nested lists or tuples ``items`` hold a tensor that needs a gradient."""
    for item in items:
        if isinstance(item, Tensor) and item.requires_grad:
            return True
        if isinstance(item, (list, tuple)) and _needs_grad_within(item):
            return True
    return False


def tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, xp: Any = None, device: Any = None
) -> Tensor:
    """A tensor holding a copy of ``data`` (Python floats become float64, as in NumPy).

    The copy is the tensor's own, as ``torch.tensor`` makes one, whatever ``xp`` and ``device``
    say (naming the array's own library and device too): refilling the array you passed cannot
    change a recorded graph's values or gradients, and an optimizer's in-place update does not
    write into your array. ``cr.Tensor(array)`` wraps a NumPy array without copying, for when
    sharing is meant. An array of another library (a torch tensor, a CuPy or JAX array) keeps
    its library and device unless ``xp`` or ``device`` say otherwise. ``dtype`` may be a
    library's own (``torch.float32``). None, alone or in a list, is a ``TypeError`` with a
    ``dtype`` as without one (NumPy would make it NaN).

    >>> tensor([[0.2, 0.7]], requires_grad=True).shape
    (1, 2)
    """
    if isinstance(data, Tensor) and data.requires_grad:  # as torch.tensor(t) warns
        warnings.warn(_DETACHES.format(what="a tensor that needs a gradient"), stacklevel=2)
    # out of torch's autograd first: torch.asarray's copy of a tensor that requires grad warns
    data = backend.detached(data.data if isinstance(data, Tensor) else data)
    if backend.array_module(data) is np:
        dtype = host_dtype(dtype, "tensor")
        on_host = xp is None or backend.namespace(xp) is np
        try:
            values = numbers_of(data, dtype, copy=on_host)  # None: a masked array's None
        except RuntimeError:  # torch's words for a tensor that requires grad in a list
            backend.detached_within(data)
            raise
        except TypeError:  # Tensor.__array__'s refusal of one that needs a gradient, in a list
            if isinstance(data, (list, tuple)) and _needs_grad_within(data):
                what = "a list of tensors that need a gradient"
                raise TypeError(_DETACHES.format(what=what)) from None
            raise
        except OverflowError:
            _refuse_past_int64(data, dtype=dtype)
            raise
        _refuse_none(data, values, "tensor", "data")  # without a dtype, an object array: Tensor's
        if on_host:  # stays on the host: copied here
            return _placed(values, None, device, requires_grad)
        if values is not None and values.dtype.kind in "OSUMm":
            # no numbers (strings, dates, 2**70): refused as on the host, in the constructor's
            # words, not the move's "torch has no dtype object"
            Tensor(values)
        return _placed(values, xp, device, requires_grad, dtype)  # copies
    placed = data if xp is None and device is None else backend.move(data, xp, device)
    if placed is data:  # still the caller's array: no move made a copy
        placed = own_copy(placed)
    if backend.array_module(placed) is np:  # moved to NumPy
        dtype = host_dtype(dtype, "tensor")
    return Tensor(placed, requires_grad=requires_grad, dtype=dtype)


def zeros(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor of zeros: ``zeros(3)``, ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    values = np.zeros(_shape(shape, "zeros"), dtype=_host_float(dtype, "zeros"))
    return _placed(values, xp, device, requires_grad, dtype)


def ones(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor of ones."""
    values = np.ones(_shape(shape, "ones"), dtype=_host_float(dtype, "ones"))
    return _placed(values, xp, device, requires_grad, dtype)


def full(
    shape: Any,
    value: float,
    dtype: Any = None,
    requires_grad: bool = False,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor filled with ``value`` (a number: None is a ``TypeError``, not NaN; a torch
    tensor that requires grad an ``ArrayLibraryError``, as wherever it enters chainrule)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"full: value must be a number, got {value!r}")
    try:
        values = np.full(_shape((shape,), "full"), value, dtype=_host_float(dtype, "full"))
    except RuntimeError:  # torch's words ("Can't call numpy() on Tensor that requires grad")
        backend.detached_within(value)
        raise
    except OverflowError:
        _refuse_past_int64(value, "full", dtype)
        raise
    _refuse_none(value, values, "full", "value")
    return _placed(values, xp, device, requires_grad, dtype)


def zeros_like(x: Any, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape, dtype, array library and device; ``x`` is a tensor or an array
    of any library (``cr.zeros_like(np.ones(2))``: it was read as a tensor, ``x.xp``)."""
    data, xp = _array_and_library(x)
    return Tensor(xp.zeros_like(data), requires_grad=requires_grad)


def ones_like(x: Any, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape, dtype, array library and device (a tensor or an array)."""
    data, xp = _array_and_library(x)
    return Tensor(xp.ones_like(data), requires_grad=requires_grad)


def _array_and_library(x: Any) -> tuple[Any, Any]:
    """The array behind the tensor or array ``x`` (a list or a number as NumPy reads it; a torch
    tensor that requires grad refused, as wherever it enters chainrule), and its namespace."""
    if isinstance(x, Tensor):
        return x.data, x.xp
    data = backend.detached(x)
    if not hasattr(data, "shape"):
        data = backend.as_host_array(data)
    return data, backend.array_module(data)


def arange(
    *args: Any, dtype: Any = None, requires_grad: bool = False, xp: Any = None, device: Any = None
) -> Tensor:
    """``np.arange`` as a tensor. A step of 0 is a ``ValueError`` naming arange and the step
    (NumPy's was a bare ZeroDivisionError, or "Maximum allowed size exceeded" for an ``np.int64``
    0)."""
    step = args[2] if len(args) >= 3 else None
    if step is not None and np.ndim(step) == 0 and step == 0:
        shown = ", ".join(map(repr, args))
        raise ValueError(
            f"arange: step must not be 0, got arange({shown}): it never reaches the stop"
        )
    values = np.arange(*args, dtype=host_dtype(dtype, "arange"))
    return _placed(values, xp, device, requires_grad, dtype)


def linspace(
    start: float,
    stop: float,
    num: int = 50,
    dtype: Any = None,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """``np.linspace`` as a tensor: ``num`` values (an integer, 0 or more) from ``start`` to
    ``stop``."""
    try:
        values = np.linspace(start, stop, num, dtype=_host_float(dtype, "linspace"))
    except (TypeError, ValueError):  # NumPy's words named neither linspace nor num
        if not _is_size(num):
            raise TypeError(
                f"linspace: num (how many values) must be an integer, got {num!r}"
            ) from None
        if num < 0:
            raise ValueError(
                f"linspace: num (how many values) must be 0 or more, got {num}"
            ) from None
        raise
    return _placed(values, xp, device, False, dtype)


def randn(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """Standard normal samples; ``rng`` (a Generator or a seed) makes them reproducible
    (None: the default generator, different in every process until :func:`manual_seed`).
    ``dtype`` is a floating-point type (an integer or boolean one is a ``TypeError``)."""
    generator = as_generator(rng, "randn")
    host = floating_dtype(dtype, "randn")  # refused before the generator draws
    data = generator.standard_normal(_shape(shape, "randn")).astype(host, copy=False)
    return _placed(data, xp, device, requires_grad, dtype)


def rand(
    *shape: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    rng: np.random.Generator | int | None = None,
    xp: Any = None,
    device: Any = None,
) -> Tensor:
    """Uniform samples in [0, 1); ``rng`` (a Generator or a seed) makes them reproducible
    (None: the default generator, different in every process until :func:`manual_seed`).
    ``dtype`` is a floating-point type (an integer or boolean one is a ``TypeError``)."""
    host = floating_dtype(dtype, "rand")  # refused before the generator draws
    data = as_generator(rng, "rand").random(_shape(shape, "rand")).astype(host, copy=False)
    return _placed(data, xp, device, requires_grad, dtype)


def as_generator(
    rng: np.random.Generator | int | None, who: str = "rng", error: type[Exception] = ConfigError
) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as it is, a seed (an integer >= 0) makes a new one,
    None is chainrule's default generator (seeded from the OS at import; :func:`manual_seed`
    reseeds it). Anything else raises ``error`` naming ``who`` (NumPy's own words, "expected
    non-negative integer", name neither the argument nor the call)."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if is_integer(rng) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise error(
        f"{who}: rng must be a numpy Generator, a seed (an integer >= 0) or None, not {rng!r}"
    )
