"""Gradient checking: the engine's derivatives against central finite differences.

``gradcheck(f, inputs)`` compares the analytic Jacobian (``mode="full"``) or its products with
random directions (``mode="random"``, cheap for large inputs) with

    (f(x + eps e) - f(x - eps e)) / (2 eps),

whose error is O(eps^2). ``order=2`` checks the backward pass itself, in the rules' tensor mode
(``create_graph``, what Hessians and forward mode run): its J^T u, for a random u, is compared
with finite differences of u . f, and then its own derivatives with its finite differences. The
first comparison catches a tensor mode that is wrong but consistent with its own derivatives
(its failure's ``note`` names the first rule whose tensor mode gives other values than its
array mode; the second's, the first whose recorded derivative disagrees with its values').
Both hold u fixed, and forward mode (``jvp``, ``jacobian(mode="forward")``) differentiates that
pass with respect to u: so, where both pass, forward mode's J v along one random v per input
is compared with the differences of f along v (every output entry in full mode, u . J v in
random mode). It catches a rule whose tensor mode is not linear in its cotangent g (one that
reads g's array, ``cr.tensor(array_of(g)) * 3 * x * x``): right J^T u and Hessians, but a jvp of
0. Such a failure's ``note`` names the rule, found by testing each rule of f's graph for
linearity in g.
Checks run in float64: float32 carries about 7 digits, too few for differences of nearby values.
An ``f`` that rounds through float32 on the way (``x.astype('float32') * x``, whose output is
float64) fails a right gradient on that rounding: where a check fails, the graph ``f`` recorded
is walked once, and a warning and the report's ``note`` name the first op computed in a coarser
float and its dtype (a passing check walks nothing). The same walk finds kinks: where an op of
the graph is not differentiable at (or within a few steps eps of) the point checked, relu or abs
at 0, maximum or minimum at a tie, clip at a bound, a max or min reduction (max-pooling) where
entries tie for a window's extreme, the difference straddles the kink and
averages its two sides' slopes, and a right rule fails; the ``note`` names the op and the
entries there (``'relu' (kink at 0) at input 0[1] = 0``). The check still fails.
The step ``eps`` is absolute, so it must stay well above the spacing of float64 numbers near the
largest |x| checked (``np.spacing(x)``: 1.2e-7 at 1e9, 1.2e-4 at 1e12): below it, ``x + eps``
rounds to ``x`` and a right gradient fails (``x * 2`` at 1e12 gives a numeric derivative of 0;
at 1e9 the step itself rounds by 5%, and so does the derivative). Where ``eps`` is within
:data:`STEP_SPACINGS` spacings of an input's largest |x|, a warning names the input and
suggests an ``eps`` (about 1e-6 times that |x|), and the report carries the same ``note``; the
verdict is the comparison's, unchanged.

An input of another array library (PyTorch, CuPy, JAX, array-api-strict) is checked in that
library and on its device: the inputs are cast to its float64 there, the perturbations
``x +- eps e`` are made there, and only the compared numbers come to the host. On a device without
float64 (array-api-strict's ``no_float64``, Apple's MPS, JAX without ``jax_enable_x64``) the
input is copied to the host in float64 instead, with a warning saying so: the check then runs on
NumPy (the same rules). An ``f`` that holds arrays of that library itself (a model moved there,
a constant) cannot combine them with the host copy; that is refused naming the ways out (pass
them as inputs, move the model to NumPy, or turn float64 on).

Integer and bool inputs (labels, indices, masks) are constants, as in
``torch.autograd.gradcheck``: ``f`` gets them unchanged, and they are neither perturbed nor
differentiated. Every floating input is checked, a tensor with ``requires_grad=False`` too (that
is how ``cr.tensor(x, xp=torch)`` places an input to check on another library); close over a
floating constant in ``f`` instead. Complex inputs are refused (complex numbers are
forward-only in chainrule; cast to float64, a complex input would be checked at another point).

``f`` gets fresh copies of the inputs at every call, so an ``f`` that writes into its input
cannot move the point checked. Each checked input reaches ``f`` as a tensor that requires a
gradient, with recording on, at every call (the differences' too), as
``torch.autograd.gradcheck`` calls it: an ``f`` that differentiates its own input, a
physics-informed residual (``ux, = cr.gradient(net(x).sum(), [x], create_graph=True)``), is
checked, at ``order=2`` too; a ``cr.gradient`` in ``f`` with ``create_graph`` left None is
recorded, as inside ``cr.grad``. It must return chainrule tensors computed from its inputs (a
tensor, or a tuple, list or dict of them); NumPy arrays, Python numbers or None are refused. It
must also be deterministic: it is called twice at the inputs, its output at each reverse pass
(made at the inputs; order 1) is compared with theirs too, and outputs that differ (dropout in
training mode, noise drawn inside ``f``) are refused, not reported as a wrong gradient. Two
calls often agree by chance (dropout over 3 units at p=0.5 draws the same mask 1 time in 8), and
the differences then drew other masks: so a check that fails calls ``f`` :data:`RANDOM_RECALLS`
more times at the inputs and makes its worst failures' differences again, and refuses ``f``
where any of them differs, before it gives its verdict. The refusal names the dropout masks
``f``'s graph holds (a layer in training mode names its mask, ``dropout mask (p=0.5: kept x
1/(1-p) = 2)``); a check that passes with one in its graph says in its ``note`` that every
call drew the same, so it holds for that mask.

The verdict. An entry passes where ``|analytic - numeric| <= atol + rtol * |numeric|``; one
that does not FAILS the check. Where none fails but some pass only because ``atol`` is larger
than the derivatives there (a sign-flipped rule whose derivatives are all below 5e-6 passes
``atol=1e-5``), the check gives no verdict (``ok`` None, as the explainer's checks and
``/api/gradcheck`` give none where an engine value of 0 would pass too, :func:`near_zero`):
such an entry differs from its finite difference by more than the check's own error there,
and fails with ``atol`` at that error. The error is estimated at each entry that differs by
more than the report's ``resolution`` (the output's rounding over the step in its dtype,
float32's for an f computing in float32, :func:`difference_rounding`, times
:data:`RESOLUTION_MARGIN`), as the explainer estimates its own: the difference's truncation
error, about eps^2 f'''/6, told by Richardson's |fd(2 eps) - fd(eps)| (made for those entries
only, and only where none failed), plus that rounding, times the margin (the entry's
``resolution``). A right rule is within it (x^3 at 0 differs from its difference by eps^2);
the report names an ``atol`` above it at every entry that the values hidden fail, says that
``atol`` passes their sign flip too only where it does, or says to rescale the inputs. Right
small derivatives agree beyond that error and pass, the ``note`` saying that ``atol`` alone
would have passed them; derivatives that are 0 within it pass, the note saying that a rule
giving 0 passes too; a check that compares nothing (an input or output with no entries)
passes, its note saying so. ``bool(report)`` is True only for a pass, and
``raise_on_failure`` raises :class:`GradcheckError` (its ``report`` attribute the report)
wherever it is False. A failure's report counts the entries that fail, states the tolerance
with its numbers and lists them worst first (furthest past their tolerance), 20 at most; its
``note`` also says where a right gradient can fail on the check itself: an input entry within
:data:`SMALL_INPUT_STEPS` steps eps of 0 along which the difference moves at a smaller step
(1/x at 1e-5: eps is not small next to |x|; it names an eps that fits), or failures within
the rounding of a large output (``f + 1e7``: take the constant out). Integer and bool inputs
left out of the check are named in the ``note``.

``mode="random"`` compares ``n_directions`` products u . J v per input, each a sum over every
entry: it catches a rule wrong everywhere or by much, but an error in one entry of many is
diluted (a 1% error in one of 400 entries moved u . J v by 0.07%, and passed rtol=1e-3),
and a failure names the direction and the input, not the entry. Check a rule's
entries in ``mode="full"`` on a small input.

A compared entry is named by the output and the position in it, in the order
:func:`~chainrule.functional.tree_flatten` gives the outputs: ``d out[1, 0] / d input 0[2]``
for a lone (2, 2) output, ``d out['e'][0, 1] / d input 1[0]`` for the one under key ``'e'`` of
a returned dict, ``d out[0] / d input 0[1]`` for a tuple's first, 0-d, output. At ``order=2`` the
second stage's entries are those of the gradient J^T u with respect to each input:
``(J^T u)[input 0][2], create_graph`` compares its value at input 0's entry 2, and
``d (J^T u)[input 0][2] / d input 1[0]`` its derivative; forward mode's are
``d out[1] / d input 0 . v, forward mode (J v)`` (``input 0: u . J v, forward mode (J v)`` in
random mode).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from chainrule import backend
from chainrule.checks import is_integer, is_real
from chainrule.engine import (
    _TENSOR_MODE_RULES,
    COMPLEX_FORWARD_ONLY,
    Node,
    enable_grad,
    no_grad,
    number_new_leaf,
    reverse_topological_order,
    rule_params,
)
from chainrule.errors import GradcheckError, ZeroDerivativeWarning, type_name, user_stacklevel
from chainrule.functional import (  # _gradient: a constant output gives zeros (J = 0)
    _differentiated_through,
    _gradient,
    _Traced,
    numbers_like,
    other_library_array,
    tree_flatten,
    tree_unflatten,
)
from chainrule.tensor import Tensor


@dataclass(frozen=True)
class _Stepped:
    """How a compared entry's finite difference was made: the central difference of ``fn``
    (f, or order 2's x -> J^T u) along ``direction`` of checked array ``index`` (an int: the
    unit vector of that flat entry), read at output ``weights`` (an int: that entry; an
    array: its dot product with the difference, u . J v)."""

    fn: Callable[..., Any]
    index: int
    direction: Any
    weights: Any

    def numeric(self, arrays: Sequence[Any], step: float, columns: dict) -> float:
        """The entry's difference over ``step``; ``columns`` keeps each difference made, which
        the entries of one column (every output along one input entry) share."""
        whole = isinstance(self.direction, int)
        key = (id(self.fn), self.index, self.direction if whole else id(self.direction), step)
        if key not in columns:
            a = arrays[self.index]
            direction = backend.unit_vector(a, self.direction) if whole else self.direction
            with np.errstate(all="ignore"):  # a step further may leave f's domain: inf, NaN
                columns[key] = _central_difference(self.fn, arrays, self.index, direction, step)
        column = columns[key]
        if isinstance(self.weights, int):
            return float(column[self.weights])
        return float(self.weights @ column)


@dataclass
class Mismatch:
    """One compared entry: where it is and the two values; ``input``, the input it was stepped
    along (its position in ``inputs``), and ``element``, the flat position of the entry stepped
    (None where a random direction moved them all). ``resolution``: the smallest difference
    the check can tell from its own error at this entry, where it was estimated (an entry
    within its tolerance only because of ``atol``, in a check where none failed): the
    difference's truncation error, told by Richardson's |fd(2 eps) - fd(eps)|, and the
    output's rounding in its dtype, times :data:`RESOLUTION_MARGIN`; None elsewhere (the
    report's ``resolution`` stands for it)."""

    where: str
    analytic: float
    numeric: float
    input: int | None = None
    element: int | None = None
    resolution: float | None = None
    #: how ``numeric`` was made, to make it again at twice the step; dropped once the check
    #: is made, so a report holds no reference to ``f``
    _stepped: _Stepped | None = field(default=None, repr=False, compare=False)

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    def tolerance(self, atol: float, rtol: float) -> float:
        """How far apart the two values may be: ``atol + rtol * |numeric|``."""
        return atol + rtol * abs(self.numeric)


