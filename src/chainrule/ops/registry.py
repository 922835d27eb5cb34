"""The registry of primitives: each one's forward and derivative rules, side by side.

A primitive is the unit the engine records. Its ``forward`` works on arrays; its ``vjp`` holds one
rule per input, ``rule(g, out, *inputs, **params) -> contribution``. One rule per input means the
engine skips the work for inputs that need no gradient (the data in ``x @ W``).

A rule is written once and runs in two modes. With ``create_graph`` the engine hands it tensors,
so everything it computes is recorded and can be differentiated again (Hessians). Otherwise it
hands it plain arrays and the same rule runs as bare NumPy, with no recording overhead. That works
because a rule only uses arithmetic operators (``@`` included), comparisons (which give arrays in
both modes), the methods arrays and tensors share (``.T``, ``.reshape``, ``.sum``),
:func:`array_of` for masks, and primitives, which compute on arrays and record on tensors.

Everything that is not a primitive (mean, var, softmax's users, the losses) is composed from these
and needs no rule of its own. ``REGISTRY`` lets tools list the rules and say which one fired.
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

from chainrule import backend
from chainrule.engine import apply
from chainrule.errors import ShapeError, counted, is_about_shapes, shape_reason
from chainrule.tensor import Tensor, array_of  # noqa: F401  (rules import it from here)

VjpRule = Callable[..., Any]


@dataclass(frozen=True, eq=False)
class Primitive:
    """An op the engine records: ``forward`` on arrays, and one vector-Jacobian rule per input."""

    name: str
    forward: Callable[..., Any]
    vjp: tuple[VjpRule, ...] | EachInput
    doc: str = ""
    #: ``forward`` returns ``(out, saved)``: an intermediate its rules may reuse in array mode
    #: (they get it as ``saved=``; ``None`` when they run on tensors and must recompute it).
    saves: bool = False

    def __call__(self, *inputs: Any, **params: Any) -> Any:
        """On tensors, run and record; on plain arrays only, just compute (a rule's fast path)."""
        for x in inputs:
            if not isinstance(x, Tensor):
                break
        else:  # all tensors: the common case, one pass
            return apply(self, inputs, params)
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        if like is None:
            out = self.forward(*inputs, **params)
            return out[0] if self.saves else out
        # a constant array or number beside a tensor: a tensor without gradient
        return apply(self, tuple(_constant(x, like) for x in inputs), params)

    def forward_error(self, inputs: tuple, params: dict, error: Exception) -> ValueError:
        """A library's refusal of the inputs' values, named: the op, each input's dtype and
        shape, its parameters and the library's reason. A :class:`ShapeError` where the reason
        is about shapes (the common case: operands that do not broadcast, a matmul's inner
        sizes); a plain ``ValueError`` otherwise (an integer to a negative power)."""
        if is_about_shapes(error):
            shapes = " and ".join(str(tuple(t.shape)) for t in inputs)
            extra = _described_params(params)
            return ShapeError(f"{self.name}: shapes {shapes}{extra}: {shape_reason(error)}")
        return ValueError(self._refusal(inputs, params, error))

    def type_error(self, inputs: tuple, params: dict, error: Exception) -> TypeError:
        """A library's refusal of the inputs' types (array-api-strict mixes no integers with
        floats), named: the op, each input's dtype and shape, and the library's reason."""
        return TypeError(self._refusal(inputs, params, error))

    def library_error(self, inputs: tuple, params: dict, error: Exception) -> Exception:
        """A library's own ``RuntimeError`` or ``NotImplementedError`` (PyTorch's: a kernel
        missing for a dtype, "addmm_impl_cpu_ not implemented for 'Bool'"; bool subtraction),
        named as :meth:`type_error` names a refusal, and of the library's class, so that an
        ``except`` written for the library still catches it."""
        return type(error)(self._refusal(inputs, params, error))

    def _refusal(self, inputs: tuple, params: dict, error: Exception) -> str:
        """The words of a refusal: ``op: inputs int64 (3,) and int64 (3,) (params): reason``."""
        described = " and ".join(f"{backend.dtype_name(t.dtype)} {tuple(t.shape)}" for t in inputs)
        detail = str(error).split("\n")[0]
        return f"{self.name}: inputs {described}{_described_params(params)}: {detail}"

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _described_params(params: dict) -> str:
    """An op's parameters for an error message, `` (axis=1)``: an array parameter (``where``'s
    condition) by its shape, whose values would run to pages and hide the shape at fault; a
    small one (a 0-d bound) by its values, as any other parameter."""
    if not params:
        return ""
    described = (
        f"{k} of shape {tuple(v.shape)}" if hasattr(v, "dtype") and math.prod(v.shape) > 6
        else f"{k}={v!r}"
        for k, v in params.items()
    )  # fmt: skip
    return f" ({', '.join(described)})"


class EachInput:
    """The vjp rules of a primitive with any number of inputs: ``rule(index, g, out, *inputs)``."""

    def __init__(self, rule: VjpRule) -> None:
        self.rule = rule

    def __getitem__(self, index: int) -> VjpRule:
        return functools.partial(self.rule, index)


def _constant(value: Any, like: Tensor) -> Tensor:
    """A non-tensor operand as a tensor without gradient; a Python number takes ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    xp = like.xp
    if xp is not numpy:  # on the tensor's device; an array of another library is an error
        if isinstance(value, backend.JOINING_TYPES):  # as an op's operand joins (as_tensor)
            return Tensor._wrap(backend.operand_like(value, like.data))
        dtype = None
        if isinstance(value, (int, float, bool)):  # a Python number takes the tensor's dtype
            floating = backend.is_floating(like.dtype, xp) or not isinstance(value, float)
            dtype = like.dtype if floating else backend.default_float(xp, like.data)
        return Tensor._wrap(backend.asarray_like(value, like.data, dtype=dtype))
    if isinstance(value, (int, float, bool)):
        return Tensor._wrap(xp.asarray(value, dtype=xp.result_type(like.data, value)))
    if isinstance(value, (list, tuple)):  # weak numbers, as on other libraries (operand_like)
        return Tensor(backend.list_operand(value, like.data))
    return Tensor._wrap(xp.asarray(value))


REGISTRY: dict[str, Primitive] = {}

#: The names chainrule's own modules registered (its ops): never replaced, since the layers,
#: activations and explainer look them up in :data:`REGISTRY` by name
_OWN: set[str] = set()


def primitive(
    name: str,
    forward: Callable[..., Any],
    *vjp: VjpRule | EachInput,
    doc: str = "",
    saves: bool = False,
    replace: bool = False,
) -> Primitive:
    """Define and register a primitive: ``forward`` and its per-input derivative rules.

    Give one rule per input, or a single :class:`EachInput` for a variadic primitive. A count
    of rules that ``forward``'s positional parameters cannot take (more rules than it has
    inputs) is refused here; where its signature cannot tell (``forward(a, b)`` with one rule,
    ``b`` may be a parameter given by keyword), backward refuses an input that needs a gradient
    and has no rule, naming the op and the input. With
    ``saves``, ``forward`` returns ``(out, saved)`` and the rules take ``saved=`` (PyTorch's
    ``save_for_backward``): a value the forward computed anyway, kept on the node until backward
    has used it, so the rule need not compute it again.

    A name is registered once: a second ``primitive`` of that name is refused, unless
    ``replace=True`` (re-running a notebook cell that defines it): the new primitive then
    takes the name, and what was computed with the old one keeps the old rules. chainrule's
    own ops are never replaced.
    """
    if name in _OWN:
        raise ValueError(
            f"primitive {name!r} is already registered: it is one of chainrule's own ops, "
            "which are not replaced; give yours another name"
        )
    if name in REGISTRY and not replace:
        raise ValueError(
            f"primitive {name!r} is already registered; to define it again (a notebook cell "
            f"run twice), pass replace=True: primitive({name!r}, ..., replace=True), or give "
            "it another name"
        )
    if len(vjp) == 1 and isinstance(vjp[0], EachInput):
        rules = vjp[0]  # a rule for any number of inputs
    else:
        rules = tuple(vjp)
        _check_rule_count(name, forward, len(rules))
    prim = Primitive(name, forward, rules, doc, saves)
    REGISTRY[name] = prim
    if sys._getframe(1).f_globals.get("__name__", "").startswith("chainrule."):
        _OWN.add(name)
    return prim


def _check_rule_count(name: str, forward: Callable[..., Any], n_rules: int) -> None:
    """Refuse a number of rules that ``forward``'s positional parameters cannot take (the inputs
    are passed positionally, the parameters by keyword). ``forward(a, b)`` with one rule is not
    refused: ``b`` may be a parameter (``op(x, b=2)``)."""
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):  # a callable without a signature (some builtins)
        return
    kinds = [p.kind for p in parameters]
    positional = kinds.count(inspect.Parameter.POSITIONAL_ONLY) + kinds.count(
        inspect.Parameter.POSITIONAL_OR_KEYWORD
    )
    variadic = inspect.Parameter.VAR_POSITIONAL in kinds
    if not variadic and n_rules > positional:
        raise TypeError(
            f"primitive {name!r}: {counted(n_rules, 'derivative rule')}, but its forward "
            f"takes at most {counted(positional, 'input')}: give one rule per input"
        )
    positional_only = [
        p for p in parameters if p.kind is p.POSITIONAL_ONLY and p.default is p.empty
    ]  # fmt: skip
    if n_rules < len(positional_only):  # a keyword cannot fill them: each is an input
        raise TypeError(
            f"primitive {name!r}: {counted(n_rules, 'derivative rule')}, but its forward "
            f"takes {counted(len(positional_only), 'positional-only input')}: give one rule "
            "per input"
        )
