"""Layers: Linear, the units (Logistic, Tanh, ReLU, Softmax), Dropout, Sequential, Parallel,
and ``mlp``.

The units are compositions of the engine's ops (``cr.sigmoid`` ...), so the derivative rules live
in one place, the ops registry, and a network's backward pass is the engine's backward pass.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import backend, ops
from chainrule.checks import computes_as, is_integer, is_real
from chainrule.engine import apply, no_grad
from chainrule.errors import type_name, user_stacklevel
from chainrule.nn import init as initialisers
from chainrule.nn.init import RNG, as_generator, parameter_dtype
from chainrule.nn.module import (
    ConfigError,
    Module,
    Parameter,
    from_config,
    register_module,
)
from chainrule.ops.registry import REGISTRY, ShapeError
from chainrule.tensor import Tensor

# The primitives a layer calls itself once it has its input as a tensor (``ops.linear`` would
# check the same shapes again on every call).
_LINEAR, _MATMUL, _SIGMOID = REGISTRY["linear"], REGISTRY["matmul"], REGISTRY["sigmoid"]
_PLAIN_CALL = Module.__call__


def _config_type(layer: Module, library_class: type) -> str:
    """The type a saved config gives ``layer``: the library class's name, or the layer's own
    class's where a subclass computes its own forward (a Linear scaled by 2, a Sequential that
    adds its input back), so that a model file never rebuilds it as its parent: loading finds
    the subclass where it is registered (:func:`register_module`) and names the unknown type
    where not, as for an activation layer of one's own."""
    return library_class.__name__ if computes_as(layer, library_class) else type(layer).__name__