@dataclass
class GradcheckReport:
    """What :func:`gradcheck` compared, and how far apart the two answers were.

    ``ok`` is the verdict: True, passed (also where nothing was compared, which the ``note``
    says); False, FAILED (an entry is outside its tolerance, ``|analytic - numeric| <= atol +
    rtol * |numeric|``, or ``problem`` says why nothing could be compared); None, no verdict:
    every entry is within its tolerance, but some only because ``atol`` is larger than the
    derivatives here: they differ by more than the check's own error there (with ``atol`` at
    their :attr:`Mismatch.resolution`, the difference's truncation and rounding, they fail:
    :meth:`hidden`). ``bool(report)`` is True only for a pass, and ``raise_on_failure``
    raises :class:`GradcheckError` wherever it is False: FAILED or no verdict."""

    ok: bool | None
    mode: str
    order: int
    eps: float
    max_abs_error: float  # the largest |analytic - numeric| of any entry
    max_rel_error: float  # the largest difference over |numeric| (floored at 1e-12)
    where: str  # the entry furthest outside its tolerance, atol + rtol |numeric|
    entries: list[Mismatch] = field(default_factory=list)
    atol: float = 0.0
    rtol: float = 0.0
    problem: str = ""  # why nothing could be compared: a rule's gradient of the wrong shape,
    # or none at all, or a ShapeError a rule raised
    note: str = ""  # eps too near an input's float64 spacing; a failure's float32 step, kinks
    #: the smallest difference the check can tell from its differences' rounding alone (an
    #: estimate: :func:`difference_rounding` in the output's dtype, times
    #: :data:`RESOLUTION_MARGIN`); an entry that differs by more, within ``atol``, has its own
    #: (:attr:`Mismatch.resolution`, adding the difference's truncation error)
    resolution: float = 0.0

    def __bool__(self) -> bool:
        return self.ok is True

    def failures(self) -> list[Mismatch]:
        """The entries outside their tolerance, in the order they were compared."""
        return [m for m in self.entries if not _close(m.analytic, m.numeric, self.atol, self.rtol)]

    def hidden(self) -> list[Mismatch]:
        """The entries within their tolerance only because of ``atol``: outside it with
        ``atol`` at what the check resolves there (:meth:`resolution_at`: a sign-flipped
        rule's, where every derivative is below ``atol``). Where there are any and no entry
        fails, there is no verdict."""
        return [
            m
            for m in self.entries
            if _close(m.analytic, m.numeric, self.atol, self.rtol)
            and not _close(m.analytic, m.numeric, self.resolution_at(m), self.rtol)
        ]

    def resolution_at(self, m: Mismatch) -> float:
        """The smallest difference the check can tell from its own error at entry ``m``: its
        :attr:`Mismatch.resolution` where estimated, else :attr:`resolution`."""
        return self.resolution if m.resolution is None else m.resolution

    def __str__(self) -> str:
        if self.problem:
            return f"gradcheck FAILED (order {self.order}, {self.mode} mode): {self.problem}"
        verdict = {True: "passed", False: "FAILED", None: "NO VERDICT"}[self.ok]
        lines = [
            f"gradcheck {verdict} (order {self.order}, {self.mode} mode, eps {self.eps:g}): "
            f"max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}; "
            f"furthest from its tolerance: {self.where}"
        ]
        rule = (
            f"|analytic - numeric| <= atol + rtol*|numeric| (atol = {self.atol:.3g}, "
            f"rtol = {self.rtol:.3g})"
        )
        shown, allowed = [], lambda m: self.atol
        if self.ok is False:
            shown = self.failures()
            lines.append(f"  {len(shown)} of {len(self.entries)} entries fail {rule}")
        elif self.ok is None:
            shown, allowed = self.hidden(), self.resolution_at
            lines.append(f"  no verdict: every entry is within {rule}, but {self._hidden_line()}")
        if self.note:
            lines.append(f"  note: {self.note}")
        if shown:
            lines += _table(shown, allowed, self.rtol, "tolerance" if self.ok is False else
                            "at its error")  # fmt: skip
        return "\n".join(lines)

    def _hidden_line(self) -> str:
        """Why there is no verdict: how many entries only ``atol`` passed, whether it passes
        their sign flip too (the rule's negative, where it does), and an ``atol`` that a right
        rule passes at every entry (above what the check resolves at each) and these fail."""
        hidden = self.hidden()
        flips = sum(_close(-m.analytic, m.numeric, self.atol, self.rtol) for m in hidden)
        line = (
            f"{len(hidden)} of {len(self.entries)} only because atol is larger than the "
            "derivatives here: they differ from their finite differences by more than the "
            "check's own error there (the difference's truncation and rounding, estimated at "
            "each entry: the 'at its error' column)"
        )
        if flips:
            line += (
                f"; this atol cannot tell the rule from its sign flip at {flips} of them: its "
                "negative passes too"
            )
        suggested = _rounded_up(self._telling_atol(hidden))
        if any(not _close(m.analytic, m.numeric, float(suggested), self.rtol) for m in hidden):
            line += (
                f"; pass atol={suggested}, which a right rule passes at every entry and these "
                "values fail, or rescale the inputs so that the derivatives are well above atol"
            )
        else:
            line += "; rescale the inputs so that the derivatives are well above atol"
        return line

    def _telling_atol(self, hidden: Sequence[Mismatch]) -> float:
        """The least ``atol`` at or above what the check resolves at every hidden entry (where
        a right rule's values may differ that much) that still passes every other entry."""
        others = [m for m in self.entries if all(m is not h for h in hidden)]
        return max(
            [self.resolution_at(m) for m in hidden]
            + [m.abs_error - self.rtol * abs(m.numeric) for m in others],
            default=0.0,
        )


#: How many rows of failures a report shows, worst first (the rest are counted)
SHOWN_ROWS = 20


def _table(
    shown: Sequence[Mismatch], atol: Callable[[Mismatch], float], rtol: float, allowed: str
) -> list[str]:
    """Rows of ``shown``, worst first (furthest past its tolerance, ``atol(m) + rtol
    |numeric|``, shown in the column headed ``allowed``), :data:`SHOWN_ROWS` of them and how
    many more."""
    worst_first = sorted(shown, key=lambda m: _badness(m, atol(m), rtol), reverse=True)
    lines = [
        f"  {'where (worst first)':<42} {'analytic':>16} {'numeric':>16} {'difference':>12} "
        f"{allowed:>12}"
    ]
    for m in worst_first[:SHOWN_ROWS]:
        lines.append(
            f"  {m.where:<42} {m.analytic:>16.9g} {m.numeric:>16.9g} {m.abs_error:>12.3g} "
            f"{m.tolerance(atol(m), rtol):>12.3g}"
        )
    if len(worst_first) > SHOWN_ROWS:
        lines.append(f"  ... and {len(worst_first) - SHOWN_ROWS} more")
    return lines


def _rounded_up(value: float) -> str:
    """``value`` rounded up to one significant digit, for a suggested tolerance (1.1e-08:
    2e-08)."""
    if not (math.isfinite(value) and value > 0):
        return f"{value:g}"
    power = 10.0 ** math.floor(math.log10(value))
    return f"{math.ceil(value / power * (1 - 1e-12)) * power:.0e}"


def _check_tolerances(eps: Any, atol: Any, rtol: Any) -> None:
    """The step and the tolerances as finite real numbers, the step above 0: an infinite
    tolerance passes a wrong gradient, a negative or NaN one fails every right one, and a step
    of 0 or NaN compares NaN, all without a word of why."""
    for name, value, least in (
        ("eps", eps, "above 0"),
        ("atol", atol, ">= 0"),
        ("rtol", rtol, ">= 0"),
    ):
        if not is_real(value):
            raise TypeError(f"gradcheck: {name} must be a real number, not {value!r}")
        if not (math.isfinite(value) and (value > 0 if name == "eps" else value >= 0)):
            raise ValueError(f"gradcheck: {name} must be a finite number {least}, not {value!r}")


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def _check_one_array(index: int, value: Any) -> None:
    """Refuse an input that is not one array: a dict, a tuple or list of arrays (stacked, two
    (2,) arrays reached ``f`` as one (2, 2) tensor), or a ragged list. Unlike the transforms,
    gradcheck takes one array (or nested list of numbers) per argument of ``f``."""
    if isinstance(value, dict) or (
        isinstance(value, (tuple, list)) and any(_holds_arrays(item) for item in value)
    ):
        raise TypeError(
            f"gradcheck: input {index} is a {type(value).__name__} of arrays; gradcheck takes "
            "one array per argument of f: pass each as an input of its own"
        )
    if isinstance(value, (tuple, list)):
        try:  # complex numbers too: _check_real refuses them by name
            np.asarray(value, dtype=np.complex128)
        except (ValueError, TypeError) as error:
            raise TypeError(
                f"gradcheck: input {index} is not an array of numbers ({error})"
            ) from None


def _whole(value: Any) -> bool:
    """Whether a Python number or list holds whole numbers (a constant: labels, a count)."""
    return np.asarray(value).dtype.kind in "biu"


def _holds_arrays(item: Any) -> bool:
    """Whether a list's item is an array or tensor, or a container of them (not a number)."""
    if isinstance(item, (tuple, list)):
        return any(_holds_arrays(inner) for inner in item)
    return isinstance(item, dict) or hasattr(item, "shape")


def _check_real(index: int, value: Any) -> None:
    """Refuse a complex input: cast to float64 it loses its imaginary part, and the check passes
    or fails at another point than the one given."""
    data, xp = _array_of(value)
    if backend.is_complex(data.dtype, xp):
        raise TypeError(
            f"gradcheck: input {index} is {backend.dtype_name(data.dtype)}: "
            f"{COMPLEX_FORWARD_ONLY}; check its real and imaginary parts as two real inputs"
        )


def _array_of(value: Any) -> tuple[Any, Any]:
    """An input's array (a Python number or list as a NumPy array) and its array library."""
    data = value.data if isinstance(value, Tensor) else value
    xp = backend.array_module(data)
    return (np.asarray(data) if xp is np else data), xp


def _is_constant(value: Any) -> bool:
    """Whether ``f`` gets ``value`` as it is, unchecked: integer or bool data has no derivative
    (cast to float64 and perturbed, labels become wrong labels)."""
    data, xp = _array_of(value)
    return backend.is_integer(data.dtype, xp) or backend.dtype_name(data.dtype) == "bool"


def _as_argument(value: Any) -> Tensor:
    """A constant input as the tensor ``f`` gets (a Python list as a NumPy array)."""
    if isinstance(value, Tensor):
        return value
    return Tensor._wrap(np.asarray(value) if backend.array_module(value) is np else value)


def _with_constants(
    f: Callable[..., Any], inputs: Sequence[Any], checked: Sequence[int]
) -> Callable[..., Any]:
    """``f`` as a function of the checked inputs only, the constants put back in their places."""
    if len(checked) == len(inputs):
        return f
    arguments = [_as_argument(value) for value in inputs]

    def f_of_checked(*xs: Tensor) -> Any:
        merged = list(arguments)
        for index, x in zip(checked, xs):
            merged[index] = x
        return f(*merged)

    return f_of_checked


def _float64_inputs(
    inputs: Sequence[Any], checked: Sequence[int]
) -> tuple[list[Any], dict[int, str]]:
    """The checked inputs as float64 arrays of their own library and device (fresh NumPy
    copies), or float64 host copies where the device has no float64; and the library (with
    its device) of each input so moved to the host, by the input's position."""
    arrays, moved_from = [], {}
    for index in checked:
        value = inputs[index]
        data = value.data if isinstance(value, Tensor) else value
        xp = backend.array_module(data)
        if xp is np:
            data = np.array(data)
        name = backend.dtype_name(data.dtype)
        if name in ("float32", "float16", "bfloat16"):
            warnings.warn(
                f"gradcheck: input {index} is {name}, too coarse for finite differences; "
                "checking in float64",
                stacklevel=3,
            )
        if xp is not np and not backend.has_float64(data):
            warnings.warn(
                f"gradcheck: input {index} is on {backend.library_name(data)}, which has no "
                "float64; checking on a float64 copy on the host (NumPy evaluates f there)",
                stacklevel=3,
            )
            moved_from[index] = backend.library_name(data)
            data = np.array(backend.to_numpy(data))
        arrays.append(backend.astype(data, "float64"))
    return arrays, moved_from


def _moved_input_problem(error: backend.ArrayLibraryError, moved_from: dict[int, str]) -> Exception:
    """The library-mixing ``error`` that ``f`` raised, told in gradcheck's words where an input
    that gradcheck copied to the host (its library has no float64; ``moved_from``) took part:
    the combination's own error blamed the caller for mixing libraries, or named NumPy, which
    the caller never passed, where gradcheck had moved the input. ``error`` itself otherwise.

    Where ``f`` met the moved input's own library (a model's weights, a constant of its own),
    the refusal says so; where it met the host copy beside a third library (a torch input
    beside a JAX one), the error's words stand and a note says which input NumPy's is."""
    libraries = error.libraries
    met = sorted(set(moved_from.values()).intersection(libraries))
    if met:
        return backend.ArrayLibraryError(
            f"gradcheck: the inputs were copied to the host in float64 ({met[0]} has no "
            f"float64 here), but f combines them with {met[0]} arrays of its own ({error}); "
            "give f's arrays to gradcheck as inputs too, move the model to NumPy "
            f"(model.to(xp=numpy)), or {_FLOAT64_ON}"
        )
    if not moved_from or "numpy" not in libraries:
        return error
    copies = " or ".join(f"input {index} ({name})" for index, name in moved_from.items())
    return error.saying_more(
        f"; the numpy operand is gradcheck's float64 copy on the host of {copies}, made "
        f"because that library has no float64 here; give gradcheck inputs of one library, or "
        f"{_FLOAT64_ON}"
    )


#: How to give JAX its float64, the one library whose float64 is a setting
_FLOAT64_ON = 'turn float64 on (JAX: jax.config.update("jax_enable_x64", True))'


#: How many spacings of float64 numbers near an input's largest |x| the step ``eps`` must
#: exceed: x +- eps is rounded to that spacing, so the step the difference divides by is off by
#: up to a spacing, 1/2000 of 2 eps here, half the default rtol of 1e-3.
STEP_SPACINGS = 1000


def _step_notes(arrays: Sequence[Any], checked: Sequence[int], eps: float) -> list[str]:
    """One warning per checked input whose largest finite |x| has a float64 spacing too near
    ``eps`` (:data:`STEP_SPACINGS`), each naming the input and an ``eps`` that fits."""
    notes = []
    for position, a in zip(checked, arrays):
        values = np.abs(backend.to_numpy(a)).reshape(-1)
        largest = float(values[np.isfinite(values)].max(initial=0.0))
        spacing = float(np.spacing(largest))
        if eps > STEP_SPACINGS * spacing:
            continue
        rounds = "x + eps rounds to x" if eps <= spacing / 2 else "x +- eps is rounded"
        notes.append(
            f"input {position} holds |x| up to {largest:g}, where float64 numbers are "
            f"{spacing:.3g} apart, and eps = {eps:g} is within {STEP_SPACINGS} of those "
            f"spacings: {rounds}, so the finite differences are off and a right gradient "
            f"can fail; pass eps={1e-6 * largest:.3g} (about 1e-6 times |x|)"
        )
    for note in notes:
        warnings.warn(f"gradcheck: {note}", stacklevel=3)
    return notes


