"""Elementwise primitives: arithmetic with NumPy broadcasting, and smooth functions of one input.

Each entry is the forward on arrays and, beside it, one derivative rule per input. A binary rule
hands its contribution to :func:`unbroadcast`, which sums it back to that input's shape. Rules call
the private primitives (``_exp``), which also run on plain arrays: see :mod:`.registry`.
"""

from __future__ import annotations

from typing import Any

import numpy

from chainrule import backend
from chainrule.backend import array_module
from chainrule.engine import apply
from chainrule.errors import is_about_shapes
from chainrule.ops.registry import EachInput, array_of, primitive
from chainrule.ops.shape import as_tensor, as_tensors, unbroadcast
from chainrule.tensor import Tensor, check_numbers_dtype

# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


def _plus(a: Any, b: Any) -> Any:
    """a + b (booleans refused naming the cast: :func:`_refuse_naming_the_cast`)."""
    try:
        return a + b
    except TypeError as error:
        _refuse_naming_the_cast(error, a, b)
        raise


def _minus(a: Any, b: Any) -> Any:
    """a - b (booleans refused naming the cast: :func:`_refuse_naming_the_cast`)."""
    try:
        return a - b
    except TypeError as error:
        _refuse_naming_the_cast(error, a, b)
        raise


def _times(a: Any, b: Any) -> Any:
    """a * b (booleans refused naming the cast: :func:`_refuse_naming_the_cast`)."""
    try:
        return a * b
    except TypeError as error:
        _refuse_naming_the_cast(error, a, b)
        raise


_add = primitive(
    "add",
    _plus,
    lambda g, out, a, b: unbroadcast(g, a.shape),
    lambda g, out, a, b: unbroadcast(g, b.shape),
)
_sub = primitive(
    "sub",
    _minus,
    lambda g, out, a, b: unbroadcast(g, a.shape),
    lambda g, out, a, b: unbroadcast(-g, b.shape),
)
_mul = primitive(
    "mul",
    _times,
    lambda g, out, a, b: unbroadcast(g * b, a.shape),
    lambda g, out, a, b: unbroadcast(g * a, b.shape),
)


def _true_divide(a: Any, b: Any) -> Any:
    """a / b. array-api-strict divides floats only (the standard leaves integers' true division
    to each library; NumPy, PyTorch and JAX give their default float), and its refusal named no
    way out: where an operand is not floating, the refusal says to cast it first
    (:func:`_refuse_naming_the_cast`)."""
    try:
        return a / b
    except TypeError as error:
        _refuse_naming_the_cast(error, a, b, floats_only=True)
        raise


def _refuse_naming_the_cast(error: TypeError, a: Any, b: Any, floats_only: bool = False) -> None:
    """Raise a library's refusal of an arithmetic op's operands with the cast that fixes it
    after its first line: array-api-strict has no arithmetic on booleans (``bool_x * 2``: cast
    to the other operand's dtype, or the library's default integer) and, for ``floats_only``
    (true division), none on integers either (cast to the library's default float). Any other
    refusal (of shapes, of a mix of libraries, of operands that were already numbers of the
    kind asked) returns, for the caller to re-raise and the engine to name. Only a library
    that refuses pays: NumPy and PyTorch multiply booleans (``[True, False] * 2`` is
    ``[2, 0]``)."""
    arrays = [x for x in (a, b) if hasattr(x, "dtype")]
    if isinstance(error, backend.ArrayLibraryError) or is_about_shapes(error) or not arrays:
        return
    xp = array_module(arrays[0])
    booleans = [x for x in arrays if backend.dtype_name(x.dtype) == "bool"]
    if floats_only and not all(map(backend.holds_floats, arrays)):
        kind = "boolean" if booleans else "integer"
        wanted = backend.dtype_name(backend.default_float(xp, arrays[0]))
        fix = f"cast the {kind} operand to a float dtype first (x.astype('{wanted}'))"
    elif booleans and not floats_only:
        numbers = [x for x in arrays if backend.dtype_name(x.dtype) != "bool"]
        other = numbers[0].dtype if numbers else backend.default_int(xp, arrays[0])
        wanted = backend.dtype_name(other)
        fix = f"cast the boolean operand to a number dtype first (x.astype('{wanted}'))"
    else:
        return
    raise TypeError(f"{str(error).splitlines()[0]}; {fix}") from error


