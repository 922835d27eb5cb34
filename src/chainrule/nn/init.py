"""Initialisers: the starting weights, each a function ``(shape, dtype, rng) -> array``.

The weight of a :class:`~chainrule.nn.Linear` has shape ``(n_in, n_out)``, so ``fan_in`` is
``shape[0]`` and ``fan_out`` is ``shape[1]``. Every random initialiser takes ``rng``: an int seed
or a ``numpy.random.Generator`` (None uses the generator :func:`chainrule.manual_seed` sets), so
that runs are reproducible.

- :func:`uniform`: U(-r, r), r = 0.3 by default; the small random weights of Rumelhart, Hinton &
  Williams (1986), which break the symmetry between hidden units.
- :func:`glorot` (Xavier, uniform; also named ``xavier``): U(-a, a), a = sqrt(6 / (fan_in +
  fan_out)) (Glorot & Bengio 2010), keeps the variance of activations and gradients about equal
  across layers.
- :func:`he` (Kaiming, normal; also named ``kaiming``): N(0, 2 / fan_in) (He et al. 2015), for
  ReLU units.
- :func:`cosine`: the deterministic 0.1 * cos(0 .. n-1) of the course's programming assignment 3,
  filled column by column as MATLAB's ``reshape`` does (see its docstring).
- :func:`zeros`: all zeros. Weights of zeros cannot break the symmetry between hidden units:
  every unit of a layer computes the same and gets the same gradient, so they stay equal.

A layer's ``config()`` names its initialiser: a name as given, these functions by their names
(:func:`name_of`), any other callable as ``"callable:<module>.<name>"``, which no config can
rebuild (``nn.Linear`` then draws ``"uniform"`` and says so, unless it is built to be loaded).
:func:`draws_kept` builds a module whose drawn weights are then replaced (loaded, copied in)
without moving the user's generators.

``dtype`` is a real floating-point type (NumPy's, a name, or a library's: ``torch.float32``); an
integer, boolean or complex one is a ``TypeError`` naming the initialiser, as for
:func:`chainrule.randn` (cast to integers, the weights were zeros that could never learn).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.creation import as_generator, floating_dtype
from chainrule.errors import ConfigError  # not nn.module's: Module.to imports parameter_dtype

__all__ = [
    "cosine", "draws_kept", "get", "glorot", "he", "kaiming", "name_of", "parameter_dtype",
    "uniform", "xavier", "zeros",
]  # fmt: skip

Initialiser = Callable[..., np.ndarray]
RNG = np.random.Generator | int | None

_CANNOT_LEARN = "weights of it could never learn, and drawn ones would be truncated (mostly to 0)"


def _placed(initialiser: Callable[..., np.ndarray]) -> Callable[..., Any]:
    """Give an initialiser ``xp=`` and ``device=``: its values are drawn on the host (the same
    numbers on every library for one seed) and copied once to that library and device."""

    @functools.wraps(initialiser)
    def placed(*args: Any, xp: Any = None, device: Any = None, **kwargs: Any) -> Any:
        # a library's dtype (torch.float32), as nn.Linear and cr.randn take it, by its name:
        # NumPy's own "Cannot interpret 'torch.float32' as a data type" named no initialiser.
        # An integer or boolean dtype is refused, as cr.randn refuses it: it truncated the
        # weights to zeros, silently, which no gradient step could then move
        who = f"{initialiser.__name__} init"
        if len(args) > 1:
            args = (args[0], floating_dtype(args[1], who, _CANNOT_LEARN), *args[2:])
        elif "dtype" in kwargs:
            kwargs["dtype"] = floating_dtype(kwargs["dtype"], who, _CANNOT_LEARN)
        values = initialiser(*args, **kwargs)
        if xp is None and device is None:
            return values
        return backend.move(values, xp, device)

    return placed


#: The dtypes a model's parameters take (:func:`parameter_dtype`).
PARAMETER_DTYPES = ("float32", "float64")


def parameter_dtype(dtype: Any) -> np.dtype:
    """``dtype`` (a NumPy dtype, type or name like ``"float32"``, or another array library's
    float32 / float64) as the NumPy dtype of a model's parameters: float32 or float64, any
    other refused with a ConfigError that says so.

    The one check of a parameter dtype, for every layer that takes one (``Linear``, so ``mlp``
    and the scikit-learn estimators) and ``Module.to``. Other dtypes are refused up front, not
    where they fail later: a float16 model trained to NaN and inf (Adam's eps, 1e-8, is 0 in
    float16: a gradient of 0, or one whose square underflows, is divided by 0), and could not
    be saved, explained or converted to PyTorch, which take float32 and float64 alone, nor
    could a longdouble one; bfloat16 and the float8s (PyTorch's, ml_dtypes') NumPy cannot
    compute in. A plain tensor takes any dtype NumPy has (``cr.tensor(x, dtype="float16")``)."""
    name = backend.dtype_name(dtype)
    try:
        result = np.dtype(name)
    except TypeError:  # torch.bfloat16, torch.qint8: dtypes NumPy has no match for
        result = None
    if result is not None and result.name in PARAMETER_DTYPES:
        return result
    if result is None and not _is_library_dtype(dtype):
        raise ConfigError(f"dtype: {dtype!r} is not a dtype; use float32 or float64")
    raise ConfigError(
        f"dtype: {name} is a dtype, but not one parameters support; use float32 or float64 (the "
        "floating point dtypes parameters take)"
    )


def _is_library_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is an array library's dtype object (``torch.dtype``, array-api-strict's
    ``DType``) rather than a name or something else that is no dtype at all."""
    return not isinstance(dtype, str) and type(dtype).__name__.lower().endswith("dtype")


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