#: The floats coarser than the float64 a check runs in: an f computing in one of them makes
#: differences of about 1e-7 relative rounding over a step of 1e-6, so a right gradient fails
_COARSE_FLOATS = ("float32", "float16", "bfloat16")


def _warn_if_coarse_output(name: str) -> None:
    """Warn where ``f`` computes its output (of dtype ``name``) in a coarser float than the
    float64 inputs it is given (an ``astype``, a float32 constant of its own): its differences
    then carry that rounding, and a right gradient can fail with nothing saying why."""
    if name in _COARSE_FLOATS:
        warnings.warn(
            f"gradcheck: f returns {name} from float64 inputs, so its finite differences carry "
            f"{name} rounding and can fail a right gradient; compute f in float64 to check it",
            stacklevel=3,
        )
    elif name.startswith(("int", "uint")) or name == "bool":  # a step of 1e-6 moves no integer
        warnings.warn(
            f"gradcheck: f returns {name} from float64 inputs: its finite differences are steps "
            "of whole numbers over 2 eps (0 or huge), not a derivative; check a float output",
            stacklevel=3,
        )


def _recorded(
    f: Callable[..., Any], arrays: Sequence[Any], run: _Run | None = None
) -> tuple[list[Tensor], list[Tensor]]:
    """``f`` run once more at the checked point, recording: its variables (one per checked
    input) and the tensors of its graph, outputs first. What a failure's diagnoses walk
    (:func:`_coarse_step_note`, :func:`_kink_note`); a passing check records nothing. A
    ``run`` recorded already at that point (:func:`_unread_note`'s) is walked instead."""
    if run is None:
        variables = [_fresh_variable(_copy(a)) for a in arrays]
        with enable_grad():  # a check called inside no_grad still needs the graph
            run = _Run(variables, _output_leaves(f, variables)[0])
    return run.variables, reverse_topological_order(run.outputs, "gradcheck")


class _Run(NamedTuple):
    """One recorded run of ``f`` at the checked point: its variables and its output tensors."""

    variables: list[Tensor]
    outputs: list[Tensor]


def _coarse_step_note(recorded: Sequence[Tensor]) -> str:
    """Why a failed check may be f's rounding, not its rule: the first op ``recorded`` on the
    way to f's output (:func:`_recorded`) that computes in a float coarser than the float64
    inputs (an ``astype``), named with its dtype; "" where there is none. A float64
    output hides such a step from the output's dtype (``x.astype('float32') * x``)."""
    coarse = [
        t
        for t in recorded
        if t._primitive is not None and backend.dtype_name(t.dtype) in _COARSE_FLOATS
    ]
    if not coarse:
        return ""
    first = min(coarse, key=lambda t: t._seq)  # the order the ops ran: where rounding began
    node, dtype = Node(first), backend.dtype_name(first.dtype)
    n_later = len(coarse) - 1
    later = f" (and {n_later} later op{'s' if n_later > 1 else ''})" if n_later else ""
    return (
        f"f computes '{node.op}'{node.where()} in {dtype}{later} from float64 inputs, so its "
        f"finite differences carry {dtype} rounding and can fail a right gradient; keep f in "
        f"float64 for the check: cast to float64, not {dtype}, and make its constants and "
        "weights float64 (model.to('float64'))"
    )


#: How many steps eps from its kink an op's input is taken to be within the finite
#: differences' reach: a random direction's entries, and the ops between an input and the
#: kinked op, scale the step that reaches it
KINK_STEPS = 4


def _kink_note(
    recorded: Sequence[Tensor],
    variables: Sequence[Tensor],
    checked: Sequence[int],
    eps: float,
    f: Callable[..., Any] | None = None,
    arrays: Sequence[Any] = (),
    columns: Sequence[tuple[int, int]] = (),
) -> str:
    """Why a failed check may be f's kinks, not its rules: each op ``recorded``
    (:func:`_recorded`) that is not differentiable where its input is (relu or abs at 0,
    maximum or minimum where its inputs tie, clip at a bound, a max or min reduction where
    entries tie for the extreme) or within :data:`KINK_STEPS`
    eps of it, or, where none is, whose input crosses its kink between x - eps and x + eps
    along one of ``columns`` ((array index, flat entry) of ``arrays``: f recorded again at
    both points, so a kink reached after a gain, relu(100 (x - 0.5)), is found however far it
    is in units of eps), named with the input's entries there; "" where there is none. There
    the difference (f(x + eps) - f(x - eps)) / 2 eps spans both sides and averages their
    slopes (relu at 0: 1/2), which no rule's one-sided derivative matches."""
    names = {id(v): f"input {position}" for v, position in zip(variables, checked)}
    found = []
    kinked = _kinked_ops(recorded)
    ops = [(Node(tensor), _kink_of(tensor)) for tensor in kinked]
    near = [np.abs(kink.distance) <= KINK_STEPS * eps for _, kink in ops]
    if f is not None and not any(mask.any() for mask in near):  # f recorded again only here
        for n, crossed in _crossed_kinks(f, arrays, columns, eps, kinked).items():
            near[n] = near[n] | crossed
    for (node, kink), mask in zip(ops, near):  # in the order f ran them
        at = np.flatnonzero(mask)
        if at.size:
            entries = _kinked_entries(kink.argument, kink.distance, at, names)
            found.append(f"'{node.op}'{node.where()} ({kink.kink}) at {entries}")
    if not found:
        return ""
    return (
        f"f was checked at a kink (or within {KINK_STEPS} eps of one, or where a step eps "
        f"crosses one): {'; '.join(found)}: "
        "not differentiable there; the finite difference straddles the kink and averages the "
        "slopes on its two sides (1/2 for relu at 0), which a rule's derivative there does "
        "not match; check at points further than eps from each kink"
    )


def _kink_of(tensor: Tensor) -> _Kink:
    """Where the kink of the op that made ``tensor`` is (:data:`_KINKS`)."""
    return _KINKS[tensor._primitive.name](Node(tensor))


def _kinked_ops(recorded: Sequence[Tensor]) -> list[Tensor]:
    """The tensors ``recorded`` made by an op with a kink (:data:`_KINKS`), in the order f ran
    them."""
    kinked = (t for t in recorded if t._primitive is not None and t._primitive.name in _KINKS)
    return sorted(kinked, key=lambda t: t._seq)


#: How many columns (input entries stepped) a failure's kink note records f again along
MAX_KINK_COLUMNS = 3


def _crossed_kinks(
    f: Callable[..., Any],
    arrays: Sequence[Any],
    columns: Sequence[tuple[int, int]],
    eps: float,
    kinked: Sequence[Tensor],
) -> dict[int, np.ndarray]:
    """For each op of ``kinked`` (f's ops with a kink at the point checked, in the order f ran
    them), by its position there: a mask, over its output, of the entries whose input is on
    the other side of the kink at x + eps than at x - eps along one of the first
    :data:`MAX_KINK_COLUMNS` ``columns`` (f recorded at both points: 2 calls a column). A
    run whose kinked ops differ from the point's (f branches on its input) is skipped."""
    crossed: dict[int, np.ndarray] = {}
    if not kinked:
        return crossed
    for index, flat in list(dict.fromkeys(columns))[:MAX_KINK_COLUMNS]:
        sides = []
        for sign in (1.0, -1.0):
            stepped = list(arrays)
            stepped[index] = arrays[index] + sign * eps * backend.unit_vector(arrays[index], flat)
            try:
                with np.errstate(all="ignore"):
                    ops = _kinked_ops(_recorded(f, stepped)[1])
            except Exception:  # only a diagnosis: f refused the stepped point
                ops = []
            sides.append(ops)
        plus, minus = sides
        if len(plus) != len(kinked) or len(minus) != len(kinked):
            continue
        for n, (base, up, down) in enumerate(zip(kinked, plus, minus)):
            if not (base._primitive.name == up._primitive.name == down._primitive.name):
                break
            if up.shape != base.shape or down.shape != base.shape:
                continue
            changed = _kink_of(up).side != _kink_of(down).side
            crossed[n] = crossed.get(n, False) | changed
    return crossed


def _kinked_entries(argument: Tensor, distance: np.ndarray, near: np.ndarray, names) -> str:
    """The entries ``near`` the kink (flat positions in ``distance``, of the op's output
    shape), each with the op's argument's value there: named as the report names an input
    (``input 0[1] = 0``) where the argument is one of f's inputs, else by position in the
    argument (``its input (computed in f) [0, 2] = 0``), or in the output where the op
    broadcast the argument. Five at most, and how many more."""
    values = backend.to_numpy(argument.data).astype(np.float64)
    name = names.get(id(argument))
    if values.shape != distance.shape:  # broadcast by the op: positions in its output
        name, values = None, np.broadcast_to(values, distance.shape)
        whose = "its output (broadcast)"
    else:
        whose = "" if name else "its input (computed in f)"
    values = values.reshape(-1)
    shown = [
        f"{name or ''}{_position(distance.shape, k)} = {values[k]:.6g}".lstrip() for k in near[:5]
    ]
    more = near.size - len(shown)
    return f"{whose} {', '.join(shown)}".lstrip() + (f" and {more} more" if more else "")


def _host(value: Any) -> np.ndarray:
    """An op's argument (a tensor, an array, a number; None: no bound) on the host in float64."""
    if value is None:
        return np.asarray(np.inf)
    data = value.data if isinstance(value, Tensor) else value
    return backend.to_numpy(data).astype(np.float64)


class _Kink(NamedTuple):
    """Where an op's kink is, for an op's node: its words, the input the distance is of, each
    entry's distance from the kink, and which side of it each entry is on (over the output's
    shape, or a reduction's input's: a step that changes the side crosses the kink)."""

    kink: str
    argument: Tensor
    distance: np.ndarray
    side: np.ndarray


def _zero_kink(node: Node) -> _Kink:
    """relu and abs: their kink is at an input of 0."""
    (x,) = node.inputs
    data = _host(x)
    return _Kink("kink at 0", x, data, np.broadcast_to(np.sign(data), node.output.shape))


def _tie_kink(node: Node) -> _Kink:
    """maximum and minimum: their kink is where the two inputs are equal."""
    a, b = node.inputs
    apart = _host(a) - _host(b)
    return _Kink("kink where its two inputs are equal", a, apart,
                 np.broadcast_to(np.sign(apart), node.output.shape))  # fmt: skip


def _bound_kink(node: Node) -> _Kink:
    """clip: its kinks are x at either bound (parameters, or inputs of clip_to_bounds); its
    side: below, between or above them."""
    x, *bounds = node.inputs
    low, high = bounds if bounds else (node.params.get("low"), node.params.get("high"))
    data = _host(x)
    with np.errstate(invalid="ignore"):  # inf - inf: an infinite x at no bound
        distance = np.minimum(np.abs(data - _host(low)), np.abs(data - _host(high)))
        side = np.sign(data - _host(low)) + np.sign(data - _host(high))
    shape = node.output.shape
    return _Kink("kinks at its bounds", x, np.broadcast_to(distance, shape),
                 np.broadcast_to(side, shape))  # fmt: skip


def _extreme_kink(node: Node) -> _Kink:
    """max and min over axes (max-pooling a reshaped image): the kink is where two entries of a
    window (the entries reduced into one output entry) tie for its extreme; the gradient goes
    to one of them on either side of the tie. Over the input: each entry's distance from a
    tie, the gap to the window's runner-up for the entry that attains the extreme, the gap to
    the extreme for the others; its side, whether it is the first to attain it."""
    (x,) = node.inputs
    data = _host(x) if node.op == "max" else -_host(x)  # min's ties are -x's max's
    axes = node.params["axes"]
    reduced = tuple(range(data.ndim - len(axes), data.ndim))
    windows = np.moveaxis(data, axes, reduced)
    moved_shape = windows.shape
    windows = windows.reshape(-1, math.prod(moved_shape[data.ndim - len(axes) :]))
    rows = np.arange(len(windows))
    first = np.argmax(windows, axis=1)  # the entry that takes the gradient (a NaN, where one is)
    best = windows[rows, first]
    others = windows.copy()
    others[rows, first] = -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf: an infinite extreme, a window of -inf
        runner_up = others.max(axis=1, initial=-np.inf)
        distance = best[:, None] - windows
        distance[rows, first] = best - runner_up
    side = np.zeros(windows.shape)
    side[rows, first] = 1.0

    def back(per_entry: np.ndarray) -> np.ndarray:
        return np.moveaxis(per_entry.reshape(moved_shape), reduced, axes)

    words = f"kink where entries it reduces tie for the {node.op}"
    return _Kink(words, x, back(distance), back(side))


#: The ops with a kink, each with what tells how far an input is from it
_KINKS = {
    "relu": _zero_kink,
    "abs": _zero_kink,
    "maximum": _tie_kink,
    "minimum": _tie_kink,
    "clip": _bound_kink,
    "clip_to_bounds": _bound_kink,
    "max": _extreme_kink,
    "min": _extreme_kink,
}


