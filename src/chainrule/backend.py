"""The array-library seam: the one place that decides which array library does the arithmetic.

Every op asks ``array_module(x)`` for the namespace that owns its input and calls ``xp.exp``,
``xp.matmul`` ... on it, never ``numpy`` directly. A NumPy array (``type(x) is numpy.ndarray``)
is the fast path: ``numpy`` itself, with its methods, ``out=`` and ``errstate``. Any other array
(PyTorch, CuPy, JAX, array-api-strict, ...) is served through the Python array API standard:
its namespace is resolved once per array type with array-api-compat and cached.
:func:`register_array_module` overrides that resolution for a type.

What the standard lacks lives here, once: dtype kinds (:func:`is_floating`, :func:`is_integer`),
:func:`size`, :func:`scatter_add` for repeated integer indices, device-aware creation
(:func:`asarray_like`, :func:`namespace`), in-place writes where the library allows them
(:func:`write`), and copies to the host (:func:`to_numpy`) for printing, files and plots.
What NumPy lacks lives here too: a one-pass ``y += alpha * x`` (:func:`add_scaled`).
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import sys
from typing import Any

import numpy

from chainrule.errors import DataError, type_name

#: ``(array type, module)`` pairs tried in order before array-api-compat is asked.
_registered: list[tuple[type, Any]] = []

#: array type -> its namespace, resolved once per type (array_namespace costs ~3 us a call)
_namespaces: dict[type, Any] = {}

#: The namespaces other than NumPy that this process's arrays have used. While it is empty every
#: array is NumPy's and no op needs to check that its operands share a library and device.
other_libraries: list[Any] = []

#: Python's own values (numbers, lists) and NumPy's scalars belong to NumPy
_NUMPY_TYPES = (numpy.ndarray, numpy.generic, int, float, bool, complex, list, tuple)


class ArrayLibraryError(TypeError):
    """Arrays of two libraries, or on two devices, met in one op; or a library is unusable.

    ``libraries``: the two an op met (``("torch on cpu", "numpy")``), where it met two, for a
    caller that says more of them (gradcheck, ``functional_call``)."""

    def __init__(self, message: str, libraries: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.libraries = libraries

    def saying_more(self, words: str) -> ArrayLibraryError:
        """This refusal with ``words`` after it, naming the same libraries."""
        return ArrayLibraryError(f"{self}{words}", self.libraries)


def register_array_module(array_type: type, module: Any) -> None:
    """Route arrays of ``array_type`` to ``module`` (a namespace of the array API standard).

    Needed only for a library that array-api-compat does not know; CuPy, PyTorch, JAX and
    array-api-strict are found on their own.

    >>> import cupy                                        # doctest: +SKIP
    >>> register_array_module(cupy.ndarray, cupy)          # doctest: +SKIP
    """
    _registered.insert(0, (array_type, module))
    _namespaces.clear()
    other_libraries.append(module)


def array_module(array: Any) -> Any:
    """The namespace that owns ``array``: ``numpy`` for NumPy arrays and Python values, else the
    library's array API namespace (array-api-compat's wrapper where the library needs one)."""
    if type(array) is numpy.ndarray:
        return numpy
    try:
        return _namespaces[type(array)]
    except KeyError:
        if isinstance(array, numpy.ma.MaskedArray):  # asked of each one, never cached by type
            check_unmasked(array)
            return numpy
        xp = _namespaces[type(array)] = _resolve(array)
        if xp is not numpy and xp not in other_libraries:
            other_libraries.append(xp)
        return xp


def check_unmasked(value: Any, what: str = "") -> None:
    """Refuse, by a DataError (prefixed ``what: `` where given), a NumPy masked array with
    entries masked: NumPy's conversions drop the mask and use the values under it, so a loss,
    a gradient or a model would compute with numbers the user had masked out. One with nothing
    masked is its values. Every array entering chainrule is asked this: :func:`array_module`
    asks it of a masked array (a tensor, an op's operand, a loss's target, a transform's
    argument, a model's input), and so do a Dataset's checks."""
    if isinstance(value, numpy.ma.MaskedArray) and numpy.ma.is_masked(value):
        raise DataError(_masked_refusal(int(numpy.ma.count_masked(value)), what))


def _masked_refusal(count: int, what: str = "", held: str = "a masked array") -> str:
    """The words of :func:`check_unmasked`: ``count`` entries masked in ``held``."""
    entries = "1 entry" if count == 1 else f"{count} entries"
    return (
        f"{what + ': ' if what else ''}got {held} with {entries} masked; the mask would be "
        "ignored (the values under it used): fill them, X.filled(value), or drop those cases"
    )


def check_unmasked_within(given: Any, values: Any = None) -> None:
    """Refuse, in :func:`check_unmasked`'s words, masked arrays with entries masked inside the
    list or tuple ``given``, which NumPy read as ``values`` (None where it made none): NumPy
    reads each one's values under its mask, so ``cr.tensor([row1, row2])`` used the numbers
    masked out. Looked for where they can be without a pass over the numbers: each level of
    the lists whose first item is no number (rows given as arrays: a number there would make
    the level ragged, which NumPy refuses), and, where ``values`` has a NaN, every cell (NumPy
    makes a masked 0-d array among numbers, ``numpy.ma.masked``, NaN). A list of numbers pays
    one look at each level's first item, and the NaN pass; anything but a list or tuple
    nothing."""
    if type(given) is not list and type(given) is not tuple:
        return
    found = _masked_within(given)
    kind = getattr(getattr(values, "dtype", None), "kind", "")
    if not found and kind in ("f", "c") and numpy.isnan(values).any():
        found = _masked_within(given, everywhere=True)
    if found:
        count = sum(int(numpy.ma.count_masked(array)) for array in found)
        held = "a list holding masked arrays" if len(found) > 1 else "a list holding a masked array"
        raise DataError(_masked_refusal(count, held=held))


def _masked_within(items: list | tuple, everywhere: bool = False) -> list:
    """The masked arrays with entries masked among ``items`` and the lists within them: at
    the levels whose first item is no Python or NumPy number (see
    :func:`check_unmasked_within`), or ``everywhere``."""
    if not everywhere and (not items or isinstance(items[0], (int, float, complex, numpy.generic))):
        return []
    found = []
    for item in items:
        if type(item) is list or type(item) is tuple:
            found += _masked_within(item, everywhere)
        elif isinstance(item, numpy.ma.MaskedArray) and numpy.ma.is_masked(item):
            found.append(item)
    return found


def _resolve(array: Any) -> Any:
    for array_type, module in _registered:
        if isinstance(array, array_type):
            return module
    if isinstance(array, _NUMPY_TYPES) or array is None:
        return numpy
    try:
        import array_api_compat
    except ImportError:  # an optional extra: chainrule[arrays]
        array_api_compat = None
    if array_api_compat is not None and array_api_compat.is_array_api_obj(array):
        if array_api_compat.is_numpy_array(array):  # a NumPy subclass: NumPy's own functions
            return numpy
        return array_api_compat.array_namespace(array)
    own = getattr(array, "__array_namespace__", None)
    if own is not None:
        return own()
    if array_api_compat is None and hasattr(array, "__dlpack__") and not _is_tensor(array):
        raise ArrayLibraryError(
            f"chainrule needs array-api-compat for arrays of type {type(array).__name__}: "
            "pip install 'chainrule[arrays]'"
        )
    return numpy  # anything else NumPy converts (a range, a memoryview)


def _is_tensor(value: Any) -> bool:
    """Whether ``value`` is chainrule's Tensor, which gives DLPack for other libraries and is
    no array of one: NumPy reads it (its ``__array__``), as before it gave DLPack."""
    from chainrule.tensor import Tensor  # loaded after this module, which it imports

    return isinstance(value, Tensor)


def namespace(module: Any) -> Any:
    """The array API namespace behind a library's module, for ``xp=`` arguments.

    ``namespace(torch)`` is array-api-compat's torch wrapper, ``namespace(numpy)`` is numpy.
    """
    if module is None or module is numpy:
        return numpy
    if not callable(getattr(module, "asarray", None)):  # "torch", a plain module, an array
        raise ArrayLibraryError(_not_a_library(module))
    probe = module.asarray(0.0)  # the module's own array type tells which wrapper serves it
    return array_module(probe)


def _not_a_library(module: Any) -> str:
    """Why ``module`` is no ``xp=``: what it is, and what an ``xp`` is."""
    hint = (
        f" (import {module} and pass the module itself: xp={module})"
        if isinstance(module, str)
        else ""
    )
    return (
        f"xp must be an array library's module, an array API namespace such as numpy, torch, "
        f"jax.numpy or array_api_strict, not {type_name(module)} {module!r:.40}{hint}"
    )


def from_numpy(array: Any, xp: Any = None, device: Any = None) -> Any:
    """A host array (or anything NumPy reads) in library ``xp`` on ``device``.

    ``xp`` is a module (``torch``, ``cupy``, ``jax.numpy``) or a namespace; None keeps NumPy
    (which has one device, the host). Values are made on the host (seeded generators give the
    same numbers on every library) and copied, so the result never shares memory with
    ``array`` (torch would otherwise wrap a host array, and a move would write through to it).
    The values keep their dtype where the library has it, and the library decides where it
    lacks it: JAX without ``jax_enable_x64`` makes float64 values float32, as its own
    ``asarray`` does; a device that refuses them (array-api-strict's ``no_float64``) raises
    :class:`ArrayLibraryError` saying to make them float32 first. (An explicit request for a
    dtype is :func:`dtype_in`'s to refuse.)
    """
    ns = namespace(xp) if xp is not None else numpy
    if ns is numpy:
        if device not in (None, "cpu"):
            raise ArrayLibraryError(f"NumPy arrays live on the host, not on device {device!r}")
        return numpy.asarray(array)
    host = numpy.asarray(array)
    fix = (
        "and the values are {name} (NumPy's default for floats); make them {narrower} first "
        "(dtype='{narrower}'; a model: model.to('{narrower}') before it moves)"
    )
    dtype = _narrowed(ns, host.dtype.name, device, fix, host) or _dtype_named(ns, host.dtype)
    readable = _without_negative_strides(host)  # already a copy of its own where it was reversed
    copy = True if readable is host else None
    try:
        return ns.asarray(readable, dtype=dtype, device=device, copy=copy)
    except TypeError:
        if dtype_kind(host.dtype) != "f" or host.dtype.itemsize > 2:  # (not a long double)
            raise
        # an ml_dtypes float (bfloat16, float8: NumPy has none, and `import jax` registers
        # them), which PyTorch cannot read ("can't convert np.ndarray of type
        # ml_dtypes.bfloat16"): a float32 copy holds every value of a float of 16 bits or fewer
        # exactly, and the library casts that to its own dtype (asarray's cast refuses float8:
        # "Got unsupported ScalarType Float8_e4m3fn")
        return ns.astype(ns.asarray(readable.astype(numpy.float32), device=device), dtype)


def _without_negative_strides(host: Any) -> Any:
    """``host`` (a NumPy array, or anything else, returned as it is) as every library reads it:
    a reversed view (``x[::-1]``, ``numpy.flip``: a negative stride) copied to C order, which
    PyTorch refuses even when asked to copy ("At least one stride in the given numpy array is
    negative"). Any other array is ``host`` itself: only a reversed one pays for a copy, and
    only on its way to another library (NumPy's own paths never come here)."""
    if isinstance(host, numpy.ndarray) and any(stride < 0 for stride in host.strides):
        return numpy.ascontiguousarray(host)
    return host


def _narrowed(xp: Any, name: str, device: Any, fix: str, values: Any = None) -> Any:
    """None where library ``xp`` holds host values of dtype ``name`` on ``device``. Where it
    does not (a wide dtype, or a 64-bit integer on JAX without x64 or on a device without
    them): on JAX without x64 the narrower dtype, what JAX makes of them (float32, int32 ...),
    asked for so that JAX does not warn at every move (NumPy's integers are int64:
    ``cr.arange(5, xp=jnp)`` warned); and 64-bit integers on a device that has none
    (array-api-strict's ``no_x64``, which refused NumPy's int64 labels and positions in its own
    words) their 32-bit kin, as on JAX. A wide float elsewhere (array-api-strict's
    ``no_float64`` device, whose own refusal names neither the values nor a fix) is an
    :class:`ArrayLibraryError` ending in ``fix`` (formatted with ``name`` and ``narrower``).
    Integer ``values`` (the host array) that the narrower type cannot hold are not narrowed
    silently: on JAX their own dtype is asked for, and JAX warns that it truncates them (an
    operand's dtype left to JAX truncated them without a word); on a device without 64-bit
    integers they are refused, naming the range."""
    narrower = _NARROWER.get(name)
    if narrower is None:
        return None
    if _x64_setting(xp) is False:  # JAX without x64 has no 64-bit dtype of any kind
        if values is not None and not _integers_fit(values, narrower):
            return _named(xp, name)
        return _named(xp, narrower)
    if name in WIDE_DTYPES:
        if _offers(xp, name, device):
            return None
        fix = fix.format(name=name, narrower=narrower)
        raise ArrayLibraryError(f"{_lacking(xp, name, device, '')}, {fix}")
    if _offers(xp, name, device):
        return None
    if values is not None and not _integers_fit(values, narrower):
        low, high = numpy.min(values), numpy.max(values)
        raise ArrayLibraryError(
            f"{_lacking(xp, name, device, '')}, and values from {low} to {high} do not fit "
            f"its {narrower}; make them floats first, or use a device with {name}"
        )
    return _named(xp, narrower)


def _integers_fit(values: Any, name: str) -> bool:
    """Whether host ``values`` fit the integer type ``name`` (any values fit a float type:
    float32 rounds them, it does not wrap them)."""
    if numpy.dtype(name).kind not in "iu" or not numpy.size(values):
        return True
    limits = numpy.iinfo(name)
    return bool(limits.min <= numpy.min(values) and numpy.max(values) <= limits.max)


def move(array: Any, xp: Any = None, device: Any = None) -> Any:
    """``array`` in library ``xp`` (default: its own) on ``device`` (default: its own, or the
    library's default device when the library changes), copied through the host."""
    source = array_module(array)
    target = source if xp is None else namespace(xp)
    if target is source and (device is None or str(device) == str(device_of(array))):
        return array
    if target is numpy:
        return from_numpy(numpy.array(to_numpy(array), copy=True), None, device)
    if target is source and device is None:
        device = device_of(array)
    return from_numpy(to_numpy(array), target, device)


def detached(array: Any) -> Any:
    """``array`` as it enters chainrule (``cr.tensor``, ``cr.Tensor``, an op's operand, a
    loss's targets, a backward's seed, a transform's argument): one outside its own library's
    autograd. A torch tensor that requires grad is refused with an :class:`ArrayLibraryError`
    saying what to pass instead: only chainrule differentiates a chainrule tensor, so torch's
    graph would end there, silently (``backward()`` left the torch tensor's ``.grad`` None),
    as torch refuses a chainrule tensor in its ops. Any other array passes as it is."""
    if getattr(array, "requires_grad", False) is True:
        raise ArrayLibraryError(_tracked_by_torch(array))
    return array


def detached_within(value: Any) -> None:
    """Raise :func:`detached`'s refusal for the first torch tensor that requires grad in
    ``value`` or in the lists and tuples it nests (``cr.tensor([w, w])``, ``cr.full(2, w)``),
    where NumPy met one and raised torch's own words ("Can't call numpy() on Tensor that
    requires grad"), naming neither chainrule nor a way out; else return, for the caller to
    raise the error it caught. Called on that error path only: a list of numbers pays nothing."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(reversed(item))  # the first in order is named
        else:
            detached(item)


def _tracked_by_torch(array: Any) -> str:
    """Why a torch tensor that requires grad cannot enter chainrule, and the ways out."""
    what = f"{type_name(array)} of shape {tuple(array.shape)} ({dtype_name(array.dtype)})"
    return (
        f"a {what} that requires grad cannot enter chainrule: only chainrule differentiates "
        "what chainrule computes, so torch's graph would end here and its .grad stay None; "
        "pass it detached (cr.tensor(w.detach(), requires_grad=True) to differentiate it in "
        "chainrule), or convert a torch module with chainrule.interop.torch.from_torch(module)"
    )


def dtype_name(dtype: Any) -> str:
    """A library's dtype by its short name: "float32" for NumPy's, torch's or the standard's."""
    if isinstance(dtype, numpy.dtype):
        return dtype.name
    try:
        return numpy.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


def is_numpy(xp: Any) -> bool:
    """Whether ``xp`` is NumPy itself (the fast path)."""
    return xp is numpy


def device_of(array: Any) -> Any:
    """The device ``array`` lives on ("cpu" for NumPy)."""
    if isinstance(array, _NUMPY_TYPES):
        return "cpu"
    found = getattr(array, "device", None)
    if found is None or callable(found):  # JAX's .device was a method once
        import array_api_compat

        return array_api_compat.device(array)
    return found


def is_floating(dtype: Any, xp: Any = numpy) -> bool:
    """Whether ``dtype`` is a real or complex floating type (NumPy's kinds "f" and "c", and
    ml_dtypes' floats such as JAX's bfloat16: see :func:`dtype_kind`)."""
    if isinstance(dtype, numpy.dtype):
        return dtype_kind(dtype) in "fc"
    return bool(xp.isdtype(dtype, ("real floating", "complex floating")))


def is_real_floating(dtype: Any, xp: Any = numpy) -> bool:
    """Whether ``dtype`` is a real floating type (float32, float64, JAX's bfloat16; not
    complex)."""
    if isinstance(dtype, numpy.dtype):
        return dtype_kind(dtype) == "f"
    return bool(xp.isdtype(dtype, "real floating"))


def is_complex(dtype: Any, xp: Any = numpy) -> bool:
    """Whether ``dtype`` is a complex floating type (complex64, complex128)."""
    if isinstance(dtype, numpy.dtype):
        return dtype_kind(dtype) == "c"
    return bool(xp.isdtype(dtype, "complex floating"))


def narrow_float(dtype: Any, xp: Any = numpy) -> bool:
    """Whether the float ``dtype`` is narrower than float32 (float16, bfloat16, the float8s):
    too narrow to add many numbers in (a float16 running sum stalls where its spacing passes
    the addend: 4,096 times 0.1 came out 412 over blocks, 256 added row by row; bfloat16's
    4,096 ones summed to 256) or to count them in (float16's count past 65504 is inf). Sums
    over many rows, means, variances and norms of it are accumulated in float32 and rounded
    back once, as NumPy's mean and PyTorch's reductions do."""
    return _bits(dtype, xp) < 32


@functools.cache
def _bits(dtype: Any, xp: Any) -> int:
    """How many bits float ``dtype`` has (64 where the library cannot say)."""
    try:
        return int(xp.finfo(dtype).bits)
    except (TypeError, ValueError, AttributeError):
        return 64


def dtype_kind(dtype: numpy.dtype) -> str:
    """NumPy's kind letter of ``dtype``, with the floats of ml_dtypes read as "f" (complex ones
    as "c"). JAX's bfloat16 and float8 arrays carry NumPy dtypes of kind "V" (NumPy has no such
    float of its own), so ``dtype.kind`` took them for no floats at all: they could not require
    gradients, and ``b * 1.5`` or a softmax made float32 where torch's bfloat16 stays bfloat16.
    Ask this, not ``.kind``, of a dtype that another library's array may carry."""
    kind = dtype.kind
    return _extension_kind(dtype) if kind == "V" else kind


@functools.cache
def _extension_kind(dtype: numpy.dtype) -> str:
    """The kind of a dtype of kind "V": "f" or "c" where ``numpy.finfo`` describes it
    (ml_dtypes registers its floats there: a real float is its own finfo's dtype, a complex
    one has its part's), else "V" (a record, raw bytes, ml_dtypes' int4)."""
    try:
        part = numpy.finfo(dtype).dtype
    except (TypeError, ValueError):
        return "V"
    return "f" if part == dtype else "c"


def is_integer(dtype: Any, xp: Any = numpy) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer type (NumPy's kinds "i" and "u")."""
    if isinstance(dtype, numpy.dtype):
        return dtype.kind in "iu"
    return bool(xp.isdtype(dtype, "integral"))


def size(array: Any) -> int:
    """How many elements ``array`` holds (``.size`` is a method on a torch tensor)."""
    if type(array) is numpy.ndarray:
        return array.size
    return math.prod(array.shape)


def dtype_in(xp: Any, dtype: Any, device: Any = None, on: Any = None) -> Any:
    """``dtype`` (a NumPy dtype, a name, a Python type or the library's own) as ``xp``'s dtype,
    for a dtype asked for (``cr.tensor(..., dtype=)``, ``astype``, ``Module.to``).

    A dtype that ``xp`` lacks raises :class:`ArrayLibraryError` naming the library and the
    dtype: one it has no name for (float16 on array-api-strict), and float64 or complex128
    where ``device`` (``on``'s device where an array ``on`` is given, read only then; the
    library's default device when neither is) or the library's settings do not offer them:
    array-api-strict's ``no_float64`` device, Apple's MPS, and JAX until
    ``jax.config.update("jax_enable_x64", True)`` (JAX itself would make float32 with a
    warning, and a model asked to be float64 would train in float32); int64 and uint64 where
    the device has none (array-api-strict's ``no_x64``: use int32).
    """
    if xp is numpy or dtype is None:
        return None if dtype is None else _numpy_dtype(dtype)
    if isinstance(dtype, (str, type, numpy.dtype)):  # by name, as NumPy reads it
        name = dtype.name if isinstance(dtype, numpy.dtype) else numpy.dtype(dtype).name
        found = _named(xp, name)
    else:  # a library's own dtype object, by its printed name ("torch.float64")
        name, found = str(dtype).rsplit(".", 1)[-1], dtype
        own = type(getattr(xp, "float32", None))
        if not isinstance(dtype, own):  # another library's (array_api_strict.float64 for
            found = _named(xp, name)  # torch): xp's of that name; isdtype raised AttributeError
    # (int64 on JAX without x64 is let through as int32, not refused: cr.tensor's values are
    # narrowed on their way in without a word, as NumPy's int64 labels are (:func:`_narrowed`;
    # integers past int32 keep JAX's truncation warning), and astype warns in JAX's own words)
    if name in WIDE_DTYPES or (name in WIDE_INTEGERS and _x64_setting(xp) is not False):
        where = device if on is None else device_of(on)
        if not _offers(xp, name, where):
            raise ArrayLibraryError(_lacking(xp, name, where))
    return found


def _numpy_dtype(dtype: Any) -> numpy.dtype:
    """``dtype`` as NumPy's; another library's dtype object by its name (``torch.float32``,
    which NumPy "cannot interpret"), refused naming it where NumPy has none (bfloat16)."""
    try:
        return numpy.dtype(dtype)
    except TypeError:
        if isinstance(dtype, (str, type)):
            raise
        return numpy.dtype(_named(numpy, dtype_name(dtype)))


def _dtype_named(xp: Any, dtype: Any) -> Any:
    """``dtype`` as ``xp``'s, looked up by name, whether or not a device offers it (raises only
    where the library has no dtype of that name)."""
    if xp is numpy or dtype is None:
        return None if dtype is None else numpy.dtype(dtype)
    if isinstance(dtype, (str, type, numpy.dtype)):
        return _named(xp, numpy.dtype(dtype).name)
    return dtype


def _named(xp: Any, name: str) -> Any:
    """Library ``xp``'s dtype called ``name``; refused where it has none."""
    found = getattr(xp, name, None)
    if found is None:  # array-api-strict has no float16 (the standard has none)
        has = ", ".join(_floating_names(xp))
        hint = f"; its floating dtypes: {has}" if has else ""
        raise ArrayLibraryError(f"{_library(xp)} has no dtype {name}{hint}")
    return found


#: The dtypes that a library may have by name and yet not offer: float64 and complex128 on
#: array-api-strict's ``no_float64`` device, on Apple's MPS, and on JAX without x64
WIDE_DTYPES = ("float64", "complex128")
#: The integers that JAX without x64 and array-api-strict's ``no_x64`` device lack too; a
#: device either has int64 or has neither (:func:`_narrowed`)
WIDE_INTEGERS = ("int64", "uint64")
#: What to ask for instead of each
_NARROWER = {
    "float64": "float32",
    "complex128": "complex64",
    "int64": "int32",
    "uint64": "uint32",
}


def _offers(xp: Any, name: str, device: Any) -> bool:
    """Whether library ``xp`` offers dtype ``name`` (one of :data:`WIDE_DTYPES`, or int64) on
    ``device``
    (its default device when None), as the standard's inspection API says; where a library has
    none, or it does not know the device, whether the library has the name at all.

    Asked once per library, device and JAX x64 setting (JAX's inspection takes 0.25 ms, and its
    answer changes when ``jax_enable_x64`` is switched). uint64 goes with int64: PyTorch lists
    no uint64 among its dtypes, and has it."""
    key = (xp, str(device), _x64_setting(xp))
    offered = _offered.get(key)
    if offered is None:
        offered = _offered[key] = _offered_wide(xp, device)
    return ("int64" if name == "uint64" else name) in offered


#: :func:`_offers`' answers: (library, device, JAX x64 setting) -> the wide dtypes offered there
_offered: dict[Any, frozenset[str]] = {}


def _offered_wide(xp: Any, device: Any) -> frozenset[str]:
    named = frozenset(name for name in (*WIDE_DTYPES, "int64") if hasattr(xp, name))
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return named
    try:
        kinds = ("real floating", "complex floating", "signed integer")
        return named & frozenset(info().dtypes(device=device, kind=kinds))
    except (TypeError, ValueError):  # a library whose info does not know the device
        return named


def _x64_setting(xp: Any) -> Any:
    """JAX's ``jax_enable_x64`` for a JAX namespace (it switches float64 on and off at run
    time); None for every other library, whose dtypes depend on the device alone."""
    if not _library(xp).startswith("jax"):
        return None
    import jax

    return bool(jax.config.jax_enable_x64)


def _lacking(xp: Any, name: str, device: Any, fix: str | None = None) -> str:
    """Why ``xp`` cannot hold ``name`` (a wide dtype) on ``device``, and ``fix``, what to do
    instead (by default: use the narrower dtype)."""
    library, narrower = _library(xp), _NARROWER[name]
    fix = f"; use {narrower}" if fix is None else fix
    if _x64_setting(xp) is False:
        return (
            f"{library} has no {name} while jax_enable_x64 is off (JAX would make {narrower} "
            f'instead); run jax.config.update("jax_enable_x64", True) at startup'
            + (", or use " + narrower if fix else "")
        )
    where = "" if device is None else f" on device {device}"
    return f"{library} has no {name}{where}{fix}"


def _floating_names(xp: Any) -> list[str]:
    """The names of the real floating dtypes that library ``xp`` has (float32, float64 ...);
    none known for a library older than the standard's inspection API."""
    info = getattr(xp, "__array_namespace_info__", None)
    return [] if info is None else list(info().dtypes(kind="real floating"))


def default_float(xp: Any, array: Any = None) -> Any:
    """The library's default floating dtype: NumPy's float64, PyTorch's default dtype (float32
    unless set), array-api-strict's float64 (the library's own, as its users expect it)."""
    return numpy.dtype(numpy.float64) if xp is numpy else _default_dtype(xp, array, "real floating")


def as_floating(x: Any) -> Any:
    """``x`` itself when it is a floating (or complex) array, else ``x`` cast once to its
    library's default float (NumPy's float64): the forward of a smooth op (exp, tanh, softmax
    ...) on integers or booleans. NumPy's own ufuncs give float16 for bool, int8 and uint8
    (``tanh(True)`` to 3 digits), a shift by the row's peak wraps an integer dtype (softmax of
    int8 [-100, 100] was NaN), and PyTorch has no ``logaddexp`` for integers at all."""
    if holds_floats(x):
        return x
    if isinstance(x, (numpy.ndarray, numpy.generic)):  # a NumPy scalar too (x.sum() of ints)
        return x.astype(numpy.float64)
    xp = array_module(x)
    return xp.astype(x, default_float(xp, x))


def holds_floats(x: Any) -> bool:
    """Whether the array (or NumPy scalar) ``x`` holds real or complex floats: a NumPy array's
    kind read at once, another library's dtype asked once (the standard's ``isdtype`` is dear
    on some libraries, and a network's every forward asks)."""
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return x.dtype.kind in "fc"
    # keyed by the array's type too: equal hashes of two libraries' dtypes are then never
    # compared (array-api-strict warns of comparing its dtypes with NumPy's)
    key = (type(x), x.dtype)
    floating = _floating_dtypes.get(key)
    if floating is None:
        floating = _floating_dtypes[key] = is_floating(x.dtype, array_module(x))
    return floating


#: :func:`holds_floats`' answers by (array type, dtype), for the libraries other than NumPy
_floating_dtypes: dict[Any, bool] = {}


def default_int(xp: Any, array: Any = None) -> Any:
    """The library's default integer dtype (int64 for NumPy and PyTorch)."""
    return numpy.dtype(numpy.int64) if xp is numpy else _default_dtype(xp, array, "integral")


def _default_dtype(xp: Any, array: Any, kind: str) -> Any:
    """The standard's default dtype of ``kind`` on ``array``'s device (or the default one)."""
    dev = None if array is None else device_of(array)
    return xp.__array_namespace_info__().default_dtypes(device=dev)[kind]


def signed_positions(array: Any) -> Any:
    """Integer positions (index keys, class labels) off NumPy as every library reads them:
    unsigned ones become the library's default integer (PyTorch takes a uint8 key for a mask,
    and has no min or gather for uint16/32/64; int64 made JAX without x64 warn of truncating to
    int32 on every call; NumPy takes any integers, so its arrays are left as they are)."""
    if type(array) is not numpy.ndarray and dtype_name(array.dtype).startswith("uint"):
        return astype(array, default_int(array_module(array), array))
    return array


def astype(array: Any, dtype: Any) -> Any:
    """``array`` in ``dtype`` (no copy when it already is); a dtype that the array's library
    or device lacks is refused as :func:`dtype_in` refuses it."""
    if type(array) is numpy.ndarray:
        return array.astype(dtype, copy=False)
    xp = array_module(array)
    return xp.astype(array, dtype_in(xp, dtype, on=array), copy=False)


def mask(condition: Any, dtype: Any) -> Any:
    """A boolean array ready to multiply an array of ``dtype`` (NumPy multiplies booleans as
    they are; the standard has no arithmetic on booleans)."""
    if type(condition) is numpy.ndarray:
        return condition
    return astype(condition, dtype)


def reshape(array: Any, shape: tuple[int, ...]) -> Any:
    """``array`` in a new shape (a method on NumPy arrays, a function in the standard)."""
    if type(array) is numpy.ndarray:
        return array.reshape(shape)
    return array_module(array).reshape(array, shape)


def bare_array(value: Any) -> Any:
    """A pandas (or polars) Series or DataFrame as the bare NumPy array it converts to (a copy
    of its ``to_numpy()``); anything else as it is. Such a frame is no array library's array (NumPy
    reads it through ``__array__``, a tensor's library not at all, and it has no device), so
    where it meets a tensor (an op's operand, an index, a where's condition, a comparison's
    side, a clip's bound) it is taken as those values, as a model's inputs and a loss's
    targets take it. The array is a fresh one: pandas 3 gives a read-only view, which PyTorch
    warns of sharing."""
    if type(value) is numpy.ndarray:  # the common operand: no look-up
        return value
    library = type(value).__module__.partition(".")[0]
    if library in _FRAME_LIBRARIES and hasattr(value, "to_numpy"):
        return numpy.array(value.to_numpy())
    return value


#: The libraries whose Series and DataFrames :func:`bare_array` takes as their arrays
_FRAME_LIBRARIES = frozenset(("pandas", "polars"))


def missing_entries(given: Any, values: numpy.ndarray) -> numpy.ndarray | None:
    """The positions (rows of indices, as ``numpy.argwhere`` gives them) of the missing values
    in ``given``, which NumPy read as ``values``, or None where none is missing: pandas'
    missing values in a pandas object (``isna``: NA in a nullable column, which NumPy reads
    from an ``Int64`` column as NaN, a float, and NaN), and None or pandas' NA in an object
    array or a list. Anything else, an array of numbers above all, is looked at no further
    than its type and dtype."""
    if type(given).__module__.partition(".")[0] == "pandas" and callable(
        getattr(given, "isna", None)
    ):
        absent = numpy.asarray(given.isna(), dtype=bool)
    elif values.dtype == object:
        absent = numpy.frompyfunc(_is_missing, 1, 1)(values).astype(bool)
    else:
        return None
    return numpy.argwhere(absent) if absent.any() else None


def _is_missing(cell: Any) -> bool:
    """Whether one cell of an object array is a missing value: None or pandas' NA."""
    return cell is None or type(cell).__name__ == "NAType"


def missing_refusal(where: numpy.ndarray, shape: tuple[int, ...], what: str) -> str:
    """The refusal of the missing values at ``where`` (:func:`missing_entries`) in ``what``
    of ``shape``: the cases (their positions), how many of how many, and the fix."""
    cells = [int(row[0]) if len(row) == 1 else tuple(int(i) for i in row) for row in where]
    shown = ", ".join(map(str, cells[:10])) + (", ..." if len(cells) > 10 else "")
    one = len(cells) == 1
    if len(shape) == 1:
        at = "case" if one else "cases"
    else:
        at = "entry (case, column)" if one else "entries (case, column)"
    return (
        f"{what} is missing at {at} {shown} ({len(cells)} of {int(numpy.prod(shape))}): "
        "pandas' NA, NaN or None there; drop those cases or fill them in first"
    )


def asarray_like(
    value: Any,
    like: Any,
    dtype: Any = None,
    op: str | None = None,
    copy: bool = False,
    moves: bool = False,
) -> Any:
    """``value`` as an array of ``like``'s library on ``like``'s device.

    A NumPy array or a list moves to the library (the data behind a loss's targets, a mask);
    an array of a third library is an error naming both. With ``op`` (the op or loss that
    ``value`` is an operand of: a where's condition, a loss's targets, a backward's seed), an
    array of another library is refused for NumPy's ``like`` too, as any op refuses a mix
    (a GPU's labels are not copied to the host without a word), and the error names ``op``.
    An array of ``like``'s library on another device is refused as well, in
    :func:`check_compatible`'s words (the library's ``asarray`` would copy it across without a
    word, where its arithmetic refuses the mix); with ``moves`` it is copied to ``like``'s
    device instead, as PyTorch takes an index key from the CPU for a CUDA tensor
    (``x_cuda[torch.tensor([0, 2])]``). A NumPy array's 64-bit dtype (and a dtype
    asked for by name) is narrowed as :func:`_narrowed` narrows it where the device lacks it:
    int64 labels and positions are int32 on array-api-strict's ``no_x64`` device.

    With ``copy`` the result is always its own array, one that a later write to ``value``
    leaves alone; without it memory is shared where the library can (PyTorch on the CPU and
    array-api-strict wrap a NumPy array they are given, as NumPy itself does).
    """
    xp = array_module(like)
    value = bare_array(value)
    foreign = _is_foreign(value, xp)
    if foreign and not (xp is not numpy and isinstance(value, _NUMPY_TYPES)):
        if op is not None:
            check_compatible(op, [like, value])  # raises, naming the op and both libraries
        if xp is not numpy:
            raise ArrayLibraryError(
                f"an array of {library_name(value)} cannot be combined with one of "
                f"{library_name(like)}; move it first (Module.to(xp=...), cr.tensor(..., xp=...))"
            )
    if xp is numpy:  # numpy.array: NumPy 1's asarray has no copy=
        host = to_numpy(value) if foreign else value
        return numpy.array(host, dtype=dtype, copy=True) if copy else numpy.asarray(host, dtype)
    where = device_of(like)
    if not (foreign or moves) and hasattr(value, "shape") and device_of(value) != where:
        raise _mixing_refusal(op, like, value)  # the library itself, on another device
    if _offers_every_width(xp, where):  # the common case: nothing to narrow
        into = _dtype_named(xp, dtype)
    else:
        into = _dtype_placed(xp, value, dtype, where)
    readable = _without_negative_strides(detached(value))
    fresh = readable is not value  # a reversed view, copied already: no second copy
    return xp.asarray(readable, dtype=into, device=where, copy=True if copy and not fresh else None)


def _dtype_placed(xp: Any, value: Any, dtype: Any, device: Any) -> Any:
    """The dtype that :func:`asarray_like` asks library ``xp`` for: ``dtype`` (by name, or the
    library's own), or for None the library's reading of ``value``; a 64-bit dtype the device
    lacks (a NumPy array's, or one asked for by name) narrowed or refused by :func:`_narrowed`.
    Asked only where :func:`_offers_every_width` says the device lacks one."""
    named = isinstance(dtype, (str, type, numpy.dtype))
    if dtype is None and not isinstance(value, (numpy.ndarray, numpy.generic)):
        return None  # a list, a number, the library's own array: as the library reads it
    if dtype is not None and not named:
        return dtype  # the library's own dtype, as the caller found it
    name = numpy.dtype(dtype).name if named else value.dtype.name
    fix = (
        "and the values are {name}; make them {narrower} first "
        "(numpy.asarray(values, numpy.{narrower}))"
    )
    host = value if isinstance(value, _NUMPY_TYPES) else None
    return _narrowed(xp, name, device, fix, host) or _dtype_named(xp, dtype)


def _offers_every_width(xp: Any, device: Any) -> bool:
    """Whether library ``xp`` offers every 64-bit dtype (:data:`_NARROWER`'s) on ``device``, so
    that :func:`_narrowed` narrows nothing there (PyTorch, CuPy): asked once per library and
    device, since asking :func:`_narrowed` at every move (a NumPy dtype's ``.name`` alone takes
    microseconds) tripled :func:`asarray_like`'s cost. Never for JAX, whose ``jax_enable_x64``
    switches at run time."""
    try:
        key = (xp, device)
        every = _every_width.get(key)
    except TypeError:  # a device that cannot be hashed: by its name, as _offers keys it
        key = (xp, str(device))
        every = _every_width.get(key)
    if every is None:
        every = _x64_setting(xp) is None and all(_offers(xp, n, device) for n in _NARROWER)
        _every_width[key] = every
    return every


#: :func:`_offers_every_width`'s answers: (library, device) -> whether it offers every width
_every_width: dict[Any, bool] = {}


#: What joins another library's array as an op's operand: NumPy's arrays, Python's lists (and
#: tuples, which NumPy reads as lists)
JOINING_TYPES = (numpy.ndarray, list, tuple)


def operand_like(value: Any, like: Any) -> Any:
    """A NumPy array or a list (an op's operand beside ``like``, an array of a library other
    than NumPy) as an array of ``like``'s library, on its device.

    Its dtype follows NumPy's reading of it, and the Python numbers' rule beside a floating
    ``like``: a list of numbers, and integers or booleans of any kind, take ``like``'s dtype
    (float32 stays float32, as ``x * 2.0`` keeps it; array-api-strict mixes no integers with
    floats); a NumPy float array keeps its own (float32 beside float64 gives float64, as on
    NumPy).
    """
    host = as_host_array(value)
    xp = array_module(like)
    kind = host.dtype.kind
    if kind not in "biuf":  # strings, objects: the library's own error named none of them
        raise TypeError(
            f"a tensor holds numbers; an operand of {host.dtype} ({value!r:.40}) cannot join "
            f"a tensor of {library_name(like)}"
        )
    weak = kind in "biu" or (kind == "f" and not isinstance(value, numpy.ndarray))
    dtype = like.dtype if weak and is_real_floating(like.dtype, xp) else None
    device = device_of(like)
    if dtype is None:
        fix = (
            "and an operand is a {name} NumPy array; make it {narrower} first "
            "(numpy.asarray(value, numpy.{narrower}))"
        )
        dtype = _narrowed(xp, host.dtype.name, device, fix, host)
    return xp.asarray(_without_negative_strides(host), dtype=dtype, device=device)


def as_host_array(value: Any) -> numpy.ndarray:
    """``numpy.asarray(value)``; a torch tensor that requires grad inside a list is refused
    as :func:`detached` refuses it (NumPy raised torch's own words about ``numpy()``), and a
    masked array with entries masked as :func:`check_unmasked` refuses it, in a list too
    (:func:`check_unmasked_within`)."""
    check_unmasked(value)
    try:
        host = numpy.asarray(value)
    except RuntimeError:
        detached_within(value)
        raise
    check_unmasked_within(value, host)
    return host


def list_operand(value: list | tuple, like: Any) -> Any:
    """A list or tuple (an op's operand beside the array ``like``) as an array, its numbers
    weak as a Python number's are, on every library: beside a floating ``like`` they take
    its dtype, so ``x32 * [1, 2]`` stays float32 as ``x32 * 2`` does (NumPy reads the list as
    int64 or float64, which upcast it), and complex numbers its precision (``x32 * [1j, 2]`` is
    complex64, as ``x32 * 1j`` is). Other contents keep NumPy's reading (strings, which the
    tensor refuses)."""
    if array_module(like) is not numpy:
        return operand_like(value, like)
    host = as_host_array(value)
    if like.dtype.kind in "fc" and host.dtype.kind in "biufc":
        # complex numbers take like's precision too, as a Python complex does (x32 * 1j)
        weak = numpy.result_type(like.dtype, 1j) if host.dtype.kind == "c" else like.dtype
        return host.astype(weak, copy=False)
    return host


def number_out_of_range(value: int, like: Any, op: str | None = None) -> str:
    """Why the Python number ``value`` cannot join the array ``like`` in ``op``, and the fix.

    A Python number takes the tensor's dtype, on every library (NumPy's rule, and the standard's:
    ``x8 * 2`` stays int8), so one that the dtype cannot hold is refused, in each library's own
    words ("Python integer 1099511627776 out of bounds for int32") that name neither the op nor a
    way out. The fix is a wider tensor: int64 where the number fits it and the library has it,
    else a float (JAX without x64 has no int64: switching x64 on gives it)."""
    xp = array_module(like)
    library, name = _library(xp), dtype_name(like.dtype)
    if is_floating(like.dtype, xp):  # only a number beyond every float gets here
        fix = "no float dtype holds it either"
    else:
        floats = dtype_name(default_float(xp, like))
        wider = "int64" if -(2**63) <= value < 2**63 else floats
        fix = f"cast the tensor first, e.g. x.astype('{wider}')"
        if wider == "int64" and _x64_setting(xp) is False:
            fix = (
                f"{library} has no int64 while jax_enable_x64 is off: run "
                'jax.config.update("jax_enable_x64", True) at startup and cast the tensor '
                f"(x.astype('int64')), or cast it to a float dtype first (x.astype('{floats}'))"
            )
    digits = str(value)
    shown = digits if len(digits) <= 40 else f"{digits[:12]}... ({len(digits)} digits)"
    return (
        f"{op + ': ' if op else ''}the Python number {shown} is out of the range of the {name} "
        f"tensor it meets ({library} keeps the tensor's dtype for a Python number); {fix}"
    )


def number_beyond(value: Any, like: Any) -> int:
    """Where the integer ``value`` lies against every value the integer or boolean array
    ``like`` can hold: 1 above them all, -1 below them all, 0 among them (or no integer, or
    an array of floats).

    Such a number stands on one side of every element, so a comparison with it has one answer,
    by value, as NumPy 2 gives it (``int8_x < 1000`` is all True); and a ``clip`` bound beyond
    them clips nothing on that side (``np.clip(int8_x, 0, 1000)`` is ``int8_x``)."""
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, (bool, numpy.bool_)):
        return 0
    limits = value_limits(like)
    if limits is None:
        return 0
    value = int(value)
    return 1 if value > limits[1] else -1 if value < limits[0] else 0


def value_limits(like: Any) -> tuple[int, int] | None:
    """The least and greatest values of the integer or boolean array ``like``'s dtype (0 and
    1 for booleans, as beside a number), or None for floats; asked once per dtype (a clip
    with integer bounds asks each call, and ``numpy.iinfo`` took microseconds)."""
    key = (type(like), like.dtype)  # the array's type too, as for _floating_dtypes
    limits = _value_limits.get(key, False)
    if limits is False:
        name = dtype_name(like.dtype)
        if name == "bool":
            limits = (0, 1)
        elif is_integer(like.dtype, array_module(like)):
            info = numpy.iinfo(name)
            limits = (int(info.min), int(info.max))
        else:
            limits = None
        _value_limits[key] = limits
    return limits


#: :func:`value_limits`' answers by (array type, dtype)
_value_limits: dict[Any, tuple[int, int] | None] = {}


def _is_foreign(value: Any, xp: Any) -> bool:
    return hasattr(value, "shape") and array_module(value) is not xp


def library_name(array: Any) -> str:
    """'torch on cpu', 'numpy': the library and device of an array, for error messages."""
    xp = array_module(array)
    name = _library(xp, type(array).__module__)
    where = device_of(array)
    return name if xp is numpy else f"{name} on {where}"


def _library(xp: Any, fallback: str = "the array library") -> str:
    """'torch', 'array_api_strict': a namespace's library by name, for error messages."""
    return getattr(xp, "__name__", fallback).replace("array_api_compat.", "")


def check_compatible(op: str, arrays: Any) -> None:
    """Raise :class:`ArrayLibraryError` naming both when ``arrays`` mix libraries or devices."""
    arrays = list(arrays)
    first = arrays[0]
    xp, where = array_module(first), device_of(first)
    for other in arrays[1:]:
        if array_module(other) is not xp or device_of(other) != where:
            raise _mixing_refusal(op, first, other)


def _mixing_refusal(op: str | None, first: Any, other: Any) -> ArrayLibraryError:
    """The refusal of arrays ``first`` and ``other`` of two libraries or devices met in ``op``
    (None: an op unnamed), naming both."""
    libraries = (library_name(first), library_name(other))
    return ArrayLibraryError(
        f"{op + ': ' if op else ''}an operand of {libraries[0]} and one of {libraries[1]} "
        "cannot be combined; move them to one library and device first (Module.to(xp=..., "
        "device=...), cr.tensor(..., xp=..., device=...))",
        libraries,
    )


#: torch's floating dtypes that NumPy has too (``Tensor.numpy()`` refuses the others)
_NUMPY_FLOATS_IN_TORCH = frozenset({"torch.float16", "torch.float32", "torch.float64"})


def to_numpy(array: Any) -> numpy.ndarray:
    """A NumPy copy-or-view of any array (for printing, saving, plotting): the host's copy."""
    if isinstance(array, numpy.ndarray):
        return array
    if isinstance(array, _NUMPY_TYPES) or not hasattr(array, "shape"):
        return numpy.asarray(array)
    get = getattr(array, "get", None)  # CuPy's device-to-host copy
    if callable(get) and type(array).__module__.startswith("cupy"):
        return numpy.asarray(get())
    cpu = getattr(array, "cpu", None)  # a torch tensor: detach from torch's own graph, to host
    if callable(cpu) and hasattr(array, "detach"):
        host = array.detach().cpu()
        if host.is_floating_point() and str(host.dtype) not in _NUMPY_FLOATS_IN_TORCH:
            host = host.float()  # bfloat16, float8: NumPy has none; float32 holds each exactly
        return host.numpy()
    try:
        return numpy.from_dlpack(array)
    except (TypeError, RuntimeError, BufferError, ValueError, AttributeError):
        return numpy.asarray(array)  # no DLPack (a chainrule Tensor): its own __array__


def has_float64(array: Any) -> bool:
    """Whether ``array``'s library offers float64 on ``array``'s device (NumPy always does;
    array-api-strict's ``no_float64`` device and Apple's MPS do not)."""
    xp = array_module(array)
    return xp is numpy or _offers(xp, "float64", device_of(array))


def unit_vector(like: Any, flat: int, dtype: Any = None) -> Any:
    """Zeros shaped like ``like`` with a 1 at flat position ``flat``: a basis vector, in
    ``like``'s library and on its device (made on the host and copied: one small array)."""
    host = numpy.zeros(size(like))
    host[flat] = 1.0
    return asarray_like(host.reshape(tuple(like.shape)), like, dtype=dtype or like.dtype)


def supports_out(array: Any) -> bool:
    """Whether ``array``'s library updates it in place with ``out=`` and ``+=`` (NumPy, PyTorch
    and CuPy do, through array-api-compat too; JAX's arrays are immutable and the standard has
    no ``out=``), so an optimizer can reuse its buffers instead of making new arrays."""
    if type(array) is numpy.ndarray:
        return True
    kind = type(array)
    known = _SUPPORTS_OUT.get(kind)
    if known is None:
        module = kind.__module__
        known = _SUPPORTS_OUT[kind] = module.startswith(("torch", "cupy"))
    return known and not getattr(array, "requires_grad", False)  # torch forbids it on leaves


_SUPPORTS_OUT: dict[type, bool] = {}


def memory_owner(array: Any) -> Any:
    """The array whose memory ``array`` views (NumPy's and CuPy's ``base``, PyTorch's
    ``_base``, the owner of the NumPy array an array-api-strict array wraps), or ``array``
    itself where it owns its memory: a write through any view of an array changes what every
    other view of it reads."""
    if type(array) is numpy.ndarray:  # first: an optimizer's step asks once per parameter
        base = array.base
        return array if base is None else base
    wrapped = getattr(array, "_array", None)
    if type(wrapped) is numpy.ndarray:
        return memory_owner(wrapped)
    base = getattr(array, "base", None)
    if base is None:
        base = getattr(array, "_base", None)
    return array if base is None else base


def write(holder: Any, new: Any) -> None:
    """Make ``holder.data`` hold ``new``'s values: in place where the library allows it (whoever
    shares the array sees the change), else by replacing the array (JAX's are immutable)."""
    current = holder.data
    if type(current) is numpy.ndarray:
        current[...] = new
        return
    if _MUTABLE.get(type(current), True):
        try:
            current[...] = new
            return
        except (TypeError, ValueError, NotImplementedError):
            # only an array like it refused says the library has no in-place writes (JAX);
            # array-api-strict refuses a float64 array into a float32 one, and writes otherwise
            if getattr(new, "dtype", None) == current.dtype and tuple(
                getattr(new, "shape", ())
            ) == tuple(current.shape):
                _MUTABLE[type(current)] = False
    holder.data = new


_MUTABLE: dict[type, bool] = {}


def scatter_add(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index``: a repeated integer index adds each copy.

    The standard has no scatter-add, and array-api-extra's ``at().add`` does not accumulate
    repeats on NumPy: each library's own accumulating form, and for the rest the flat position
    of every element ``index`` picks, read as :func:`index_array` reads the key (so a key the
    library refuses, a mask beside a slice on array-api-strict, lands where the forward read),
    summed per position by :func:`_summed_at`. A key NumPy refuses is refused on every library,
    in NumPy's words (:func:`check_as_numpy`).
    """
    xp = array_module(g)
    module = type(g).__module__
    if _moves_out_of_bounds(g):  # JAX's at[].add drops an update out of bounds: refuse it
        check_as_numpy(tuple(shape), index)
    if not _has_integer_arrays(index, xp):
        if xp is numpy:
            result = numpy.zeros(shape, dtype=g.dtype)
            result[index] = g
            return result
        if module.startswith("jax"):  # immutable: a functional write
            return _zeros(xp, shape, g).at[index].set(g)
        result = _zeros(xp, shape, g)
        try:
            kept, values = _without_new_axes(xp, result, index, g)
            result[kept] = values
            return result
        except (IndexError, ValueError):  # refused by the library (array-api-strict misreads a
            # 2-d mask of a 0-size array as of another shape): written where the forward read
            pass
    elif xp is numpy:
        result = numpy.zeros(shape, dtype=g.dtype)
        numpy.add.at(result, index, g)
        return result
    elif module.startswith("cupy"):
        import cupyx

        result = _zeros(xp, shape, g)
        cupyx.scatter_add(result, index, g)
        return result
    elif module.startswith("jax"):
        return _zeros(xp, shape, g).at[index].add(g)
    count = math.prod(shape)
    positions = index_array(xp.reshape(xp.arange(count, device=device_of(g)), shape), index)
    positions, values = xp.reshape(positions, (-1,)), xp.reshape(g, (-1,))
    if module.startswith("torch"):
        flat = _zeros(xp, (count,), g)
        flat.index_add_(0, positions, values)
        return xp.reshape(flat, shape)
    return xp.reshape(_summed_at(xp, positions, values, count), shape)


def _summed_at(xp: Any, positions: Any, values: Any, count: int) -> Any:
    """Zeros of length ``count`` with each of ``values`` added at its entry of ``positions``,
    in the standard's own ops, in memory of the order of ``count`` plus the values' length (a
    comparison of every value with every position took both sizes' product: 745 GiB for the
    rows of a 2000x2000 array).

    The values are sorted by position, so each position's copies form a run; a run's total
    gathers at its last copy (:func:`_run_totals`); each position then finds its run's last
    copy by ``searchsorted``, behind a sentinel copy at position -1 that no position matches."""
    device = device_of(values)
    if positions.shape[0] == 0:
        return _zeros(xp, (count,), values)
    order = xp.argsort(positions, stable=True)
    positions, values = xp.take(positions, order), xp.take(values, order)
    totals = _run_totals(xp, positions, values)
    sentinel = xp.full((1,), -1, dtype=positions.dtype, device=device)
    positions = xp.concat([sentinel, positions])
    totals = xp.concat([_zeros(xp, (1,), totals), totals])
    targets = xp.arange(count, dtype=positions.dtype, device=device)
    last = xp.searchsorted(positions, targets, side="right") - 1
    # selected, not multiplied by a 0/1 mask: inf * 0 would put NaN at positions never picked
    hit = xp.take(positions, last) == targets
    return xp.where(hit, xp.take(totals, last), _zeros(xp, (), totals))


def _run_totals(xp: Any, positions: Any, values: Any) -> Any:
    """``values``, sorted by ``positions``, with each run of equal positions summed into its
    last copy: a segmented prefix sum in doubling steps (step ``d`` adds the partial sum ``d``
    back where it is of the same run), one step per doubling of the longest run. A running sum
    over all values and its differences would take less work, but one inf would leave NaN at
    every later position; here a value only ever meets its own position's copies."""
    zero = _zeros(xp, (), values)
    step = 1
    while step < positions.shape[0]:
        same = positions[step:] == positions[:-step]
        if not bool(xp.any(same)):  # every run is shorter than step: all are summed
            break
        carried = xp.where(same, values[:-step], zero)
        values = xp.concat([values[:step], values[step:] + carried])
        step *= 2
    return values


def index_array(array: Any, index: Any) -> Any:
    """``array[index]``, with ``index`` read as NumPy reads it on every library.

    Where a library refuses a key that NumPy takes (the standard asks for integer arrays on
    every axis or on none: array-api-strict refuses ``x[rows]``, ``x[1:, cols]`` and, on a 3-d
    ``x``, ``x[rows, 2]``), NumPy finds the flat position of every element the key picks
    (:func:`_flat_positions`) and the library's ``take`` gathers them from the flattened array:
    a key NumPy refuses too is refused in NumPy's words, naming the axis at fault. Only such a
    library pays for reading the key's arrays on the host; NumPy, PyTorch, CuPy and JAX index
    with the key as it is, but for a key whose arrays PyTorch places apart from NumPy
    (:func:`_apart_on_numpy_only`). Each refuses what NumPy refuses (:func:`check_as_numpy`):
    a library that moves an out-of-bounds position (JAX clamps, CuPy wraps) has every key with
    integers checked first; the others refuse one for themselves, but for an empty result,
    which reads no element, so only that is checked after. A key that is no index at all (a
    float, a string) is NumPy's IndexError on every library too, where JAX and PyTorch raised
    TypeErrors of their own."""
    if type(array) is numpy.ndarray:
        return array[index]
    if _apart_on_numpy_only(array, index):
        result = _taken(array, index)
    else:
        if _moves_out_of_bounds(array):
            check_as_numpy(tuple(array.shape), index)
        try:
            result = array[index]
        except IndexError:
            result = _taken(array, index)
        except TypeError:  # NumPy's refusal where NumPy refuses the key; else the library's
            check_as_numpy(tuple(array.shape), index)
            raise
    if size(result) == 0:  # no element read: no position checked, by NumPy's reading either
        check_as_numpy(tuple(array.shape), index)
    return result


def _moves_out_of_bounds(array: Any) -> bool:
    """Whether ``array``'s library reads an out-of-bounds integer array as another position
    (JAX clamps it, CuPy wraps it) where NumPy refuses it: a wrong number, silently. PyTorch
    refuses one (on a GPU by a device-side assert) and array-api-strict is NumPy's check."""
    return type(array).__module__.startswith(("jax", "cupy"))


def _taken(array: Any, index: Any) -> Any:
    """``array[index]`` as NumPy reads the key: the library's ``take`` at its flat positions."""
    positions = asarray_like(_flat_positions(tuple(array.shape), index), array)
    xp = array_module(array)
    picked = xp.take(xp.reshape(array, (-1,)), xp.reshape(positions, (-1,)), axis=0)
    return xp.reshape(picked, tuple(positions.shape))


def _apart_on_numpy_only(array: Any, index: Any) -> bool:
    """True for a PyTorch ``array`` and a key in which an Ellipsis that covers no axis is all
    that stands between two arrays: NumPy reads them as apart and puts their axes first,
    PyTorch as together, where they stand (``x[1:, rows, ..., cols]`` of a 3-d ``x`` was
    (2, 3) for NumPy's (3, 2), and square results came transposed)."""
    if not type(array).__module__.startswith("torch") or not isinstance(index, tuple):
        return False
    arrays = [k for k, item in enumerate(index) if hasattr(item, "shape")]
    if len(arrays) < 2:
        return False
    between = index[arrays[0] : arrays[-1] + 1]
    if not any(item is Ellipsis for item in between):
        return False
    named = sum(
        item.ndim if getattr(item, "dtype", None) == array_module(array).bool else 1
        for item in index
        if item is not None and item is not Ellipsis
    )
    return named == array.ndim and all(
        hasattr(item, "shape") or item is Ellipsis for item in between
    )


def check_as_numpy(shape: tuple[int, ...], index: Any) -> None:
    """NumPy's IndexError, in its words, for a key NumPy refuses on an array of ``shape``: an
    integer out of bounds, a boolean mask of another shape, an item that is no index (a float,
    which JAX refused with a TypeError of its own). A library may take such a key:
    PyTorch and array-api-strict read no element of an empty result, so ``x[..., [], -3]`` of
    a (3, 4, 2) ``x`` was (3, 0); JAX clamps integer arrays (``x[[3]]`` was ``x[[2]]``, and
    on a 0-size array a ShapeError); CuPy wraps them; PyTorch on a GPU stops the device.

    NumPy reads a stand-in of the key on a zero-strided array (no copy of ``shape``'s size):
    each non-empty integer array as its least and then its greatest element (two 0-d keys, which
    NumPy bounds-checks as it checks every element), an empty one and a mask by their shape
    alone. A stand-in broadcasts wherever the key does, so it refuses nothing that NumPy takes;
    reading the extremes costs one transfer to the host per integer array."""
    items = index if isinstance(index, tuple) else (index,)
    if all(item is None or item is Ellipsis or isinstance(item, slice) for item in items):
        return  # slices, None and Ellipsis: never out of bounds (any other item is read: a float)
    lows, highs = zip(*(_extremes(item) for item in items))
    stand_in = _zero_strided(tuple(shape))
    stand_in[lows]
    if any(high is not low for low, high in zip(lows, highs)):
        stand_in[highs]


@functools.lru_cache(maxsize=64)
def _zero_strided(shape: tuple[int, ...]) -> numpy.ndarray:
    """A read-only array of ``shape`` in one byte of memory, made once per shape (making it
    was a tenth of :func:`check_as_numpy`'s time)."""
    return numpy.broadcast_to(numpy.int8(0), shape)


def _extremes(item: Any) -> tuple[Any, Any]:
    """The least and greatest element of a non-empty integer array, as NumPy 0-d arrays; a mask
    as one of its shape with at most one True (which broadcasts as any count does, or as 0 where
    it is empty); anything else twice, as NumPy reads it."""
    if not hasattr(item, "shape"):
        return item, item
    name = dtype_name(item.dtype)
    if name == "bool":
        stand_in = numpy.zeros(tuple(item.shape), dtype=bool)
        stand_in.reshape(-1)[:1] = True
        return stand_in, stand_in
    if not name.startswith(("int", "uint")):
        item = to_numpy(item)  # refused by NumPy: neither positions nor a mask
        return item, item
    if size(item) == 0:
        empty = numpy.zeros(tuple(item.shape), dtype=numpy.int64)
        return empty, empty
    xp = array_module(item)
    low, high = to_numpy(xp.stack([xp.min(item), xp.max(item)]))
    return low, high


def _flat_positions(shape: tuple[int, ...], index: Any) -> numpy.ndarray:
    """The flat (C-order) position, in an array of ``shape``, of every element that ``index``
    picks, in the shape NumPy's ``x[index]`` has; NumPy's IndexError where it does not fit.

    Each axis's coordinates are a broadcast view (no copy of the whole array's size), picked
    by the key and weighted by that axis's stride in elements."""
    items = index if isinstance(index, tuple) else (index,)
    key = tuple(to_numpy(item) if hasattr(item, "shape") else item for item in items)
    positions = numpy.broadcast_to(numpy.int64(0), shape)[key]  # zeros of the result's shape
    stride = 1
    for axis in reversed(range(len(shape))):
        along = numpy.arange(shape[axis], dtype=numpy.int64).reshape(
            (-1,) + (1,) * (len(shape) - axis - 1)
        )
        positions = positions + numpy.broadcast_to(along, shape)[key] * stride
        stride *= shape[axis]
    return positions


def _zeros(xp: Any, shape: tuple[int, ...], like: Any) -> Any:
    return xp.zeros(shape, dtype=like.dtype, device=device_of(like))


def _without_new_axes(xp: Any, result: Any, index: Any, g: Any) -> tuple[Any, Any]:
    """``index`` without its ``None`` entries, and ``g`` without the size-1 axes they made: the
    standard allows ``None`` when reading (``x[None]``) but not in a key that is written to
    (array-api-strict refuses it), and the write lands on the same elements."""
    items = index if isinstance(index, tuple) else (index,)
    if not any(item is None for item in items):
        return index, g
    kept = tuple(item for item in items if item is not None)
    return kept, xp.reshape(g, result[kept].shape)


def _has_integer_arrays(index: Any, xp: Any) -> bool:
    """True when the index holds integer arrays, which may name an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return any(hasattr(item, "dtype") and is_integer(item.dtype, xp) for item in items)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 256 * 2**20


def limit_blas_threads(threads: int) -> Any:
    """Limit the BLAS NumPy computes with to ``threads`` threads for this whole process, where
    several computations would otherwise fight for the cores (MPI ranks sharing a machine,
    ``chainrule serve``'s requests running on worker threads at once). Returns threadpoolctl's
    limiter (its ``restore_original_limits()`` undoes it), or None where threadpoolctl is not
    installed (the ``[app]`` and ``[mpi]`` extras bring it): then nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=int(threads), user_api="blas")


#: chainrule's environment variables a user sets and the values each takes (None: a whole
#: number >= 0). CHAINRULE_AXPY=numpy: plain SGD updates with NumPy instead of BLAS's axpy (its
#: last bit differs); CHAINRULE_MALLOC=system: leave glibc's allocator alone
#: (:func:`keep_freed_memory`); CHAINRULE_BLAS_THREADS: each MPI rank's BLAS threads
#: (``chainrule.distributed``); CHAINRULE_MPI: whether a launcher started a parallel run
#: (``chainrule.launcher.launched_size``). (``CHAINRULE_RANK_PROCESS`` is chainrule's own mark
#: on a process a rank started, set by chainrule, not a setting.)
SETTINGS: dict[str, tuple[str, ...] | None] = {
    "CHAINRULE_AXPY": ("numpy",),
    "CHAINRULE_BLAS_THREADS": None,
    "CHAINRULE_MALLOC": ("system",),
    "CHAINRULE_MPI": ("0", "no", "off", "false", "1", "yes", "on", "true"),
}


_warned_settings: set[tuple[str, str]] = set()


def check_settings(environ: Any = None) -> None:
    """Warn (a :class:`~chainrule.errors.SettingWarning`) of each variable of :data:`SETTINGS`
    set in ``environ`` (``os.environ``) to a value it does not take, and of a ``CHAINRULE_*``
    variable whose name is a near miss of one (``CHAINRULE_AXYP``): either has no effect
    (``CHAINRULE_AXPY=nmupy`` trained with axpy, silently, while run.json recorded it as
    given). Other ``CHAINRULE_*`` names (a test harness's own) are left alone. Where a run
    starts: the CLI's commands and ``fit``; each variable's value is warned of once a process."""
    import difflib
    import warnings

    from chainrule.errors import SettingWarning

    environ = os.environ if environ is None else environ
    for name, value in sorted(environ.items()):
        if not name.startswith("CHAINRULE_") or (name, value) in _warned_settings:
            continue
        _warned_settings.add((name, value))
        if name not in SETTINGS:
            near = difflib.get_close_matches(name, SETTINGS, n=1, cutoff=0.85)
            if near:
                warnings.warn(f"{name} is no setting of chainrule's (did you mean {near[0]}?): "
                              "it has no effect", SettingWarning, stacklevel=2)  # fmt: skip
            continue
        takes = SETTINGS[name]
        # as each is read: a number or a switch stripped, a word as it is, in any case
        if takes is None:
            taken = value.strip().isdigit()
        else:
            taken = (value.strip() if name == "CHAINRULE_MPI" else value).lower() in takes
        if not value or taken:
            continue
        wanted = "a whole number" if takes is None else " or ".join(takes)
        warnings.warn(f"{name}={value!r} has no effect: it takes {wanted} (or no value)",
                      SettingWarning, stacklevel=2)  # fmt: skip


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system at once.

    A training step allocates and frees the same large arrays every time (a layer's
    pre-activations, its gradients). By default glibc hands big freed blocks back to the kernel,
    so the next step page-faults them in again: about a fifth of a step for a 512-unit network.
    Taking arrays under 256 MiB from the heap, and returning its free top to the system only
    past 256 MiB, removes that cost, as PyTorch's caching allocator does. The bound is on the
    heap's free top: blocks freed below a live one stay in the heap, as glibc keeps any, so a
    process can hold more than 256 MiB it does not use (336 MiB, with 0.6 MiB live, in one
    long run). It is a process-wide setting, so importing chainrule does not make it: the
    ``chainrule`` command and :meth:`chainrule.train.Trainer.fit` call this, and a program with
    its own training loop may too. Set ``CHAINRULE_MALLOC=system`` to leave the allocator alone.
    Returns whether the setting was applied (glibc only).
    """
    if os.environ.get("CHAINRULE_MALLOC", "").lower() == "system" or not sys.platform.startswith(
        "linux"
    ):
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) and mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))


@functools.cache
def _mallopt() -> Any:
    """glibc's ``mallopt``, looked up once (a ctypes library per call left reference cycles for
    the collector every fit), or None where the C library has none (musl, for one)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running process's C library: no search
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt


#: NumPy dtypes whose matrix products run in BLAS (float16's have a loop of NumPy's own): a sum
#: over cases written as a product with a vector of ones is faster there than NumPy's reduction
BLAS_FLOATS = frozenset((numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)))


#: The longest vector :func:`shared_vector` keeps for reuse: 32 of them hold at most 16 MiB of
#: 8-byte numbers; a longer one is made per call, where its cost is lost in the work
SHARED_LENGTH = 1 << 16


def shared_vector(make: Any, length: int, *args: Any) -> numpy.ndarray:
    """``make(length, *args)``, a NumPy vector, read-only: made once per arguments and shared
    while it has at most :data:`SHARED_LENGTH` elements (a huge batch's would otherwise stay in
    memory for the process's life). A step needs the same few constants every time (the ones a
    sum over cases is multiplied by, the label rows' starts), and making one is a Python
    function and C calls, run at the cold caches right after a matrix product."""
    if length <= SHARED_LENGTH:
        return _kept_vector(make, length, *args)
    return _read_only(make(length, *args))


def _read_only(vector: numpy.ndarray) -> numpy.ndarray:
    vector.flags.writeable = False
    return vector


@functools.lru_cache(maxsize=32)
def _kept_vector(make: Any, length: int, *args: Any) -> numpy.ndarray:
    return _read_only(make(length, *args))


# ---------------------------------------------------------------------------------------------
# The sum over cases (axis 0) of a NumPy batch
# ---------------------------------------------------------------------------------------------

#: From this many rows on, :func:`sum_rows` sums blocks of rows and then their partial sums. One
#: pass adds the rows one at a time, so its rounding error grows with their number (about 5e-6
#: relative in float32 at 60,000 rows); a layer's batch (tens to hundreds) keeps the one pass.
BLOCKED_ROWS = 4096
#: How many rows each partial sum adds: the error grows with this times the levels of partial
#: sums (log base ROW_BLOCK of the rows), as a cascade sum's does, not with the rows
ROW_BLOCK = 64


def sum_rows(g: numpy.ndarray) -> numpy.ndarray:
    """The sum over axis 0 of a 2-d NumPy array ``g`` (cases, n), in ``g``'s dtype.

    For float32 and float64 one pass is the product ones @ g, a BLAS matrix-vector product:
    2-2.5x faster than NumPy's sum over axis 0 on a layer's batch; other dtypes (float16, whose
    product has no BLAS loop) take that sum. Both add the rows in order, so from
    :data:`BLOCKED_ROWS` rows on the rows are summed in blocks (:func:`_blocked_sum_rows`): at
    60,000 float32 rows about 1e-7 relative error instead of 5e-6, in no more time.
    """
    rows = g.shape[0]
    if rows >= BLOCKED_ROWS:
        return _many_rows(g)
    if g.dtype in BLAS_FLOATS:
        return shared_vector(numpy.ones, rows, g.dtype) @ g
    return host_sum(g, 0)


def _added_in_float32(dtype: numpy.dtype) -> bool:
    """Whether a NumPy array of ``dtype`` is summed in float32 and rounded back once: a float
    narrower than float32 (:func:`narrow_float`: float16, and ml_dtypes' bfloat16 and float8s,
    whose kind NumPy calls "V"). Tested by value, by the item's size first (a float32 or
    float64 array pays one comparison): an unpickled float16 array's dtype is equal to
    NumPy's float16 but not the same object."""
    return dtype.itemsize < 4 and narrow_float(dtype)


def host_sum(x: numpy.ndarray, axis: Any, keepdims: bool = False) -> numpy.ndarray:
    """``x.sum(axis, keepdims=keepdims)`` of a NumPy array, a float narrower than float32 added
    in float32 and rounded once (:func:`_added_in_float32`), as PyTorch adds it: NumPy adds the
    rows of axis 0 one at a time in float16, so 1,024 rows of 0.1 came out 108.2 (torch: 102.4)
    and 4,095 of them 256 (bfloat16's 4,096 ones: 256). Any other dtype is NumPy's sum, bit for
    bit."""
    if _added_in_float32(x.dtype):
        return x.sum(axis=axis, keepdims=keepdims, dtype=numpy.float32).astype(x.dtype)
    return x.sum(axis=axis, keepdims=keepdims)


def _many_rows(g: numpy.ndarray) -> numpy.ndarray:
    """:func:`sum_rows` of :data:`BLOCKED_ROWS` rows or more, by layout. A broadcast ``g`` (every
    row the same: the seed of a mean) is its row times the rows, in float64 (added one at a
    time, float32 stalled at 2^24: a mean's bias gradient 0.915 for 0.5 at 10 million rows);
    a C-ordered one is summed in blocks; a Fortran-ordered one by NumPy, which adds its rows
    pairwise; any other is copied to C order first (the copy costs time, which accuracy is
    worth here)."""
    narrow = _added_in_float32(g.dtype)
    if g.dtype.kind not in "fc" and not narrow:  # integers, booleans: NumPy's sum, exact
        return g.sum(axis=0)
    if g.strides[0] == 0:
        wide = numpy.float64 if narrow else numpy.promote_types(g.dtype, numpy.float64)
        return numpy.multiply(g[0], g.shape[0], dtype=wide).astype(g.dtype, copy=False)
    if narrow:  # in float32 (blocked too), rounded once: see host_sum
        return _many_rows(g.astype(numpy.float32)).astype(g.dtype)
    if g.flags.f_contiguous and not g.flags.c_contiguous:
        return g.sum(axis=0)
    return _blocked_sum_rows(numpy.ascontiguousarray(g))


def _blocked_sum_rows(g: numpy.ndarray) -> numpy.ndarray:
    """:func:`sum_rows` as partial sums of :data:`ROW_BLOCK` rows each, summed the same way.

    The first ``blocks * ROW_BLOCK`` rows, reshaped to ROW_BLOCK rows of ``blocks * n`` numbers
    (a view where ``g`` is C-ordered; another order is copied), are ROW_BLOCK rows of
    ``blocks`` partial sums side by side: one matrix-vector product over the whole array makes
    every partial sum (of rows k, k + blocks, k + 2 blocks, ...: which rows share one does not
    change its error). Fewer, longer calls than a product per block, and faster than one pass.
    """
    rows, n = g.shape
    blocks, tail = divmod(rows, ROW_BLOCK)
    whole = rows - tail
    partials = sum_rows(g[:whole].reshape(ROW_BLOCK, blocks * n)).reshape(blocks, n)
    total = _blocked_sum_rows(partials) if blocks >= 2 * ROW_BLOCK else sum_rows(partials)
    return total + sum_rows(g[whole:]) if tail else total


# ---------------------------------------------------------------------------------------------
# y += alpha * x in one pass: BLAS axpy, from the OpenBLAS that NumPy itself links
# ---------------------------------------------------------------------------------------------

#: Below this many elements NumPy's two passes cost less than the foreign call (about 3 us).
_AXPY_MIN_SIZE = 1 << 16
#: dtype -> that OpenBLAS's axpy for it; None until first looked for (not at import)
_axpy_by_dtype: dict[Any, Any] | None = None
#: (symbol suffix, C integer type) of the two builds NumPy's wheels bundle: ILP64, then LP64
_OPENBLAS_ABIS = (("64_", ctypes.c_int64), ("", ctypes.c_int))


def add_scaled(y: Any, alpha: float, x: Any) -> None:
    """``y += alpha * x`` in place (plain gradient descent is ``add_scaled(w, -lr, g)``).

    NumPy has no one-pass form: ``alpha * x`` writes a temporary that ``+=`` then reads back, two
    passes over memory where a big weight matrix does not fit the core's cache. For a large
    float32 or float64 NumPy array (at least ``_AXPY_MIN_SIZE`` elements, C-contiguous, aligned)
    this calls BLAS axpy from the OpenBLAS that NumPy itself links and bundles in its wheels: one
    pass, threaded on the pool NumPy's matrix products already use. Where the CPU has a fused
    multiply-add, axpy rounds once, so a result can differ from NumPy's two roundings in its
    last bit. NaN and infinities propagate as in NumPy. Every other array (and alpha not a Python
    float, or 0 in ``y``'s dtype: axpy skips the product then, which would drop 0 * nan = nan),
    every process with ``CHAINRULE_AXPY=numpy``, and every call made while NumPy's error handling
    raises, calls or logs on overflow or invalid results (``numpy.errstate``: BLAS reports no
    floating-point errors) takes NumPy's (or its own library's) ``y += alpha * x``; ``x`` is an
    array of ``y``'s library. With NumPy's default handling ("warn"), the BLAS path warns of
    nothing: an overflowing update gives inf silently, as the next loss will show.
    """
    if (
        type(y) is numpy.ndarray
        and y.size >= _AXPY_MIN_SIZE
        and type(x) is numpy.ndarray
        and type(alpha) is float
    ):
        table = _axpy_by_dtype if _axpy_by_dtype is not None else _find_axpy()
        axpy = table.get(y.dtype)
        if (
            axpy is not None
            and abs(alpha) > _ROUNDS_TO_ZERO.get(y.dtype, 0.0)  # alpha is not 0 in y's dtype
            and x.dtype == y.dtype
            and x.shape == y.shape
            and y.flags.carray  # C-contiguous, aligned and writeable
            and (x_flags := x.flags).c_contiguous
            and x_flags.aligned
            and _errors_pass_silently()
        ):
            # both are contiguous and of one size: their buffers overlap exactly when their
            # starts lie closer than that size (numpy.may_share_memory's bounds check, without
            # its dispatch); x is y is fine, axpy reads each element before it writes it
            x_start, y_start = _address(x), _address(y)
            if x is y or abs(x_start - y_start) >= y.nbytes:
                axpy(y.size, alpha, x_start, 1, y_start, 1)
                return
    y += alpha * x


def _address(array: numpy.ndarray) -> int:
    """Where ``array``'s data starts in memory. Read through a ctypes view of its buffer: NumPy's
    ``array.ctypes.data`` builds a Python helper object per call, 4x the time, and a training
    step pays it at cold caches. A read-only array has no writable buffer to view."""
    try:
        return ctypes.addressof(_BYTE.from_buffer(array))
    except TypeError:
        return array.ctypes.data


_BYTE = ctypes.c_char


#: The largest magnitude a Python float may have and still round to 0 in a dtype: half of
#: float32's smallest subnormal (a tie, which rounds to the even 0); no nonzero float64 does
_ROUNDS_TO_ZERO = {numpy.dtype(numpy.float32): 2.0**-150}

#: NumPy's error handlings that must see an overflow or invalid result (``numpy.seterr``)
_LOUD_ERRORS = frozenset(("raise", "call", "log"))
#: NumPy's current error handling is the value of a context variable, a new object whenever
#: ``seterr`` or ``errstate`` changes it (private: None where a NumPy has no such variable)
_error_state = getattr(getattr(numpy, "_core", None), "umath", None)
_error_state = getattr(_error_state, "_extobj_contextvar", None)
#: (the error-handling object last looked at, whether it let errors pass silently)
_last_error_check: tuple[Any, bool] = (None, False)


def _errors_pass_silently() -> bool:
    """Whether NumPy's current error handling lets an overflow or invalid result pass without
    raising, calling or logging (warnings aside), as the BLAS path must.

    ``numpy.geterr`` builds a dictionary of strings on every call; the answer is kept for the
    handling object it was computed from, so a training step pays a context variable's read.
    """
    global _last_error_check
    state = _error_state.get() if _error_state is not None else None
    seen, silent = _last_error_check
    if state is None or state is not seen:
        handling = numpy.geterr()
        silent = handling["over"] not in _LOUD_ERRORS and handling["invalid"] not in _LOUD_ERRORS
        _last_error_check = (state, silent)
    return silent


#: (the error handling last seen, the same with overflow ignored), for ignoring_overflow
_last_quiet_state: tuple[Any, Any] = (None, None)


def ignoring_overflow(ufunc: Any, *args: Any, **kwargs: Any) -> Any:
    """``ufunc(*args, **kwargs)`` on NumPy arrays with NumPy's overflow handling off, whatever
    ``numpy.errstate`` says of overflow; the rest of the handling in force applies. For results
    whose overflow is the right limit: e^x too large for the dtype is inf (the logistic's
    1 / (1 + inf) = 0), and a row spanning more than the largest float shifts its smallest
    entries to -inf (their e^x is exactly 0). ``numpy.errstate(over="ignore")`` does the same,
    but builds a new handling (a call with five keywords) every time; here the one made for the
    handling in force is kept, and a logistic at every layer of every step pays a context
    variable's set and reset."""
    global _last_quiet_state
    if _error_state is None:  # a NumPy without the (private) context variable
        with numpy.errstate(over="ignore"):
            return ufunc(*args, **kwargs)
    state = _error_state.get()
    seen, quiet = _last_quiet_state
    if state is not seen:
        with numpy.errstate(over="ignore"):
            quiet = _error_state.get()
        _last_quiet_state = (state, quiet)
    token = _error_state.set(quiet)
    try:
        return ufunc(*args, **kwargs)
    finally:
        _error_state.reset(token)


def _find_axpy() -> dict[Any, Any]:
    """Bind saxpy and daxpy of NumPy's bundled OpenBLAS (scipy-openblas), checked on a small
    case; an empty table where there is none (NumPy built on MKL, Accelerate, a system BLAS)."""
    global _axpy_by_dtype
    table: dict[Any, Any] = {}
    if os.environ.get("CHAINRULE_AXPY", "").lower() != "numpy":
        try:
            table = _bind_axpy(_numpy_openblas())
        except (OSError, AttributeError, IndexError):
            table = {}
    _axpy_by_dtype = table
    return table


def _numpy_openblas() -> ctypes.CDLL:
    """NumPy's own OpenBLAS: the library its wheels vendor beside the package (numpy.libs on
    Linux and Windows, numpy/.dylibs on macOS). Opening it again returns the loaded copy, whose
    thread pool NumPy's matrix products use; raises IndexError when there is none."""
    package = os.path.dirname(numpy.__file__)
    candidates = []
    for folder in (package + ".libs", os.path.join(package, ".dylibs")):
        if os.path.isdir(folder):
            candidates += sorted(
                os.path.join(folder, name)
                for name in os.listdir(folder)
                if name.startswith("libscipy_openblas")
            )
    return ctypes.CDLL(candidates[0])


def _bind_axpy(library: ctypes.CDLL) -> dict[Any, Any]:
    """``{dtype: axpy}`` for float32 and float64, each checked against NumPy on three numbers."""
    for suffix, integer in _OPENBLAS_ABIS:
        table = {}
        for dtype, prefix, scalar in (
            (numpy.dtype(numpy.float32), "s", ctypes.c_float),
            (numpy.dtype(numpy.float64), "d", ctypes.c_double),
        ):
            axpy = getattr(library, f"scipy_cblas_{prefix}axpy{suffix}", None)
            if axpy is None:
                break
            axpy.restype = None
            axpy.argtypes = [integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
            x, y = numpy.array([1.0, -2.0, 0.5], dtype), numpy.array([3.0, 4.0, -1.0], dtype)
            axpy(3, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)
            if not numpy.array_equal(y, numpy.array([2.5, 5.0, -1.25], dtype)):
                break
            table[dtype] = axpy
        else:
            return table
    return {}