@_placed
def uniform(shape: tuple[int, ...], dtype: Any = np.float32, rng: RNG = None, r: float = 0.3):
    """Samples from U(-r, r) (Rumelhart, Hinton & Williams 1986 used small r such as 0.3)."""
    # NaN and inf passed ``r < 0`` to NumPy's "high - low range exceeds valid bounds", and a
    # range past the dtype's largest number drew infinite weights. Drawn in float64 (2r must be
    # finite there), then cast: r at most the dtype's largest number, compared as Python floats
    # (r > float32's max would cast r, with NumPy's warning)
    largest = float(np.finfo(np.float64).max) / 2
    if np.dtype(dtype).kind == "f":
        largest = min(largest, float(np.finfo(dtype).max))
    if not (r >= 0 and math.isfinite(r)) or r > largest:
        raise ConfigError(
            f"uniform init: the range r must be a finite number >= 0 (at most "
            f"{largest:.3g} for {np.dtype(dtype).name}), not {r}"
        )
    return as_generator(rng).uniform(-r, r, size=shape).astype(dtype)


@_placed
def glorot(shape: tuple[int, ...], dtype: Any = np.float32, rng: RNG = None) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(rng).uniform(-limit, limit, size=shape).astype(dtype)


xavier = glorot


@_placed
def he(shape: tuple[int, ...], dtype: Any = np.float32, rng: RNG = None) -> np.ndarray:
    """He/Kaiming normal: N(0, std^2) with std = sqrt(2 / fan_in)."""
    fan_in, _ = _fans(shape)
    std = np.sqrt(2.0 / fan_in)
    return (std * as_generator(rng).standard_normal(shape)).astype(dtype)


kaiming = he


@_placed
def cosine(
    shape: tuple[int, ...], dtype: Any = np.float32, rng: RNG = None, start: int = 0
) -> np.ndarray:
    """The deterministic 0.1 * cos(start .. start + n - 1), filled in column-major order.

    Assignment 3 of Hinton's course sets ``theta = 0.1 * cos(0:n-1)`` and reshapes it in MATLAB's
    column-major order into a (n_in, n_hid) matrix: w_ij = 0.1 cos(i + n_in j), which is exactly
    our (row = unit below, column = unit above) layout. Its flat theta runs on across layers; pass
    ``start`` (the number of weights before this layer) to continue it. ``rng`` is ignored.
    """
    n = int(np.prod(shape))
    values = 0.1 * np.cos(np.arange(start, start + n, dtype=np.float64))
    return values.reshape(shape, order="F").astype(dtype)