def _fresh_variable(array: Any) -> Tensor:
    """A new leaf holding ``array``, numbered as a transform's variables are
    (:func:`~chainrule.engine.number_new_leaf`): a graph ``f`` closes over that an earlier pass
    freed cannot lead to it, so the check takes it as a constant, as ``cr.grad`` does."""
    return number_new_leaf(Tensor._wrap(array).requires_grad_())


def _flat_output(f: Callable[..., Any], arrays: Sequence[Any]) -> Tensor:
    """Run ``f`` and join all of its output tensors into one flat vector."""
    return _joined(_output_leaves(f, arrays)[0])


def _joined(leaves: Sequence[Tensor]) -> Tensor:
    from chainrule.ops import concatenate, reshape

    flat = [reshape(leaf, (-1,)) for leaf in leaves]
    return flat[0] if len(flat) == 1 else concatenate(flat)


def _output_leaves(f: Callable[..., Any], arrays: Sequence[Any]) -> tuple[list[Tensor], Any]:
    """Run ``f``: its output tensors in :func:`tree_flatten`'s order, and how they nest. Anything
    but tensors is refused: a NumPy array or a number has no derivative, and was compared as
    a gradient of 0 (or joined into a tensor the analytic side saw as a constant).

    The one way the check calls ``f`` (its first calls, the differences, the reverse passes,
    the repeats and a failure's diagnoses): each checked input as a tensor that requires a
    gradient (a fresh variable for an array; a variable given, as it is), with recording on
    (inside ``no_grad`` too), as ``torch.autograd.gradcheck`` calls it, and taken as being
    differentiated through, as ``cr.grad``'s variables are (:class:`_differentiated_through`).
    So an ``f`` that differentiates its own input (a physics-informed residual,
    ``cr.gradient(net(x).sum(), [x])``) runs on the numeric side as on the analytic one (its
    input required no gradient there, and the call was refused), and its inner gradient is
    recorded where ``create_graph`` is left None, as inside ``cr.grad``."""
    variables = [a if isinstance(a, Tensor) else _fresh_variable(a) for a in arrays]
    with enable_grad(), _differentiated_through(variables):
        output = f(*variables)
    leaves, treedef = tree_flatten(output)
    if not leaves or not all(isinstance(leaf, Tensor) for leaf in leaves):
        raise TypeError(
            "gradcheck: f must return chainrule tensors computed from its inputs (a tensor, or "
            f"a tuple, list or dict of them), but {_what_is_not_a_tensor(output, leaves, treedef)}"
            " (NumPy results, .numpy() values and Python numbers carry no derivatives)"
        )
    return leaves, treedef


def _what_is_not_a_tensor(output: Any, leaves: Sequence[Any], treedef: Any) -> str:
    if not leaves:
        return (
            "it returned None"
            if output is None
            else f"it returned a {type_name(output)} with no tensor in it"
        )
    if treedef is None:
        return f"it returned a {type_name(output)}"
    paths = _output_paths(treedef, len(leaves))
    path, leaf = next((p, x) for p, x in zip(paths, leaves) if not isinstance(x, Tensor))
    return f"its output {path} is a {type_name(leaf)}"


def _output_paths(treedef: Any, count: int) -> list[str]:
    """Where each of ``count`` output tensors sits in what ``f`` returned, in
    :func:`tree_flatten`'s order: ``out`` alone, ``out[1]`` in a tuple, ``out['e']`` in a dict
    (the tree rebuilt with the tensors' numbers, so the order is tree_flatten's own)."""
    paths = ["out"] * count

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, (tuple, list)):
            items = enumerate(node)
        else:
            if node is not None:  # a None holds no tensor
                paths[node] = path
            return
        for key, item in items:
            visit(item, f"{path}[{key!r}]")

    visit(tree_unflatten(treedef, list(range(count))), "out")
    return paths


def _position(shape: Sequence[int], flat: int) -> str:
    """The multi-index of entry ``flat`` of an array of ``shape``: "[1, 0]" ("" when 0-d)."""
    return str([int(i) for i in np.unravel_index(flat, shape)]) if len(shape) else ""


class _EntryNames:
    """The names of a compared function's flat output entries: which output (its path in what
    the function returned) and the position in it, ``out['e'][0, 1]``. ``note`` marks random
    mode's entries, which name no output."""

    def __init__(self, paths: Sequence[str], shapes: Sequence[tuple], note: str = "") -> None:
        self.paths, self.shapes, self.note = paths, shapes, note
        self.starts = np.cumsum([0] + [math.prod(shape) for shape in shapes])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, flat: int) -> str:
        leaf = int(np.searchsorted(self.starts, flat, side="right")) - 1  # past empty outputs
        return self.paths[leaf] + _position(self.shapes[leaf], flat - int(self.starts[leaf]))


def _gradient_names(arrays: Sequence[Any], checked: Sequence[int]) -> _EntryNames:
    """The entries of J^T u, the gradient of u . f (what ``order=2`` checks second): one block
    per checked input, named by the input, not as outputs of f."""
    paths = [f"(J^T u)[input {position}]" for position in checked]
    return _EntryNames(paths, [tuple(a.shape) for a in arrays], ", derivatives of J^T u")


def _base_output(
    f: Callable[..., Any], arrays: Sequence[Any], noise: float
) -> tuple[_EntryNames, str, np.ndarray]:
    """``f`` at the checked point, called twice: the names of its output entries, its dtype and
    its values (flat, float64, on the host). Outputs that differ by more than ``noise`` are
    refused (see :func:`_check_deterministic`)."""
    leaves, treedef = _output_leaves(f, [_copy(a) for a in arrays])
    first = _joined(leaves)
    dtype = backend.dtype_name(first.dtype)
    if backend.is_complex(first.dtype, backend.array_module(first.data)):
        # compared on the host as float64, only its real part would be checked
        raise TypeError(f"gradcheck: f returns {dtype}: {COMPLEX_FORWARD_ONLY}")
    paths = _output_paths(treedef, len(leaves))
    names = _EntryNames(paths, [tuple(leaf.shape) for leaf in leaves])
    values = first.numpy().astype(np.float64)
    _check_deterministic(f, arrays, values, names, noise)
    return names, dtype, values


def _non_finite_output_note(output: np.ndarray, names: _EntryNames) -> str:
    """Where ``f``'s own output (flat, at the checked point) holds NaN or Inf, a note saying so
    (the report showed only "analytic 0, numeric nan" per entry); "" where it is finite."""
    bad = np.flatnonzero(~np.isfinite(output))
    if not bad.size:
        return ""
    first = int(bad[0])
    return (
        f"f's output is not finite at these inputs: {bad.size} of {output.size} entries are NaN "
        f"or Inf ({names[first]} is {output[first]}), so its derivatives there are undefined and "
        "the differences are NaN; check at inputs where f is finite (a softmax row whose every "
        "entry is masked to -inf is NaN: leave at least one entry of each row unmasked)."
    )


#: How many more calls of f at the checked point a failed check makes before its verdict, and
#: how many of its worst failures' differences it makes again (:func:`_check_still_deterministic`)
RANDOM_RECALLS = 4


def _check_deterministic(
    f, arrays: Sequence[Any], first: np.ndarray, names: _EntryNames, noise: float,
    calls: int = 1, seen: Sequence[np.ndarray] = (),
) -> None:  # fmt: skip
    """Refuse an ``f`` whose output at one point changes from call to call (dropout in training
    mode, noise drawn inside f): its differences measure the randomness, and the check blamed
    the gradient. The outputs ``seen`` at ``arrays`` already (the reverse passes', free), then
    ``calls`` more calls of ``f`` there, are each compared with ``first``. A change of at most
    ``noise`` (eps * atol: it moves a difference quotient by atol at most) passes, as a
    device's rounding in another summation order would."""
    for second in itertools.chain(seen, (_evaluate_again(f, arrays) for _ in range(calls))):
        if first.shape != second.shape:
            _refuse_random(f, arrays, f"{first.size} output numbers, then {second.size}")
        with np.errstate(invalid="ignore"):  # inf - inf
            same = (first == second) | (np.abs(first - second) <= noise)
        same |= np.isnan(first) & np.isnan(second)
        if not same.all():
            k = int(np.argmin(same))  # repr: the shortest digits that tell the two apart
            _refuse_random(
                f,
                arrays,
                f"{names[k]} was {float(first[k])!r}, then {float(second[k])!r}, a difference "
                f"of {float(second[k] - first[k]):.3g}",
            )


def _check_still_deterministic(
    f, arrays: Sequence[Any], output: np.ndarray, names: _EntryNames, noise: float,
    entries: Sequence[Mismatch], eps: float, atol: float, rtol: float,
    seen: _AtThePoint,
) -> None:  # fmt: skip
    """After the comparisons, refuse an ``f`` that the two calls at the point could not tell
    from a deterministic one: a dropout layer in training mode draws the same mask twice often
    (1 in 8 for 3 units at p=0.5), and the differences then drew others, failing a right
    gradient. f's outputs at the point ``seen`` by the reverse passes are compared with
    ``output`` (no call more); where an entry failed, f is called :data:`RANDOM_RECALLS` more
    times at the point, and the differences of as many of the worst failures are made again,
    each of which a deterministic ``f`` repeats (within ``atol``: ``noise`` over the step)."""
    failures = [m for m in entries if not _close(m.analytic, m.numeric, atol, rtol)]
    calls = RANDOM_RECALLS if failures else 0
    _check_deterministic(f, arrays, output, names, noise, calls, seen.outputs)
    failures.sort(key=lambda m: _badness(m, atol, rtol), reverse=True)
    columns: dict = {}  # the failures of one column share its difference, made once
    for m in [m for m in failures if m._stepped is not None][:RANDOM_RECALLS]:
        again, was = m._stepped.numeric(arrays, eps, columns), m.numeric
        if not (again == was or abs(again - was) <= atol or math.isnan(again) and math.isnan(was)):
            _refuse_random(
                f,
                arrays,
                f"the finite difference of {m.where} was {was!r}, then {again!r} made again",
                "two differences along the same step",
            )


def _refuse_random(
    f, arrays: Sequence[Any], seen: str, what: str = "two calls at the same inputs"
) -> None:
    """The refusal of an ``f`` whose values at one point differ (``seen`` says which, ``what``
    what was compared), naming the dropout masks its graph holds (a layer in training mode
    names each mask it draws: ``Dropout.MASK_NAME``) and ways out that work: after a fit
    ``cr.manual_seed`` in ``f`` does not reach a layer, which keeps the trainer's generator."""
    masks = _dropout_masks(f, arrays)
    cause = ""
    if masks:
        more = f" (and {len(masks) - 1} more)" if len(masks) > 1 else ""
        cause = (
            f"f's graph holds a {masks[0]}{more}, which an nn.Dropout in training mode draws "
            "anew at every call; "
        )
    raise ValueError(
        f"gradcheck: f is not deterministic: {what} differ ({seen}), and finite differences "
        f"would measure that randomness, not the gradient; {cause}make f deterministic: call "
        "model.eval() to turn dropout off, or, to check one fixed mask, reseed the layer at "
        "the start of f (layer.rng = 0; cr.manual_seed reaches no layer that holds a generator "
        "of its own, as a fit gives it)"
    )


def _dropout_masks(f, arrays: Sequence[Any]) -> list[str]:
    """The names of the dropout masks in a graph ``f`` records at ``arrays``, in the order
    they were drawn ([] where f records none, or fails to record)."""
    try:
        return _mask_names(_recorded(f, arrays)[1])
    except Exception:  # only a diagnosis: the refusal stands
        return []


def _mask_names(recorded: Sequence[Tensor]) -> list[str]:
    """The names of the dropout masks read by the ops ``recorded`` (a layer in training mode
    names each mask it draws, ``Dropout.MASK_NAME``), in the order they were drawn."""
    from chainrule.nn.layers import Dropout

    masks = {
        id(x): x
        for t in recorded
        if t._primitive is not None
        for x in (t._inputs or ())
        if isinstance(x.name, str) and x.name.startswith(Dropout.MASK_NAME)
    }
    return [x.name for x in sorted(masks.values(), key=lambda x: x._seq)]


def _one_mask_note(masks: Sequence[str]) -> str:
    """What a check that did not fail says of the dropout masks ``masks`` its reverse passes'
    graph held: every call agreed, so it held for the mask drawn, not for f's others."""
    if not masks:
        return ""
    more = f" (and {len(masks) - 1} more)" if len(masks) > 1 else ""
    return (
        f"f's graph holds a {masks[0]}{more}: every call of f here gave the same output, so "
        "the check holds for the mask drawn; an nn.Dropout in training mode draws a new one "
        "at every call unless f reseeds the layer (model.eval() turns it off)"
    )