_div = primitive(
    "div",
    _true_divide,
    lambda g, out, a, b: unbroadcast(g / b, a.shape),
    lambda g, out, a, b: unbroadcast(-g * out / b, b.shape),
)
_neg = primitive("neg", lambda x: -x, lambda g, out, x: -g)


def add(a: Any, b: Any) -> Tensor:
    """a + b, broadcasting."""
    if type(a) is Tensor and type(b) is Tensor:  # the common case: straight to the engine
        return apply(_add, (a, b), {})
    return _add(*as_tensors(a, b, _add.name))


def sub(a: Any, b: Any) -> Tensor:
    """a - b, broadcasting."""
    if type(a) is Tensor and type(b) is Tensor:  # the common case: straight to the engine
        return apply(_sub, (a, b), {})
    return _sub(*as_tensors(a, b, _sub.name))


def mul(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting."""
    if type(a) is Tensor and type(b) is Tensor:  # the common case: straight to the engine
        return apply(_mul, (a, b), {})
    return _mul(*as_tensors(a, b, _mul.name))


def div(a: Any, b: Any) -> Tensor:
    """a / b, broadcasting. Beside an integer or boolean tensor, an integer its dtype cannot
    hold is divided as the float it is (:func:`_quotient_operand`)."""
    if type(a) is Tensor and type(b) is Tensor:  # the common case: straight to the engine
        return apply(_div, (a, b), {})
    return _div(*as_tensors(_quotient_operand(a, b), _quotient_operand(b, a), _div.name))


def _quotient_operand(value: Any, other: Any) -> Any:
    """``value``, an operand of a true division beside ``other``, as the float it is where it is
    an integer beyond every value of the integer or boolean tensor ``other``'s dtype: the
    quotient is a float whatever that integer is, so it has an answer, as NumPy 2 gives it
    (``int8_x / 300`` and ``300 / int8_x`` are float64; PyTorch's are its default float), where
    making 300 an int8 first was refused, and PyTorch made -1 beside uint8 its 255
    (``uint8_x / -1`` was ``x / 255``). An integer past every float is refused as before,
    naming div (:func:`~chainrule.backend.number_out_of_range`)."""
    if type(value) is not int and not isinstance(value, numpy.integer):
        return value  # a tensor, a float, a list: as it was (two type checks, on every call)
    if 0 <= value < 128 or not isinstance(other, Tensor):  # int8 and uint8 both hold 0 to 127
        return value  # (and booleans take such a number as an integer): no look-up for x / 2
    if not backend.number_beyond(value, other.data):
        return value  # an integer the dtype holds, or beside a float tensor: as it was
    try:
        return float(value)
    except OverflowError:
        return value


def _log_of_base(a: Any, b: Any) -> Any:
    """log(a) for d(a**b)/db = a**b log a, as PyTorch takes it: 0 at a = 0 with b >= 0 (a**b is
    0 or 1 there), but log 0 = -inf with b < 0 (a**b log a = inf * -inf = -inf, where a 0 made
    NaN). Where a < 0 or NaN, and a real a**b has no derivative in b, it is 1, a stand-in that
    :func:`_power_exponent_rule` replaces by NaN."""
    base = array_of(a)
    log = _log(_where(a, 1.0, condition=base > 0))
    log = _where(log, float("-inf"), condition=(base != 0) | (array_of(b) >= 0))
    return _where(log, 1.0, condition=base >= 0)


def _power_exponent_rule(g: Any, out: Any, a: Any, b: Any) -> Any:
    """d(a**b)/db = a**b log a, as g * (out * log a) in PyTorch's order (g * out could overflow
    where out * log a is finite); NaN where a < 0 or NaN, whatever g is, as in PyTorch.

    The NaN is selected in last rather than carried through the products in log a.
    Differentiated again, a product sends each factor its cotangent times the other factor, and
    0 * NaN is NaN: the 0 that comes back where this gradient was selected away (an exponent
    relu(x), or where(x < 0, 2.0, x), at x < 0) became a NaN second derivative in x where the
    first is finite. Selected in, the NaN is :func:`_undefined` of g, a and out: its derivatives
    in them are NaN where a nonzero cotangent comes back (d/da of d(a**b)/db, a Hessian's cross
    term, has no value there either; nor has d/db, through out) and 0 where the selection sends
    back 0 (as JAX's "double where" makes them). The products see the finite stand-in 1 for
    log a and for out * log a there: out * 1 and g * 1 warn of nothing where out * 0 or g * 0
    could be inf * 0, so the first pass warns as before.

    Out is one of them for forward mode, which transposes this rule (it differentiates the
    reverse pass, u -> J^T u, in u): the selections send 0 back to out * log a, so the
    cotangent g that reaches this rule from d2/db2 is 0 whatever u is, and the NaN of
    _undefined(g, a) was a constant in u, whose derivative (jvp or jacfwd of grad) was 0 where
    the reverse pass (hessian, hvp) and PyTorch give NaN. The NaN's derivative in out carries
    u to out, as g * log a would carry it (NaN) without the stand-in."""
    defined = array_of(a) >= 0  # NaN compares False
    scaled_log = _where(out * _log_of_base(a, b), 1.0, condition=defined)
    slope = _where(g * scaled_log, _undefined(g, a, out), condition=defined)
    return unbroadcast(slope, b.shape)


def _times_undefined_rule(index: int, g: Any, out: Any, x: Any, *of: Any) -> Any:
    """The rules of :data:`_times_undefined`, x * u(of) with u a number that does not exist:
    to x, g * u; to each of ``of``, g * x * du, nothing where x is 0 (x joins ``of``, so one
    order up its derivative in x is undefined where that cotangent is not 0 either)."""
    if index == 0:
        return _times_undefined(g, *of)
    reaching = _where(g, 0.0, condition=array_of(x) != 0)
    return unbroadcast(_times_undefined(reaching, x, *of), of[index - 1].shape)


#: x * u(of...), where u is a number of the inputs ``of`` that does not exist (d(a**b)/db at
#: a < 0): NaN where x is not 0, and 0 (x itself) where it is, as a cotangent selected away
#: (0) times u is 0. Its derivatives are values of the same kind, NaN only where a nonzero
#: cotangent comes back, at every order. A private part of power's rule, registered as every
#: primitive is (the array-library table runs it through power's second derivatives), named
#: for where it comes from: anomaly mode and the graph view show that name.
_times_undefined = primitive(
    "power_slope_undefined",
    lambda x, *of: array_module(x).where(x == 0, x, float("nan")),
    EachInput(_times_undefined_rule),
    doc="Part of a ** b's derivatives: d(a**b)/db at a < 0 does not exist. x times that "
    "number: NaN, but 0 where x is 0 (a cotangent selected away).",
)


def _undefined(g: Any, *of: Any) -> Any:
    """NaN shaped as g, a value of g and ``of`` (which broadcast to g) that does not exist:
    1 * u(g, *of), whose derivatives in each are NaN where a nonzero cotangent reaches them."""
    if not any(isinstance(x, Tensor) for x in (g, *of)):
        return float("nan")  # nothing records (a first derivative): the same value, selected in
    ones = array_module(array_of(g)).ones_like(array_of(g))
    return _times_undefined(ones, g, *of)


def _power_base_rule(g: Any, out: Any, a: Any, b: Any) -> Any:
    """d(a**b)/da = b a**(b-1), which is 0 where b = 0 (a**0 is 1 for every a, NaN included,
    as IEEE's pow and torch's gradient have it). Only at b = 0 with a = 0, NaN or subnormal,
    where 0 * 0**-1, 0 * NaN or 0 * (1/1e-40 = inf in float32) would be NaN (and warn), is the
    base taken as 1; the exponent stays
    b - 1 everywhere, so the slope's own derivative in b (a second derivative, d2/da db) is
    a**(b-1) (1 + b log a) at b = 0 too, as d2/db da is (replacing the exponent by 1 there
    made it a, and the Hessian asymmetric)."""
    base = array_of(a)
    xp = array_module(base)  # xp.abs, not abs: this module's abs is the op (through apply)
    normal = xp.finfo(base.dtype).smallest_normal
    singular = ~(xp.abs(base) >= normal) & (array_of(b) == 0)  # NaN compares False: singular too
    slope = b * _where(a, 1.0, condition=~singular) ** (b - 1)
    return unbroadcast(g * slope, a.shape)


#: NumPy's refusal of an integer to a negative integer power, given on every library
_NEGATIVE_INTEGER_POWER = "Integers to negative integer powers are not allowed."


def _raised(base: Any, exponent: Any) -> Any:
    """base ** exponent; an integer (or boolean) base to a negative integer exponent is refused
    on every library as NumPy refuses it (a ``ValueError`` the engine names with the op and
    inputs): PyTorch truncated an array exponent's answer (``[2, 3] ** [-1, -1]`` was
    ``[0, 0]``), JAX wrapped garbage, and a number exponent met three libraries' three error
    classes. NumPy's arrays refuse it themselves: only other libraries pay the look, a float
    base by one cached dtype look-up. (``exponent`` by that name: power_scalar's parameter.)"""
    if type(base) is not numpy.ndarray and _negative_integer_power(base, exponent):
        raise ValueError(_NEGATIVE_INTEGER_POWER)
    return base**exponent


def _negative_integer_power(base: Any, exponent: Any) -> bool:
    """Whether an integer or boolean array ``base`` meets a negative integer ``exponent`` (a
    Python number, or an integer array holding one)."""
    if backend.holds_floats(base):
        return False
    if not hasattr(exponent, "dtype"):  # power_scalar's number
        return isinstance(exponent, int) and exponent < 0
    xp = array_module(base)
    return backend.is_integer(exponent.dtype, xp) and bool(xp.any(exponent < 0))


_power_scalar = primitive(
    "power_scalar",
    _raised,
    lambda g, out, x, exponent: (
        g * 0.0 if exponent == 0 else g * (exponent * _power_scalar(x, exponent=exponent - 1))
    ),  # x ** 0 is constant: 0 * x ** -1 would make a NaN at x = 0
    doc="x ** c for a constant exponent c.",
)
_power = primitive(
    "power",
    _raised,
    _power_base_rule,
    _power_exponent_rule,
    doc="a ** b with both a tensor.",
)


def power(base: Any, exponent: Any) -> Tensor:
    """base ** exponent; the exponent may be a number or a tensor.

    An integer exponent that an integer base's dtype cannot hold (``int32_x ** 2**40``), where
    the library refuses it (NumPy, array-api-strict), is an ``OverflowError`` naming the op,
    the dtype, the number and the cast that fits, as beside any op
    (:func:`~chainrule.backend.number_out_of_range`); a result the library gives (JAX's, in
    int32) and PyTorch's own refusal stand. A float base takes an integer exponent past int64
    (which PyTorch cannot convert) as a float: ``x ** 2**64`` is 1 or inf, as in NumPy. An
    integer base to a negative integer exponent is NumPy's ``ValueError`` on every library
    (:func:`_raised`)."""
    if isinstance(exponent, (int, float, numpy.integer)) and isinstance(base, Tensor):
        # ** 1 too: a new tensor, as in NumPy and PyTorch (the base itself, returned, had its
        # flags changed through the result's: y.requires_grad_(False) froze it).
        # A NumPy float64 is a float (and a NumPy integer a number), but under NumPy 2's
        # promotion it would make a float32 base float64: a plain Python number never upcasts
        plain = float(exponent) if isinstance(exponent, float) else int(exponent)
        try:
            return _power_scalar(base, exponent=plain)
        except OverflowError:  # NumPy's and array-api-strict's words name no op and no way out
            if not isinstance(plain, int):
                raise
            if backend.is_floating(base.dtype, base.xp) and -(2**1024) < plain < 2**1024:
                # PyTorch takes no int past int64: as the float it is, NumPy's answer
                return _power_scalar(base, exponent=float(plain))
            message = backend.number_out_of_range(plain, base.data, _power.name)
            raise OverflowError(message) from None
    return _power(*as_tensors(base, exponent, _power.name))


# ---------------------------------------------------------------------------------------------
# Smooth functions of one input
# ---------------------------------------------------------------------------------------------

# integers and booleans are cast to the library's default float first (backend.as_floating):
# NumPy's own ufuncs give float16 for bool, int8 and uint8
_exp = primitive(
    "exp", lambda x: array_module(x).exp(backend.as_floating(x)), lambda g, out, x: g * out
)
_log = primitive(
    "log", lambda x: array_module(x).log(backend.as_floating(x)), lambda g, out, x: g / x
)
_sqrt = primitive(
    "sqrt",
    lambda x: array_module(x).sqrt(backend.as_floating(x)),
    lambda g, out, x: g / (2 * out),
)
_abs = primitive(
    "abs",
    lambda x: array_module(x).abs(x),
    lambda g, out, x: g * _sign(array_of(x)),
    doc="|x|; the derivative at 0 is taken as 0, at NaN as 0 (as in PyTorch).",
)


def _sign(x: Any) -> Any:
    """-1, 0 or 1 by the sign of x, and 0 at NaN, as PyTorch's ``sgn`` gives it for abs's
    gradient (NumPy's sign is NaN there, which sent NaN to every input below)."""
    xp = array_module(x)
    sign = xp.sign(x)
    return xp.where(xp.isnan(x), xp.zeros_like(sign), sign)


def _signs(x: Any) -> Any:
    """-1, 0 or 1 by the sign of x, NaN at NaN (the array API's ``sign``: NumPy's and JAX's,
    on any library; PyTorch's own gives 0 there); a boolean as it is."""
    if type(x) is numpy.ndarray:
        return x.copy() if x.dtype == bool else numpy.sign(x)
    xp = array_module(x)
    if not backend.is_floating(x.dtype, xp):
        return xp.asarray(x, copy=True) if x.dtype == xp.bool else xp.sign(x)
    return xp.where(xp.isnan(x), x, xp.sign(x))


def _no_gradient(g: Any, out: Any, x: Any) -> Any:
    """0 everywhere, of g's shape and dtype, as PyTorch's rule for sign (not 0 * g, which is
    NaN where g is infinite); on arrays and tensors alike."""
    data = array_of(g)
    xp = array_module(data)
    return _masked(g, xp.zeros_like(data, dtype=xp.bool))


_signum = primitive(
    "sign",
    _signs,
    _no_gradient,
    doc="-1, 0 or 1 by the sign of x; its derivative is 0 everywhere (as in PyTorch).",
)


# each rule calls the other primitive: on arrays it computes, on tensors (create_graph) it is
# recorded, so the second derivatives (-sin, -cos) follow from the same two entries
_sine = primitive(
    "sin",
    lambda x: array_module(x).sin(backend.as_floating(x)),
    lambda g, out, x: g * _cosine(x),
    doc="Sine; d sin/dx = cos x.",
)
_cosine = primitive(
    "cos",
    lambda x: array_module(x).cos(backend.as_floating(x)),
    lambda g, out, x: -(g * _sine(x)),
    doc="Cosine; d cos/dx = -sin x.",
)


def neg(x: Any) -> Tensor:
    """-x."""
    return _neg(as_tensor(x))


def exp(x: Any) -> Tensor:
    """e ** x."""
    return _exp(as_tensor(x))


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return _log(as_tensor(x))


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return _sqrt(as_tensor(x))


def abs(x: Any) -> Tensor:  # noqa: A001 - the name users expect, as in NumPy
    """|x|; the derivative at 0 is taken as 0, at NaN as 0 (as in PyTorch)."""
    return _abs(as_tensor(x))


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 by the sign of each element (NaN at NaN, as in NumPy and the array API
    standard; PyTorch's ``sign`` gives 0 there); its derivative is 0 everywhere, as in PyTorch.

    The fast gradient sign method's step, ``x + eps * cr.sign(g)``:

    >>> import chainrule as cr
    >>> cr.sign(cr.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return _signum(as_tensor(x))


def sin(x: Any) -> Tensor:
    """Sine (radians); its derivative is cos x. Integers are taken in the library's float.

    >>> import chainrule as cr
    >>> cr.sin(cr.tensor([0.0]))
    tensor([0.])
    """
    return _sine(as_tensor(x))


def cos(x: Any) -> Tensor:
    """Cosine (radians); its derivative is -sin x. Integers are taken in the library's float.

    >>> import chainrule as cr
    >>> cr.cos(cr.tensor([0.0]))
    tensor([1.])
    """
    return _cosine(as_tensor(x))


# ---------------------------------------------------------------------------------------------
# Piecewise functions: the derivative is a constant mask, applied by selecting g (``where``),
# never by multiplying: an infinite g times the mask's 0 would be NaN, where PyTorch gives 0.
# ---------------------------------------------------------------------------------------------


#: each float type's bits as an integer of the same width
_BITS_OF_FLOAT = {numpy.dtype(f"f{n}"): numpy.dtype(f"i{n}") for n in (2, 4, 8)}


def _masked(g: Any, keep: Any) -> Any:
    """g where the boolean ``keep`` holds, else +0.0, as ``where`` gives it (not inf * 0 = NaN);
    on arrays and tensors alike.

    On NumPy it multiplies g's bits, as integers, by 0 or 1: the same bits as ``numpy.where`` at
    the cost of a product (``where`` branches on each element, several times slower on a large
    random mask).
    """
    if type(g) is numpy.ndarray and type(keep) is numpy.ndarray and keep.shape == g.shape:
        bits = _BITS_OF_FLOAT.get(g.dtype)
        if bits is not None:
            kept = keep.astype(bits)
            kept *= g.view(bits)
            return kept.view(g.dtype)
    return _where(g, 0.0, condition=keep)


def _share_of_ties(g: Any, mine: Any, other: Any, loses: Any) -> Any:
    """g where this input does not lose, g/2 where the two tie, 0 where it loses, as PyTorch
    sends it. A NaN on either side makes every comparison false: neither input loses, and both
    get g there, as in PyTorch (the value is NaN)."""
    ties = mine == other
    share = _masked(g, ~loses)
    if type(share) is not numpy.ndarray:
        return _where(0.5 * g, share, condition=ties)
    if ties.any():  # rare, so a pass over g only where there are some
        numpy.multiply(g, 0.5, out=share, where=ties)
    return share


_maximum = primitive(
    "maximum",
    lambda a, b: array_module(a).maximum(a, b),
    lambda g, out, a, b: unbroadcast(_share_of_ties(g, a, b, a < b), a.shape),
    lambda g, out, a, b: unbroadcast(_share_of_ties(g, b, a, b < a), b.shape),
)
_minimum = primitive(
    "minimum",
    lambda a, b: array_module(a).minimum(a, b),
    lambda g, out, a, b: unbroadcast(_share_of_ties(g, a, b, a > b), a.shape),
    lambda g, out, a, b: unbroadcast(_share_of_ties(g, b, a, b > a), b.shape),
)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise larger of a and b; at a tie each gets half the gradient, and where either is
    NaN (so is the value) both get all of it, as in PyTorch."""
    return _maximum(*as_tensors(a, b, _maximum.name))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise smaller of a and b; at a tie each gets half the gradient, and where either is
    NaN (so is the value) both get all of it, as in PyTorch."""
    return _minimum(*as_tensors(a, b, _minimum.name))


_where = primitive(
    "where",
    lambda a, b, condition: array_module(condition).where(condition, a, b),
    lambda g, out, a, b, condition: unbroadcast(_where(g, 0.0, condition=condition), a.shape),
    lambda g, out, a, b, condition: unbroadcast(_where(0.0, g, condition=condition), b.shape),
)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b``; the condition carries no gradient."""
    if isinstance(condition, Tensor):
        condition = condition.data
    a, b = as_tensors(a, b, "where")
    condition = backend.asarray_like(condition, a.data, dtype=bool, op="where")
    return _where(a, b, condition=condition)


def _clipped(x: Any, low: Any, high: Any) -> Any:
    """min(max(x, low), high), as np.clip computes it: with bounds out of order (low > high)
    the value is high. The standard's clip leaves that case unspecified (array-api-strict
    refuses it), so another library clips to one bound at a time."""
    xp = array_module(x)
    if xp is numpy or low is None or high is None:
        return xp.clip(x, low, high)
    return xp.clip(xp.clip(x, low, None), None, high)


_clip = primitive(
    "clip",
    lambda x, low, high: _clipped(x, low, high),
    # a bound may broadcast x (x of shape (2, 1), low of shape (2,)): sum back to x's shape
    lambda g, out, x, low, high: unbroadcast(_masked(g, _inside(array_of(x), low, high)), x.shape),
    doc="x limited to [low, high]; the gradient passes where low <= x <= high.",
)


def _inside(x: Any, low: Any, high: Any) -> Any:
    if low is None:
        return x <= high
    inside = x >= low
    return inside if high is None else inside & (x <= high)


def clip(x: Any, low: Any = None, high: Any = None, *, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to ``[low, high]`` (either bound may be None). ``min=`` and ``max=`` are
    the bounds too, by the names of PyTorch's ``clamp``, NumPy 2.1's ``clip`` and the array
    API's: ``cr.clip(x, min=0)``, as ``x.clip(min=0)``. A bound that is a tensor requiring
    grad gets the gradient where it is the value (x beyond it), as PyTorch's ``clamp`` gives
    it; x gets it where low <= x <= high."""
    if min is not None or max is not None:  # two identity tests where they are not given
        low, high = _clip_bounds(low, high, min, max)
    if low is None and high is None:
        raise ValueError("clip: give low, high, or both (or min=, max=)")
    x = as_tensor(x)
    if _differentiable(low) or _differentiable(high):
        return _clip_to_tensors(x, low, high)
    return _clip(x, low=_bound(low, x, -1), high=_bound(high, x, 1))


def _clip_bounds(low: Any, high: Any, min: Any, max: Any) -> tuple[Any, Any]:
    """``clip``'s bounds given by PyTorch's names too (``min=``, ``max=``), each once."""
    for name, ours, theirs in (("low", low, min), ("high", high, max)):
        if ours is not None and theirs is not None:
            other = "min" if name == "low" else "max"
            raise TypeError(f"clip: {name} and {other}= are two names of one bound; give it once")
    return (min if low is None else low), (max if high is None else high)


def _bound(value: Any, x: Tensor, side: int) -> Any:
    """A bound for np.clip, the lower (``side`` -1) or the upper (1): a NumPy scalar as the
    Python number it holds, which (under NumPy 2's promotion) never changes x's dtype; an array
    of a wider dtype does, as in NumPy. An array joins x's library and device (a NumPy array or
    list moves there); one of another library or device is refused naming both (it was handed
    to clip as it was: a NumPy x clipped by a torch bound came back a torch tensor, and its
    backward failed), and a torch tensor that requires grad as every op refuses it (its gradient
    was lost: :func:`~chainrule.backend.detached`). An integer beyond an integer x's dtype is
    :func:`_integer_bound`."""
    if isinstance(value, numpy.generic):  # first: a NumPy float64 is a float too
        value = value.item()
    if type(value) is int:
        return _integer_bound(value, x, side)
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):  # weak numbers, as beside any op (list_operand)
        return backend.list_operand(value, x.data)
    data = backend.bare_array(array_of(value))  # a pandas Series: the array of its values
    if hasattr(data, "shape") and not isinstance(data, numpy.ndarray | numpy.generic):
        # a torch tensor that requires grad is refused as beside any op: clip's rules would
        # send it nothing, and torch's graph would end here
        backend.check_compatible("clip", [x.data, backend.detached(data)])
        return data
    return data if x.xp is numpy else backend.asarray_like(data, x.data)


def _integer_bound(value: int, x: Tensor, side: int) -> int:
    """An integer bound for an integer ``x``, as NumPy takes it: one beyond every value of x's
    dtype on its own side (a low below them, a high above them: ``clip(int8_x, 0, 1000)``)
    clips nothing, and becomes the dtype's own limit there (JAX refused it in its jit's words,
    "An overflow was encountered while parsing an argument"); one beyond them on the other side
    (a low of 1000) would make every value one the dtype cannot hold, and is refused, as NumPy
    refuses it, naming clip's bound and the cast that fits. (A bound beside booleans, or
    floats, is any number: NumPy clips booleans as integers.)"""
    beyond = backend.number_beyond(value, x.data)
    if not beyond or backend.dtype_name(x.dtype) == "bool":
        return value
    if beyond != side:
        op = "clip (low)" if side < 0 else "clip (high)"
        raise OverflowError(backend.number_out_of_range(value, x.data, op))
    low, high = backend.value_limits(x.data)
    return low if side < 0 else high


def _differentiable(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _low_wins(x: Any, low: Any, high: Any, capped: bool) -> Any:
    """Where PyTorch's clamp sends the lower bound the gradient: x below it, and (with an upper
    bound) the bounds in order, low < high."""
    below = array_of(x) < array_of(low)
    return below & (array_of(low) < array_of(high)) if capped else below


def _high_wins(x: Any, low: Any, high: Any) -> Any:
    """Where the upper bound gets it: x above it, or bounds out of order (the value is high)."""
    return (array_of(x) > array_of(high)) | (array_of(high) < array_of(low))


_clip_to_bounds = primitive(
    "clip_to_bounds",
    lambda x, low, high, capped: _clipped(x, low, high),
    lambda g, out, x, low, high, capped: unbroadcast(
        _masked(g, _inside(array_of(x), array_of(low), array_of(high))), x.shape
    ),
    lambda g, out, x, low, high, capped: unbroadcast(
        _masked(g, _low_wins(x, low, high, capped)), low.shape
    ),
    lambda g, out, x, low, high, capped: unbroadcast(
        _masked(g, _high_wins(x, low, high)), high.shape
    ),
    doc="x limited to [low, high], tensors all; the gradients where PyTorch's clamp sends them.",
)


def _clip_to_tensors(x: Tensor, low: Any, high: Any) -> Tensor:
    """clip with bounds that are inputs too (a missing one infinite), by rules of its own:
    selections by comparison (x < low) would pass x or a bound through where a NaN makes the
    value NaN, as np.clip and torch.clamp give it."""
    # torch gives low no gradient where low >= high: not so against a missing high's +inf
    capped = high is not None
    low = as_tensor(-numpy.inf if low is None else low, x, "clip")
    high = as_tensor(numpy.inf if high is None else high, x, "clip")
    return _clip_to_bounds(x, low, high, capped=capped)


def _astype_vjp(g: Any, out: Any, x: Any, dtype: Any) -> Any:
    """The gradient cast back to the input's dtype; a complex one for a real input is sent on
    as it is, for backward to refuse (dropping its imaginary part would hide that the rules
    before it are not complex ones: see ``engine.COMPLEX_FORWARD_ONLY``)."""
    if _is_complex(g) and not _is_complex(x):
        return g
    return _astype(g, dtype=x.dtype)


def _is_complex(value: Any) -> bool:
    """Whether an array or tensor (a rule's argument, recording or not) holds complex numbers."""
    data = array_of(value)
    return backend.is_complex(data.dtype, array_module(data))


_astype = primitive(
    "astype",
    lambda x, dtype: x.astype(dtype) if type(x) is numpy.ndarray else backend.astype(x, dtype),
    _astype_vjp,
)


def astype(x: Any, dtype: Any) -> Tensor:
    """A copy in ``dtype``; the gradient is cast back to the input's dtype. A cast to an integer
    or boolean dtype rounds, which has no derivative: its result is cut from the graph (as
    PyTorch's ``.long()`` is), so nothing downstream is differentiated through the rounding.
    To ``x``'s own dtype it is a copy too, recorded (as NumPy's ``astype`` copies): it was
    ``x`` itself, whose flags then changed with the result's."""
    x = as_tensor(x)
    xp = x.xp
    try:
        if xp is not numpy:  # looked up first: comparing its dtype with NumPy's warns
            dtype = backend.dtype_in(xp, dtype)
        elif not isinstance(dtype, (str, type, numpy.dtype)) or x.dtype != dtype:
            # (a dtype equal to x's as given needs no look-up; another library's, such as
            # torch.float32, is read by its name, not compared with x's: array-api-strict warns)
            dtype = backend.dtype_in(numpy, dtype)
    except TypeError:  # NumPy's "data type 'banana' not understood": said as cr.tensor says it
        from chainrule.creation import host_dtype  # the words' one home, read on this path

        found = host_dtype(dtype, "astype")  # raises where NumPy knows no such dtype
        if xp is not numpy or not isinstance(dtype, str):
            raise  # the library's refusal stands (float64 on JAX without x64; NumPy's of
            # torch.bfloat16, "numpy has no dtype bfloat16")
        # ml_dtypes' bfloat16, which NumPy reads by name only once ml_dtypes is imported: taken
        # by name whether or not the caller imported it
        dtype = found
    if x.dtype == dtype:
        return _astype(x, dtype=x.dtype)
    if xp is numpy:  # strings, objects, dates refused; ml_dtypes' floats taken (bf16 rounding)
        check_numbers_dtype(numpy.dtype(dtype), "astype")
    if not backend.is_floating(dtype, xp):
        return Tensor._wrap(backend.astype(x.data, dtype))
    return _astype(x, dtype=dtype)