@_placed
def zeros(shape: tuple[int, ...], dtype: Any = np.float32, rng: RNG = None) -> np.ndarray:
    """All zeros (the usual start for biases under Glorot and He). As weights, zeros cannot
    break the symmetry between hidden units: each unit of a layer computes the same output and
    gets the same gradient, so they stay equal however long the network trains."""
    return np.zeros(shape, dtype=dtype)


INITIALISERS: dict[str, Initialiser] = {
    "uniform": uniform,
    "glorot": glorot,
    "xavier": glorot,
    "he": he,
    "kaiming": he,
    "cosine": cosine,
    "zeros": zeros,
}


#: How a config names a callable initialiser that is none of :data:`INITIALISERS`: this, then
#: its module and qualified name. No config can rebuild it (see :func:`name_of`).
CALLABLE = "callable:"


def name_of(init: str | Initialiser) -> str:
    """The name a layer's config records for ``init``: a name as given; one of this module's
    initialisers (``nn.init.he``, ``nn.init.kaiming``) by its name in :data:`INITIALISERS`
    ("he"), so that ``from_config`` rebuilds it; any other callable (a lambda, a partial, an
    instance of a class of one's own) as ``"callable:<module>.<qualified name>"``, which tells
    the reader what drew the weights but cannot be rebuilt from text."""
    if isinstance(init, str):
        return init
    for name, known in INITIALISERS.items():
        if init is known:
            return name
    kind = init if hasattr(init, "__qualname__") else type(init)  # an instance: its class
    return f"{CALLABLE}{getattr(kind, '__module__', '?')}.{kind.__qualname__}"


def is_unrebuildable(init: Any) -> bool:
    """Whether ``init`` is a config's name of a callable initialiser (:func:`name_of`)."""
    return isinstance(init, str) and init.startswith(CALLABLE)


def get(init: str | Initialiser) -> Initialiser:
    """The initialiser called ``init`` (or ``init`` itself when it is a callable)."""
    if callable(init):
        return init
    try:
        return INITIALISERS[init]
    except (KeyError, TypeError):
        known = ", ".join(INITIALISERS)
        raise ConfigError(f"unknown initialiser {init!r}; choose one of {known}") from None


#: Whether the module being built will have its weights replaced (:func:`draws_kept`)
_REPLACED: contextvars.ContextVar[bool] = contextvars.ContextVar("weights_replaced", default=False)


@contextlib.contextmanager
def draws_kept() -> Iterator[None]:
    """Build modules inside this block whose drawn weights are then replaced (a model file's
    or PyTorch's weights loaded into them, given arrays copied in): afterwards chainrule's
    default generator and NumPy's global one are as they were before it, so building them
    changes no draw of the user's (``cr.randn`` after ``cr.manual_seed`` and a load is the
    seeded one). Inside it, a layer whose config names an initialiser no config can rebuild
    (:func:`name_of`) builds without a warning: its weights are about to be replaced.

    The one home of this: ``io.load_model``, ``interop.from_torch`` and ``load_torch``, and the
    explainer's network of (weight, bias, activation) triples all build inside it."""
    default = as_generator(None)
    state, legacy = default.bit_generator.state, np.random.get_state()
    replaced = _REPLACED.set(True)
    try:
        yield
    finally:
        _REPLACED.reset(replaced)
        default.bit_generator.state = state
        np.random.set_state(legacy)


def weights_replaced() -> bool:
    """Whether modules built now are built inside :func:`draws_kept`, to have their weights
    replaced."""
    return _REPLACED.get()