@dataclass
class _AtThePoint:
    """What the reverse passes (order 1) saw of ``f`` at the checked point: its outputs, which
    the check compares with its first call's for free, and the dropout masks the first pass's
    graph holds (None before it)."""

    outputs: list[np.ndarray] = field(default_factory=list)
    masks: list[str] | None = None


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    mode: str = "full",
    n_directions: int = 4,
    seed: int = 0,
    raise_on_failure: bool = False,
) -> GradcheckReport:
    """Compare ``f``'s derivatives with central finite differences at ``inputs``.

    ``f`` takes one tensor per input and returns a tensor (or several). Returns a
    :class:`GradcheckReport`, truthy only when it passed: ``ok`` is False where an entry is
    outside ``atol + rtol * |numeric|``, and None (no verdict) where every entry is within it
    but some only because ``atol`` is larger than the derivatives: they differ by more than
    the check's own error there (its differences' truncation and rounding, in the output's
    dtype; the report names an atol that tells them, or rescale the inputs). A check that
    compares nothing (an input of shape (0, 3)) passes, its ``note`` saying so.
    With ``raise_on_failure`` a report that is not truthy raises :class:`GradcheckError`,
    whose message shows analytic and numeric values side by side, worst first, with the
    tolerance, and whose ``report`` is the report.

    Integer and bool inputs (labels, masks) are passed to ``f`` unchanged and left out of the
    check (the report names the checked inputs by their position in ``inputs``, and its
    ``note`` those left out, with their dtype); at least one
    input must be floating, and none complex. ``f`` gets copies of the inputs, must return
    chainrule tensors (a TypeError names what else it returned) and must be deterministic (a
    ValueError says so where calls at ``inputs`` differ, or a failed entry's difference made
    again: dropout in training mode; it names the dropout masks in f's graph). The
    report names each entry by the output, the position in it and the input's entry,
    ``d out['e'][0, 1] / d input 1[2]``. ``n_directions`` (a whole number, at least 1) is how
    many random directions ``mode="random"`` compares: each is a sum over every entry, so an
    error in one entry of many can pass it, and a failure names no entry (check in full mode
    to find one). ``order=2`` checks the rules' tensor
    mode (what ``create_graph``, Hessians and forward mode run): its J^T u, for a random u,
    against differences of u . f, and that J^T u's own derivatives against its differences
    (entries named ``(J^T u)[input 0][2]``, not as outputs of ``f``); then, where those pass,
    forward mode's J v (``jvp``: that pass differentiated with respect to u) along one random
    v per input against the differences of ``f`` along v (entries ending ``forward mode (J
    v)``). A rule not linear in its cotangent in tensor mode (it reads ``g``'s array) fails
    there alone, and the report's ``note`` names it. A rule that sends an input a gradient of
    another shape than the input's fails the check with nothing compared: the report's
    ``problem`` names the op, the input and both shapes, so checking many rules gives a report
    for each; so does a rule that returns no gradient (None: a missing ``return``, or a
    number), and a rule that raises a ShapeError (``cr.matmul(g, w)`` for ``g @ w.T``),
    its ``problem`` naming the op, the input and the error (a shape error of ``f``'s own
    forward is still raised); at ``order=2``, so does a rule that calls a NumPy function on the
    tensors it gets in tensor mode (``g * np.cos(x)``) or returns an array there, its
    ``problem`` in the engine's words, which name the op and the input. A rule whose tensor
    mode builds its result from its inputs' arrays (``g * cr.tensor(np.cos(x.data))``) records
    no path to them: its second derivatives come out 0, the check fails, and its ``note``
    names the rule (the first, in the order ``f``'s ops ran, whose recorded derivative with
    respect to its op's inputs disagrees with the differences of its own values), saying
    whether it recorded none (a change of 0) or a wrong one. A rule whose tensor mode gives
    other values than its array mode (``g * 3 * x * x * 1.01`` on tensors alone: backward
    right, Hessians wrong) fails J^T u, and the ``note`` names it and its entry that differs
    most. ``order=2`` sees first and second derivatives; for third derivatives check the
    gradient, ``gradcheck(cr.grad(lambda a: f(a).sum()), [x], order=2)`` (a rule whose tensor
    mode is wrong only in its own second derivatives fails there and passes ``order=2`` of f).

    ``eps`` is an absolute step: for inputs far from 1 in size, scale it with them. Where it is
    within :data:`STEP_SPACINGS` spacings of float64 numbers near an input's largest |x| (at
    1e9 the spacing is 1.2e-7, so the default 1e-6 is 8 of them), a warning names the input and
    suggests an ``eps``, and the report's ``note`` says the same; the verdict is not changed.
    Where a check fails and ``f`` computes an op in float32 or float16 from its float64 inputs
    (an ``astype``), a warning and the ``note`` name the first such op: keep ``f`` in float64.
    Where a check fails and an op of ``f`` has an input at its kink, or within
    :data:`KINK_STEPS` eps of it, or one a step of eps carries across it after a gain
    (relu(100 x) near 0: relu or abs at 0, maximum or minimum at a tie, clip at a bound), the
    ``note`` names the op and those entries: not differentiable there, the finite difference
    straddles the kink. The check still fails; check at points away from kinks. Where a check
    passes (or gives no verdict) but an entry's difference moves with the step (its value at
    2 eps more than :data:`MOVING_FRACTION` off its value at eps), the ``note`` names it: a kink
    or a steep curvature lies within 2 eps of it, so its agreement says little.
    Where a failed entry was stepped along an input entry near 0 (within
    :data:`SMALL_INPUT_STEPS` eps) and the difference moves at a smaller step, or every
    failure is within the rounding of a large output, the ``note`` says so and what to pass.

    >>> import chainrule as cr
    >>> bool(cr.gradcheck(lambda x: cr.sigmoid(x).sum(), [[0.5, -1.0]]))
    True
    >>> bool(cr.gradcheck(lambda z, t: cr.softmax_cross_entropy(z, t), [[[0.1, 0.2]], [1]]))
    True
    """
    if mode not in ("full", "random"):
        raise ValueError(f"gradcheck: mode must be 'full' or 'random', not {mode!r}")
    _check_tolerances(eps, atol, rtol)
    if isinstance(order, bool) or order not in (1, 2):  # True == 1, but it is a slip
        raise ValueError(f"gradcheck: order must be 1 or 2, not {order!r}")
    # 0 directions would compare nothing and pass; a bool is a slip, not a count
    if not is_integer(n_directions):
        raise ValueError(f"gradcheck: n_directions must be a whole number, not {n_directions!r}")
    if n_directions < 1:
        raise ValueError(f"gradcheck: n_directions must be at least 1, not {n_directions!r}")
    if not isinstance(inputs, (tuple, list)):
        raise TypeError(
            "gradcheck: inputs must be a tuple or list of inputs, one per argument of f "
            f"(e.g. [x]), got {type(inputs).__name__}"
        )
    for index, value in enumerate(inputs):
        _check_one_array(index, value)
        _check_real(index, value)
    like = other_library_array(inputs)
    if like is not None:  # numbers and lists join the arrays' library, as the transforms' do
        checked_in = np.float64 if backend.has_float64(like) else None  # None: like's dtype
        inputs = [
            value if isinstance(value, Tensor) or hasattr(value, "shape") else
            numbers_like(value, like, None if _whole(value) else checked_in)
            for value in inputs
        ]  # fmt: skip
    checked = [index for index, value in enumerate(inputs) if not _is_constant(value)]
    if not checked:
        raise ValueError(
            "gradcheck: no input to check: integer and bool inputs are passed to f unchanged "
            "and not checked; give at least one floating input"
        )
    arrays, moved_from = _float64_inputs(inputs, checked)
    spacing_notes = _step_notes(arrays, checked, eps)
    step_notes = list(spacing_notes)
    f = _with_constants(f, inputs, checked)
    try:
        names, output_dtype, output = _base_output(f, arrays, noise=eps * atol)
    except backend.ArrayLibraryError as error:
        problem = _moved_input_problem(error, moved_from)
        if problem is error:
            raise
        raise problem from error
    _warn_if_coarse_output(output_dtype)
    rng = np.random.default_rng(seed)
    forward_note = ""  # why forward mode failed, where it did (order 2)
    moving_note = ""  # an entry whose difference moves with the step, in a check not failed
    unread_note = ""  # f's output depends on none of the inputs, but on other tensors
    run = None  # f recorded at the point (by _unread_note), for a failure's diagnoses
    compare = _compare_full if mode == "full" else _compare_random
    seen = _AtThePoint()  # f's outputs and masks at the point on the analytic side (order 1)
    try:
        if order == 1:
            entries = compare(f, arrays, checked, eps, rng, n_directions, names, seen)
        else:  # the tensor mode's J^T u itself, then its derivatives, then forward mode's J v
            backward_of_f, u = _backward_of(f, len(names), rng)
            gradient_names = _gradient_names(arrays, checked)
            entries = _compare_tensor_mode(f, backward_of_f, u, arrays, checked, eps, rng, mode,
                                           n_directions, gradient_names)  # fmt: skip
            entries += compare(backward_of_f, arrays, checked, eps, rng, n_directions,
                               gradient_names)  # fmt: skip
            # forward mode is the reverse pass above differentiated in u: where that pass is
            # wrong, J v is wrong with it, and its rows would only repeat the failure
            if _all_close(entries, atol, rtol):
                entries += _compare_forward_mode(f, arrays, checked, eps, rng, mode, names)
                forward_note = _forward_mode_note(f, arrays, entries, atol, rtol)
        _check_still_deterministic(f, arrays, output, names, eps * atol, entries, eps, atol, rtol,
                                   seen)  # fmt: skip
        unread_note, run = _unread_note(f, inputs, checked, arrays, entries)
        resolution = _resolution(output, entries, mode, eps, _epsilon_of(output_dtype))
        if _all_close(entries, atol, rtol):  # what atol alone passed: is it past their error?
            estimated = _estimate_errors(entries, arrays, eps, atol, rtol, resolution)
            moving_note = _moving_difference_note(estimated, resolution, atol)
        for m in entries:
            m._stepped = None  # the report keeps no reference to f
        report = _report(entries, mode, order, eps, atol, rtol, resolution)
    except (ValueError, TypeError) as wrong:
        # a rule's gradient of the wrong shape (the engine refuses it) or none at all (None,
        # a number), a rule's write into its g (g *= 2), or a ValueError a rule raised (a
        # ShapeError, NumPy's misaligned @), is a failed check, reported as a wrong value is:
        # an autograder wants a report per student's rule, not an exception; any other error
        # is raised as it was
        problem = _rule_problem(wrong)
        if not problem:
            raise
        nan = float("nan")
        report = GradcheckReport(
            False, mode, order, eps, nan, nan, problem, atol=atol, rtol=rtol, problem=problem
        )
    step_notes += _constants_note(inputs, checked)
    if report.ok is False and not report.problem:  # a failure f's rounding or kinks may explain
        step_notes[:0] = [note for note in (_non_finite_output_note(output, names),) if note]
        variables, recorded = _recorded(f, arrays, run)
        if order == 2:  # or a rule wrong in tensor mode alone (its values, its derivative)
            off = (_rule_modes_differ(recorded), _rule_off_its_inputs(recorded))
            step_notes += [note for note in off if note]
        coarse_note = _coarse_step_note(recorded)
        if coarse_note:
            if output_dtype not in _COARSE_FLOATS:  # else its output's warning said it once
                warnings.warn(f"gradcheck: {coarse_note}", stacklevel=2)
            step_notes.append(coarse_note)
        step_notes += _failure_notes(f, report, recorded, variables, arrays, checked, output, names,
                                     spaced=bool(spacing_notes))  # fmt: skip
    elif not report.problem and not unread_note:  # else the point is not what is wrong
        step_notes += _verdict_notes(report)
        step_notes += [note for note in (_one_mask_note(seen.masks or ()),) if note]
        if moving_note:
            step_notes.append(moving_note)
    if forward_note:
        step_notes.append(forward_note)
    if unread_note:
        step_notes.append(unread_note)
    report.note = " ".join(step_notes)
    if raise_on_failure and not report:
        raise GradcheckError(str(report), report)
    return report


def _unread_note(f, inputs: Sequence[Any], checked: Sequence[int], arrays: Sequence[Any],
                 entries: Sequence[Mismatch]) -> tuple[str, _Run | None]:  # fmt: skip
    """Where every derivative ``f``'s rules gave is 0, whether ``f`` read its inputs at all: the
    transforms' judgement (:meth:`~chainrule.functional._Traced.refuse_unread`, one home),
    run on one more recorded pass. An ``f`` whose output reads a tensor given as a checked
    input itself rather than its argument (``lambda w: loss(net(x), t)`` checked at
    ``[lin.weight]``: the differences step a copy that ``f`` never reads, and compare 0 with 0)
    is refused, a RuntimeError naming ``nn.functional_call``, as ``cr.grad`` refuses it; one
    computed from other tensors that require a gradient gets the transforms'
    ZeroDerivativeWarning, whose text is returned for the report's note ("" otherwise: a
    derivative rightly 0, or an output constant in everything: the transforms' zeros), with
    the run recorded (None where none was), which a failure's diagnoses walk (:func:`_recorded`)
    rather than call ``f`` again."""
    if not entries or any(m.analytic != 0 for m in entries):  # the usual check pays nothing
        return "", None
    variables = [_fresh_variable(_copy(a)) for a in arrays]
    traced = _Traced.of_variables(tuple(inputs), tuple(checked), "gradcheck", variables)
    with enable_grad(), traced:  # running, so that an f differentiating inside is told apart
        run = _Run(variables, _output_leaves(f, variables)[0])
        out = _joined(run.outputs)
    seed = Tensor._wrap(_like(np.ones(out.shape), out))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ZeroDerivativeWarning)
        _gradient(out, variables, seed, retain_graph=True, unread=traced.refuse_unread)
    for w in caught:  # warned again where the user called gradcheck, under their filters
        warnings.warn(str(w.message), w.category, stacklevel=user_stacklevel())
    told = [str(w.message) for w in caught if issubclass(w.category, ZeroDerivativeWarning)]
    return " ".join(told), run