@register_module
class Linear(Module):
    """A layer of connections from ``n_in`` units below to ``n_out`` units above.

    The weight is laid out as the lecture writes w_ij: **row i is the unit below, column j the
    unit above**, so ``weight`` has shape ``(n_in, n_out)`` and the forward pass is one matrix
    product over a batch of rows,

        z = y @ W + b,   that is   z_j = b_j + sum_i y_i w_ij,

    and the backward pass gives dE/dy_i = sum_j w_ij dE/dz_j.

    ``init`` names the initialiser of the weight (:mod:`chainrule.nn.init`): "uniform", U(-r, r)
    with r = ``init_range`` = 0.3 as in Rumelhart, Hinton & Williams 1986; "glorot" (alias
    "xavier"); "he" (alias "kaiming"); "cosine"; "zeros" (which cannot break the symmetry
    between hidden units: every unit of the layer stays equal to the others); or it is a
    callable ``(shape, dtype, rng) -> array``. Under "uniform" the bias is drawn from the same
    range (in RHW 1986 a bias is a weight from a unit that is always on); otherwise it starts at
    zero. ``init_range`` is uniform's alone: it must be a finite number >= 0 whatever the init,
    and one other than 0.3 given with another init is warned about (that init draws its own
    scale). ``init_start`` is cosine's alone: where its flat sequence 0.1 cos(k) starts (the
    number of weights in the layers below, as ``mlp`` passes it).

    ``config()`` names the initialiser so that ``from_config`` draws the same scheme: a name,
    or one of ``nn.init``'s functions by its name; another callable is recorded as
    ``"callable:<module>.<name>"``, which cannot be rebuilt: a layer built from it draws
    "uniform" and warns, except inside :func:`chainrule.nn.init.draws_kept` (``load_model``),
    where its weights are about to be replaced.

    ``rng`` is an int seed or a ``numpy.random.Generator``. Parameters are float32 unless
    ``dtype="float64"``; any other dtype is refused (:func:`~chainrule.nn.init.parameter_dtype`).

    >>> layer = Linear(2, 3, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (3,))
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        bias: bool = True,
        init: str | Callable[..., np.ndarray] = "uniform",
        dtype: Any = np.float32,
        rng: RNG = None,
        init_range: float = 0.3,
        init_start: int = 0,
    ) -> None:
        super().__init__()
        if not (is_integer(n_in) and is_integer(n_out) and n_in >= 1 and n_out >= 1):
            # int() took 2.5 as 2 and True as 1 without a word
            raise ConfigError(
                f"Linear: n_in and n_out must be whole numbers >= 1, got ({n_in!r}, {n_out!r})"
            )
        if not isinstance(bias, (bool, np.bool_)) and not (is_integer(bias) and bias in (0, 1)):
            # "no" and "false" are true: a model file's typo built a layer with a bias (the
            # integers 0 and 1 are a Python caller's False and True, as PyTorch takes them)
            raise ConfigError(f"Linear: bias must be True or False (or 1 or 0), not {bias!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        weight_init = _scheme(init)
        self.init = init
        self.init_range = _init_range(init_range)
        self.init_start = _init_start(init_start)
        _warn_unused(init, weight_init, self.init_range, self.init_start)
        # the weight's and bias's arrays whose shapes forward checked last (_check_shapes); set
        # here, not first in forward, and not a class attribute: either slows every read of it
        object.__setattr__(self, "_shaped", (None, None))
        dtype = parameter_dtype(dtype)
        generator = as_generator(rng)
        shape = (self.n_in, self.n_out)
        if weight_init is initialisers.uniform:
            weight = weight_init(shape, dtype, generator, r=self.init_range)
        elif weight_init is initialisers.cosine:
            weight = weight_init(shape, dtype, generator, start=self.init_start)
        else:
            weight = weight_init(shape, dtype, generator)
        self.weight = Parameter(np.asarray(weight, dtype=dtype))
        self.weight.name = "weight"
        if bias:
            if weight_init is initialisers.uniform:
                values = initialisers.uniform((self.n_out,), dtype, generator, r=self.init_range)
            else:
                values = np.zeros(self.n_out, dtype=dtype)
            self.bias: Tensor | None = Parameter(values)
            self.bias.name = "bias"
        else:  # None in a parameter's place, as PyTorch's: later, only a tensor may fill it
            self.register_parameter("bias", None)

    def __setstate__(self, state: Any) -> None:
        """A layer pickled by an older chainrule has no ``_shaped`` (its forward's first call
        checks the shapes), and before a parameter could be None, a ``bias=False`` layer's
        bias was a plain None attribute: its place is declared, as ``__init__`` declares it."""
        super().__setstate__(state)
        fields = self.__dict__
        fields.setdefault("_shaped", (None, None))
        fields.setdefault("init_start", 0)  # cosine's start, before mlp passed one
        if fields.get("bias", 0) is None:
            self._empty_parameters.add("bias")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("weight", "bias") and isinstance(value, Tensor) and "n_out" in self.__dict__:
            self._check_part(name, value)
            object.__setattr__(self, "_shaped", (None, None))  # nor kept alive for the check
        super().__setattr__(name, value)

    def _check_part(self, name: str, value: Tensor) -> None:
        """A weight or bias set later has the layer's shape and its other part's dtype: the
        config rebuilds them so, and a bias of 3 values on 2 units (or a float64 one beside a
        float32 weight) was saved into a file that load_model refused."""
        shape = (self.n_in, self.n_out) if name == "weight" else (self.n_out,)
        if tuple(value.shape) != shape:
            raise ShapeError(
                f"Linear({self.n_in}, {self.n_out}).{name} must have shape {shape}, not "
                f"{tuple(value.shape)}; build a new Linear for other sizes"
            )
        other = "bias" if name == "weight" else "weight"
        partner = self.__dict__.get(other)
        if isinstance(partner, Tensor) and partner.dtype != value.dtype:
            raise ConfigError(
                f"Linear.{name} must be {backend.dtype_name(partner.dtype)}, as its {other} is, "
                f"not {backend.dtype_name(value.dtype)}; a layer holds one dtype (model.to(dtype) "
                "changes every layer's)"
            )

    def _check_shapes(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
        """Refuse a weight or bias that is not (n_in, n_out) or (n_out,), else note its arrays
        as checked. A part replaced where ``__setattr__`` does not look (``functional_call``,
        ``bias.data = ...``) computed other numbers without a word (a (4, 1) bias broadcast
        over a batch of 4 cases) or failed in NumPy's words (a weight transposed).
        ``forward`` compares the arrays' identity with the ones checked last (an optimizer
        writes in place, so they stay the same) and comes here only for new ones: comparing
        the shapes at every call cost a training step a few thousand instructions, the
        identity a few hundred (benchmarks/instructions.py). The arrays checked last are kept
        until a new one is checked or a part is set through the layer."""
        if weight.data.shape != (self.n_in, self.n_out) or (
            bias is not None and bias.data.shape != (self.n_out,)
        ):
            raise _wrong_part(self, x, weight, bias)
        object.__setattr__(self, "_shaped", (weight.data, None if bias is None else bias.data))

    def forward(self, x: Any) -> Tensor:
        """z = x @ W + b for a batch ``x`` of shape (n_cases, n_in).

        A float64 tensor given to float32 weights computes in float64 (NumPy's promotion).
        """
        if not isinstance(x, Tensor):  # a plain array takes the weights' dtype: float32 stays
            x = _input_like(x, self.weight.data)  # (and their library and device)
        # ``is not``: no == between two libraries' dtypes (array-api-strict warns of it); an
        # equal dtype that is another object only takes the floating check
        elif x.data.dtype is not self.weight.data.dtype and not backend.is_floating(x.dtype, x.xp):
            x = _input_like(x.data, self.weight.data)  # integers too: no gradient flows into them
        shape, n_in, n_out = x.data.shape, self.n_in, self.n_out
        if not shape or shape[-1] != n_in:
            raise ShapeError(
                f"Linear({n_in}, {n_out}): input has shape {tuple(x.shape)}; "
                f"expected (n_cases, {n_in})"
            )
        weight, bias = self.weight, self.bias
        shaped = self._shaped  # the arrays checked last: an identity test per call, not shapes
        if weight.data is not shaped[0] or (bias is not None and bias.data is not shaped[1]):
            self._check_shapes(x, weight, bias)
        # straight to the engine (the operands are tensors and their shapes are checked above)
        if bias is None:
            return apply(_MATMUL, (x, weight), {})
        # one primitive: the product and an in-place bias add, no extra pass over a copy
        return apply(_LINEAR, (x, weight, bias), {})

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "type": _config_type(self, Linear),
            "n_in": self.n_in,
            "n_out": self.n_out,
            "bias": self.bias is not None,
            # nn.init's functions by name; another callable named, which from_config says it
            # cannot rebuild ("uniform" recorded for it drew U(-0.3, 0.3) without a word)
            "init": initialisers.name_of(self.init),
            "dtype": backend.dtype_name(self.weight.dtype),
        }
        scheme = _scheme(self.init)
        if self.init_range != 0.3 and scheme is initialisers.uniform:  # uniform's alone
            config["init_range"] = self.init_range
        if self.init_start and scheme is initialisers.cosine:
            config["init_start"] = self.init_start
        return config

    def extra_repr(self) -> str:
        return f"{self.n_in}, {self.n_out}, bias={self.bias is not None}, dtype={self.weight.dtype}"


def _scheme(init: Any) -> Callable[..., np.ndarray]:
    """The initialiser ``init`` names; for a config's name of a callable that no config can
    rebuild (:func:`~chainrule.nn.init.name_of`), ``uniform``, Linear's default, which it draws
    instead (and warns of, in :func:`_warn_unused`)."""
    if initialisers.is_unrebuildable(init):
        return initialisers.uniform
    return initialisers.get(init)


def _init_range(value: Any) -> float:
    """``init_range`` checked whatever the init: a finite number >= 0 (a negative or NaN range
    given with "he" was taken, and saved in its config, without a word)."""
    if not is_real(value) or not (math.isfinite(value) and value >= 0):
        raise ConfigError(
            f"Linear: init_range: the range r must be a finite number >= 0 (U(-r, r) under "
            f"init='uniform'; checked whatever the init), not {value!r}"
        )
    return float(value)


def _init_start(value: Any) -> int:
    """``init_start`` checked: a whole number >= 0, the weights before the layer."""
    if not is_integer(value) or value < 0:
        raise ConfigError(
            f"Linear: init_start must be a whole number >= 0 (where the sequence of "
            f"init='cosine' starts: the number of weights in the layers below), not {value!r}"
        )
    return int(value)


def _warn_unused(init: Any, scheme: Callable[..., np.ndarray], r: float, start: int) -> None:
    """Warn of an ``init_range`` (other than its default) or ``init_start`` that ``init`` does
    not use (Glorot's limit drawn where the config said init_range 5.0), and of a config's
    callable initialiser that cannot be rebuilt, drawn as "uniform" instead: except inside
    :func:`~chainrule.nn.init.draws_kept`, where the weights are about to be replaced."""
    if initialisers.weights_replaced():  # load_model's rebuild (a file of an older version
        return  # recorded init_range beside "glorot"): nothing the user wrote to change
    name = initialisers.name_of(init)
    said = []
    if initialisers.is_unrebuildable(init):
        said.append(
            f"cannot rebuild the initialiser {name[len(initialisers.CALLABLE) :]!r} (a callable "
            f"its config names, {name!r}); its weights are drawn with init='uniform', U(-{r:g}, "
            f"{r:g}), instead: load the saved weights into it (io.load_model, "
            "load_state_dict) or pass the callable as init="
        )
    elif r != 0.3 and scheme is not initialisers.uniform:
        said.append(
            f"init_range={r:g} is the range of init='uniform' and does nothing under "
            f"init={name!r}, which draws its own scale; leave init_range out, or use "
            "init='uniform'"
        )
    if start and scheme is not initialisers.cosine:
        said.append(
            f"init_start={start} is where init='cosine' starts and does nothing under "
            f"init={name!r}; leave it out"
        )
    for words in said:
        warnings.warn(f"Linear: {words}", UserWarning, stacklevel=user_stacklevel())


def _wrong_part(layer: Linear, x: Tensor, weight: Tensor, bias: Tensor | None) -> ShapeError:
    """The error for a weight or bias of another shape than ``layer``'s, (n_in, n_out) and
    (n_out,), met in its forward: cr.linear's own words for what does not fit (the batch and
    the weight do not align, the bias is not one value per unit), then the part named."""
    n_in, n_out = layer.n_in, layer.n_out
    if tuple(weight.shape) != (n_in, n_out):
        part, given, expected = "weight", tuple(weight.shape), f"(n_in, n_out) = {(n_in, n_out)}"
    else:
        part, given, expected = "bias", tuple(bias.shape), f"(n_out,) = {(n_out,)}"
    try:
        with no_grad():  # the error path only: cr.linear's checks, not a copy of them
            ops.linear(x, weight, bias)
        words = ""  # it fits the input, but makes another layer's number of units
    except ShapeError as error:
        words = f"{error}: "
    layout = given == (n_out, n_in) and part == "weight"
    return ShapeError(
        f"{words}Linear({n_in}, {n_out}).{part} has shape {given}, not {expected}"
        + (" (PyTorch's (n_out, n_in) layout: transpose it)" if layout else "")
        + "; a weight or bias given by functional_call or set through .data must keep the "
        "layer's shape"
    )


def _input_like(x: Any, weight: Any) -> Tensor:
    """A batch that is not a floating tensor (an array from a loader, a list, integers) as a
    tensor of ``weight``'s dtype, library and device: float64 data does not upcast float32.
    None is refused: NumPy makes it a NaN scalar, which read as "input has shape ()"."""
    if x is None:
        raise TypeError("a layer's input is None, not an array of cases (one row per case)")
    if isinstance(x, (tuple, list)):
        _refuse_arrays_as_arguments(x)
    if not hasattr(x, "dtype"):  # a list, read once in its own dtype to see what it holds
        x = Tensor(x).data  # (None or text in it is refused showing the list)
    xp = backend.array_module(x)
    # another library's dtype object (pandas' Int64, polars') is never complex
    if (xp is not np or isinstance(x.dtype, np.dtype)) and backend.is_complex(x.dtype, xp):
        raise TypeError(  # cast to the weights' real dtype, it lost its imaginary part
            f"a layer's input is complex ({x.dtype}) and the weights are {weight.dtype}: "
            "casting it would drop the imaginary part; pass x.real, or cr.tensor(x) to "
            "compute in complex numbers (forward only)"
        )
    if type(weight) is np.ndarray:
        return Tensor(x, dtype=weight.dtype)
    return Tensor(backend.asarray_like(x, weight, dtype=weight.dtype, op="a layer's input"))


def _refuse_arrays_as_arguments(x: tuple | list) -> None:
    """Refuse torch.func's tuple of arguments: ``functional_call(model, params, (x,))`` or
    ``model((x,))``, a tuple of one array or tensor, which NumPy would read as one more axis (a
    batch (1, n_cases, n_in), every output shaped (1, n_cases, n_out) and a loss's error far from
    here), and ``(x, y)`` of arrays of different shapes, which NumPy cannot make one array of
    (its error would blame the rows' lengths). A list, and a tuple of several arrays of one
    shape (rows, or a stack of batches), is a batch as NumPy reads it."""
    if not isinstance(x, tuple):
        return
    arrays = [item for item in x if len(getattr(item, "shape", ())) > 0]
    shapes = [tuple(a.shape) for a in arrays]
    if not (len(x) == len(arrays) == 1 or len(set(shapes)) > 1):
        return
    kind = "tensor" if all(isinstance(a, Tensor) for a in arrays) else "array"
    what = f"a tuple of {len(x)} {kind}{'s' if len(x) > 1 else ''}"
    cases = "one row per case" if max(map(len, shapes)) <= 2 else "cases along its first axis"
    if len(x) == 1:
        how = f"pass the {kind} itself: model(x) or functional_call(model, params, x), not (x,)"
        said = f"shape {shapes[0]}"
    else:
        how = (
            "for a forward of several arguments, write functional_call(model, params, x, y), "
            "not torch.func's (x, y)"
        )
        said = f"shapes {', '.join(map(str, shapes))}, which make no one array"
    raise TypeError(
        f"a layer's input is {what} ({said}), not one {kind} of cases ({cases}); {how}: its "
        "arguments follow params one by one"
    )


class _Unit(Module):
    """A layer of units applying one function elementwise; no parameters."""

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__}


@register_module
class Logistic(_Unit):
    """The logistic unit y = 1 / (1 + e^-z), with dy/dz = y (1 - y) (alias ``Sigmoid``)."""

    def forward(self, z: Any) -> Tensor:
        return apply(_SIGMOID, (z,), {}) if isinstance(z, Tensor) else ops.sigmoid(z)


Sigmoid = Logistic
register_module(Logistic, name="Sigmoid")  # the name older model files may hold


@register_module
class Tanh(_Unit):
    """y = tanh(z), with dy/dz = 1 - y^2."""

    def forward(self, z: Any) -> Tensor:
        return ops.tanh(z)


@register_module
class ReLU(_Unit):
    """y = max(z, 0); the derivative at 0 is taken as 0."""

    def forward(self, z: Any) -> Tensor:
        return ops.relu(z)


class _AlongAxis(Module):
    """A layer that normalises along one ``axis`` (softmax and its log); no parameters."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        if not is_integer(axis):
            raise ConfigError(f"{type(self).__name__}: axis must be a whole number, not {axis!r}")
        self.axis = int(axis)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "axis": self.axis}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


@register_module
class Softmax(_AlongAxis):
    """y_k = e^z_k / sum_l e^z_l along ``axis`` (for a loss, prefer CrossEntropy on the logits)."""

    def forward(self, z: Any) -> Tensor:
        return ops.softmax(z, self.axis)


@register_module
class LogSoftmax(_AlongAxis):
    """log y_k = z_k - log sum_l e^z_l along ``axis``, stable at any logits (PyTorch's LogSoftmax;
    chainrule's CrossEntropy takes the logits and needs no such layer). Not a kind of Softmax:
    the activation table must not take one for the other."""

    def forward(self, z: Any) -> Tensor:
        return ops.log_softmax(z, self.axis)


@register_module
class Identity(_Unit):
    """y = z: a placeholder layer (PyTorch's Identity), the identity "unit" of a linear output."""

    def forward(self, z: Any) -> Any:
        return z


#: The floats a mask can be made in on the host (NumPy's own)
_HOST_FLOATS = frozenset({"float16", "float32", "float64", "complex64", "complex128"})


@register_module
class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest
    by 1 / (1 - p), so the expected activation is unchanged and evaluation needs no rescaling.
    In eval mode (``model.eval()``) it is the identity.

    ``rng`` (an int seed, a Generator or None) draws the masks; set ``layer.rng`` (to the same
    kinds) to reseed it. :meth:`config` records an int seed, the constructor's or the last one
    assigned; a Generator's state cannot be written in a config, so a layer given one (built
    with it, or assigned it later) records no seed, and a model loaded from its config draws
    from chainrule's default generator. ``p`` is checked on every assignment as the
    constructor checks it. The generator is a buffer (``named_buffers()``), so a trainer's
    checkpoint keeps its state.
    ``rng=None`` takes chainrule's default generator, seeded from the OS at import (the
    default given itself, ``rng=cr.manual_seed(7)``, is the same: the layer draws from the
    default). Outside a fit :func:`chainrule.manual_seed` decides such a layer's masks (called
    before or after the layer is built: it reseeds in place); without it they differ from
    process to process. Inside a fit the trainer's ``seed`` does: a
    :class:`~chainrule.train.Trainer`'s fit that starts a run gives the layer a generator seeded
    from ``seed`` (a resume one carrying the saved state), which it keeps after the fit: the
    same trainer's fit again goes on with the run's masks, and the fit that starts another
    trainer's run seeds it afresh from that trainer's ``seed``, as it seeds the default (a
    network reused with its initial weights put back runs as a new one; a copy of the layer
    too, and a pickle of it sent to a worker process, where it draws from that process's
    default). ``layer.rng = cr.manual_seed(n)`` hands the layer back to the default. A layer
    given a generator or seed of its own (``rng=``, or ``layer.rng = generator``) keeps it in
    every fit, drawing what it drew. Two layers given the same int seed draw the same masks
    (the same units dropped in both); for a reproducible fit leave ``rng=None`` and give the
    trainer's ``seed``, or give each layer a seed of its own.

    Integer and boolean inputs are computed in the library's default float (float64 on
    NumPy), as unit layers compute them, in training and in evaluation alike.
    """

    #: How the mask a forward pass in training draws is named in the graph (its ``name``,
    #: which ``cr.viz.graph.graph`` shows, and by which ``cr.gradcheck`` tells a refused f's
    #: randomness): followed by its p and its scale, ``dropout mask (p=0.5: kept x 1/(1-p) = 2)``
    MASK_NAME = "dropout mask"

    def __init__(self, p: float = 0.5, rng: RNG = None) -> None:
        super().__init__()
        self.p = p  # checked (and made a float) on every assignment: __setattr__
        self.seed: int | None = None
        self.register_buffer("rng", as_generator(None))
        self.rng = rng  # a seed or None made a generator on every assignment: __setattr__

    def __setattr__(self, name: str, value: Any) -> None:
        """``p`` and ``rng`` are checked as the constructor checks them, on every assignment:
        ``layer.p = 1.5`` gave silently wrong masks, and ``layer.rng = 7`` (or None) failed
        only at the next forward. ``rng`` takes what the constructor takes: an int seed makes
        a new generator, which :meth:`config` records; None hands the layer to chainrule's
        default generator, and a Generator is used as it is: a config cannot hold a
        generator's state, so it records no seed, and a model loaded from it draws from the
        default (the generator the layer holds, put back, keeps the seed it had)."""
        if name == "p":
            value = self._checked_p(value)
        elif name == "rng" and "rng" in self._buffers:
            generator = as_generator(value, "Dropout")
            if is_integer(value) or value is None or generator is not self.rng:
                Module.__setattr__(self, "seed", int(value) if is_integer(value) else None)
            value = generator
        super().__setattr__(name, value)

    @staticmethod
    def _checked_p(p: Any) -> float:
        """``p`` as a float in [0, 1), else the ConfigError naming it (the constructor's and
        every later assignment's one check)."""
        if isinstance(p, (str, bytes, bool, np.bool_)) or p is None:
            raise ConfigError(f"Dropout: p must be in [0, 1), not {p!r} (give a number)")
        try:  # a 0-d array, a tensor without a gradient, a Fraction, a Decimal: their number
            number = float(p)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Dropout: p must be in [0, 1), not a {type_name(p)} (give a number)"
            ) from None
        if not 0.0 <= number < 1.0:  # NaN too
            raise ConfigError(f"Dropout: p must be in [0, 1), not {p if is_real(p) else number}")
        return number

    def __setstate__(self, state: Any) -> None:
        """A layer pickled before buffers had its generator as a plain attribute: it becomes
        the buffer ``__init__`` registers, so a trainer's checkpoint keeps its state."""
        super().__setstate__(state)
        if "rng" not in self._buffers:
            self.register_buffer("rng", self.__dict__["rng"])

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not backend.is_floating(x.dtype, x.xp):
            # integers and booleans in the library's default float, as a unit layer computes
            # them, in every mode: the same dtype in training as in evaluation
            x = x.astype(backend.default_float(x.xp, x.data))
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random(x.shape) >= self.p  # drawn on the host: the same on any library
        into = x.dtype  # a mask in the input's float
        name = backend.dtype_name(into)
        # a float NumPy has not (bfloat16) is made in float32 and rounded once on the move:
        # torch takes no NumPy array of ml_dtypes' bfloat16
        host = np.dtype(name if name in _HOST_FLOATS else "float32")
        mask = keep.astype(host) / host.type(1.0 - self.p)
        if type(x.data) is not np.ndarray:  # one copy to the input's library and device
            mask = backend.asarray_like(mask, x.data, dtype=into)
        drawn = Tensor(mask)
        drawn.name = f"{self.MASK_NAME} (p={self.p:g}: kept x 1/(1-p) = {1 / (1 - self.p):.4g})"
        return x * drawn

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"type": _config_type(self, Dropout), "p": self.p}
        if self.seed is not None:
            config["rng"] = self.seed
        return config

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _check_layer(index: int, layer: Any) -> None:
    """Refuse a layer of a Sequential that is not a Module (a function such as ``np.tanh``
    failed only in forward, with a ufunc's TypeError)."""
    if not isinstance(layer, Module):
        raise ConfigError(f"Sequential: layer {index} must be a Module, not {type_name(layer)}")