def _rule_problem(error: ValueError | TypeError) -> str:
    """What a report's ``problem`` says of a ValueError or TypeError out of the comparisons:
    the engine's refusal of a rule's gradient of the wrong shape, or of a rule's return that
    is no gradient (None, a number), or of a rule that wrote into an array it was given
    (``g *= 2``), or of a rule that calls a NumPy function on the tensors
    it gets in tensor mode or returns an array there (order 2), as it is worded (the engine
    marks each, and names the rule), and a
    ValueError a rule raised (``cr.matmul`` or NumPy's ``@`` on misaligned shapes: the engine
    marks it ``raised_by_rule``) named with the rule's op and input; "" for any other (f's
    own, at a point stepped to: raised as it was)."""
    if (
        getattr(error, "rule_sent_wrong_shape", False)
        or getattr(error, "rule_sent_no_gradient", False)
        or getattr(error, "rule_refused_in_tensor_mode", False)
        or getattr(error, "rule_wrote_in_place", False)
    ):
        return str(error)
    if not isinstance(error, ValueError):
        return ""
    raised_by = getattr(error, "raised_by_rule", None)
    if raised_by is None:
        return ""
    node, index = raised_by
    return (
        f"backward: the rule of '{node.op}'{node.where()} for input {index} raised "
        f"{type(error).__name__}: {error}"
    )


def _constants_note(inputs: Sequence[Any], checked: Sequence[int]) -> list[str]:
    """Which inputs were left out of the check, and why: integer and bool inputs are constants
    (labels, indices, masks), but an array of data typed without decimal points
    (``np.array([1, 2, 3])``) is one too, and its rules went unchecked without a word."""
    left_out = [
        f"input {index} ({_dtype_of(value)})"
        for index, value in enumerate(inputs)
        if index not in checked
    ]
    if not left_out:
        return []
    return [
        f"{' and '.join(left_out)} {'is' if len(left_out) == 1 else 'are'} not checked: integer "
        "and bool inputs are constants (labels, indices, masks), passed to f unchanged; to "
        "check the derivatives with respect to one, pass it as floats (np.asarray(x, "
        "dtype=float))"
    ]


def _dtype_of(value: Any) -> str:
    """An input's dtype by name (int64, bool)."""
    return backend.dtype_name(_array_of(value)[0].dtype)


def _verdict_notes(report: GradcheckReport) -> list[str]:
    """What a check that passed with nothing but small derivatives, or compared nothing, says
    (its verdict is not FAILED): every derivative within ``atol`` of 0, where ``atol`` alone
    would pass a gradient of 0 (:func:`near_zero`), passes on the entries' agreement beyond
    what the check resolves (:meth:`GradcheckReport.resolution_at`: the differences' rounding,
    and their truncation error where estimated); where even that cannot tell them from 0, a
    rule giving 0 passes."""
    entries = report.entries
    if not entries:
        return [
            "nothing was compared: f's output or the checked inputs have no entries, so the "
            "check passes without testing a derivative"
        ]
    if report.ok is not True:  # no verdict: the report's own line says why
        return []
    if not all(near_zero(m.numeric, m.tolerance(report.atol, report.rtol)) for m in entries):
        return []
    size = max(abs(m.numeric) for m in entries)
    resolved = max(report.resolution_at(m) for m in entries)
    if all(
        near_zero(m.numeric, m.tolerance(report.resolution_at(m), report.rtol)) for m in entries
    ):
        return [
            f"every derivative compared is 0 (up to {size:.2g}, within what the check "
            f"resolves, about {resolved:.2g}: its differences' rounding and truncation error): "
            "a rule that gives 0 passes too, so the check says only that f does not change "
            "with its inputs here; check at a point where its derivatives are not 0"
        ]
    return [
        f"every derivative compared is within atol = {report.atol:.3g} of 0 (up to "
        f"{size:.2g}), where atol alone would pass a gradient of 0; they agree within rtol "
        f"beyond what the check resolves (its differences' rounding and truncation error, "
        f"about {resolved:.2g} at most), which is what passed them"
    ]


def _failure_notes(
    f: Callable[..., Any],
    report: GradcheckReport,
    recorded: Sequence[Tensor],
    variables: Sequence[Tensor],
    arrays: Sequence[Any],
    checked: Sequence[int],
    output: np.ndarray,
    names: _EntryNames,
    spaced: bool,
) -> list[str]:
    """Why a failure may be the check's, not the rules': kinks within a step, a step not small
    next to the inputs, or f's rounding over the step (unless ``spaced``: a note already says
    that the step is near the inputs' float64 spacing, whose rounding that is)."""
    failures = report.failures()
    worst = sorted(failures, key=lambda m: _badness(m, report.atol, report.rtol), reverse=True)
    columns = [(checked.index(m.input), m.element) for m in worst if m.element is not None]
    notes = [
        _kink_note(recorded, variables, checked, report.eps, f, arrays, columns),
        _small_input_note(f, failures, arrays, checked, report),
        "" if spaced else _rounding_note(failures, output, names, report),
    ]
    return [note for note in notes if note]


#: How many steps eps an input's |x| must exceed for the step to be small next to it: within
#: that, the central difference's truncation error (relative, (eps / |x|)^2 for 1/x) can exceed
#: the default rtol, and a step of |x| or more crosses 0
SMALL_INPUT_STEPS = 100

#: The step, relative to |x|, that a failure at a small input entry is checked again with,
#: and that its note suggests: truncation error of (1e-4)^2 relative for 1/x
SMALL_INPUT_STEP = 1e-4


def _small_input_note(f, failures: Sequence[Mismatch], arrays: Sequence[Any],
                      checked: Sequence[int], report: GradcheckReport) -> str:  # fmt: skip
    """Where failed entries were stepped along an input entry whose |x| is within
    :data:`SMALL_INPUT_STEPS` steps eps of 0, and f's difference along that entry moves by
    more than the tolerance at a step of :data:`SMALL_INPUT_STEP` |x| (so the step, not the
    rule, may be what fails: truncation error, or a step across 0), the entry and that
    smaller ``eps``; "" where there is none (a wrong rule at a small x is not excused)."""
    eps, candidates = report.eps, {}
    for m in failures:
        if m.input is None:
            continue
        a = arrays[checked.index(m.input)]
        values = np.abs(backend.to_numpy(a)).reshape(-1)
        elements = range(values.size) if m.element is None else (m.element,)
        for k in elements:
            if 0 < values[k] <= SMALL_INPUT_STEPS * eps:
                candidates[m.input, k] = float(values[k])
    for (position, k), x in sorted(candidates.items(), key=lambda item: item[1])[:3]:
        index = checked.index(position)
        a = arrays[index]
        unit = backend.unit_vector(a, k)
        smaller = SMALL_INPUT_STEP * x
        with np.errstate(all="ignore"):  # a step across 0 may give inf or NaN
            at_eps = _central_difference(f, arrays, index, unit, eps)
            at_smaller = _central_difference(f, arrays, index, unit, smaller)
            moved = ~(np.abs(at_eps - at_smaller) <= report.atol + report.rtol * np.abs(at_smaller))
        if not (np.all(np.isfinite(at_smaller)) and moved.any()):
            continue
        crosses = (
            "the step crosses 0, where f may not be smooth: 1/x, log x, a kink"
            if eps >= x
            else f"the step is {eps / x:.2g} of |x|; central differences err by about "
            "(eps / |x|)^2 for f like 1/x or log x"
        )
        return (
            f"failed entries were stepped along input {position}{_position(a.shape, k)}, whose "
            f"|x| = {x:.3g} is within {SMALL_INPUT_STEPS} steps eps of 0, and f's difference "
            f"along it moves by more than the tolerance at a step of {smaller:.2g}: eps = "
            f"{eps:g} is not small next to |x| ({crosses}), so a right gradient can fail; "
            f"pass eps={smaller:.2g} ({SMALL_INPUT_STEP:g} times |x|)"
        )
    return ""


def _rounding_note(
    failures: Sequence[Mismatch], output: np.ndarray, names: _EntryNames, report: GradcheckReport
) -> str:
    """Where every failure is within a few times the rounding of the differences
    (:func:`difference_rounding`, for f's largest output entry: a large constant in f, f +
    1e7), the output, its rounding over the step, and the way out; "" otherwise."""
    values = np.where(np.isfinite(output), np.abs(output), 0.0)
    if not values.size or not failures:
        return ""
    k = int(np.argmax(values))
    rounding = difference_rounding(float(values[k]), report.eps)
    if not all(m.abs_error <= 10 * rounding for m in failures):  # NaN: not rounding
        return ""
    return (
        f"f's output {names[k]} is {float(output[k]):.6g}, and float64 rounds a value of that "
        f"size by about {np.spacing(values[k]):.2g}: over a step of eps = {report.eps:g} that "
        f"is about {rounding:.2g} in each difference, as large as these failures, so a right "
        "gradient can fail; take a large constant out of f (check f - c), or pass a larger "
        "eps (the rounding falls as 1/eps)"
    )


def _backward_of(f: Callable[..., Any], size: int, rng) -> tuple[Callable[..., Tensor], np.ndarray]:
    """x -> J(x)^T u for a fixed random u (one number per output entry of f), by
    the rules' tensor mode (``create_graph``), and u: checking its derivatives checks the
    second derivatives."""
    u = rng.standard_normal(size)

    def backward_of_f(*xs: Tensor) -> Tensor:
        from chainrule.ops import concatenate, reshape

        variables = [x if x.requires_grad else _fresh_variable(x.data) for x in xs]
        with enable_grad():  # the graph, also where the caller called gradcheck in no_grad
            out = _flat_output(f, variables)
            grads = _gradient(out, variables, Tensor._wrap(_like(u, out)), create_graph=True,
                              op="gradcheck")  # fmt: skip
            return concatenate([reshape(g, (-1,)) for g in grads])

    return backward_of_f, u


def _compare_tensor_mode(
    f, backward_of_f, u, arrays, checked, eps, rng, mode, n_directions, names
) -> list[Mismatch]:
    """The tensor mode's J^T u against differences of u . f: a rule whose tensor mode alone is
    wrong (what ``create_graph``, Hessians and forward mode run) agrees with its own
    derivatives, and only its values, compared with f's, show it. Every entry in full mode
    (``names`` names them); v . J^T u along random v per input in random mode."""
    values = _evaluate(backward_of_f, arrays)
    starts = names.starts
    entries = []
    for index, (position, a) in enumerate(zip(checked, arrays)):
        mine = values[starts[index] : starts[index + 1]]
        if mode == "full":
            for flat in range(backend.size(a)):
                column = _central_difference(f, arrays, index, backend.unit_vector(a, flat), eps)
                where = f"{names[starts[index] + flat]}, create_graph"
                entries.append(
                    Mismatch(
                        where,
                        float(mine[flat]),
                        float(u @ column),
                        position,
                        flat,
                        _stepped=_Stepped(f, index, flat, u),
                    )
                )
            continue
        for d in range(n_directions):
            v = rng.standard_normal(tuple(a.shape))
            direction = backend.asarray_like(v, a, dtype=a.dtype)
            numeric = float(u @ _central_difference(f, arrays, index, direction, eps))
            where = f"direction {d}, input {position}: v . J^T u, create_graph"
            stepped = _Stepped(f, index, direction, u)
            entries.append(
                Mismatch(where, float(mine @ v.reshape(-1)), numeric, position, _stepped=stepped)
            )
    return entries


#: How a forward-mode entry is named in the report (``order=2``'s last comparison)
_FORWARD = "forward mode (J v)"


def _compare_forward_mode(f, arrays, checked, eps, rng, mode, names) -> list[Mismatch]:
    """Forward mode's J v (what ``jvp`` and ``jacobian(mode="forward")`` run: the tensor mode's
    reverse pass u -> J^T u differentiated with respect to u) against differences of ``f``
    along v, one random v per input. The comparisons of J^T u hold u fixed, so a rule whose
    tensor mode treats its cotangent as a constant (``cr.tensor(array_of(g)) * ...``) passes
    them, right values and right input derivatives, while jvp gives 0: only this shows it.
    Every output entry of J v in full mode (``names`` names them); u . J v in random mode."""
    entries = []
    for index, (position, a) in enumerate(zip(checked, arrays)):
        v = rng.standard_normal(tuple(a.shape))
        direction = backend.asarray_like(v, a, dtype=a.dtype)
        pushed = _analytic_jvp(f, arrays, index, direction)
        numeric = _central_difference(f, arrays, index, direction, eps)
        if mode == "full":
            for k in range(len(names)):
                where = f"d {names[k]} / d input {position} . v, {_FORWARD}"
                stepped = _Stepped(f, index, direction, k)
                entries.append(
                    Mismatch(where, float(pushed[k]), float(numeric[k]), position, _stepped=stepped)
                )
            continue
        u = rng.standard_normal(len(names))
        where = f"input {position}: u . J v, {_FORWARD}"
        entries.append(
            Mismatch(
                where,
                float(u @ pushed),
                float(u @ numeric),
                position,
                _stepped=_Stepped(f, index, direction, u),
            )
        )
    return entries


def _analytic_jvp(f, arrays: Sequence[Any], index: int, direction: Any) -> np.ndarray:
    """J v along ``direction`` for input ``index`` (the others still) by :func:`jvp` itself,
    the transform a user calls, flat on the host."""
    from chainrule.functional import jvp

    tangents = [
        direction if k == index else backend.asarray_like(np.zeros(a.shape), a, dtype=a.dtype)
        for k, a in enumerate(arrays)
    ]
    _, pushed = jvp(lambda *xs: _flat_output(f, xs), [_copy(a) for a in arrays], tangents)
    return pushed.numpy().astype(np.float64)


def _forward_mode_note(f, arrays, entries, atol, rtol) -> str:
    """Why forward mode failed, where it did (every other comparison passed): the first rule
    whose tensor mode is not linear in its cotangent (:func:`_rule_not_linear_in_cotangent`),
    or, where none is found, what such a failure means. "" where every entry passed."""
    if _all_close(entries, atol, rtol):
        return ""
    return _rule_not_linear_in_cotangent(f, arrays) or (
        f"{_FORWARD} disagrees with finite differences where reverse mode agrees: "
        f"{_NOT_LINEAR_MEANS}"
    )


#: What a rule that treats its cotangent as a constant breaks, and the fix
_NOT_LINEAR_MEANS = (
    "forward mode (jvp, jacobian(mode='forward')) differentiates the reverse pass with respect "
    "to its cotangent g, so a rule not linear in g in tensor mode (one that reads g's array: "
    "cr.tensor(array_of(g)), g.data, a NumPy function of it) makes J v wrong (0 where g is "
    "cut off) while J^T u and Hessians stay right; build the rule's result from g itself "
    "with chainrule's operators and primitives"
)


def _rule_not_linear_in_cotangent(f: Callable[..., Any], arrays: Sequence[Any]) -> str:
    """The first rule, in the order ``f``'s ops ran, whose tensor mode is not linear in its
    cotangent g, named with the op and the input; "" where every rule is. A rule is linear in
    g, c(g) = A g, so w . c(g) equals g . d(w . c)/dg for any w; a rule that cut g out of its
    graph has a derivative of 0 there. Run at a forward-mode failure only: it calls ``f`` once
    more and each rule of its graph once."""
    variables = [_fresh_variable(_copy(a)) for a in arrays]
    with enable_grad():  # a check called inside no_grad still needs the graph
        leaves = _output_leaves(f, variables)[0]
    order = reverse_topological_order(leaves, "gradcheck")
    rng = np.random.default_rng(0)
    for tensor, node, index in _rules_of(order):
        sides = _cotangent_sides(node, tensor, index, rng)
        if sides is not None and not math.isclose(*sides[:2], rel_tol=1e-6, abs_tol=sides[2]):
            return (
                f"the rule of '{node.op}'{node.where()} for input {index} is not linear in "
                f"its cotangent g in tensor mode (w . rule(g) = {sides[0]:.6g}, but g . its "
                f"derivative in g = {sides[1]:.6g}): {_NOT_LINEAR_MEANS}"
            )
    return ""


def _rules_of(recorded: Sequence[Tensor]) -> Iterator[tuple[Tensor, Node, int]]:
    """Each rule the engine would run for the ``recorded`` graph's tensors, in the order their
    ops ran: (the op's output, its node, the input's index), for each input that needs a
    gradient (the engine asks no rule for another)."""
    for tensor in sorted((t for t in recorded if t._primitive is not None), key=lambda t: t._seq):
        node = Node(tensor)
        for index, parent in enumerate(node.inputs):
            if parent.requires_grad:
                yield tensor, node, index


def _cotangent_sides(node: Node, tensor: Tensor, index: int, rng) -> tuple | None:
    """For a random g and w: w . rule(g), g . d(w . rule(g))/dg (equal for a rule linear in
    g) and a tolerance for their rounding; None where the rule cannot be run so (a
    diagnosis: the check's verdict is already made, and the rule's own error would have come
    from jvp)."""
    g = _fresh_variable(backend.asarray_like(rng.standard_normal(tensor.shape), tensor.data,
                                             dtype=tensor.dtype))  # fmt: skip
    try:
        rule = node.primitive.vjp[index]
        with enable_grad():
            contribution = rule(g, tensor, *node.inputs, **rule_params(node, True))
        if not isinstance(contribution, Tensor):
            return None
        w = Tensor._wrap(_like(rng.standard_normal(contribution.shape), contribution))
        (derivative,) = _gradient(contribution, [g], w)
    except Exception:  # only a diagnosis: the verdict stands, jvp raised any error already
        return None
    terms = (w * contribution).numpy().astype(np.float64)
    pulled = (g * derivative).numpy().astype(np.float64)
    scale = float(np.abs(terms).sum() + np.abs(pulled).sum())
    return float(terms.sum()), float(pulled.sum()), 1e-6 * scale + 1e-300


def _rule_off_its_inputs(recorded: Sequence[Tensor]) -> str:
    """The first rule, in the order ``f``'s ops ran (``recorded``: :func:`_recorded`), whose
    tensor mode's derivative with respect to its op's inputs disagrees with the central
    differences of its own values, named with the op and the input; "" where every rule
    agrees. A rule that builds its result from its inputs' arrays (``cr.tensor(np.cos(
    x.data))``) has right values but records no path to the inputs, so the second
    derivatives through it are 0 and ``order=2`` fails without a word of which rule. Run at
    an ``order=2`` failure only: each rule of the graph is run three times more."""
    rng = np.random.default_rng(0)
    for _, node, index in _rules_of(recorded):
        sides = _input_sides(node, index, rng)
        if sides is None or math.isclose(*sides[:2], rel_tol=1e-4, abs_tol=sides[2]):
            continue
        recorded_change, numeric, tolerance = sides
        what = (  # nothing recorded (an array's values), or a wrong dependence recorded
            "does not record how its result depends on its op's inputs in tensor mode "
            f"{_TENSOR_MODE_RULES}: cr.exp(z) for cr.tensor(np.exp(z.data))"
            if abs(recorded_change) <= tolerance
            else "records a derivative that disagrees with its values' differences in tensor "
            f"mode {_TENSOR_MODE_RULES}"
        )
        return (
            f"the rule of '{node.op}'{node.where()} for input {index} {what}. Along a random "
            f"v, w . its result changes by {numeric:.6g} by the differences of its values but "
            f"by {recorded_change:.6g} as recorded, so the second derivatives through it are "
            "wrong."
        )
    return ""


def _rule_modes_differ(recorded: Sequence[Tensor]) -> str:
    """The first rule, in the order ``f``'s ops ran (``recorded``: :func:`_recorded`), whose
    tensor mode gives other values than its array mode for the same random g, named with the
    op, the input and its result's entry that differs most; "" where every rule's two modes
    agree. backward runs the array mode, so ``order=1`` passes; a tensor mode off by a factor
    (``g * 3 * x * x * 1.01``) is consistent with its own derivatives and fails ``order=2``'s
    J^T u alone. Run at an ``order=2`` failure only: each rule of the graph is run twice."""
    rng = np.random.default_rng(0)
    for tensor, node, index in _rules_of(recorded):
        modes = _mode_values(node, tensor, index, rng)
        if modes is None:
            continue
        in_tensor_mode, in_array_mode = modes
        apart = np.abs(in_tensor_mode - in_array_mode)
        scale = np.nan_to_num(np.abs(in_tensor_mode) + np.abs(in_array_mode))
        tolerance = 1e-7 * scale + 1e-9 * float(np.max(scale, initial=0.0)) + 1e-300
        differ = ~(apart <= tolerance) & ~(np.isnan(in_tensor_mode) & np.isnan(in_array_mode))
        if not np.any(differ):
            continue
        flat = int(np.argmax(np.where(differ, np.nan_to_num(apart / tolerance, nan=np.inf), -1)))
        entry = _position(in_array_mode.shape, flat)
        at = f" at entry {entry} of its result" if entry else ""
        return (
            f"the rule of '{node.op}'{node.where()} for input {index} gives other values in "
            f"tensor mode than in array mode: {in_tensor_mode.reshape(-1)[flat]:.8g} where "
            f"array mode gives {in_array_mode.reshape(-1)[flat]:.8g}{at}, for the same "
            "random g. Both modes must compute the same gradient: backward runs the array "
            "mode and create_graph (hessian, jvp, gradcheck(order=2)) the tensor mode, so the "
            "second derivatives through it are wrong."
        )
    return ""


def _mode_values(node: Node, tensor: Tensor, index: int, rng) -> tuple | None:
    """The rule for input ``index`` run for one random g in tensor mode (on tensors, as
    ``create_graph`` runs it) and in array mode (on copies of their arrays, as backward runs
    it), both on the host in float64; None where either cannot be run so or gives no array of
    one shape (a diagnosis: the check's verdict is already made)."""
    g = rng.standard_normal(tensor.shape)
    try:
        rule = node.primitive.vjp[index]
        with enable_grad():
            in_tensor_mode = rule(_fresh_variable(_like(g, tensor)), tensor, *node.inputs,
                                  **rule_params(node, True))  # fmt: skip
        arrays = [_copy(x.data) for x in (tensor, *node.inputs)]  # an array rule may write
        with no_grad():
            in_array_mode = rule(_like(g, tensor), *arrays, **rule_params(node, False))
        if not isinstance(in_tensor_mode, Tensor) or isinstance(in_array_mode, Tensor):
            return None
        both = _host(in_tensor_mode), _host(in_array_mode)
    except Exception:  # only a diagnosis: the verdict stands
        return None
    return both if both[0].shape == both[1].shape else None


def _input_sides(node: Node, index: int, rng) -> tuple | None:
    """For random g, w and v: the derivative along v of w . rule(g, out, *inputs) (the op's
    inputs that need a gradient moved along v, ``out`` computed again from them) as tensor
    mode records it, its central difference, and a tolerance for their rounding; None where
    the rule cannot be run so (a diagnosis: the check's verdict is already made) or where its
    values have no slope there (the difference moves with the step: a mask's jump, as
    relu's rule has at 0, within it)."""
    inputs, primitive, output = node.inputs, node.primitive, node.output
    moving = [k for k, parent in enumerate(inputs) if parent.requires_grad]

    def drawn(shape: tuple, like: Tensor) -> Tensor:
        return Tensor._wrap(_like(rng.standard_normal(shape), like))

    try:
        rule = primitive.vjp[index]
        g = drawn(output.shape, output)
        directions = {k: drawn(inputs[k].shape, inputs[k]) for k in moving}
        w: list[Tensor] = []  # drawn at the first call, shaped like the rule's result

        def terms(step: float) -> tuple[Tensor, list[Tensor]]:
            """w * rule(g, out, *inputs) at the inputs moved by ``step`` v, and the moved."""
            xs = [
                _fresh_variable(x.data + step * directions[k].data) if k in directions else x
                for k, x in enumerate(inputs)
            ]
            with enable_grad():
                out = primitive(*xs, **node.params)
                contribution = rule(g, out, *xs, **rule_params(Node(out), True))
                if not w:
                    w.append(drawn(contribution.shape, contribution))
                return w[0] * contribution, [xs[k] for k in moving]

        at, variables = terms(0.0)
        derivatives = _gradient(at.sum(), variables)  # zeros where no path was recorded
        recorded = sum(float((d * directions[k]).sum().item()) for d, k in zip(derivatives, moving))
        largest = max(float(np.max(np.abs(_host(inputs[k].data)), initial=0.0)) for k in moving)
        steps = [1e-6 * max(1.0, largest) / halved for halved in (1, 2)]
        numeric, smaller = [
            (terms(step)[0].sum().item() - terms(-step)[0].sum().item()) / (2 * step)
            for step in steps
        ]
        scale = float(np.abs(_host(at.data)).sum())
    except Exception:  # only a diagnosis: the verdict stands
        return None
    tolerance = 1e-6 * (scale + abs(recorded) + abs(numeric)) + 1e-9
    if not math.isclose(numeric, smaller, rel_tol=1e-3, abs_tol=tolerance):
        return None  # the rule's values jump within the step (a mask: relu's at 0): no slope
    return recorded, numeric, tolerance


def _analytic_vjp(
    f, arrays: list[np.ndarray], cotangent: np.ndarray, seen: _AtThePoint | None = None
) -> list[np.ndarray]:
    """J^T ``cotangent`` at ``arrays`` by reverse mode; f's output there is added to ``seen``
    (where given), which the check compares with its first, free (:func:`_check_deterministic`),
    and the first pass's dropout masks are named there."""
    variables = [_fresh_variable(_copy(a)) for a in arrays]
    with enable_grad():  # a check called inside no_grad still needs the graph
        out = _flat_output(f, variables)
    if seen is not None:
        seen.outputs.append(out.numpy().astype(np.float64))
        if seen.masks is None:
            try:
                seen.masks = _mask_names(reverse_topological_order([out], "gradcheck"))
            except Exception:  # only a note (a graph f closes over may be freed)
                seen.masks = []
    grads = _gradient(out, variables, Tensor._wrap(_like(cotangent, out)))
    return [g.numpy() for g in grads]