def _position(owner: str, index: Any, count: int, what: str) -> int:
    """``index`` as a position from 0 among ``count`` layers or branches (negative counts from
    the end); a float, a string or a slice is a TypeError, as in PyTorch."""
    position = operator.index(index)
    if not -count <= position < count:
        raise IndexError(_position_refusal(owner, index, count, what))
    return position % count


def _position_refusal(owner: str, index: Any, count: int, what: str = "layers") -> str:
    """The words of an index past ``count`` layers or branches of ``owner``: the one wording of
    reading, replacing and removing one."""
    held = f" (0..{count - 1}, or -{count}..-1 from the end)" if count else ""
    return f"{owner}: index {index} is out of range for {count} {what}{held}"


@register_module
class Sequential(Module):
    """Layers applied in order; indexable (``net[0]``, ``net[1:]``, ``net[1] = nn.ReLU()``,
    ``del net[1]``), with ``len`` and iteration.

    Parameters are named by position: ``"0.weight"``, ``"0.bias"``, ``"2.weight"`` ...
    The submodules are the layers, named by their positions 0, 1, ... (what a saved model's
    config rebuilds): ``layers`` is the tuple of them in order, kept in step whenever one is
    replaced (``net[1] = ...``, ``setattr(net, "1", ...)``), appended, or deleted
    (``del net[1]``, ``delattr(net, "1")``: the rest are numbered again), so ``forward``,
    ``parameters()`` and the ``state_dict`` always see the same network. A layer under another
    name (``net.head = ...``, ``net.5`` of three) is refused: it would have no position.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        # the submodules in order, as a tuple refreshed on every change: forward reads it (its
        # hot path), and the submodules stay its one home
        object.__setattr__(self, "layers", ())
        for position, layer in enumerate(layers):  # registered, then the tuple built once:
            _check_layer(position, layer)  # append's refresh per layer made a model file of
            Module.__setattr__(self, str(position), layer)  # 100,000 layers load for minutes
        self._refresh()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "layers":
            raise AttributeError(
                "Sequential.layers is read-only, its submodules in order: replace a layer with "
                "net[i] = layer, add one with net.append(layer), remove one with del net[i]"
            )
        if value is None and name in self._modules:  # a gap the next append would fill
            raise ConfigError(
                f"Sequential: cannot set layer {name} to None; remove it with del net[{name}]"
            )
        if isinstance(value, Module) and name not in self._modules:
            position = str(len(self._modules))
            if name != position:
                raise ConfigError(
                    f"Sequential: a layer is named by its position ({position} comes next), not "
                    f"{name!r}: add it with net.append(layer), replace one with net[i] = layer"
                )
        super().__setattr__(name, value)
        self._refresh()

    def __delattr__(self, name: str) -> None:
        if name in self._modules:  # a layer: the rest are numbered again, as del net[i] does
            del self[list(self._modules).index(name)]
        else:
            super().__delattr__(name)

    def _refresh(self) -> None:
        object.__setattr__(self, "layers", tuple(self._modules.values()))

    def forward(self, x: Any) -> Any:
        """Each layer in turn, ``x = layer(x)``; a plain array or an integer tensor takes the
        network's dtype, as Linear's does, whichever layer comes first."""
        if not isinstance(x, Tensor) or not backend.holds_floats(x.data):
            x = self._input(x)
        for layer in self.layers:
            # The one speed trick of the nn layer: a layer whose ``__call__`` is Module's plain
            # one is run through ``layer.forward`` at once, the very call ``__call__`` would
            # make (an instance's own ``forward`` included), one Python frame fewer per layer.
            # Any other ``__call__`` (a mixin's, a subclass's) is called as written.
            x = layer.forward(x) if type(layer).__call__ is _PLAIN_CALL else layer(x)
        return x

    def _input(self, x: Any) -> Any:
        """A plain array in the first parameter's dtype (library, device) when the first layer
        is a unit or Dropout (Linear and Parallel cast it themselves, a layer of one's own takes
        it as given); with no parameters, as given (NumPy's rules)."""
        params = self.parameters()
        if params and isinstance(self.layers[0], (_Unit, _AlongAxis, Dropout)):
            return _input_like(x.data if isinstance(x, Tensor) else x, params[0].data)
        return x

    def append(self, layer: Module) -> Sequential:
        """Add a layer at the end; returns ``self``."""
        _check_layer(len(self.layers), layer)
        setattr(self, str(len(self.layers)), layer)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        try:
            return self.layers[index]
        except IndexError:  # Python's "tuple index out of range": named as __setitem__ names it
            raise IndexError(_position_refusal("Sequential", index, len(self.layers))) from None

    def __setitem__(self, index: int, layer: Module) -> None:
        """Replace the layer at ``index`` (its parameters' names stay ``"<index>.weight"`` ...)."""
        position = _position("Sequential", index, len(self.layers), "layers")
        _check_layer(position, layer)
        setattr(self, str(position), layer)

    def __delitem__(self, index: int | slice) -> None:
        """Remove the layer(s) at ``index`` and number the rest 0, 1, ... again, as PyTorch
        does (the parameters after it are renamed: ``"2.weight"`` becomes ``"1.weight"``)."""
        kept = list(self.layers)
        if not isinstance(index, slice):
            index = _position("Sequential", index, len(kept), "layers")
        del kept[index]
        for name in list(self._modules):
            Module.__delattr__(self, name)
        for position, layer in enumerate(kept):
            Module.__setattr__(self, str(position), layer)
        self._refresh()

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def config(self) -> dict[str, Any]:
        layers = [layer.config() for layer in self.layers]
        return {"type": _config_type(self, Sequential), "layers": layers}

    @classmethod
    def from_config(cls, config: Any) -> Sequential:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ConfigError("from_config: a Sequential config needs a 'layers' list")
        return cls(*[from_config(layer) for layer in layers])


@register_module
class Parallel(Module):
    """Branches side by side, each reading its own block of input columns; outputs concatenated.

    ``Parallel((24, a), (12, b))`` sends columns 0-23 to ``a`` and 24-35 to ``b`` and joins
    their outputs along the last axis: no connection crosses from one block to the other branch
    (RHW 1986's family-trees network encodes a person and a relation this way). Parameters are
    named by branch position: ``"0.0.weight"`` is the weight of branch 0's first layer.

    >>> net = Parallel((2, Linear(2, 1, rng=0)), (3, Linear(3, 2, rng=1)))
    >>> net([[1.0, 0.0, 0.0, 1.0, 0.0]]).shape
    (1, 3)
    """

    def __init__(self, *branches: tuple[int, Module]) -> None:
        super().__init__()
        if not branches:
            raise ConfigError("Parallel: give at least one (width, module) branch")
        widths = []
        for index, branch in enumerate(branches):
            if (
                not isinstance(branch, (tuple, list))
                or len(branch) != 2
                or not isinstance(branch[1], Module)
                or not is_integer(branch[0])
                or branch[0] < 1
            ):
                raise ConfigError(
                    f"Parallel: branch {index} must be (width >= 1, module), got {branch!r}"
                )
            widths.append(int(branch[0]))
            setattr(self, str(index), branch[1])
        object.__setattr__(self, "widths", widths)
        ends = np.cumsum([0, *widths])
        object.__setattr__(self, "_slices", [slice(a, b) for a, b in zip(ends[:-1], ends[1:])])

    def __setstate__(self, state: Any) -> None:
        """A pickle of an older chainrule kept a list of the branches beside the submodules:
        left out, the submodules are their one home (:attr:`branches`)."""
        super().__setstate__(state)
        self.__dict__.pop("branches", None)

    @property
    def branches(self) -> list[Module]:
        """The branches in order: the submodules, their one home (``par[0] = m`` or
        ``setattr(par, "0", m)`` replaces branch 0 for ``forward`` and ``parameters()`` alike)."""
        return list(self._modules.values())

    def __setattr__(self, name: str, value: Any) -> None:
        """A branch may be replaced, not added: a new one would have no columns to read."""
        if isinstance(value, Module) and name not in self._modules and "widths" in self.__dict__:
            raise ConfigError(
                f"Parallel: cannot add a branch {name!r} to {len(self.widths)} branches (each "
                "reads its own block of columns); build a new Parallel with its width"
            )
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        """A branch may be replaced, not removed: the others would read its columns."""
        if name in self._modules:
            raise ConfigError(
                f"Parallel: cannot remove branch {name!r} (it reads columns the others do not); "
                "build a new Parallel of the branches to keep, with their widths"
            )
        super().__delattr__(name)

    def __delitem__(self, index: int) -> None:
        delattr(self, str(index))  # refused, saying why

    def __setitem__(self, index: int, branch: Module) -> None:
        """Replace branch ``index`` (it reads the same columns)."""
        position = _position("Parallel", index, len(self.widths), "branches")
        if not isinstance(branch, Module):
            raise TypeError(f"Parallel: branch {index} must be a Module, not {type_name(branch)}")
        setattr(self, str(position), branch)

    def forward(self, x: Any) -> Tensor:
        """Each branch on its columns of ``x`` (n_cases, sum of widths), joined side by side."""
        if not isinstance(x, Tensor):  # a plain batch takes the weights' dtype, library, device
            params = self.parameters()
            x = _input_like(x, params[0].data) if params else Tensor(x)
        shape = x.data.shape
        if len(shape) != 2 or shape[1] != sum(self.widths):
            raise ShapeError(
                f"Parallel{tuple(self.widths)}: input has shape {tuple(shape)}; expected "
                f"(n_cases, {sum(self.widths)})"
            )
        outputs = [branch(x[:, cols]) for branch, cols in zip(self.branches, self._slices)]
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=1)

    def __getitem__(self, index: int) -> Module:
        try:
            return self.branches[index]
        except IndexError:
            raise IndexError(
                _position_refusal("Parallel", index, len(self.branches), "branches")
            ) from None

    def __len__(self) -> int:
        return len(self.branches)

    def config(self) -> dict[str, Any]:
        return {
            "type": _config_type(self, Parallel),
            "widths": list(self.widths),
            "branches": [branch.config() for branch in self.branches],
        }

    @classmethod
    def from_config(cls, config: Any) -> Parallel:
        widths, branches = config.get("widths"), config.get("branches")
        if not isinstance(widths, list) or not isinstance(branches, list):
            raise ConfigError("from_config: a Parallel config needs 'widths' and 'branches' lists")
        if len(widths) != len(branches):
            raise ConfigError(
                f"from_config: Parallel has {len(widths)} widths but {len(branches)} branches"
            )
        return cls(*[(w, from_config(b)) for w, b in zip(widths, branches)])

    def extra_repr(self) -> str:
        return f"widths={self.widths}"