def _copy(a: Any) -> Any:
    """A fresh array with ``a``'s values, library and device (``f`` may write into its input)."""
    return a.copy() if type(a) is np.ndarray else backend.array_module(a).asarray(a, copy=True)


def _like(host: np.ndarray, out: Tensor) -> Any:
    """A host array of directions or cotangents in ``out``'s library, dtype and device."""
    return backend.asarray_like(host, out.data, dtype=out.dtype)


def _evaluate(f, arrays: Sequence[Any]) -> np.ndarray:
    """``f``'s output on the host, from fresh copies of ``arrays``: an ``f`` that writes into
    its input would otherwise move the point every later evaluation is made at."""
    return _flat_output(f, [_copy(a) for a in arrays]).numpy().astype(np.float64)


def _evaluate_again(f, arrays: Sequence[Any]) -> np.ndarray:
    """:func:`_evaluate` for the numeric side's calls (the differences, and the repeats at the
    point that tell a random ``f``), with the warnings ``f`` gives silenced: its first calls at
    the point gave them, and show them; each difference gave them again
    (``cr.tensor(x, requires_grad=True)`` in ``f`` warned some 40 times a check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _evaluate(f, arrays)


def _compare_full(f, arrays, checked, eps, rng, n_directions, names, seen=None) -> list[Mismatch]:
    """Every entry d out_k / d x_i: a row per output by reverse mode, a column per x_i by
    differences. ``checked`` names each array by its position in the user's inputs, ``names``
    each output entry; ``seen`` gets f's output at each reverse pass (:func:`_analytic_vjp`)."""
    n_out = len(names)
    analytic = [np.zeros((n_out, backend.size(a))) for a in arrays]
    for k in range(n_out):
        cotangent = np.zeros(n_out)
        cotangent[k] = 1.0
        for block, g in zip(analytic, _analytic_vjp(f, arrays, cotangent, seen)):
            block[k] = g.reshape(-1)
    rows = [names[k] for k in range(n_out)]
    entries = []
    for index, (position, a) in enumerate(zip(checked, arrays)):
        for flat in range(backend.size(a)):
            column = _central_difference(f, arrays, index, backend.unit_vector(a, flat), eps)
            element = _position(a.shape, flat)
            for k in range(n_out):
                where = f"d {rows[k]} / d input {position}{element}"
                value = float(analytic[index][k, flat])
                stepped = _Stepped(f, index, flat, k)
                entries.append(
                    Mismatch(where, value, float(column[k]), position, flat, _stepped=stepped)
                )
    return entries


def _central_difference(f, arrays, index, direction, eps) -> np.ndarray:
    """(f(x + eps d) - f(x - eps d)) / 2 eps on the host; the perturbed inputs are made in the
    input's library and on its device."""
    plus, minus = list(arrays), list(arrays)  # _evaluate hands f copies
    plus[index] = arrays[index] + eps * direction
    minus[index] = arrays[index] - eps * direction
    return (_evaluate_again(f, plus) - _evaluate_again(f, minus)) / (2 * eps)


def _compare_random(f, arrays, checked, eps, rng, n_directions, names, seen=None) -> list[Mismatch]:
    """u . J v by reverse mode against u . (f(x + eps v) - f(x - eps v)) / 2 eps, per input;
    ``seen`` gets f's output at each reverse pass (:func:`_analytic_vjp`)."""
    n_out = len(names)
    entries = []
    for d in range(n_directions):
        u = rng.standard_normal(n_out)
        vjps = _analytic_vjp(f, arrays, u, seen)
        for index, (position, a) in enumerate(zip(checked, arrays)):
            v = rng.standard_normal(tuple(a.shape))
            direction = backend.asarray_like(v, a, dtype=a.dtype)
            numeric = float(u @ _central_difference(f, arrays, index, direction, eps))
            analytic = float(np.sum(vjps[index] * v))
            where = f"direction {d}, input {position}{names.note}"
            entries.append(
                Mismatch(
                    where, analytic, numeric, position, _stepped=_Stepped(f, index, direction, u)
                )
            )
    return entries


def _all_close(entries: Sequence[Mismatch], atol: float, rtol: float) -> bool:
    return all(_close(m.analytic, m.numeric, atol, rtol) for m in entries)


def _report(entries, mode, order, eps, atol, rtol, resolution) -> GradcheckReport:
    """The verdict on ``entries``: FAILED where one is outside its tolerance; no verdict
    (None) where every one is within its tolerance but some only because of ``atol``
    (outside it with ``atol`` at what the check resolves there: :meth:`hidden`); else passed
    (where none is compared too: the note says so, and a suite parametrized over shapes with
    a 0 in them passes there, as it did)."""
    if not entries:
        return GradcheckReport(
            True, mode, order, eps, 0.0, 0.0, "nowhere (no entries)", [], atol, rtol,
            resolution=resolution,
        )  # fmt: skip
    rel_errors = [m.abs_error / max(abs(m.numeric), 1e-12) for m in entries]
    report = GradcheckReport(
        _all_close(entries, atol, rtol),
        mode,
        order,
        eps,
        float(np.max([m.abs_error for m in entries])),  # np.max keeps a NaN, max() may not
        float(np.max(rel_errors)),
        "",
        entries,
        atol,
        rtol,
        resolution=resolution,
    )
    hidden = report.hidden() if report.ok else []
    if hidden:  # the entry furthest outside the tolerance it has at what the check resolves
        report.ok = None
        report.where = max(hidden, key=lambda m: _badness(m, report.resolution_at(m), rtol)).where
    else:
        report.where = max(entries, key=lambda m: _badness(m, atol, rtol)).where
    return report


#: How many times its estimated rounding (:func:`difference_rounding`) a difference between
#: analytic and numeric values must be to count as seen, where ``atol`` alone passed it: the
#: estimate counts f's final rounding alone, and the terms f sums can be larger than f
RESOLUTION_MARGIN = 50

_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def difference_rounding(
    size: float | np.ndarray, step: float | np.ndarray, epsilon: float = _FLOAT64_EPS
) -> float | np.ndarray:
    """The rounding a central difference carries, to first order, for values of ``size``
    taken a ``step`` either side: each value is rounded by about ``epsilon`` (float64's, or
    that of the float f computes its output in) times its size, twice that allowed, over the
    step. Infinite for a step of 0. ``size`` and ``step`` may be arrays (the explainer's
    tolerances, ``chainrule.explainer.build.tolerances``, give each weight its own step), and
    the result then is one, entry by entry.

    >>> f"{difference_rounding(1e7, 1e-6):.2g}"  # f + 1e7: 4e-3 in every difference
    '0.0044'
    >>> f"{difference_rounding(1.0, 1e-2, epsilon=2.0**-23):.2g}"  # f in float32
    '2.4e-05'
    >>> difference_rounding(1.0, np.array([1e-2, 0.0])).tolist()  # a step of 0: no tolerance
    [4.440892098500626e-14, inf]
    """
    rounding = 2 * epsilon * size
    if not np.ndim(step):
        return rounding / step if step else math.inf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf: as a float's
        return np.where(step > 0, rounding / np.where(step > 0, step, 1.0), np.inf)


#: The machine epsilon of the coarser floats an f may compute its output in (float64's for
#: any other dtype)
_EPSILONS = {"float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}


def _epsilon_of(dtype: str) -> float:
    """The machine epsilon of f's output dtype (by name): its values are rounded to it."""
    return _EPSILONS.get(dtype, _FLOAT64_EPS)


def near_zero(numeric: float, tolerance: float) -> bool:
    """Whether a check cannot tell a derivative from 0: its finite difference ``numeric`` is
    within ``tolerance`` of 0 (or the tolerance is not finite), so an analytic value of 0
    would pass too, and agreement says only that the derivative is small against the
    tolerance, not that its rule is right."""
    return not math.isfinite(tolerance) or abs(numeric) <= tolerance


def _resolution(
    output: np.ndarray, entries: Sequence[Mismatch], mode: str, eps: float, epsilon: float
) -> float:
    """What the check can resolve by its rounding alone (:attr:`GradcheckReport.resolution`):
    the rounding of its differences (:func:`difference_rounding`, with ``epsilon``, that of
    f's output dtype) for f's output (its largest |entry| in full mode, its norm in random
    mode, where u . f sums them) or the values compared, whichever is larger (at order 2 the
    gradient J^T u is differenced too), plus the analytic side's rounding relative to those
    values, times :data:`RESOLUTION_MARGIN`."""
    values = output[np.isfinite(output)]
    size = float(np.max(np.abs(values), initial=0.0) if mode == "full" else np.linalg.norm(values))
    compared = [abs(v) for m in entries for v in (m.analytic, m.numeric) if math.isfinite(v)]
    largest = max(compared, default=0.0)
    rounding = difference_rounding(max(size, largest), eps, epsilon) + 2 * epsilon * largest
    return RESOLUTION_MARGIN * rounding


def _estimate_errors(
    entries: Sequence[Mismatch],
    arrays: Sequence[Any],
    eps: float,
    atol: float,
    rtol: float,
    resolution: float,
) -> list[tuple[Mismatch, float]]:
    """Give each entry within its tolerance but not within it with ``atol`` at ``resolution``
    (the rounding alone: x^3 at 0 differs from its derivative by eps^2, the truncation error)
    its own :attr:`Mismatch.resolution`: ``resolution`` plus :data:`RESOLUTION_MARGIN` times
    its difference's error as the explainer estimates it (Richardson: the difference at twice
    the step less the difference, |fd(2 eps) - fd(eps)|, about three times its truncation error
    with the rounding of both); infinite where that cannot be told (f undefined two steps
    away), for then the check resolves nothing there. Entries of one column share its
    differences, made once. Returns each entry estimated with its difference at twice the
    step (NaN where f could not be evaluated there)."""
    columns: dict = {}
    estimated = []
    for m in entries:
        if m._stepped is None or _close(m.analytic, m.numeric, resolution, rtol):
            continue
        if not _close(m.analytic, m.numeric, atol, rtol):
            continue
        try:
            wider = m._stepped.numeric(arrays, 2 * eps, columns)
        except Exception:  # f refuses the point two steps away: nothing resolved there
            wider = math.nan
        gap = abs(wider - m.numeric)
        m.resolution = resolution + RESOLUTION_MARGIN * gap if math.isfinite(gap) else math.inf
        estimated.append((m, wider))
    return estimated


#: How large, next to |numeric|, an entry's Richardson gap |fd(2 eps) - fd(eps)| must be (and
#: above the rounding the check resolves) for its difference to count as moving with the step
MOVING_FRACTION = 0.01


def _moving_difference_note(
    estimated: Sequence[tuple[Mismatch, float]], resolution: float, atol: float
) -> str:
    """Where a check passed or gave no verdict, the entry (of those :func:`_estimate_errors`
    estimated: the candidates, so a check with none costs nothing more) whose difference moves
    most with the step: its Richardson gap |fd(2 eps) - fd(eps)| is above ``resolution`` (the
    rounding) and above :data:`MOVING_FRACTION` of |numeric|, or f could not be evaluated two
    steps away. A kink the step crosses (relu after a gain) or a steep curvature lies within
    2 eps there, so its agreement, which its large estimated error let pass, says little; ""
    where no entry's difference moves so. Differences within ``atol`` of 0 at both steps are
    left to the note that 0 would pass too (x**3 at 0: eps^2, then 4 eps^2)."""
    moving = []
    for m, wider in estimated:
        if max(abs(m.numeric), abs(wider)) <= atol:
            continue
        gap = abs(wider - m.numeric)
        if not math.isfinite(gap):
            moving.append((math.inf, m, wider))
        elif gap > resolution and gap > MOVING_FRACTION * abs(m.numeric):
            moving.append((gap / max(abs(m.numeric), 1e-300), m, wider))
    if not moving:
        return ""
    share, m, wider = max(moving, key=lambda item: item[0])
    if math.isfinite(share):
        seen = (
            f"{m.numeric:.6g} at eps, {wider:.6g} at 2 eps, {100 * share:.3g}% apart; "
            f"analytic {m.analytic:.6g}"
        )
    else:
        seen = f"{m.numeric:.6g} at eps, and f could not be evaluated at 2 eps"
    more = len(moving) - 1
    others = f" (and {more} more entr{'ies' if more > 1 else 'y'})" if more else ""
    return (
        f"the finite difference of {m.where}{others} changes with the step ({seen}): a kink "
        "(relu, abs, maximum, clip) or a steep curvature lies within 2 eps of it, so its "
        "agreement says little; check at another point or with a smaller eps"
    )


def _badness(m: Mismatch, atol: float, rtol: float) -> tuple[bool, bool, bool, float]:
    """How bad an entry is, for the headline: its difference over its tolerance, so the entry
    named is the one furthest outside it (the largest difference may be one within a large
    tolerance). A NaN compares false with everything, so max() and argmax would drop it or stop
    at it by chance: non-finite errors rank worst; among them a non-finite analytic value (the
    derivative under check) above a non-finite difference alone (as where f is undefined a step
    away)."""
    error = m.abs_error
    if np.isfinite(error):
        allowed = atol + rtol * abs(m.numeric)
        return (
            False,
            False,
            False,
            error / allowed if allowed > 0 else (math.inf if error else 0.0),
        )
    return (True, not np.isfinite(m.analytic), not np.isfinite(m.numeric), 0.0)
